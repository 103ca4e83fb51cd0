"""The command line: options, console set-up, and errors turned into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, NoReturn

import typer

from value_diag import __version__
from value_diag.config import ConfigError
from value_diag.exitcodes import ExitCode
from value_diag.health import Status
from value_diag.once import HISTORY_LEN
from value_diag.output import (
    ColorMode,
    Format,
    Renderer,
    can_encode_unicode,
    is_tty,
    make_console,
    silence_stdout,
)
from value_diag.panel import clean
from value_diag.source import STDIN, ReadError

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
        print(f"value-diag {__version__}")
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


PathArg = Annotated[
    str, typer.Argument(metavar="PATH", help="Telemetry JSONL file, or - for stdin.")
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
TrendOpt = Annotated[
    bool, typer.Option("--trend", help="Add a sparkline of recent values to lines 1-4.")
]
HistoryOpt = Annotated[
    int, typer.Option("--history", metavar="N", min=2, help="Value records the trend keeps.")
]


def _renderer(ascii: bool, config: str | None, trend: bool) -> Renderer:
    """Display options; the thresholds from the config in force."""
    from value_diag.config import load

    return Renderer(
        ascii_only=ascii or not can_encode_unicode(),
        thresholds=load(config).thresholds,
        trend=trend,
    )


@app.command(epilog=EPILOG_ONCE)
def once(
    paths: Annotated[
        list[str],
        typer.Argument(metavar="PATH...", help="Telemetry JSONL files, or - for stdin."),
    ],
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = FailOn.NEVER,
    config: ConfigOpt = None,
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
    from value_diag.once import OnceOptions, run_once

    def body() -> ExitCode:
        _one_stdin(paths)
        console = make_console(color)
        renderer = _renderer(ascii, config, trend)
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
    paths: Annotated[
        list[str],
        typer.Argument(metavar="PATH...", help="Telemetry JSONL files, or - for stdin."),
    ],
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = FailOn.NEVER,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            metavar="[SECONDS]",
            min=0.01,
            help="Look every SECONDS (default 0.5) instead of waiting for file-system"
            " events: for NFS, SMB and other network file systems.",
        ),
    ] = None,
    config: ConfigOpt = None,
    trend: TrendOpt = False,
    history: HistoryOpt = HISTORY_LEN,
) -> None:
    """Follow growing telemetry files and redraw the panel on every update."""
    from value_diag.output import LiveSink, StreamSink
    from value_diag.watch import WatchOptions, run_watch

    def body() -> ExitCode:
        _one_stdin(paths)
        console = make_console(color)
        renderer = _renderer(ascii, config, trend)
        live = is_tty() and format is Format.TEXT
        sink = LiveSink(console, renderer) if live else StreamSink(console, renderer, format)
        options = WatchOptions(fail_on=fail_on.status(), poll=poll, history=history if trend else 0)
        return run_watch(paths, sink, options)

    _exit(body)


@app.command()
def thresholds(config: ConfigOpt = None) -> None:
    """Print the thresholds in force and where each one comes from."""

    def body() -> ExitCode:
        from value_diag.config import describe, load

        for metric, level, value, source in describe(load(config)):
            print(f"{metric:22} {level:10} {value:>8g}   {clean(source)}")
        return ExitCode.OK

    _exit(body)


def _exit(command: Callable[[], ExitCode]) -> NoReturn:
    """Runs a command body and exits with its code; expected failures become one line."""
    try:
        code = command()
        sys.stdout.flush()
    except (ReadError, ConfigError, UsageError) as exc:
        sys.stderr.write(f"value-diag: error: {clean(str(exc))}\n")
        code = ExitCode.ERROR
    except BrokenPipeError:  # the reader left early (`watch ... | head`): nothing to say
        silence_stdout()
        code = ExitCode.OK
    raise typer.Exit(int(code))


DEFAULT_POLL_S = 0.5
"""Interval of a bare `--poll` (seconds)."""


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


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit code."""
    args = _bare_poll(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="value-diag")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.ERROR
    return ExitCode.OK
