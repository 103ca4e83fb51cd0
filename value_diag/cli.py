"""The command line: options, console set-up, and errors turned into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, NoReturn

import typer

from value_diag import __version__
from value_diag.exitcodes import ExitCode
from value_diag.health import Status
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
    Format, typer.Option("--format", "-f", case_sensitive=False, help="text or json.")
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


@app.command(epilog=EPILOG_ONCE)
def once(
    path: PathArg,
    format: FormatOpt = Format.TEXT,
    color: ColorOpt = ColorMode.AUTO,
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = FailOn.NEVER,
) -> int:
    """Print the latest VALUE DIAGNOSTICS frame of a telemetry file and exit."""
    from value_diag.once import OnceOptions, run_once

    console = make_console(color)
    renderer = Renderer(ascii_only=ascii or not can_encode_unicode())
    options = OnceOptions(format=format, fail_on=fail_on.status(), boxed=is_tty())
    _exit(lambda: run_once(path, console, renderer, options))


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
) -> None:
    """Follow growing telemetry files and redraw the panel on every update."""
    from value_diag.output import LiveSink, StreamSink
    from value_diag.watch import WatchOptions, run_watch

    if STDIN in paths and len(paths) > 1:
        raise typer.BadParameter("- (stdin) cannot be watched together with files")
    console = make_console(color)
    renderer = Renderer(ascii_only=ascii or not can_encode_unicode())
    live = is_tty() and format is Format.TEXT
    sink = LiveSink(console, renderer) if live else StreamSink(console, renderer, format)
    options = WatchOptions(fail_on=fail_on.status(), poll=poll)
    _exit(lambda: run_watch(paths, sink, options))


def _exit(command: Callable[[], ExitCode]) -> NoReturn:
    """Runs a command body and exits with its code; expected failures become one line."""
    try:
        code = command()
        sys.stdout.flush()
    except ReadError as exc:
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
