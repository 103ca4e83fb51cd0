"""How right value-diag's verdicts are on the labelled corpus of real runs (bench/corpus).

python bench/verdicts.py [--markdown] [--runs] [--by env|algo] [--rules none|default|scale-free ...]

Each run file is replayed update by update (``value_diag.replay.replay``) under the rules
of no option (a run header picks the preset), of ``--preset default`` and of ``--preset
scale-free``, and its levels are held against its label (bench/corpus/labels.json):

- healthy updates (those of healthy runs, and those before a fault's onset) after the
  warm-up: how many are shown, and how many fired, critical and at least warning;
- broken runs: the detection delay, from ``start = max(onset, end of the warm-up)`` (the
  first update at which the fault is there and a gate may fire) to the first update at or
  after it whose fired level is critical; a miss is a run that never fires critical from
  there, or whose last update is not fired critical;
- degraded runs: whether the last update fires at least a warning.

The warm-up is the gate's (value_diag/gate.py): it is over once ``persist`` updates in a
row were ok, or after ``warmup`` updates, whichever comes first; the first update at which
a gate may fire is the warm-up's end. A benchmark, not a test: it prints the figures and
exits 0 (tests/test_verdict_score.py asserts the targets). ``--runs`` adds each run's
shown and fired levels, one letter per update: ``.`` no data, ``o`` ok, ``w`` warning,
``C`` critical; ``:`` marks the end of the warm-up and ``|`` the onset. ``--by env`` (or
``algo``) adds a table of the targets per environment (or per algorithm and format).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from value_diag.config import PRESET_OPTION
from value_diag.health import Preset, Rules, Status, reaches, rules_for
from value_diag.replay import Step, replay

CORPUS: Final = Path(__file__).resolve().parent / "corpus"
TARGET_DELAY: Final = 3
"""Updates after ``start`` within which a broken run must fire critical."""
_LETTER: Final = {Status.NO_DATA: ".", Status.OK: "o", Status.WARNING: "w", Status.CRITICAL: "C"}


@dataclass(frozen=True, slots=True)
class Label:
    """What a run's critic is, by the design of its fault (labels.json)."""

    kind: str
    """"healthy", "broken" or "degraded"."""
    onset: int | None
    """The first update (1-based) the fault damages; None for a healthy run."""
    fault: str = "none"
    env: str = ""
    algo: str = ""
    """What trained it ("PPO", "A2C", "cleanrl", ...) and, for a copy in another format,
    that format: "PPO (esper)"."""


@dataclass(frozen=True, slots=True)
class RunScore:
    """One run's levels under one preset, held against its label."""

    name: str
    label: Label
    warmup: int
    """The warm-up of the rules in force for the file: at most this many updates."""
    persist: int
    steps: tuple[Step, ...]

    @property
    def armed(self) -> int:
        """The first update at which a gate may fire: the first past the gate's warm-up."""
        return next((s.update for s in self.steps if not s.warming), len(self.steps) + 1)

    @property
    def start(self) -> int | None:
        """The first update at which the fault is there and a gate may fire."""
        if self.label.onset is None:
            return None
        return max(self.label.onset, self.armed)

    def healthy_steps(self) -> list[Step]:
        """The updates labelled healthy after the warm-up: a whole healthy run's, or those
        before a fault's onset."""
        onset, armed = self.label.onset, self.armed
        return [s for s in self.steps if s.update >= armed and (onset is None or s.update < onset)]

    @property
    def first_critical(self) -> int | None:
        """The first update from ``start`` on whose fired level is critical."""
        start = self.start
        if start is None:
            return None
        for s in self.steps:
            if s.update >= start and s.fired == Status.CRITICAL:
                return s.update
        return None

    @property
    def delay(self) -> int | None:
        """Updates from ``start`` to the first fired critical (None: never)."""
        first, start = self.first_critical, self.start
        return None if first is None or start is None else first - start

    @property
    def end(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    @property
    def false_criticals(self) -> int:
        """Healthy updates after the warm-up whose fired level is critical."""
        return sum(s.fired == Status.CRITICAL for s in self.healthy_steps())

    @property
    def caught(self) -> bool:
        """Fired critical within TARGET_DELAY updates of ``start``, and at its end (a broken
        run's target, false alarms aside)."""
        delay, end = self.delay, self.end
        return (
            delay is not None
            and delay <= TARGET_DELAY
            and end is not None
            and (end.fired == Status.CRITICAL)
        )

    @property
    def warned(self) -> bool:
        """At least a warning fired at its end (a degraded run's target, false alarms aside)."""
        return self.end is not None and reaches(self.end.fired, Status.WARNING)

    @property
    def passed(self) -> bool:
        """Whether the run meets its target (see the module's docstring)."""
        if self.false_criticals or self.end is None:
            return False
        if self.label.kind == "broken":
            return self.caught
        if self.label.kind == "degraded":
            return self.warned
        return True

    def letters(self, of: Callable[[Step], Status]) -> str:
        """One letter per update; ``:`` before the first update a gate may fire at, ``|``
        before the onset."""
        out = []
        for s in self.steps:
            if s.update == self.armed:
                out.append(":")
            if s.update == self.label.onset:
                out.append("|")
            out.append(_LETTER[of(s)])
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Score:
    """Every run's score under one choice of rules, and the figures of the table."""

    name: str
    """How the rules were chosen: "no flags" (a file's run header picks the preset),
    "--preset default" or "--preset scale-free"."""
    runs: tuple[RunScore, ...]

    def of_kind(self, kind: str) -> list[RunScore]:
        return [r for r in self.runs if r.label.kind == kind]

    def healthy_steps(self) -> list[Step]:
        return [s for r in self.runs for s in r.healthy_steps()]

    def rate(self, level: Status, fired: bool) -> tuple[int, int]:
        """(updates at least ``level``, healthy updates after the warm-up)."""
        steps = self.healthy_steps()
        hits = sum(reaches(s.fired if fired else s.shown, level) for s in steps)
        return hits, len(steps)

    def rows(self) -> list[tuple[str, str]]:
        """The table: (figure, value)."""
        healthy = self.of_kind("healthy")
        broken = self.of_kind("broken")
        degraded = self.of_kind("degraded")
        gates = sorted({(r.warmup, r.persist) for r in self.runs}, reverse=True)
        gate = ", ".join(f"{w} / {p}" for w, p in gates)
        rows = [("warm-up (at most) / persistence, updates", gate)]
        n_steps = len(self.healthy_steps())
        rows.append(("healthy updates after warm-up (runs)", f"{n_steps} ({len(healthy)})"))
        for level, name in ((Status.CRITICAL, "critical"), (Status.WARNING, "warning or worse")):
            shown, n = self.rate(level, fired=False)
            fired, _ = self.rate(level, fired=True)
            rows.append((f"false {name}: shown / fired", f"{_pct(shown, n)} / {_pct(fired, n)}"))
        noisy = [r for r in self.runs if r.false_criticals]
        rows.append(("runs with a false fired critical", f"{len(noisy)} / {len(self.runs)}"))
        delays = [r.delay for r in broken if r.delay is not None]
        in_time = sum(d <= TARGET_DELAY for d in delays)
        rows.append(
            (f"broken runs fired critical within {TARGET_DELAY}", f"{in_time} / {len(broken)}")
        )
        if delays:
            rows.append(
                (
                    "detection delay: median / mean / max",
                    f"{statistics.median(delays):g} / {statistics.fmean(delays):.1f}"
                    f" / {max(delays)}",
                )
            )
        never = sum(r.first_critical is None for r in broken)
        not_at_end = sum(r.end is None or r.end.fired != Status.CRITICAL for r in broken)
        rows.append(("broken: never fired critical", f"{never} / {len(broken)}"))
        rows.append(("broken: not fired critical at the end", f"{not_at_end} / {len(broken)}"))
        weak = sum(r.end is None or not reaches(r.end.fired, Status.WARNING) for r in degraded)
        rows.append(("degraded: not a warning at the end", f"{weak} / {len(degraded)}"))
        passed = sum(r.passed for r in self.runs)
        rows.append(("runs meeting their target", f"{passed} / {len(self.runs)}"))
        return rows


def _pct(hits: int, n: int) -> str:
    return f"{100.0 * hits / n:.1f} % ({hits})" if n else "-"


# --- replay -----------------------------------------------------------------------------------


def replay_file(path: Path, rules: Rules) -> Iterator[Step]:
    """The run's updates as ``value_diag.replay.replay`` gives them."""
    return replay(str(path), rules)


# --- the corpus -------------------------------------------------------------------------------


def load_labels(corpus: Path = CORPUS) -> dict[str, Label]:
    """labels.json, by run file name."""
    raw: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text())
    return {
        name: Label(
            kind=v["kind"],
            onset=v["onset"],
            fault=v.get("fault", "none"),
            env=v.get("env", ""),
            algo=v.get("algo", "") + _format_note(v.get("format", "flat")),
        )
        for name, v in raw.items()
    }


def _format_note(file_format: str) -> str:
    return "" if file_format == "flat" else f" ({file_format})"


GROUPS: Final[dict[str, Callable[[Label], str]]] = {
    "env": lambda label: label.env,
    "algo": lambda label: label.algo,
}
"""What ``--by`` groups the runs by."""


def group_rows(s: Score, by: str) -> list[tuple[str, int, int, int, str, str]]:
    """Per group of runs (GROUPS), sorted by name: (group, runs, runs meeting their target,
    runs with a false fired critical, broken runs fired critical within TARGET_DELAY of
    their start and at their end "n / of", degraded runs at least a warning at their end)."""
    key = GROUPS[by]
    groups: dict[str, list[RunScore]] = {}
    for r in s.runs:
        groups.setdefault(key(r.label), []).append(r)
    rows = []
    for name, runs in sorted(groups.items()):
        broken = [r for r in runs if r.label.kind == "broken"]
        degraded = [r for r in runs if r.label.kind == "degraded"]
        rows.append(
            (
                name,
                len(runs),
                sum(r.passed for r in runs),
                sum(bool(r.false_criticals) for r in runs),
                f"{sum(r.caught for r in broken)} / {len(broken)}",
                f"{sum(r.warned for r in degraded)} / {len(degraded)}",
            )
        )
    return rows


def group_table(s: Score, by: str, markdown: bool) -> str:
    head = (by, "runs", "met", "with a false fired critical", "broken caught", "degraded warned")
    rows = [tuple(str(x) for x in row) for row in group_rows(s, by)]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    table = [head, *rows]
    return "\n".join("  " + "  ".join(map(str.ljust, r, widths)) for r in table)


CHOICES: Final = {
    "none": "no flags",
    Preset.DEFAULT.value: "--preset default",
    Preset.SCALE_FREE.value: "--preset scale-free",
}
"""The rules scored: of no option (a run header picks the preset), and of each preset."""


def rules_named(choice: str) -> Rules:
    """The rules a command line gives: none (the run header picks), or a preset."""
    if choice == "none":
        return rules_for(Preset.DEFAULT)
    return replace(rules_for(Preset(choice)), preset_from=PRESET_OPTION)


def score(
    choice: str, corpus: Path = CORPUS, warmup: int | None = None, persist: int | None = None
) -> Score:
    """Every labelled run of the corpus, replayed under the rules of ``choice`` (CHOICES),
    with the gate's warm-up and persistence set as --warmup and --persist set them."""
    rules = rules_named(choice)
    if warmup is not None or persist is not None:
        rules = replace(rules, warmup=warmup, persist=persist)
    runs = []
    for run, label in sorted(load_labels(corpus).items()):
        path = corpus / "runs" / run
        steps = tuple(replay_file(path, rules))
        warmup, persist = steps[-1].gate if steps else rules.gate
        runs.append(RunScore(run, label, warmup, persist, steps))
    return Score(CHOICES[choice], tuple(runs))


# --- output -----------------------------------------------------------------------------------


def text_table(s: Score) -> str:
    width = max(len(k) for k, _ in s.rows())
    lines = [s.name]
    lines += [f"  {k:<{width}}  {v}" for k, v in s.rows()]
    return "\n".join(lines)


def markdown_table(scores: Sequence[Score]) -> str:
    head = "| | " + " | ".join(s.name for s in scores) + " |"
    lines = [head, "|---" * (len(scores) + 1) + "|"]
    columns = [s.rows() for s in scores]
    for i, (name, _) in enumerate(columns[0]):
        lines.append(f"| {name} | " + " | ".join(c[i][1] for c in columns) + " |")
    return "\n".join(lines)


def run_lines(s: Score, markdown: bool) -> str:
    """Each run: label, start, delay, end levels, and the shown and fired sequences."""
    out = []
    if markdown:
        out.append("| run | label | start | delay | end shown/fired | target | fired |")
        out.append("|---|---|---|---|---|---|---|")
    for r in s.runs:
        end = r.end
        end_text = f"{end.shown.value}/{end.fired.value}" if end else "-"
        delay = "-" if r.start is None else ("never" if r.delay is None else str(r.delay))
        kind = r.label.kind + (f"@{r.label.onset}" if r.label.onset else "")
        ok = "met" if r.passed else "MISSED"
        if markdown:
            out.append(
                f"| {r.name} | {kind} | {r.start or '-'} | {delay} | {end_text} | {ok} |"
                f" `{r.letters(lambda st: st.fired)}` |"
            )
        else:
            out.append(f"  {r.name}  {kind}  start {r.start or '-'}  delay {delay}  {ok}")
            out.append(f"    shown {r.letters(lambda st: st.shown)}")
            out.append(f"    fired {r.letters(lambda st: st.fired)}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="markdown tables")
    ap.add_argument("--runs", action="store_true", help="each run's levels too")
    ap.add_argument(
        "--rules", nargs="*", choices=list(CHOICES), default=None, help="some of the rules only"
    )
    ap.add_argument("--by", choices=list(GROUPS), default=None, help="the targets per group")
    ap.add_argument("--warmup", type=int, default=None, help="the gate's, as value-diag's")
    ap.add_argument("--persist", type=int, default=None, help="the gate's, as value-diag's")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args(argv)
    scores = [score(name, args.corpus, args.warmup, args.persist) for name in args.rules or CHOICES]
    if args.markdown:
        print(markdown_table(scores))
    else:
        print("\n\n".join(text_table(s) for s in scores))
    if args.by:
        for s in scores:
            print(f"\n{'### ' if args.markdown else ''}by {args.by} under {s.name}\n")
            print(group_table(s, args.by, args.markdown))
    if args.runs:
        for s in scores:
            print(f"\n{'### ' if args.markdown else ''}runs under {s.name}\n")
            print(run_lines(s, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
