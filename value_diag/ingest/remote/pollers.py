"""One thread per backend: the files followed on one store or host are looked at in turn.

A sweep of 500 runs in one bucket is followed by one thread, not 500: the calls to a store
take turns on it (an ssh connection takes requests in turn anyway), each bounded in time
(backends.py), and the watch's drawing never waits for any of them. A backend is a scheme
and a host (with the user-info given for it, which is one connection's); its thread is
named after its public form (``follow s3://bucket``), ends when its last file is let go,
and starts again with the next one.
"""

from __future__ import annotations

import threading
import time
from typing import Final, Protocol

from value_diag.redact import public, split

IDLE_S: Final = 3600.0
"""Longest sleep of a thread whose files want nothing (a poke wakes it sooner) (s)."""


class Member(Protocol):
    """A followed file, as its backend's thread sees it."""

    def due(self) -> float | None:
        """When it next wants a step (time.monotonic); None: not until it is poked."""
        ...

    def step(self) -> None:
        """One turn: a look at the file, or some blocks of a read in progress."""
        ...


_LOCK: Final = threading.Lock()
_POLLERS: dict[tuple[str, str], Poller] = {}


class Poller:
    """The thread of one backend and the files it follows."""

    def __init__(self, key: tuple[str, str], name: str) -> None:
        self._key = key
        self._members: list[Member] = []
        self._cond = threading.Condition(_LOCK)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def add(self, member: Member) -> None:
        """Starts following ``member`` (under _LOCK)."""
        self._members.append(member)
        if self._thread.ident is None:  # its first file
            self._thread.start()
        self._cond.notify()

    def remove(self, member: Member) -> None:
        """Stops following ``member``: the step it is in, if any, is its last."""
        with self._cond:
            if member in self._members:
                self._members.remove(member)
            self._cond.notify()

    def poke(self) -> None:
        """Something changed a member's wishes (room in its queue): look again."""
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        try:
            self._turns()
        except BaseException:  # a bug: said by Python (with the thread's name), and gone
            with _LOCK:
                if _POLLERS.get(self._key) is self:
                    del _POLLERS[self._key]
            raise

    def _turns(self) -> None:
        while True:
            with self._cond:
                if not self._members:
                    del _POLLERS[self._key]  # the next file of this backend starts anew
                    return
                now = time.monotonic()
                wishes = [(m, m.due()) for m in self._members]
                ready = [m for m, at in wishes if at is not None and at <= now]
                if not ready:
                    later = [at for _, at in wishes if at is not None]
                    self._cond.wait(min([*later, now + IDLE_S]) - now)
                    continue
            for member in ready:
                member.step()  # outside the lock: it calls the network


def follow(url: str, member: Member) -> Poller:
    """Has the thread of ``url``'s backend follow ``member`` (starting it if need be)."""
    parts = split(url)
    assert parts is not None, "a URL"
    key = (parts.scheme.lower(), f"{parts.user}@{parts.where.partition('/')[0]}")
    scheme, _, rest = public(url).partition("://")
    with _LOCK:
        poller = _POLLERS.get(key)
        if poller is None:
            name = f"follow {scheme}://{rest.partition('/')[0]}"  # said with a bug's traceback
            poller = _POLLERS[key] = Poller(key, name)
        poller.add(member)
    return poller
