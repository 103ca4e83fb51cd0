"""What --fail-on acts on: a frame's level once the warm-up is over and the level has held. Pure.

A critic starts from nothing and needs updates to learn the returns' scale, and one noisy
update is not a dying run. So a gate, like an alert's ``for:``, fires at a level only once
the warm-up is over (``persist`` updates in a row whose status was ok, or ``warmup``
updates, whichever comes first) and its last ``persist`` updates were all at least at that
level. Three things fire at once, whatever the warm-up: a non-finite metric (a NaN does not
get better by waiting), an impossible one (a negative variance: its writer is broken) and a
stale run (no update will come to hold a level). A fourth fires at once after the warm-up:
a critic whose weights moved more than their own size (``health.replaced``: measured on the
weights, not estimated from a rollout). The frame itself always shows the level of its
newest update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from value_diag.frame import Frame, assess
from value_diag.health import (
    BY_RANK,
    CRITIC_REPLACED,
    FIT,
    IMPOSSIBLE,
    STATUS_RANK,
    Health,
    Level,
    Rules,
    Status,
)
from value_diag.state import FoldState, Update


@dataclass(frozen=True, slots=True)
class Gate:
    """What a frame's gate says.

    Attributes:
        level: what --fail-on compares: the frame's status once it has held, else OK
            (NO_DATA for a run with no data).
        held: how many updates in a row, newest back, the frame's status has held
            (counted among those the fold keeps, at most ``persist``).
        warming: the run is still in its warm-up, so nothing fires but a NaN or staleness.
        why: what a non-firing alarm is waiting for, or why one fired at once (else None).
    """

    level: Status
    held: int = 0
    warming: bool = False
    why: str | None = None


def gate(frame: Frame) -> Gate:
    """The level --fail-on acts on for a frame."""
    h = frame.health
    status = h.status
    if status in (Status.NO_DATA, Status.OK):
        return Gate(status)
    if h.stale is not None:
        return Gate(status, why="stale")
    if _non_finite(h, frame.rules):
        return Gate(status, held=1, why="a metric is not a number")
    if _impossible(h):
        return Gate(status, held=1, why="a metric has a value no rollout can give")
    warmup, persist = frame.rules.gate
    if warming_up(frame):
        why = f"warm-up: update {frame.state.updates} of at most {warmup}, not yet ok {persist}"
        return Gate(Status.OK, warming=True, why=why + (" in a row" if persist > 1 else ""))
    if h.mark(FIT).note == CRITIC_REPLACED:
        return Gate(status, held=1, why="the critic's weights were replaced")
    ranks = _last_ranks(frame, persist)
    held = next((i for i, r in enumerate(ranks) if r < STATUS_RANK[status]), len(ranks))
    level = BY_RANK[min(ranks)] if len(ranks) == persist else Status.OK
    if level is Status.OK:
        return Gate(Status.OK, held=held, why=f"{status.value} for {held} of {persist} updates")
    return Gate(level, held=held)


def warming_up(frame: Frame) -> bool:
    """Whether the frame's run is still in its warm-up: it has made at most ``warmup``
    updates, and no ``persist`` updates in a row before the newest were ok."""
    warmup, persist = frame.rules.gate
    return bool(warmup) and frame.state.updates <= warmup and not _settled(frame, persist)


def _settled(frame: Frame, persist: int) -> bool:
    """Whether ``persist`` earlier updates in a row were ok: the critic has found the
    returns' scale, and the warm-up is over (held as long as an alarm must hold to fire).
    Looked for among the updates the fold keeps (all of them while the run has made no
    more than KEPT_UPDATES)."""
    st = frame.state
    earlier = st.recent[:-1] if st.recent else ()
    run = 0
    for update in earlier:
        run = run + 1 if update_status(st, update, frame.rules) is Status.OK else 0
        if run >= persist:
            return True
    return False


def _last_ranks(frame: Frame, persist: int) -> list[int]:
    """The ranks of the newest ``persist`` updates' statuses, newest first: the frame's own
    status, then the earlier updates the fold keeps (fewer when the run has made fewer)."""
    ranks = [STATUS_RANK[frame.health.status]]
    st = frame.state
    earlier = st.recent[:-1] if st.recent else ()
    for update in reversed(earlier[max(0, len(earlier) - (persist - 1)) :] if persist > 1 else ()):
        ranks.append(STATUS_RANK[update_status(st, update, frame.rules)])
    return ranks


def update_status(state: FoldState, update: Update, rules: Rules) -> Status:
    """The status an earlier update of the run had, judged by ``rules``."""
    return assess(_past(state, update), rules).status


def earlier_frames(frame: Frame, n: int) -> list[Frame]:
    """The frames of the ``n`` updates before the newest, newest first, judged by the
    frame's rules at its moment (fewer when the fold keeps fewer)."""
    st = frame.state
    earlier = st.recent[:-1] if st.recent else ()
    chosen = earlier[max(0, len(earlier) - n) :] if n > 0 else ()
    return [
        Frame(frame.source, _past(st, u), thresholds=frame.rules, at=frame.at, short=frame.short)
        for u in reversed(chosen)
    ]


def _past(state: FoldState, update: Update) -> FoldState:
    """The state as it stood after an earlier update of the run."""
    return replace(
        state,
        values=update.values,
        critic=update.critic,
        fit=update.fit,
        step=update.step,
        mean_abs_td=update.mean_abs_td,
    )


def _impossible(h: Health) -> bool:
    """Whether a metric holds a value no rollout can give (a negative variance, a
    correlation past 1): its writer is broken, and waiting will not mend it."""
    return any(
        h.mark(name).level is Level.CRITICAL and h.mark(name).note == note
        for name, note in IMPOSSIBLE.items()
    )


def _non_finite(h: Health, rules: Rules) -> bool:
    """Whether a critical metric of the frame is not a finite number."""
    marks = [*h.marks.items(), *(h.critic.items() if rules.critic else ())]
    return any(
        m.level is Level.CRITICAL and not math.isfinite(h.values.get(name, 0.0))
        for name, m in marks
    )
