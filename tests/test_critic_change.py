"""How far the critic's weights moved between two lines: 0 is a critic that is not being
trained (left out of the optimizer, requires_grad off, a loss weighted 0), which the
scale-free rules make at least a warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import pytest
from conftest import invoke
from corpus_lines import labels, updates
from needs import need
from one_line import fit_of, once_json
from telemetry import flat

from value_diag import CriticChange, compute_value_metrics
from value_diag.health import CRITIC_FROZEN, CRITIC_REPLACED, CRITIC_UNTRAINED
from value_diag.producer.writer import flat_record

HEALTHY: Final = {
    "v_return_correlation": 0.9,
    "td_error_mean": 0.2,
    "td_error_std": 1.0,
    "bellman_error": 1.04,
    "return_p10": 20.0,
    "return_p50": 40.0,
    "return_p90": 60.0,
    "return_variance": 250.0,
    "return_skewness": 0.0,
    "explained_variance": 0.8,
    "value_mean": 39.0,
    "value_std": 14.0,
    "value_min": 5.0,
    "value_max": 70.0,
    "return_mean": 40.0,
}
"""An update of a critic that predicts its returns well: ok under the scale-free rules."""


def test_critic_change_is_the_relative_move_of_the_weights() -> None:
    change = CriticChange()
    w = [np.array([3.0, 0.0]), np.array([[4.0]])]
    assert change.measure(w) is None, "nothing to compare the first with"
    assert change.measure([np.array([3.0, 0.0]), np.array([[4.0]])]) == 0.0
    assert change.measure([np.array([3.0, 0.5]), np.array([[4.0]])]) == pytest.approx(0.1)
    assert change.measure([np.array([1.0])]) is None, "another critic: nothing to compare"


def test_critic_change_reads_tensors_and_goes_on_the_line() -> None:
    torch = need("torch")
    layer = torch.nn.Linear(3, 1)
    change = CriticChange()
    change.measure(layer.parameters())
    with torch.no_grad():
        layer.bias += 1.0
    moved = change.measure(layer.parameters())
    assert moved is not None and moved > 0
    metrics = compute_value_metrics([1.0, 2.0], [1.5, 2.5], [0.1, 0.2], critic_change=moved)
    assert flat_record(metrics, step=1)["critic_change"] == moved
    plain = flat_record(compute_value_metrics([1.0, 2.0], [1.5, 2.5], [0.1, 0.2]), step=1)
    assert "critic_change" not in plain


def run_of(tmp_path: Path, *changes: float | None) -> Path:
    """A run of HEALTHY updates whose lines say the critic moved so far, in turn."""
    run = tmp_path / "run.jsonl"
    lines = [{**HEALTHY} if c is None else {**HEALTHY, "critic_change": c} for c in changes]
    run.write_bytes(b"".join(flat(line) + b"\n" for line in lines))
    return run


def v_fit(run: Path, *args: str) -> dict[str, Any]:
    got = once_json(run, "--critic", "--preset", "scale-free", *args)
    return {"status": got["status"], **got["critic"]["value_fit"]}


def test_a_critic_that_stopped_moving_is_a_warning(tmp_path: Path) -> None:
    run = run_of(tmp_path, None, 0.05, 0.0)
    fit = v_fit(run)
    assert (fit["level"], fit["note"], fit["status"]) == ("warning", CRITIC_FROZEN, "warning")
    text = invoke(["once", str(run), "--preset", "scale-free"]).stdout.decode()
    assert f"warning: {CRITIC_FROZEN}" in text, "the V-Fit line says why"


def test_a_critic_that_never_moved_was_never_trained(tmp_path: Path) -> None:
    """No line of the run said the critic moved: it is its initialisation (vf_coef=0, left
    out of the optimizer from the start), whatever its numbers say: critical."""
    run = run_of(tmp_path, None, 0.0, 0.0)
    fit = v_fit(run)
    assert (fit["level"], fit["note"], fit["status"]) == ("critical", CRITIC_UNTRAINED, "critical")
    text = invoke(["once", str(run), "--preset", "scale-free"]).stdout.decode()
    assert f"critical: {CRITIC_UNTRAINED}" in text
    # a new run on the file starts the memory afresh; a move before it does not count
    moved_then_new = run.read_bytes().replace(b"0.0}", b"0.2}", 1)
    header = b'{"value_diag_run": {"writer": "t", "rules": "scale-free"}}\n'
    run.write_bytes(moved_then_new + header + run_of(tmp_path, None, 0.0).read_bytes())
    assert v_fit(run)["note"] == CRITIC_UNTRAINED
    # a move in the run, however long ago: stopped, not untrained
    run.write_bytes(run_of(tmp_path, None, 0.2, *[0.0] * 60).read_bytes())
    assert v_fit(run)["note"] == CRITIC_FROZEN


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ({**HEALTHY, "critic_change": 1e-4}, ["--preset", "scale-free"]),  # it moved
        (HEALTHY, ["--preset", "scale-free"]),  # not written: not judged
        ({**HEALTHY, "critic_change": 0.0}, ["--preset", "default"]),  # the seed's table
    ],
)
def test_otherwise_it_says_nothing(tmp_path: Path, line: dict[str, float], args: list[str]) -> None:
    fit = fit_of(tmp_path, line, *args)
    assert fit.get("note") != CRITIC_FROZEN
    if "scale-free" in args:
        assert (fit["level"], fit["status"]) == ("ok", "ok")


def test_a_worse_verdict_is_kept(tmp_path: Path) -> None:
    # V far from its returns and frozen: critical, as V-Fit says, not a mere warning
    broken = {**HEALTHY, "explained_variance": -2.0, "value_mean": 0.0, "critic_change": 0.0}
    fit = fit_of(tmp_path, broken, "--preset", "scale-free")
    assert fit["level"] == "critical" and fit.get("note") != CRITIC_FROZEN


def test_a_critic_that_moved_more_than_its_size_is_critical(tmp_path: Path) -> None:
    fit = fit_of(tmp_path, {**HEALTHY, "critic_change": 1.5}, "--preset", "scale-free")
    assert (fit["level"], fit["note"], fit["status"]) == ("critical", CRITIC_REPLACED, "critical")
    run = tmp_path / "run.jsonl"
    text = invoke(["once", str(run), "--preset", "scale-free"]).stdout.decode()
    assert f"critical: {CRITIC_REPLACED}" in text, "the V-Fit line says why"
    for moved in (1.0, 0.67):  # its whole size at most: a training step, however large
        fit = fit_of(tmp_path, {**HEALTHY, "critic_change": moved}, "--preset", "scale-free")
        assert (fit["level"], fit.get("note")) == ("ok", None)
    fit = fit_of(tmp_path, {**HEALTHY, "critic_change": 1.5}, "--preset", "default")
    assert fit.get("note") != CRITIC_REPLACED, "the seed's table has no such rule"


def test_the_config_file_sets_what_counts_as_replaced(tmp_path: Path) -> None:
    config = tmp_path / "ci.toml"
    config.write_text(
        '[thresholds]\npreset = "scale-free"\ncritic_change = { replaced = 0.5 }\n',
        encoding="utf-8",
    )
    fit = fit_of(tmp_path, {**HEALTHY, "critic_change": 0.8}, "--config", str(config))
    assert (fit["level"], fit["note"]) == ("critical", CRITIC_REPLACED)
    out = invoke(["thresholds", "--preset", "scale-free", "--no-config"]).stdout.decode()
    row = next(r for r in out.splitlines() if r.split()[:2] == ["critic_change", "replaced"])
    assert row.split()[2] == "1" and "   # " in row


def test_the_corpus_critics_jump_only_where_they_were_replaced() -> None:
    """On every healthy update of the corpus (and before each fault's onset) the critic's
    weights moved under their own size; at the onset of every blown-up learning rate and
    random head that the producer measured, more (and again later, while the learning rate
    stays blown up)."""
    jumped: dict[str, float] = {}
    measured = 0
    for u in updates():
        change = u.line.get("critic_change")
        if change is None:
            continue
        measured += 1
        if u.healthy:
            assert change <= 0.7, f"{u.run} update {u.number}: {change}"
        elif change > 1.0:
            jumped.setdefault(u.run, u.since_onset)
    assert measured > 3000
    sudden = {
        name
        for name, label in labels().items()
        if label["fault"] in ("lr_blowup", "value_head_random") and label["format"] == "flat"
    }
    assert set(jumped) == sudden
    assert set(jumped.values()) == {0}, "first at the onset"


def test_on_the_corpus_only_critics_without_a_value_loss_never_move() -> None:
    """The runs in which no line says the critic moved are those of vf_coef=0, every one
    the producer measured: the rule on an untrained critic fires there and nowhere else."""
    measured = {u.run for u in updates() if "critic_change" in u.line}
    never = {u.run for u in updates() if u.number == 2 and u.line.get("critic_change") == 0.0}
    untrained = {name for name, label in labels().items() if label["fault"] == "vf_coef_0"}
    assert never == untrained & measured
    assert len(never) >= 8


def test_the_config_file_sets_what_counts_as_frozen(tmp_path: Path) -> None:
    config = tmp_path / "ci.toml"
    config.write_text(
        '[thresholds]\npreset = "scale-free"\ncritic_change = { frozen = 0.001 }\n',
        encoding="utf-8",
    )
    fit = fit_of(tmp_path, {**HEALTHY, "critic_change": 1e-4}, "--config", str(config))
    assert (fit["level"], fit["note"]) == ("warning", CRITIC_FROZEN)


def test_sb3_logs_a_frozen_critic_as_not_moving(tmp_path: Path) -> None:
    """A real PPO whose critic is frozen after its second rollout: the lines after it say
    the critic did not move; before it, that it did."""
    torch = need("torch")
    sb3 = need("stable_baselines3")
    from stable_baselines3.common.callbacks import BaseCallback

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback, critic_parameters

    torch.set_num_threads(1)

    class Freeze(BaseCallback):  # type: ignore[misc,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.rollouts = 0

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            self.rollouts += 1
            if self.rollouts == 2:
                for p in critic_parameters(self.model.policy) or ():
                    p.requires_grad_(False)

    path = tmp_path / "run.jsonl"
    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=128, batch_size=64, n_epochs=2, seed=0)
    diagnostics = ValueDiagnosticsCallback(path, min_samples=128)
    model.learn(total_timesteps=128 * 4, callback=[diagnostics, Freeze()])
    _, *lines = [json.loads(line) for line in path.read_text().splitlines()]
    changes = [line.get("critic_change") for line in lines]
    assert changes[0] is None, "the first line has nothing to compare with"
    assert changes[1] is not None and changes[1] > 0, "trained after the first rollout"
    assert changes[2:] == [0.0, 0.0], "frozen after the second"


def test_on_the_corpus_only_frozen_or_untrained_critics_stand_still() -> None:
    """Every line of the producer's runs after the first says how far the critic moved:
    never 0 for a critic that trains, always 0 for one frozen (from its onset) or whose
    loss has no weight."""
    still: set[str] = set()
    for u in updates():
        if u.number == 1:
            assert "critic_change" not in u.line, u.run
            continue
        stood = u.line["critic_change"] == 0.0
        if u.healthy or u.label["fault"] not in ("critic_frozen", "vf_coef_0"):
            assert not stood, f"{u.run} update {u.number}"
        else:
            assert stood, f"{u.run} update {u.number}"
            still.add(u.label["fault"])
    assert still == {"critic_frozen", "vf_coef_0"}
