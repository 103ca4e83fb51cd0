"""Every status says why, and every table has one order of worry, through the real console
script: the why cell (culprits, worst first) in --compare, markdown and the github summary;
a stale run right after the dying ones, before the warnings, in every list of runs."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_env, invoke
from ptyterm import Pty
from telemetry import metrics

SWEEP: dict[str, dict[str, Any]] = {
    "seed1": metrics(),
    "seed2": metrics(bellman_error=80.0, return_skewness=2.5),  # critical: Bellman, Skew
    "seed3": metrics(return_skewness=1.5),  # warning: Skew
    "seed4": metrics(),  # stale: silent for an hour
}


def sweep(root: Path) -> list[str]:
    paths = []
    for name, row in SWEEP.items():
        path = root / name / "run.jsonl"
        path.parent.mkdir()
        path.write_text(json.dumps(row) + "\n")
        paths.append(str(path))
    hour_ago = time.time() - 3600
    os.utime(root / "seed4" / "run.jsonl", (hour_ago, hour_ago))
    return paths


def stdout(*args: str, code: int = 1) -> str:
    proc = invoke(list(args))
    assert proc.returncode == code, proc.stderr
    return proc.stdout.decode("utf-8")


def test_compare_says_why_worst_first_and_puts_the_stale_run_after_the_dying(
    tmp_path: Path,
) -> None:
    runs = sweep(tmp_path)
    text = stdout("once", *runs, "--compare", "--max-age", "10m", "--fail-on", "critical")
    rows = [ln.split() for ln in text.splitlines()[2:] if ln.startswith(" ")]
    assert [r[0] for r in rows] == ["seed2", "seed4", "seed3", "seed1"], text
    assert rows[0][1:4] == ["critical", "Bellman,", "Skew"]
    assert rows[1][1:3] == ["stale", "stale"]
    assert rows[2][1:3] == ["warning", "Skew"]


def test_markdown_and_the_github_summary_carry_the_why(tmp_path: Path) -> None:
    runs = sweep(tmp_path)
    table = stdout("once", *runs, "--compare", "-f", "markdown", "--max-age", "10m", code=0)
    header = next(ln for ln in table.splitlines() if ln.startswith("| run"))
    assert header.startswith("| run | status | why | age |")
    names = re.findall(r"^\| `(seed\d)` \| \*?\*?(\w+)", table, re.M)
    assert names == [
        ("seed2", "critical"),
        ("seed4", "stale"),
        ("seed3", "warning"),
        ("seed1", "ok"),
    ]
    assert "| **Bellman, Skew** |" in table
    single = stdout("once", runs[1], "-f", "markdown", code=0)
    assert "**critical** (Bellman, Skew) | 1 record | 0 bad lines" in single
    summary = tmp_path / "summary.md"
    proc = invoke(
        ["once", *runs, "--compare", "-f", "github", "--max-age", "10m"],
        env=clean_env(GITHUB_STEP_SUMMARY=str(summary)),
    )
    assert proc.returncode == 0, proc.stderr
    assert "| **Bellman, Skew** |" in summary.read_text()
    annotated = re.findall(r"::\w+ title=[^:]*::(seed\d):", proc.stdout.decode())
    order = list(dict.fromkeys(annotated))
    assert order[:3] == ["seed2", "seed4", "seed3"], proc.stdout


def test_one_run_is_one_run_and_no_data_is_two_words(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"compile_enabled": True}) + "\n")
    text = stdout("once", str(path), "--compare", code=3)
    assert text.splitlines()[0].rstrip() == "VALUE DIAGNOSTICS: 1 run"
    assert " no data " in text.splitlines()[2]
    assert stdout("once", str(path), code=3).startswith("VALUE DIAGNOSTICS | no data | ")
    github = stdout("once", str(path), "-f", "github", code=3)
    assert github.rstrip().endswith(": no data, 1 record, 0 bad lines"), github


@pytest.mark.parametrize(
    ("skew", "said"),
    [
        (1.0004, "Skew +1.0004 (warning)"),
        (1.43, "Skew +1.43 (warning)"),
        (2.5, "Skew +2.5 (critical)"),
    ],
)
def test_an_annotation_has_the_digits_that_put_it_on_its_side_of_the_threshold(
    tmp_path: Path, skew: float, said: str
) -> None:
    """Skew warns at 1: 1.0004 is not written "+1", which would read as under the line."""
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(metrics(return_skewness=skew)) + "\n")
    text = stdout("once", str(path), "-f", "github", code=0)
    assert text.rstrip().endswith(f": {said}"), text


def test_github_says_no_data_for_a_run_without_a_record(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"step": 1}\n')
    text = stdout("once", str(path), "-f", "github", code=3)
    assert text == f"::notice title=value-diag::{path}: no data, 0 records, 0 bad lines\n"


def test_once_on_a_terminal_says_what_to_check_first_under_the_panel(tmp_path: Path) -> None:
    """The "When a metric is red" row of the worst culprit, under the bordered panel."""
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(metrics(bellman_error=80.0)) + "\n")
    term = Pty(["once", str(path)], tmp_path, cols=100, rows=30)
    try:
        screen = term.settled(lambda s: any("check first" in row for row in s), "the advice")
        line = next(row for row in screen if "check first" in row)
        assert line.startswith("check first (Bellman): Learning rate too high;"), line
        assert term.finish() == 0
    finally:
        term.close()
    piped = stdout("once", str(path), code=0)
    assert "check first" not in piped, "a log keeps its frame format; the why column says why"


def test_a_note_says_shown_as_info_only_of_what_is_shown_as_info(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(metrics(td_error_std=-1.0)) + "\n")
    text = stdout("once", str(path), code=0)
    assert "impossible: a standard deviation is never negative: TD Std\n" in text, text
    assert "TD Std shown as info" not in text
