"""One long line costs memory in proportion to its length; running out of it is a bad line.

The process checks run the console script through a small wrapper that reads its peak RSS
with wait4: a child's ru_maxrss also counts the process that forked it (the kernel keeps
the high-water mark from before exec), and pytest itself is large.
"""

from __future__ import annotations

import array
import fcntl
import json
import math
import os
import resource
import subprocess
import sys
import termios
import time
import tracemalloc
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pytest
from conftest import DEADLINE, clean_env, script

import value_diag.ingest.parse as records
from value_diag.ingest.fold import summarize
from value_diag.ingest.lines import MAX_LINE
from value_diag.ingest.parse import STAND_IN_SPACING, BadLine, Record, parse
from value_diag.schema import VALUE_FIELDS

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="ru_maxrss in KiB, prlimit and FIONREAD on pipes"
)

SLACK = 60 << 20
"""The fixed part of the memory bound: interpreter, libraries, buffers (bytes)."""
OLD_MAX_LINE = 16 << 20
"""The line length once loaded whole: a 16 MiB NaN line then took 2.3 GB."""
TD = VALUE_FIELDS.index("td_error_mean")

_WRAPPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\nmaxrss {usage.ru_maxrss} exit {os.waitstatus_to_exitcode(status)}\\n")
"""
"""Runs argv as a grandchild, so that its peak RSS starts from this small process."""


def bound(length: int) -> int:
    """The most memory (bytes) a process reading a line of ``length`` bytes may hold."""
    return 4 * length + SLACK


def line_of(unit: bytes, length: int) -> bytes:
    """A line of exactly ``length`` bytes with td_error_mean 1 and ``x`` a list of units."""
    head, tail = b'{"td_error_mean":1,"x":[', b"]}"
    body = (unit * ((length - len(head) - len(tail)) // len(unit))).rstrip(b",")
    pad = b" " * (length - len(head) - len(body) - len(tail))
    return head + body + b"]" + pad + b"}"


NAN = b"NaN,"
NESTED = b"[" * 200 + b"]" * 200 + b","
"""The costliest shape found: a list per two bytes of line, some 50 bytes of memory each."""
NESTED_NAN = b"[" * 200 + b"NaN" + b"]" * 200 + b","
"""Nested lists again, with one bare token in 403 bytes: parsed through stand-ins."""
NESTED_NANS = b"[" * 200 + b"NaN,NaN,NaN" + b"]" * 200 + b","
"""Three tokens in 411 bytes: too many for stand-ins, parsed by the stdlib."""
EMPTY = b"[],"


def run_measured(args: list[str]) -> tuple[int, bytes, str, int]:
    """Runs `value-diag ARGS`: its exit code, stdout, stderr and peak RSS (bytes)."""
    done = subprocess.run(
        [sys.executable, "-S", "-c", _WRAPPER, *script(), *args],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    err, _, last = done.stderr.decode(errors="replace").rstrip("\n").rpartition("\n")
    _, maxrss, _, code = last.split()
    return int(code), done.stdout, err, int(maxrss) * 1024


def frame(stdout: bytes) -> dict[str, Any]:
    """The one JSON frame `once --format json` printed."""
    [text] = stdout.decode().splitlines()
    result: dict[str, Any] = json.loads(text)
    return result


# --- process level: the console script on the longest lines ---------------------------------


@linux_only
@pytest.mark.parametrize(
    "unit", [NAN, NESTED, EMPTY, NESTED_NAN], ids=["nan", "nested", "empty", "nested-nan"]
)
def test_a_max_length_line_is_used_within_the_memory_bound(unit: bytes, tmp_path: Path) -> None:
    line = line_of(unit, MAX_LINE)
    assert len(line) == MAX_LINE
    path = tmp_path / "long.jsonl"
    path.write_bytes(line + b"\n")
    code, out, err, maxrss = run_measured(["once", "--format", "json", str(path)])
    assert (code, err) == (0, "")
    got = frame(out)
    assert (got["records"], got["bad_lines"]) == (1, 0)
    assert got["value_function"]["td_error_mean"]["value"] == 1.0
    assert maxrss <= bound(len(line))


@linux_only
def test_a_16_mib_nan_line_is_a_bad_line_within_the_memory_bound(tmp_path: Path) -> None:
    line = line_of(NAN, OLD_MAX_LINE)
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"td_error_mean": 2.5}\n' + line + b"\n")
    code, out, err, maxrss = run_measured(["once", "--format", "json", str(path)])
    assert (code, err) == (0, "")
    got = frame(out)
    assert (got["records"], got["bad_lines"]) == (1, 1)
    assert got["last_error"] == f"line 2: line too long ({len(line)} bytes)"
    assert got["value_function"]["td_error_mean"]["value"] == 2.5
    assert maxrss <= bound(len(line))


@linux_only
def test_running_out_of_address_space_on_a_line_makes_it_a_bad_line() -> None:
    """Limited to a few MB more than it holds when it starts reading, a line is counted bad.

    The line needs some 12 MB. It goes to the stdlib parser, which raises MemoryError;
    orjson 3.13 can crash outright when an allocation fails while it builds objects.
    """
    line = line_of(NESTED_NANS, MAX_LINE)
    assert records._loads_constants(line) is records._REFUSED
    proc = subprocess.Popen(
        [*script(), "once", "--format", "json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert proc.stdin is not None
        _wait_until_reading(proc)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        [size] = [int(s.split()[1]) * 1024 for s in status.splitlines() if s.startswith("VmSize")]
        limit = size + (5 << 20)  # reading takes some 2 MB (a 1 MiB block), parsing 12
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (limit, limit))
        out, err = proc.communicate(line + b"\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, err) == (3, b"")  # no data: its only candidate line is bad
    got = frame(out)
    assert (got["records"], got["bad_lines"]) == (0, 1)
    reason = f"line too large to parse ({len(line)} bytes): out of memory"
    assert got["last_error"] == f"line 2: {reason}"


def _wait_until_reading(proc: subprocess.Popen[bytes]) -> None:
    """Returns once the child has read a blank first line: it is started, waiting for more."""
    assert proc.stdin is not None
    fd = proc.stdin.fileno()
    os.write(fd, b"\n")
    unread = array.array("i", [1])
    for _ in range(int(DEADLINE / 0.01)):
        fcntl.ioctl(fd, termios.FIONREAD, unread)
        if unread[0] == 0:
            break
        time.sleep(0.01)
    else:
        pytest.fail("value-diag did not read its input")
    time.sleep(0.1)  # from its read to the next one, where it waits: the buffer it read is freed


# --- the stand-in path: cheap per line, whatever the token count -----------------------------


def test_a_line_with_many_bare_tokens_goes_to_the_stdlib_before_anything_is_built() -> None:
    line = line_of(NAN, 1 << 20)
    tracemalloc.start()
    try:
        refused = records._loads_constants(line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused is records._REFUSED
    assert peak < 64 << 10


def tokens_line(token: bytes, count: int, length: int) -> bytes:
    """A line of ``length`` bytes whose td_error_mean and count - 1 values after it are token."""
    rest = b",".join([token] * (count - 1))
    line = b'{"td_error_mean": ' + token + b', "x": [' + rest + b'], "step": 3}'
    assert len(line) <= length
    return line[:-1] + b" " * (length - len(line)) + b"}"


@pytest.mark.parametrize("count", [1, 20, 1000])
def test_a_line_with_one_token_per_spacing_keeps_the_stand_in_path(count: int) -> None:
    line = tokens_line(b"NaN", count, count * STAND_IN_SPACING)
    assert records._loads_constants(line) is not records._REFUSED
    assert math.isnan(_td(parse(line)))


@pytest.mark.parametrize("count", [1, 20, 1000])
def test_a_byte_less_and_the_line_goes_to_the_stdlib(count: int) -> None:
    line = tokens_line(b"-Infinity", count, count * STAND_IN_SPACING - 1)
    assert records._loads_constants(line) is records._REFUSED
    assert _td(parse(line)) == -math.inf


@pytest.mark.parametrize("spacing", [STAND_IN_SPACING, STAND_IN_SPACING - 1, 12])
@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_either_path_gives_what_json_loads_gives(spacing: int, token: bytes) -> None:
    line = tokens_line(token, 300, 300 * spacing)
    assert repr(_td(parse(line))) == repr(json.loads(line)["td_error_mean"])


def _td(parsed: object) -> float:
    assert isinstance(parsed, Record) and parsed.values is not None
    td = parsed.values[TD]
    assert td is not None
    return td


# --- running out of memory while parsing: a bad line, and the next line still counts --------


def _no_memory(*args: object, **kwargs: object) -> NoReturn:
    raise MemoryError


def _orjson_no_memory(*args: object, **kwargs: object) -> NoReturn:
    """What orjson gives when an allocation fails while it builds objects."""
    raise SystemError("<built-in function loads> returned a result with an exception set") from (
        MemoryError()
    )


OOM_LINE = b'{"td_error_mean": 1.5, "x": [NaN, 2], "pad": "' + b"p" * STAND_IN_SPACING + b'"}'
"""A line for the stand-in path: one token, and long enough for it."""
OOM_REASON = f"line too large to parse ({len(OOM_LINE)} bytes): out of memory"


@pytest.mark.parametrize("fails", [_no_memory, _orjson_no_memory])
def test_orjson_out_of_memory_is_a_bad_line(fails: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orjson, "loads", fails)
    assert parse(OOM_LINE) == BadLine(OOM_REASON)


def test_stdlib_out_of_memory_is_a_bad_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "STAND_IN_SPACING", len(OOM_LINE) + 1)  # to the stdlib
    monkeypatch.setattr(json, "loads", _no_memory)
    assert parse(OOM_LINE) == BadLine(OOM_REASON)


def test_stand_ins_out_of_memory_is_a_bad_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_restore", _no_memory)
    assert parse(OOM_LINE) == BadLine(OOM_REASON)


def test_a_system_error_not_caused_by_memory_still_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> NoReturn:
        raise SystemError("something else")

    monkeypatch.setattr(orjson, "loads", broken)
    with pytest.raises(SystemError, match="something else"):
        parse(OOM_LINE)


def test_the_line_after_one_that_ran_out_of_memory_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = orjson.loads

    def fails_on_long_lines(data: bytes) -> Any:
        if len(data) > 100:
            raise MemoryError
        return real(data)

    monkeypatch.setattr(orjson, "loads", fails_on_long_lines)
    long = b'{"td_error_mean": 9, "x": "' + b"y" * 200 + b'"}'
    seg = summarize([(1, long), (2, b'{"td_error_mean": 2.5}')])
    assert (seg.records, seg.bad_lines) == (1, 1)
    assert seg.last_error == (1, f"line too large to parse ({len(long)} bytes): out of memory")
    assert isinstance(seg.values, tuple) and seg.values[TD] == 2.5
