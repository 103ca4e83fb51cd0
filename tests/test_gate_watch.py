"""`watch --fail-on critical` fed real training runs line by line, as a run writes them: a
healthy run never fires, a critic broken from the start fires at the warm-up's end."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import ROOT, clean_env, script

from bench.verdicts import TARGET_DELAY

RUNS: Final = ROOT / "bench" / "corpus" / "runs"
PAUSE_S: Final = 0.02
"""Between two lines: long enough for watch to draw a frame for each."""
STARTUP_S: Final = 20.0
"""The most watch may take to draw its first frame."""


def watch_fed(path: Path, tmp_path: Path) -> tuple[int, list[dict[str, Any]], str]:
    """watch - --fail-on critical, its stdin written one line at a time; exit code, frames,
    stderr (both kept in files, so a full pipe never holds watch up)."""
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [*script(), "watch", "-", "-f", "json", "--fail-on", "critical"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            env=clean_env(),
        )
    assert proc.stdin is not None
    try:
        deadline = time.monotonic() + STARTUP_S
        while not out_path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # its first frame (no data yet): watch is reading
        with contextlib.suppress(BrokenPipeError):
            for line in path.read_bytes().splitlines(keepends=True):
                if proc.poll() is not None:
                    break
                proc.stdin.write(line)
                proc.stdin.flush()
                time.sleep(PAUSE_S)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    frames = [json.loads(ln) for ln in out_path.read_text().splitlines()]
    return proc.returncode, frames, err_path.read_text()


@pytest.mark.parametrize(
    "name", ["ppo-acrobot-healthy-s1.jsonl", "ppo-cartpole-x0.01-healthy-s1.jsonl"]
)
def test_a_healthy_run_fed_line_by_line_never_fires(name: str, tmp_path: Path) -> None:
    code, frames, err = watch_fed(RUNS / name, tmp_path)
    assert code == 0, err
    assert frames[-1]["gate"]["updates"] == 40
    shown = [f["status"] for f in frames]
    assert "critical" in shown, "its first updates are shown critical: V starts at 0"


def test_a_critic_broken_from_the_start_fires_at_the_warmups_end(tmp_path: Path) -> None:
    code, frames, err = watch_fed(RUNS / "ppo-cartpole-vf-coef-0-s1.jsonl", tmp_path)
    assert code == 1
    warmup, persist = frames[-1]["rules"]["warmup"], frames[-1]["rules"]["persist"]
    # at the first update after it; a frame may cover a few updates on a busy machine
    assert warmup < frames[-1]["gate"]["updates"] <= warmup + 1 + TARGET_DELAY
    assert f"reached critical (--fail-on critical, {persist} updates in a row)" in err
