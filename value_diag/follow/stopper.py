"""SIGINT, SIGTERM and SIGHUP end the watch cleanly; SIGWINCH asks for a redraw; the
other signals whose default is to end the process end it too, after the terminal is
restored, with the status that signal gives."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Final, TextIO

STOPS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that end the watch with exit 0."""
FATAL: Final = tuple(
    getattr(signal, name)
    for name in (
        "SIGQUIT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGVTALRM",
        "SIGPROF",
        "SIGXCPU",
        "SIGIO",
        "SIGPWR",
    )
    if hasattr(signal, name)
)
"""Signals whose default ends the process at once, the terminal left as it was drawn on
(alternate screen, hidden cursor, no echo): caught, the watch ends cleanly, and then the
signal ends the process as it would have (a shell sees 128+N; SIGQUIT may dump core).
Faults (SIGSEGV, SIGBUS...) are not here: they cannot be handled at Python's level."""
GRACE_S: Final = 0.5
"""How long a write to the terminal or a standard stream may go without returning, once a
stop signal came, before the watch counts as stuck in a write nobody takes (a terminal whose
output is stopped with Ctrl-S, a hung terminal emulator, a pipe nobody reads) and the process
is ended from another thread (s). A watch that is only slow to end by itself is let end."""
CHECK_S: Final = 0.05
"""How often, after a stop signal, the stopper looks whether the watch is stuck (s)."""


class Stopper:
    """SIGINT, SIGTERM and SIGHUP end the watch cleanly; a self-pipe wakes any select()."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.resized = threading.Event()
        self.fatal: int | None = None
        """The first FATAL signal that arrived: ``reraise`` ends the process with it."""
        self.code = 0
        """The exit code a watch ended from another thread takes: 1 once frames reaching
        --fail-on are on their way out, so a stuck write never turns a failure into 0."""
        self.abandon: Callable[[], None] | None = None
        """What gives the terminal back without waiting on it, before a stuck watch is ended."""
        self.stuck_for: Callable[[], float] = _never_stuck
        """Seconds the write under way has not returned for (render/sinks.py's WRITES)."""
        self._grace: threading.Thread | None = None
        self._done = threading.Event()
        """The handlers' block is over: the watchdog has nothing left to watch."""
        self._r, self._w = os.pipe()
        self._lock = threading.Lock()
        self._open = True
        """The pipe is open: a late poke from a thread must not write to a reused fd."""
        os.set_blocking(self._w, False)
        os.set_blocking(self._r, False)

    @property
    def wake_fd(self) -> int:
        """Readable when a signal arrived."""
        return self._r

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Installs the handlers for the duration of the block."""
        old = {sig: signal.signal(sig, self._handle) for sig in (*STOPS, signal.SIGWINCH)}
        for sig in FATAL:
            if signal.getsignal(sig) is signal.SIG_DFL:  # ignored by the caller: left so
                old[sig] = signal.signal(sig, self._handle)
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            self._done.set()
            if self._grace is not None:
                self._grace.join()  # given up on already: it ends the process when done
            with self._lock:
                self._open = False
                os.close(self._r)
                os.close(self._w)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGWINCH:
            self.resized.set()
        else:
            if signum in FATAL and self.fatal is None:
                self.fatal = signum
            self.event.set()
            if self._grace is None:
                self._grace = threading.Thread(target=self._watchdog, daemon=True)
                self._grace.start()
        with contextlib.suppress(OSError):
            os.write(self._w, b"\0")

    def poke(self) -> None:
        """Wakes the select() of the watch loop (from a thread that has news for it)."""
        with self._lock, contextlib.suppress(OSError):
            if self._open:
                os.write(self._w, b"\1")

    def drain(self) -> None:
        """Empties the wake-up pipe."""
        with contextlib.suppress(OSError):
            while os.read(self._r, 512):
                pass

    def _watchdog(self) -> None:
        """After a stop signal: ends a watch whose write has not returned for GRACE_S (from
        GRACE_S after the signal on), and lets a watch that is slow otherwise end by itself."""
        if self._done.wait(GRACE_S):
            return
        while self.stuck_for() < GRACE_S:
            if self._done.wait(CHECK_S):
                return
        self._stuck()

    def _stuck(self) -> None:
        """A write has not returned for GRACE_S since a stop signal: the main thread waits
        in a write that will never finish. The terminal is given back without waiting, and the
        process ends: exit ``code`` (1 if the frames being written failed the gate), or
        128+N for a FATAL signal N (what a shell would see; the default action cannot be
        set back from this thread)."""
        if self.abandon is not None:
            with contextlib.suppress(Exception):
                self.abandon()
        os._exit(self.code if self.fatal is None else 128 + self.fatal)

    def reraise(self, *streams: TextIO) -> None:
        """Ends the process with the FATAL signal that stopped the watch, if one did (its
        handler is the default again by then: the block of ``installed`` is over), once
        ``streams`` (the command's stdout and stderr) are flushed."""
        if self.fatal is None:
            return
        for stream in streams:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        signal.signal(self.fatal, signal.SIG_DFL)
        os.kill(os.getpid(), self.fatal)


def _never_stuck() -> float:
    return 0.0
