"""SIGINT, SIGTERM and SIGHUP end the watch cleanly; SIGWINCH asks for a redraw."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Stopper:
    """SIGINT, SIGTERM and SIGHUP end the watch cleanly; a self-pipe wakes any select()."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.resized = threading.Event()
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
        old = {
            sig: signal.signal(sig, self._handle)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH)
        }
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            with self._lock:
                self._open = False
                os.close(self._r)
                os.close(self._w)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGWINCH:
            self.resized.set()
        else:
            self.event.set()
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
