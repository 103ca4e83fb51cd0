"""A still, readable display: one age format, numbers with their digits, marks that need no
colour, a border that does not move, and trends that say what they show. Through the real
console script, on pipes and on pseudo-terminals."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SAMPLES, invoke
from ptyterm import Pty
from telemetry import healthy
from watching import append

COLS = 100
"""The terminal's width in the live tests."""


NOW = 1_765_000_000.0
"""The fixed clock of the age tests: the age is exact."""


def _aged(tmp_path: Path, name: str, seconds: float) -> Path:
    """A copy of the healthy sample, last written ``seconds`` before NOW."""
    path = tmp_path / name
    shutil.copy(SAMPLES / "healthy.jsonl", path)
    os.utime(path, (NOW - seconds, NOW - seconds))
    return path


# --- one age format --------------------------------------------------------------------------


def _at_now(args: list[str], cwd: Path) -> str:
    return invoke(args, cwd=cwd, clock=lambda: NOW).stdout.decode()


def test_one_age_format_in_the_header_the_stale_reason_the_table_and_the_annotation(
    tmp_path: Path,
) -> None:
    """106 s old at the fixed clock: 1m46s in every place an age is written."""
    _aged(tmp_path, "a.jsonl", 106)
    _aged(tmp_path, "b.jsonl", 106)
    first = _at_now(["once", "a.jsonl", "--max-age", "1m", "--no-config"], tmp_path)
    first = first.splitlines()[0]
    assert "critical: stale: no record for 1m46s |" in first, first
    assert first.endswith("| updated 1m46s ago"), first

    table = _at_now(["once", "a.jsonl", "b.jsonl", "--compare", "--no-config"], tmp_path)
    rows = [line for line in table.splitlines() if line.startswith(" a ")]
    assert len(rows) == 1 and re.search(r"\s1m46s\s", rows[0]), table

    github = _at_now(
        ["once", "a.jsonl", "--max-age", "1m", "--format", "github", "--no-config"], tmp_path
    )
    assert "no record for 1m46s (critical)" in github, github


# --- numbers with their digits -------------------------------------------------------------


NORMALISED = {
    "step": 7,
    "v_return_correlation": 0.8347,
    "td_error_mean": -0.00412,
    "td_error_std": 0.0123,
    "bellman_error": 0.000312,
    "return_p10": -0.853,
    "return_p50": -0.0004,
    "return_p90": 0.912,
    "return_variance": 0.0004,
    "return_skewness": -0.0002,
}
"""A run on normalised returns: every number well under one."""


def test_small_scale_values_keep_three_significant_digits_and_never_show_minus_zero(
    tmp_path: Path,
) -> None:
    (tmp_path / "run.jsonl").write_text(json.dumps(NORMALISED) + "\n")
    proc = invoke(["once", "run.jsonl", "--no-config"], cwd=tmp_path)
    lines = proc.stdout.decode().splitlines()
    assert lines[1:5] == [
        "V-Corr    0.835↗    Bellman   0.000312",
        "TD Mean   -0.00412  TD Std    0.0123",
        "Returns   p10:-0.853 p50:-4e-4  p90:+0.912",
        "Ret σ     0.02      Skew      -0.0002",
    ], proc.stdout.decode()
    assert not re.search(r"-0(?![.\d])|-0\.0(?!\d)", proc.stdout.decode())

    md = invoke(["once", "run.jsonl", "--no-config", "-f", "markdown"], cwd=tmp_path)
    text = md.stdout.decode()
    for row in ("| TD Mean | -0.00412 |", "| p10 | -0.853 |", "| p50 | -0.0004 |"):
        assert row in text, text


# --- marks that need no colour ---------------------------------------------------------------


def cells(screen: list[str]) -> dict[str, str]:
    """Label -> value of each cell of the panel's four metric lines on a screen."""
    found: dict[str, str] = {}
    for row in screen:
        for label, value in re.findall(
            r"(V-Corr|Bellman|TD Mean|TD Std|Ret σ|Ret sigma|Skew)"
            r"\s+(\S+)",
            row,
        ):
            found.setdefault(label, value)
    return found


def test_alarming_values_carry_a_glyph_under_no_color_on_a_terminal(
    tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    shutil.copy(SAMPLES / "collapse.jsonl", tmp_path / "run.jsonl")
    term = ptys("once", "run.jsonl", "--no-config", cwd=tmp_path, cols=100, rows=20, NO_COLOR="1")
    assert term.finish() == 0
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", term.text), "no colour at all"
    shown = cells(term.display())
    # critical: ‼ (beside V-Corr's down arrow); warning: !
    assert shown == {
        "V-Corr": "NaN↘‼",
        "Bellman": "NaN‼",
        "TD Mean": "+22.6‼",
        "TD Std": "Inf‼",
        "Ret σ": "26.7!",
        "Skew": "+1.43!",
    }, term.display()


def test_the_glyphs_in_ascii_and_none_on_a_healthy_run(
    tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    shutil.copy(SAMPLES / "collapse.jsonl", tmp_path / "run.jsonl")
    shutil.copy(SAMPLES / "healthy.jsonl", tmp_path / "ok.jsonl")
    shutil.copy(SAMPLES / "eager.jsonl", tmp_path / "eager.jsonl")
    term = ptys("once", "run.jsonl", "--ascii", "--no-config", cwd=tmp_path, cols=100, rows=20)
    assert term.finish() == 0
    shown = cells(term.display())
    assert (shown["V-Corr"], shown["Bellman"], shown["Ret sigma"]) == ("NaNv!!", "NaN!!", "26.7!")
    assert term.text.isascii()

    healthy = invoke(["once", "ok.jsonl", "--no-config"], cwd=tmp_path).stdout.decode()
    assert "!" not in healthy and "‼" not in healthy, healthy
    eager = invoke(["once", "eager.jsonl", "--no-config"], cwd=tmp_path).stdout.decode()
    assert "Compile   EAGER! (3-5x slower)" in eager.splitlines(), eager


# --- a border that stays put -----------------------------------------------------------------


def border(screen: list[str]) -> tuple[int, int, int]:
    """Where the panel's top and bottom borders end, and where its title starts."""
    top = next(r for r in screen if r.startswith("╭")).rstrip()
    bottom = next(r for r in screen if r.startswith("╰")).rstrip()
    return len(top), len(bottom), top.index(" VALUE")


def test_the_border_does_not_move_when_the_subtitle_changes(tmp_path: Path) -> None:
    """Waiting, created (a note that fades), a long last error, more records: every frame's
    caption is longer or shorter than the last, and the border stays where it was."""
    path = tmp_path / "run.jsonl"
    term = Pty(["watch", "run.jsonl", "--no-config"], tmp_path, cols=COLS, rows=20)
    try:
        seen = [border(term.settled(lambda s: "waiting for run.jsonl" in "\n".join(s), "wait"))]
        path.write_text(healthy(3.0))
        created = term.settled(lambda s: "· created ·" in "\n".join(s), "the created note")
        seen.append(border(created))
        faded = term.settled(lambda s: "created" not in "\n".join(s), "the note gone")
        seen.append(border(faded))
        append(path, '{"bellman_error": ' + "9" * 60 + ",\n" + healthy(4.0) * 120)
        grown = term.settled(lambda s: "121 records" in "\n".join(s), "a long last error")
        assert "1 bad line" in "\n".join(grown)  # its long reason cut, not the box widened
        seen.append(border(grown))
        assert [(top, bottom) for top, bottom, _ in seen] == [(COLS, COLS)] * 4, seen
        # the same title ("ok") in the same place, whatever the caption under it
        assert len({title for _, _, title in seen[1:]}) == 1, seen
        append(path, healthy(80.0))
        critical = term.settled(lambda s: "critical: Bellman" in "\n".join(s), "a new title")
        assert border(critical)[:2] == (COLS, COLS), critical
    finally:
        term.close()


@pytest.mark.parametrize("cols", [60, 80, 120])
def test_the_title_names_the_culprits_cut_to_fit(tmp_path: Path, cols: int) -> None:
    shutil.copy(SAMPLES / "collapse.jsonl", tmp_path / "run.jsonl")
    term = Pty(["once", "run.jsonl", "--no-config"], tmp_path, cols=cols, rows=20)
    try:
        assert term.finish() == 0
        top = next(r for r in term.display() if r.startswith("╭")).rstrip()
    finally:
        term.close()
    title = re.sub(r"^╭─+ | ─+╮$", "", top)
    expected = {
        60: "VALUE DIAGNOSTICS · critical: V-Corr, Bellman, +5",
        80: "VALUE DIAGNOSTICS · critical: V-Corr, Bellman, TD Mean, +4",
        120: "VALUE DIAGNOSTICS · critical: V-Corr, Bellman, TD Mean, +4",
    }
    assert title == expected[cols], top
    assert len(top) == cols


# --- trends that say what they show --------------------------------------------------------


def run_file(path: Path, corr: list[float], **fixed: float) -> None:
    """A run whose V-Corr takes the values ``corr``, one record each, the rest healthy."""
    rows = [
        {**NORMALISED, "v_return_correlation": c, "step": i, **fixed} for i, c in enumerate(corr)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def trend_of(line: str, name: str) -> tuple[str, str, str]:
    """(sparkline, min-max, warning line) of the trend named ``name`` on a panel line."""
    found = re.search(rf"{re.escape(name)} +(\S+) (\S+) *(warn \S+)?", line.split("  ", 1)[1])
    assert found is not None, line
    return found[1], found[2], found[3] or ""


def test_a_wobble_far_from_the_warning_line_looks_like_a_wobble(tmp_path: Path) -> None:
    """V-Corr between 0.80 and 0.86 is named, says its range and its warning line, and is
    drawn against that line: high glyphs only, not a slide from ▁ to █."""
    run_file(tmp_path / "run.jsonl", [0.86, 0.80, 0.84, 0.81, 0.86, 0.80, 0.85, 0.82] * 3)
    proc = invoke(["once", "run.jsonl", "--trend", "--no-config"], cwd=tmp_path)
    corr = proc.stdout.decode().splitlines()[1]
    spark, minmax, line = trend_of(corr, "V-Corr")
    assert (minmax, line) == ("0.8–0.86", "warn <0.5"), corr
    assert set(spark) <= set("▆▇█"), corr


def test_the_sparkline_marks_where_the_warning_line_is_crossed(tmp_path: Path) -> None:
    """A V-Corr sliding under its warning line: the columns beyond it are yellow, and the
    line's text is there for a reader without colour."""
    run_file(tmp_path / "run.jsonl", [0.9 - i / 20 for i in range(12)])
    proc = invoke(
        ["once", "run.jsonl", "--trend", "--no-config", "--color", "always"], cwd=tmp_path
    )
    corr = proc.stdout.decode().splitlines()[1]
    runs = re.findall(r"\x1b\[([0-9;]*)m([▁▂▃▄▅▆▇█]+)", corr)
    colours = [codes for codes, glyphs in runs for _ in glyphs]
    assert colours == ["36"] * 9 + ["33"] * 3, "cyan, then yellow under 0.5: 0.45, 0.4, 0.35"
    assert "warn <0.5" in re.sub(r"\x1b\[[0-9;]*m", "", corr)
    ascii_ = invoke(["once", "run.jsonl", "--trend", "--no-config", "--ascii"], cwd=tmp_path)
    lines = ascii_.stdout.decode().splitlines()
    assert trend_of(lines[1], "V-Corr")[1:] == ("0.35..0.9", "warn <0.5"), lines[1]
    assert trend_of(lines[2], "TD Mean")[2] == "warn +-5", lines[2]


@pytest.mark.parametrize(("cols", "cells"), [(200, 200 - 4 - 48 - 35), (90, 90 - 4 - 35)])
def test_the_sparklines_use_the_width_they_are_given(
    tmp_path: Path, ptys: Callable[..., Pty], cols: int, cells: int
) -> None:
    run_file(tmp_path / "run.jsonl", [0.9 - (i % 7) / 100 for i in range(300)])
    term = ptys(
        "once",
        "run.jsonl",
        "--trend",
        "--history",
        "300",
        "--no-config",
        cwd=tmp_path,
        cols=cols,
        rows=20,
    )
    assert term.finish() == 0
    shown = [r for r in term.display() if r.startswith("│ ")]
    trends = [r for r in shown if re.search(r"(V-Corr|TD Mean|p50|Ret σ) +[▁▂▃▄▅▆▇█]", r)]
    assert [re.findall(r"[▁▂▃▄▅▆▇█]+", r)[0].__len__() for r in trends] == [cells] * 4, shown
    assert len(shown) == (5 if cols == 200 else 9), "right of the lines, or under them"


def test_a_screen_too_narrow_for_the_sparklines_says_so(
    tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    run_file(tmp_path / "run.jsonl", [0.9, 0.8, 0.85])
    term = ptys("once", "run.jsonl", "--trend", "--no-config", cwd=tmp_path, cols=40, rows=20)
    assert term.finish() == 0
    shown = term.display()
    assert any(re.fullmatch(r"│ trends: \d+ more columns needed +│", r.rstrip()) for r in shown), (
        shown
    )
    assert not any(g in r for r in shown for g in "▁▂▃▄▅▆▇█")
