"""watch looks at a folder every second: only what changed below it is listed again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from value_diag.commands.paths import targets
from value_diag.follow.watchlist import Runs


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every folder the walk lists, in order."""
    seen: list[str] = []
    real = os.scandir

    def counting(path: Any = ".") -> Any:
        seen.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)  # as walk.py lists folders
    yield seen


def test_a_look_lists_again_only_the_folders_that_changed(
    tmp_path: Path, listed: list[str]
) -> None:
    root = tmp_path / "runs"
    for i in range(40):  # folders of other things: checkpoints, images
        folder = root / f"junk{i:02d}"
        folder.mkdir(parents=True)
        (folder / "weights.pt").write_bytes(b"x")
    (root / "a").mkdir()
    (root / "a" / "run.jsonl").write_text("")
    old = 1_000_000_000  # the folders' times well in the past: not "just changed"
    for folder in [root, *root.iterdir()]:
        os.utime(folder, (old, old))
    runs = Runs(targets([str(root)]))
    first = len(listed)
    assert first >= 42  # the first look lists every folder
    listed.clear()
    runs.refresh()
    assert listed == []  # nothing changed: nothing listed again
    (root / "b").mkdir()
    (root / "b" / "run.jsonl").write_text("")
    runs.refresh()
    assert str(root / "b" / "run.jsonl") in runs.files
    assert len(listed) <= 3, listed  # the root (its time moved) and the new folder
