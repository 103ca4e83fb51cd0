"""Where watch sends frames: Rich Live on a terminal, or one frame after another in a log."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from rich.text import Text

from value_diag.frame import Frame
from value_diag.options import Format
from value_diag.render.frames import Renderer
from value_diag.render.styled import StyledText
from value_diag.render.terminal import silence_stdout
from value_diag.streams import Stopped, giving_way

if TYPE_CHECKING:
    from types import FrameType

    from rich.console import Console, ConsoleOptions, OverflowMethod, RenderableType, RenderResult
    from rich.segment import Segment

    from value_diag.render.github import Annotator
    from value_diag.render.keys import KeyReader


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
        """Why the watch ends, for stderr, where the user still sees it after the frames."""

    def keys(self) -> KeyReader | None:
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


FRAME_S: Final = 0.1
"""Least time between two redraws of the live view for new data or the age (s): at most
about 10 a second, however fast data comes. A frame held back is drawn once this has passed
(``due``). Keys are answered at once, one redraw for each batch read."""
GIVE_BACK: Final = b"\x1b[?1049l\x1b[?25h"
"""The normal screen and the cursor back (what Live writes on leaving the alternate screen)."""
GIVE_BACK_S: Final = 0.3
"""How long a stuck watch tries to write GIVE_BACK to a terminal with no room (s)."""


class StreamSink:
    """Frames printed one after another, for logs and pipes: text, JSON lines or reports.

    GitHub annotations are printed when a metric's level changes, and the step summary is
    written once, at the end, with each source's last frame: a long run would otherwise
    repeat every alarm and outgrow the summary's size limit.
    """

    def __init__(self, console: Console, renderer: Renderer, fmt: Format) -> None:
        self.console = console
        self.renderer = renderer
        self.format = fmt
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

            write_summary(self._last)

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        """Prints each changed frame: text frames separated by a blank line."""
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

    def keys(self) -> KeyReader | None:
        """None: keys are read from a terminal only, and frames here go to a log."""
        return None

    def due(self) -> float | None:
        """None: every frame of a log is printed when it comes."""
        return None

    def flush(self) -> None:
        """Nothing is held back."""

    def press(self, keys: list[str]) -> bool:
        """Never called: there are no keys."""
        return False

    def conclude(self, line: str) -> None:
        """Writes the line to stderr now, after the frames already printed."""
        with contextlib.suppress(OSError, ValueError, Stopped):  # the line still counts
            self.console.file.flush()
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

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


class LiveSink:
    """The runs redrawn in place on the alternate screen, the last screen kept after.

    A panel per run while they all fit (and --table is not given); else one table with
    a row per run, moved through with keys (render/table.py). ``q`` ends the watch.
    """

    def __init__(
        self,
        console: Console,
        renderer: Renderer,
        table: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from rich.live import Live

        from value_diag.render.tableview import TableView

        self.console = console
        self.renderer = renderer
        self.table = table
        """Always the table, even when the panels would fit."""
        self.view = TableView()
        self._frames: list[Frame] = []
        self._now: float | None = None
        self._last: RenderableType = Text("")
        self._conclusion: str | None = None
        self._reader: KeyReader | None = None
        self._tstp: Any = None
        """The SIGTSTP handler before ours (None: ours is not installed)."""
        self._suspending = False
        """``_suspend`` is running (a Ctrl-Z in it sets ``_again`` instead)."""
        self._again = False
        self._clock = clock
        self._drawn_at = -FRAME_S
        """When the screen was last redrawn (``clock``)."""
        self._held = False
        """A change is not drawn yet: the cap holds it back until ``due``."""
        self._stopping: Callable[[], bool] = lambda: False
        self.redraws = 0
        """Screens drawn so far."""
        self._live = Live(
            self._last,
            console=console,
            screen=True,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveSink:
        self._live.start()
        if threading.current_thread() is threading.main_thread():
            self._tstp = signal.signal(signal.SIGTSTP, self._suspend)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tstp is not None:
            signal.signal(signal.SIGTSTP, self._tstp)
            self._tstp = None
        self._live.stop()
        self.console.print(self._last)
        if self._conclusion is not None:
            sys.stderr.write(self._conclusion + "\n")
            sys.stderr.flush()

    def conclude(self, line: str) -> None:
        """Keeps the line for stderr until the alternate screen, which would hide it, is left."""
        self._conclusion = line

    def keys(self) -> KeyReader | None:
        """The keys of the terminal on stdin, if it is one."""
        from value_diag.render.keys import stdin_keys

        self._reader = stdin_keys()
        return self._reader

    def stop_when(self, stopping: Callable[[], bool]) -> None:
        """A backlog of keys is not gone through further once ``stopping`` (a stuck
        write is ``abandon``'s)."""
        self._stopping = stopping

    def abandon(self) -> None:
        """The terminal back while the watch is stuck writing to it (its output stopped
        with Ctrl-S, or nobody reading it): the modes set back, the output nobody took
        dropped and started again, then the normal screen and the cursor, written without
        waiting."""
        if self._reader is not None:
            self._reader.restore()
        fd = os.dup(self.console.file.fileno())
        try:
            # What the stuck write has not begun goes nowhere: GIVE_BACK is the last word.
            silence_stdout()
            _restart_output(fd)
            time.sleep(GIVE_BACK_S / 3)  # the write under way ends, if the terminal reads
            os.set_blocking(fd, False)
            deadline = time.monotonic() + GIVE_BACK_S
            while True:  # a terminal that reads slowly: room comes
                try:
                    os.write(fd, GIVE_BACK)
                    time.sleep(0.1)  # a pty passes bytes on later: not lost in the hang-up
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _suspend(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: the terminal as it was (normal screen, cursor, line editing) while the
        watch is stopped, and the live screen back when it is continued (fg).

        A Ctrl-Z that comes while this runs (right after fg) is not handled inside it,
        which would save the live terminal's modes as the ones to give back: it is noted,
        and the watch stops again once the live screen is back.
        """
        if self._suspending:
            self._again = True
            return
        self._suspending = True
        try:
            while True:
                self._again = False
                if self._reader is not None:
                    self._reader.restore()
                self.console.set_alt_screen(False)
                self.console.show_cursor(True)
                # SIGSTOP, not SIGTSTP again: the kernel drops a SIGTSTP for an orphaned
                # process group, and the watch would then go on with the terminal given back.
                os.kill(os.getpid(), signal.SIGSTOP)
                if self._reader is not None:
                    self._reader.__enter__()
                self.console.set_alt_screen(True)
                self.console.show_cursor(False)
                if not self._again:
                    break
        finally:
            self._suspending = False
        self._paint()

    def press(self, keys: list[str]) -> bool:
        """Moves through the table, a whole batch of keys before one redraw; True for q,
        and for a stop signal that comes while a long backlog (a paste) is gone through."""
        from value_diag.render.tableview import Key

        for n, key in enumerate(keys):
            if key == Key.QUIT or (n % STOP_EVERY == STOP_EVERY - 1 and self._stopping()):
                return True
            self.view = self.view.press(key)
        self._paint()  # at once: the cap is for data, a key is answered without delay
        return False

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        """Redraws every run."""
        self.tick(frames, now)

    def tick(self, frames: list[Frame], now: float) -> None:
        """Redraws every run (the age of the last update moves on)."""
        self._frames, self._now = frames, now
        self.view = self.view.with_frames(frames, now)
        self._draw()

    def due(self) -> float | None:
        """Seconds until the frame held back by the cap is drawn; None if none is."""
        if not self._held:
            return None
        return max(0.0, self._drawn_at + FRAME_S - self._clock())

    def flush(self) -> None:
        """Draws the frame held back by the cap once FRAME_S has passed since the last."""
        if self._held and self._clock() - self._drawn_at >= FRAME_S:
            self._paint()

    def _draw(self) -> None:
        """The screen redrawn now, or held back until FRAME_S after the last redraw
        (``due``, ``flush``): the latest state is what is drawn then, so none is lost."""
        self._held = True
        self.flush()

    def _paint(self) -> None:
        self._held = False
        self._drawn_at = self._clock()
        self.redraws += 1
        width, height = self.console.size
        lines = None if self.table else self._panels(width, height)
        if lines is None:
            from value_diag.render.table import render

            self.view = self.view.sized(height)
            self._last = render(self.view, self.renderer, width, height)
        else:
            self._last = lines
        self._live.update(self._last, refresh=True)

    def _panels(self, width: int, height: int) -> RenderableType | None:
        """The panels of every run, if they fit the screen; else None (the table shows).

        Decided without drawing a panel when even the smallest panels could not fit
        (MIN_LINES each), and else by drawing them one by one until they overflow: no
        more panels are ever drawn than the screen could hold, whatever the number of
        runs, and the panels drawn to decide are the ones shown.
        """
        from value_diag.render.boxed import MIN_LINES

        frames = self._frames
        if len(frames) < 2:  # one panel is drawn whatever its height
            return self.renderer.stacked(frames, self._now)
        if len(frames) * MIN_LINES > height:
            return None
        options = self.console.options.update_width(width)
        lines: list[list[Segment]] = []
        for frame in frames:
            boxed = self.renderer.boxed(frame, self._now, named=True)
            lines += self.console.render_lines(boxed, options, pad=False)
            if len(lines) > height:
                return None
        return _Lines(lines)


STOP_EVERY: Final = 64
"""Keys of a backlog gone through between two looks at the stop flag."""


class _Lines:
    """Lines rendered already (the panels drawn to decide that they fit), drawn as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        newline = Segment.line()
        for line in self.lines:
            yield from line
            yield newline


def _restart_output(fd: int) -> None:
    """Drops the output the terminal on ``fd`` has not taken, and starts its output again if
    it was stopped (tcflow, or a Ctrl-S: undone only by a Ctrl-Q, or by turning IXON off)."""
    import termios

    with contextlib.suppress(OSError, termios.error):
        termios.tcflush(fd, termios.TCOFLUSH)
        termios.tcflow(fd, termios.TCOON)
        mode = termios.tcgetattr(fd)
        iflag = mode[0]
        mode[0] = iflag & ~termios.IXON
        termios.tcsetattr(fd, termios.TCSANOW, mode)
        mode[0] = iflag
        termios.tcsetattr(fd, termios.TCSANOW, mode)


def choose_sink(console: Console, renderer: Renderer, fmt: Format, table: bool = False) -> Sink:
    """Live redraws on a terminal that can redraw in place; frames one after another
    elsewhere. ``table``: the live view is the table of runs even when panels would fit."""
    from value_diag.render.terminal import is_tty

    # A dumb terminal cannot redraw in place: it gets plain frames one after another.
    if fmt is Format.TEXT and is_tty(console.file) and not console.is_dumb_terminal:
        return LiveSink(console, renderer, table)
    return StreamSink(console, renderer, fmt)
