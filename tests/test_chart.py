"""The terminal chart (value_diag.render.chart): what it draws is what the run logged, in
the box it is given, at every size."""

from __future__ import annotations

import math

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from value_diag.render.chart import (
    ASCII,
    MIN_HEIGHT,
    MIN_WIDTH,
    UNICODE,
    Change,
    Threshold,
    Trace,
    draw,
    smooth,
)

XS = [float(x) for x in range(0, 50_000, 1000)]
FALLING = [0.9 - 0.6 * max(0.0, x - 20_000) / 30_000 for x in XS]
CORR = (
    Threshold(0.8, "ok", "above"),
    Threshold(0.5, "warning", "below"),
    Threshold(0.3, "critical", "below"),
)


def plain(lines: list[Text]) -> list[str]:
    return [line.plain for line in lines]


def plot_rows(lines: list[Text]) -> list[str]:
    """The plot's rows, without the y labels: what lies right of the axis."""
    rows = plain(lines)[1:-2]
    cut = next(i for i, c in enumerate(rows[0]) if c in "┤│+|")
    return [row[cut + 1 :] for row in rows]


def style_at(line: Text, column: int) -> str:
    return " ".join(str(s.style) for s in line.spans if s.start <= column < s.end)


@pytest.mark.parametrize(
    ("width", "height"), [(40, 12), (41, 13), (80, 24), (120, 30), (250, 80), (24, 6)]
)
@pytest.mark.parametrize("glyphs", ["unicode", "ascii"])
def test_every_line_stays_inside_the_box(width: int, height: int, glyphs: str) -> None:
    look = ASCII if glyphs == "ascii" else UNICODE
    changes = [Change(32_000, "warning")]
    lines = draw("V-Corr", [Trace("a", XS, FALLING)], CORR, changes, width, height, look)
    assert len(lines) == height
    assert all(line.cell_len <= width for line in lines)
    if glyphs == "ascii":
        assert all(line.plain.isascii() for line in lines)


@settings(max_examples=examples(150), deadline=None)
@given(
    width=st.integers(0, 300),
    height=st.integers(0, 90),
    ys=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=40),
    y=st.floats(allow_nan=False, allow_infinity=False),
)
def test_any_values_any_size_stay_inside(
    width: int, height: int, ys: list[float | None], y: float
) -> None:
    xs = [float(i) for i in range(len(ys))]
    lines = draw("Bellman", [Trace("a", xs, ys)], [Threshold(y, "warning", "above")], (),
                 width, height)  # fmt: skip
    assert len(lines) == max(height, 1) if height else len(lines) <= 1
    assert all(line.cell_len <= max(width, 0) for line in lines)


def test_too_small_a_box_says_what_it_needs() -> None:
    lines = draw("V-Corr", [Trace("a", XS, FALLING)], width=MIN_WIDTH + 30, height=MIN_HEIGHT - 1)
    assert plain(lines)[0] == f"V-Corr: a chart needs {MIN_WIDTH}x{MIN_HEIGHT} cells"
    assert len(lines) == MIN_HEIGHT - 1


def test_axes_are_labelled_with_the_range_and_the_steps() -> None:
    lines = plain(draw("V-Corr", [Trace("a", XS, FALLING)], (), (), 60, 12))
    assert lines[0] == "V-Corr"
    assert lines[1].lstrip().startswith("0.9┤")
    assert lines[-3].lstrip().startswith("0.32┤")  # min(FALLING): 0.32
    assert lines[-1].split() == ["0", "step", "49000"]
    assert lines[-2].lstrip().startswith("└")


def test_a_threshold_is_a_dashed_line_at_its_value_with_its_label() -> None:
    lines = draw("V-Corr", [Trace("a", XS, [0.9] * 20 + [0.2] * 30)], CORR, (), 60, 24)
    rows = plain(lines)
    warning = next(r for r in rows if r.lstrip().startswith("0.5┤"))
    critical = next(r for r in rows if r.lstrip().startswith("0.3┤"))
    assert warning.count("┄") > 40 and critical.count("┄") > 40
    at = rows.index(warning)
    dash = lines[at].plain.index("┄")
    assert "yellow" in style_at(lines[at], dash)
    assert "red" in style_at(
        lines[rows.index(critical)], lines[rows.index(critical)].plain.index("┄")
    )


def test_rows_past_a_threshold_are_tinted_with_its_level() -> None:
    ys = [0.9 - 0.8 * i / 49 for i in range(50)]  # 0.9 down to 0.1
    lines = draw("V-Corr", [Trace("a", XS, ys)], CORR, (), 60, 19)  # a row per 0.05
    rows = plain(lines)
    col = rows[1].index("┤") + 3
    tints = [style_at(line, col) for line in lines[1:-2]]
    assert "on #" not in tints[0]  # 0.9: above every line
    assert "on #33300a" in tints[10]  # 0.4: below 0.5, above 0.3: warning
    assert "on #3a0d0d" in tints[-1]  # 0.1: below 0.3: critical


def test_a_missing_value_is_a_gap_never_a_point() -> None:
    ys: list[float | None] = [0.5] * 50
    ys[20:30] = [None] * 10
    rows = plot_rows(draw("V-Corr", [Trace("a", XS, ys)], (), (), 2 + 1 + 50, 10))
    flat = next(r for r in rows if r.strip())
    gap = flat[21:29]
    assert gap.strip() == "", flat
    assert flat[:20].strip() and flat[30:].strip()


def test_nan_and_infinity_are_red_crosses_at_their_edge() -> None:
    ys: list[float | None] = [0.5 + i / 100 for i in range(50)]
    ys[10] = math.nan
    ys[40] = -math.inf
    lines = draw("V-Corr", [Trace("a", XS, ys)], (), (), 60, 12)
    rows = plot_rows(lines)
    assert "×" in rows[0] and "×" in rows[-1]
    top = lines[1]
    assert "red" in style_at(top, top.plain.index("×"))
    finite = [y for y in ys if y is not None and math.isfinite(y)]
    # The crosses do not stretch the range: its ends are the finite values'.
    assert plain(lines)[1].startswith(f"{max(finite):g}"[:4])


def test_a_far_threshold_is_named_not_drawn() -> None:
    ys = [0.01 + 0.001 * i for i in range(50)]
    th = [Threshold(100.0, "warning", "above"), Threshold(1000.0, "critical", "above")]
    lines = plain(draw("Bellman", [Trace("a", XS, ys)], th, (), 70, 10))
    assert lines[0] == "Bellman  ↑ warning 100  ↑ critical 1000"
    assert not any("┄" in line for line in lines)
    assert lines[1].startswith("0.059┤")


def test_level_changes_are_marked_under_their_update() -> None:
    lines = draw(
        "V-Corr",
        [Trace("a", XS, FALLING)],
        CORR,
        [Change(0.0, "warning"), Change(49_000.0, "critical")],
        60,
        12,
    )
    axis = lines[-2]
    corner = axis.plain.index("└")
    assert axis.plain[corner + 1] == "▲" and axis.plain.rstrip()[-1] == "▲"
    assert "yellow" in style_at(axis, corner + 1)
    assert "red" in style_at(axis, len(axis.plain.rstrip()) - 1)
    assert axis.plain.count("▲") == 2


def test_several_runs_share_a_chart_with_a_legend() -> None:
    lines = draw("V-Corr", [Trace("seed0", XS, FALLING), Trace("seed1", XS, [0.6] * 50)],
                 CORR, (), 80, 12)  # fmt: skip
    assert plain(lines)[0] == "V-Corr  ━━ seed0  ━━ seed1"
    styles = {
        str(s.style)
        for line in lines[1:-2]
        for s in line.spans
        if "⠀" <= line.plain[s.start] <= "⣿"
    }
    assert {"bright_white", "cyan"} <= styles


def test_one_point_and_a_constant_run_still_draw() -> None:
    lines = plain(draw("TD Mean", [Trace("a", [5.0], [2.0])], (), (), 40, 8))
    assert any(c for row in lines[1:-2] for c in row if "⠁" <= c <= "⣿")
    assert lines[1].startswith("3┤") and lines[-3].startswith("1┤")
    assert lines[-1].split() == ["5", "step"]


def test_smoothing_is_tensorboards_debiased_ema() -> None:
    assert smooth([1.0, 2.0, 4.0], 0.0) == [1.0, 2.0, 4.0]
    w = 0.5
    expect = []
    last = 0.0
    for n, y in enumerate([1.0, 2.0, 4.0], 1):
        last = last * w + (1 - w) * y
        expect.append(last / (1 - w**n))
    assert smooth([1.0, 2.0, 4.0], w) == pytest.approx(expect)
    assert smooth([1.0, 2.0], 0.5) == pytest.approx([1.0, 5 / 3])
    out = smooth([1.0, None, math.nan, 3.0], 0.5)
    assert out[1] is None and math.isnan(out[2] or 0.0)
    assert out[3] == pytest.approx(((0.5 * 1 * 0.5) + 0.5 * 3) / (1 - 0.25))
