"""The options the commands share, declared once, and what their values mean.

``once`` and ``watch`` take the same seventeen parameters (what to read, how to show it,
how to judge it): they are declared here once, gathered into one ``Judging`` object by
``judging``, and turned into the renderer and the gate's level in one place. ``report``,
``thresholds`` and ``demo`` take some of the same declarations.

Option values are declared as text and turned into their enums here (``choice``), so that
``--help`` imports no command's machinery.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from value_diag.environment import Environment
from value_diag.options import HISTORY_LEN, MAX_PERSIST, MAX_WARMUP, ColorMode, Format

if TYPE_CHECKING:
    from rich.console import Console

    from value_diag.config import Effective
    from value_diag.health import Rules, Status
    from value_diag.render.frames import Renderer


class UsageError(Exception):
    """Options that cannot go together, or a value no declaration can check."""


class FailOn(StrEnum):
    """The status at which the process exits 1."""

    NEVER = "never"
    WARNING = "warning"
    CRITICAL = "critical"

    def status(self) -> Status | None:
        """The threshold status, or None for never."""
        from value_diag.health import Status

        return None if self is FailOn.NEVER else Status(self.value)


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
        " below it (seed*/run.jsonl). Default: every *.jsonl below it, and what trainers"
        " log: progress.csv, events.out.tfevents.*, result.json.",
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


DEFAULT_POLL_S = 0.5
"""Interval of a bare `--poll` (seconds)."""
MIN_POLL_S = 0.01
MAX_POLL_S = 3600.0
"""Longest --poll interval (seconds): an hour between looks."""


@dataclass(frozen=True, slots=True)
class Judging:
    """What ``once`` and ``watch`` both take: the runs to read, how to show them, and how
    to judge them. Declared once (``DECLARED``), as the parser gives them."""

    paths: list[str]
    format: str = "text"
    color: str = "auto"
    ascii: bool = False
    fail_on: str = "never"
    fail_count: int = 1
    config: str | None = None
    no_config: bool = False
    trend: bool = False
    history: int = HISTORY_LEN
    critic: bool = False
    preset: str | None = None
    max_age: str | None = None
    warmup: int | None = None
    persist: int | None = None
    pattern: str | None = None
    latest: bool = False

    def settle(self, env: Environment) -> Settled:
        """The values checked and made what the commands take, in one order for both
        commands: the format, --fail-on with --fail-count, stdin alone, the colour, then
        the thresholds in force (which may say a config's warnings on stderr).

        Raises:
            UsageError: the first value that is wrong, or options that cannot go together.
        """
        fmt = choice(Format, self.format, "--format")
        level = self.level()
        one_stdin(self.paths)
        color = choice(ColorMode, self.color, "--color")
        rules, origin = judging_rules(
            env,
            self.config,
            self.no_config,
            critic=self.critic,
            preset=self.preset,
            max_age=self.max_age,
            warmup=self.warmup,
            persist=self.persist,
        )
        shown = renderer(env, self.ascii, self.trend, critic=self.critic, origin=origin)
        return Settled(fmt, level.status(), color, rules, shown)

    def history_kept(self, live: bool = False) -> int:
        """Value records each run keeps: --history for a trend (or a live view, where a
        run opened from the table shows its trend), else none."""
        return self.history if self.trend or live else 0

    def level(self) -> FailOn:
        """--fail-on, checked with --fail-count (which counts runs that reach it)."""
        return fail_level(self.fail_on, self.fail_count)


@dataclass(frozen=True, slots=True)
class Settled:
    """What Judging's values come to, once checked (``Judging.settle``)."""

    format: Format
    fail_on: Status | None
    """The gate's level (None: --fail-on never)."""
    color: ColorMode
    rules: Rules
    """What judges the runs: the thresholds, preset and gate in force."""
    renderer: Renderer
    """How frames are shown; it judges nothing."""


DECLARED: dict[str, object] = {
    "paths": PathsArg,
    "format": FormatOpt,
    "color": ColorOpt,
    "ascii": AsciiOpt,
    "fail_on": FailOnOpt,
    "fail_count": FailCountOpt,
    "config": ConfigOpt,
    "no_config": NoConfigOpt,
    "trend": TrendOpt,
    "history": HistoryOpt,
    "critic": CriticOpt,
    "preset": PresetOpt,
    "max_age": MaxAgeOpt,
    "warmup": WarmupOpt,
    "persist": PersistOpt,
    "pattern": PatternOpt,
    "latest": LatestOpt,
}
"""Each of Judging's fields as the parser declares it, in the order help lists them."""
FIRST = ("paths", "format", "color", "ascii", "fail_on", "fail_count")
"""The fields help lists before a command's own options named in ``judging(between=...)``."""

_Result = TypeVar("_Result")


def judging(
    *, between: tuple[str, ...] = ()
) -> Callable[[Callable[..., _Result]], Callable[..., _Result]]:
    """Declares a command taking ``(judged: Judging, **own)`` with Judging's fields as
    options of its own, as if written out in its signature: FIRST, then the command's own
    options named in ``between``, then the other fields, then the rest of its own."""

    def declare(func: Callable[..., _Result]) -> Callable[..., _Result]:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]
        defaults = {f.name: f.default for f in fields(Judging)}

        def param(name: str) -> inspect.Parameter:
            return inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=DECLARED[name],
                default=defaults[name] if name != "paths" else inspect.Parameter.empty,
            )

        params = [param(name) for name in FIRST]
        params += [p for p in own if p.name in between]
        params += [param(name) for name in DECLARED if name not in FIRST]
        params += [p for p in own if p.name not in between]

        @functools.wraps(func, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        def command(**given: Any) -> _Result:
            judged = Judging(**{name: given.pop(name) for name in DECLARED})
            return func(judged, **given)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # the parser reads the signature above, not func's
        return command

    return declare


_Choice = TypeVar("_Choice", bound=StrEnum)


def choice(kind: type[_Choice], value: str, flag: str) -> _Choice:
    """An option value as its enum (declared as text, so the CLI needs not import the module)."""
    try:
        return kind(value.lower())
    except ValueError:
        names = ", ".join(kind)
        raise UsageError(f"{flag} must be one of {names}, not {value!r}") from None


def fail_level(fail_on: str, fail_count: int) -> FailOn:
    """--fail-on, checked with --fail-count (which counts runs that reach it)."""
    level = choice(FailOn, fail_on, "--fail-on")
    if fail_count > 1 and level is FailOn.NEVER:
        raise UsageError("--fail-count needs --fail-on warning or --fail-on critical")
    return level


def chart_options(chart: str | None, smooth: float, fmt: Format) -> None:
    """Refuses what --chart cannot do: a metric no chart has, a format other than text,
    and --smooth without a chart."""
    if chart is None:
        if smooth:
            raise UsageError("--smooth needs --chart")
        return
    from value_diag.render.chartview import UnknownMetric, check_name

    try:
        check_name(chart)
    except UnknownMetric as exc:
        raise UsageError(f"--chart: {exc}") from None
    if fmt is not Format.TEXT:
        raise UsageError(f"--chart draws text: it cannot go with --format {fmt}")


def one_stdin(paths: list[str]) -> None:
    """Refuses stdin beside files."""
    if "-" in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be read together with files")


def thresholds(env: Environment, config: str | None, no_config: bool) -> Effective:
    """The thresholds in force; what a config file holds but is not read is said on stderr."""
    from value_diag.config import defaults, load
    from value_diag.render.sanitize import clean

    if no_config:
        if config is not None:
            raise UsageError("--config and --no-config cannot go together")
        return defaults()
    effective = load(config)
    for warning in effective.warnings:
        env.say(clean(warning, limit=None), "warning")
    return effective


def judging_rules(
    env: Environment,
    config: str | None,
    no_config: bool = False,
    *,
    critic: bool = False,
    preset: str | None = None,
    max_age: str | None = None,
    warmup: int | None = None,
    persist: int | None = None,
) -> tuple[Rules, str]:
    """The rules that judge the runs: the thresholds of the config in force, under
    ``preset`` if given, with the gate's ``warmup`` and ``persist`` if given; and where the
    thresholds come from (a config file's path, or "default")."""
    from value_diag.health import Preset
    from value_diag.options import parse_duration

    chosen = None if preset is None else choice(Preset, preset, "--preset")
    seconds = None if max_age is None else parse_duration(max_age)
    if max_age is not None and seconds is None:
        raise UsageError(
            f"--max-age: {max_age!r} is not a duration (a number of seconds, or 90s, 10m, 2h, 1d)"
        )
    effective = thresholds(env, config, no_config)
    rules = effective.rules(chosen, critic, max_age=seconds, warmup=warmup, persist=persist)
    return rules, effective.origin


def renderer(
    env: Environment, ascii: bool, trend: bool, *, critic: bool = False, origin: str | None = None
) -> Renderer:
    """The display options: ASCII when asked or when the terminal cannot show Unicode, the
    trend, the CRITIC CALIBRATION block, and the config file the caption names."""
    from value_diag.health import DEFAULT_ORIGIN
    from value_diag.render.frames import Renderer
    from value_diag.render.terminal import ascii_locale, can_encode_unicode

    return Renderer(
        ascii_only=ascii or not can_encode_unicode(env.stdout) or ascii_locale(env.environ),
        critic=critic,
        trend=trend,
        thresholds_from=DEFAULT_ORIGIN if origin is None else origin,
    )


def console(env: Environment, color: ColorMode) -> Console:
    """A console drawing on the Environment's stdout and reading its variables (FORCE_COLOR,
    NO_COLOR, COLUMNS, TERM)."""
    from value_diag.render.terminal import make_console

    return make_console(color, file=env.stdout, environ=env.environ)
