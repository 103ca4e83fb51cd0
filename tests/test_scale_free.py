"""Under --preset scale-free a run is judged the same at any reward scale: every metric's
level and the frame's status, update by update, on real training runs whose every field
is scaled as if the rewards had been multiplied by c."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Final

import pytest
from conftest import ROOT, examples
from hypothesis import given, settings
from hypothesis import strategies as st

from value_diag.frame import Frame
from value_diag.health import Preset, Rules
from value_diag.ingest.fold import fold
from value_diag.ingest.lines import LineScanner
from value_diag.state import FoldState

CORPUS: Final = ROOT / "bench" / "corpus" / "runs"
RUNS: Final = sorted(CORPUS.glob("*.jsonl"))
SCALE_FREE: Final = Rules(preset=Preset.SCALE_FREE, preset_from="--preset")

BY_C: Final = frozenset(
    {
        "td_error_mean",
        "td_error_std",
        "return_p10",
        "return_p50",
        "return_p90",
        "value_mean",
        "value_std",
        "value_min",
        "value_max",
        "return_mean",
        "value_bound_low",
        "value_bound_high",
    }
)
"""Fields in reward units: returns, values, TD errors and the value bound."""
BY_C2: Final = frozenset({"return_variance"})
"""Fields in squared reward units."""


def scaled_line(line: str, c: float) -> str:
    obj = json.loads(line)
    esper = "event_type" in obj
    target = obj.get("data") if esper else obj.get("tamiyo", {}).get("value_function", obj)
    if isinstance(target, dict):
        for key, x in list(target.items()):
            if not isinstance(x, int | float) or isinstance(x, bool):
                continue
            if key in BY_C:
                target[key] = x * c
            elif key in BY_C2:
                target[key] = x * c * c
            elif key == "bellman_error":  # esper's is mean |delta|, value-diag's mean delta^2
                target[key] = x * c if esper else x * c * c
    return json.dumps(obj)


def levels(text: bytes) -> list[dict[str, str]]:
    """Every metric's level and the status after each update of a run."""
    state = FoldState(recent_len=2)
    out = []
    for line in LineScanner().read([text]):
        newest = state.recent[-1] if state.recent else None
        state = fold(state, [line], now=0.0)
        if not state.recent or state.recent[-1] is newest:
            continue
        h = Frame("run", state, thresholds=SCALE_FREE).health
        marks = {**h.marks, **h.critic}
        out.append({"status": h.status.value, **{k: m.level.value for k, m in marks.items()}})
    return out


def test_the_corpus_is_there() -> None:
    assert len(RUNS) >= 20, "bench/corpus/runs holds the labelled runs"


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.stem)
@settings(max_examples=examples(8), deadline=None)
@given(c=st.floats(min_value=1e-3, max_value=1e3))
def test_levels_do_not_depend_on_the_reward_scale(path: Path, c: float) -> None:
    original = path.read_text()
    scaled = "\n".join(scaled_line(ln, c) for ln in original.splitlines() if ln.strip())
    before, after = levels(original.encode()), levels(scaled.encode())
    assert len(before) == len(after) > 0
    for update, (a, b) in enumerate(zip(before, after, strict=True), 1):
        assert a == b, f"update {update} at c={c}"


def test_scaling_is_not_a_no_op() -> None:
    line = json.dumps({"return_variance": 4.0, "return_p50": 2.0, "bellman_error": 1.0})
    got = json.loads(scaled_line(line, 10.0))
    assert (got["return_variance"], got["return_p50"], got["bellman_error"]) == (400.0, 20.0, 100.0)
    esper = json.dumps({"event_type": "PPO_UPDATE_COMPLETED", "data": {"bellman_error": 1.0}})
    assert json.loads(scaled_line(esper, 10.0))["data"]["bellman_error"] == 10.0
    assert math.isnan(json.loads(scaled_line('{"td_error_mean": NaN}', 3.0))["td_error_mean"])
