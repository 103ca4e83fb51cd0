"""Keys from the terminal, read without blocking the watch loop: the tty in cbreak mode.

``decode`` is pure (bytes to key names by tui/bindings.py's table, and the rest of a
sequence cut by a read); the
KeyReader puts the terminal in cbreak mode (no echo, no line editing, signals kept, so
Ctrl-C still reaches the Stopper) and gives back the exact previous mode on the way out.
"""

from __future__ import annotations

import contextlib
import os
import select
from types import TracebackType
from typing import Any, Final, TextIO

from value_diag.tui.bindings import FINALS, PLAIN, TILDE, Key

ESC: Final = 0x1B
ESC_TIMEOUT_S: Final = 0.05
"""How long an ESC waits for the rest of a sequence before it counts as the Esc key (s).
A terminal sends a whole sequence in one write; a person pressing Esc then [ is slower."""
MAX_SEQUENCE: Final = 32
"""Bytes of an escape sequence still waiting for its end after which it is dropped."""
MAX_STRING: Final = 4096
"""Bytes of a terminal's string report (DCS, OSC, APC...) still waiting for its end after
which it is dropped: replies such as a colour or a title are longer than a key's sequence."""
STRINGS: Final = frozenset(b"P]_^X")
"""The byte after ESC that opens a string ended by ST (ESC \\) or BEL: DCS (a DECRQSS
reply), OSC, APC, PM and SOS. None of its bytes is a key."""
BEL: Final = 0x07
X10_MOUSE: Final = 3
"""Bytes after ESC [ M in an X10 mouse report: button, column and row, each 32 + n (a
click at column 81 is ``q``)."""
READ_SIZE: Final = 1024
LFLAG: Final = 3
CC: Final = 6
"""Indexes of the local modes and the control characters in termios' attribute list."""


def decode(buffer: bytes) -> tuple[list[str], bytes]:
    """The keys in ``buffer``, and its end if that is the start of an unfinished sequence.

    The rest goes in front of the next read; ``flush`` decodes it once no more came.
    Sequences that are no key of ours (other function keys, mouse reports) are skipped
    whole, so none of their bytes counts as a key.
    """
    keys: list[str] = []
    i, n = 0, len(buffer)
    while i < n:
        byte = buffer[i]
        if byte != ESC:
            key = PLAIN.get(buffer[i : i + 1])
            if key is not None:
                keys.append(key)
            i += 1
            continue
        if i + 1 == n:
            return keys, buffer[i:]
        intro = buffer[i + 1]
        if intro == ord("O"):  # SS3: one more byte
            if i + 2 == n:
                return keys, buffer[i:]
            final = FINALS.get(buffer[i + 2])
            if final is not None:
                keys.append(final)
            i += 3
        elif intro in STRINGS:  # a report the terminal sends, up to ST or BEL: skipped whole
            end = _string_end(buffer, i + 2)
            if end is None:
                if n - i > MAX_STRING:
                    return keys, b""  # no end in sight: dropped
                return keys, buffer[i:]
            i = end
        elif buffer[i + 1 : i + 3] == b"[M":  # X10 mouse: three bytes of any value follow
            if n - i < 3 + X10_MOUSE:
                return keys, buffer[i:]
            i += 3 + X10_MOUSE
        elif intro == ord("["):  # CSI: parameters and intermediates, then a final byte
            end = i + 2
            while end < n and not 0x40 <= buffer[end] <= 0x7E:
                end += 1
            if end == n:
                if n - i > MAX_SEQUENCE:
                    return keys, b""  # no end in sight: not a sequence of ours
                return keys, buffer[i:]
            key = _csi(buffer[i + 2 : end], buffer[end])
            if key is not None:
                keys.append(key)
            i = end + 1
        else:  # ESC and a key pressed at once (or Alt+key): Esc, then the key
            keys.append(Key.ESC)
            i += 1
    return keys, b""


def _string_end(buffer: bytes, start: int) -> int | None:
    """The index just past the ST (ESC \\) or BEL that ends the string from ``start``;
    None if it has not arrived."""
    for j in range(start, len(buffer)):
        if buffer[j] == BEL:
            return j + 1
        if buffer[j] == ESC and buffer[j + 1 : j + 2] == b"\\":
            return j + 2
    return None


def _csi(params: bytes, final: int) -> Key | None:
    if final == ord("~"):
        return TILDE.get(params.split(b";")[0])
    return FINALS.get(final)


def flush(rest: bytes) -> list[str]:
    """The keys of a sequence's start that nothing followed in time: a lone ESC is Esc.

    A terminal's report cut short (a string, a mouse report) is no key at all.
    """
    if not rest:
        return []
    if len(rest) > 1 and rest[0] == ESC and (rest[1] in STRINGS or rest[1:3] == b"[M"):
        return []
    keys, _ = decode(rest[1:])
    return [Key.ESC, *keys] if rest[0] == ESC else keys


class KeyReader:
    """The terminal on ``fd`` in cbreak mode while in use; its keys read without blocking.

    Entering saves the terminal's attributes and turns off echo and line editing (ISIG
    stays, so Ctrl-C raises SIGINT, and the input and output settings are left alone);
    leaving, or ``restore()``, sets the saved attributes back exactly, once.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._saved: list[Any] | None = None
        self._rest = b""
        self.closed = False
        """True once the terminal hung up: the fd is then always readable, so stop
        selecting on it."""

    @property
    def fd(self) -> int:
        """The terminal's descriptor, readable when keys are waiting: select() on it."""
        return self._fd

    def __enter__(self) -> KeyReader:
        import termios

        if self._saved is not None:  # entered already: the modes to give back are kept
            return self
        saved = termios.tcgetattr(self._fd)
        mode = termios.tcgetattr(self._fd)  # a copy to change, its cc list its own
        mode[LFLAG] &= ~(termios.ICANON | termios.ECHO | termios.ECHONL)
        mode[CC][termios.VMIN], mode[CC][termios.VTIME] = 1, 0  # a read returns what is there
        self._saved = saved
        try:
            termios.tcsetattr(self._fd, termios.TCSANOW, mode)
        except BaseException:
            self.restore()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()

    def restore(self) -> None:
        """Sets the attributes saved on entering back; safe to call again, or unentered."""
        import termios

        saved, self._saved = self._saved, None
        if saved is not None:
            with contextlib.suppress(OSError, termios.error):  # the terminal is gone
                termios.tcsetattr(self._fd, termios.TCSANOW, saved)

    def pending(self) -> bool:
        """Whether keys are waiting to be read; never blocks.

        For waits that cannot select on the fd: watchfiles' ``stop_event`` takes any
        object with an ``is_set()``, such as one that asks this and the Stopper's event.
        """
        if self.closed:
            return False
        return bool(self._rest) or bool(select.select([self._fd], [], [], 0.0)[0])

    def read_keys(self) -> list[str]:
        """The keys typed since the last call; [] at once if none.

        An ESC that ends what was read waits up to ESC_TIMEOUT_S for the rest of its
        sequence, and is the Esc key if none comes.
        """
        data = self._read(0.0)
        keys, self._rest = decode(self._rest + data)
        while self._rest:
            more = self._read(ESC_TIMEOUT_S)
            if not more:
                keys += flush(self._rest)
                self._rest = b""
                break
            more_keys, self._rest = decode(self._rest + more)
            keys += more_keys
        return keys

    def _read(self, timeout: float) -> bytes:
        """What is waiting to be read, after up to ``timeout`` seconds for the first byte."""
        out = b""
        while not self.closed:
            ready, _, _ = select.select([self._fd], [], [], 0.0 if out else timeout)
            if not ready:
                break
            try:
                chunk = os.read(self._fd, READ_SIZE)
            except OSError:  # EIO: the terminal hung up
                chunk = b""
            if not chunk:
                self.closed = True
                break
            out += chunk
        return out


def stdin_keys(stdin: TextIO) -> KeyReader | None:
    """A KeyReader on ``stdin`` (the Environment's) if it is a terminal this process may
    read (not a background job, which the terminal would stop at its first read); else None."""
    try:
        fd = stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    if not os.isatty(fd):
        return None
    try:
        foreground = os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:  # not our controlling terminal: no job control to fear
        foreground = True
    return KeyReader(fd) if foreground else None
