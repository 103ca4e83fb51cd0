"""Waits for a followed path to change, a signal, or a tick."""

from __future__ import annotations

import os
import selectors
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from value_diag.commands.stopper import Stopper

STEP_MS: Final = 8
"""How often the file watcher looks for a quiet moment after a change (ms): the latency."""
DEBOUNCE_MS: Final = 20
"""Longest a frame waits while writes keep arriving (ms)."""
TICK_S: Final = 0.25
"""Longest sleep without looking (s): resizes, the age of the last update, missed events."""


class Waker:
    """Blocks until a followed path may have changed, a signal arrives, or a tick passes.

    File-system notifications come from watchfiles, watching the parent directories
    (not the files: a replaced file would no longer be watched). Where a directory
    does not exist yet, or with --poll, it looks at a fixed interval instead.
    """

    def __init__(self, paths: list[str], stopper: Stopper, poll: float | None) -> None:
        self.stopper = stopper
        self.poll = poll
        # A symlinked log changes where the link points: watch both places. realpath, unlike
        # Path.resolve on Python 3.11, stops at a symlink loop instead of raising.
        absolute = [os.path.abspath(p) for p in paths]
        self._targets = set(absolute) | {os.path.realpath(p) for p in absolute}
        self._dirs = sorted({str(Path(p).parent) for p in self._targets})
        self._watch: Iterator[object] | None = None

    def wait(self) -> None:
        """Returns after the next change, signal or tick."""
        if self.poll is None and self._watch is None:
            self._watch = self._start()
        if self._watch is None:
            self._sleep(self.poll if self.poll is not None else TICK_S)
            return
        try:
            next(self._watch)
        except StopIteration:
            self._watch = None
        except OSError:  # a watched directory went away: look again shortly
            self._watch = None
            self._sleep(TICK_S)

    def _start(self) -> Iterator[object] | None:
        if not all(Path(d).is_dir() for d in self._dirs):
            return None
        import watchfiles

        targets = self._targets
        try:
            watcher: Iterator[object] = watchfiles.watch(
                *self._dirs,
                watch_filter=lambda _change, path: path in targets,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stopper.event,
                rust_timeout=int(TICK_S * 1000),
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=False,
            )
            return watcher
        except OSError:
            return None

    def _sleep(self, seconds: float) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.stopper.wake_fd, selectors.EVENT_READ)
            sel.select(seconds)
        finally:
            sel.close()
        self.stopper.drain()
