"""lines.py: bytes in arbitrary chunks -> numbered complete candidate lines."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from reading import is_candidate, iter_lines, pending_bytes

from value_diag.ingest import lines
from value_diag.ingest.finder import RegexFinder
from value_diag.ingest.lines import MAX_LINE, Line, LineScanner
from value_diag.ingest.parse import FINDER, KNOWN_NAMES, BadLine


@pytest.fixture(autouse=True, params=["module finder", "re finder"])
def finder(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs with the finder in use (compiled where built) and with re's."""
    if request.param == "module finder":
        yield
        return
    setattr(lines, "FINDER", RegexFinder(KNOWN_NAMES))  # noqa: B010 - a Final name
    try:
        yield
    finally:
        setattr(lines, "FINDER", FINDER)  # noqa: B010


Normal = tuple[int, bytes | tuple[str, int]]
"""A scanner result with a BadLine reduced to ("too long", length) for comparison."""


def chunked(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given offsets (any order, duplicates and out-of-range ignored)."""
    points = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def scan(chunks: Sequence[bytes], max_line: int = MAX_LINE) -> list[Line]:
    scanner = LineScanner(max_line)
    out: list[Line] = []
    for chunk in chunks:
        out.extend(scanner.feed(chunk))
    out.extend(scanner.finish())
    return out


def normal(lines: Sequence[Line]) -> list[Normal]:
    result: list[Normal] = []
    for number, line in lines:
        if isinstance(line, BadLine):
            assert line.reason.startswith("line too long")
            length = int(line.reason.split("(")[1].split()[0])
            result.append((number, ("too long", length)))
        else:
            result.append((number, line))
    return result


def reference(data: bytes, max_line: int = MAX_LINE) -> list[Normal]:
    """The naive per-line answer: split on newlines, keep the candidates."""
    out: list[Normal] = []
    for i, line in enumerate(data.split(b"\n"), start=1):
        if is_candidate(line):
            out.append((i, ("too long", len(line)) if len(line) > max_line else line))
    return out


def physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


SNAP = b'{"tamiyo": {"value_function": {"bellman_error": 1.5}}}'
PPO = b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {"td_error_mean": NaN}}'
STARTED = b'{"event_type": "TRAINING_STARTED", "data": {"compile_enabled": true}}'
FLAT = b'{"step": 1, "v_return_correlation": 0.5}'
EPOCH = b'{"event_type": "EPOCH_COMPLETED", "data": {"val_loss": 1.0}}'
GARBAGE = b"garbage without names"
BAD = b'garbage "bellman_error" garbage'


# --- LineScanner: basics ----------------------------------------------------------------------


def test_numbers_are_physical_lines_counting_blank_and_foreign_ones() -> None:
    data = b"\n".join([SNAP, b"", GARBAGE, EPOCH, PPO, b"   ", b"\r", FLAT, BAD, STARTED]) + b"\n"
    assert scan([data]) == [(1, SNAP), (5, PPO), (8, FLAT), (9, BAD), (10, STARTED)]


def test_lines_counter_counts_every_complete_line() -> None:
    scanner = LineScanner()
    scanner.feed(b"a\n\nb\n" + SNAP + b"\nc")
    assert scanner.lines == 4
    assert pending_bytes(scanner) == 1
    scanner.finish()
    assert scanner.lines == 5
    assert pending_bytes(scanner) == 0


def test_only_complete_lines_are_emitted() -> None:
    scanner = LineScanner()
    assert scanner.feed(SNAP) == []
    assert pending_bytes(scanner) == len(SNAP)
    assert scanner.feed(b"\n" + FLAT) == [(1, SNAP)]
    assert scanner.feed(b"\r") == []
    assert scanner.feed(b"\n") == [(2, FLAT + b"\r")]
    assert scanner.finish() == []


def test_finish_treats_the_last_line_without_newline_as_complete() -> None:
    scanner = LineScanner()
    assert scanner.feed(GARBAGE + b"\n" + PPO) == []
    assert scanner.finish() == [(2, PPO)]
    assert scanner.lines == 2


def test_finish_without_pending_bytes_emits_nothing() -> None:
    scanner = LineScanner()
    assert scanner.feed(SNAP + b"\n") == [(1, SNAP)]
    assert scanner.finish() == []
    assert scanner.lines == 1


def test_finish_on_a_foreign_last_line_counts_it_but_emits_nothing() -> None:
    scanner = LineScanner()
    scanner.feed(SNAP + b"\n" + GARBAGE)
    assert scanner.finish() == []
    assert scanner.lines == 2


def test_empty_chunks_change_nothing() -> None:
    scanner = LineScanner()
    assert scanner.feed(b"") == []
    assert scanner.feed(SNAP[:5]) == []
    assert scanner.feed(b"") == []
    assert scanner.feed(SNAP[5:] + b"\n") == [(1, SNAP)]
    assert scanner.lines == 1


def test_scanner_continues_after_finish_like_a_fresh_line() -> None:
    scanner = LineScanner()
    scanner.feed(FLAT)
    assert scanner.finish() == [(1, FLAT)]
    assert scanner.feed(SNAP + b"\n") == [(2, SNAP)]


def test_bom_and_crlf_lines_are_emitted_as_they_are() -> None:
    data = b"\xef\xbb\xbf" + SNAP + b"\r\n" + FLAT + b"\r\n"
    assert scan([data]) == [(1, b"\xef\xbb\xbf" + SNAP + b"\r"), (2, FLAT + b"\r")]


def test_of_the_esper_events_only_training_started_and_ppo_updates_are_candidates() -> None:
    data = b"".join(
        json.dumps({"event_type": kind, "data": {"x": 1}}).encode() + b"\n"
        for kind in [
            "TRAINING_STARTED",
            "EPOCH_COMPLETED",
            "EPOCH_COMPLETED",
            "PPO_UPDATE_COMPLETED",
        ]
    )
    assert [n for n, _ in scan([data])] == [1, 4]


# --- LineScanner: chunk boundaries ------------------------------------------------------------

STREAM = b"\n".join(
    [STARTED, GARBAGE, b"", SNAP, EPOCH, BAD, b"\r", PPO, FLAT, b'"compile_mode"', GARBAGE]
)


@pytest.mark.parametrize("tail", [b"", b"\n", b"\r\n"])
def test_split_at_every_byte_finds_each_line_exactly_once(tail: bytes) -> None:
    data = STREAM + tail
    expected = reference(data)
    assert [n for n, _ in expected] == [1, 4, 6, 8, 9, 10]
    for cut in range(len(data) + 1):
        assert normal(scan([data[:cut], data[cut:]])) == expected, cut


def test_split_at_every_pair_of_bytes_around_names() -> None:
    data = GARBAGE + b"\n" + b"x" * 5 + b'"PPO_UPDATE_COMPLETED"y\n' + b'zz"tamiyo"\n' + GARBAGE
    expected = reference(data)
    assert expected == [(2, b'xxxxx"PPO_UPDATE_COMPLETED"y'), (3, b'zz"tamiyo"')]
    for a in range(len(data) + 1):
        for b in range(a, len(data) + 1):
            assert normal(scan([data[:a], data[a:b], data[b:]])) == expected, (a, b)


def test_byte_by_byte_feeding() -> None:
    data = STREAM + b"\n"
    assert normal(scan([data[i : i + 1] for i in range(len(data))])) == reference(data)


@pytest.mark.parametrize("name", KNOWN_NAMES)
def test_a_name_split_anywhere_in_a_long_pending_line_is_found(name: str) -> None:
    quoted = b'"' + name.encode() + b'"'
    line = b"p" * 300 + quoted + b"s" * 300
    for cut in range(300, 300 + len(quoted) + 1):
        data = b"foreign\n" + line + b"\n"
        chunks = [data[: 8 + cut], data[8 + cut :]]
        assert scan(chunks) == [(2, line)], cut


# --- LineScanner: long lines ------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 10_000])
def test_candidate_line_longer_than_max_line_is_a_bad_line(chunk_size: int) -> None:
    long_line = b'{"bellman_error": 1, "pad": "' + b"x" * 2000 + b'"}'
    data = SNAP + b"\n" + long_line + b"\n" + FLAT + b"\n"
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    result = scan(chunks, max_line=1000)
    assert [n for n, _ in result] == [1, 2, 3]
    assert result[0] == (1, SNAP)
    bad = result[1][1]
    assert isinstance(bad, BadLine)
    assert bad.reason == f"line too long ({len(long_line)} bytes)"
    assert result[2] == (3, FLAT)


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_candidate_line_longer_than_max_line_in_one_chunk(position: str) -> None:
    long_line = b'"tamiyo"' + b"y" * 50
    lines = {
        "first": [long_line, FLAT],
        "middle": [FLAT, long_line, FLAT],
        "last": [FLAT, long_line],
    }
    data = b"\n".join(lines[position]) + b"\n"
    assert normal(scan([data], max_line=40)) == reference(data, max_line=40)
    assert ("too long", len(long_line)) in [line for _, line in normal(scan([data], max_line=40))]


def test_line_of_exactly_max_line_bytes_is_loaded() -> None:
    line = b'"tamiyo"' + b"z" * 92
    assert len(line) == 100
    for chunks in ([line + b"\n"], [line[:50], line[50:], b"\n"], [line]):
        assert scan(chunks, max_line=100) == [(1, line)]
        assert normal(scan(chunks, max_line=99)) == [(1, ("too long", 100))]


@pytest.mark.parametrize("where", ["start", "end", "across_drop"])
def test_name_anywhere_in_an_overlong_line_makes_it_a_bad_line(where: str) -> None:
    max_line = 1000
    filler = b"f" * 3000
    name = b'"return_skewness"'
    if where == "start":
        line = name + filler
    elif where == "end":
        line = filler + name
    else:  # the name straddles the byte where the scanner stops keeping the line
        line = b"f" * (max_line - 5) + name + filler
    data = line + b"\n" + FLAT + b"\n"
    for size in (1, 4, 13, 500):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert normal(scan(chunks, max_line=max_line)) == [
            (1, ("too long", len(line))),
            (2, FLAT),
        ], size


def test_long_foreign_line_is_skipped_and_memory_stays_bounded() -> None:
    max_line, chunk_size = 1000, 7
    scanner = LineScanner(max_line)
    chunk = b"noise, "
    assert len(chunk) == chunk_size
    total = 0
    for _ in range(200_000 // chunk_size):
        assert scanner.feed(chunk) == []
        total += chunk_size
        assert len(scanner._pending) <= max_line + chunk_size
        assert len(scanner._tail) <= 64
    assert pending_bytes(scanner) == total
    assert scanner.feed(b"\n" + SNAP + b"\n") == [(2, SNAP)]
    assert len(scanner._pending) == 0
    assert scanner.lines == 2


def test_long_foreign_line_then_name_in_the_same_line_is_still_noticed() -> None:
    scanner = LineScanner(100)
    for _ in range(50):
        assert scanner.feed(b"0123456789") == []
    assert scanner.feed(b'"compile_') == []
    assert scanner.feed(b'backend"') == []
    [(number, line)] = scanner.feed(b"\n")
    assert number == 1
    length = 500 + len(b'"compile_backend"')
    assert line == BadLine(f"line too long ({length} bytes)")
    assert len(scanner._pending) == 0


def test_long_foreign_line_at_end_of_input_emits_nothing() -> None:
    assert list(iter_lines(iter([b"x" * 5000, b"y" * 5000]), max_line=100)) == []


# --- iter_lines -------------------------------------------------------------------------------


def test_iter_lines_includes_a_last_line_without_newline() -> None:
    chunks: Iterator[bytes] = iter([SNAP[:10], SNAP[10:] + b"\n" + GARBAGE + b"\n", PPO])
    assert list(iter_lines(chunks)) == [(1, SNAP), (3, PPO)]


def test_iter_lines_passes_max_line() -> None:
    data = SNAP + b"\n" + FLAT
    result = list(iter_lines(iter([data]), max_line=len(FLAT) - 1))
    assert result == [
        (1, BadLine(f"line too long ({len(SNAP)} bytes)")),
        (2, BadLine(f"line too long ({len(FLAT)} bytes)")),
    ]


def test_iter_lines_of_nothing() -> None:
    assert list(iter_lines(iter([]))) == []
    assert list(iter_lines(iter([b"", b""]))) == []


# --- property: the scanner agrees with the naive per-line reference -------------------------

name_bytes = st.sampled_from(KNOWN_NAMES).map(lambda n: b'"' + n.encode() + b'"')
near_names = st.sampled_from(
    [b"bellman_error", b'"bellman_erro"', b'"tamiyo', b'tamiyo"', b'"TAMIYO"', b'"x"', b'""']
)
noise = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"."))
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70)


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    fields = draw(
        st.dictionaries(st.sampled_from(["v_return_correlation", "bellman_error"]), numbers)
    )
    shape = draw(st.sampled_from(["snapshot", "ppo", "started", "flat", "epoch"]))
    obj: object
    if shape == "snapshot":
        obj = {"step": 1, "tamiyo": {"value_function": fields}}
    elif shape == "ppo":
        obj = {"event_type": "PPO_UPDATE_COMPLETED", "data": fields}
    elif shape == "started":
        obj = {"event_type": "TRAINING_STARTED", "data": {"compile_enabled": True}}
    elif shape == "epoch":
        obj = {"event_type": "EPOCH_COMPLETED", "data": {"val_loss": 1.0}}
    else:
        obj = {"step": 2, **fields}
    text = json.dumps(obj).encode()
    return text + draw(st.sampled_from([b"", b"\r"]))


any_line = st.one_of(
    json_lines(),
    st.tuples(noise, name_bytes, noise).map(b"".join),  # bad or foreign-but-named lines
    st.tuples(noise, near_names, noise).map(b"".join),  # almost names: not candidates
    noise,  # foreign lines, maybe blank
    st.sampled_from([b"", b"\r", b"   "]),  # blank lines
)


@settings(deadline=None, max_examples=examples(300))
@given(
    lines=st.lists(any_line, max_size=25),
    trailing_newline=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=40),
)
def test_scanner_matches_the_naive_reference(
    lines: list[bytes], trailing_newline: bool, cuts: list[int]
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    scanner = LineScanner()
    out: list[Line] = []
    for chunk in chunked(data, cuts):
        out.extend(scanner.feed(chunk))
    out.extend(scanner.finish())
    assert normal(out) == reference(data)
    assert scanner.lines == physical_lines(data)


@settings(deadline=None, max_examples=examples(300))
@given(
    lines=st.lists(any_line, max_size=25),
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=20),
    max_line=st.integers(1, 120),
)
def test_scanner_in_small_chunks_with_small_max_line_matches_the_reference(
    lines: list[bytes], sizes: list[int], max_line: int
) -> None:
    data = b"\n".join(lines)
    chunks: list[bytes] = []
    pos = i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        chunks.append(data[pos : pos + size])
        pos += size
        i += 1
    assert normal(scan(chunks, max_line)) == reference(data, max_line)
