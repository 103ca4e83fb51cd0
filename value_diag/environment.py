"""What a command sees of the world: its streams, their tty flags, the environment
variables, the clock, and the one voice of every `value-diag:` line.

By default it is the process's own (``Environment.from_process``); every attribute can be
given instead, which is what the test suite does: in-memory streams and a dict of
variables, so that a usage message, a format or an exit code is checked in-process in
milliseconds rather than by starting the console script (httpie's ``Environment`` and
``MockEnvironment`` work the same way).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TextIO, cast

from value_diag.voice import PROG, voiced

__all__ = ["PROG", "Environment", "voiced"]


def _now() -> float:
    """``time.time()``, looked up when called (so that a test's stand-in for it counts)."""
    return time.time()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or no descriptor
        return False


class Environment:
    """The streams, variables and clock a command runs against.

    Attributes:
        stdin, stdout, stderr: text streams. stderr is written by ``say``, and cannot fail
            the command nor show a URL's secrets (streams.Unfailing wraps it).
        stdin_isatty, stdout_isatty, stderr_isatty: whether each is a terminal; by
            default asked of the stream once, when the environment is made.
        environ: the environment variables (read only).
        clock: seconds since the epoch (``time.time`` by default).
    """

    def __init__(
        self,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        environ: Mapping[str, str],
        clock: Callable[[], float] | None = None,
        stdin_isatty: bool | None = None,
        stdout_isatty: bool | None = None,
        stderr_isatty: bool | None = None,
    ) -> None:
        from value_diag.streams import Unfailing

        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr if isinstance(stderr, Unfailing) else cast(TextIO, Unfailing(stderr))
        self.environ = environ
        self.clock = clock or _now
        self.stdin_isatty = _isatty(stdin) if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = _isatty(stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = _isatty(stderr) if stderr_isatty is None else stderr_isatty

    @classmethod
    def from_process(cls) -> Environment:
        """The process's own, made safe first: a closed standard stream is /dev/null, and
        ``sys.stderr`` itself can neither fail the command nor show a URL's secrets, whoever
        writes to it (streams.py)."""
        from value_diag.streams import guard_stderr, reopen_closed

        reopen_closed()
        guard_stderr()
        return cls.of_process()

    @classmethod
    def of_process(cls) -> Environment:
        """The process's streams and variables as they are (for a command run from
        Python rather than from the command line)."""
        return cls(stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr, environ=os.environ)

    def say(self, message: str, level: str | None = None) -> None:
        """Writes one line on stderr in the program's voice: ``value-diag: MESSAGE``, or
        ``value-diag: LEVEL: MESSAGE`` (``error``, ``warning``); flushed at once, so it
        comes after what stdout already showed. The caller cleans what came from data."""
        self.tell(voiced(message, level))

    def tell(self, line: str) -> None:
        """Writes a line already in the program's voice (``voiced``: a verdict that render/
        built) on stderr, flushed at once, as ``say`` does."""
        self.stderr.write(line + "\n")
        self.stderr.flush()

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` are this environment's streams
        while the block runs, for what still writes to them itself (the parser's help and
        messages, and the layers that take no Environment yet); the process's own are
        left as they are."""
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.stdout, self.stderr
        try:
            yield
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
