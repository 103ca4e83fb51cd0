"""--trend: the bounded value history (fold, parts, scan), the sparkline, the panel and JSON."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from reading import fold_path, is_candidate
from rich.text import Text

from value_diag.frame import Frame
from value_diag.ingest import fold as fold_module
from value_diag.ingest.fold import fold
from value_diag.ingest.lines import Line
from value_diag.ingest.parse import BadLine
from value_diag.render.jsonframe import dumps, to_json
from value_diag.render.panel import TREND_COL, ValueDiagnosticsPanel
from value_diag.render.trends import TREND_W, sparkline
from value_diag.schema import VALUE_FIELDS
from value_diag.state import Compile, FoldState, to_snapshot

NOW: Final = 1_700_000_000.0
UNICODE_RAMP: Final = "▁▂▃▄▅▆▇█"
ASCII_RAMP: Final = "_.:-=+*#"
COMPILE: Final = Compile(enabled=True, backend="inductor", mode="default")

Values = tuple[float, ...]


# --- telemetry helpers ---------------------------------------------------------------------


def vals(i: int) -> Values:
    """Record ``i``: nine distinct, healthy-looking numbers."""
    return (0.5 + i / 1000, i * 0.01, 2.0 + i, 7.0 + i % 5, -1.0 - i, 10.0 + i, 40.0 + i, 64.0, 0.1)


def flat(values: Values) -> bytes:
    return json.dumps(dict(zip(VALUE_FIELDS, values, strict=True))).encode()


def started() -> bytes:
    return json.dumps(
        {"event_type": "TRAINING_STARTED", "data": {"compile_enabled": True}}
    ).encode()


COMPILE_LINE: Final = b'{"compile_enabled": true, "compile_backend": "inductor"}'
FOREIGN_LINE: Final = b'{"event_type": "EPOCH_COMPLETED", "data": {"val_loss": 1.0}}'
BAD_LINE: Final = b'{"bellman_error": "high"}'


def numbered(lines: Sequence[bytes]) -> list[Line]:
    return [(i + 1, line) for i, line in enumerate(lines)]


def line_by_line(lines: Sequence[Line], history: int) -> FoldState:
    """The reference: every line folded on its own, in order."""
    state = FoldState(history_len=history)
    for one in lines:
        state = fold(state, [one], NOW)
    return state


def in_parts(lines: Sequence[Line], cuts: Sequence[int], history: int) -> FoldState:
    """Summaries of consecutive parts (numbered from 1 in each part) applied in order."""
    state = FoldState(history_len=history)
    bounds = [0, *sorted(cuts), len(lines)]
    offset = 0
    for a, b in itertools.pairwise(bounds):
        part = [(number - offset, line) for number, line in lines[a:b]]
        seg = fold_module.summarize(part, line_count=b - a, history_len=history)
        state = fold_module.apply(state, seg, NOW, offset)
        offset += b - a
    return state


def same(a: FoldState, b: FoldState) -> bool:
    """Equal states, NaN equal to NaN (the dataclass repr spells every field)."""
    return repr(a) == repr(b)


# --- the history in the fold ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 10, 60])
def test_history_keeps_the_newest_n_value_records_oldest_first(n: int) -> None:
    records = [vals(i) for i in range(25)]
    lines = numbered([COMPILE_LINE, *(flat(v) for v in records)])
    state = fold(FoldState(history_len=n), lines, NOW)
    assert state.history == tuple(records[-n:])
    assert state.history[-1] == state.values
    assert state.history_len == n


def test_history_ignores_lines_without_values() -> None:
    lines = numbered([flat(vals(1)), COMPILE_LINE, FOREIGN_LINE, BAD_LINE, flat(vals(2))])
    state = fold(FoldState(history_len=5), lines, NOW)
    assert state.history == (vals(1), vals(2))
    assert state.bad_lines == 1


def test_no_history_is_kept_by_default() -> None:
    state = fold(FoldState(), numbered([flat(vals(i)) for i in range(5)]), NOW)
    assert state.history == ()
    assert state.values == vals(4)


def test_training_started_clears_the_history() -> None:
    before = [flat(vals(i)) for i in range(6)]
    state = fold(FoldState(history_len=4), numbered([*before, started()]), NOW)
    assert state.history == ()
    assert state.values is None

    after = fold(state, [(8, flat(vals(100))), (9, flat(vals(101)))], NOW)
    assert after.history == (vals(100), vals(101)), "only the new run's records"


def test_training_started_in_a_later_fold_call_clears_the_history() -> None:
    state = fold(FoldState(history_len=4), numbered([flat(vals(i)) for i in range(6)]), NOW)
    assert len(state.history) == 4
    state = fold(state, [(7, started()), (8, flat(vals(50)))], NOW)
    assert state.history == (vals(50),)


# --- folding in parts equals folding line by line ------------------------------------------

STREAM: Final = [
    COMPILE_LINE,
    *(flat(vals(i)) for i in range(12)),
    BAD_LINE,
    FOREIGN_LINE,
    *(flat(vals(i)) for i in range(12, 20)),
    started(),
    flat(vals(200)),
    flat((math.nan, math.inf, *vals(201)[2:])),
    BAD_LINE,
    flat(vals(202)),
]


@pytest.mark.parametrize("history", [0, 1, 2, 5, 60])
@pytest.mark.parametrize(
    "cuts",
    [[], [1], [13], [23], [24], [26], [5, 24], [10, 14, 25], [1, 2, 3, 4], [22, 23, 24, 25, 26]],
)
def test_parts_equal_line_by_line(history: int, cuts: list[int]) -> None:
    lines = numbered(STREAM)
    expected = line_by_line(lines, history)
    assert len(expected.history) == min(history, 3)
    assert same(in_parts(lines, cuts, history), expected)


EVENTS: Final = st.lists(
    st.sampled_from(["value", "value", "value", "restart", "bad", "compile", "foreign"]),
    max_size=40,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    events=EVENTS,
    history=st.integers(min_value=0, max_value=8),
    data=st.data(),
)
def test_any_stream_in_any_parts_equals_line_by_line(
    events: list[str], history: int, data: st.DataObject
) -> None:
    raw: list[bytes] = []
    for i, kind in enumerate(events):
        raw.append(
            {
                "value": flat(vals(i)),
                "restart": started(),
                "bad": BAD_LINE,
                "compile": COMPILE_LINE,
                "foreign": FOREIGN_LINE,
            }[kind]
        )
    lines = numbered(raw)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(lines)), max_size=4))
    assert in_parts(lines, cuts, history) == line_by_line(lines, history)


def test_parts_with_bad_line_objects_keep_file_line_numbers() -> None:
    lines: list[Line] = [(1, flat(vals(1))), (2, BadLine("too long")), (3, flat(vals(2)))]
    state = in_parts(lines, [2], 3)
    assert state.last_error == "line 2: too long"
    assert state.history == (vals(1), vals(2))


# --- scan.fold_path in parts ---------------------------------------------------------------


def write_run(path: Path, tail: str) -> bytes:
    """About 300 lines: records, bad and foreign lines, and a ``tail`` after a restart."""
    lines = [COMPILE_LINE]
    for i in range(150):
        lines.append(flat(vals(i)))
        if i % 17 == 5:
            lines.append(BAD_LINE)
        if i % 11 == 3:
            lines.append(FOREIGN_LINE)
    if tail in ("restart-mid", "restart-late", "restart-last"):
        lines.append(started())
    if tail == "restart-mid":
        lines += [flat(vals(1000 + i)) for i in range(100)]
    elif tail == "restart-late":
        lines += [flat(vals(1000)), flat((math.nan, *vals(1001)[1:]))]
    elif tail == "nan":
        lines += [flat((math.nan, -math.inf, *vals(1002)[2:]))]
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    return data


def reference(data: bytes, history: int) -> FoldState:
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    lines = [(i + 1, line) for i, line in enumerate(raw) if is_candidate(line)]
    return line_by_line(lines, history)


@pytest.mark.parametrize("tail", ["none", "nan", "restart-mid", "restart-late", "restart-last"])
@pytest.mark.parametrize("history", [3, 60, 1000])
@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_fold_path_in_parts_keeps_the_history_of_one_pass(
    tmp_path: Path, tail: str, history: int, parts: int
) -> None:
    path = tmp_path / "run.jsonl"
    expected = reference(write_run(path, tail), history)
    records_since_start = {"restart-mid": 100, "restart-late": 2, "restart-last": 0}.get(tail)
    if records_since_start is None:
        records_since_start = 150 + (tail == "nan")
    assert len(expected.history) == min(history, records_since_start)
    got = fold_path(str(path), NOW, parts=parts, history=history, processes=False)
    assert same(got, expected)


def test_fold_path_history_is_the_files_last_records(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(flat(vals(i)) + b"\n" for i in range(40)))
    state = fold_path(str(path), NOW, parts=3, history=7)
    assert state.history == tuple(vals(i) for i in range(33, 40))
    assert fold_path(str(path), NOW, parts=3).history == (), "no history unless asked"


# --- the sparkline -------------------------------------------------------------------------


def glyphs(
    values: Sequence[float],
    width: int = TREND_W,
    ascii_only: bool = False,
    include: Sequence[float] = (),
) -> str:
    return "".join(g for g, _ in sparkline(values, width, ascii_only, include=include))


def test_sparkline_scales_min_to_lowest_and_max_to_highest() -> None:
    assert glyphs([3.0, -2.0, 10.0]) == "▄▁█"
    assert glyphs([float(i) for i in range(8)]) == UNICODE_RAMP
    assert glyphs([float(i) for i in range(8)], ascii_only=True) == ASCII_RAMP
    assert glyphs([1e6, 1e6 + 7]) == "▁█", "scaled between min and max, not from zero"
    assert glyphs([-5.0, -40.0]) == "█▁"


def test_sparkline_styles_are_calm_for_finite_values() -> None:
    assert {style for _, style in sparkline([1.0, 2.0, 3.0], 10)} == {"cyan"}


def test_the_y_range_takes_in_the_warning_line() -> None:
    """V-Corr wobbling between 0.80 and 0.86 is no collapse: drawn against its warning line at
    0.5, it stays in the top glyphs; stretched between its own min and max it looked like one."""
    wobble = [0.86, 0.80, 0.84, 0.81, 0.86, 0.80]
    assert glyphs(wobble) == "█▁▆▂█▁", "alone: from the floor to the ceiling"
    assert glyphs(wobble, include=(0.5,)) == "█▇█▇█▇"
    assert glyphs([0.3, 0.4], include=(0.5,)) == "▁▅", "the line above the values: the top"
    assert glyphs([1.0, 2.0], include=(-5.0, 5.0)) == "▅▆", "a size's lines: -5 and +5"
    assert glyphs([1.0, 2.0], include=(math.nan,)) == "▁█", "a non-finite line is ignored"


def test_columns_beyond_the_warning_line_are_yellow() -> None:
    out = sparkline([0.9, 0.6, 0.4, 0.2], 10, include=(0.5,), beyond=lambda x: x < 0.5)
    assert [style for _, style in out] == ["cyan", "cyan", "yellow", "yellow"]
    assert [g for g, _ in out] == ["█", "▅", "▃", "▁"]


@pytest.mark.parametrize("n", [1, 2, 7, 30, 90])
def test_constant_series_is_the_middle_glyph(n: int) -> None:
    assert glyphs([4.2] * n) == "▄" * min(n, TREND_W)
    assert glyphs([4.2] * n, ascii_only=True) == "-" * min(n, TREND_W)


def test_empty_series_is_empty() -> None:
    assert sparkline([], TREND_W) == []


def test_shorter_than_width_is_one_column_per_value() -> None:
    assert len(sparkline([float(i) for i in range(7)], 30)) == 7


def test_longer_than_width_is_averaged_into_equal_buckets() -> None:
    # 60 values into 30 columns: each column is the mean of a pair.
    values = [float(v) for k in range(30) for v in (k, k + 2)]  # pair means 1, 2, ..., 30
    out = sparkline(values, 30)
    assert len(out) == 30
    assert "".join(g for g, _ in out) == glyphs([k + 1.0 for k in range(30)])

    # Each column is its bucket's mean: (0, 0), (0, 8), (4, 2) -> 0, 4, 3.
    assert glyphs([0.0, 0.0, 0.0, 8.0, 4.0, 2.0], 3) == "▁█▆"
    assert glyphs([0.0] * 10 + [10.0] * 10, 2) == "▁█"
    assert len(sparkline([1.0, 2.0] * 500, 30)) == 30


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_in_a_bucket_is_a_red_bang(bad: float) -> None:
    out = sparkline([0.0, 3.0, bad, 7.0], 10)
    assert out[2] == ("!", "red bold")
    assert [g for g, _ in out] == ["▁", "▄", "!", "█"], "the rest scaled among finite columns"

    bucketed = sparkline([1.0, 2.0, 3.0, bad, 5.0, 6.0], 3)  # the bad value shares a bucket
    assert bucketed[1] == ("!", "red bold")
    assert [g for g, _ in bucketed] == ["▁", "!", "█"]

    assert sparkline([1.0, bad], 10, ascii_only=True)[1] == ("!", "red bold")
    assert sparkline([bad, bad], 10) == [("!", "red bold")] * 2


# --- the panel with trends -----------------------------------------------------------------

IDX: Final = {name: VALUE_FIELDS.index(name) for name in VALUE_FIELDS}
N_HIST: Final = 8


def designed_history(nan_in_corr: bool = False) -> list[Values]:
    """Each line's series has its own shape, so a sparkline of the wrong metric shows."""
    out = []
    for i in range(N_HIST):
        row = [0.0] * len(VALUE_FIELDS)
        row[IDX["v_return_correlation"]] = 0.1 * (i + 1)  # rising
        row[IDX["td_error_mean"]] = abs(i - 3.5)  # V
        row[IDX["td_error_std"]] = 10.0 - i  # falling: not shown
        row[IDX["bellman_error"]] = float(i % 3)  # not shown
        row[IDX["return_p10"]] = -float(i * i)  # not shown
        row[IDX["return_p50"]] = 3.5 - abs(i - 3.5)  # inverted V
        row[IDX["return_p90"]] = float(i)  # not shown
        row[IDX["return_variance"]] = float((N_HIST - 1 - i) ** 2)  # sigma falls linearly
        row[IDX["return_skewness"]] = 0.1
        out.append(tuple(row))
    if nan_in_corr:
        row = list(out[2])
        row[IDX["v_return_correlation"]] = math.nan
        out[2] = tuple(row)
    return out


def render(history: Sequence[Values], trend: bool, ascii_only: bool = False) -> Text:
    state = FoldState(values=history[-1], compile=COMPILE, records=len(history))
    panel = ValueDiagnosticsPanel(ascii_only=ascii_only, trend=trend)
    panel.update_snapshot(to_snapshot(state), frozenset(), history)
    return panel.render()


def style_at(text: Text, offset: int) -> str:
    return " ".join(str(s.style) for s in text.spans if s.start <= offset < s.end)


def series(history: Sequence[Values]) -> list[list[float]]:
    """Lines 1-4's series: V-Corr, TD Mean, p50, and Ret sigma (the square root of the variance)."""
    return [
        [r[IDX["v_return_correlation"]] for r in history],
        [r[IDX["td_error_mean"]] for r in history],
        [r[IDX["return_p50"]] for r in history],
        [math.sqrt(r[IDX["return_variance"]]) for r in history],
    ]


NAME_W: Final = len("TD Mean")
"""The width of the sparklines' names (Unicode: "TD Mean" is the longest)."""


@pytest.mark.parametrize("ascii_only", [False, True], ids=["unicode", "ascii"])
def test_trend_adds_a_named_sparkline_at_trend_col_to_lines_1_to_4(ascii_only: bool) -> None:
    history = designed_history()
    plain = render(history, trend=False, ascii_only=ascii_only).plain.split("\n")
    lines = render(history, trend=True, ascii_only=ascii_only).plain.split("\n")
    assert len(lines) == len(plain) == 5
    lines_drawn = [(0.5,), (-5.0, 5.0), (), (10.0,)]  # V-Corr, TD Mean, p50, Ret sigma
    wanted = [
        glyphs(s, TREND_W, ascii_only, include=at)
        for s, at in zip(series(history), lines_drawn, strict=True)
    ]
    assert len(set(wanted)) == 4, "the designed series draw four different sparklines"
    for k in range(4):
        assert lines[k][:TREND_COL].rstrip() == plain[k], k
        assert len(plain[k]) < TREND_COL
    assert lines[4] == plain[4], "the compile line gets no sparkline"
    dash, pm, sigma = ("..", "+-", "Ret sigma") if ascii_only else ("–", "±", "Ret σ")
    name_w = len(sigma) if ascii_only else NAME_W
    texts = [
        ("V-Corr", f"0.1{dash}0.8", "warn <0.5"),
        ("TD Mean", f"0.5{dash}3.5", f"warn {pm}5"),
        ("p50", f"0{dash}3", ""),
        (sigma, f"0{dash}7", "warn >10"),
    ]
    for k, (name, minmax, line) in enumerate(texts):
        expected = f"{name.ljust(name_w)} {wanted[k]} {minmax.ljust(13)} {line}".rstrip()
        assert lines[k][TREND_COL:].rstrip() == expected, (k, lines[k])
    if ascii_only:
        assert all(ord(ch) < 128 for line in lines for ch in line)
    else:
        assert wanted[0] == UNICODE_RAMP, "V-Corr rises from 0.1 to 0.8, its line (0.5) inside"
        assert wanted[3] == "▆▅▅▄▃▂▂▁", "Ret σ, the standard deviation, against its line at 10"


def test_trend_keeps_the_styles_of_the_default_lines() -> None:
    history = designed_history()
    default = render(history, trend=False).split("\n")
    trend = render(history, trend=True).split("\n")
    for k in range(4):
        assert trend[k][: len(default[k])] == default[k], k
    assert trend[4] == default[4]


def test_trend_sparkline_is_cyan_yellow_beyond_its_line_and_a_nan_is_a_red_bang() -> None:
    text = render(designed_history(nan_in_corr=True), trend=True)
    first = text.plain.split("\n")[0]
    spark = TREND_COL + NAME_W + 1  # V-Corr's first column
    assert first[spark + 2] == "!"
    assert "red" in style_at(text, spark + 2) and "bold" in style_at(text, spark + 2)
    assert style_at(text, spark) == "yellow", "V-Corr 0.1: below its warning line"
    assert style_at(text, spark + 7) == "cyan", "V-Corr 0.8"
    assert style_at(text, TREND_COL) == "dim", "the name"


def test_default_layout_is_unchanged_by_a_history() -> None:
    """Trend off: a panel given a history is exactly the panel given none."""
    history = designed_history()
    without = ValueDiagnosticsPanel()
    state = FoldState(values=history[-1], compile=COMPILE, records=1)
    without.update_snapshot(to_snapshot(state), frozenset())
    assert render(history, trend=False) == without.render()
    assert render(history, trend=False).plain == without.render().plain


def test_trend_of_a_long_history_is_trend_w_wide_where_the_width_is_unknown() -> None:
    history = [vals(i) for i in range(200)]
    lines = render(history, trend=True).plain.split("\n")
    for k in range(4):
        spark = lines[k][TREND_COL + NAME_W + 1 :].split(" ")[0]
        assert len(spark) == TREND_W, lines[k]


def boxed(history: Sequence[Values], columns: int, kept: int = 60) -> list[str]:
    """The boxed panel of a run with this history, on a screen ``columns`` wide."""
    import io

    from rich.console import Console

    from value_diag.render.frames import Renderer

    state = FoldState(
        values=history[-1],
        compile=Compile(True, "inductor", "default"),
        records=len(history),
        history=tuple(history),
        history_len=kept,
    )
    console = Console(width=columns, file=io.StringIO(), record=True, color_system=None)
    console.print(Renderer(trend=True).boxed(Frame("run.jsonl", state)))
    return console.export_text().splitlines()


SLIDE: Final = (
    *((0.9 - i / 100, float(i), 0, 0, 0, float(i), 0, 4.0, 0) for i in range(59)),
    (math.nan, 60.0, 0, 0, 0, 60.0, 0, 4.0, 0),
)
"""A V-Corr sliding down to a NaN: the newest value, at the sparkline's right end."""


TEXT_W: Final = NAME_W + 1 + 1 + 13 + 1 + len("warn <") + 6
"""What a sparkline's line takes besides the sparkline: name, min-max, warning line."""


@pytest.mark.parametrize(
    ("columns", "where"),
    [(40, "dropped"), (42, "dropped"), (50, "below"), (100, "below"), (120, "right")],
)
def test_the_sparklines_go_right_below_or_say_they_were_dropped(columns: int, where: str) -> None:
    lines = boxed(SLIDE, columns)
    assert all(len(line) == columns for line in lines), lines
    assert not any("…" in line for line in lines[1:-1]), "fitted, not cut off"
    corr, *below = [line for line in lines if line.startswith("│ V-Corr ")]
    said = [line for line in lines if "more columns needed" in line]
    if where == "right":  # the newest value (NaN) at the sparkline's right end
        assert re.search(r"V-Corr  [▁▂▃▄▅▆▇█]+! 0.32–0.9 +warn <0.5", corr), corr
        assert below == [] and said == []
    elif where == "below":
        assert re.search(r"│ V-Corr  [▁▂▃▄▅▆▇█]+! 0.32–0.9 +warn <0.5 +│", below[0]), below
        assert len(lines) == 2 + 5 + 4, "the four sparklines under the five lines"
    else:
        missing = 8 - (columns - 4 - TEXT_W)  # MIN_TREND_W cells under the lines
        (line,) = said
        assert line.startswith(f"│ trends: {missing} more columns needed"), lines
        assert not any(g in line for line in lines for g in "▁▂▃▄▅▆▇█"), lines


@pytest.mark.parametrize(
    ("columns", "right"), [(80, False), (100, False), (140, True), (170, True), (200, True)]
)
def test_the_sparklines_grow_with_the_screen_up_to_the_history_kept(
    columns: int, right: bool
) -> None:
    history = [vals(i) for i in range(300)]
    lines = boxed(history, columns, kept=300)
    start = "│ V-Corr   " if right else "│ V-Corr  ▁"
    corr = next(line for line in lines if line.startswith(start))
    spark = re.search(r"V-Corr  ([▁▂▃▄▅▆▇█]+) ", corr)
    assert spark is not None, corr
    room = columns - 4 - TEXT_W - (TREND_COL if right else 0)
    assert len(spark[1]) == room > TREND_W, corr
    few = boxed(history[:40], 200, kept=40)
    corr = next(line for line in few if line.startswith("│ V-Corr   "))
    spark = re.search(r"V-Corr  ([▁▂▃▄▅▆▇█]+) ", corr)
    assert spark is not None and len(spark[1]) == 40, "no wider than the history kept"


# --- JSON ----------------------------------------------------------------------------------


def test_json_with_trend_has_the_history_per_field() -> None:
    history = (vals(1), (math.nan, math.inf, -math.inf, *vals(2)[3:]), vals(3))
    state = FoldState(
        values=history[-1], compile=COMPILE, records=3, history=history, history_len=60
    )
    obj = to_json(Frame("run.jsonl", state), trend=True)
    assert set(obj["history"]) == set(VALUE_FIELDS)
    for i, name in enumerate(VALUE_FIELDS):
        got = obj["history"][name]
        assert len(got) == 3
        assert got[0] == vals(1)[i] and got[2] == vals(3)[i], "oldest first"
    assert obj["history"]["v_return_correlation"][1] == "NaN"
    assert obj["history"]["td_error_mean"][1] == "Infinity"
    assert obj["history"]["td_error_std"][1] == "-Infinity"
    assert json.loads(dumps(obj)) == obj, "strict JSON"


def test_json_without_trend_has_no_history_key() -> None:
    state = FoldState(
        values=vals(1), compile=COMPILE, records=1, history=(vals(1),), history_len=60
    )
    assert "history" not in to_json(Frame("run.jsonl", state))
    assert "history" not in to_json(Frame("run.jsonl", state), trend=False)


def test_json_with_trend_and_no_records_has_empty_lists() -> None:
    obj = to_json(Frame("run.jsonl", FoldState(history_len=60)), trend=True)
    assert obj["history"] == {name: [] for name in VALUE_FIELDS}
