"""The command line: commands and options declared, usage errors said one way, exit codes.

Nothing here imports a command's machinery at module level: `--help` and `thresholds`
load Typer and the option declarations only, and each command imports its module when
it runs.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar, cast

import typer
from typer._click import HelpFormatter
from typer._click.exceptions import BadOptionUsage, MissingParameter, NoSuchOption
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from value_diag import __version__
from value_diag.options import HISTORY_LEN, MAX_PERSIST, MAX_WARMUP, ColorMode, Format

if TYPE_CHECKING:
    from typer._click import Command as ClickCommand
    from typer._click import Context as ClickContext
    from typer._click import Parameter

    from value_diag.config import Effective
    from value_diag.exitcodes import ExitCode
    from value_diag.health import Status
    from value_diag.render.frames import Renderer

PROG = "value-diag"
USAGE_ERROR = 2
"""Exit code of a usage error (ExitCode.ERROR, without importing the health table)."""


class UsageError(Exception):
    """Options that cannot go together, or a value no declaration can check."""


# --- help that reads like git's or ruff's -------------------------------------------------------


class _Formatter(HelpFormatter):
    """Help wrapped at spaces only, so `value-diag` and `esper-lite` are never split."""

    def write_text(self, text: str) -> None:
        """Paragraphs filled to the width; a paragraph opening with \\b is kept as written."""
        indent = " " * self.current_indent
        for paragraph in text.split("\n\n"):
            if paragraph.startswith("\b"):
                lines = paragraph.splitlines()[1:]
                self.write("".join(f"{indent}{line}\n" for line in lines))
            else:
                self.write("\n".join(_wrap(paragraph, self.width, indent)) + "\n")
            self.write("\n")
        if self.buffer and self.buffer[-1] == "\n":
            self.buffer.pop()

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        """Two columns; a term too long for the first puts its text on the next line."""
        first = min(max((len(term) for term, _ in rows), default=0), col_max) + col_spacing
        pad = " " * (self.current_indent + first)
        width = max(self.width - self.current_indent - first, 20)
        for term, text in rows:
            self.write(" " * self.current_indent + term)
            lines = [line.replace(_NBSP, " ") for line in _wrap(text, width)]
            if not lines:
                self.write("\n")
                continue
            self.write(" " * (first - len(term)) if len(term) < first else "\n" + pad)
            self.write(f"\n{pad}".join(lines) + "\n")


_NBSP = "\xa0"
"""Joins words the help keeps on one line ("[default: 60]"); a space once wrapped."""


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(
        re.sub(r"[ \t\n]+", " ", text),
        width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


class _Context(typer.Context):
    formatter_class = _Formatter


def _label(param: Parameter) -> str:
    """An argument as the usage line names it: PATH..., OUT, [FILE]."""
    name = param.metavar or (param.name or "").upper()
    name += "..." if param.nargs == -1 else ""
    return name if param.required else f"[{name}]"


def _rows(params: list[Parameter]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(arguments, options) as help rows: names and metavar, then the help and its default."""
    args: list[tuple[str, str]] = []
    opts: list[tuple[str, str]] = []
    for p in params:
        if isinstance(p, TyperArgument) and not p.hidden:
            args.append((_label(p).strip("[]"), p.help or ""))
        elif isinstance(p, TyperOption) and not p.hidden:
            names = ", ".join(sorted(p.opts, key=lambda o: o.startswith("--")))
            term = names if p.is_flag else f"{names} {p.metavar or 'VALUE'}"
            text = p.help or ""
            if p.show_default is not False and not p.is_flag and p.default is not None:
                text += f"  [default:{_NBSP}{p.default}]"
            opts.append((term, text))
    return args, opts


def _format_params(params: list[Parameter], formatter: HelpFormatter) -> None:
    args, opts = _rows(params)
    for title, rows in (("Arguments", args), ("Options", opts)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


def _format_epilog(epilog: str | None, formatter: HelpFormatter) -> None:
    """The epilog as written, unindented: its headings line up with Options and Commands."""
    if epilog:
        formatter.write_paragraph()
        formatter.write_text(textwrap.dedent(epilog).strip("\n"))


class _Command(TyperCommand):
    """A command whose usage says PATH... and whose options carry no type labels."""

    context_class = _Context

    def collect_usage_pieces(self, ctx: ClickContext) -> list[str]:
        return ["[OPTIONS]", *(_label(p) for p in self.params if isinstance(p, TyperArgument))]

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_params(self.get_params(ctx), formatter)

    def format_epilog(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_epilog(self.epilog, formatter)


class _Group(TyperGroup):
    """The top level: every command's whole first line, and a plain "no such command"."""

    context_class = _Context

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_params(self.get_params(ctx), formatter)
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name, cmd in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_epilog(self.epilog, formatter)

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        name = args[0]
        if name not in self.commands and not name.startswith("-"):
            close = difflib.get_close_matches(name, list(self.commands), n=1)
            hint = f"did you mean {close[0]}?" if close else f"one of {', '.join(self.commands)}"
            ctx.fail(f"no such command {name!r} ({hint})")
        return super().resolve_command(ctx, args)


# --- declarations ---------------------------------------------------------------------------------


class FailOn(StrEnum):
    """The status at which the process exits 1."""

    NEVER = "never"
    WARNING = "warning"
    CRITICAL = "critical"

    def status(self) -> Status | None:
        """The threshold status, or None for never."""
        from value_diag.health import Status

        return None if self is FailOn.NEVER else Status(self.value)


def _version(value: bool) -> None:
    if value:
        from value_diag.ingest.finder import COMPILED

        print(f"{PROG} {__version__} (compiled name search: {'yes' if COMPILED else 'no'})")
        raise typer.Exit()


app = typer.Typer(
    name=PROG,
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog="""
        \b
        Examples:
          value-diag once run.jsonl      # the latest panel, for a look or for CI
          value-diag watch run.jsonl     # redrawn as the training run writes
          value-diag demo                # a simulated run, to see what it shows

        See 'value-diag COMMAND --help' for a command's options and examples.
        """,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Watch the value-function health of a reinforcement-learning training run.

    Reads JSON-lines telemetry (esper-lite events, flat metric lines or snapshots)
    and shows the VALUE DIAGNOSTICS panel.
    """


PathsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="PATH",
        help="Telemetry JSONL files, directories of runs, quoted patterns ('runs/*/run.jsonl'),"
        " or - for stdin.",
    ),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="text, json (one object per frame), github (workflow annotations) or markdown.",
    ),
]
ColorOpt = Annotated[
    str,
    typer.Option(
        "--color",
        metavar="WHEN",
        help="auto (colour on a terminal only; NO_COLOR and FORCE_COLOR honoured),"
        " always or never.",
    ),
]
AsciiOpt = Annotated[
    bool, typer.Option("--ascii", help="ASCII glyphs only (^ -> v ! OK, 'Ret sigma').")
]
FailOnOpt = Annotated[
    str,
    typer.Option(
        "--fail-on",
        metavar="LEVEL",
        help="Exit 1 when the status reaches LEVEL: warning, critical or never (after the"
        " warm-up, once it has held --persist updates; a NaN or a stale run at once).",
    ),
]
FailCountOpt = Annotated[
    int,
    typer.Option(
        "--fail-count",
        metavar="N",
        min=1,
        help="With several runs: exit 1 only when at least N of them reach --fail-on"
        " (a sweep that tolerates a bad seed). Needs --fail-on.",
    ),
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
    bool,
    typer.Option(
        "--trend",
        help="Add a sparkline of lines 1-4's first metric: its name, min-max and warning line.",
    ),
]
CriticOpt = Annotated[
    bool,
    typer.Option(
        "--critic",
        help="Add the CRITIC CALIBRATION block (V-Corr, EV, TD, Bellman, V-Span, V-Mean,"
        " V-Std, Calib) under the panel; its verdicts count toward the status.",
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        metavar="NAME",
        help="default (the spec's table, in reward units) or scale-free (only quantities"
        " that fit any reward scale). Default: the config's preset, else default.",
    ),
]
PatternOpt = Annotated[
    str | None,
    typer.Option(
        "--pattern",
        metavar="GLOB",
        help="The run files a directory stands for: a file name (events.jsonl) or a path"
        " below it (seed*/run.jsonl). Default: every *.jsonl below it.",
    ),
]
LatestOpt = Annotated[
    bool,
    typer.Option(
        "--latest",
        help="A directory or pattern stands for the run that started last: by the time in"
        " esper-lite's telemetry_* names, else the file's birth time, else (watch) the"
        " order the files appeared in, else the names' natural order; never the last write.",
    ),
]
MaxAgeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-age",
        metavar="DURATION",
        help="A run whose last record is older than DURATION (90s, 10m, 2h) is stale:"
        " critical, so --fail-on critical catches hung runs too.",
    ),
]
WarmupOpt = Annotated[
    int | None,
    typer.Option(
        "--warmup",
        metavar="N",
        min=0,
        max=MAX_WARMUP,
        help="Most updates a run warms up for before --fail-on may fire; it ends sooner,"
        " once --persist updates in a row were ok (a NaN or a stale run fires at once)."
        " Default: 20 under scale-free, 0 under default (value-diag thresholds).",
    ),
]
PersistOpt = Annotated[
    int | None,
    typer.Option(
        "--persist",
        metavar="K",
        min=1,
        max=MAX_PERSIST,
        help="Updates in a row a level must hold before --fail-on fires at it, like an"
        " alert's for:. Default: 2 under scale-free, 1 under default.",
    ),
]
MAX_HISTORY = 10_000
"""Most value records --history keeps (about 3 MB); a sparkline averages them into the
columns the terminal gives it."""
HistoryOpt = Annotated[
    int,
    typer.Option(
        "--history",
        metavar="N",
        min=2,
        max=MAX_HISTORY,
        help=f"Value records the trend keeps, 2 to {MAX_HISTORY}.",
    ),
]


def _thresholds(config: str | None, no_config: bool) -> Effective:
    """The thresholds in force; what a config file holds but is not read is said on stderr."""
    from value_diag.config import defaults, load
    from value_diag.render.sanitize import clean

    if no_config:
        if config is not None:
            raise UsageError("--config and --no-config cannot go together")
        return defaults()
    effective = load(config)
    for warning in effective.warnings:
        sys.stderr.write(f"{PROG}: warning: {clean(warning, limit=None)}\n")
    return effective


def _renderer(
    ascii: bool,
    config: str | None,
    trend: bool,
    no_config: bool = False,
    *,
    critic: bool = False,
    preset: str | None = None,
    max_age: str | None = None,
    warmup: int | None = None,
    persist: int | None = None,
) -> Renderer:
    """Display options; the thresholds from the config in force, under ``preset`` if given,
    with the gate's ``warmup`` and ``persist`` if given."""
    from value_diag.config import PRESET_OPTION
    from value_diag.health import PRESET_KEY, Preset, rules_of
    from value_diag.options import parse_duration
    from value_diag.render.frames import Renderer
    from value_diag.render.terminal import ascii_locale, can_encode_unicode

    chosen = None if preset is None else _choice(Preset, preset, "--preset")
    seconds = None if max_age is None else parse_duration(max_age)
    if max_age is not None and seconds is None:
        raise UsageError(
            f"--max-age: {max_age!r} is not a duration (a number of seconds, or 90s, 10m, 2h, 1d)"
        )
    effective = _thresholds(config, no_config)
    return Renderer(
        ascii_only=ascii or not can_encode_unicode() or ascii_locale(),
        thresholds=rules_of(
            effective.rules(chosen, critic),
            max_age=seconds,
            warmup=warmup,
            persist=persist,
            preset_from=PRESET_OPTION if chosen is not None else effective.sources[PRESET_KEY],
        ),
        trend=trend,
        thresholds_from=effective.origin,
    )


def _one_stdin(paths: list[str]) -> None:
    if "-" in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be read together with files")


EPILOG_ONCE = """
\b
Examples:
  value-diag once run.jsonl                     # the latest frame
  value-diag once run.jsonl --fail-on critical  # CI: exit 1 if it is dying
  value-diag once run.jsonl --format json | jq .status
  value-diag once runs/ --compare               # a sweep: a row per run
  value-diag once runs/ --max-age 15m --fail-on critical  # dying or hung
  value-diag once run.jsonl --fail-on critical --warmup 0 --persist 1
  ssh gpu-box cat run.jsonl | value-diag once -

\b
Exit codes:
  0  frame printed
  1  status reached --fail-on
  2  usage error, or the input cannot be read
  3  no usable record in the input
"""


@app.command(
    cls=_Command,
    epilog=EPILOG_ONCE,
    short_help="Print the latest panel of telemetry files and exit.",
)
def once(
    paths: PathsArg,
    format: FormatOpt = "text",
    color: ColorOpt = "auto",
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = "never",
    fail_count: FailCountOpt = 1,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    trend: TrendOpt = False,
    history: HistoryOpt = HISTORY_LEN,
    critic: CriticOpt = False,
    preset: PresetOpt = None,
    max_age: MaxAgeOpt = None,
    warmup: WarmupOpt = None,
    persist: PersistOpt = None,
    pattern: PatternOpt = None,
    latest: LatestOpt = False,
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

    def body() -> ExitCode:
        from value_diag.commands.once import OnceOptions, run_once
        from value_diag.render.terminal import is_tty, make_console, plain_stdout

        fmt = _choice(Format, format, "--format")
        level = _choice(FailOn, fail_on, "--fail-on")
        _fail_count(level, fail_count)
        _one_stdin(paths)
        mode = _choice(ColorMode, color, "--color")
        # Plain text needs no console (and so no rich.console import): a comparison does.
        console = None if plain_stdout(mode) and not compare else make_console(mode)
        renderer = _renderer(
            ascii,
            config,
            trend,
            no_config,
            critic=critic,
            preset=preset,
            max_age=max_age,
            warmup=warmup,
            persist=persist,
        )
        options = OnceOptions(
            format=fmt,
            fail_on=level.status(),
            fail_count=fail_count,
            boxed=is_tty(),
            compare=compare,
            history=history if trend else 0,
            svg=svg,
            html=html,
            pattern=pattern,
            latest=latest,
        )
        return run_once(paths, console, renderer, options)

    _exit(body)


DEFAULT_POLL_S = 0.5
"""Interval of a bare `--poll` (seconds)."""
MIN_POLL_S = 0.01
MAX_POLL_S = 3600.0
"""Longest --poll interval (seconds): an hour between looks."""

EPILOG_WATCH = """
\b
Examples:
  value-diag watch run.jsonl                # live panel in this terminal
  value-diag watch runs/                    # every run below, new ones too
  value-diag watch telemetry/ --latest      # esper-lite: the newest run
  value-diag watch run.jsonl --format json  # a JSON line per update
  value-diag watch run.jsonl --fail-on critical  # CI: exit 1 once it dies
  ssh gpu-box tail -F run.jsonl | value-diag watch -
  value-diag watch /mnt/nfs/run.jsonl --poll 1    # network file systems

Follows each file like `tail -F`: waits for it to appear, and starts again from
the top when it is truncated or replaced. --fail-on waits out a run's warm-up (ok for
--persist updates in a row, at most --warmup updates) and a level must hold --persist updates
in a row: runs written by value-diag's producer are judged scale-free, 20 and 2. A
panel per run while they fit, else a table: arrows (or j/k, PgUp/PgDn, Home/End)
move, Enter opens a run, w says what to check first, Esc goes back, s sorts, ? helps,
q quits. Ctrl-C exits 0.

--poll without SECONDS looks every 0.5 s. It is taken as bare when it comes last,
or before another option or an existing file; any other word after it is an error
(so that --poll 0,5 is not a file name to wait for).
"""


@app.command(
    cls=_Command,
    epilog=EPILOG_WATCH,
    short_help="Follow growing telemetry files and redraw the panel.",
)
def watch(
    paths: PathsArg,
    format: FormatOpt = "text",
    color: ColorOpt = "auto",
    ascii: AsciiOpt = False,
    fail_on: FailOnOpt = "never",
    fail_count: FailCountOpt = 1,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            metavar="[SECONDS]",
            min=MIN_POLL_S,
            max=MAX_POLL_S,
            help=f"Look every SECONDS ({MIN_POLL_S} to {MAX_POLL_S:g}; default {DEFAULT_POLL_S})"
            " instead of waiting for file-system events: for NFS, SMB and other network"
            " file systems.",
        ),
    ] = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    trend: TrendOpt = False,
    history: HistoryOpt = HISTORY_LEN,
    critic: CriticOpt = False,
    preset: PresetOpt = None,
    max_age: MaxAgeOpt = None,
    warmup: WarmupOpt = None,
    persist: PersistOpt = None,
    pattern: PatternOpt = None,
    latest: LatestOpt = False,
    table: Annotated[
        bool,
        typer.Option(
            "--table",
            help="On a terminal: one row per run (keys: arrows, Enter, w, Esc, s, ?, q), even"
            " when every run's panel would fit.",
        ),
    ] = False,
) -> None:
    """Follow growing telemetry files and redraw the panel on every update."""

    def body() -> ExitCode:
        from value_diag.commands.watch import WatchOptions, run_watch
        from value_diag.render.sinks import LiveSink, choose_sink
        from value_diag.render.terminal import make_console

        fmt = _choice(Format, format, "--format")
        level = _choice(FailOn, fail_on, "--fail-on")
        _fail_count(level, fail_count)
        _one_stdin(paths)
        console = make_console(_choice(ColorMode, color, "--color"))
        renderer = _renderer(
            ascii,
            config,
            trend,
            no_config,
            critic=critic,
            preset=preset,
            max_age=max_age,
            warmup=warmup,
            persist=persist,
        )
        sink = choose_sink(console, renderer, fmt, table)
        options = WatchOptions(
            fail_on=level.status(),
            fail_count=fail_count,
            poll=poll,
            # A run opened from the live table shows its trend: keep the history for it.
            history=history if trend or isinstance(sink, LiveSink) else 0,
            pattern=pattern,
            latest=latest,
        )
        return run_watch(paths, sink, options)

    _exit(body)


EPILOG_REPORT = """
\b
Examples:
  value-diag report runs/ -o report.html     # a sweep: table, panels, charts
  value-diag report run.jsonl -o - > r.html  # the page on stdout
  value-diag report 'runs/*/run.jsonl' -o report.html --format github

One self-contained HTML file: the runs' table worst first with why, each run's
panel, and a chart of every metric over steps (hover for values, drag to zoom,
thresholds drawn as the rules in force set them). It loads nothing when opened,
from a CI artifact or an e-mail. --format github adds a line naming it to the
job's step summary. Exit codes as once's, without --fail-on.
"""


@app.command(
    cls=_Command,
    epilog=EPILOG_REPORT,
    short_help="Write one self-contained HTML page: table, panels, charts.",
)
def report(
    paths: PathsArg,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="The HTML file to write (- for stdout)."
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (a line on stderr says what was written) or github (also a line in"
            " the job's step summary naming the page).",
        ),
    ] = "text",
    ascii: AsciiOpt = False,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    critic: CriticOpt = False,
    preset: PresetOpt = None,
    max_age: MaxAgeOpt = None,
    pattern: PatternOpt = None,
    latest: LatestOpt = False,
) -> None:
    """Write the runs as one self-contained HTML page: table, panels and charts."""

    def body() -> ExitCode:
        from value_diag.commands.report import ReportOptions, run_report

        if output is None:
            raise UsageError("missing -o/--output FILE: where to write the page")
        fmt = _choice(Format, format, "--format")
        if fmt not in (Format.TEXT, Format.GITHUB):
            raise UsageError(f"--format must be text or github, not {format!r}")
        _one_stdin(paths)
        renderer = _renderer(
            ascii, config, False, no_config, critic=critic, preset=preset, max_age=max_age
        )
        options = ReportOptions(output=output, format=fmt, pattern=pattern, latest=latest)
        return run_report(paths, renderer, options)

    _exit(body)


@app.command(cls=_Command, short_help="Print the thresholds in force and where each comes from.")
def thresholds(
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    preset: PresetOpt = None,
    warmup: WarmupOpt = None,
    persist: PersistOpt = None,
) -> None:
    """Print the thresholds in force and where each one comes from."""

    def body() -> ExitCode:
        from value_diag.config import describe, reason, shown
        from value_diag.exitcodes import ExitCode
        from value_diag.health import Preset
        from value_diag.render.sanitize import clean

        chosen = None if preset is None else _choice(Preset, preset, "--preset")
        effective = _thresholds(config, no_config)
        for metric, level, value, source in describe(effective, chosen, warmup, persist):
            why = reason(effective, chosen, metric, level)
            line = f"{metric:22} {level:10} {shown(value):>8}   {clean(source, limit=None)}"
            print(line + (f"   # {why}" if why else ""))
        return ExitCode.OK

    _exit(body)


SCENARIOS = ("healthy", "collapse", "bimodal", "eager")
"""The names producer.simulate.Scenario takes (declared as text: --help imports no simulator)."""

EPILOG_SIMULATE = """
\b
Examples:
  value-diag simulate run.jsonl     # a collapsing run, 2 updates a second
  value-diag simulate run.jsonl --scenario healthy --interval 0
  value-diag simulate run.jsonl -q --format flat & value-diag watch run.jsonl

\b
Scenarios:
  healthy   the value head learns: correlation rises to about 0.9
  collapse  it diverges: correlation under 0.3, TD and Bellman error climb,
            NaN at the end
  bimodal   it learns, but the returns split into failures and successes
  eager     healthy, with torch.compile off

Each update's metrics are computed from a synthetic rollout by
compute_value_metrics. A file that is not empty is left alone unless --force
(overwrite) or --append is given. What is written is said on stderr; Ctrl-C
stops the run (exit 0).
"""

ScenarioOpt = Annotated[
    str,
    typer.Option(
        "--scenario", metavar="NAME", help=f"What the value head does: {', '.join(SCENARIOS)}."
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
    typer.Option(
        "--updates",
        metavar="N",
        min=1,
        max=MAX_UPDATES,
        help=f"PPO updates in the run, 1 to {MAX_UPDATES}.",
    ),
]
IntervalOpt = Annotated[
    float,
    typer.Option(
        "--interval",
        metavar="SECONDS",
        min=0.0,
        max=MAX_INTERVAL_S,
        help=f"Time between updates, 0 to {MAX_INTERVAL_S:g}.",
    ),
]


@app.command(
    cls=_Command,
    epilog=EPILOG_SIMULATE,
    short_help="Write a synthetic training run to a file, in real time.",
)
def simulate(
    out: Annotated[str, typer.Argument(metavar="OUT", help="The JSONL file to write.")],
    scenario: ScenarioOpt = "collapse",
    updates: UpdatesOpt = 60,
    interval: IntervalOpt = 0.5,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="SHAPE",
            help="The shape of the lines: esper, flat or snapshot.",
        ),
    ] = "esper",
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="N",
            min=0,
            max=MAX_SEED,
            help="Random seed, 0 to 2**64-1 (default: the scenario's own).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite OUT if it holds anything.")
    ] = False,
    append: Annotated[bool, typer.Option("--append", help="Write after what OUT holds.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Say nothing on stderr unless it fails.")
    ] = False,
) -> None:
    """Write a synthetic training run to a telemetry file, in real time."""

    def body() -> ExitCode:
        from value_diag.commands.simulate import run_simulate
        from value_diag.producer.simulate import Existing, LogFormat, Scenario, SimOptions

        if force and append:
            raise UsageError("--force and --append cannot go together")
        options = SimOptions(
            scenario=_choice(Scenario, scenario, "--scenario"),
            updates=updates,
            interval=interval,
            format=_choice(LogFormat, format, "--format"),
            seed=seed,
        )
        existing = Existing.OVERWRITE if force else Existing.APPEND if append else Existing.KEEP
        return run_simulate(out, options, existing, quiet)

    _exit(body)


EPILOG_DEMO = """
\b
Examples:
  value-diag demo                     # a value function that collapses
  value-diag demo --scenario bimodal  # returns split: failures and successes
  value-diag demo --out run.jsonl     # keep the simulated run
  value-diag demo | cat               # plain frames, one per update

Simulates a run into a temporary file and watches it, as `value-diag watch`
would. Ends after the run's last frame, or at Ctrl-C (exit 0).
"""


@app.command(
    cls=_Command, epilog=EPILOG_DEMO, short_help="Simulate a training run and watch it live."
)
def demo(
    scenario: ScenarioOpt = "collapse",
    updates: UpdatesOpt = 40,
    interval: IntervalOpt = 0.15,
    out: Annotated[
        str | None,
        typer.Option("--out", metavar="PATH", help="Write the run to PATH and keep it."),
    ] = None,
    format: FormatOpt = "text",
    color: ColorOpt = "auto",
    ascii: AsciiOpt = False,
) -> None:
    """Simulate a training run in the background and watch it live."""

    def body() -> ExitCode:
        from value_diag.commands.demo import run_demo
        from value_diag.producer.simulate import Scenario, SimOptions
        from value_diag.render.sinks import choose_sink
        from value_diag.render.terminal import make_console

        options = SimOptions(
            scenario=_choice(Scenario, scenario, "--scenario"), updates=updates, interval=interval
        )
        fmt = _choice(Format, format, "--format")
        console = make_console(_choice(ColorMode, color, "--color"))
        sink = choose_sink(console, _renderer(ascii, None, False), fmt)
        return run_demo(options, sink, out)

    _exit(body)


# --- running a command, and saying what went wrong ------------------------------------------------

_Choice = TypeVar("_Choice", bound=StrEnum)


def _fail_count(level: FailOn, count: int) -> None:
    """--fail-count counts runs that reach --fail-on: without a level it would count none."""
    if count > 1 and level is FailOn.NEVER:
        raise UsageError("--fail-count needs --fail-on warning or --fail-on critical")


def _choice(kind: type[_Choice], value: str, flag: str) -> _Choice:
    """An option value as its enum (declared as text, so the CLI needs not import the module)."""
    try:
        return kind(value.lower())
    except ValueError:
        names = ", ".join(kind)
        raise UsageError(f"{flag} must be one of {names}, not {value!r}") from None


def _exit(command: Callable[[], ExitCode]) -> NoReturn:
    """Runs a command body and exits with its code; expected failures become one line."""
    from value_diag.config import ConfigError
    from value_diag.errors import ReadError
    from value_diag.exitcodes import ExitCode
    from value_diag.render.sanitize import clean

    try:
        code = command()
        sys.stdout.flush()
    except (ReadError, ConfigError) as exc:
        # Not cut to a length: the reason comes last, after a path of any length.
        sys.stderr.write(f"{PROG}: error: {clean(str(exc), limit=None)}\n")
        code = ExitCode.ERROR
    except BrokenPipeError:  # stdout's reader left (stderr cannot raise: see streams.py)
        from value_diag.render.terminal import silence_stdout

        silence_stdout()
        code = ExitCode.OK
    except OSError as exc:  # a file error with no message of ours: say which file, and why
        # Files are read and exports written with their own messages: what is left is stdout.
        where = exc.filename or "<stdout>"
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"{PROG}: error: {clean(f'cannot write {where}: {reason}', limit=None)}\n")
        code = ExitCode.ERROR
    except MemoryError:  # each line is bounded; this is a machine already out of memory
        sys.stderr.write(f"{PROG}: error: out of memory\n")
        code = ExitCode.ERROR
    raise typer.Exit(int(code))


def _command_name(args: list[str]) -> str | None:
    """The command in a command line: its first word that is not an option."""
    end = args.index("--") if "--" in args else len(args)
    return next((a for a in args[:end] if not a.startswith("-")), None)


def _bare_poll(args: list[str]) -> list[str]:
    """Gives watch's `--poll` written without SECONDS its default (click has no optional values).

    The word after --poll is SECONDS if it is a number, and a file if it names one that
    exists (or is - or an option); anything else is refused rather than followed as a
    file that may appear one day (`--poll 0,5`, `--poll abc`).
    """
    if _command_name(args) != "watch":
        return args
    out = list(args)
    end = out.index("--") if "--" in out else len(out)
    for i in reversed(range(end)):
        if out[i] != "--poll":
            continue
        after = out[i + 1] if i + 1 < end else None
        if after is not None:
            try:
                float(after)
                continue
            except ValueError:
                pass
        if after is None or after.startswith("-") or os.path.lexists(after):
            out.insert(i + 1, str(DEFAULT_POLL_S))
        elif re.fullmatch(r"[\d.,eE+-]*\d[\d.,eE+-]*", after):
            raise UsageError(f"--poll takes SECONDS as a number such as 0.5, not {after!r}")
        else:
            raise UsageError(
                f"--poll {after!r}: not a number of seconds, nor an existing file (to wait"
                f" for a file not there yet, give SECONDS: --poll {DEFAULT_POLL_S} {after})"
            )
    return out


def _given(args: list[str], names: list[str]) -> str | None:
    """The value last given to an option on the command line, as typed."""
    value = None
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            value = args[i + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
    return value


def _message(exc: ClickUsageError, root: _Group, args: list[str]) -> str:
    """A usage error of the parser, in value-diag's words."""
    here = exc.ctx.command.name if exc.ctx is not None else _command_name(args)
    if isinstance(exc, NoSuchOption):
        opt = exc.option_name
        owners = [
            name
            for name, cmd in root.commands.items()
            if name != here and any(opt in p.opts for p in cmd.params)
        ]
        if owners and here in root.commands:
            return f"{opt} is an option of {' and '.join(owners)}, not of {here}"
        close = f" (did you mean {exc.possibilities[0]}?)" if exc.possibilities else ""
        return f"no such option {opt}{close}"
    if isinstance(exc, BadOptionUsage):
        verb = "needs a value" if "requires" in exc.message else "takes no value"
        return f"{exc.option_name} {verb}"
    param = getattr(exc, "param", None)
    if isinstance(exc, MissingParameter) and param is not None:
        return f"missing {_label(param).strip('[]').removesuffix('...')}"
    if isinstance(param, TyperOption):
        opt = max(param.opts, key=len)
        given = _given(args, param.opts)
        said = f", not {given!r}" if given is not None else ""
        if param.min is not None and param.max is not None:
            kind = "a number" if isinstance(param.min, float) else "a whole number"
            lo, hi = (f"{x:g}" if isinstance(x, float) else str(x) for x in (param.min, param.max))
            return f"{opt} must be {kind} from {lo} to {hi}{said}"
        return f"invalid value for {opt}{said}: {exc.message}"
    extra = re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", exc.message)
    if extra:
        return f"unexpected argument{'s' * (' ' in extra[1])}: {extra[1]}"
    return exc.message[:1].lower() + exc.message[1:].rstrip(".")


def _usage(root: _Group, ctx: ClickContext | None, args: list[str]) -> str:
    """The usage line of the command the error is about (of value-diag when it is unclear)."""
    if ctx is None:
        ctx = _Context(root, info_name=PROG)
        name = _command_name(args)
        if name is not None and name in root.commands:
            ctx = _Context(root.commands[name], info_name=name, parent=ctx)
    return ctx.get_usage()


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit code.

    Every usage error, the parser's or a command's, is said the same way: the usage line
    of the command, then `value-diag: error: ...`, and exit code 2.
    """
    from value_diag.streams import guard_stderr, reopen_closed

    reopen_closed()
    guard_stderr()
    args = list(sys.argv[1:] if argv is None else argv)
    root = cast(_Group, typer.main.get_command(app))
    try:
        code = root.main(args=_bare_poll(args), prog_name=PROG, standalone_mode=False)
    except ClickUsageError as exc:
        if exc.ctx is not None and not args:  # no command at all: the whole help
            sys.stderr.write(exc.ctx.get_help() + "\n")
            return USAGE_ERROR
        _say(_usage(root, exc.ctx, args), _message(exc, root, args))
        return USAGE_ERROR
    except UsageError as exc:
        _say(_usage(root, None, args), str(exc))
        return USAGE_ERROR
    return code if isinstance(code, int) else 0


def _say(usage: str, message: str) -> None:
    from value_diag.render.sanitize import clean

    sys.stderr.write(f"{usage}\n{PROG}: error: {clean(message, limit=None)}\n")
    sys.stderr.flush()
