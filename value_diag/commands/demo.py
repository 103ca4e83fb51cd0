"""`value-diag demo`: a simulated run written in the background and watched live."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from value_diag.commands.watch import WatchOptions, run_watch
from value_diag.environment import Environment
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.follow.stopper import FATAL, STOPS
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules
from value_diag.producer import simulate
from value_diag.render.sinks import Sink

if TYPE_CHECKING:
    from types import FrameType

    from value_diag.render.series import Series
    from value_diag.render.sinks import KeySource


@dataclass
class Producer:
    """The background writer of the simulated run, and how far it got."""

    path: str
    options: simulate.SimOptions
    stop: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    """Set once the first update is in the file (or the run is over)."""
    done: threading.Event = field(default_factory=threading.Event)
    written: int = 0
    """Records written, final once ``done`` is set."""
    error: OSError | None = None

    def start(self) -> threading.Thread:
        """Runs the simulation in a daemon thread (it never outlives the watch)."""
        thread = threading.Thread(target=self._run, name="value-diag-demo", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            self.written = simulate.run(self.path, self.options, self.stop, self._batch)
        except OSError as exc:
            self.error = exc
        finally:
            self.done.set()
            self.started.set()

    def _batch(self, _written: int) -> None:
        self.started.set()

    def drawn(self, frames: list[Frame]) -> bool:
        """True once the run is over and its last record is on screen (or it failed)."""
        if not self.done.is_set():
            return False
        return self.error is not None or frames[0].state.records >= self.written


class Captioned:
    """A sink showing every frame under a caption instead of its source's name.

    The demo's file is a temporary one, gone when the demo ends: its path would tell the
    user nothing they could use.
    """

    def __init__(self, sink: Sink, caption: str) -> None:
        self.sink = sink
        self.renderer = sink.renderer
        self.caption = caption
        self._shown: dict[str, Frame] = {}
        """The frames as they came, by caption: a history is read by the file's name."""

    def __enter__(self) -> Captioned:
        self.sink.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sink.__exit__(*exc)

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        """Shows the frames, captioned."""
        self.sink.show(self._captioned(frames), changed, now)

    def tick(self, frames: list[Frame], now: float) -> None:
        """Redraws the frames, captioned."""
        self.sink.tick(self._captioned(frames), now)

    def conclude(self, line: str) -> None:
        """Passes the closing line on."""
        self.sink.conclude(line)

    def keys(self) -> KeySource | None:
        """The keys of the sink (q ends the demo on a terminal)."""
        return self.sink.keys()

    def press(self, keys: list[str]) -> bool:
        """Passes the keys on."""
        return self.sink.press(keys)

    def stop_when(self, stopping: Callable[[], bool]) -> None:
        """Passes the stop test on."""
        self.sink.stop_when(stopping)

    def abandon(self) -> None:
        """Passes it on."""
        self.sink.abandon()

    def due(self) -> float | None:
        """The sink's: when a frame it holds back must be drawn."""
        return self.sink.due()

    def flush(self) -> None:
        """Passes it on."""
        self.sink.flush()

    def histories(self, read: Callable[[Frame], Series]) -> None:
        """Passes on a reader of the captioned runs' histories, by their files."""
        self.sink.histories(lambda frame: read(self._shown.get(frame.source, frame)))

    def _captioned(self, frames: list[Frame]) -> list[Frame]:
        self._shown = {self.caption: frames[-1]} if frames else {}
        return [dataclasses.replace(f, source=self.caption, short=None) for f in frames]


def caption(options: simulate.SimOptions) -> str:
    """What the demo's panel is titled with: the scenario, and how to leave."""
    return f"simulated {options.scenario.value} · Ctrl-C to stop"


def closing(out: str | None) -> list[str]:
    """The lines after the demo, each said in value-diag's voice: what to try next."""
    if out is None:
        return [
            "watch your own run: value-diag watch YOUR_RUN.jsonl",
            "keep a simulated one: value-diag demo --out run.jsonl",
        ]
    return [f"the run is kept in {out}: try value-diag once {out} --trend"]


def _regular_or_new(out: str) -> None:
    """Refuses an ``--out`` that exists and is not a regular file or a folder (a FIFO, a
    device, a socket): opening a FIFO to write waits for a reader that may never come,
    where no signal could end the demo, and watch reads regular files only anyway.

    Raises:
        ReadError: ``out`` is such a file (named with the path and the reason).
    """
    try:
        mode = os.stat(out).st_mode
    except OSError:  # not there (or not reachable): writing it says what is wrong
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ReadError(f"cannot write {out}: not a regular file")


class Ending:
    """The demo's own handlers of the stop signals and their fatal kin, in from before its
    temporary folder is made until after it is removed: a signal that comes while the
    watch's handlers are not in (start-up, the wait for the first update, the clean-up) is
    noted, never raised in the middle of a step; the demo ends at its next step, removes
    the folder, and then a fatal one ends the process as its default would.

    Only signals left at their default are taken (a SIGINT ignored by a shell's background
    job stays ignored). The watch puts its own in while it runs: a fatal signal's default
    is set back just before (see ``for_watch``), so that the watch takes it too.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        """The first signal noted (None: none came)."""
        self._old: dict[int, object] = {}

    @property
    def noted(self) -> bool:
        """A signal came: the demo is to end."""
        return self.signum is not None

    def install(self) -> None:
        """Takes the stop and fatal signals (from the main thread only: others cannot)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (*STOPS, *FATAL):
            now = signal.getsignal(sig)
            if now is signal.SIG_DFL or (
                sig == signal.SIGINT and now is signal.default_int_handler
            ):
                self._old[sig] = signal.signal(sig, self._note)

    def for_watch(self) -> None:
        """The fatal signals' defaults back, for the watch to take them over (it takes
        only those at their default); the stop signals stay noted until it does."""
        for sig in FATAL:
            if sig in self._old:
                signal.signal(sig, signal.SIG_DFL)

    def restore(self) -> None:
        """Every handler as it was before ``install``."""
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type] # what getsignal gave
        self._old.clear()

    def reraise(self, env: Environment) -> None:
        """Ends the process with the fatal signal noted, if one was (after ``restore``)."""
        if self.signum is None or self.signum not in FATAL:
            return
        for stream in (env.stdout, env.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        signal.signal(self.signum, signal.SIG_DFL)
        os.kill(os.getpid(), self.signum)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum


def run_demo(
    options: simulate.SimOptions,
    sink: Sink,
    out: str | None = None,
    env: Environment | None = None,
    rules: Rules = DEFAULT_RULES,
) -> ExitCode:
    """Simulates a run into ``out`` (a temporary file when None) and watches it to the end.

    A temporary file's frames are captioned with the scenario instead of its path. Ends
    with exit 0 after the final frame is shown, or at Ctrl-C / SIGTERM, and then says on
    stderr what to try next. The temporary folder is removed whenever a signal comes
    after it was made (``Ending``). ``rules`` judge the run (a config file's, if one is
    in force).

    Raises:
        ReadError: the run could not be written, or ``out`` is not a regular file
            (named with the path and the reason).
    """
    env = env or Environment.of_process()
    if out is not None:
        _regular_or_new(out)
    ending = Ending()
    ending.install()  # before the folder exists: no moment where a signal leaves it behind
    try:
        tmp = tempfile.mkdtemp(prefix="value-diag-demo-")
        try:
            path = out or str(Path(tmp) / f"{options.scenario.value}.jsonl")
            producer = Producer(path, options)
            code = _watch(producer, sink, out, tmp, ending, env, rules)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        ending.restore()
    ending.reraise(env)
    if producer.error is not None:
        reason = producer.error.strerror or type(producer.error).__name__
        raise ReadError(f"cannot write {path}: {reason}")
    env.stdout.flush()
    for line in closing(out):
        env.say(line)
    return code


FIRST_UPDATE_CHECK_S: Final = 0.05
"""How often the wait for the run's first update asks whether a signal came (s)."""


def _watch(
    producer: Producer,
    sink: Sink,
    out: str | None,
    tmp: str,
    ending: Ending,
    env: Environment,
    rules: Rules,
) -> ExitCode:
    """Runs the producer and watches its file until the run is drawn or a signal came."""
    thread = producer.start()
    shown = sink if out is not None else Captioned(sink, caption(options=producer.options))
    try:
        # The watch opens a file that already has its first update: the first frame
        # shows data, not "waiting for" a file about to appear.
        while not producer.started.wait(FIRST_UPDATE_CHECK_S):
            if ending.noted:
                return ExitCode.OK

        def before_fatal() -> None:  # SIGQUIT and its kin: the folder goes first
            producer.stop.set()
            thread.join()
            shutil.rmtree(tmp, ignore_errors=True)

        def until(frames: list[Frame]) -> bool:  # a stop noted before the watch took over
            return ending.noted or producer.drawn(frames)

        if ending.noted:
            return ExitCode.OK
        ending.for_watch()
        return run_watch(
            [producer.path],
            shown,
            WatchOptions(rules=rules, until=until),
            clock=env.clock,
            before_fatal=before_fatal,
            env=env,
        )
    except KeyboardInterrupt:  # Ctrl-C under a SIGINT handler of the caller's
        return ExitCode.OK
    finally:
        producer.stop.set()
        thread.join()
