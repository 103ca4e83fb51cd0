"""The standard streams as a command needs them: there, and a stderr that cannot fail it
nor show a secret.

The exit code is the verdict, never the fate of a message. A stderr the caller closed
(``2>&-``) or a pipe whose reader left (``2>&1 | head -1``) loses the lines written to
it, and nothing else: a write that fails points the descriptor at /dev/null and returns,
so the error line of an unreadable file still ends in exit 2 and a failing gate in exit 1.
A stdout whose reader left is the command's own business (``once`` still judges every
run; ``watch`` ends with the verdict of what it had to show).

Every URL written to stderr is shown as value_diag/redact.py shows it: the messages name
URLs that way already, and this is the last look before a line leaves, whatever wrote it
(a library's warning, a thread's uncaught error).
"""

from __future__ import annotations

import os
import select
import stat
import sys
from collections.abc import Callable, Iterable
from typing import IO, Final, TextIO, cast

from value_diag.redact import scrub_users

STOP_CHECK_S: Final = 0.1
"""How long a write to a stdout that takes nothing waits before it asks again whether a
stop was asked for (s): a stop signal is obeyed that soon even when nobody reads stdout."""


class Stopped(Exception):
    """A stop was asked for while stdout would take nothing more; what it had not taken
    is dropped."""


def _never() -> bool:
    return False


class GivingWay:
    """A text stream on a descriptor whose writes give way to a stop.

    A blocking write to a full pipe (a stalled log shipper, a stopped ``| less``) waits
    for ever, and a signal handler that only sets a flag cannot end it: Python retries the
    write after the handler. Here bytes go out only when select() says the descriptor
    takes them, at most PIPE_BUF at a time (a pipe with room takes that much without
    blocking), and between looks ``stopping`` is asked; once it is true, ``flush`` drops
    what is left and raises Stopped.

    Everything but writing is the wrapped stream's (``fileno``, ``isatty``, ``encoding``).
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.stopping: Callable[[], bool] = _never
        """True once the process should stop (set by the command that knows its signals)."""
        self._fd = stream.fileno()
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._errors = getattr(stream, "errors", None) or "strict"
        self._pending = bytearray()

    def write(self, text: str) -> int:
        """Takes ``text`` in; it goes out at the next ``flush``."""
        self._pending += text.encode(self._encoding, self._errors)
        return len(text)

    def flush(self) -> None:
        """Writes what was taken in, as the descriptor takes it.

        Raises:
            Stopped: a stop was asked for before all of it went out (the rest is dropped).
            OSError: the write failed (BrokenPipeError: the reader left); the rest is dropped.
        """
        while self._pending:
            if self.stopping():
                self._pending.clear()
                raise Stopped
            try:
                _, ready, _ = select.select([], [self._fd], [], STOP_CHECK_S)
                if ready:
                    del self._pending[: os.write(self._fd, self._pending[: select.PIPE_BUF])]
            except BlockingIOError:  # the descriptor was left non-blocking by someone else
                continue
            except OSError:
                self._pending.clear()
                raise

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def giving_way(stream: IO[str]) -> GivingWay | None:
    """``stream`` (flushed first) as a GivingWay, or None where select() cannot wait on it
    (no descriptor, or not a POSIX system)."""
    if os.name != "posix":
        return None
    try:
        stream.flush()
        return GivingWay(stream)
    except (AttributeError, ValueError, OSError):
        return None


def silence_shared_stderr() -> None:
    """Points stderr at /dev/null if it is the pipe stdout is (``2>&1 | reader``), for
    when stdout's reader left or stopped reading: a line for stderr would wait for ever
    in a pipe nobody reads, and the exit code must not wait on it."""
    try:
        out, err = os.fstat(1), os.fstat(2)
    except OSError:
        return
    if not stat.S_ISFIFO(out.st_mode) or (out.st_dev, out.st_ino) != (err.st_dev, err.st_ino):
        return
    if isinstance(sys.stderr, Unfailing):
        sys.stderr.silence()
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass


def reopen_closed() -> None:
    """A standard stream closed by the caller (`>&-`, `<&-`) is /dev/null instead.

    Python leaves such a stream as None, which nothing here could print to or read from;
    like /dev/null, a closed stdout shows nothing and the exit code still tells the verdict.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is not None:
            continue
        devnull = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - lives as long as sys


class Unfailing:
    """A text stream whose writes never raise (the first that fails silences it for good)
    and never show a URL's secrets.

    Everything but writing is the wrapped stream's (``fileno``, ``isatty``, ``encoding``),
    so a console drawing on stderr sees the stream it always did.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lost = False
        """A write failed: nothing more is written (the descriptor is /dev/null)."""

    def write(self, text: str) -> int:
        """Writes ``text``, or drops it once the stream is lost; its length either way."""
        if not self.lost:
            try:
                self.stream.write(scrub_users(text))
            except BlockingIOError:  # a full non-blocking pipe: this line is lost, not the rest
                pass
            except (OSError, ValueError):  # EPIPE, EBADF, EIO, ENOSPC; or a closed file
                self._lose()
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Writes each line (see ``write``)."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flushes the stream, or nothing once it is lost."""
        if not self.lost:
            try:
                self.stream.flush()
            except BlockingIOError:
                pass
            except (OSError, ValueError):
                self._lose()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)

    def silence(self) -> None:
        """Nothing more is written (what the buffer holds goes to /dev/null)."""
        if not self.lost:
            self._lose()

    def _lose(self) -> None:
        """Points the descriptor at /dev/null, so what the stream still holds in its buffer
        (flushed at exit) and what the interpreter writes there itself go nowhere."""
        self.lost = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)
            self.stream.flush()  # now into /dev/null: the buffer is empty
        except (OSError, ValueError):  # no descriptor (an in-memory stream), or closed
            pass


def guard_stderr() -> None:
    """Makes ``sys.stderr`` unable to fail a command (see ``Unfailing``); idempotent."""
    if sys.stderr is not None and not isinstance(sys.stderr, Unfailing):
        sys.stderr = cast(TextIO, Unfailing(sys.stderr))
