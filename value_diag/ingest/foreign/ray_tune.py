"""Ray Tune's ``result.json`` (RLlib's PPO) to flat lines, one list per module or policy.

Tune's ``JsonLoggerCallback`` appends one JSON object per training iteration (``json.dump``
with Ray's ``SafeFallbackEncoder``: a Python NaN is the bare ``NaN`` token, a NumPy NaN the
string ``"null"``; either is kept as what it is, the string as absent). RLlib puts the
critic's explained variance in one of two places:

    new API stack (Ray 2.60's default)  learners/<module>/vf_explained_var, .../vf_loss
    old API stack                       info/learner/<policy>/learner_stats/vf_explained_var

The step is the environment steps sampled so far: ``num_env_steps_sampled_lifetime`` (new
stack) or ``timesteps_total`` (old); ``training_iteration`` is carried beside it. A line
holds ``explained_variance`` and ``value_loss`` (``vf_loss``, carried; the panel does not
read it). RLlib computes ``vf_explained_var`` inside the loss, over the update's
minibatches, with the critic being trained: it is not the rollout's explained variance
before the update (as SB3's and verl's are).

Modules are kept apart (``__all_modules__``, RLlib's sum over them, is not a module): the
result maps each module or policy id to its lines, as value-diag splits a file's runs by
group. RLlib logs no value statistics and none of the nine value-function metrics:
``value_diag.integrations.rllib.ValueDiagnostics``, a piece after its GAE learner connector,
writes them (README "Where the three inputs are in your trainer").
"""

from __future__ import annotations

import json
from typing import Final

from value_diag.ingest.foreign import FlatLine, Source, number, step_of

ALL_MODULES: Final = "__all_modules__"
STEP_KEYS: Final = ("num_env_steps_sampled_lifetime", "timesteps_total")
"""The step, in the order looked for: the new API stack's name, then the old one's."""
METRICS: Final = {"vf_explained_var": "explained_variance", "vf_loss": "value_loss"}
"""RLlib's name -> the name of a flat line."""
SOURCE: Final = Source(
    name="Ray Tune result.json (RLlib)",
    fills=frozenset({"explained_variance"}),
    carried=frozenset({"value_loss", "training_iteration"}),
    hook="ValueDiagnostics after the GAE learner connector (value_diag.integrations.rllib)",
    timing="RLlib takes its EV during the update, of the critic being trained, not of the "
    "rollout before it",
)


def _stats(result: dict[str, object]) -> dict[str, dict[str, object]]:
    """Each module's (or policy's) statistics, from either API stack."""
    found: dict[str, dict[str, object]] = {}
    learners = result.get("learners")
    if isinstance(learners, dict):
        for module, stats in learners.items():
            if module != ALL_MODULES and isinstance(stats, dict):
                found[module] = stats
    info = result.get("info")
    learner = info.get("learner") if isinstance(info, dict) else None
    if isinstance(learner, dict):
        for policy, stats in learner.items():
            inner = stats.get("learner_stats") if isinstance(stats, dict) else None
            if isinstance(inner, dict):
                found.setdefault(policy, inner)
    return found


def read_result_json(text: str) -> dict[str, list[FlatLine]]:
    """Each module's flat lines from a ``result.json``, in the order written.

    Args:
        text: the file's text. A line that is not a JSON object with a whole step, and a
            last line without its newline (still being written), are skipped.
    """
    runs: dict[str, list[FlatLine]] = {}
    complete = text[: text.rfind("\n") + 1]
    for raw in complete.splitlines():
        try:
            result = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(result, dict):
            continue
        step = next((s for k in STEP_KEYS if (s := step_of(result.get(k))) is not None), None)
        if step is None:
            continue
        iteration = step_of(result.get("training_iteration"))
        for module, stats in _stats(result).items():
            metrics = {name: number(stats.get(key)) for key, name in METRICS.items()}
            kept = {name: value for name, value in metrics.items() if value is not None}
            if not kept:
                continue
            line: FlatLine = {"step": step}
            if iteration is not None:
                line["training_iteration"] = iteration
            runs.setdefault(module, []).append({**line, **kept})
    return runs
