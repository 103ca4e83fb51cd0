"""Every run is kept apart whatever its name: a group's run and a file whose name spells it.

Group ``A`` of ``x.jsonl`` was named ``x#A``, and so was the file ``x#A.jsonl``: the table,
which tells runs apart by their names, drew one row for both, and a critical one could
be the one hidden. A ``#`` of a file's own name is now written ``\\x23`` (naming.run_name),
so the first ``#`` of a run's name is always the one before its group.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import run_cli
from ptyterm import Pty
from telemetry import EXAMPLE, dumps

ESCAPED: Final = "x\\x23A"
"""How the file x#A.jsonl is named (a backslash, then x23)."""


def ppo(group: str, bellman: float) -> bytes:
    data = {"policy_loss": 0.1, **EXAMPLE, "bellman_error": bellman}
    return dumps({"event_type": "PPO_UPDATE_COMPLETED", "group_id": group, "data": data})


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """``x.jsonl`` with groups A and B (both healthy), and ``x#A.jsonl`` dying (NaN)."""
    root = tmp_path / "runs"
    root.mkdir()
    (root / "x.jsonl").write_bytes(ppo("A", 3.0) + b"\n" + ppo("B", 3.0) + b"\n")
    (root / "x#A.jsonl").write_bytes(ppo("default", float("nan")) + b"\n")
    return root


def frames(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_once_names_a_group_and_a_file_that_spells_it_apart(runs: Path) -> None:
    proc = run_cli(["once", str(runs), "--format", "json", "--fail-on", "critical"])
    assert proc.returncode == 1, proc.stderr
    got = {f["name"]: (f["source"], f["status"]) for f in frames(proc.stdout)}
    assert len(got) == 3, got
    assert got["x#A"] == (f"{runs}/x.jsonl#A", "warning")
    assert got["x#B"] == (f"{runs}/x.jsonl#B", "warning")
    assert got[ESCAPED] == (f"{runs}/x\\x23A.jsonl", "critical")
    assert proc.stderr.decode().strip() == (
        f"value-diag: {ESCAPED} reached critical (--fail-on critical): Bellman, Ret σ, p90-p10"
    )


def test_a_file_that_spells_the_escape_is_told_from_one_with_a_hash(runs: Path) -> None:
    """``x\\x23A.jsonl`` (a backslash in its name) beside ``x#A.jsonl``: the names are
    written with every backslash doubled, as for names that look alike."""
    (runs / "x.jsonl").unlink()
    (runs / "x\\x23A.jsonl").write_bytes(ppo("default", 3.0) + b"\n")
    proc = run_cli(["once", str(runs), "--format", "json", "--fail-on", "critical"])
    assert proc.returncode == 1, proc.stderr
    got = {f["name"]: f["status"] for f in frames(proc.stdout)}
    assert got == {ESCAPED: "critical", "x\\\\x23A": "warning"}, got


@pytest.fixture
def table(runs: Path) -> Iterator[Pty]:
    term = Pty(["watch", "runs/", "--table"], runs.parent, cols=100, rows=20)
    yield term
    term.close()


def test_the_table_draws_a_row_for_each_of_them(table: Pty) -> None:
    """The file's critical run was merged into the group's row, out of sight."""
    screen = table.settled(lambda s: any("3 runs" in row for row in s), "three runs")
    header = next(row for row in screen if "3 runs" in row)
    assert re.search(r"3 runs · 1 critical\b", header), header
    names = [row.split()[0] for row in screen if re.match(r"\s*x(#|\\)", row)]
    assert names == [ESCAPED, "x#A", "x#B"], screen  # worst first
    assert table.finish() == 0
