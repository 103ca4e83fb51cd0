"""Reports fed hostile input: markdown that renders as written, GitHub output, failed writes.

CLI behaviour runs the real console script in a subprocess, as a CI job would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli

# --- --svg and --html ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--svg", "--html"])
@pytest.mark.parametrize(
    ("target", "reason"),
    [("/dev/full", "No space left on device"), ("missing/x.out", "No such file or directory")],
    ids=["full", "missing-dir"],
)
def test_a_failed_export_names_the_path_and_the_reason(
    tmp_path: Path, flag: str, target: str, reason: str
) -> None:
    if target.startswith("/dev/") and not Path(target).exists():
        pytest.skip(f"no {target} here")
    where = target if target.startswith("/") else str(tmp_path / target)
    proc = run_cli(["once", str(SAMPLES / "healthy.jsonl"), flag, where])
    assert proc.returncode == 2
    assert proc.stderr.decode("utf-8") == f"value-diag: error: cannot write {where}: {reason}\n"
    assert proc.stdout.startswith(b"VALUE DIAGNOSTICS | ok |"), "the frame is still printed"
