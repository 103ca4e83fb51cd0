"""A wall-clock bound on calls that cannot be given one: one thread for the whole process.

paramiko bounds each sftp request (settings.READ_TIMEOUT_S), not a call made of many: a
listing of a huge or looping tree asks on and on, each answer in time, and a server that
trickles a byte at a time keeps a read alive. ``bounded(seconds, cancel)`` runs a call
under a deadline; past it, ``cancel`` (closing the connection) makes the call fail at its
next request, and the failure is said as "timed out". One watcher thread serves every
call of the process, started with the first one.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Final

from value_diag.ingest.remote.reasons import RemoteFailure

TIMED_OUT: Final = "timed out"


class _Watcher:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, Callable[[], None], threading.Event]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, cancel: Callable[[], None]) -> tuple[int, threading.Event]:
        fired = threading.Event()
        with self._cond:
            key = next(self._ids)
            self._due[key] = (time.monotonic() + seconds, cancel, fired)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return key, fired

    def remove(self, key: int) -> None:
        with self._cond:
            self._due.pop(key, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                late = [k for k, (at, _, _) in self._due.items() if at <= now]
                expired = [self._due.pop(k) for k in late]
                if not expired:
                    soonest = min((at for at, _, _ in self._due.values()), default=now + 3600)
                    self._cond.wait(soonest - now)
                    continue
            for _, cancel, fired in expired:
                fired.set()
                with contextlib.suppress(Exception):  # a connection already broken
                    cancel()


_WATCHER: Final = _Watcher()


@contextlib.contextmanager
def bounded(seconds: float, cancel: Callable[[], None]) -> Iterator[None]:
    """Runs the block under a deadline: past it, ``cancel()`` is called from the watcher
    thread, and the block's failure (or its end) raises RemoteFailure("timed out")."""
    key, fired = _WATCHER.add(seconds, cancel)
    try:
        yield
    except Exception:
        if fired.is_set():
            raise RemoteFailure(TIMED_OUT) from None
        raise
    finally:
        _WATCHER.remove(key)
    if fired.is_set():
        raise RemoteFailure(TIMED_OUT)
