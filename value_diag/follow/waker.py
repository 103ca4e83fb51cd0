"""Waits for a followed path to change, a signal, or a tick."""

from __future__ import annotations

import os
import selectors
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from value_diag.follow.stopper import Stopper

if TYPE_CHECKING:
    from watchfiles import Change

    from value_diag.render.sinks import KeySource

STEP_MS: Final = 8
"""How often the file watcher looks for a quiet moment after a change (ms): the latency."""
DEBOUNCE_MS: Final = 20
"""Longest a frame waits while writes keep arriving (ms)."""
TICK_S: Final = 0.25
"""Longest sleep without looking (s): resizes, the age of the last update, missed events;
also how often every file is looked at when notifications cannot be had."""


@dataclass(frozen=True, slots=True)
class Wake:
    """What a wait learnt: the followed paths that changed (absolute, as followed, or
    their symlinks' targets; None when it cannot tell: a poll, a tick without
    notifications), and whether a file was created below a watched directory."""

    paths: frozenset[str] | None
    added: bool = False


UNKNOWN: Final = Wake(None)
"""A wait that cannot tell what changed: every followed file is looked at."""
NOTHING: Final = Wake(frozenset())
"""A wait cut short that saw no change: only files behind in reading are looked at."""


class Waker:
    """Blocks until a followed path may have changed, a run file was created below a
    watched directory, a key was pressed, a signal arrived, or a tick passed.

    File-system notifications come from watchfiles, watching the parent directories
    (not the files: a replaced file would no longer be watched), and the ``roots`` in
    which new run files may appear, with what lies below them. Where a directory does
    not exist yet, or with --poll, it looks at a fixed interval instead.

    Where notifications cannot be had, it looks every TICK_S and ``fallback`` says why
    (for the watch to say once): inotify instances or watches used up, a folder below a
    root that cannot be read. A directory whose name is no UTF-8 (which watchfiles
    cannot take) is left out of them, and every wait then tells nothing of what changed,
    so that its files are looked at each time.
    """

    def __init__(
        self,
        paths: list[str],
        stopper: Stopper,
        poll: float | None,
        roots: list[str] | None = None,
        keys: KeySource | None = None,
    ) -> None:
        self.stopper = stopper
        self.poll = poll
        self.keys = keys
        # A symlinked log changes where the link points: watch both places. realpath, unlike
        # Path.resolve on Python 3.11, stops at a symlink loop instead of raising.
        absolute = [os.path.abspath(p) for p in paths]
        self._targets = set(absolute) | {os.path.realpath(p) for p in absolute}
        self._roots = tuple(os.path.join(os.path.abspath(r), "") for r in roots or ())
        dirs = {str(Path(p).parent) for p in self._targets} | {
            os.path.abspath(r) for r in roots or ()
        }
        self._dirs = sorted(d for d in dirs if _utf8(d))
        self._blind = len(self._dirs) < len(dirs)
        """Some directory cannot be watched: no wait can say what changed."""
        self._watch: Iterator[set[tuple[Change, str]]] | None = None
        self.fallback: str | None = None
        """Why notifications could not be had (it looks every TICK_S instead)."""

    def wait(self, timeout: float | None = None) -> Wake:
        """Returns after the next change, key, signal or tick: what it knows changed.

        The first wait of a notifier cannot tell: what changed before it started sent no
        event it could see. With ``timeout`` (a frame held back by the frame-rate cap,
        due shorter than a tick), it waits only that long for a key or a signal and says
        that nothing is known to have changed: the notifier keeps what it sees for the
        next wait.
        """
        if timeout is not None and timeout < (TICK_S if self.poll is None else self.poll):
            if timeout > 0:
                self._sleep(timeout)
            return NOTHING
        fresh = False
        if self.poll is None and self._watch is None and self._dirs and self.fallback is None:
            self._watch = self._start()
            fresh = True
        if self._watch is None:
            self._sleep(self.poll if self.poll is not None else TICK_S)
            return UNKNOWN
        try:
            changes = next(self._watch)
        except StopIteration:
            self._watch = None
            return UNKNOWN
        except FileNotFoundError:  # a watched directory went away: look again shortly
            self._watch = None
            self._sleep(TICK_S)
            return UNKNOWN
        except (OSError, RuntimeError) as exc:  # watchfiles' own errors are RuntimeErrors
            self.close()
            self.fallback = unavailable(exc)
            self._sleep(TICK_S)
            return UNKNOWN
        from watchfiles import Change  # imported by _start already

        targets = self._targets
        return Wake(
            paths=None
            if fresh or self._blind
            else frozenset(p for _c, p in changes if p in targets),
            added=any(c is Change.added and p not in targets for c, p in changes),
        )

    def close(self) -> None:
        """Stops watching (the notifier's thread ends)."""
        if self._watch is not None:
            close = getattr(self._watch, "close", None)
            if close is not None:
                close()
            self._watch = None

    def _start(self) -> Iterator[set[tuple[Change, str]]] | None:
        if not all(Path(d).is_dir() for d in self._dirs):
            return None
        import watchfiles
        from watchfiles import Change

        targets, roots = self._targets, self._roots

        def wanted(change: Change, path: str) -> bool:
            return path in targets or (change is Change.added and path.startswith(roots))

        try:
            watcher: Iterator[set[tuple[Change, str]]] = watchfiles.watch(
                *self._dirs,
                watch_filter=wanted,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=_Either(self.stopper, self.keys),
                rust_timeout=int(TICK_S * 1000),
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=bool(roots),
            )
            return watcher
        except OSError:
            return None

    def _sleep(self, seconds: float) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.stopper.wake_fd, selectors.EVENT_READ)
            if self.keys is not None:
                sel.register(self.keys.fd, selectors.EVENT_READ)
            sel.select(seconds)
        finally:
            sel.close()
        self.stopper.drain()


def unavailable(exc: BaseException) -> str:
    """Why file-system notifications cannot be had, in a few words (the note of a watch
    that polls instead)."""
    text = str(exc)
    if "Too many open files" in text or "os error 24" in text:
        why = "inotify instances used up: fs.inotify.max_user_instances"
    elif "watch limit" in text or "No space left on device" in text:
        why = "inotify watches used up: fs.inotify.max_user_watches"
    elif "Unable to decode path" in text:
        why = "a folder name below is not UTF-8"
    elif isinstance(exc, PermissionError) or "Permission denied" in text:
        why = "a folder below cannot be read"
    else:
        why = text.splitlines()[0] if text else type(exc).__name__
    return f"file notifications unavailable ({why}); polling every {TICK_S:g}s"


def _utf8(path: str) -> bool:
    """Whether watchfiles can take the path: its name is UTF-8 (not bytes kept as surrogates)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Either:
    """What watchfiles asks every STEP_MS whether to stop: a signal, or a key pressed.

    After a key the notifier is started again (the caller's next wait)."""

    def __init__(self, stopper: Stopper, keys: KeySource | None) -> None:
        self.stopper = stopper
        self.keys = keys

    def is_set(self) -> bool:
        return self.stopper.event.is_set() or (self.keys is not None and self.keys.pending())
