"""One source's state at one moment, judged once, as the commands hand it to the renderers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from value_diag import health
from value_diag.health import (
    DEFAULT_ORIGIN,
    DEFAULT_RULES,
    WRITER_PRESET,
    Fit,
    Health,
    Preset,
    Rules,
)
from value_diag.schema import BOUND_FIELDS, CRITIC_FIELDS, RULE_FIELDS, VALUE_FIELDS
from value_diag.state import FoldState, to_snapshot

NO_METRIC_HINT: Final = (
    "no line names a known metric (value-diag reads JSON lines:"
    " esper-lite events, flat metric lines or snapshots)"
)
"""Said of a source whose lines (if any) all went unread: a plain log, another program's
JSON, random bytes. The line finder skips every line that names no metric, so that is all
"0 records, 0 bad lines" can mean."""


@dataclass(frozen=True, slots=True)
class SourceLimits:
    """What a trainer's own log (read by ingest/foreign) cannot give the panel, said under it.

    Attributes:
        source: the format, as a person names it ("Stable-Baselines3 progress.csv").
        missing: the metrics it cannot give (schema names): the nine, then the critic's.
        gives: the metrics it can give (schema names).
        hook: the one line in the trainer that would give them all.
        section: where the README shows that hook for each trainer.
        timing: when what it gives was taken, if not the rollout its step names.
    """

    source: str
    missing: tuple[str, ...]
    gives: tuple[str, ...]
    hook: str
    section: str
    timing: str = ""


@dataclass(frozen=True, slots=True)
class Frame:
    """One source's state at one moment, what happened to the file, and its health.

    ``health`` is assessed once, from ``thresholds`` (the Rules the command line and
    config give), when the frame is made; every
    renderer reads it instead of judging the state again. ``at`` is the moment (clock
    seconds) the frame shows: the age of the last record, and whether the run is stale,
    are counted to it (None: the frame has no moment, and no age). ``rules`` are the
    rules that judged it: ``thresholds``, under the preset the run's first record asks
    for when neither the command line nor a config chose one.
    """

    source: str
    state: FoldState
    note: str | None = None
    thresholds: Rules = field(default=DEFAULT_RULES, repr=False)
    at: float | None = None
    short: str | None = None
    """The shortest name that tells the run from the others shown (None: ``source``)."""
    health: Health = field(init=False, repr=False, compare=False)
    rules: Rules = field(init=False, repr=False, compare=False)
    limits: SourceLimits | None = None
    """What the source cannot give, when it is a trainer's own log (None: value-diag's lines)."""

    def __post_init__(self) -> None:
        rules = rules_in_force(self.thresholds, self.state)
        object.__setattr__(self, "rules", rules)
        object.__setattr__(self, "health", assess(self.state, rules, self.age()))
        if self.limits is not None and self.state.records:
            object.__setattr__(self, "limits", as_reported(self.limits, self.state))

    @property
    def name(self) -> str:
        """How the run is shown: its short name, else its source (path, and #group)."""
        return self.short or self.source

    def age(self, now: float | None = None) -> float | None:
        """Seconds from the last record to ``now`` (default: the frame's moment), if any;
        health.AGE_UNKNOWN when the record is dated ahead of the clock (a file time from a
        clock ahead of ours): see ``age_unknown``."""
        return health.age_of(self.state.last_update, self.at if now is None else now)

    def age_unknown(self, now: float | None = None) -> bool:
        """Whether the run's age cannot be known: its last record (its file's time, for
        ``once``) lies further ahead of the clock than health.FUTURE_TOLERANCE_S."""
        return self.age(now) == health.AGE_UNKNOWN

    @property
    def hint(self) -> str | None:
        """What to tell a reader of a file in which no line was of use, and nothing else did."""
        st = self.state
        if st.records or st.bad_lines or self.note or self.limits:
            return None
        return NO_METRIC_HINT


def unreported(state: FoldState) -> frozenset[str]:
    """The parts of the snapshot the file has not reported, and the metrics of the nine
    the current run has not (so they are not judged)."""
    parts = set()
    if state.values is None:
        parts.add(health.VALUE_PART)
    elif None in state.values:
        parts.update(n for n, x in zip(VALUE_FIELDS, state.values, strict=True) if x is None)
    if state.compile is None:
        parts.add(health.INFRA_PART)
    return frozenset(parts)


def as_reported(limits: SourceLimits, state: FoldState) -> SourceLimits:
    """What a trainer's log gives, as this run gave it: of what its format can give, what
    the run has not logged (an SB3 event file has no value statistics, which verl's have)
    is among what it cannot give."""
    absent = unreported_critic(state)
    if not absent.intersection(limits.gives):
        return limits
    missing = {*limits.missing, *absent.intersection(limits.gives)}
    return replace(
        limits,
        missing=tuple(n for n in (*VALUE_FIELDS, *CRITIC_FIELDS) if n in missing),
        gives=tuple(n for n in limits.gives if n not in absent),
    )


def unreported_critic(state: FoldState) -> frozenset[str]:
    """The critic's fields the current run has not given (so they are not judged)."""
    critic = state.critic or (None,) * len(CRITIC_FIELDS)
    return frozenset(name for name, x in zip(CRITIC_FIELDS, critic, strict=True) if x is None)


def rules_in_force(rules: Rules, state: FoldState) -> Rules:
    """The rules judging a run: ``thresholds``' preset if the command line or a config chose
    it, else the one the run's first record asks for (files written by TelemetryWriter
    and the SB3 callback ask for scale-free), else the default."""
    if rules.preset_from != DEFAULT_ORIGIN or state.rules is None:
        return rules
    try:
        asked = Preset(state.rules)
    except ValueError:
        return rules  # a preset this version does not know: the default judges
    return replace(rules, preset=asked, preset_from=f"{WRITER_PRESET} {state.writer or '?'}")


def fit_of(state: FoldState) -> Fit:
    """What the rules read beyond the snapshot, from the current run's newest update."""
    given = dict(zip(RULE_FIELDS, state.fit or (), strict=False))
    low, high = (given.get(name) for name in BOUND_FIELDS)
    bound = None if low is None or high is None else (low, high)
    return Fit(
        return_mean=given.get("return_mean"),
        mean_abs_td=state.mean_abs_td,
        bound=bound,
        critic_change=given.get("critic_change"),
        samples=given.get("samples"),
        moved=state.critic_moved,
    )


def assess(state: FoldState, rules: Rules = DEFAULT_RULES, age: float | None = None) -> Health:
    """The health of a folded state whose last record is ``age`` seconds old."""
    missing = unreported(state) | unreported_critic(state)
    return health.assess(to_snapshot(state), missing, rules, age, fit_of(state))
