"""Fuzzing the line scanner, the parser and the fold with atheris (outside CI).

An input is four control bytes, then the byte stream:

    byte 0   seed of the chunk sizes the stream is fed to the scanner in
    byte 1   largest chunk: 1 << (byte % 12) bytes
    byte 2   where the two-part fold cuts: after newline number byte * newlines // 255
    byte 3   bits 0-1: history length (0-3); bit 2: a small line limit, 8 + (byte >> 3) * 8

Invariants checked on every input: ``records.parse`` never raises and returns a well-formed
Record, BadLine or None; the scanner gives the same numbered lines as splitting on b"\\n"
and keeping the candidates, for any chunking; folding all at once, one line at a time, and
in two parts joined by ``fold.apply`` with the line offset give the same state; records plus
bad lines are the candidate lines that mean something, never more than the candidates.

    python fuzz/make_corpus.py
    python fuzz/fuzz_lines.py fuzz/work fuzz/corpus -max_total_time=1800 \\
        -artifact_prefix=fuzz/artifacts/

Without atheris the same command runs a plain random-mutation loop over the corpus.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from value_diag.ingest.fold import Segment, apply, fold, summarize
from value_diag.ingest.lines import MAX_LINE, Line, LineScanner
from value_diag.ingest.parse import KNOWN_NAMES, BadLine, Record, parse
from value_diag.schema import VALUE_FIELDS
from value_diag.state import Compile, FoldState

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reading import is_candidate, pending_bytes

HEADER = 4
NOW = 1_700_000_000.5


def check(data: bytes) -> None:
    """Runs every invariant on one input; raises AssertionError (or worse) on a failure."""
    head, stream = data[:HEADER].ljust(HEADER, b"\0"), data[HEADER:]
    seed, limit_bits, cut_at, flags = head
    history = flags & 3
    max_line = 8 + (flags >> 3) * 8 if flags & 4 else MAX_LINE
    rng = random.Random(seed)
    limit = 1 << (limit_bits % 12)

    # (a) The parser, on every line and on the whole stream.
    for line in stream.split(b"\n"):
        check_parsed(parse(line))
    check_parsed(parse(stream))

    # (b) The scanner, whole and in chunks, against the per-line reference.
    expected = reference(stream, max_line)
    lines = scan(chunks(stream, rng, limit), max_line)
    assert lines == expected, (lines, expected)
    assert scan([stream], max_line) == expected

    # (c) The fold: all at once, line by line, and in two parts.
    whole = apply(FoldState(history_len=history), summarize(lines, history_len=history), NOW)
    one_by_one = FoldState(history_len=history)
    for line_ in lines:
        one_by_one = fold(one_by_one, [line_], NOW)
    assert key(one_by_one) == key(whole), (key(one_by_one), key(whole))
    cut = line_start(stream, cut_at * stream.count(b"\n") // 255)
    first = part(stream[:cut], rng, limit, max_line, history, finish=False)
    second = part(stream[cut:], rng, limit, max_line, history, finish=True)
    parts = apply(FoldState(history_len=history), first, NOW)
    parts = apply(parts, second, NOW, first.lines)
    assert key(parts) == key(whole), (key(parts), key(whole))

    meaningful = sum(
        1 for _, line_ in expected if isinstance(line_, BadLine) or parse(line_) is not None
    )
    assert whole.records + whole.bad_lines == meaningful
    assert whole.records + whole.bad_lines <= len(expected)


def check_parsed(result: object) -> None:
    """A parse result is None, a BadLine with a reason, or a well-formed Record."""
    if result is None:
        return
    if isinstance(result, BadLine):
        assert isinstance(result.reason, str) and result.reason
        return
    assert isinstance(result, Record), result
    assert isinstance(result.new_run, bool)
    if result.values is not None:
        assert len(result.values) == len(VALUE_FIELDS)
        assert all(type(x) is float or x is None for x in result.values), result.values
        assert any(x is not None for x in result.values), result.values
    if result.compile is not None:
        c = result.compile
        assert isinstance(c, Compile)
        assert type(c.enabled) is bool and type(c.backend) is str and type(c.mode) is str
    assert result.values is not None or result.compile is not None or result.new_run


def reference(stream: bytes, max_line: int) -> list[Line]:
    """The naive answer: split on newlines, keep the candidates, number from 1."""
    out: list[Line] = []
    for number, line in enumerate(stream.split(b"\n"), start=1):
        if is_candidate(line):
            too_long = BadLine(f"line too long ({len(line)} bytes)")
            out.append((number, too_long if len(line) > max_line else line))
    return out


def chunks(stream: bytes, rng: random.Random, limit: int) -> list[bytes]:
    """The stream cut into pieces of 1..limit bytes."""
    out = []
    pos = 0
    while pos < len(stream):
        size = rng.randint(1, limit)
        out.append(stream[pos : pos + size])
        pos += size
    return out


def scan(pieces: Sequence[bytes], max_line: int, finish: bool = True) -> list[Line]:
    """Everything a scanner gives for the pieces, checking its counters on the way."""
    scanner = LineScanner(max_line)
    out: list[Line] = []
    for piece in pieces:
        out.extend(scanner.feed(piece))
    data = b"".join(pieces)
    assert scanner.lines == data.count(b"\n")
    assert pending_bytes(scanner) == len(data) - (data.rfind(b"\n") + 1)
    if finish:
        out.extend(scanner.finish())
        assert scanner.lines == len(data.split(b"\n")) - (not data or data.endswith(b"\n"))
    return out


def line_start(stream: bytes, k: int) -> int:
    """The offset just after the k-th newline (0 for k = 0)."""
    pos = 0
    for _ in range(k):
        pos = stream.index(b"\n", pos) + 1
    return pos


def part(
    data: bytes, rng: random.Random, limit: int, max_line: int, history: int, finish: bool
) -> Segment:
    """A part's segment, as the parallel reader makes it: its lines numbered from 1."""
    lines = scan(chunks(data, rng, limit), max_line, finish)
    count = data.count(b"\n") + (finish and bool(data) and not data.endswith(b"\n"))
    return replace(summarize(lines, history_len=history), lines=count)


def key(state: FoldState) -> tuple[object, ...]:
    """A state in comparable form: floats by their exact hex, so NaN equals NaN."""

    def exact(values: tuple[float | None, ...] | None) -> tuple[str | None, ...] | None:
        return None if values is None else tuple(None if x is None else x.hex() for x in values)

    return (
        exact(state.values),
        state.values_at,
        state.compile,
        state.records,
        state.bad_lines,
        state.last_error,
        state.last_update,
        tuple(exact(h) for h in state.history),
        state.history_len,
    )


def test_one_input(data: bytes) -> None:
    """The atheris entry point."""
    check(data)


# --- Without atheris: random mutations of the corpus --------------------------------------

TOKENS = (
    *(f'"{name}"'.encode() for name in KNOWN_NAMES),
    b"NaN",
    b"-Infinity",
    b"Infinity",
    b"1e999",
    b"-0.0",
    b"9" * 400,
    b'"\\ud800"',
    b"\xef\xbb\xbf",
    b"\r",
    b"\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b'{"event_type": "TRAINING_STARTED"}',
    b'"data": ',
    b"\xff",
)


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    """A few random edits: flips, inserts, deletions, copies, tokens, splices."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randint(0, len(buf))
        kind = rng.randrange(6)
        if kind == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif kind == 2:
            del buf[pos : pos + rng.randint(1, 64)]
        elif kind == 3 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 128)]
        elif kind == 4:
            buf[pos:pos] = rng.choice(TOKENS)
        elif kind == 5 and seeds:
            other = rng.choice(seeds)
            buf[pos:] = other[rng.randint(0, len(other)) :]
    return bytes(buf[:8192])


def random_loop(argv: list[str], target: Callable[[bytes], None]) -> None:
    """libFuzzer's command line, roughly: corpus dirs or files, -max_total_time, -runs."""
    options = dict(a[1:].split("=", 1) for a in argv if a.startswith("-") and "=" in a)
    paths = [Path(a) for a in argv if not a.startswith("-")]
    files = [f for p in paths for f in (sorted(p.iterdir()) if p.is_dir() else [p])]
    seeds = [f.read_bytes() for f in files if f.is_file()]
    if any(p.is_file() for p in paths):  # reproduce given inputs, like libFuzzer
        for seed in seeds:
            target(seed)
        print(f"ran {len(seeds)} inputs")
        return
    rng = random.Random(int(options.get("seed", "0")) or None)
    limit = float(options.get("max_total_time", "0")) or float("inf")
    runs = int(options.get("runs", "-1"))
    prefix = options.get("artifact_prefix", "./")
    start = time.monotonic()
    execs = 0
    for seed in seeds:
        target(seed)
        execs += 1
    while time.monotonic() - start < limit and (runs < 0 or execs < runs):
        data = mutate(rng.choice(seeds) if seeds else b"", seeds, rng)
        try:
            target(data)
        except BaseException:
            crash = Path(f"{prefix}crash-{hashlib.sha1(data).hexdigest()}")
            crash.write_bytes(data)
            print(f"crash; input written to {crash}", file=sys.stderr)
            raise
        execs += 1
    elapsed = time.monotonic() - start
    print(f"#{execs} DONE (random loop) exec/s: {execs / max(elapsed, 1e-9):.0f} in {elapsed:.0f}s")


def main() -> None:
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        print("atheris not installed: running a plain random-mutation loop", file=sys.stderr)
        random_loop(sys.argv[1:], check)
        return
    atheris.instrument_all()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
