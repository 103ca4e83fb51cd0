"""`value-diag report`: read runs as `once` does and write them as one HTML page.

The inputs are whatever `once` takes (files, folders, patterns, URLs, stdin), resolved
and named the same way (commands/paths.py), and each run is judged as `once` judges it.
What `once` does not keep, the report reads too: up to REPORT_UPDATES updates of each
run, for its charts (render/series.py). The page is written whole or not at all.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from value_diag import __version__
from value_diag.commands.framing import runs_of
from value_diag.commands.once import fired, read_inputs, say_verdict
from value_diag.environment import Environment
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode, exit_code, worst
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules, Status
from value_diag.options import CHART_UPDATES, KEPT_UPDATES, Format
from value_diag.render.compare import WORRY, sort_worst_first, worry
from value_diag.render.frames import TITLE, Renderer
from value_diag.render.sanitize import clean
from value_diag.render.words import count

REPORT_UPDATES: Final = CHART_UPDATES
"""Updates of each run the report reads for its charts (the newest, when a run has more;
the page says so)."""
STDOUT: Final = "-"
"""``-o -`` writes the page on stdout."""


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """Where the page goes, how the inputs are found and judged."""

    output: str
    rules: Rules = DEFAULT_RULES
    """What judges the runs (the thresholds, preset and gate in force)."""
    format: Format = Format.TEXT
    """TEXT: a line saying what was written; GITHUB: the step summary points at the page."""
    pattern: str | None = None
    latest: bool = False
    fail_on: Status | None = None
    """Exit 1 when a run's gate reaches it, as `once --fail-on` (the page is written first)."""
    fail_count: int = 1


def run_report(
    paths: list[str], renderer: Renderer, options: ReportOptions, env: Environment | None = None
) -> ExitCode:
    """Writes the page of ``paths``' runs and says how the process should exit.

    As `once`: an unreadable input is named on stderr and the others are still reported
    (exit 2), a run with no usable record exits 3, a run whose gate reaches --fail-on
    exits 1 (with ``fail_count`` runs at least) and says why on stderr, else 0. The page
    is written whatever the verdict (it is what a failed job's reader opens); nothing is
    written when no run could be read. ``env``: the streams, variables and clock to run
    against (the process's by default).
    """
    from value_diag.render.series import series_of
    from value_diag.report.page import Run, page

    env = env or Environment.of_process()
    now = env.clock()
    runs: list[Run] = []
    codes: list[ExitCode] = []
    inputs = read_inputs(paths, options.pattern, options.latest, codes, env, recent=REPORT_UPDATES)
    for path, name, file in inputs:
        for source, short, state in runs_of(file, path, name):
            whole = Frame(source, state, None, options.rules, now, short, file.limits)
            series = series_of(whole)
            # judged as `once` judges it: with the updates `once` keeps for the gate
            kept = state.newest(KEPT_UPDATES)
            frame = Frame(source, kept, None, options.rules, now, short, file.limits)
            runs.append(Run(frame, series))
            gated = fired(frame, options.fail_on)
            codes.append(exit_code(frame.health.status, options.fail_on, gated))
    if not runs:
        return worst(codes)
    of_frame = {id(r.frame): r for r in runs}
    ordered = [of_frame[id(f)] for f in sort_worst_first([r.frame for r in runs])]
    written = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = page(ordered, renderer, written, __version__)
    _write(env, options.output, text)
    _say(env, options, len(text.encode()), [r.frame for r in ordered])
    if options.fail_on is not None:
        frames = [r.frame for r in ordered]
        say_verdict(env, frames, renderer, options.fail_on, options.fail_count)
    return worst(codes, options.fail_count)


def _write(env: Environment, output: str, text: str) -> None:
    """The page to ``output`` (``-``: stdout), whole: a failed write leaves no half page.

    Raises:
        ReadError: it cannot be written (the message names the path and the reason).
    """
    data = text.encode("utf-8")
    if output == STDOUT:
        env.stdout.flush()
        env.stdout.buffer.write(data)
        env.stdout.flush()
        return
    target = Path(output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".value-diag-", suffix=".html", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ReadError(f"cannot write {output}: {exc.strerror or type(exc).__name__}") from None


def _say(env: Environment, options: ReportOptions, size: int, frames: list[Frame]) -> None:
    """What was written: a line on stderr; with --format github, a line in the job's step
    summary naming the page and how the runs stand."""
    if options.output != STDOUT:
        shown = clean(options.output, limit=None)
        env.say(f"wrote {shown}: {count(len(frames), 'run')}, {_size(size)}")
    if options.format is Format.GITHUB:
        from value_diag.render.github import append_summary

        append_summary(summary_line(options.output, frames, env.environ) + "\n", env)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(n, 1000) / 1e3:.0f} kB"


GITHUB_URL: Final = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?")
GITHUB_REPO: Final = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def summary_line(output: str, frames: list[Frame], environ: Mapping[str, str] | None = None) -> str:
    """The step summary's line: how many runs stand where, the page's file name, and
    the run's page where the job's artifacts are listed (from GitHub's own variables in
    ``environ``, by default the process's)."""
    counts = Counter(worry(f) for f in frames)
    standing = ", ".join(f"{counts[w]} {w}" for w in WORRY if counts[w])
    if output == STDOUT:
        name = "the page written on stdout"
    else:
        name = "`" + clean(os.path.basename(output), ascii_only=True).replace("`", "'") + "`"
    line = f"**{TITLE}**: {count(len(frames), 'run')} ({standing}); every metric charted in {name}"
    variables = os.environ if environ is None else environ
    server, repo, run = (variables.get(v, "") for v in GITHUB_RUN_VARS)
    if GITHUB_URL.fullmatch(server) and GITHUB_REPO.fullmatch(repo) and run.isdigit():
        return f"{line}, among [this run's artifacts]({server}/{repo}/actions/runs/{run})."
    return line + "."


GITHUB_RUN_VARS: Final = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
"""Where GitHub Actions says which run this is: its page lists the job's artifacts."""
