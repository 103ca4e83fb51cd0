"""Properties over any input: the fold does not care how lines arrive, and frames always fit.

test_fold.py checks batching over parsed lines and test_parallel.py the parallel path on a few
generated logs; here the input is raw bytes of every kind (three shapes, bad lines of every
kind, foreign and blank lines, NaN tokens, CRLF, BOM), and the whole state is compared.
test_panel.py checks any values or any backend string one at a time; here everything varies
at once, with unreported parts and trends, and the boxed and plain frames at any width.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reading import fold_path, is_candidate
from rich.cells import cell_len
from rich.console import Console
from telemetry import dumps, flat, ppo, snapshot

from value_diag.frame import Frame
from value_diag.ingest.fold import fold
from value_diag.ingest.lines import MAX_LINE, Line, LineScanner
from value_diag.ingest.parse import BadLine
from value_diag.options import ColorMode, Format
from value_diag.render.frames import Renderer
from value_diag.render.panel import ValueDiagnosticsPanel
from value_diag.render.sinks import StreamSink
from value_diag.render.terminal import make_console
from value_diag.schema import (
    CRITIC_FIELDS,
    FIT_FIELDS,
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    TamiyoState,
    ValueFunctionMetrics,
)
from value_diag.state import Compile, FoldState

NOW = 1_700_000_000.25


# --- comparing states -------------------------------------------------------------------


def canon(x: object) -> object:
    """A value made exactly comparable: floats by repr (NaN equals NaN, -0.0 is not 0.0)."""
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, tuple):
        return tuple(canon(item) for item in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, *(canon(getattr(x, f.name)) for f in dataclasses.fields(x)))
    return x


def assert_same(got: FoldState, expected: FoldState, how: str) -> None:
    assert canon(got) == canon(expected), f"{how}:\n  got      {got}\n  expected {expected}"


# --- the simple path: one physical line at a time ----------------------------------------


def physical_lines(data: bytes) -> list[bytes]:
    """The file's lines without newlines; a last line without one still counts."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def candidates(data: bytes) -> list[Line]:
    """Numbered lines of ours, as the simplest reader would find them."""
    out: list[Line] = []
    for number, line in enumerate(physical_lines(data), start=1):
        if is_candidate(line):
            too_long = BadLine(f"line too long ({len(line)} bytes)")
            out.append((number, too_long if len(line) > MAX_LINE else line))
    return out


def kept(history: int) -> FoldState:
    """An empty state keeping ``history`` value records, and a different number of Updates."""
    return FoldState(history_len=history, recent_len=(0, 2, 1, 5)[history])


def one_at_a_time(data: bytes, history: int) -> FoldState:
    state = kept(history)
    for numbered in candidates(data):
        state = fold(state, [numbered], NOW)
    return state


def chunked(data: bytes, cuts: Sequence[int]) -> Iterator[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    for a, b in itertools.pairwise([0, *points, len(data)]):
        yield data[a:b]


def streamed(data: bytes, cuts: Sequence[int], history: int) -> FoldState:
    """As watch reads: bytes in arbitrary chunks, a fold per chunk, the tail at the end."""
    scanner = LineScanner()
    state = kept(history)
    for chunk in chunked(data, cuts):
        state = fold(state, scanner.feed(chunk), NOW)
    return fold(state, scanner.finish(), NOW)


# --- lines of every kind -------------------------------------------------------------------

SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, 2.5e-310]
numbers = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(SPECIAL_FLOATS)
    | st.integers(-(2**70), 2**70)
    | st.none()
)
value_fields = st.dictionaries(st.sampled_from(VALUE_FIELDS), numbers, min_size=1, max_size=9)
words = st.sampled_from(["inductor", "eager", "max-autotune", "", "数据🚀", "\x1b[31mx", None])
compile_fields = st.fixed_dictionaries(
    {},
    optional={
        "compile_enabled": st.booleans() | st.none(),
        "compile_backend": words,
        "compile_mode": words,
    },
)


def started(fields: dict[str, Any]) -> bytes:
    return dumps({"event_type": "TRAINING_STARTED", "data": {"n_envs": 4, **fields}})


def header(writer: str | None, rules: str | None) -> bytes:
    """The run header TelemetryWriter writes first."""
    return dumps({"value_diag_run": {"writer": writer, "version": "0.1", "rules": rules}})


critic_fields = st.dictionaries(
    st.sampled_from([*CRITIC_FIELDS, *FIT_FIELDS]), numbers, min_size=1, max_size=3
)
names = st.sampled_from(["TelemetryWriter", "stable-baselines3", "scale-free", None])


valid_lines = st.one_of(
    value_fields.map(flat),
    value_fields.map(ppo),
    st.builds(snapshot, value_fields | st.none(), compile_fields | st.none()),
    compile_fields.map(started),
    compile_fields.map(flat),
    st.builds(lambda v, c: flat({**v, **c}), value_fields, compile_fields),
    st.builds(lambda v, c: flat({**v, **c}), value_fields, critic_fields),
    st.builds(lambda v, c: ppo({**v, **c}), value_fields, critic_fields),
    # esper-lite's updates of December 2025: explained variance, none of the nine
    critic_fields.map(lambda c: ppo({"explained_variance": 0.5, **c})),
    critic_fields.map(flat),
    st.builds(header, names, names),
)

BAD_LINES = [
    b'{"bellman_error": oops}',  # invalid JSON
    b'{"bellman_error": 1.0, "note": "\xff\xfe"}',  # invalid UTF-8
    b'["bellman_error", 1]',  # not an object
    b'"tamiyo"',  # not an object either
    b'{"bellman_error": "high"}',  # wrong type
    b'{"v_return_correlation": true}',
    b'{"td_error_mean": [1, 2]}',
    b'{"event_type": "PPO_UPDATE_COMPLETED", "data": [1]}',  # data not an object
    b'{"event_type": "TRAINING_STARTED", "data": "x"}',
    b'{"tamiyo": 1}',
    b'{"tamiyo": {"value_function": []}}',
    b'{"tamiyo": {"infrastructure": "cpu"}}',
    b'{"compile_enabled": "yes"}',  # not a boolean
    b'{"compile_backend": 3}',
    b'{"event_type": "TRAINING_STARTED", "data": {"compile_mode": {}}}',
    b'{"value_diag_run": {"writer": 1}}',
    b'{"value_diag_run": []}',
    b'{"return_mean": "x", "bellman_error": 1}',
    b"[" * 3000 + b'"tamiyo"' + b"]" * 3000,  # nested too deeply
    b'{"bellman_error": 1e999999999999999999999}' + b"\x00",
]
FOREIGN_LINES = [
    b'{"event_type": "EPOCH_COMPLETED", "data": {"bellman_error": 9.0}}',  # ignored event
    b'{"event_type": "PPO_UPDATE_COMPLETED"}',  # carries nothing
    b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {"policy_loss": 1}}',
    b'{"message": "tamiyo says hi", "step": 3}',  # a name inside a string
    b'{"step": 3, "loss": 0.5}',
    b"bellman_error without quotes",
    b"plain text from a print()",
    b"\xff\xfe\xfd not even UTF-8",
]
BLANK_LINES = [b"", b" ", b"\t", b"\r"]

bad_lines = st.sampled_from(BAD_LINES) | valid_lines.flatmap(
    # A valid line cut short: the newest copy of a record that arrived broken.
    lambda line: st.integers(1, max(1, len(line) - 1)).map(lambda n: line[:n])
).filter(lambda line: is_candidate(line) and not _parses(line))


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def dressed(line: bytes, crlf: bool, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + line + (b"\r" if crlf else b"")


any_line = st.builds(
    dressed,
    st.one_of(
        valid_lines,
        valid_lines,
        bad_lines,
        st.sampled_from(FOREIGN_LINES),
        st.sampled_from(BLANK_LINES),
    ),
    crlf=st.booleans(),
    bom=st.integers(0, 9).map(lambda n: n == 0),
)

A = {name: float(i) + 0.5 for i, name in enumerate(VALUE_FIELDS)}
B = {name: -float(i) - 0.25 for i, name in enumerate(VALUE_FIELDS)}
COMPILE_ON = {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "default"}

# Files of the cases the issue names, whatever hypothesis happens to generate.
NAMED_CASES = {
    # The newest copy of a value record is a bad line: the one before it stands.
    "newest-copy-bad": [flat(A), flat(B)[:-9], flat(B).replace(b"0.25", b"x")],
    # A new run after the last update: values cleared, compile kept.
    "restart-after-last-update": [started(COMPILE_ON), ppo(A), ppo(B), started({})],
    "restart-with-compile-last": [flat(A), b"", ppo(B), started({"compile_enabled": False})],
    "nan-tokens-and-crlf": [flat({**A, "bellman_error": math.nan}) + b"\r", b"\r", flat(B)],
    "bom-then-foreign": [b"\xef\xbb\xbf" + flat(A), FOREIGN_LINES[3], FOREIGN_LINES[0]],
    # A script run twice on one file: the second header starts the run afresh.
    "run-twice": [
        header("TelemetryWriter", "scale-free"),
        flat({**A, "return_mean": 1.0}),
        ppo({"explained_variance": 0.5}),
        header("stable-baselines3", "scale-free"),
        flat(B),
        started({}),
        flat(A),
    ],
}


def file_of(lines: Sequence[bytes], trailing_newline: bool) -> bytes:
    return b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")


# --- property: however the lines arrive, the state is the same ---------------------------


@settings(deadline=None, max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(any_line, max_size=40),
    trailing_newline=st.booleans(),
    batch_cuts=st.lists(st.integers(0, 40), max_size=8),
    byte_cuts=st.lists(st.integers(0, 1 << 16), max_size=30),
    history=st.sampled_from([0, 1, 3]),
)
@example(NAMED_CASES["newest-copy-bad"], True, [1, 2], [5, 40], 0)
@example(NAMED_CASES["restart-after-last-update"], False, [2, 3], [70], 2)
@example(NAMED_CASES["restart-with-compile-last"], True, [3], [], 3)
@example(NAMED_CASES["nan-tokens-and-crlf"], False, [], [1, 2, 3, 4, 5], 1)
@example(NAMED_CASES["run-twice"], True, [1, 3, 4], [30, 200], 3)
def test_one_at_a_time_in_batches_at_once_and_streamed_are_the_same(
    lines: list[bytes],
    trailing_newline: bool,
    batch_cuts: list[int],
    byte_cuts: list[int],
    history: int,
) -> None:
    data = file_of(lines, trailing_newline)
    expected = one_at_a_time(data, history)
    numbered = candidates(data)

    at_once = fold(kept(history), numbered, NOW)
    assert_same(at_once, expected, "all at once")

    points = sorted({c for c in batch_cuts if 0 < c < len(numbered)})
    batched = kept(history)
    for a, b in itertools.pairwise([0, *points, len(numbered)]):
        batched = fold(batched, numbered[a:b], NOW)
    assert_same(batched, expected, f"in batches cut at {points}")

    assert_same(streamed(data, byte_cuts, history), expected, "streamed in byte chunks")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One directory for the whole module (hypothesis runs many examples per test)."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@settings(
    deadline=None,
    max_examples=examples(40),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    lines=st.lists(any_line, max_size=40),
    trailing_newline=st.booleans(),
    history=st.sampled_from([0, 2]),
)
@example(NAMED_CASES["newest-copy-bad"], True, 0)
@example(NAMED_CASES["newest-copy-bad"] * 3, False, 2)
@example(NAMED_CASES["restart-after-last-update"], True, 0)
@example([ppo(A)] * 5 + NAMED_CASES["restart-after-last-update"][-1:], False, 2)
@example(NAMED_CASES["restart-with-compile-last"], False, 3)
@example(NAMED_CASES["nan-tokens-and-crlf"] * 4, True, 0)
@example(NAMED_CASES["bom-then-foreign"] * 4, True, 0)
@example(NAMED_CASES["run-twice"] * 3, True, 3)
def test_fold_path_in_any_number_of_parts_equals_the_simple_fold(
    scratch: Path, lines: list[bytes], trailing_newline: bool, history: int
) -> None:
    data = file_of(lines, trailing_newline)
    path = scratch / "run.jsonl"
    path.write_bytes(data)
    expected = one_at_a_time(data, history)
    for parts in range(1, 5):
        got = fold_path(
            str(path),
            NOW,
            parts=parts,
            history=history,
            recent=kept(history).recent_len,
            processes=False,
        )
        assert_same(got, expected, f"fold_path in {parts} parts")


@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_fold_path_with_a_line_too_long_in_any_part(tmp_path: Path, parts: int) -> None:
    """A candidate line over MAX_LINE is one bad line, wherever the parts are cut."""
    long = b'{"bellman_error": 1.0, "pad": "' + b"x" * (MAX_LINE + 10) + b'"}'
    lines = [started(COMPILE_ON), ppo(A), long, b"", flat(B), long, b"tail"]
    data = file_of(lines, trailing_newline=True)
    path = tmp_path / "run.jsonl"
    path.write_bytes(data)
    expected = one_at_a_time(data, 0)
    assert expected.bad_lines == 2
    assert expected.last_error == f"line 6: line too long ({len(long)} bytes)"
    got = fold_path(str(path), NOW, parts=parts, processes=False)
    assert_same(got, expected, f"{parts} parts")


def test_named_cases_hold_what_they_name() -> None:
    """The explicit examples above really contain the cases the issue names."""
    newest_bad = one_at_a_time(file_of(NAMED_CASES["newest-copy-bad"], True), 0)
    assert newest_bad.bad_lines == 2
    assert newest_bad.values == tuple(A[name] for name in VALUE_FIELDS)
    restarted = one_at_a_time(file_of(NAMED_CASES["restart-after-last-update"], True), 0)
    assert restarted.values is None
    assert restarted.compile == Compile(True, "inductor", "default")
    assert restarted.records == 4
    twice = one_at_a_time(file_of(NAMED_CASES["run-twice"], True), 3)
    assert (twice.updates, twice.writer, twice.rules) == (1, None, None)
    assert [u.values for u in twice.recent] == [tuple(A[name] for name in VALUE_FIELDS)]
    second = one_at_a_time(file_of(NAMED_CASES["run-twice"][:5], True), 3)
    assert (second.updates, second.writer, second.rules) == (1, "stable-baselines3", "scale-free")


# --- property: the panel never breaks ------------------------------------------------------

any_float = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [*SPECIAL_FLOATS, 2.2250738585072014e-308, 1.7976931348623157e308, -5e-324]
)
HOSTILE_PIECES = [
    "\x1b[31m",
    "\x1b[2J\x1b[H",
    "\x1b]0;title\x07",
    "\x1b]52;c;aGVsbG8=\x1b\\",
    "\x1bP1;2q\x1b\\",
    "\x9b1m",
    "\x1b",
    "\x07\x08\x00\x7f",
    "\r\n\t\v\f",
    "\u2028\u2029\x85",
    "\u202e\u2066\u200b\ufeff",
    "[red]x[/red]",
    "[/]",
    "[bold",
    ":smile:",
    "数据集",
    "🚀",
    "👨‍👩‍👧",
    "e\u0301",
    "\ud800",
    "inductor",
    "x" * 120,
]
any_string = st.text(max_size=30) | st.lists(
    st.sampled_from(HOSTILE_PIECES) | st.text(max_size=4), max_size=8
).map("".join)
value_tuples = st.tuples(*[any_float] * len(VALUE_FIELDS))
parts = st.sets(st.sampled_from(["value_function", "infrastructure"])).map(frozenset)
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def snapshot_of(values: tuple[float, ...], compile_: Compile) -> SanctumSnapshot:
    vf = ValueFunctionMetrics()
    for name, value in zip(VALUE_FIELDS, values, strict=True):
        setattr(vf, name, value)
    infra = InfrastructureMetrics(
        compile_enabled=compile_.enabled,
        compile_backend=compile_.backend,
        compile_mode=compile_.mode,
    )
    return SanctumSnapshot(tamiyo=TamiyoState(value_function=vf, infrastructure=infra))


def controls(text: str) -> list[str]:
    """Characters that would move the cursor, change the terminal, or hide text."""
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in CONTROL_CATEGORIES]


@settings(max_examples=examples(200), deadline=None)
@given(
    values=value_tuples,
    compile_=st.builds(Compile, st.booleans(), any_string, any_string),
    unreported=parts,
    ascii_only=st.booleans(),
    trend=st.booleans(),
    history=st.lists(value_tuples, max_size=70),
)
@example(  # the trend of finite values whose range overflows (max - min is inf) once raised
    (0.5,) * 9,
    Compile(True, "inductor", "default"),
    frozenset(),
    False,
    True,
    [(1e308,) * 9, (-1.7976931348623157e308,) * 9, (1e308,) * 9],
)
def test_render_is_always_five_clean_lines(
    values: tuple[float, ...],
    compile_: Compile,
    unreported: frozenset[str],
    ascii_only: bool,
    trend: bool,
    history: list[tuple[float, ...]],
) -> None:
    panel = ValueDiagnosticsPanel(ascii_only=ascii_only, trend=trend)
    panel.update_snapshot(snapshot_of(values, compile_), unreported, history)
    text = panel.render().plain
    assert len(text.split("\n")) == 5, text
    assert controls(text) == [], text
    if ascii_only:
        assert text.isascii(), text


# --- property: frames fit any width --------------------------------------------------------

states = st.builds(
    FoldState,
    values=value_tuples | st.none(),
    compile=st.builds(Compile, st.booleans(), any_string, any_string) | st.none(),
    records=st.integers(0, 10**12),
    bad_lines=st.integers(0, 10**12),
    last_error=any_string | st.none(),
    last_update=st.floats(0, 2e9) | st.none(),
    history=st.lists(value_tuples, max_size=40).map(tuple),
    history_len=st.just(40),
)
frames = st.builds(Frame, any_string, states, any_string | st.none())


def console_lines(out: str) -> list[str]:
    return out.removesuffix("\n").split("\n")


@settings(max_examples=examples(120), deadline=None)
@given(
    frame=frames,
    other=frames,
    width=st.integers(20, 200),
    ascii_only=st.booleans(),
    trend=st.booleans(),
    age=st.floats(0, 1e7) | st.none(),
)
def test_boxed_frames_never_exceed_the_width(
    frame: Frame, other: Frame, width: int, ascii_only: bool, trend: bool, age: float | None
) -> None:
    renderer = Renderer(ascii_only=ascii_only, trend=trend)
    now = None if age is None or frame.state.last_update is None else frame.state.last_update + age
    for renderable, panels in (
        (renderer.boxed(frame, now), [frame]),
        (renderer.stacked([frame, other], now), [frame, other]),
    ):
        buf = io.StringIO()
        make_console(ColorMode.NEVER, file=buf, width=width).print(renderable)
        got = console_lines(buf.getvalue())
        assert all(cell_len(line) <= width for line in got), "\n".join(got)
        # Never wrapped: each panel is its border and its body's lines (the five lines, or
        # "[no data]" and the hint when no line named a metric; the notes; the trends).
        lines = sum(len(renderer.body(f, width - 4).plain.split("\n")) + 2 for f in panels)
        assert len(got) == lines, "\n".join(got)
        assert controls("".join(got)) == []
        if ascii_only:
            assert all(line.isascii() for line in got), "\n".join(got)


@settings(max_examples=examples(120), deadline=None)
@given(frame=frames, width=st.integers(20, 200), ascii_only=st.booleans(), trend=st.booleans())
def test_plain_frames_on_a_terminal_never_exceed_the_width(
    frame: Frame, width: int, ascii_only: bool, trend: bool
) -> None:
    """Plain frames reach a terminal that cannot redraw (TERM=dumb): cut, never wrapped."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system=None, markup=False)
    renderer = Renderer(ascii_only=ascii_only, trend=trend)
    with StreamSink(console, renderer, Format.TEXT) as sink:
        sink.show([frame, frame], [0, 1], NOW)
    got = console_lines(buf.getvalue())
    assert all(cell_len(line) <= width for line in got), "\n".join(got)
    per_frame = len(renderer.plain(frame, width=width).plain.split("\n"))  # never wrapped
    assert len(got) == 2 * per_frame + 1, "\n".join(got)
    assert controls("".join(got)) == []
    if ascii_only:
        assert all(line.isascii() for line in got), "\n".join(got)
