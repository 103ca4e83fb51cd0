"""`once --compare` at any width, and in every format: run names whole, whole columns left out.

In this process with COLUMNS for a log's width; the console script on a pseudo-terminal for a
real one.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import clean_env, invoke
from hostile import BACKEND, DATA_MARKERS, MODE, SAFE_TAGS, gfm, hostile_run
from markdown_it import MarkdownIt
from sweeps import NAMES, RUNS, sweep
from telemetry import metrics

LABELS: Final = {
    "run",
    "status",
    "why",
    "age",
    "step",
    "V-Corr",
    "Bellman",
    "TD Mean",
    "TD Std",
    "p10",
    "p50",
    "p90",
    "Ret σ",
    "Skew",
    "p90-p10",
    "compile",
    "records",
    "bad",
}
FOOTER: Final = re.compile(r"not shown at (\d+) columns: (.*)", re.S)


def run_in(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`value-diag ARGS` in ``cwd`` with ``env`` added, in this process; its output as text."""
    proc = invoke(args, env=clean_env(**env), cwd=cwd)
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def cells(line: str) -> list[str]:
    """A table line's cells: columns are apart by two spaces or more."""
    return re.split(r"\s{2,}", line.strip())


LEGEND: Final = " (! holds an alarm)"


def parse(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows and the hidden labels the footer names (marked ones with their "!"), of
    a comparison printed as text. The why cell of a healthy run is empty: "" in its row."""
    lines = text.splitlines()
    assert lines[0].startswith("VALUE DIAGNOSTICS: "), text
    header = cells(lines[1])
    rows = [cells(line) for line in lines[2:] if line.startswith(" ")]
    for row in rows:
        if len(row) == len(header) - 1 and "why" in header:
            row.insert(header.index("why"), "")
    rest = "\n".join(line for line in lines[2:] if not line.startswith(" "))
    found = FOOTER.fullmatch(rest.strip())
    said = "" if found is None else " ".join(found.group(2).split()).removesuffix(LEGEND)
    hidden = [h.strip() for h in said.split(",")] if said else []
    assert rest.strip() == "" or found is not None, rest
    return header, rows, hidden


def whole_table(tmp_path: Path) -> dict[str, dict[str, str]]:
    """Run -> column -> cell, from the table a log gets (every column, nothing cut)."""
    proc = run_in(tmp_path, "once", *RUNS, "--compare")
    header, rows, hidden = parse(proc.stdout)
    assert set(header) == LABELS and hidden == []
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


@pytest.mark.parametrize("cols", [60, 80, 120, 200])
def test_every_width_keeps_run_names_whole_and_columns_whole(tmp_path: Path, cols: int) -> None:
    sweep(tmp_path)
    full = whole_table(tmp_path)
    proc = run_in(tmp_path, "once", *RUNS, "--compare", COLUMNS=str(cols))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line.rstrip()) <= cols for line in lines), proc.stdout
    header, rows, hidden = parse(proc.stdout)
    assert header[:3] == ["run", "status", "why"], "the run name, its status and why first"
    assert [row[0] for row in rows] == [NAMES[1], NAMES[2], NAMES[0], NAMES[3]], (
        "whole, worst first"
    )
    for row in rows:  # each cell as the whole table has it: nothing cut mid-word
        assert len(row) == len(header), row
        # (but the age, which may tick a second between the two tables on a busy machine)
        kept = [label for label in header if label != "age"]
        cell = dict(zip(header, row, strict=True))
        assert [cell[label] for label in kept] == [full[row[0]][label] for label in kept]
    unmarked = [h.removesuffix("!") for h in hidden]
    assert set(header) | set(unmarked) == LABELS and not set(header) & set(unmarked)
    if cols == 200:
        assert hidden == [] and "not shown" not in proc.stdout
    else:
        assert hidden, "a narrow table says what it left out"


def test_sixty_columns_keep_the_three_most_telling_metrics(tmp_path: Path) -> None:
    sweep(tmp_path)
    proc = run_in(tmp_path, "once", *RUNS, "--compare", COLUMNS="60")
    header, rows, hidden = parse(proc.stdout)
    # Bellman and Skew hold the critical values, so they come before V-Corr, which leads
    # the columns that hold none; the why column, never left out, says which each is.
    # The display keeps the panel's order.
    assert header == ["run", "status", "why", "age", "V-Corr", "Bellman", "Skew"]
    assert [row[2] for row in rows] == ["Bellman", "Skew", "", ""]
    assert hidden == [
        "step",
        "TD Mean",
        "TD Std",
        "p10",
        "p50",
        "p90",
        "Ret σ",
        "p90-p10",
        "compile",
        "records",
        "bad",
    ]


def test_a_hidden_column_that_holds_an_alarm_is_marked_in_the_footer(tmp_path: Path) -> None:
    """At 40 columns the Bellman and Skew columns go; the footer names them first, marked."""
    sweep(tmp_path)
    proc = run_in(tmp_path, "once", *RUNS, "--compare", COLUMNS="40")
    header, _rows, hidden = parse(proc.stdout)
    assert header[:3] == ["run", "status", "why"]
    assert "Bellman" not in header
    assert hidden[:2] == ["Bellman!", "Skew!"]
    assert "! holds an alarm" in proc.stdout
    assert not any(h.endswith("!") for h in hidden[2:])


def test_the_least_telling_columns_go_first(tmp_path: Path) -> None:
    sweep(tmp_path)
    shown, left_out = [], []
    for cols in range(60, 160, 4):
        proc = run_in(tmp_path, "once", *RUNS, "--compare", COLUMNS=str(cols))
        header, _rows, hidden = parse(proc.stdout)
        shown.append(set(header))
        left_out.append(hidden)
    assert all(a <= b for a, b in itertools.pairwise(shown)), "wider never hides more"
    last = [hidden for hidden in left_out if hidden][-1]
    assert last == ["records"], "the record count is the first to go"
    assert left_out[-1] == [], "a wide enough table shows every column"


def test_a_real_terminal_is_fitted(tmp_path: Path, ptys: Callable[..., Any]) -> None:
    sweep(tmp_path)
    term = ptys("once", *RUNS, "--compare", cwd=tmp_path, cols=80, rows=20)
    assert term.finish() == 0
    screen = [line.rstrip() for line in term.display()]
    text = "\n".join(line for line in screen if line)
    header, rows, hidden = parse(text)
    assert [row[0] for row in rows] == [NAMES[1], NAMES[2], NAMES[0], NAMES[3]]
    assert hidden and "run" in header
    assert "not shown at 80 columns:" in text


@pytest.mark.parametrize("cols", [60, 80])
def test_a_very_long_run_name_loses_its_middle_not_its_row(tmp_path: Path, cols: int) -> None:
    long = tmp_path / ("a-very-long-experiment-directory-name-" * 3) / "seed-7" / "run.jsonl"
    long.parent.mkdir(parents=True)
    long.write_text(json.dumps(metrics()) + "\n", encoding="utf-8")
    short = tmp_path / "b.jsonl"
    short.write_text(json.dumps(metrics(bellman_error=80.0)) + "\n", encoding="utf-8")
    proc = run_in(tmp_path, "once", str(long), "b.jsonl", "--compare", COLUMNS=str(cols))
    assert proc.returncode == 0, proc.stderr
    assert all(len(line.rstrip()) <= cols for line in proc.stdout.splitlines()), proc.stdout
    header, rows, _hidden = parse(proc.stdout)
    assert header[:2] == ["run", "status"] and len(header) >= 5
    assert rows[0][0] == "b"
    name = rows[1][0]
    assert "…" in name and name.endswith("/seed-7/run") and name.startswith(str(tmp_path)[:4])


HOSTILE_NAME: Final = "https://x.example/<b>@o [a](b) `t` |x| &lt; *y*"
"""How hostile_run's file is shown beside ok.jsonl: its directory and .jsonl left out."""


def test_markdown_is_one_table_with_names_as_code_spans(tmp_path: Path) -> None:
    hostile = hostile_run(tmp_path)
    (tmp_path / "ok.jsonl").write_text(json.dumps(metrics()) + "\n", encoding="utf-8")
    ok = str(tmp_path / "ok.jsonl")
    proc = run_in(tmp_path, "once", ok, hostile, "--compare", "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("### VALUE DIAGNOSTICS: 2 runs\n")
    html = MarkdownIt("gfm-like").render(text)
    assert html.count("<table>") == 1 and html.count("<tr>") == 3, html
    page = gfm(text)
    assert page.tags <= SAFE_TAGS, page.tags - SAFE_TAGS
    for marker in DATA_MARKERS:
        assert marker not in page.outside, (marker, page.outside)
    assert HOSTILE_NAME in page.code and "ok" in page.code, "each name whole, in one code span"
    assert str(tmp_path) not in text, "the runs are named apart, not by their paths"
    assert f"{BACKEND}:{MODE}" in page.code
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert "https://x.example/<b>@o" in rows[0], "worst first: the warning run"
    assert rows[1].startswith("| `ok` |")
    assert "| **warning** |" in rows[0] and "| **30!** |" in rows[0]
    assert "| ok |" in rows[1]


def test_github_annotates_each_run_and_sums_up_in_one_table(tmp_path: Path) -> None:
    sweep(tmp_path)
    summary = tmp_path / "summary.md"
    proc = run_in(
        tmp_path,
        "once",
        *RUNS,
        "--compare",
        "--format",
        "github",
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line.startswith("::") for line in lines), lines
    said = [line.split("::", 2)[2].split(": ", 1)[0] for line in lines]
    assert said == [NAMES[1], NAMES[2], NAMES[0], NAMES[3]], "a run's annotations, worst first"
    assert not any("runs/" in line for line in lines), "named by the short name, not the path"
    assert "Bellman 80 (critical)" in lines[0] and "Skew +2.5 (critical)" in lines[1]
    assert lines[2].startswith("::notice") and lines[3].startswith("::notice")
    text = summary.read_text(encoding="utf-8")
    assert text.count("### VALUE DIAGNOSTICS") == 1 and text.startswith(
        "### VALUE DIAGNOSTICS: 4 runs"
    )
    html = MarkdownIt("gfm-like").render(text)
    assert html.count("<table>") == 1 and html.count("<tr>") == 5, html
    assert set(gfm(text).code) >= set(NAMES)
