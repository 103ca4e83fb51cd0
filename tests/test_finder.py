"""ingest/finder.py: the compiled finder, its vector and byte-wise loops, and re's agree exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, clean_env, examples, script
from finders import NEEDLES, compiled, portable, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry import timeless

from value_diag.ingest.finder import Finder, RegexFinder, count_newlines, make_finder
from value_diag.ingest.parse import FINDER, KNOWN_NAMES


@pytest.fixture(scope="module")
def finders() -> dict[str, Finder]:
    """Every finder by name; the portable one where it could be built."""
    found: dict[str, Finder] = {
        "vector": compiled.Finder(NEEDLES),
        "bytewise": compiled.Finder(NEEDLES, simd=False),
        "re": RegexFinder(KNOWN_NAMES),
    }
    built = portable()
    if built is not None:
        found["portable vector"] = built.Finder(NEEDLES)
    return found


def test_the_portable_vector_loop_is_the_one_tested() -> None:
    built = portable()
    if built is None:
        pytest.skip("no C compiler to build the portable loop with")
    assert built.VECTORS == "vector extensions"
    assert built.Finder(NEEDLES).simd
    assert compiled.VECTORS in ("sse2", "vector extensions", "none")


# Text made of what matters: names, their parts, quotes, newlines, JSON noise.
pieces = (
    st.sampled_from(
        [
            *NEEDLES,
            *(n[:-1] for n in NEEDLES),  # a name cut before its closing quote
            *(n[1:] for n in NEEDLES),  # without its opening quote
            b'"',
            b"\n",
            b'"timestamp": ',
            b'"return_p1"',
            b'"tamiyo_x"',
            b'"TRAINING"',
            b"0.5, ",
            b"\\",
        ]
    )
    | st.binary(max_size=40)
)
texts = st.lists(pieces, max_size=40).map(b"".join)


@settings(max_examples=examples(500))
@given(data=texts, pos=st.integers(-5, 400), end=st.integers(-5, 400))
def test_every_finder_gives_the_leftmost_name(
    finders: dict[str, Finder], data: bytes, pos: int, end: int
) -> None:
    want = reference(data, pos, end, NEEDLES)
    for name, finder in finders.items():
        assert finder.search(data, pos, end) == want, name
        assert finder.search(bytearray(data), pos, end) == want, name


@settings(max_examples=examples(500))
@given(data=texts, pos=st.integers(0, 400), end=st.integers(0, 400))
def test_scan_counts_the_newlines_before_the_name(
    finders: dict[str, Finder], data: bytes, pos: int, end: int
) -> None:
    found = reference(data, pos, end, NEEDLES)
    stop = max(min(end, len(data)), 0) if found < 0 else found
    want = (found, data.count(b"\n", pos, max(stop, pos)))
    for name, finder in finders.items():
        assert finder.scan(data, pos, end) == want, name


@pytest.mark.parametrize("needle", NEEDLES)
def test_a_name_at_every_offset_of_a_vector_round(
    finders: dict[str, Finder], needle: bytes
) -> None:
    """The 16-byte rounds, their last position and the byte-wise tail all see it."""
    for offset in range(40):
        data = b"\n" * offset + needle + b'"t"' * 10
        for name, finder in finders.items():
            assert finder.search(data) == offset, name
            assert finder.scan(data) == (offset, offset), name
            # One byte short of the whole name: not found.
            assert finder.search(data, 0, offset + len(needle) - 1) == -1, name
            assert finder.search(data, offset + 1) == -1, name


def test_defaults_and_whole_buffers(finders: dict[str, Finder]) -> None:
    data = b'{"x": 1}\n{"td_error_mean": 0.5}\n'
    for name, finder in finders.items():
        assert finder.search(data) == data.index(b'"td_error_mean"'), name
        assert finder.scan(data, 9) == (10, 0), name
        assert finder.scan(b"a\nb\nc\n") == (-1, 3), name
        assert finder.search(b"") == -1, name


@pytest.mark.parametrize("count", [3, 9, 11, 17, 20])
def test_many_different_second_bytes(count: int) -> None:
    """More second bytes than one vector test takes: the wider test, then byte by byte."""
    needles = tuple(b'"' + bytes([65 + i]) + b'z"' for i in range(count))
    finder = compiled.Finder(needles)
    assert finder.simd == (count <= 16)
    for i, needle in enumerate(needles):
        data = b'"a" ' * (i + 5) + needle
        assert finder.search(data) == data.index(needle)
    assert finder.search(b'"' + bytes([65 + count]) + b'z"') == -1


@pytest.mark.parametrize(
    "needles",
    [(), (b'"',), (b'"ab"', b"'cd'"), ("text",)],
)
def test_needles_it_cannot_take(needles: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        compiled.Finder(needles)


def test_wrong_arguments_are_type_errors() -> None:
    finder = compiled.Finder(NEEDLES)
    with pytest.raises(TypeError):
        finder.search()
    with pytest.raises(TypeError):
        finder.search("text")
    with pytest.raises(TypeError):
        finder.scan(b"", 0, 1, 2)


def test_the_module_finder_is_the_compiled_one() -> None:
    """Where the extension is built, records use it (re only as the fallback)."""
    assert isinstance(FINDER, compiled.Finder)
    assert isinstance(make_finder(("a",)), compiled.Finder)


@given(
    st.lists(st.binary(max_size=600), max_size=300),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
)
def test_count_newlines_equals_bytes_count(
    pieces: list[bytes], cut_start: int, cut_end: int
) -> None:
    """Sparse and dense text, any range: the same answer as bytes.count."""
    data = b"\n".join(pieces)
    start = min(cut_start, len(data))
    end = max(start, len(data) - cut_end)
    assert count_newlines(data, start, end) == data.count(b"\n", start, end)


@pytest.mark.parametrize("line_length", [1, 10, 255, 256, 300, 5000])
def test_count_newlines_long_and_short_lines(line_length: int) -> None:
    data = (b"x" * line_length + b"\n") * 500 + b"tail"
    assert count_newlines(data, 0, len(data)) == 500
    assert count_newlines(data, 3, len(data) - 7) == data.count(b"\n", 3, len(data) - 7)


_WITHOUT_EXTENSION = """
import sys
sys.modules["value_diag.ingest._finder"] = None  # as if installed without a C compiler
from value_diag.launch import run
sys.argv = ["value-diag", *sys.argv[1:]]
sys.exit(run())
"""


def _cli(args: list[str], *, extension: bool) -> subprocess.CompletedProcess[bytes]:
    cmd = [*script(), *args] if extension else [sys.executable, "-c", _WITHOUT_EXTENSION, *args]
    return subprocess.run(cmd, capture_output=True, env=clean_env(), timeout=60, check=False)


def test_without_the_extension_the_version_says_so_and_frames_are_the_same(
    tmp_path: Path,
) -> None:
    assert _cli(["--version"], extension=False).stdout.endswith(b"(compiled name search: no)\n")
    log = tmp_path / "run.jsonl"
    log.write_bytes(b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.jsonl"))))
    args = ["once", "--format", "json", "--trend", str(log)]
    with_c, without = _cli(args, extension=True), _cli(args, extension=False)
    assert with_c.returncode == without.returncode
    frames = [json.loads(out.stdout) for out in (with_c, without)]
    assert timeless(frames[0]) == timeless(frames[1])
    assert frames[0]["records"] > 100


def test_initialising_again_replaces_the_needles() -> None:
    finder = compiled.Finder(NEEDLES)
    finder.__init__([b'"other"'])
    assert finder.search(b'"tamiyo" "other"') == 9
    with pytest.raises(ValueError):
        finder.__init__([b"x"])
    assert finder.search(b'"tamiyo" "other"') == 9  # a refused set leaves the last one
