"""Readers of what trainers already log: other formats' records to value-diag's flat lines.

Each module here is a pure converter: the text or bytes of one format in, a list of flat
lines out (a dict per update: ``step`` and the names value-diag reads, ``schema``'s
VALUE_FIELDS, CRITIC_FIELDS and FIT_FIELDS). A line holds only what the source logged: a
metric the source does not have is absent, never filled in. None of these formats logs the
nine value-function metrics (VALUE_FIELDS); each module's docstring names the hook that
would.

    sb3_csv     Stable-Baselines3's ``progress.csv`` (its one-rollout lag corrected)
    tfevents    TensorBoard event files (SB3, CleanRL, any ``SummaryWriter``); the
                ``[tensorboard]`` extra
    ray_tune    Ray Tune's ``result.json`` (RLlib's new and old API stacks)
    verl_file   verl's JSON-lines file logger
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

HOOK_SECTION: Final = "README.md#where-the-three-inputs-are-in-your-trainer"
"""Where the README shows, per trainer, the hook that logs the nine metrics."""

FlatLine = dict[str, float | int]
"""One flat line: ``step`` (an int) and the metrics a source logged for that update."""


def number(raw: object) -> float | None:
    """A logged number as a float; None for anything else (text, null, a bool).

    NaN and the infinities are kept: a source that logged NaN (SB3's explained variance of
    returns with no variance) said so, and value-diag shows NaN as it shows it for its own
    lines.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw)


def step_of(raw: object) -> int | None:
    """A step: a finite, whole, non-negative number as an int, else None."""
    value = number(raw)
    if value is None or not math.isfinite(value) or value != int(value) or value < 0:
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class Source:
    """What a format can give the panel, for a reader to say plainly what it cannot.

    Attributes:
        name: the format, as a person would name it.
        fills: the names of ``schema`` a line of it can hold (CRITIC_FIELDS, FIT_FIELDS);
            none of these sources gives the nine VALUE_FIELDS.
        carried: other names a line may hold, for reference; the panel does not read them.
        hook: one line saying what would give the nine (the README section HOOK_SECTION).
        timing: when the numbers it gives were taken, where that is not the rollout the
            step names as a user would expect ("" when it is).
    """

    name: str
    fills: frozenset[str]
    carried: frozenset[str]
    hook: str
    timing: str = ""
