"""Keys from the terminal: bytes decoded whole or split across reads; cbreak mode set and
given back exactly, on a real pseudo-terminal."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import select
import subprocess
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import pytest
from conftest import DEADLINE, ROOT, clean_env, examples
from hypothesis import given, settings
from hypothesis import strategies as st

from value_diag.tui.keys import KeyReader, decode, flush, stdin_keys
from value_diag.tui.tableview import Key

T = TypeVar("T")

SEQUENCES: Final = {
    b"q": [Key.QUIT],
    b"?": [Key.HELP],
    b"j": [Key.DOWN],
    b"k": [Key.UP],
    b"s": [Key.SORT],
    b"\r": [Key.ENTER],
    b"\n": [Key.ENTER],
    b"\x1b[A": [Key.UP],
    b"\x1b[B": [Key.DOWN],
    b"\x1bOA": [Key.UP],
    b"\x1bOB": [Key.DOWN],
    b"\x1b[5~": [Key.PAGE_UP],
    b"\x1b[6~": [Key.PAGE_DOWN],
    b"\x1b[H": [Key.HOME],
    b"\x1b[F": [Key.END],
    b"\x1b[1~": [Key.HOME],
    b"\x1b[4~": [Key.END],
    b"\x1b[7~": [Key.HOME],
    b"\x1b[8~": [Key.END],
    b"\x1bOH": [Key.HOME],
    b"\x1bOF": [Key.END],
    b"\x1b[1;5A": [Key.UP],  # Ctrl+Up: the modifier does not matter
    b"\x1b[5;2~": [Key.PAGE_UP],
    b"\x1b[C": [Key.RIGHT],
    b"\x1b[D": [Key.LEFT],
    b"\x1bOC": [Key.RIGHT],
    b"h": [Key.LEFT],
    b"l": [Key.RIGHT],
    b"a": [Key.ALL_CHARTS],
    b"e": [Key.SMOOTH],
    b"o": [Key.OVERLAY],
    b" ": [Key.MARK],
}
"""Every sequence of a key of ours, and what it decodes to."""
IGNORED: Final = [
    b"x",
    b"Q",
    b"\x00",
    b"\x7f",
    "é".encode(),
    b"\x1b[2~",  # Insert
    b"\x1b[3~",  # Delete
    b"\x1b[15~",  # F5
    b"\x1bOP",  # F1
    b"\x1b[<0;12;5M",  # an SGR mouse report
    b"\x1b[?1049h",  # a private mode, as an echo would carry it
]
"""Bytes and sequences that are no key of ours: none of their bytes is a key."""


@pytest.mark.parametrize(("data", "expected"), list(SEQUENCES.items()))
def test_every_key_sequence(data: bytes, expected: list[str]) -> None:
    assert decode(data) == (expected, b"")


@pytest.mark.parametrize("data", IGNORED)
def test_what_is_no_key_of_ours_is_skipped_whole(data: bytes) -> None:
    assert decode(data + b"q") == ([Key.QUIT], b"")


@pytest.mark.parametrize(("data", "expected"), list(SEQUENCES.items()))
def test_a_sequence_split_anywhere_decodes_the_same(data: bytes, expected: list[str]) -> None:
    for cut in range(1, len(data)):
        first, rest = decode(data[:cut])
        assert first == []
        assert rest == data[:cut]
        assert decode(rest + data[cut:]) == (expected, b"")


def test_a_lone_esc_waits_for_more_then_is_esc() -> None:
    assert decode(b"\x1b") == ([], b"\x1b")
    assert flush(b"\x1b") == [Key.ESC]
    assert flush(b"\x1b[") == [Key.ESC]  # the rest of a sequence that never came
    assert flush(b"\x1bO") == [Key.ESC]
    assert flush(b"") == []


def test_esc_followed_by_a_key_is_esc_then_the_key() -> None:
    assert decode(b"\x1bq") == ([Key.ESC, Key.QUIT], b"")
    assert decode(b"\x1b\x1b[A") == ([Key.ESC, Key.UP], b"")
    assert decode(b"j\x1b") == ([Key.DOWN], b"\x1b")


def test_an_endless_sequence_is_dropped() -> None:
    junk = b"\x1b[" + b"1;" * 40
    assert decode(junk) == ([], b"")
    assert decode(b"\x1b[" + b"1;" * 5) == ([], b"\x1b[" + b"1;" * 5)


@settings(max_examples=examples(300), deadline=None)
@given(
    picks=st.lists(st.sampled_from(list(SEQUENCES) + IGNORED), max_size=20),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_keys_read_in_any_pieces_are_the_keys_sent(picks: list[bytes], cuts: list[int]) -> None:
    data = b"".join(picks)
    expected = [k for p in picks for k in SEQUENCES.get(p, [])]
    got: list[str] = []
    rest = b""
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        keys, rest = decode(rest + data[start:end])
        got += keys
    assert rest == b""
    assert got == expected


# --- the terminal's mode, on a real pseudo-terminal


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    """(master, slave) of a new pseudo-terminal; the slave is the terminal keys come from."""
    master, slave = os.openpty()
    try:
        yield master, slave
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


LFLAG: Final = 3
CC: Final = 6


def test_cbreak_on_entering_and_the_exact_mode_back_on_leaving(
    pty_pair: tuple[int, int],
) -> None:
    _master, slave = pty_pair
    # An unusual mode to begin with, so that "back" cannot mean "back to the defaults".
    mode = termios.tcgetattr(slave)
    mode[0] &= ~termios.ICRNL
    mode[LFLAG] |= termios.ECHOCTL | termios.ECHONL
    mode[CC][termios.VINTR] = b"\x07"
    termios.tcsetattr(slave, termios.TCSANOW, mode)
    before = termios.tcgetattr(slave)
    with KeyReader(slave) as reader:
        assert reader.fd == slave
        during = termios.tcgetattr(slave)
        assert not during[LFLAG] & (termios.ICANON | termios.ECHO | termios.ECHONL)
        assert during[LFLAG] & termios.ISIG  # Ctrl-C still raises SIGINT
        assert during[CC][termios.VMIN] == 1 and during[CC][termios.VTIME] == 0
        assert during[:3] == before[:3]  # input, output and control modes untouched
        assert during[CC][termios.VINTR] == b"\x07"
    assert termios.tcgetattr(slave) == before


def test_the_mode_comes_back_after_an_exception(pty_pair: tuple[int, int]) -> None:
    _master, slave = pty_pair
    before = termios.tcgetattr(slave)
    with pytest.raises(RuntimeError, match="boom"), KeyReader(slave):
        assert termios.tcgetattr(slave) != before
        raise RuntimeError("boom")
    assert termios.tcgetattr(slave) == before


def test_restore_is_safe_twice_and_before_entering(pty_pair: tuple[int, int]) -> None:
    _master, slave = pty_pair
    before = termios.tcgetattr(slave)
    reader = KeyReader(slave)
    reader.restore()  # never entered: nothing to give back
    assert termios.tcgetattr(slave) == before
    with reader:
        reader.restore()
        assert termios.tcgetattr(slave) == before
        # Whatever changes the mode after the restore is not undone by the exit.
        changed = termios.tcgetattr(slave)
        changed[LFLAG] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, changed)
    assert termios.tcgetattr(slave) == changed


def within(fn: Callable[[], T]) -> T:
    """``fn()``, failing instead of hanging if it blocks past the deadline."""
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), "blocked"
    return out[0]


def test_keys_are_read_without_blocking_and_without_echo(pty_pair: tuple[int, int]) -> None:
    master, slave = pty_pair
    with KeyReader(slave) as reader:
        assert within(reader.read_keys) == []
        assert not reader.pending()
        os.write(master, b"jk\x1b[6~\r?q")
        ready, _, _ = select.select([reader.fd], [], [], DEADLINE)
        assert ready
        assert reader.pending()
        assert within(reader.read_keys) == [
            Key.DOWN,
            Key.UP,
            Key.PAGE_DOWN,
            Key.ENTER,
            Key.HELP,
            Key.QUIT,
        ]
        assert within(reader.read_keys) == []
        assert not reader.pending()
        assert select.select([master], [], [], 0.0)[0] == []  # nothing echoed


def test_a_lone_esc_is_esc_once_nothing_follows(pty_pair: tuple[int, int]) -> None:
    master, slave = pty_pair
    with KeyReader(slave) as reader:
        os.write(master, b"j\x1b")
        select.select([reader.fd], [], [], DEADLINE)
        assert within(reader.read_keys) == [Key.DOWN, Key.ESC]


def test_a_terminal_that_hung_up_gives_no_keys(pty_pair: tuple[int, int]) -> None:
    master, slave = pty_pair
    with KeyReader(slave) as reader:
        os.close(master)
        assert within(reader.read_keys) == []
        assert reader.closed
        assert within(reader.read_keys) == []
        assert not reader.pending()  # always readable now, but there is nothing to read


CHILD: Final = """
import fcntl, sys, termios, time
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty becomes this session's terminal
from value_diag.tui.keys import stdin_keys
before = termios.tcgetattr(0)
reader = stdin_keys(sys.stdin)
assert reader is not None
try:
    with reader:
        print("ready", flush=True)
        time.sleep(60)
except KeyboardInterrupt:
    print("interrupted", "restored" if termios.tcgetattr(0) == before else "changed")
"""


def test_ctrl_c_still_interrupts_and_the_mode_comes_back(pty_pair: tuple[int, int]) -> None:
    master, slave = pty_pair
    with subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=clean_env(PYTHONPATH=str(ROOT)),
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
            os.write(master, b"\x03")  # Ctrl-C typed on the terminal
            out, err = child.communicate(timeout=DEADLINE)
        finally:
            if child.poll() is None:
                child.kill()
    assert out == b"interrupted restored\n", err


def test_keys_come_only_from_a_terminal_in_the_foreground(
    pty_pair: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _master, slave = pty_pair
    assert stdin_keys(io.StringIO("not a terminal")) is None
    r, w = os.pipe()
    try:
        with os.fdopen(os.dup(r)) as pipe:
            assert stdin_keys(pipe) is None
    finally:
        os.close(r)
        os.close(w)
    with os.fdopen(os.dup(slave)) as terminal:
        reader = stdin_keys(terminal)  # not this process's controlling terminal: no job control
        assert reader is not None and reader.fd == terminal.fileno()

        def background(fd: int) -> Any:
            return os.getpgrp() + 1  # another process group has the terminal

        monkeypatch.setattr(os, "tcgetpgrp", background)
        assert stdin_keys(terminal) is None
