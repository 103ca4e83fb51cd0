"""`value-diag once`: fold whole files (or stdin) and print their latest frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from value_diag.commands.framing import frames_of
from value_diag.commands.paths import cannot_read, named_in_order, run_files, targets
from value_diag.environment import Environment
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode, exit_code, worst
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules, Status, reaches
from value_diag.ingest.fold import FileState
from value_diag.ingest.foreign.reading import read_local
from value_diag.ingest.urls import is_url
from value_diag.options import CHART_UPDATES, KEPT_UPDATES, Format
from value_diag.render.frames import Renderer
from value_diag.render.sanitize import clean, clean_name
from value_diag.render.terminal import silence_stdout

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


@dataclass(frozen=True, slots=True)
class OnceOptions:
    """How `once` prints and judges."""

    rules: Rules = DEFAULT_RULES
    """What judges the runs (the thresholds, preset and gate in force)."""
    format: Format = Format.TEXT
    fail_on: Status | None = None
    fail_count: int = 1
    """Runs that must reach ``fail_on`` for the process to exit 1."""
    boxed: bool = False
    """Draw bordered panels (on a terminal) instead of plain lines."""
    compare: bool = False
    """One table for all runs instead of a frame each."""
    history: int = 0
    """Value records kept for the trend column (0: no trend)."""
    svg: str | None = None
    html: str | None = None
    pattern: str | None = None
    """The run files a directory stands for (default: every *.jsonl below it)."""
    latest: bool = False
    """A directory or pattern stands for its newest run file only."""
    chart: str | None = None
    """Charts under the frames: of every metric ("all") or of one (render/chartview.py)."""
    smooth: float = 0.0
    """The charts' smoothing weight (0: the values as logged)."""


def run_once(
    paths: list[str],
    console: Console | None,
    renderer: Renderer,
    options: OnceOptions,
    env: Environment | None = None,
) -> ExitCode:
    """Prints the frames of ``paths`` and says how the process should exit.

    Without a ``console`` (stdout is no terminal and no colour is asked for: see
    render/terminal.plain_stdout), frames are written as the plain text a console would
    write, without importing one. A comparison always needs one.

    A file of several groups (esper-lite's A/B runs) gives a frame per group, judged as
    a run of its own. An unreadable file, or a folder below a directory or pattern that
    cannot be listed (its runs unknown), is reported on stderr and the others are still
    shown; the exit code is then 2: a gate never passes what it could not read.
    Otherwise the worst of the runs' codes, a failed run counting only when at least
    ``fail_count`` runs failed.

    ``env``: the streams, variables and clock to run against (the process's by default).
    """
    env = env or Environment.of_process()
    now = env.clock()
    frames: list[Frame] = []
    codes: list[ExitCode] = []
    charted: list[Frame] = []  # with every update read, for the charts
    recent = CHART_UPDATES if options.chart else KEPT_UPDATES
    inputs = read_inputs(
        paths, options.pattern, options.latest, codes, env, history=options.history, recent=recent
    )
    for path, name, runs in inputs:
        for whole in frames_of(runs, path, name, options.rules, now):
            frame = whole
            if options.chart:  # judged as without --chart: on the KEPT_UPDATES newest
                charted.append(whole)
                frame = replace(whole, state=whole.state.newest(KEPT_UPDATES))
            frames.append(frame)
            codes.append(
                exit_code(frame.health.status, options.fail_on, fired(frame, options.fail_on))
            )
    try:
        if console is None:
            _write(env, frames, renderer, options.format)
        else:
            _print(env, frames, console, renderer, options)
            if options.chart:
                _charts(charted, console, renderer, options)
        env.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head -1`); the verdict still stands
        silence_stdout()
    if frames and options.format is Format.GITHUB:
        from value_diag.render.github import write_summary

        write_summary(frames, env, options.compare, renderer.critic)  # after the annotations
    if options.fail_on is not None:
        say_verdict(env, frames, renderer, options.fail_on, options.fail_count)
    if frames and (options.svg or options.html):
        from value_diag.render.export import export

        picture = _picture(frames, renderer, options)
        for target, kind in ((options.svg, "svg"), (options.html, "html")):
            if target:
                export(picture, target, kind)
    return worst(codes, options.fail_count)


def fired(frame: Frame, fail_on: Status | None) -> Status | None:
    """What the frame's gate lets through, when --fail-on asks (the gate is imported then)."""
    if fail_on is None:
        return None
    from value_diag.gate import gate

    return gate(frame).level


def read_inputs(
    paths: list[str],
    pattern: str | None,
    latest: bool,
    codes: list[ExitCode],
    env: Environment,
    *,
    history: int = 0,
    recent: int = KEPT_UPDATES,
) -> Iterator[tuple[str, str, FileState]]:
    """Each run file ``paths`` stand for, with the name it is shown by and its runs (the
    ``history`` and ``recent`` updates of each kept), in order.

    A folder that cannot be listed, or a file that cannot be read, is said on stderr and
    adds ERROR to ``codes``: the others are still read, and a gate never passes what it
    could not read.

    Raises:
        ReadError: the one input given cannot be read (nothing else to say).
    """
    listed = run_files(targets(paths, pattern), latest, env.clock())
    files = listed.files
    if len(listed.unreadable) == 1 and not files:  # nothing else to say: one error line
        raise ReadError(cannot_read(listed.unreadable[0]))
    for folder in listed.unreadable:
        env.say(clean(cannot_read(folder), limit=None), "error")
        codes.append(ExitCode.ERROR)
    for path, name in named_in_order(files):
        try:
            runs = read_file(path, history, recent, env.clock)
        except ReadError as exc:
            if len(files) == 1 and not listed.unreadable:
                raise
            env.say(clean(str(exc), limit=None), "error")
            codes.append(ExitCode.ERROR)
            continue
        yield path, name, runs


def read_file(
    path: str,
    history: int = 0,
    recent: int = KEPT_UPDATES,
    clock: Callable[[], float] = time.time,
) -> FileState:
    """A file's runs; a remote one (a URL) read in ranged parts, dated by its last write;
    stdin, or a remote file the store gives no time of, dated by ``clock``.
    A trainer's own log (SB3's progress.csv, a TensorBoard event file, Tune's result.json,
    verl's JSON lines) is read whole by its reader (ingest/foreign/reading.py); value-diag's
    own lines take the fast path.

    Raises:
        ReadError: it cannot be read (a URL is named without its credentials), or its
            reader needs an extra that is not installed.
    """
    if not is_url(path):
        return read_local(path, history=history, recent=recent, clock=clock)
    from value_diag.ingest.remote import read_remote

    return read_remote(path, history=history, recent=recent, clock=clock)


def say_verdict(
    env: Environment, frames: list[Frame], renderer: Renderer, fail_on: Status, fail_count: int
) -> None:
    """Exit 1 says that runs failed; stderr says which, and why (and, for a count, how many)."""
    from value_diag.gate import gate

    gates = [gate(f) for f in frames]
    failed = [f for f, g in zip(frames, gates, strict=True) if reaches(g.level, fail_on)]
    for frame, fired in zip(frames, gates, strict=True):
        # shown at the level, held back: said, so that the exit code is not a puzzle
        line = renderer.held_back(frame, fail_on, fired)
        if line is not None:
            env.tell(line)
    if fail_count > 1 and failed:
        from value_diag.render.compare import count_line

        if len(failed) >= fail_count:
            for frame in failed:
                env.tell(renderer.verdict(frame, fail_on))
        env.tell(count_line(frames, fail_on, fail_count, renderer.ascii_only))
        return
    for frame in failed:
        env.tell(renderer.verdict(frame, fail_on))


def _picture(frames: list[Frame], renderer: Renderer, options: OnceOptions) -> RenderableType:
    if options.compare:
        from value_diag.render.compare import compare

        return compare(frames, renderer)
    return renderer.stacked(frames)


def _write(env: Environment, frames: list[Frame], renderer: Renderer, fmt: Format) -> None:
    """The frames as plain text on stdout: what ``_print`` writes when nothing is coloured."""
    out = env.stdout
    for i, frame in enumerate(frames):
        if fmt is not Format.TEXT:
            out.write(renderer.text(frame, fmt) + "\n")
            continue
        if i:
            out.write("\n")
        out.write(renderer.plain(frame).plain + "\n")


def _print(
    env: Environment,
    frames: list[Frame],
    console: Console,
    renderer: Renderer,
    options: OnceOptions,
) -> None:
    if options.compare:
        _print_compare(env, frames, console, renderer, options)
        return
    if options.format is Format.TEXT and options.boxed:
        console.print(renderer.stacked(frames))
        _advise(frames, console, renderer)
        return
    for i, frame in enumerate(frames):
        if options.format is not Format.TEXT:
            console.out(renderer.text(frame, options.format), highlight=False)
            continue
        if i:
            console.out("")
        console.print(renderer.plain(frame), soft_wrap=True)


def _charts(
    frames: list[Frame], console: Console, renderer: Renderer, options: OnceOptions
) -> None:
    """Under the frames, a chart per metric asked for, every run on it (CHART_HEIGHT lines
    each, as wide as the console)."""
    from value_diag.render.chartview import ALL, CHART_HEIGHT, charted, draw_charts

    runs = charted(frames, renderer.ascii_only)
    for lines in draw_charts(
        runs, options.chart or ALL, console.width, CHART_HEIGHT, renderer.ascii_only, options.smooth
    ):
        console.out("")
        for line in lines:
            console.print(line, soft_wrap=True)


def _advise(frames: list[Frame], console: Console, renderer: Renderer) -> None:
    """Under the panels on a terminal, what to check first for each alarming run."""
    from rich.text import Text

    for frame in frames:
        advice = renderer.first_check(frame)
        if advice:
            named = f"{clean_name(frame.name, renderer.ascii_only)}: " if len(frames) > 1 else ""
            console.print(Text(named + advice, "dim"))


def _print_compare(
    env: Environment,
    frames: list[Frame],
    console: Console,
    renderer: Renderer,
    options: OnceOptions,
) -> None:
    """One table of every run, worst first, in the format asked for."""
    from value_diag.render.compare import compare, sort_worst_first

    if options.format is Format.JSON:
        from value_diag.render.jsonframe import dumps, to_json

        trend, origin = renderer.trend, renderer.thresholds_from
        ordered = sort_worst_first(frames)
        console.out(dumps([to_json(f, trend=trend, thresholds_from=origin) for f in ordered]))
    elif options.format is Format.MARKDOWN:
        from value_diag.render.markdown import compare_markdown

        text = compare_markdown(frames, renderer.ascii_only, renderer.critic)
        console.out(text, highlight=False)
    elif options.format is Format.GITHUB:
        from value_diag.render.github import compare_github

        if frames:
            console.out("\n".join(compare_github(frames)), highlight=False)
    else:
        # A terminal's width is there to fit; a log has none unless COLUMNS gives one.
        fitted = options.boxed or env.environ.get("COLUMNS", "").strip().isdigit()
        table = compare(frames, renderer, console.width if fitted else None)
        if not fitted:  # give the table all it wants
            wide = console.options.update_width(10_000)
            console.width = max(console.width, console.measure(table, options=wide).maximum)
        console.print(table)
        _say_limits(frames, console, renderer)


def _say_limits(frames: list[Frame], console: Console, renderer: Renderer) -> None:
    """Under a table of runs, what the trainers' own logs among them cannot give."""
    if all(f.limits is None for f in frames):
        return
    from rich.text import Text

    from value_diag.render.limits import limits_said

    for names, line in limits_said(frames, renderer.ascii_only, renderer.critic):
        shown = ", ".join(clean_name(n, renderer.ascii_only) for n in names)
        console.print(Text(f"{shown}: {line}", "dim"), soft_wrap=True)
