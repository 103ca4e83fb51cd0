"""`value-diag demo`: a simulated run written in the background and watched live."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from value_diag.commands.watch import WatchOptions, run_watch
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.frame import Frame
from value_diag.producer import simulate
from value_diag.render.sinks import Sink


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


def run_demo(options: simulate.SimOptions, sink: Sink, out: str | None = None) -> ExitCode:
    """Simulates a run into ``out`` (a temporary file when None) and watches it to the end.

    Ends with exit 0 after the final frame is shown, or at Ctrl-C / SIGTERM.

    Raises:
        ReadError: the run could not be written (named with the path and the reason).
    """
    with tempfile.TemporaryDirectory(prefix="value-diag-demo-") as tmp:
        path = out or str(Path(tmp) / f"{options.scenario.value}.jsonl")
        producer = Producer(path, options)
        thread = producer.start()
        try:
            # The watch opens a file that already has its first update: the first frame
            # shows data, not "waiting for" a file about to appear.
            producer.started.wait()
            code = run_watch([path], sink, WatchOptions(until=producer.drawn))
        except KeyboardInterrupt:  # Ctrl-C before the watch took over the signal
            code = ExitCode.OK
        finally:
            producer.stop.set()
            thread.join()
    if producer.error is not None:
        reason = producer.error.strerror or type(producer.error).__name__
        raise ReadError(f"cannot write {path}: {reason}")
    return code
