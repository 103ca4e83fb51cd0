"""A run file replayed update by update: what each frame showed and what its gate did.

What `watch` would have shown had it read the file as it was written, one line at a
time: the scoring of the verdicts (bench/verdicts.py) and the tests that a gate fires
only where it should read runs through this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from value_diag.frame import Frame
from value_diag.gate import gate, warming_up
from value_diag.health import Rules, Status
from value_diag.ingest.fold import fold
from value_diag.ingest.lines import LineScanner
from value_diag.options import KEPT_UPDATES
from value_diag.state import FoldState

CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Step:
    """One update of a replayed run.

    Attributes:
        update: the update's number in its run (1 for the first).
        step: the training step its line names, or None.
        shown: the status its frame shows.
        fired: what --fail-on acts on after it (warm-up and persistence applied).
        warming: the run was still in its warm-up at this update.
        gate: the (warm-up, persistence) of the rules that judged it (a run header may
            have chosen them).
    """

    update: int
    step: int | None
    shown: Status
    fired: Status
    warming: bool = False
    gate: tuple[int, int] = (0, 1)


def replay(path: str, rules: Rules) -> Iterator[Step]:
    """Each update of the file's newest-started runs, in order, as one run (groups are not
    split); a new run in the file starts the count again."""
    with open(path, "rb") as f:
        yield from replay_lines(iter(lambda: f.read(CHUNK), b""), path, rules)


def replay_lines(chunks: Iterable[bytes], source: str, rules: Rules) -> Iterator[Step]:
    """replay() over bytes already read."""
    state = FoldState(recent_len=KEPT_UPDATES)
    for line in LineScanner().read(chunks):
        newest = state.recent[-1] if state.recent else None
        state = fold(state, [line], now=0.0)
        if not state.recent or state.recent[-1] is newest:
            continue  # a line of no update (a compile status, a run header, a bad line)
        frame = Frame(source, state, thresholds=rules)
        fired = gate(frame).level
        status, warming = frame.health.status, warming_up(frame)
        yield Step(state.updates, state.step, status, fired, warming, frame.rules.gate)
