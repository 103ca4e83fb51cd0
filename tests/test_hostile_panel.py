"""panel.py against hostile numbers and names: a steady trend column, nothing invisible kept."""

from __future__ import annotations

from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from telemetry import EXAMPLE, EXAMPLE_VALUES

from value_diag.render.panel import GAP, TREND_COL, ValueDiagnosticsPanel
from value_diag.render.sanitize import MAX_STRING, clean, clean_name
from value_diag.schema import VALUE_FIELDS
from value_diag.state import Compile, FoldState, to_snapshot

HISTORY_LEN: Final = 12


def trend_columns(values: tuple[float, ...], ascii_only: bool) -> tuple[list[int], list[str]]:
    """Where each of lines 1-4's sparkline (its name first) starts, and the lines without
    trend."""
    history = [tuple(v * (1 + k / 10) for v in values) for k in range(HISTORY_LEN)]
    state = FoldState(values=values, compile=Compile(True, "inductor", "default"), records=12)

    def lines(trend: bool) -> list[str]:
        panel = ValueDiagnosticsPanel(ascii_only=ascii_only, trend=trend)
        panel.update_snapshot(to_snapshot(state), frozenset(), history)
        return panel.render().plain.split("\n")

    plain, with_trend = lines(False), lines(True)
    starts = []
    for k in range(4):
        assert with_trend[k].startswith(plain[k]), (with_trend[k], plain[k])
        rest = with_trend[k][len(plain[k]) :]
        starts.append(len(plain[k]) + len(rest) - len(rest.lstrip(" ")))
    return starts, plain


EXPONENTS: Final = [
    pytest.param({"return_p90": 1e12}, id="p90-1e12"),
    pytest.param({"return_p10": -1e12, "return_p50": -12345678.0}, id="p10-p50-wide"),
    pytest.param({"return_p90": -1.5e300, "return_p10": -1e300}, id="p90-1e300"),
    pytest.param({"v_return_correlation": -1.5e300}, id="corr-huge"),
    pytest.param({"return_variance": 1e300, "td_error_mean": -1e300}, id="sigma-td-huge"),
]


@pytest.mark.parametrize("changed", EXPONENTS)
@pytest.mark.parametrize("ascii_only", [False, True], ids=["unicode", "ascii"])
def test_exponent_numbers_keep_one_trend_column(
    changed: dict[str, float], ascii_only: bool
) -> None:
    values = tuple({**EXAMPLE, **changed}[name] for name in VALUE_FIELDS)
    columns, plain = trend_columns(values, ascii_only)
    assert len(set(columns)) == 1, (columns, plain)
    assert columns[0] >= TREND_COL
    assert all(columns[0] >= len(plain[k]) + GAP for k in range(4)), (columns, plain)


def test_the_usual_numbers_keep_the_trend_at_trend_col() -> None:
    columns, _ = trend_columns(EXAMPLE_VALUES, ascii_only=False)
    assert columns == [TREND_COL] * 4


NUMBERS: Final = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e12, -1e12, 1e300, -1.5e300, 123456789.0, -0.5, 5e-324]),
)


@given(st.tuples(*(NUMBERS for _ in VALUE_FIELDS)), st.booleans())
def test_any_numbers_keep_one_trend_column(values: tuple[float, ...], ascii_only: bool) -> None:
    columns, plain = trend_columns(values, ascii_only)
    assert len(set(columns)) == 1, (columns, plain)
    assert all(columns[0] >= len(plain[k]) + GAP for k in range(4)), (columns, plain)


# --- clean() -------------------------------------------------------------------------------

DEFAULT_IGNORABLE: Final = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]
"""Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt), written
out here: characters a terminal shows as nothing."""


@pytest.mark.parametrize(
    "char",
    ["\u3164", "\u115f", "\u1160", "\uffa0", "\u180e", "\u200b", "\u200f", "\u034f", "\ufe0f"],
)
@pytest.mark.parametrize("ascii_only", [False, True], ids=["unicode", "ascii"])
def test_invisible_characters_are_removed(char: str, ascii_only: bool) -> None:
    assert clean(f"run{char}.jsonl", ascii_only) == "run.jsonl"
    assert clean(char * 10) == ""


def test_every_default_ignorable_code_point_is_removed() -> None:
    kept = [
        f"U+{cp:04X}"
        for first, last in DEFAULT_IGNORABLE
        for cp in range(first, last + 1)
        if clean(chr(cp))
    ]
    assert kept == []


@pytest.mark.parametrize("char", ["\u2800", "\u3000", "é", "σ", "漢", "🚀"])
def test_visible_characters_are_kept(char: str) -> None:
    assert clean(f"a{char}b") == f"a{char}b"


def test_clean_without_a_limit_keeps_the_reason_at_the_end() -> None:
    message = "cannot read /tmp/" + "d" * 400 + ": No such file or directory"
    assert clean(message, limit=None) == message
    cut = clean(message)
    assert len(cut) <= MAX_STRING and cut.endswith("…"), "file strings are still cut by default"
    assert clean("\x1b[31m" + message + "\n", limit=None) == message


def test_clean_of_a_lone_surrogate_removes_it() -> None:
    assert clean("a\udcffb\ud800", limit=None) == "ab"


def test_a_long_run_name_loses_its_middle_not_its_file() -> None:
    trial = "PPO_CartPole-v1_5a1b2_00003_3_clip_param=0.2000,lr=0.0003_2026-11-30_16-53-38"
    name = "/mnt/shared/" + "experiments/" * 20 + trial + "/progress.jsonl"
    assert len(name) > MAX_STRING
    shown = clean_name(name)
    assert len(shown) == MAX_STRING and "…" in shown
    assert shown.startswith("/mnt/shared/") and shown.endswith(f"/{trial}/progress.jsonl")
    assert clean_name("\x1b[31m" + name + "\x07") == shown, "escapes removed before it is cut"
    assert clean_name(name, ascii_only=True).count("...") == 1


@given(st.text(max_size=600), st.booleans())
def test_a_run_name_is_shown_whole_when_it_fits(name: str, ascii_only: bool) -> None:
    whole = clean(name, ascii_only, limit=None)
    shown = clean_name(name, ascii_only)
    if cell_len(whole) <= MAX_STRING:
        assert shown == whole
    assert cell_len(shown) <= MAX_STRING
