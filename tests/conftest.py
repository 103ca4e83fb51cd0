"""Shared fixtures: a clean colour environment and the real console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
DEADLINE = 10.0
"""Seconds a test waits for a condition before it gives up (a safety net, not a measure)."""
COLOR_VARS = ("FORCE_COLOR", "NO_COLOR", "TERM", "COLUMNS", "LINES", "CLICOLOR_FORCE")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no colour forcing or width settings from the developer's shell."""
    for name in COLOR_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


def script() -> list[str]:
    """The installed console script, or the module when only the package is importable."""
    found = shutil.which("value-diag", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "value_diag"]


LOCALE_VARS = ("LC_ALL", "LC_CTYPE", "LANG")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: no colour forcing, a UTF-8 locale, plus ``extra``.

    A C locale in the developer's shell would make value-diag choose ASCII glyphs.
    """
    env = {k: v for k, v in os.environ.items() if k not in COLOR_VARS + LOCALE_VARS}
    env["LANG"] = "C.UTF-8"
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Runs `value-diag ARGS` (in ``cwd`` if given) as a user would and captures everything."""
    return subprocess.run(
        [*script(), *args],
        input=input,
        capture_output=True,
        env=env if env is not None else clean_env(),
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Starts `[PREFIX...] value-diag watch ARGS` (in tmp_path unless ``cwd``); every process is
    killed at teardown."""
    from watching import Watch

    started: list[Watch] = []

    def start(
        *args: str,
        stdin: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        prefix: Sequence[str] = (),
    ) -> Watch:
        w = Watch(list(args), cwd=cwd or tmp_path, stdin=stdin, env=env, prefix=prefix)
        started.append(w)
        return w

    try:
        yield start
    finally:
        for w in started:
            w.close()


@pytest.fixture
def ptys() -> Iterator[Callable[..., Any]]:
    """Starts `value-diag ARGS` on pseudo-terminals of a given size; closed at teardown."""
    from ptyterm import Pty

    started: list[Pty] = []

    def start(*args: str, cwd: Path, cols: int, rows: int, **env: str) -> Pty:
        p = Pty(list(args), cwd, cols=cols, rows=rows, **env)
        started.append(p)
        return p

    try:
        yield start
    finally:
        for p in started:
            p.close()
