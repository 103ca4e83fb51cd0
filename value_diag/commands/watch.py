"""`value-diag watch`: follow one or more growing files (or stdin) and redraw on every update.

The loops are follow/loop.py's; this is the command: the targets checked, the signals'
handlers and the open-file limit set up, the sink entered, the terminal given back.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

from value_diag.commands.paths import targets
from value_diag.environment import Environment
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.follow.follower import REMOTE_POLL_S
from value_diag.follow.judging import held_back
from value_diag.follow.limits import make_room
from value_diag.follow.loop import StdinLoop, WatchLoop, WatchOptions
from value_diag.follow.stopper import Stopper
from value_diag.follow.watchlist import Runs
from value_diag.frame import Frame
from value_diag.ingest.files import STDIN
from value_diag.ingest.parallel import Interrupted
from value_diag.ingest.runfiles import Kind, Target
from value_diag.render.sinks import WRITES, Sink

__all__ = ["WatchOptions", "run_watch"]


def run_watch(
    paths: list[str],
    sink: Sink,
    options: WatchOptions,
    clock: Callable[[], float] = time.time,
    before_fatal: Callable[[], None] | None = None,
    env: Environment | None = None,
) -> ExitCode:
    """Follows the sources until a signal, --fail-on, or the end of stdin.

    A signal such as SIGQUIT (stopper.FATAL) ends the process once the terminal is
    restored, after ``before_fatal`` (what the caller must still clean up). ``env``: the
    streams `watch -` reads and the signal's end flushes (the process's by default).

    Raises:
        ReadError: a path is a directory or a pattern that matched nothing, or the files
            cannot all be followed (the open-file limit is too low).
    """
    found = targets(paths, options.pattern)
    for t in found:
        if t.kind is Kind.PATTERN and not os.path.isdir(t.root):
            raise ReadError(f"no file matches {t.given}")
        if t.kind is Kind.URL:
            _refuse_bad_host(t.given)
    stopper = Stopper()
    sink.stop_when(stopper.event.is_set)
    stopper.abandon = sink.abandon
    stopper.stuck_for = WRITES.stuck_for  # a write nobody takes, not a slow ending
    env = env or Environment.of_process()
    code = _run(paths, found, sink, options, stopper, clock, env)
    if stopper.fatal is not None and before_fatal is not None:
        before_fatal()
    # SIGQUIT and its kin: the terminal is restored, now the signal ends it
    stopper.reraise(env.stdout, env.stderr)
    return code


def _refuse_bad_host(url: str) -> None:
    """Raises ReadError, as `once` does, for a URL whose host is refused before anything is
    asked of it (an ssh host that is no host name or address): it never becomes valid, so
    a folder of it is not waited for.

    Raises:
        ReadError: the host is refused (the message names the URL without its secrets).
    """
    from value_diag.ingest.remote.settings import SSH, ssh_host
    from value_diag.ingest.urls import scheme

    if scheme(url) in SSH:
        ssh_host(url)


def _run(
    paths: list[str],
    found: list[Target],
    sink: Sink,
    options: WatchOptions,
    stopper: Stopper,
    clock: Callable[[], float],
    env: Environment,
) -> ExitCode:
    """The body of ``run_watch``, its signals' handlers installed."""
    if paths == [STDIN]:
        with stopper.installed(), sink:
            stdin = StdinLoop(sink, options, stopper, clock, fd=env.stdin.fileno())
            return _ended(stdin.run(), stdin.frames, sink, options)
    poll = REMOTE_POLL_S if options.poll is None else options.poll
    try:
        runs = Runs(
            found,
            options.latest,
            wake=stopper.poke,
            poll=poll,
            stop=stopper.event.is_set,
            clock=clock,
        )
    except KeyboardInterrupt:  # Ctrl-C while a remote directory is first listed: as later
        return ExitCode.OK
    try:
        make_room(len(runs.files))
        keys = sink.keys()
        with stopper.installed(), keys or contextlib.nullcontext(), sink:
            loop = WatchLoop(runs, sink, options, stopper, clock, keys)
            try:
                code = loop.run()
            except Interrupted:  # a signal arrived while a large file was read from the top
                code = ExitCode.OK
            return _ended(code, loop.frames, sink, options)
    finally:
        runs.close()


def _ended(code: ExitCode, frames: list[Frame], sink: Sink, options: WatchOptions) -> ExitCode:
    """A watch that ends without --fail-on firing says which runs its gate held back."""
    if code is ExitCode.OK:
        held_back(frames, sink, options.fail_on)
    return code
