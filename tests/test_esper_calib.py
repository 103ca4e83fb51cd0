"""The CRITIC CALIBRATION block judges as esper-lite's own panel does, on the same numbers.

esper-lite's rules are written down here from its HEAD (commit 2016337,
src/esper/karn/sanctum/widgets/tamiyo/critic_calibration_panel.py, with TUIThresholds from
src/esper/karn/constants.py), not read from value-diag, so the two are checked against each
other.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from conftest import invoke
from hypothesis import given
from hypothesis import strategies as st
from telemetry import dumps

from value_diag.health import CALIB, CALIB_CORR, CALIB_WORDS, Level, assess
from value_diag.schema import SanctumSnapshot

V_RETURN_CORR_WARNING = 0.6
V_RETURN_CORR_CRITICAL = 0.3
EXPLAINED_VAR_WARNING = 0.3
EXPLAINED_VAR_CRITICAL = 0.0


def esper_corr(corr: float) -> str:
    if corr >= 0.8:
        return "green bold"
    if corr >= V_RETURN_CORR_WARNING:
        return "green"
    if corr >= V_RETURN_CORR_CRITICAL:
        return "yellow"
    return "red bold"


def esper_ev(ev: float) -> str:
    if ev <= EXPLAINED_VAR_CRITICAL:
        return "red bold"
    if ev < EXPLAINED_VAR_WARNING:
        return "yellow"
    return "green"


def esper_td_mean(mean: float) -> str:
    if abs(mean) < 5:
        return "green"
    if abs(mean) < 15:
        return "yellow"
    return "red bold"


def esper_bellman(bellman: float) -> str:
    if bellman < 20:
        return "green"
    if bellman < 50:
        return "yellow"
    return "red bold"


def esper_calib(*styles: str) -> str:
    joined = " ".join(styles)
    if "red" in joined:
        return "bad"
    if "yellow" in joined:
        return "weak"
    return "ok"


LEVEL_OF_STYLE = {
    "green bold": Level.OK,
    "green": Level.OK,
    "yellow": Level.WARNING,
    "red bold": Level.CRITICAL,
}

finite = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False)


@given(
    corr=st.floats(min_value=-1.0, max_value=1.0),
    ev=st.floats(min_value=-3.0, max_value=1.0),
    td_mean=finite,
    bellman=st.floats(min_value=0.0, max_value=100.0),
    variance=st.floats(min_value=1.0, max_value=1e4),
)
def test_the_critic_block_judges_as_esper_lites_panel(
    corr: float, ev: float, td_mean: float, bellman: float, variance: float
) -> None:
    snap = SanctumSnapshot()
    vf = snap.tamiyo.value_function
    vf.v_return_correlation, vf.td_error_mean, vf.bellman_error = corr, td_mean, bellman
    vf.return_variance = variance
    snap.tamiyo.explained_variance = ev
    h = assess(snap)
    styles = (esper_corr(corr), esper_ev(ev), esper_td_mean(td_mean), esper_bellman(bellman))
    assert h.critic[CALIB_CORR].level is LEVEL_OF_STYLE[styles[0]]
    assert h.critic["explained_variance"].level is LEVEL_OF_STYLE[styles[1]]
    assert CALIB_WORDS[h.critic[CALIB].level] == esper_calib(*styles)


def test_v_corr_055_is_weak_in_the_block_and_good_in_the_panel() -> None:
    snap = SanctumSnapshot()
    snap.tamiyo.value_function.v_return_correlation = 0.55
    snap.tamiyo.value_function.return_variance = 4.0
    snap.tamiyo.explained_variance = 0.9
    h = assess(snap)
    assert h.marks["v_return_correlation"].level is Level.OK, "the spec's panel: good at 0.5"
    assert h.critic[CALIB_CORR].level is Level.WARNING, "esper's block: weak below 0.6"
    assert CALIB_WORDS[h.critic[CALIB].level] == "weak"
    assert not math.isnan(h.values[CALIB_CORR])


def ev_only_run(tmp_path: Path, ev: float) -> Path:
    """esper-lite's runs of December 2025: updates with the critic's numbers, none of the nine."""
    data = {"explained_variance": ev, "value_mean": 1.5, "value_std": 0.5}
    lines = [
        {"event_type": "TRAINING_STARTED", "group_id": "default", "data": {}},
        {"event_type": "PPO_UPDATE_COMPLETED", "epoch": 1, "data": {"policy_loss": 0.1, **data}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(dumps(line) + b"\n" for line in lines))
    return path


def test_esper_updates_with_only_explained_variance_are_read(tmp_path: Path) -> None:
    proc = invoke(["once", str(ev_only_run(tmp_path, 0.42)), "--critic", "-f", "json"])
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["critic"]["explained_variance"] == {"value": 0.42, "level": "ok"}
    assert got["value_function"]["v_return_correlation"]["level"] == "no_data"
    assert got["gate"]["updates"] == 1
    bad = ev_only_run(tmp_path, -0.5)
    proc = invoke(["once", str(bad), "--critic", "--fail-on", "critical"])
    assert proc.returncode == 1
    assert b"EV" in proc.stderr
