"""A run of one flat line, judged by the real console script: what a rule makes of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import invoke
from telemetry import flat


def write(tmp_path: Path, line: dict[str, float]) -> Path:
    """``tmp_path``/run.jsonl, holding ``line`` alone."""
    run = tmp_path / "run.jsonl"
    run.write_bytes(flat(line) + b"\n")
    return run


def once_json(path: Path, *args: str) -> dict[str, Any]:
    """`once PATH -f json ARGS`'s frame (exit 0 or 1)."""
    proc = invoke(["once", str(path), "-f", "json", *args])
    assert proc.returncode in (0, 1), proc.stderr
    got = json.loads(proc.stdout)
    assert isinstance(got, dict)
    return got


def fit_of(tmp_path: Path, line: dict[str, float], *args: str) -> dict[str, Any]:
    """V-Fit's mark (level, note) of a one-line run under ARGS, with the frame's status."""
    got = once_json(write(tmp_path, line), "--critic", *args)
    fit = got["critic"]["value_fit"]
    assert isinstance(fit, dict)
    return {"status": got["status"], **fit}
