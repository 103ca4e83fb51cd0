"""`value-diag demo` names its run by scenario, not by a temporary path, and says what next."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli
from ptyterm import Pty

NEXT = [
    "value-diag: watch your own run: value-diag watch YOUR_RUN.jsonl",
    "value-diag: keep a simulated one: value-diag demo --out run.jsonl",
]


def test_in_a_pipe_the_frames_carry_the_caption_and_stderr_the_next_step() -> None:
    proc = run_cli(["demo", "--updates", "3", "--interval", "0"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    titles = [line for line in out.splitlines() if line.startswith("VALUE DIAGNOSTICS")]
    assert titles and all(" | simulated collapse · Ctrl-C to stop | " in t for t in titles)
    assert "value-diag-demo-" not in out, "no temporary path"
    assert proc.stderr.decode().splitlines() == NEXT


def test_a_kept_run_is_named_by_its_path_and_the_last_line_says_where(tmp_path: Path) -> None:
    kept = tmp_path / "kept.jsonl"
    proc = run_cli(
        ["demo", "--updates", "2", "--interval", "0", "--format", "json", "--out", str(kept)],
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["source"] == str(kept)
    assert proc.stderr.decode() == (
        f"value-diag: the run is kept in {kept}: try value-diag once {kept} --trend\n"
    )


def test_on_a_terminal_the_panel_has_the_caption_and_the_next_step_follows_it(
    tmp_path: Path,
) -> None:
    term = Pty(["demo", "--updates", "3", "--interval", "0.05"], tmp_path, cols=100, rows=30)
    try:
        assert term.popen.wait(timeout=60) == 0
        term.reader.join(timeout=30)
        screen = [line.rstrip() for line in term.display()]
    finally:
        term.close()
    text = "\n".join(screen)
    assert "simulated collapse · Ctrl-C to stop" in text
    assert "value-diag-demo-" not in term.text
    shown = [line for line in screen if line]
    assert shown[-2:] == NEXT, shown[-4:]
    assert any("VALUE DIAGNOSTICS" in line for line in shown[:-2]), "after the last frame"
