"""Where watch sends frames: the Sink protocol, and frames one after another in a log.

The live terminal's sink (Rich Live, keys, job control) is tui/live.py's LiveSink: render/
draws frames and talks to no terminal.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final, Protocol

from value_diag.environment import Environment
from value_diag.frame import Frame
from value_diag.options import Format
from value_diag.render.frames import Renderer
from value_diag.render.styled import StyledText
from value_diag.streams import Stopped, giving_way

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console, OverflowMethod

    from value_diag.render.github import Annotator
    from value_diag.render.series import Series


class KeySource(Protocol):
    """The keys of a terminal, as the watch loop reads them (tui/keys.py's KeyReader):
    entered, the terminal sends keys one by one; left, it is as it was."""

    def __enter__(self) -> KeySource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @property
    def fd(self) -> int:
        """Readable when keys are waiting: what a wait selects on."""

    def pending(self) -> bool:
        """Whether keys are waiting; never blocks."""

    def read_keys(self) -> list[str]:
        """The keys typed since the last call (Key values); [] at once if none."""


class Sink(Protocol):
    """Where watch sends frames: a live terminal, or a stream of text or JSON."""

    renderer: Renderer

    def __enter__(self) -> Sink: ...

    def __exit__(self, *exc: object) -> None: ...

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        """New data: ``changed`` indexes the frames whose state changed."""

    def tick(self, frames: list[Frame], now: float) -> None:
        """Nothing new; redraw if time itself is shown."""

    def conclude(self, line: str) -> None:
        """Why the watch ends (a line in the program's voice: environment.voiced), for
        stderr, where the user still sees it after the frames."""

    def keys(self) -> KeySource | None:
        """The terminal's keys, when this sink has a use for them."""

    def press(self, keys: list[str]) -> bool:
        """Keys pressed (Key values); True to end the watch (q)."""

    def stop_when(self, stopping: Callable[[], bool]) -> None:
        """A write that stdout cannot take gives way (raises Stopped) once ``stopping``."""

    def abandon(self) -> None:
        """From another thread, when the watch is stuck writing: the terminal given back
        without waiting on it."""

    def due(self) -> float | None:
        """Seconds until a frame held back by the frame-rate cap must be drawn (0: now);
        None when none is held back. The watch waits no longer than this."""

    def flush(self) -> None:
        """Draws the frame held back by the frame-rate cap, if its time has come."""

    def histories(self, read: Callable[[Frame], Series]) -> None:
        """How to get a run's long history, for the charts of a sink that draws them."""


class Writes:
    """The writes to the terminal or the standard streams under way, and since when.

    What tells a watch stuck in a write nobody takes (a terminal whose output is stopped
    with Ctrl-S, a pipe nobody reads) from one only slow to end by itself (a step summary
    written to a slow file, many files let go of): the stopper ends the first, not the
    second. Read from the stopper's thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a signal handler (Ctrl-Z) may mark a write too
        self._depth = 0
        self._since = 0.0

    @contextlib.contextmanager
    def under_way(self) -> Iterator[None]:
        """Marks the block as a write to the terminal or a standard stream."""
        with self._lock:
            if not self._depth:
                self._since = time.monotonic()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1

    def stuck_for(self) -> float:
        """Seconds the write under way has not returned for (0.0 when none is)."""
        with self._lock:
            return time.monotonic() - self._since if self._depth else 0.0


WRITES: Final = Writes()
"""This process's writes to its terminal and standard streams (the sinks mark them)."""


class StreamSink:
    """Frames printed one after another, for logs and pipes: text, JSON lines or reports.

    GitHub annotations are printed when a metric's level changes, and the step summary is
    written once, at the end, with each source's last frame: a long run would otherwise
    repeat every alarm and outgrow the summary's size limit.
    """

    def __init__(
        self,
        console: Console,
        renderer: Renderer,
        fmt: Format,
        env: Environment | None = None,
    ) -> None:
        self.console = console
        self.renderer = renderer
        self.format = fmt
        self.env = env or Environment.of_process()
        """Where the closing line is said, and the variables naming the step summary."""
        self._printed = 0
        self._annotator: Annotator | None = None
        """What --format github has said of each source (made at its first frame)."""
        self._last: list[Frame] = []
        self._out = giving_way(console.file)
        """Stdout, written as it takes bytes: a reader that stalls cannot hold off a stop."""
        if self._out is not None:
            console.file = self._out  # type: ignore[assignment] # a TextIO in all but name

    def stop_when(self, stopping: Callable[[], bool]) -> None:
        """Frames that stdout cannot take are dropped, and Stopped raised, once ``stopping``."""
        if self._out is not None:
            self._out.stopping = stopping

    def abandon(self) -> None:
        """Nothing: a log has no terminal modes to give back."""

    def __enter__(self) -> StreamSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.format is Format.GITHUB:
            from value_diag.render.github import write_summary

            write_summary(self._last, self.env)

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        """Prints each changed frame: text frames separated by a blank line."""
        with WRITES.under_way():
            self._show(frames, changed)

    def _show(self, frames: list[Frame], changed: list[int]) -> None:
        self._last = frames
        for i in changed:
            if self.format is Format.GITHUB:
                self._annotate(i, frames[i])
            elif self.format is not Format.TEXT:
                self.console.out(self.renderer.text(frames[i], self.format), highlight=False)
            else:
                if self._printed:
                    self.console.out("")
                # A terminal that cannot redraw still has a width: fit to it, not cut.
                width = self.console.width if self.console.is_terminal else None
                self._print_plain(self.renderer.plain(frames[i], width=width))
            self._printed += 1
        self.console.file.flush()

    def tick(self, frames: list[Frame], now: float) -> None:
        """A log gets no frame without new data."""

    def keys(self) -> KeySource | None:
        """None: keys are read from a terminal only, and frames here go to a log."""
        return None

    def due(self) -> float | None:
        """None: every frame of a log is printed when it comes."""
        return None

    def flush(self) -> None:
        """Nothing is held back."""

    def histories(self, read: Callable[[Frame], Series]) -> None:
        """A log draws no charts."""

    def press(self, keys: list[str]) -> bool:
        """Never called: there are no keys."""
        return False

    def conclude(self, line: str) -> None:
        """Writes the line to stderr now, after the frames already printed."""
        with WRITES.under_way():
            with contextlib.suppress(OSError, ValueError, Stopped):  # the line still counts
                self.console.file.flush()
            self.env.tell(line)

    def _annotate(self, i: int, frame: Frame) -> None:
        if self._annotator is None:
            from value_diag.render.github import Annotator

            self._annotator = Annotator()
        lines = self._annotator.lines(i, frame)
        if lines:
            self.console.out("\n".join(lines), highlight=False)

    def _print_plain(self, text: StyledText) -> None:
        if self.console.is_terminal:
            # A terminal that cannot redraw in place (TERM=dumb): each line is cut at the
            # width instead of wrapping into the next.
            overflow: OverflowMethod = "crop" if self.renderer.ascii_only else "ellipsis"
            self.console.print(text, no_wrap=True, overflow=overflow, crop=True)
        else:
            self.console.print(text, soft_wrap=True)
