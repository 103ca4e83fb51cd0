"""A folder that cannot be read is named, never left out: `once` says it on stderr and
exits 2 (the gate fails closed), `watch` shows it as a row until it can read it.

Root reads every folder whatever its mode: the console-script tests run value-diag as an
unprivileged user (setpriv), and skip where that cannot be done. The walk itself is also
tested in-process, with the error put where os.scandir would raise it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, ROOT, clean_env, script
from needs import as_nobody
from telemetry import healthy
from watching import Spawn

from value_diag.ingest import walk

FAILING = healthy(1000.0)
"""A critical run (Bellman far past its critical line)."""


@pytest.fixture
def sweep() -> Iterator[Path]:
    """runs/a (ok) and runs/b (critical), in a folder the unprivileged user can reach
    (pytest's own temporary folders are private to their owner); runs/b is closed to it."""
    d = Path(tempfile.mkdtemp(prefix="value-diag-"))
    try:
        for p in d.parents:
            if not p.stat().st_mode & stat.S_IXOTH:
                pytest.skip(f"{p} is closed to other users")
        d.chmod(0o755)
        for name, text in (("a", healthy(3.0)), ("b", FAILING)):
            run = d / "runs" / name / "run.jsonl"
            run.parent.mkdir(parents=True)
            run.write_text(text)
            run.chmod(0o644)
            run.parent.chmod(0o755)
        (d / "runs").chmod(0o755)
        (d / "runs" / "b").chmod(0o700)
        yield d
    finally:
        for p in (d / "runs", d / "runs" / "b"):
            if p.exists():
                p.chmod(0o755)
        shutil.rmtree(d)


def once(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`value-diag once ARGS` in cwd, as the unprivileged user."""
    return subprocess.run(
        [*as_nobody(), *script(), "once", *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(),
        timeout=DEADLINE,
        check=False,
    )


@pytest.mark.parametrize("given", ["runs", "runs/", "runs/*/run.jsonl", "runs/**/*.jsonl"])
def test_an_unreadable_run_folder_fails_the_gate(sweep: Path, given: str) -> None:
    """It counted 1 run of 2 and exited 0 while the hidden run was dying."""
    proc = once(sweep, given, "--fail-on", "critical", "--format", "json")
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert (
        err
        == f"value-diag: error: cannot read folder {os.path.join('runs', 'b')}: Permission denied\n"
    )
    frames = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [f["source"] for f in frames] == [os.path.join("runs", "a", "run.jsonl")]


def test_the_readme_quotes_the_error_line_as_printed(sweep: Path) -> None:
    """The README's rule for unread runs shows this very line."""
    err = once(sweep, "runs").stderr.decode()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```\n{err}```\n" in readme, err
    assert "a gate never passes what it could not read" in readme


def test_an_unreadable_folder_outweighs_a_failing_run(sweep: Path) -> None:
    """exitcodes.worst: what could not be read may be worse than what failed."""
    (sweep / "runs" / "a" / "run.jsonl").write_text(FAILING)
    proc = once(sweep, "runs", "--fail-on", "critical")
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "cannot read folder" in err and "reached critical" in err, err


def test_latest_cannot_tell_the_newest_run_past_an_unreadable_folder(sweep: Path) -> None:
    proc = once(sweep, "runs", "--latest")
    assert proc.returncode == 2, proc.stderr
    assert b"cannot read folder" in proc.stderr


def test_an_unreadable_sweep_root_says_permission_denied(sweep: Path) -> None:
    """It said `no run file in runs`, as if the folder were empty."""
    (sweep / "runs").chmod(0o700)
    proc = once(sweep, "runs")
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr == b"value-diag: error: cannot read folder runs: Permission denied\n"


def test_watch_shows_an_unreadable_folder_until_it_can_read_it(sweep: Path, spawn: Spawn) -> None:
    w = spawn("runs", cwd=sweep, prefix=as_nobody())
    header = w.header(lambda h: "cannot read folder" in h)
    assert header.split(" | ")[2] == os.path.join("runs", "b"), header
    assert header.endswith("| cannot read folder: Permission denied; retrying"), header
    (sweep / "runs" / "b").chmod(0o755)
    header = w.header(lambda h: "| b |" in h)
    assert "| critical: Bellman |" in header, header
    w.send(signal.SIGTERM)
    assert w.wait() == 0, w.stderr


# --------------------------------------------------------------------------- in-process


@pytest.fixture
def denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """runs/a/run.jsonl and runs/b/run.jsonl, with os.scandir refusing runs/b."""
    for name in "ab":
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "run.jsonl").write_text(healthy(3.0))
    closed = str(tmp_path / "runs" / "b")
    real = os.scandir

    def scandir(path: Any) -> Any:
        if os.fspath(path) == closed:
            raise PermissionError(13, "Permission denied", closed)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return tmp_path


def test_the_walk_of_a_directory_names_what_it_could_not_read(denied: Path) -> None:
    found = walk.below(str(denied / "runs"), "*.jsonl")
    assert found.files == [str(denied / "runs" / "a" / "run.jsonl")]
    assert found.unreadable == [walk.Unreadable(str(denied / "runs" / "b"), "Permission denied")]


def test_the_walk_of_a_pattern_names_what_it_could_not_read(denied: Path) -> None:
    found = walk.matching(str(denied / "runs" / "**" / "*.jsonl"))
    assert found.files == [str(denied / "runs" / "a" / "run.jsonl")]
    assert found.unreadable == [walk.Unreadable(str(denied / "runs" / "b"), "Permission denied")]
