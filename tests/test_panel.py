"""The VALUE DIAGNOSTICS panel: exact text at a fixed width, styles, hostile input, --ascii."""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console, Group
from rich.text import Text
from telemetry import EXAMPLE, EXAMPLE_COMPILE, EXAMPLE_LINES

from value_diag.render.panel import GAP, LABEL_W, VAL_W, ValueDiagnosticsPanel
from value_diag.render.words import format_number
from value_diag.schema import VALUE_FIELDS
from value_diag.state import Compile, FoldState, to_snapshot

INF = math.inf
NAN = math.nan

EXAMPLE_LINES_ASCII = [
    "V-Corr    0.87^     Bellman   12.3",
    "TD Mean   +2.4      TD Std    8.1",
    "Returns   p10:-12    p50:+34    p90:+78 !",
    "Ret sigma 14.2!     Skew      +0.3",
    "Compile   inductor:reduce-overhead OK",
]

RIGHT_COLUMN = LABEL_W + VAL_W + GAP  # where "Bellman", "TD Std" and "Skew" start


def state(
    compile_: Compile | None = EXAMPLE_COMPILE,
    *,
    values: Mapping[str, float] | None = None,
    **overrides: float,
) -> FoldState:
    """A folded state: ``values`` (default: the spec's example) with ``overrides``."""
    merged = dict(EXAMPLE if values is None else values)
    merged.update(overrides)
    assert set(merged) == set(VALUE_FIELDS), "a misspelt metric name"
    return FoldState(
        values=tuple(float(merged[name]) for name in VALUE_FIELDS), compile=compile_, records=1
    )


def patched(overrides: Mapping[str, float]) -> FoldState:
    """The spec's example with ``overrides``."""
    return state(values={**EXAMPLE, **overrides})


def panel_text(
    st_: FoldState | None,
    *,
    ascii_only: bool = False,
    unreported: frozenset[str] = frozenset(),
) -> Text:
    panel = ValueDiagnosticsPanel(ascii_only=ascii_only)
    if st_ is not None:
        panel.update_snapshot(to_snapshot(st_), unreported)
    return panel.render()


def export(text: Text, width: int = 80, *, as_renderable: bool = False) -> str:
    """What a console of ``width`` columns prints, without colour.

    ``Console.print`` joins bare ``Text`` arguments into a new ``Text`` (losing ``no_wrap``
    and ``overflow``); the app always draws the panel as a renderable (inside a ``Panel``),
    which ``as_renderable`` reproduces with a ``Group``.
    """
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(Group(text) if as_renderable else text)
    return console.export_text()


def split_lines(out: str) -> list[str]:
    """Console output as lines (a final newline, if any, ends the last line)."""
    return out.removesuffix("\n").split("\n")


def lines(
    st_: FoldState | None,
    *,
    ascii_only: bool = False,
    unreported: frozenset[str] = frozenset(),
    width: int = 80,
) -> list[str]:
    out = export(panel_text(st_, ascii_only=ascii_only, unreported=unreported), width)
    assert out.endswith("\n")
    return out[:-1].split("\n")


# --- layout ----------------------------------------------------------------------------


def test_spec_example_is_exact() -> None:
    assert lines(state()) == EXAMPLE_LINES


def test_spec_example_ascii_is_exact() -> None:
    assert lines(state(), ascii_only=True) == EXAMPLE_LINES_ASCII


def test_layout_constants() -> None:
    assert (LABEL_W, VAL_W, GAP) == (10, 8, 2)


@pytest.mark.parametrize(
    ("overrides", "row", "expected"),
    [
        # V-Corr: three significant digits and the trend icon (↗ >= 0.8, → >= 0.3, ↘ below).
        ({"v_return_correlation": 1.0}, 0, "V-Corr    1↗        Bellman   12.3"),
        ({"v_return_correlation": 0.8}, 0, "V-Corr    0.8↗      Bellman   12.3"),
        ({"v_return_correlation": 0.79}, 0, "V-Corr    0.79→     Bellman   12.3"),
        ({"v_return_correlation": 0.5}, 0, "V-Corr    0.5→      Bellman   12.3"),
        ({"v_return_correlation": 0.3}, 0, "V-Corr    0.3→!     Bellman   12.3"),
        ({"v_return_correlation": 0.29}, 0, "V-Corr    0.29↘‼    Bellman   12.3"),
        ({"v_return_correlation": -0.45}, 0, "V-Corr    -0.45↘‼   Bellman   12.3"),
        ({"v_return_correlation": 0.0}, 0, "V-Corr    0↘‼       Bellman   12.3"),
        ({"v_return_correlation": 0.8347}, 0, "V-Corr    0.835↗    Bellman   12.3"),
        # Bellman, the last value of its line (no trailing gap).
        ({"bellman_error": 0.0}, 0, "V-Corr    0.87↗     Bellman   0"),
        ({"bellman_error": 49.96}, 0, "V-Corr    0.87↗     Bellman   50!"),
        ({"bellman_error": 1234.5}, 0, "V-Corr    0.87↗     Bellman   1234‼"),
        ({"bellman_error": 0.000312}, 0, "V-Corr    0.87↗     Bellman   0.000312"),
        # TD mean always signed (but 0 is never -0, nor +0); small values keep their digits.
        ({"td_error_mean": -2.4}, 1, "TD Mean   -2.4      TD Std    8.1"),
        ({"td_error_mean": 0.0}, 1, "TD Mean   0         TD Std    8.1"),
        ({"td_error_mean": -0.0}, 1, "TD Mean   0         TD Std    8.1"),
        ({"td_error_mean": -0.004}, 1, "TD Mean   -0.004    TD Std    8.1"),
        (
            {"td_error_mean": -0.0412, "td_error_std": 0.0123},
            1,
            "TD Mean   -0.0412   TD Std    0.0123",
        ),
        ({"td_error_mean": -15.0, "td_error_std": 0.04}, 1, "TD Mean   -15‼      TD Std    0.04"),
        ({"td_error_mean": 123.45}, 1, "TD Mean   +123‼     TD Std    8.1"),
        # p10/p50: signed, padded to 6 and a space; p90 unpadded; ⚠ only when p90 - p10 > 50.
        (
            {"return_p10": 0.0, "return_p50": 25.0, "return_p90": 50.0},
            2,
            "Returns   p10:0      p50:+25    p90:+50",
        ),
        (
            {"return_p10": 0.0, "return_p50": 25.0, "return_p90": 50.5},
            2,
            "Returns   p10:0      p50:+25    p90:+50.5 ⚠",
        ),
        (
            {"return_p10": -5.0, "return_p50": -3.0, "return_p90": -1.0},
            2,
            "Returns   p10:-5     p50:-3     p90:-1",
        ),
        (  # normalised returns: three digits, not p10:-1 p50:-0 p90:+1
            {"return_p10": -0.853, "return_p50": -0.0412, "return_p90": 0.912},
            2,
            "Returns   p10:-0.853 p50:-0.041 p90:+0.912",
        ),
        (
            {"return_p10": -0.004, "return_p50": -0.00004, "return_p90": 0.004},
            2,
            "Returns   p10:-0.004 p50:-4e-5  p90:+0.004",
        ),
        (
            {"return_p10": -1234.0, "return_p50": 1234.0, "return_p90": 99999.0},
            2,
            "Returns   p10:-1234  p50:+1234  p90:+99999 ⚠",
        ),
        (
            {"return_p10": -123456.0, "return_p50": 1234567.0, "return_p90": 1e9},
            2,
            "Returns   p10:-1.2e5 p50:+1.2e6 p90:+1e9 ⚠",
        ),
        (
            {"return_p10": 10.0, "return_p50": 20.0, "return_p90": 60.0},
            2,
            "Returns   p10:+10    p50:+20    p90:+60",
        ),
        # Ret sigma = sqrt(variance); skew signed.
        ({"return_variance": 0.0}, 3, "Ret σ     0         Skew      +0.3"),
        ({"return_variance": 2.25}, 3, "Ret σ     1.5       Skew      +0.3"),
        ({"return_variance": 100.0}, 3, "Ret σ     10        Skew      +0.3"),
        ({"return_variance": 1e6}, 3, "Ret σ     1000!     Skew      +0.3"),
        ({"return_variance": 1e-6}, 3, "Ret σ     0.001     Skew      +0.3"),
        ({"return_skewness": -1.5}, 3, "Ret σ     14.2!     Skew      -1.5!"),
        ({"return_skewness": 0.0}, 3, "Ret σ     14.2!     Skew      0"),
        ({"return_skewness": -0.0004}, 3, "Ret σ     14.2!     Skew      -0.0004"),
    ],
)
def test_line_formats(overrides: dict[str, float], row: int, expected: str) -> None:
    assert lines(patched(overrides))[row] == expected


@pytest.mark.parametrize(
    ("compile_", "expected"),
    [
        (EXAMPLE_COMPILE, "Compile   inductor:reduce-overhead ✓"),
        (Compile(True, "", ""), "Compile   inductor:default ✓"),
        (Compile(True, "", "max-autotune"), "Compile   inductor:max-autotune ✓"),
        (Compile(True, "aot_eager", ""), "Compile   aot_eager:default ✓"),
        (Compile(False, "", ""), "Compile   EAGER! (3-5x slower)"),
        (Compile(False, "inductor", "max-autotune"), "Compile   EAGER! (3-5x slower)"),
    ],
)
def test_compile_line(compile_: Compile, expected: str) -> None:
    assert lines(state(compile_))[4] == expected


def test_no_data_before_any_snapshot() -> None:
    text = panel_text(None)
    assert text.plain == "[no data]"
    assert text.style == "dim"
    assert export(text) == "[no data]\n"


def test_no_data_again_after_a_none_snapshot() -> None:
    panel = ValueDiagnosticsPanel()
    panel.update_snapshot(to_snapshot(state()))
    assert panel.render().plain.startswith("V-Corr")
    panel.update_snapshot(None)
    assert panel.render().plain == "[no data]"


def test_no_data_text_is_a_fresh_copy() -> None:
    panel = ValueDiagnosticsPanel()
    first = panel.render()
    first.append(" mutated")
    assert panel.render().plain == "[no data]"


def test_render_follows_the_latest_snapshot() -> None:
    panel = ValueDiagnosticsPanel()
    panel.update_snapshot(to_snapshot(state(bellman_error=1.0)))
    panel.update_snapshot(to_snapshot(state(bellman_error=2.0)))
    assert "Bellman   2\n" in panel.render().plain


# --- styles ----------------------------------------------------------------------------


def style_of(text: Text, needle: str) -> str:
    """The style of the one span that covers exactly the only occurrence of ``needle``
    (or its only occurrence as a whole cell, between spaces: "50" is not "p50")."""
    plain = text.plain
    found = [m.start() for m in re.finditer(re.escape(needle), plain)]
    if len(found) > 1:
        found = [m.start() for m in re.finditer(rf"(?<!\S){re.escape(needle)}(?!\S)", plain)]
    assert len(found) == 1, (needle, plain)
    start = found[0]
    end = start + len(needle)
    styles = [str(s.style) for s in text.spans if s.start == start and s.end == end]
    assert len(styles) == 1, (needle, text.spans)
    return styles[0]


@pytest.mark.parametrize(
    ("overrides", "needle", "style"),
    [
        ({"v_return_correlation": 0.87}, "0.87↗", "green bold"),
        ({"v_return_correlation": 0.8}, "0.8↗", "green bold"),
        ({"v_return_correlation": 0.79}, "0.79→", "green"),
        ({"v_return_correlation": 0.5}, "0.5→", "green"),
        ({"v_return_correlation": 0.49}, "0.49→!", "yellow"),
        ({"v_return_correlation": 0.3}, "0.3→!", "yellow"),
        ({"v_return_correlation": 0.29}, "0.29↘‼", "red bold"),
        ({"td_error_mean": 4.9}, "+4.9", "green"),
        ({"td_error_mean": -4.9}, "-4.9", "green"),
        ({"td_error_mean": 5.0}, "+5!", "yellow"),
        ({"td_error_mean": -14.9}, "-14.9!", "yellow"),
        ({"td_error_mean": 15.0}, "+15‼", "red bold"),
        ({"td_error_mean": -15.0}, "-15‼", "red bold"),
        ({"bellman_error": 19.9}, "19.9", "green"),
        ({"bellman_error": 20.0}, "20!", "yellow"),
        ({"bellman_error": 49.9}, "49.9!", "yellow"),
        ({"bellman_error": 50.0}, "50‼", "red bold"),
        ({"return_p10": -12.0}, "p10:-12", "red"),
        ({"return_p10": 0.0, "return_p90": 40.0}, "p10:0", "green"),
        ({"return_p50": -1.0}, "p50:-1", "red"),
        ({"return_p50": 34.0}, "p50:+34", "green"),
        ({"return_p90": -3.0, "return_p10": -20.0}, "p90:-3", "red"),
        ({"return_p90": 78.0}, "p90:+78", "green"),
        ({}, " ⚠", "yellow"),
        ({"return_variance": 100.0}, "10", "cyan"),
        ({"return_variance": 100.0001}, "10!", "yellow"),
        ({"return_variance": 14.2**2}, "14.2!", "yellow"),
        ({"return_skewness": 0.9}, "+0.9", "cyan"),
        ({"return_skewness": -0.9}, "-0.9", "cyan"),
        ({"return_skewness": 1.0}, "+1!", "yellow"),
        ({"return_skewness": -1.9}, "-1.9!", "yellow"),
        ({"return_skewness": 2.0}, "+2‼", "red bold"),
        ({"return_skewness": -2.0}, "-2‼", "red bold"),
        ({"td_error_std": 8.1}, "8.1", ""),
    ],
)
def test_value_styles(overrides: dict[str, float], needle: str, style: str) -> None:
    text = panel_text(patched(overrides))
    if style:
        assert style_of(text, needle) == style
    else:
        start = text.plain.index(needle)
        assert [s for s in text.spans if s.start <= start < s.end and s.style] == []


def test_labels_are_dim() -> None:
    text = panel_text(state())
    for label in ("V-Corr    ", "Bellman   ", "TD Mean   ", "TD Std    ", "Returns   "):
        assert style_of(text, label) == "dim"
    assert style_of(text, "Ret σ     ") == "dim"


def test_compile_styles() -> None:
    text = panel_text(state())
    assert style_of(text, "inductor:reduce-overhead") == "green"
    assert style_of(text, " ✓") == "green bold"
    eager = panel_text(state(Compile(False, "", "")))
    assert style_of(eager, "EAGER!") == "red bold reverse"
    assert style_of(eager, " (3-5x slower)") == "dim"


def test_no_spread_icon_at_exactly_50() -> None:
    text = panel_text(state(return_p10=0.0, return_p90=50.0))
    assert "⚠" not in text.plain


# --- non-finite and extreme values -----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "row", "expected_line", "needle"),
    [
        ({"v_return_correlation": NAN}, 0, "V-Corr    NaN↘‼     Bellman   12.3", "NaN↘‼"),
        ({"v_return_correlation": INF}, 0, "V-Corr    Inf↘‼     Bellman   12.3", "Inf↘‼"),
        ({"bellman_error": INF}, 0, "V-Corr    0.87↗     Bellman   Inf‼", "Inf‼"),
        ({"bellman_error": NAN}, 0, "V-Corr    0.87↗     Bellman   NaN‼", "NaN‼"),
        ({"td_error_mean": -INF}, 1, "TD Mean   -Inf‼     TD Std    8.1", "-Inf‼"),
        ({"td_error_std": NAN}, 1, "TD Mean   +2.4      TD Std    NaN‼", "NaN‼"),
        ({"td_error_std": INF}, 1, "TD Mean   +2.4      TD Std    Inf‼", "Inf‼"),
        ({"return_p10": NAN}, 2, "Returns   p10:NaN‼   p50:+34    p90:+78 ⚠", "p10:NaN‼"),
        ({"return_p50": -INF}, 2, "Returns   p10:-12    p50:-Inf‼  p90:+78 ⚠", "p50:-Inf‼"),
        ({"return_p90": NAN}, 2, "Returns   p10:-12    p50:+34    p90:NaN‼ ⚠", "p90:NaN‼"),
        ({"return_variance": NAN}, 3, "Ret σ     NaN‼      Skew      +0.3", "NaN‼"),
        ({"return_variance": INF}, 3, "Ret σ     Inf‼      Skew      +0.3", "Inf‼"),
        ({"return_variance": -1.0}, 3, "Ret σ     NaN‼      Skew      +0.3", "NaN‼"),
        ({"return_variance": -INF}, 3, "Ret σ     NaN‼      Skew      +0.3", "NaN‼"),
        ({"return_skewness": -INF}, 3, "Ret σ     14.2!     Skew      -Inf‼", "-Inf‼"),
    ],
)
def test_non_finite_values_print_as_words_in_red_bold(
    overrides: dict[str, float], row: int, expected_line: str, needle: str
) -> None:
    assert lines(patched(overrides))[row] == expected_line
    assert style_of(panel_text(patched(overrides)), needle) == "red bold"


def test_nan_spread_is_critical_not_a_calm_colour() -> None:
    text = panel_text(state(return_p10=INF, return_p90=INF))  # inf - inf = nan
    assert style_of(text, " ⚠") == "red bold"
    assert style_of(text, "p10:Inf‼") == "red bold"


def test_negative_variance_never_prints_a_complex_number() -> None:
    out = "\n".join(lines(state(return_variance=-4.0)))
    assert "j" not in out
    assert "2.0" not in out  # sqrt(|-4|) must not leak through either


@pytest.mark.parametrize(
    ("overrides", "row", "expected"),
    [
        ({"bellman_error": 1e308}, 0, "V-Corr    0.87↗     Bellman   1e308‼"),
        ({"td_error_mean": 1e308}, 1, "TD Mean   +1e308‼   TD Std    8.1"),
        ({"td_error_mean": -1.5e308}, 1, "TD Mean   -2e308‼   TD Std    8.1"),
        ({"td_error_mean": 123456.7}, 1, "TD Mean   +123457‼  TD Std    8.1"),
        ({"td_error_mean": 123456789.0}, 1, "TD Mean   +1.23e8‼  TD Std    8.1"),
        ({"td_error_std": 1e308}, 1, "TD Mean   +2.4      TD Std    1e308"),
        ({"v_return_correlation": -1234.5}, 0, "V-Corr    -1234↘‼   Bellman   12.3"),
        ({"v_return_correlation": 1e308}, 0, "V-Corr    1e308↘‼   Bellman   12.3"),
        ({"return_variance": 1e308}, 3, "Ret σ     1e154!    Skew      +0.3"),
        ({"return_skewness": -1e308}, 3, "Ret σ     14.2!     Skew      -1e308‼"),
    ],
)
def test_huge_values_stay_compact(overrides: dict[str, float], row: int, expected: str) -> None:
    assert lines(patched(overrides))[row] == expected


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=examples(150))
@given(values=st.lists(ANY_FLOAT, min_size=9, max_size=9), ascii_only=st.booleans())
def test_columns_stay_aligned_for_any_value(values: list[float], ascii_only: bool) -> None:
    got = lines(state(values=dict(zip(VALUE_FIELDS, values, strict=True))), ascii_only=ascii_only)
    assert len(got) == 5
    rows = [
        (0, "V-Corr", "Bellman"),
        (1, "TD Mean", "TD Std"),
        (3, "Ret sigma" if ascii_only else "Ret σ", "Skew"),
    ]
    for row, left, right in rows:
        line = got[row]
        assert line[:LABEL_W] == left.ljust(LABEL_W)
        value = line[LABEL_W : LABEL_W + VAL_W]
        assert value[:1] != " " and " " not in value.rstrip()
        assert line[LABEL_W + VAL_W : RIGHT_COLUMN] == " " * GAP
        assert line[RIGHT_COLUMN : RIGHT_COLUMN + LABEL_W] == right.ljust(LABEL_W)
        assert " " not in line[RIGHT_COLUMN + LABEL_W :]
        assert line[RIGHT_COLUMN + LABEL_W :] != ""
    assert got[2].startswith("Returns   p10:")
    assert re.fullmatch(r"Returns   p10:\S+ +p50:\S+ +p90:\S+( [⚠!])?", got[2])
    assert "j" not in "".join(got)


# --- strings from the file -------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "mode", "expected"),
    [
        ("[red]x[/red]", "[bold]m", "Compile   [red]x[/red]:[bold]m ✓"),
        (":smile:", "default", "Compile   :smile::default ✓"),
        ("\x1b]52;c;aGVsbG8=\x07inductor", "default", "Compile   inductor:default ✓"),
        ("\x1b]52;c;aGVsbG8=\x1b\\inductor", "default", "Compile   inductor:default ✓"),
        ("\x1b[31minductor\x1b[0m", "max\x1b[2J-autotune", "Compile   inductor:max-autotune ✓"),
        ("\x9b31minductor", "default", "Compile   inductor:default ✓"),
        ("in\x07duc\x08tor", "de\x7ffault", "Compile   inductor:default ✓"),
        ("induc\x85tor\x9d", "default", "Compile   inductor:default ✓"),
        ("\u202einductor\u202c", "\u2066default\u2069", "Compile   inductor:default ✓"),
        ("induc\u200btor", "de\ufefffault", "Compile   inductor:default ✓"),
        ("in\nductor", "de\r\nfault\tx", "Compile   inductor:defaultx ✓"),
        ("in\u2028duc\u2029tor", "default", "Compile   inductor:default ✓"),
        ("\x1b", "\x00", "Compile   inductor:default ✓"),
        ("数据", "🚀", "Compile   数据:🚀 ✓"),
    ],
)
def test_file_strings_are_shown_literally_without_controls(
    backend: str, mode: str, expected: str
) -> None:
    got = lines(state(Compile(True, backend, mode)))
    assert got[:4] == EXAMPLE_LINES[:4]
    assert got[4:] == [expected]


def test_markup_in_backend_is_literal_even_on_a_markup_console() -> None:
    console = Console(width=80, record=True, file=io.StringIO(), color_system=None, markup=True)
    console.print(panel_text(state(Compile(True, "[red]x[/red]", "[/]"))))
    assert "Compile   [red]x[/red]:[/] ✓" in console.export_text()


HOSTILE = (
    "\x1b]52;c;aGVsbG8=\x07\x1b[31mred\x1b[0m\x1b[2J\x1b]0;title\x1b\\"
    "\x07\x08\x9b1m\x85\u202e\u2066\u200f\r\n\t\x00"
)


def test_hostile_strings_leave_no_control_character_in_output() -> None:
    out = export(panel_text(state(Compile(True, HOSTILE, HOSTILE))), as_renderable=True)
    assert len(split_lines(out)) == 5
    bad = [ch for ch in out if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]
    assert bad == []
    assert "\x1b" not in out


def test_hostile_strings_with_colour_leave_only_richs_own_styling() -> None:
    console = Console(width=80, file=io.StringIO(), color_system="truecolor", force_terminal=True)
    console.print(panel_text(state(Compile(True, HOSTILE, HOSTILE))))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in out  # colour is on
    remaining = re.sub(r"\x1b\[[0-9;]*m", "", out)
    bad = [ch for ch in remaining if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]
    assert bad == []


@settings(max_examples=examples(150))
@given(backend=st.text(), mode=st.text(), ascii_only=st.booleans())
def test_any_backend_string_keeps_five_clean_lines(
    backend: str, mode: str, ascii_only: bool
) -> None:
    text = panel_text(state(Compile(True, backend, mode)), ascii_only=ascii_only)
    out = export(text, as_renderable=True)
    assert len(split_lines(out)) == 5
    assert "\x1b" not in out
    assert [ch for ch in out if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")] == []
    if ascii_only:
        assert out.isascii()


@pytest.mark.parametrize("width", [30, 40, 80])
@pytest.mark.parametrize(
    "backend", ["x" * 300, "数据" * 150, "🚀" * 120, "b" * 79, "[red]" * 40 + "\x1b[31m" * 40]
)
def test_long_backend_is_truncated_with_ellipsis_to_the_width(backend: str, width: int) -> None:
    out = export(panel_text(state(Compile(True, backend, "default"))), width, as_renderable=True)
    got = split_lines(out)
    assert len(got) == 5
    assert all(cell_len(line) <= width for line in got)
    assert got[4].startswith("Compile   ")
    assert got[4].rstrip().endswith("…")
    assert "✓" not in got[4]


def test_short_backend_is_not_truncated() -> None:
    backend = "b" * 40  # "Compile   " + 40 + ":default ✓" = 60 columns
    out = export(panel_text(state(Compile(True, backend, "default"))), 80, as_renderable=True)
    assert out.split("\n")[4] == f"Compile   {backend}:default ✓"


# --- --ascii ---------------------------------------------------------------------------

GLYPHS = {"↗": "^", "→": "->", "↘": "v", "⚠": "!", "✓": "OK", "—": "-", "‼": "!!"}


@pytest.mark.parametrize(
    ("overrides", "unicode_cell", "ascii_cell"),
    [
        ({"v_return_correlation": 0.92}, "0.92↗", "0.92^"),
        ({"v_return_correlation": 0.6}, "0.6→", "0.6->"),
        ({"v_return_correlation": 0.3}, "0.3→", "0.3->"),
        ({"v_return_correlation": 0.1}, "0.1↘", "0.1v"),
        # The alarm glyphs: "!" a warning, "‼" ("!!") critical, beside the icon.
        ({"v_return_correlation": 0.4}, "0.4→! ", "0.4->! "),
        ({"v_return_correlation": 0.1}, "0.1↘‼ ", "0.1v!! "),
        ({"v_return_correlation": -0.45}, "-0.45↘‼ ", "-0.45v!!"),
        ({"v_return_correlation": -1e308}, "-1e308↘‼ ", "-1e308!!"),  # no room for v
        ({"td_error_mean": -7.5, "bellman_error": 80.0}, "-7.5! ", "-7.5! "),
        ({"bellman_error": 80.0}, "Bellman   80‼", "Bellman   80!!"),
        ({"v_return_correlation": NAN}, "NaN↘", "NaNv"),
        ({}, "p90:+78 ⚠", "p90:+78 !"),
        ({}, "inductor:reduce-overhead ✓", "inductor:reduce-overhead OK"),
    ],
)
def test_ascii_glyphs(overrides: dict[str, float], unicode_cell: str, ascii_cell: str) -> None:
    assert unicode_cell in panel_text(patched(overrides)).plain
    ascii_plain = panel_text(patched(overrides), ascii_only=True).plain
    assert ascii_cell in ascii_plain
    assert ascii_plain.isascii()


@pytest.mark.parametrize(
    ("st_", "unreported"),
    [
        (state(), frozenset()),
        (state(v_return_correlation=0.6, return_p90=10.0), frozenset()),
        (state(v_return_correlation=0.1, return_variance=-1.0), frozenset()),
        (state(Compile(False, "", "")), frozenset()),
        (state(None), frozenset({"infrastructure"})),
        (state(), frozenset({"value_function"})),
    ],
)
def test_ascii_changes_nothing_but_glyphs(st_: FoldState, unreported: frozenset[str]) -> None:
    uni = lines(st_, unreported=unreported)
    asc = lines(st_, ascii_only=True, unreported=unreported)
    assert len(uni) == len(asc) == 5
    for u, a in zip(uni, asc, strict=True):
        mapped = u.replace("Ret σ", "Ret sigma")
        for glyph, replacement in GLYPHS.items():
            mapped = mapped.replace(glyph, replacement)
        assert a.split() == mapped.split()
        assert a.isascii()
    for row in (0, 1, 3):  # the right-hand column does not move
        assert asc[row][RIGHT_COLUMN:] == uni[row][RIGHT_COLUMN:].replace("—", "-")


@pytest.mark.parametrize(
    ("backend", "mode"),
    [
        ("数据", "🚀"),
        ("inductör", "máx-autotune"),
        ("\u202e\u200d👨‍👩‍👧", "—…σ"),
        ("数" * 400, "x"),
    ],
)
def test_ascii_output_is_pure_ascii_for_any_backend(backend: str, mode: str) -> None:
    text = panel_text(state(Compile(True, backend, mode)), ascii_only=True)
    assert text.plain.isascii()
    out = export(text, as_renderable=True)
    assert out.isascii()
    assert out.split("\n")[4].startswith("Compile   ")


def test_ascii_no_data_is_ascii() -> None:
    assert panel_text(None, ascii_only=True).plain == "[no data]"


# --- parts not reported ----------------------------------------------------------------


def test_unreported_infrastructure_shows_not_reported() -> None:
    text = panel_text(state(None), unreported=frozenset({"infrastructure"}))
    assert split_lines(export(text)) == [*EXAMPLE_LINES[:4], "Compile   not reported"]
    assert style_of(text, "not reported") == "dim"


def test_unreported_infrastructure_hides_an_eager_default() -> None:
    # The snapshot's default is compile_enabled=False; unreported must not say EAGER.
    text = panel_text(state(Compile(False, "", "")), unreported=frozenset({"infrastructure"}))
    assert "EAGER" not in text.plain
    assert text.plain.endswith("Compile   not reported")


UNREPORTED_VALUES = [
    "V-Corr    —         Bellman   —",
    "TD Mean   —         TD Std    —",
    "Returns   p10:—      p50:—      p90:—",
    "Ret σ     —         Skew      —",
]


@pytest.mark.parametrize(
    ("unreported", "ascii_only", "expected"),
    [
        (
            frozenset({"value_function"}),
            False,
            [*UNREPORTED_VALUES, "Compile   inductor:reduce-overhead ✓"],
        ),
        (
            frozenset({"value_function", "infrastructure"}),
            False,
            [*UNREPORTED_VALUES, "Compile   not reported"],
        ),
        (
            frozenset({"value_function", "infrastructure"}),
            True,
            [
                "V-Corr    -         Bellman   -",
                "TD Mean   -         TD Std    -",
                "Returns   p10:-      p50:-      p90:-",
                "Ret sigma -         Skew      -",
                "Compile   not reported",
            ],
        ),
    ],
)
def test_unreported_values_show_placeholders(
    unreported: frozenset[str], ascii_only: bool, expected: list[str]
) -> None:
    # NaN would be critical if judged: the placeholders prove they are not.
    nan_state = state(values=dict.fromkeys(VALUE_FIELDS, NAN))
    text = panel_text(nan_state, ascii_only=ascii_only, unreported=unreported)
    assert split_lines(export(text)) == expected
    assert "red bold" not in {str(s.style) for s in text.spans}


# --- numbers ------------------------------------------------------------------------------


@settings(max_examples=examples(300))
@given(
    x=st.floats(allow_nan=False, allow_infinity=False),
    signed=st.booleans(),
    width=st.integers(5, 12),
)
def test_a_number_keeps_its_sign_its_digits_and_its_width(
    x: float, signed: bool, width: int
) -> None:
    text = format_number(x, signed, width)
    assert text != "-0" and not text.startswith(("-0e", "+0e")), text
    if text == "0":  # only zero, or a number under one with no digit room in ``width``
        assert x == 0 or (abs(x) < 1 and len(format_number(x, signed, 12)) > width)
        return
    shown, exact = Decimal(text), Decimal(x)  # "2e308" is more than a float holds
    assert (shown > 0) == (x > 0) and text.startswith("+") == (signed and x > 0), (x, text)
    assert abs(shown - exact) <= abs(exact) / 2, (x, text)
    if len(text) > width:  # too large for the width even with one digit: its exponent
        assert abs(x) >= 1 and "e" in text
    if width >= 8 and 1e-3 <= abs(x) < 1e7:
        assert abs(shown - exact) <= abs(exact) / 200, ("three significant digits", x, text)
