"""The command line: options, console set-up, and errors turned into exit codes."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, NoReturn, TypeVar

import typer

from value_diag import __version__
from value_diag.config import ConfigError, Effective
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.health import Status
from value_diag.ingest.files import STDIN
from value_diag.options import HISTORY_LEN, ColorMode, Format
from value_diag.render.frames import Renderer
from value_diag.render.sanitize import clean
from value_diag.render.terminal import (
    ascii_locale,
    can_encode_unicode,
    is_tty,
    make_console,
    silence_stdout,
)

EPILOG_ONCE = """\
\b
Examples:
  value-diag once run.jsonl                     # the latest frame
  value-diag once run.jsonl --fail-on critical  # CI: exit 1 if the run is dying
  value-diag once run.jsonl --format json | jq .status
  ssh gpu-box cat run.jsonl | value-diag once -

\b
Exit codes:
  0  frame printed
  1  status reached --fail-on
  2  usage error, or the input cannot be read
  3  no usable record in the input
"""


DEFAULT_POLL_S = 0.5
"""Interval of a bare `--poll` (seconds)."""
MIN_POLL_S = 0.01
MAX_POLL_S = 3600.0
"""Longest --poll interval (seconds): an hour between looks."""


class UsageError(Exception):
    """Options that cannot go together."""


class FailOn(StrEnum):
    """The status at which the process exits 1."""

    NEVER = "never"
    WARNING = "warning"
    CRITICAL = "critical"

    def status(self) -> Status | None:
        """The threshold status, or None for never."""
        return None if self is FailOn.NEVER else Status(self.value)


def _version(value: bool) -> None:
    if value:
        from value_diag.ingest.finder import COMPILED

        print(f"value-diag {__version__} (compiled name search: {'yes' if COMPILED else 'no'})")
        raise typer.Exit()


app = typer.Typer(
    name="value-diag",
    help="Watch the value-function health of a reinforcement-learning training run.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog="Examples: value-diag once run.jsonl; value-diag watch run.jsonl. "
    "See value-diag COMMAND --help.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Watch the value-function health of a reinforcement-learning training run.

    Reads JSON-lines telemetry (esper-lite events, flat metric lines or snapshots)
    and shows the VALUE DIAGNOSTICS panel.
    """


PathsArg = Annotated[
    list[str], typer.Argument(metavar="PATH...", help="Telemetry JSONL files, or - for stdin.")
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="text, json (one object per frame), github (workflow annotations) or markdown.",
    ),
]
ColorOpt = Annotated[
    ColorMode,
    typer.Option(
        "--color",
        case_sensitive=False,
        help="auto: colour on a terminal only (NO_COLOR and FORCE_COLOR honoured).",
    ),
]
AsciiOpt = Annotated[
    bool, typer.Option("--ascii", help="ASCII glyphs only (^ -> v ! OK, 'Ret sigma').")
]
FailOnOpt = Annotated[
    FailOn,
    typer.Option("--fail-on", case_sensitive=False, help="Exit 1 when the status reaches this."),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Thresholds from FILE ([thresholds] table). Default: [tool.value-diag.thresholds]"
        " in ./pyproject.toml, else [thresholds] in ./value-diag.toml, else the built-in ones.",
    ),
]
NoConfigOpt = Annotated[
    bool,
    typer.Option(
        "--no-config",
        help="The built-in thresholds: read no config file (for a checkout you do not trust).",
    ),
]
TrendOpt = Annotated[
    bool, typer.Option("--trend", help="Add a sparkline of recent values to lines 1-4.")
]
MAX_HISTORY = 10_000
"""Most value records --history keeps (about 3 MB); the sparkline shows 30 columns anyway."""
HistoryOpt = Annotated[
    int,
    typer.Option(
        "--history",
        metavar="N",
        min=2,
        max=MAX_HISTORY,
        help="Value records the trend keeps.",
    ),
]


def _thresholds(config: str | None, no_config: bool) -> Effective:
    """The thresholds in force; what a config file holds but is not read is said on stderr."""
    from value_diag.config import defaults, load

    if no_config:
        if config is not None:
            raise UsageError("--config and --no-config cannot go together")
        return defaults()
    effective = load(config)
    for warning in effective.warnings:
        sys.stderr.write(f"value-diag: warning: {clean(warning, limit=None)}\n")
    return effective


def _renderer(ascii: bool, config: str | None, trend: bool, no_config: bool = False) -> Renderer:
    """Display options; the thresholds from the config in force."""
    effective = _thresholds(config, no_config)
    return Renderer(
        ascii_only=ascii or not can_encode_unicode() or ascii_locale(),
        thresholds=effective.thresholds,
        trend=trend,
        thresholds_from=effective.origin,
    )


@app.command(epilog=EPILOG_ONCE)
def once(
    paths: PathsArg,
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = FailOn.NEVER,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    trend: TrendOpt = False,
    history: HistoryOpt = HISTORY_LEN,
    compare: Annotated[
        bool, typer.Option("--compare", help="One table: a row per run, worst first.")
    ] = False,
    svg: Annotated[
        str | None, typer.Option("--svg", metavar="FILE", help="Also save the frame as SVG.")
    ] = None,
    html: Annotated[
        str | None, typer.Option("--html", metavar="FILE", help="Also save the frame as HTML.")
    ] = None,
) -> None:
    """Print the latest VALUE DIAGNOSTICS frame of telemetry files and exit."""
    from value_diag.commands.once import OnceOptions, run_once

    def body() -> ExitCode:
        _one_stdin(paths)
        console = make_console(color)
        renderer = _renderer(ascii, config, trend, no_config)
        options = OnceOptions(
            format=format,
            fail_on=fail_on.status(),
            boxed=is_tty(),
            compare=compare,
            history=history if trend else 0,
            svg=svg,
            html=html,
        )
        return run_once(paths, console, renderer, options)

    _exit(body)


def _one_stdin(paths: list[str]) -> None:
    if STDIN in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be read together with files")


EPILOG_WATCH = """\
\b
Examples:
  value-diag watch run.jsonl                     # live panel in this terminal
  value-diag watch runs/*/run.jsonl              # one panel per seed, stacked
  value-diag watch run.jsonl --format json       # a JSON line per update
  value-diag watch run.jsonl --fail-on critical  # CI: exit 1 once the run is dying
  ssh gpu-box tail -F run.jsonl | value-diag watch -
  value-diag watch /mnt/nfs/run.jsonl --poll 1   # network file systems

Follows each file like `tail -F`: waits for it to appear, and starts again from the
top when it is truncated or replaced. Ctrl-C exits 0.
"""


@app.command(epilog=EPILOG_WATCH)
def watch(
    paths: PathsArg,
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = FailOn.NEVER,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            metavar="[SECONDS]",
            min=MIN_POLL_S,
            max=MAX_POLL_S,
            help=f"Look every SECONDS (default {DEFAULT_POLL_S}) instead of waiting for"
            " file-system events: for NFS, SMB and other network file systems.",
        ),
    ] = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    trend: TrendOpt = False,
    history: HistoryOpt = HISTORY_LEN,
) -> None:
    """Follow growing telemetry files and redraw the panel on every update."""
    from value_diag.commands.watch import WatchOptions, run_watch
    from value_diag.render.sinks import LiveSink, StreamSink

    def body() -> ExitCode:
        _one_stdin(paths)
        console = make_console(color)
        renderer = _renderer(ascii, config, trend, no_config)
        # A dumb terminal cannot redraw in place: it gets plain frames one after another.
        live = is_tty() and format is Format.TEXT and not console.is_dumb_terminal
        sink = LiveSink(console, renderer) if live else StreamSink(console, renderer, format)
        options = WatchOptions(fail_on=fail_on.status(), poll=poll, history=history if trend else 0)
        return run_watch(paths, sink, options)

    _exit(body)


@app.command()
def thresholds(config: ConfigOpt = None, no_config: NoConfigOpt = False) -> None:
    """Print the thresholds in force and where each one comes from."""

    def body() -> ExitCode:
        from value_diag.config import describe

        for metric, level, value, source in describe(_thresholds(config, no_config)):
            print(f"{metric:22} {level:10} {value:>8g}   {clean(source, limit=None)}")
        return ExitCode.OK

    _exit(body)


EPILOG_SIMULATE = """\
\b
Examples:
  value-diag simulate run.jsonl                        # a collapsing run, 2 updates a second
  value-diag simulate run.jsonl --scenario healthy --interval 0
  value-diag simulate run.jsonl --format flat & value-diag watch run.jsonl

\b
Scenarios:
  healthy   the value head learns: correlation rises to about 0.9
  collapse  it diverges: correlation under 0.3, TD and Bellman error climb, NaN at the end
  bimodal   it learns, but the returns split into failures and successes
  eager     healthy, with torch.compile off

Each update's metrics are computed from a synthetic rollout by compute_value_metrics.
The file is emptied first; Ctrl-C stops the run (exit 0).
"""

ScenarioOpt = Annotated[
    str,
    typer.Option(
        "--scenario", metavar="healthy|collapse|bimodal|eager", help="What the value head does."
    ),
]
MAX_UPDATES = 1_000_000
"""Most PPO updates a simulated run may have."""
MAX_INTERVAL_S = 3600.0
"""Longest --interval between simulated updates (seconds)."""
MAX_SEED = 2**64 - 1
"""Seeds are 0 to this, as training frameworks take them."""
UpdatesOpt = Annotated[
    int,
    typer.Option("--updates", min=1, max=MAX_UPDATES, help="PPO updates in the run."),
]
IntervalOpt = Annotated[
    float,
    typer.Option(
        "--interval",
        metavar="SECONDS",
        min=0.0,
        max=MAX_INTERVAL_S,
        help="Time between updates.",
    ),
]


@app.command(epilog=EPILOG_SIMULATE)
def simulate(
    out: Annotated[str, typer.Argument(metavar="OUT", help="The JSONL file to write.")],
    scenario: ScenarioOpt = "collapse",
    updates: UpdatesOpt = 60,
    interval: IntervalOpt = 0.5,
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="esper|flat|snapshot", help="The shape of the lines."
        ),
    ] = "esper",
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            max=MAX_SEED,
            help="Random seed (default: the scenario's own).",
        ),
    ] = None,
) -> None:
    """Write a synthetic training run to a telemetry file, in real time."""

    def body() -> ExitCode:
        from value_diag.producer.simulate import LogFormat, Scenario, SimOptions, run

        options = SimOptions(
            scenario=_choice(Scenario, scenario, "--scenario"),
            updates=updates,
            interval=interval,
            format=_choice(LogFormat, format, "--format"),
            seed=seed,
        )
        try:
            run(out, options)
        except OSError as exc:
            raise ReadError(f"cannot write {out}: {exc.strerror or type(exc).__name__}") from None
        except KeyboardInterrupt:
            pass
        return ExitCode.OK

    _exit(body)


EPILOG_DEMO = """\
\b
Examples:
  value-diag demo                        # a run whose value function collapses
  value-diag demo --scenario bimodal     # returns split into failures and successes
  value-diag demo --out run.jsonl        # keep the simulated run
  value-diag demo | cat                  # plain frames, one per update

Simulates a run into a temporary file and watches it, as `value-diag watch` would.
Ends after the run's last frame, or at Ctrl-C (exit 0).
"""


@app.command(epilog=EPILOG_DEMO)
def demo(
    scenario: ScenarioOpt = "collapse",
    updates: UpdatesOpt = 40,
    interval: IntervalOpt = 0.15,
    out: Annotated[
        str | None,
        typer.Option("--out", metavar="PATH", help="Write the run to PATH and keep it."),
    ] = None,
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
) -> None:
    """Simulate a training run in the background and watch it live."""

    def body() -> ExitCode:
        from value_diag.commands.demo import run_demo
        from value_diag.producer.simulate import Scenario, SimOptions
        from value_diag.render.sinks import LiveSink, StreamSink

        options = SimOptions(
            scenario=_choice(Scenario, scenario, "--scenario"), updates=updates, interval=interval
        )
        console = make_console(color)
        renderer = _renderer(ascii, None, False)
        # As `watch`: redrawn in place on a terminal, plain frames one after another elsewhere.
        live = is_tty() and format is Format.TEXT and not console.is_dumb_terminal
        sink = LiveSink(console, renderer) if live else StreamSink(console, renderer, format)
        return run_demo(options, sink, out)

    _exit(body)


_Choice = TypeVar("_Choice", bound=StrEnum)


def _choice(kind: type[_Choice], value: str, flag: str) -> _Choice:
    """An option value as its enum (declared as text, so the CLI needs not import the module)."""
    try:
        return kind(value.lower())
    except ValueError:
        names = ", ".join(kind)
        raise UsageError(f"{flag} must be one of {names}, not {value!r}") from None


def _exit(command: Callable[[], ExitCode]) -> NoReturn:
    """Runs a command body and exits with its code; expected failures become one line."""
    gc.enable()  # paused for start-up by launch.run
    try:
        code = command()
        sys.stdout.flush()
    except (ReadError, ConfigError, UsageError) as exc:
        # Not cut to a length: the reason comes last, after a path of any length.
        sys.stderr.write(f"value-diag: error: {clean(str(exc), limit=None)}\n")
        code = ExitCode.ERROR
    except BrokenPipeError:  # the reader left early (`watch ... | head`): nothing to say
        silence_stdout()
        code = ExitCode.OK
    except OSError as exc:  # a file error with no message of ours: say which file, and why
        # Files are read and exports written with their own messages: what is left is stdout.
        where = exc.filename or "<stdout>"
        reason = exc.strerror or str(exc)
        sys.stderr.write(
            f"value-diag: error: {clean(f'cannot write {where}: {reason}', limit=None)}\n"
        )
        code = ExitCode.ERROR
    except MemoryError:  # each line is bounded; this is a machine already out of memory
        sys.stderr.write("value-diag: error: out of memory\n")
        code = ExitCode.ERROR
    raise typer.Exit(int(code))


def _bare_poll(args: list[str]) -> list[str]:
    """Gives a `--poll` written without SECONDS its default (click has no optional values)."""
    out = list(args)
    end = out.index("--") if "--" in out else len(out)
    for i in reversed(range(end)):
        if out[i] == "--poll":
            try:
                float(out[i + 1])
            except (IndexError, ValueError):
                out.insert(i + 1, str(DEFAULT_POLL_S))
    return out


def _reopen_closed_streams() -> None:
    """A standard stream closed by the caller (`>&-`, `<&-`) is /dev/null instead.

    Python leaves such a stream as None, which nothing here could print to or read from;
    like /dev/null, a closed stdout shows nothing and the exit code still tells the verdict.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is not None:
            continue
        devnull = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - lives as long as sys


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit code."""
    _reopen_closed_streams()
    args = _bare_poll(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="value-diag")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.ERROR
    finally:
        gc.enable()
    return ExitCode.OK
