"""Frames to the world: strict JSON, plain lines for a log, the bordered panel, the age."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from telemetry import EXAMPLE_COMPILE, EXAMPLE_LINES, EXAMPLE_VALUES, FRAME_KEYS

from value_diag.frame import NO_METRIC_HINT, Frame, unreported
from value_diag.options import ColorMode
from value_diag.render.frames import Renderer, age_style, age_text
from value_diag.render.jsonframe import to_json
from value_diag.render.styled import StyledText
from value_diag.render.terminal import can_encode_unicode, make_console
from value_diag.schema import CRITIC_FIELDS, VALUE_FIELDS
from value_diag.state import Compile, FoldState

INF = math.inf
NAN = math.nan

EXAMPLE = FoldState(values=EXAMPLE_VALUES, compile=EXAMPLE_COMPILE, records=3)


HEALTHY_VALUES = (0.9, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1)
HEALTHY_LINES = [
    "V-Corr    0.9↗      Bellman   4",
    "TD Mean   +1        TD Std    3",
    "Returns   p10:+10    p50:+30    p90:+50",
    "Ret σ     5         Skew      +0.1",
    "Compile   inductor:reduce-overhead ✓",
]


LEVELS = {"ok", "info", "warning", "critical", "no_data"}
STATUSES = {"ok", "warning", "critical", "no_data"}
VALUE_KEYS = {*VALUE_FIELDS, "return_spread"}


def strict_loads(s: str) -> Any:
    """``json.loads`` that refuses the NaN/Infinity tokens the stdlib would otherwise accept."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(s, parse_constant=refuse)


def record(console: Console) -> str:
    return console.export_text()


def plain_console(width: int) -> Console:
    return Console(width=width, record=True, file=io.StringIO(), color_system=None)


# --- JSON ------------------------------------------------------------------------------


def test_json_of_the_spec_example_is_exact() -> None:
    st_ = FoldState(
        values=EXAMPLE_VALUES,
        compile=EXAMPLE_COMPILE,
        records=3,
        bad_lines=1,
        last_error="line 2: invalid JSON",
    )
    got = strict_loads(Renderer().json_line(Frame("run.jsonl", st_)))
    assert got == {
        "source": "run.jsonl",
        "name": "run.jsonl",
        "step": None,
        "age_s": None,
        "stale": False,
        "records": 3,
        "bad_lines": 1,
        "last_error": "line 2: invalid JSON",
        "status": "warning",
        "value_function": {
            "v_return_correlation": {"value": 0.87, "level": "ok"},
            "td_error_mean": {"value": 2.4, "level": "ok"},
            "td_error_std": {"value": 8.1, "level": "info"},
            "bellman_error": {"value": 12.3, "level": "ok"},
            "return_p10": {"value": -12.0, "level": "info"},
            "return_p50": {"value": 34.0, "level": "info"},
            "return_p90": {"value": 78.0, "level": "info"},
            "return_variance": {"value": 201.64, "level": "warning"},
            "return_skewness": {"value": 0.3, "level": "ok"},
            "return_spread": {"value": 90.0, "level": "warning"},
        },
        "infrastructure": {
            "compile_enabled": True,
            "compile_backend": "inductor",
            "compile_mode": "reduce-overhead",
            "level": "ok",
        },
        "critic": {
            **{
                name: {"value": None, "level": "no_data"}
                for name in (*CRITIC_FIELDS, "value_span", "value_fit")
            },
            "calib": {"value": "ok", "level": "ok"},
        },
        "thresholds": "default",
        "rules": {"preset": "default", "why": "default", "warmup": 0, "persist": 1},
        "gate": {
            "level": "warning",
            "updates": 0,
            "held": 1,
            "warming_up": False,
            "why": None,
        },
        "hint": None,
        "note": None,
    }


def test_json_line_is_one_compact_ascii_line() -> None:
    line = Renderer().json_line(Frame("données/run.jsonl", EXAMPLE))
    assert "\n" not in line
    assert line.isascii()
    assert ": " not in line and ", " not in line
    assert strict_loads(line)["source"] == "données/run.jsonl"


def test_json_non_finite_values_are_strings() -> None:
    values = (NAN, INF, -INF, 12.3, INF, 0.0, INF, -1.0, NAN)
    line = Renderer().json_line(Frame("r", FoldState(values=values, records=1)))
    assert "NaN," not in line and "Infinity," not in line  # no bare tokens
    vf = strict_loads(line)["value_function"]
    assert {k: v["value"] for k, v in vf.items()} == {
        "v_return_correlation": "NaN",
        "td_error_mean": "Infinity",
        "td_error_std": "-Infinity",
        "bellman_error": 12.3,
        "return_p10": "Infinity",
        "return_p50": 0.0,
        "return_p90": "Infinity",
        "return_variance": -1.0,
        "return_skewness": "NaN",
        "return_spread": "NaN",  # inf - inf
    }
    assert {k: v["level"] for k, v in vf.items()} == {
        "v_return_correlation": "critical",
        "td_error_mean": "critical",
        "td_error_std": "critical",
        "bellman_error": "ok",
        "return_p10": "critical",
        "return_p50": "info",
        "return_p90": "critical",
        "return_variance": "critical",
        "return_skewness": "critical",
        "return_spread": "critical",
    }
    assert strict_loads(line)["status"] == "critical"


def test_json_of_an_empty_state_is_no_data() -> None:
    got = strict_loads(Renderer().json_line(Frame("-", FoldState())))
    assert got["status"] == "no_data"
    assert got["records"] == 0
    assert got["bad_lines"] == 0
    assert got["last_error"] is None
    assert {v["level"] for v in got["value_function"].values()} == {"no_data"}
    assert {v["value"] for v in got["value_function"].values()} == {None}
    assert got["infrastructure"] == {
        "compile_enabled": None,
        "compile_backend": None,
        "compile_mode": None,
        "level": "no_data",
    }
    assert got["hint"] == NO_METRIC_HINT


def test_json_bad_lines_only_is_still_no_data() -> None:
    st_ = FoldState(bad_lines=4, last_error="line 4: not a JSON object")
    got = strict_loads(Renderer().json_line(Frame("x", st_)))
    assert got["status"] == "no_data"
    assert (got["bad_lines"], got["last_error"]) == (4, "line 4: not a JSON object")


@pytest.mark.parametrize(
    ("compile_", "infrastructure", "status"),
    [
        (
            None,
            {
                "compile_enabled": None,
                "compile_backend": None,
                "compile_mode": None,
                "level": "no_data",
            },
            "warning",  # from the example's variance and spread, not from compile
        ),
        (
            Compile(False, "", ""),
            {
                "compile_enabled": False,
                "compile_backend": "",
                "compile_mode": "",
                "level": "warning",
            },
            "warning",
        ),
        (
            Compile(True, "", "max-autotune"),
            {
                "compile_enabled": True,
                "compile_backend": "",
                "compile_mode": "max-autotune",
                "level": "ok",
            },
            "warning",
        ),
    ],
)
def test_json_infrastructure(
    compile_: Compile | None, infrastructure: dict[str, Any], status: str
) -> None:
    st_ = FoldState(values=EXAMPLE_VALUES, compile=compile_, records=2)
    got = strict_loads(Renderer().json_line(Frame("x", st_)))
    assert got["infrastructure"] == infrastructure
    assert got["status"] == status


def test_json_eager_alone_makes_a_healthy_frame_warn() -> None:
    ok = FoldState(values=HEALTHY_VALUES, compile=Compile(True, "inductor", ""), records=1)
    eager = FoldState(values=HEALTHY_VALUES, compile=Compile(False, "", ""), records=1)
    assert strict_loads(Renderer().json_line(Frame("x", ok)))["status"] == "ok"
    assert strict_loads(Renderer().json_line(Frame("x", eager)))["status"] == "warning"


def test_json_unreported_values_are_not_judged() -> None:
    st_ = FoldState(values=None, compile=EXAMPLE_COMPILE, records=1)
    got = strict_loads(Renderer().json_line(Frame("x", st_)))
    assert {v["level"] for v in got["value_function"].values()} == {"no_data"}
    assert {v["value"] for v in got["value_function"].values()} == {None}, "never 0.0"
    assert got["infrastructure"]["level"] == "ok"
    assert got["status"] == "no_data", "the compile status alone judges no value metric"


def test_to_json_matches_json_line() -> None:
    frame = Frame("run.jsonl", EXAMPLE)
    assert strict_loads(Renderer().json_line(frame)) == strict_loads(
        json.dumps(to_json(frame), allow_nan=False)
    )


def check_schema(obj: Any) -> None:
    assert set(obj) == FRAME_KEYS
    assert isinstance(obj["source"], str)
    assert type(obj["records"]) is int and type(obj["bad_lines"]) is int
    assert obj["last_error"] is None or isinstance(obj["last_error"], str)
    assert obj["status"] in STATUSES
    assert set(obj["value_function"]) == VALUE_KEYS
    for entry in obj["value_function"].values():
        assert set(entry) - {"note"} == {"value", "level"}  # a note says why, if any
        assert isinstance(entry.get("note", ""), str)
        value = entry["value"]
        assert value in ("NaN", "Infinity", "-Infinity", None) or (
            type(value) in (int, float) and math.isfinite(value)
        )
        assert (value is None) == (entry["level"] == "no_data")
        assert entry["level"] in LEVELS
    infra = obj["infrastructure"]
    assert set(infra) == {"compile_enabled", "compile_backend", "compile_mode", "level"}
    if infra["level"] == "no_data":
        assert [infra[k] for k in ("compile_enabled", "compile_backend", "compile_mode")] == [
            None,
            None,
            None,
        ]
    else:
        assert type(infra["compile_enabled"]) is bool
        assert isinstance(infra["compile_backend"], str)
        assert isinstance(infra["compile_mode"], str)
    assert infra["level"] in LEVELS
    assert obj["hint"] is None or obj["hint"] == NO_METRIC_HINT
    assert set(obj["rules"]) == {"preset", "why", "warmup", "persist"}
    assert obj["gate"]["level"] in STATUSES
    assert set(obj["gate"]) == {"level", "updates", "held", "warming_up", "why"}


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=examples(150))
@given(
    values=st.none() | st.lists(ANY_FLOAT, min_size=9, max_size=9).map(tuple),
    compile_=st.none() | st.builds(Compile, st.booleans(), st.text(), st.text()),
    records=st.integers(0, 10**6),
    bad=st.integers(0, 10**6),
    last_error=st.none() | st.text(),
    source=st.text(),
)
def test_json_is_always_strict_and_follows_the_schema(
    values: tuple[float, ...] | None,
    compile_: Compile | None,
    records: int,
    bad: int,
    last_error: str | None,
    source: str,
) -> None:
    st_ = FoldState(
        values=values, compile=compile_, records=records, bad_lines=bad, last_error=last_error
    )
    line = Renderer().json_line(Frame(source, st_))
    assert line.isascii() and "\n" not in line
    obj = strict_loads(line)
    check_schema(obj)
    assert (obj["records"], obj["bad_lines"], obj["last_error"]) == (records, bad, last_error)
    if records == 0:
        assert obj["status"] == "no_data"
    if values is not None and records > 0 and not all(math.isfinite(v) for v in values):
        assert obj["status"] == "critical"


# --- plain -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("st_", "now", "header", "body"),
    [
        (
            EXAMPLE,
            None,
            "VALUE DIAGNOSTICS | warning: Ret σ, p90-p10 | run.jsonl | 3 records | 0 bad lines",
            EXAMPLE_LINES,
        ),
        (
            FoldState(
                values=EXAMPLE_VALUES,
                compile=EXAMPLE_COMPILE,
                records=1,
                bad_lines=1,
                last_error="line 2: invalid JSON",
                last_update=100.0,
            ),
            130.0,
            "VALUE DIAGNOSTICS | warning: Ret σ, p90-p10 | run.jsonl | 1 record | 1 bad line"
            " (last: line 2: invalid JSON) | updated 30s ago",
            EXAMPLE_LINES,
        ),
        (
            FoldState(values=HEALTHY_VALUES, compile=EXAMPLE_COMPILE, records=2, bad_lines=2),
            None,
            "VALUE DIAGNOSTICS | ok | run.jsonl | 2 records | 2 bad lines",
            HEALTHY_LINES,
        ),
    ],
)
def test_plain_is_a_header_then_the_five_lines(
    st_: FoldState, now: float | None, header: str, body: list[str]
) -> None:
    text = Renderer().plain(Frame("run.jsonl", st_), now)
    assert text.plain.split("\n") == [header, *body]


def test_plain_example_through_the_console() -> None:
    console = plain_console(80)
    console.print(Renderer().plain(Frame("run.jsonl", EXAMPLE)), soft_wrap=True)
    assert record(console).split("\n") == [
        "VALUE DIAGNOSTICS | warning: Ret σ, p90-p10 | run.jsonl | 3 records | 0 bad lines",
        *EXAMPLE_LINES,
        "",
    ]


def test_plain_without_data() -> None:
    text = Renderer().plain(Frame("run.jsonl", FoldState()))
    assert text.plain.split("\n") == [
        "VALUE DIAGNOSTICS | no data | run.jsonl | 0 records | 0 bad lines",
        "[no data]",
        NO_METRIC_HINT,
    ]


def test_plain_ascii() -> None:
    text = Renderer(ascii_only=True).plain(Frame("run.jsonl", EXAMPLE))
    assert text.plain.split("\n")[1:] == [
        "V-Corr    0.87^     Bellman   12.3",
        "TD Mean   +2.4      TD Std    8.1",
        "Returns   p10:-12    p50:+34    p90:+78 !",
        "Ret sigma 14.2!     Skew      +0.3",
        "Compile   inductor:reduce-overhead OK",
    ]
    assert text.plain.isascii()


def span_style(text: StyledText, needle: str) -> str:
    start = text.plain.index(needle)
    styles = [str(s.style) for s in text.spans if s.start == start and s.end == start + len(needle)]
    assert len(styles) == 1, (needle, text.spans)
    return styles[0]


@pytest.mark.parametrize(
    ("values", "compile_", "status", "style"),
    [
        (HEALTHY_VALUES, EXAMPLE_COMPILE, "ok", "green"),
        (EXAMPLE_VALUES, EXAMPLE_COMPILE, "warning", "yellow"),
        (
            (0.1, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1),
            EXAMPLE_COMPILE,
            "critical",
            "red bold",
        ),
    ],
)
def test_plain_status_word_is_styled(
    values: tuple[float, ...], compile_: Compile, status: str, style: str
) -> None:
    text = Renderer().plain(Frame("run.jsonl", FoldState(values, compile_, records=1)))
    assert text.plain.startswith(f"VALUE DIAGNOSTICS | {status}")
    assert span_style(text, status) == style


def rendered_style(text: StyledText, needle: str) -> Style:
    """The style a console actually draws ``needle`` in (base style and spans combined)."""
    console = Console(width=200, file=io.StringIO(), color_system="standard")
    segments = [seg for seg in text.to_rich().render(console) if seg.text == needle]
    assert len(segments) == 1, needle
    assert segments[0].style is not None
    return segments[0].style


def test_plain_keeps_the_panel_styles() -> None:
    text = Renderer().plain(Frame("run.jsonl", EXAMPLE))
    assert rendered_style(text, "12.3") == Style.parse("green")
    assert rendered_style(text, "0.87↗") == Style.parse("green bold")


def test_plain_title_is_bold() -> None:
    text = Renderer().plain(Frame("run.jsonl", EXAMPLE))
    console = Console(width=200, file=io.StringIO(), color_system="standard")
    first = next(iter(text.to_rich().render(console)))
    assert first.text.startswith("VALUE DIAGNOSTICS")
    assert first.style is not None and first.style.bold


def test_caption_source_is_cleaned() -> None:
    text = Renderer().plain(Frame("a\x1b[2Jb\x07.jsonl", EXAMPLE))
    assert text.plain.split("\n")[0].startswith(
        "VALUE DIAGNOSTICS | warning: Ret σ, p90-p10 | ab.jsonl | "
    )
    assert "\x1b" not in text.plain and "\x07" not in text.plain


def test_caption_last_error_and_note_are_cleaned() -> None:
    st_ = FoldState(values=EXAMPLE_VALUES, records=1, bad_lines=1, last_error="line 1: \x1b[31mx")
    text = Renderer().caption(Frame("f", st_, note="file \x9b2Jtruncated"))
    assert text.plain == "f · 1 record · 1 bad line (last: line 1: x) · file truncated"


# --- age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "updated 0s ago"),
        (3.9, "updated 3s ago"),
        (59.9, "updated 59s ago"),
        (60.0, "updated 1m00s ago"),
        (250.0, "updated 4m10s ago"),
        (3599.0, "updated 59m59s ago"),
        (3600.0, "updated 1h00m ago"),
        (7500.0, "updated 2h05m ago"),
        (-5.0, "updated 0s ago"),  # a clock that stepped back
    ],
)
def test_age_text(seconds: float, expected: str) -> None:
    assert age_text(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "style"),
    [
        (0.0, "dim"),
        (59.9, "dim"),
        (60.0, "yellow"),
        (299.9, "yellow"),
        (300.0, "red bold"),
        (86400.0, "red bold"),
    ],
)
def test_age_style(seconds: float, style: str) -> None:
    assert age_style(seconds) == style


@pytest.mark.parametrize(
    ("age", "needle", "style"),
    [
        (5.0, "updated 5s ago", "dim"),
        (90.0, "updated 1m30s ago", "yellow"),
        (400.0, "updated 6m40s ago", "red bold"),
    ],
)
def test_caption_age_uses_the_injected_clock(age: float, needle: str, style: str) -> None:
    st_ = FoldState(values=EXAMPLE_VALUES, records=1, last_update=1000.0)
    text = Renderer().caption(Frame("f", st_), now=1000.0 + age)
    assert text.plain.endswith(needle)
    assert span_style(text, needle) == style


def test_caption_without_clock_has_no_age() -> None:
    st_ = FoldState(values=EXAMPLE_VALUES, records=1, last_update=1000.0)
    assert "updated" not in Renderer().caption(Frame("f", st_)).plain


# --- boxed -----------------------------------------------------------------------------


def boxed_lines(
    st_: FoldState, width: int, *, ascii_only: bool = False, source: str = "run.jsonl"
) -> list[str]:
    console = plain_console(width)
    console.print(Renderer(ascii_only=ascii_only).boxed(Frame(source, st_)))
    return record(console).removesuffix("\n").split("\n")


BOX_STATE = FoldState(values=EXAMPLE_VALUES, compile=EXAMPLE_COMPILE, records=3, bad_lines=1)


@pytest.mark.parametrize("width", [80, 200])
def test_boxed_panel_has_title_caption_and_exact_body(width: int) -> None:
    got = boxed_lines(BOX_STATE, width)
    assert len(got) == 7
    assert all(cell_len(line) <= width for line in got)
    assert got[0].startswith("╭") and got[0].endswith("╮")
    assert " VALUE DIAGNOSTICS · warning: Ret σ, p90-p10 " in got[0]
    assert got[-1].startswith("╰") and got[-1].endswith("╯")
    assert "run.jsonl · 3 records · 1 bad line" in got[-1]
    for line, expected in zip(got[1:-1], EXAMPLE_LINES, strict=True):
        assert line.startswith("│ ") and line.endswith(" │")
        assert line[2:-2].rstrip() == expected
    # As wide as the screen, whatever it holds: a longer caption or title cannot move it.
    assert {cell_len(line) for line in got} == {width}


@pytest.mark.parametrize("width", [20, 30])
def test_boxed_panel_on_a_narrow_console_truncates_instead_of_wrapping(width: int) -> None:
    got = boxed_lines(BOX_STATE, width)
    assert len(got) == 7  # five body lines, none wrapped
    assert all(cell_len(line) <= width for line in got)
    labels = ["V-Corr", "TD Mean", "Returns", "Ret σ", "Compile"]
    for line, label in zip(got[1:-1], labels, strict=True):
        assert line.startswith(f"│ {label}")
        # The compile words lose their middle: the check mark, the verdict, stays.
        assert line.endswith("✓ │" if label == "Compile" else "… │")


def test_boxed_panel_with_a_huge_backend_stays_within_the_width() -> None:
    st_ = FoldState(
        values=EXAMPLE_VALUES, compile=Compile(True, "数据🚀" * 100, "x" * 300), records=1
    )
    got = boxed_lines(st_, 80)
    assert len(got) == 7
    assert all(cell_len(line) <= 80 for line in got)
    assert got[5].startswith("│ Compile   数据🚀")
    assert "…x" in got[5] and got[5].endswith(" ✓ │"), "cut in the middle, the ✓ kept"


def test_boxed_panel_with_a_long_source_stays_within_the_width() -> None:
    got = boxed_lines(BOX_STATE, 60, source="/very/long/" + "dir/" * 40 + "run.jsonl")
    assert len(got) == 7
    assert all(cell_len(line) <= 60 for line in got)


def test_boxed_ascii_panel_is_pure_ascii() -> None:
    st_ = FoldState(values=EXAMPLE_VALUES, compile=Compile(True, "数据", "🚀"), records=3)
    got = boxed_lines(st_, 80, ascii_only=True, source="données.jsonl")
    assert all(line.isascii() for line in got)
    assert got[0].startswith("+") and "VALUE DIAGNOSTICS" in got[0]
    assert got[1].startswith("| V-Corr    0.87^ ")
    assert "donn?es.jsonl | 3 records | 0 bad lines" in got[-1]


def test_boxed_no_data() -> None:
    got = boxed_lines(FoldState(), 80)
    assert len(got) == 4, "the hint is one line, cut to fit"
    assert got[1].startswith("│ [no data]")
    assert got[2].startswith("│ no line names a known metric (")
    assert "0 records" in got[-1]


def test_stacked_ascii_titles_are_ascii() -> None:
    console = plain_console(80)
    frames = [Frame("données/a.jsonl", EXAMPLE), Frame("b.jsonl", EXAMPLE)]
    console.print(Renderer(ascii_only=True).stacked(frames))
    out = record(console)
    assert "VALUE DIAGNOSTICS: b.jsonl" in out
    assert out.isascii()


def test_stacked_titles_each_panel_with_its_cleaned_source() -> None:
    console = plain_console(80)
    frames = [Frame("a\x1b[2J.jsonl", EXAMPLE), Frame("b.jsonl", FoldState())]
    console.print(Renderer().stacked(frames))
    out = record(console)
    assert " VALUE DIAGNOSTICS: a.jsonl " in out
    assert " VALUE DIAGNOSTICS: b.jsonl " in out
    assert "\x1b" not in out


# --- console set-up --------------------------------------------------------------------


def test_never_colour_console_prints_no_escape_and_no_markup() -> None:
    buf = io.StringIO()
    console = make_console(ColorMode.NEVER, file=buf, width=80)
    st_ = FoldState(
        values=EXAMPLE_VALUES, compile=Compile(True, "[red]x[/red]", ":smile:"), records=1
    )
    console.print(Renderer().boxed(Frame("[bold]f", st_)))
    out = buf.getvalue()
    assert "\x1b" not in out
    assert "│ Compile   [red]x[/red]::smile: ✓" in out
    assert "[bold]f · 1 record" in out


def test_always_colour_console_styles_the_panel() -> None:
    buf = io.StringIO()
    console = make_console(ColorMode.ALWAYS, file=buf, width=80)
    console.print(Renderer().boxed(Frame("f", EXAMPLE)))
    assert "\x1b[" in buf.getvalue()


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", True), ("ascii", False)])
def test_can_encode_unicode(encoding: str, expected: bool) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    assert can_encode_unicode(stream) is expected


@pytest.mark.parametrize(
    ("st_", "parts"),
    [
        (FoldState(), {"value_function", "infrastructure"}),
        (FoldState(values=EXAMPLE_VALUES, records=1), {"infrastructure"}),
        (FoldState(compile=EXAMPLE_COMPILE, records=1), {"value_function"}),
        (EXAMPLE, set()),
    ],
)
def test_unreported_parts(st_: FoldState, parts: set[str]) -> None:
    assert unreported(st_) == frozenset(parts)
