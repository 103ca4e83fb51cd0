"""The command line's declarations: the commands, their options and their help texts.

Nothing here imports a command's machinery at module level: `--help` and `thresholds`
load Typer and the option declarations only, and each command imports its module when
it runs, with the Environment of the command line (cli/running.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from value_diag import __version__
from value_diag.cli import options as opt
from value_diag.cli.help import KEYS, Command, Group
from value_diag.cli.options import (
    DEFAULT_POLL_S,
    MAX_POLL_S,
    MIN_POLL_S,
    AsciiOpt,
    ColorOpt,
    ConfigOpt,
    CriticOpt,
    FailCountOpt,
    FailOnOpt,
    FormatOpt,
    Judging,
    LatestOpt,
    MaxAgeOpt,
    NoConfigOpt,
    PathsArg,
    PatternOpt,
    PersistOpt,
    PresetOpt,
    UsageError,
    WarmupOpt,
    choice,
    judging,
)
from value_diag.cli.running import current, run
from value_diag.environment import PROG, Environment
from value_diag.options import ColorMode, Format

if TYPE_CHECKING:
    from value_diag.exitcodes import ExitCode


def _version(value: bool) -> None:
    if value:
        from value_diag.ingest.finder import COMPILED

        compiled = "yes" if COMPILED else "no"
        current().stdout.write(f"{PROG} {__version__} (compiled name search: {compiled})\n")
        raise typer.Exit()


app = typer.Typer(
    name=PROG,
    cls=Group,
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


EPILOG_ONCE = """
\b
Examples:
  value-diag once run.jsonl                     # the latest frame
  value-diag once run.jsonl --fail-on critical  # CI: exit 1 if it is dying
  value-diag once run.jsonl --format json | jq .status
  value-diag once runs/ --compare               # a sweep: a row per run
  value-diag once run.jsonl --chart             # every metric's history
  value-diag once runs/ --chart vcorr           # V-Corr of each run
  value-diag once runs/ --max-age 15m --fail-on critical  # dying or hung
  value-diag once run.jsonl --fail-on critical --warmup 0 --persist 1
  ssh gpu-box cat run.jsonl | value-diag once -

\b
Exit codes:
  0  frame printed (a level --fail-on holds back says why on stderr)
  1  status reached --fail-on (after the warm-up, held --persist updates)
  2  usage error, or the input cannot be read
  3  no usable record in the input
"""


@app.command(
    cls=Command,
    epilog=EPILOG_ONCE,
    short_help="Print the latest panel of telemetry files and exit.",
)
@judging()
def once(
    judged: Judging,
    compare: Annotated[
        bool, typer.Option("--compare", help="One table: a row per run, worst first.")
    ] = False,
    svg: Annotated[
        str | None, typer.Option("--svg", metavar="FILE", help="Also save the frame as SVG.")
    ] = None,
    html: Annotated[
        str | None, typer.Option("--html", metavar="FILE", help="Also save the frame as HTML.")
    ] = None,
    chart: Annotated[
        str | None,
        typer.Option(
            "--chart",
            metavar="[METRIC]",
            help="Also draw each metric's history as a chart under the frames, every run"
            " on it; METRIC (vcorr, bellman, any metric's name) draws only its own.",
        ),
    ] = None,
    smooth: Annotated[
        float,
        typer.Option(
            "--smooth",
            min=0.0,
            max=0.999,
            metavar="WEIGHT",
            help="With --chart: smooth the lines as TensorBoard does (0: off, 0.9: strong).",
        ),
    ] = 0.0,
) -> None:
    """Print the latest VALUE DIAGNOSTICS frame of telemetry files and exit."""

    def body(env: Environment) -> ExitCode:
        from value_diag.commands.once import OnceOptions, run_once
        from value_diag.render.terminal import plain_stdout

        settled = judged.settle(env)
        opt.chart_options(chart, smooth, settled.format)
        # Plain text needs no console (and so no rich.console import): a comparison or a
        # chart does.
        plain = (
            plain_stdout(settled.color, env.stdout, env.environ) and not compare and chart is None
        )
        console = None if plain else opt.console(env, settled.color)
        options = OnceOptions(
            rules=settled.rules,
            format=settled.format,
            fail_on=settled.fail_on,
            fail_count=judged.fail_count,
            boxed=env.stdout_isatty,
            compare=compare,
            history=judged.history_kept(),
            svg=svg,
            html=html,
            pattern=judged.pattern,
            latest=judged.latest,
            chart=chart,
            smooth=smooth,
        )
        return run_once(judged.paths, console, settled.renderer, options, env)

    run(body)


# The keys as tui/bindings.py lists them (KEYS: filled when the help is shown), for the ?
# screen and the decoder too.
EPILOG_WATCH = f"""
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
panel per run while they fit, else a table: {KEYS}
Ctrl-C exits 0 (a level --fail-on held back says why on stderr).

--poll without SECONDS looks every 0.5 s. It is taken as bare when it comes last,
or before another option or an existing file; any other word after it is an error
(so that --poll 0,5 is not a file name to wait for).
"""


@app.command(
    cls=Command,
    epilog=EPILOG_WATCH,
    short_help="Follow growing telemetry files and redraw the panel.",
)
@judging(between=("poll",))
def watch(
    judged: Judging,
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

    def body(env: Environment) -> ExitCode:
        from value_diag.commands.watch import WatchOptions, run_watch
        from value_diag.tui.live import LiveSink, choose_sink

        settled = judged.settle(env)
        console = opt.console(env, settled.color)
        sink = choose_sink(console, settled.renderer, settled.format, table, env)
        options = WatchOptions(
            rules=settled.rules,
            fail_on=settled.fail_on,
            fail_count=judged.fail_count,
            poll=poll,
            history=judged.history_kept(live=isinstance(sink, LiveSink)),
            pattern=judged.pattern,
            latest=judged.latest,
        )
        return run_watch(judged.paths, sink, options, clock=env.clock, env=env)

    run(body)


EPILOG_REPORT = """
\b
Examples:
  value-diag report runs/ -o report.html     # a sweep: table, panels, charts
  value-diag report run.jsonl -o - > r.html  # the page on stdout
  value-diag report 'runs/*/run.jsonl' -o report.html --format github
  value-diag report runs/ -o r.html --fail-on critical  # CI: the page, a gate

One self-contained HTML file: the runs' table worst first with why, each run's
panel, and a chart of every metric over steps (hover for values, drag to zoom,
thresholds drawn as the rules in force set them). It loads nothing when opened,
from a CI artifact or an e-mail. --format github adds a line naming it to the
job's step summary. Exit codes as once's: with --fail-on, the page is written
first and the exit code says whether a run reached LEVEL.
"""


@app.command(
    cls=Command,
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
    fail_on: FailOnOpt = "never",
    fail_count: FailCountOpt = 1,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    critic: CriticOpt = False,
    preset: PresetOpt = None,
    max_age: MaxAgeOpt = None,
    warmup: WarmupOpt = None,
    persist: PersistOpt = None,
    pattern: PatternOpt = None,
    latest: LatestOpt = False,
) -> None:
    """Write the runs as one self-contained HTML page: table, panels and charts."""

    def body(env: Environment) -> ExitCode:
        from value_diag.commands.report import ReportOptions, run_report

        if output is None:
            raise UsageError("missing -o/--output FILE: where to write the page")
        fmt = choice(Format, format, "--format")
        if fmt not in (Format.TEXT, Format.GITHUB):
            raise UsageError(f"--format must be text or github, not {format!r}")
        level = opt.fail_level(fail_on, fail_count)
        opt.one_stdin(paths)
        rules, origin = opt.judging_rules(
            env,
            config,
            no_config,
            critic=critic,
            preset=preset,
            max_age=max_age,
            warmup=warmup,
            persist=persist,
        )
        renderer = opt.renderer(env, ascii, False, critic=critic, origin=origin)
        options = ReportOptions(
            output=output,
            rules=rules,
            format=fmt,
            pattern=pattern,
            latest=latest,
            fail_on=level.status(),
            fail_count=fail_count,
        )
        return run_report(paths, renderer, options, env)

    run(body)


@app.command(cls=Command, short_help="Print the thresholds in force and where each comes from.")
def thresholds(
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    preset: PresetOpt = None,
    warmup: WarmupOpt = None,
    persist: PersistOpt = None,
) -> None:
    """Print the thresholds in force and where each one comes from."""

    def body(env: Environment) -> ExitCode:
        from value_diag.config import describe, reason, shown
        from value_diag.exitcodes import ExitCode
        from value_diag.health import Preset
        from value_diag.render.sanitize import clean

        chosen = None if preset is None else choice(Preset, preset, "--preset")
        effective = opt.thresholds(env, config, no_config)
        rows = describe(effective, chosen, warmup, persist)
        wide = max((len(level) for _, level, _, _ in rows), default=0)
        wide = max(wide, LEVEL_WIDTH)
        for metric, level, value, source in rows:
            why = reason(effective, chosen, metric, level)
            line = f"{metric:22} {level:{wide}} {shown(value):>8}   {clean(source, limit=None)}"
            env.stdout.write(line + (f"   # {why}" if why else "") + "\n")
        return ExitCode.OK

    run(body)


LEVEL_WIDTH = 10
"""The least width of `thresholds`' level column (wider when a level's name is longer)."""
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
    cls=Command,
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

    def body(env: Environment) -> ExitCode:
        from value_diag.commands.simulate import run_simulate
        from value_diag.producer.simulate import Existing, LogFormat, Scenario, SimOptions

        if force and append:
            raise UsageError("--force and --append cannot go together")
        options = SimOptions(
            scenario=choice(Scenario, scenario, "--scenario"),
            updates=updates,
            interval=interval,
            format=choice(LogFormat, format, "--format"),
            seed=seed,
        )
        existing = Existing.OVERWRITE if force else Existing.APPEND if append else Existing.KEEP
        return run_simulate(out, options, existing, quiet, env)

    run(body)


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
    cls=Command, epilog=EPILOG_DEMO, short_help="Simulate a training run and watch it live."
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

    def body(env: Environment) -> ExitCode:
        from value_diag.commands.demo import run_demo
        from value_diag.producer.simulate import Scenario, SimOptions
        from value_diag.tui.live import choose_sink

        options = SimOptions(
            scenario=choice(Scenario, scenario, "--scenario"), updates=updates, interval=interval
        )
        fmt = choice(Format, format, "--format")
        console = opt.console(env, choice(ColorMode, color, "--color"))
        rules, origin = opt.judging_rules(env, None)
        sink = choose_sink(console, opt.renderer(env, ascii, False, origin=origin), fmt, env=env)
        return run_demo(options, sink, out, env, rules)

    run(body)
