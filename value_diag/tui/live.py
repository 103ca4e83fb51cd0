"""The live terminal: the runs redrawn in place on the alternate screen (Rich Live), keys
moving through the table, Ctrl-Z giving the terminal back, and a terminal that takes no
output given back from another thread."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from rich.text import Text

from value_diag.environment import Environment
from value_diag.frame import Frame
from value_diag.options import Format
from value_diag.render.frames import Renderer
from value_diag.render.sinks import WRITES, Sink, StreamSink
from value_diag.render.terminal import silence_stdout

if TYPE_CHECKING:
    from types import FrameType

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment

    from value_diag.render.chartview import Charted
    from value_diag.render.series import Series
    from value_diag.tui.keys import KeyReader

FRAME_S: Final = 0.1
"""Least time between two redraws of the live view for new data or the age (s): at most
about 10 a second, however fast data comes. A frame held back is drawn once this has passed
(``due``). Keys are answered at once, one redraw for each batch read."""
DRAW_SHARE: Final = 0.1
"""The most of a core that redraws for data or the age take: one that took t seconds of
CPU is followed by the next no sooner than t / DRAW_SHARE after it began (never sooner than
FRAME_S, never later than MAX_FRAME_S). A few runs draw in a millisecond or two and keep
FRAME_S; a sweep of thousands of busy runs is drawn less often, its latest state always."""
MAX_FRAME_S: Final = 1.0
"""The longest the cap holds a changed frame back (s), however long a redraw takes."""
GIVE_BACK: Final = b"\x1b[?1049l\x1b[?25h"
"""The normal screen and the cursor back (what Live writes on leaving the alternate screen)."""
GIVE_BACK_S: Final = 0.3
"""How long a stuck watch tries to write GIVE_BACK to a terminal with no room (s)."""


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
        *,
        env: Environment | None = None,
        cpu: Callable[[], float] = time.thread_time,
    ) -> None:
        from rich.live import Live

        from value_diag.tui.tableview import TableView

        self.console = console
        self.env = env or Environment.of_process()
        """The keys' stdin, and the stderr the closing line is said on."""
        self.renderer = renderer
        self.table = table
        """Always the table, even when the panels would fit."""
        self.view = TableView()
        self._frames: list[Frame] = []
        self._now: float | None = None
        self._last: RenderableType = Text("")
        self._conclusions: list[str] = []
        """The lines for stderr once the alternate screen is left, in the order said."""
        self._reader: KeyReader | None = None
        self._tstp: Any = None
        """The SIGTSTP handler before ours (None: ours is not installed)."""
        self._suspending = False
        """``_suspend`` is running (a Ctrl-Z in it sets ``_again`` instead)."""
        self._again = False
        self._clock = clock
        self._cpu = cpu
        """This thread's CPU time (s), which a redraw's cost is measured in."""
        self._drawn_at = -FRAME_S
        """When the screen was last redrawn (``clock``)."""
        self._gap = FRAME_S
        """How long after ``_drawn_at`` the next redraw for data may come (DRAW_SHARE)."""
        self._held = False
        """A change is not drawn yet: the cap holds it back until ``due``."""
        self._stopping: Callable[[], bool] = lambda: False
        self._history: Callable[[Frame], Series] | None = None
        """How to get a run's long history for its detail's charts (None: what watch
        kept of it)."""
        self.redraws = 0
        """Screens drawn so far."""
        self.writes = 0
        """Screens written to the terminal so far: a screen drawn the same as the one
        before (a change to runs out of sight, an age that reads the same) is not."""
        self._shown: tuple[int, int, list[list[Segment]]] | None = None
        """The size and the lines of the screen last written (None: write the next)."""
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
        with WRITES.under_way():
            self._live.start()
        if threading.current_thread() is threading.main_thread():
            self._tstp = signal.signal(signal.SIGTSTP, self._suspend)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tstp is not None:
            signal.signal(signal.SIGTSTP, self._tstp)
            self._tstp = None
        with WRITES.under_way():
            self._live.stop()
            self.console.print(self._last)
            for line in self._conclusions:
                self.env.tell(line)

    def conclude(self, line: str) -> None:
        """Keeps the line for stderr until the alternate screen, which would hide it, is left
        (every line said, in order: --fail-count names each run that failed, then the count)."""
        self._conclusions.append(line)

    def keys(self) -> KeyReader | None:
        """The keys of the terminal on the Environment's stdin, if it is one."""
        from value_diag.tui.keys import stdin_keys

        self._reader = stdin_keys(self.env.stdin)
        return self._reader

    def histories(self, read: Callable[[Frame], Series]) -> None:
        """How a run's long history is read, for the charts of its detail."""
        self._history = read

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
                with WRITES.under_way():
                    self.console.set_alt_screen(False)
                    self.console.show_cursor(True)
                # SIGSTOP, not SIGTSTP again: the kernel drops a SIGTSTP for an orphaned
                # process group, and the watch would then go on with the terminal given back.
                os.kill(os.getpid(), signal.SIGSTOP)
                if self._reader is not None:
                    self._reader.__enter__()
                with WRITES.under_way():
                    self.console.set_alt_screen(True)
                    self.console.show_cursor(False)
                if not self._again:
                    break
        finally:
            self._suspending = False
        self._shown = None  # the live screen is back, with whatever it held
        self._paint()

    def press(self, keys: list[str]) -> bool:
        """Moves through the table, a whole batch of keys before one redraw; True for q,
        and for a stop signal that comes while a long backlog (a paste) is gone through."""
        from value_diag.tui.tableview import Key

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
        return max(0.0, self._drawn_at + self._gap - self._clock())

    def flush(self) -> None:
        """Draws the frame held back by the cap once its gap has passed since the last."""
        if self._held and self._clock() - self._drawn_at >= self._gap:
            self._paint()

    def _draw(self) -> None:
        """The screen redrawn now, or held back until the cap's gap after the last redraw
        (``due``, ``flush``): the latest state is what is drawn then, so none is lost."""
        self._held = True
        self.flush()

    def _paint(self) -> None:
        self._held = False
        self._drawn_at = self._clock()
        self.redraws += 1
        began = self._cpu()
        try:
            self._redraw()
        finally:
            cost = self._cpu() - began
            self._gap = min(MAX_FRAME_S, max(FRAME_S, cost / DRAW_SHARE))

    def _redraw(self) -> None:
        """The screen drawn for the view as it is, and written if it changed."""
        from value_diag.tui.tableview import Mode

        width, height = self.console.size
        # The panels while they fit, unless a run is opened, or help or advice asked for.
        opened = self.view.mode is not Mode.TABLE
        drawn = None if self.table or opened else self._panels(width, height)
        if drawn is None:
            from value_diag.render.table import render

            self.view = self.view.sized(height)
            drawn = render(self.view, self.renderer, width, height, self._charted())
        self._last = drawn
        lines = drawn.lines if isinstance(drawn, _Lines) else self._lines(drawn, width, height)
        shown = (width, height, lines)
        if shown == self._shown:  # the terminal shows it already
            return
        self._shown = shown
        self.writes += 1
        with WRITES.under_way():
            self._live.update(_Lines(lines), refresh=True)

    def _lines(self, drawn: RenderableType, width: int, height: int) -> list[list[Segment]]:
        """What ``drawn`` looks like on the screen, cut to its height."""
        options = self.console.options.update(width=width, height=height)
        return self.console.render_lines(drawn, options, pad=False)[:height]

    def _charted(self) -> list[Charted]:
        """The runs the opened run's charts draw: it, then (o) the runs marked, or none
        being marked the next ones in the table's order, MAX_OVERLAY in all."""
        from value_diag.render.chartview import Charted
        from value_diag.render.detail import MAX_OVERLAY
        from value_diag.render.sanitize import clean_name
        from value_diag.render.series import series_of
        from value_diag.tui.tableview import Mode

        if self.view.mode is not Mode.DETAIL:  # before the order: none is needed then
            return []
        run = self.view.current()
        if run is None:
            return []
        order = self.view.order()
        if self.view.charts.overlay:
            marked = [r for r in order if r.name in self.view.marked and r is not run]
            at = order.index(run)
            runs = [run, *(marked or order[at + 1 :] + order[:at])][:MAX_OVERLAY]
        else:
            runs = [run]
        read = self._history or series_of
        ascii_only = self.renderer.ascii_only
        return [Charted(clean_name(r.frame.name, ascii_only), r.frame, read(r.frame)) for r in runs]

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
    """Lines rendered already (the panels drawn to decide that they fit, a screen compared
    with the last one written), drawn as they are."""

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


def choose_sink(
    console: Console,
    renderer: Renderer,
    fmt: Format,
    table: bool = False,
    env: Environment | None = None,
) -> Sink:
    """Live redraws on a terminal that can redraw in place; frames one after another
    elsewhere. ``table``: the live view is the table of runs even when panels would fit.
    ``env``: the streams and variables the sink says its closing line on and reads keys
    from (the process's by default)."""
    from value_diag.render.terminal import is_tty

    # A dumb terminal cannot redraw in place: it gets plain frames one after another.
    if fmt is Format.TEXT and is_tty(console.file) and not console.is_dumb_terminal:
        return LiveSink(console, renderer, table, env=env)
    return StreamSink(console, renderer, fmt, env)
