"""A dead critic: V one number for every state of a rollout whose returns differ. Under
--preset scale-free V-Fit is then critical, whatever the bootstrapped returns that echo the
constant say."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest
from conftest import invoke
from corpus_lines import updates
from needs import need
from one_line import fit_of

from value_diag import compute_value_metrics
from value_diag.health import BEYOND_BOUND, CONSTANT_VALUE
from value_diag.producer.writer import flat_record

DEAD: Final = {
    "v_return_correlation": 0.0,
    "td_error_mean": -0.4227,
    "td_error_std": 0.000492,
    "bellman_error": 0.1787,
    "return_p10": 33.159,
    "return_p50": 33.201,
    "return_p90": 35.820,
    "return_variance": 2.031,
    "return_skewness": 2.48,
    "explained_variance": 0.0,
    "value_mean": 40.263,
    "value_std": 0.0,
    "value_min": 40.263,
    "value_max": 40.263,
    "return_mean": 33.866,
    "value_bound_low": -2.018,
    "value_bound_high": 1000.0,
}
"""The last update of a PPO MountainCarContinuous run under VecNormalize whose learning rate
blew up 16 updates before: every tanh unit of the critic saturated, so V is 40.263 in every
state. The returns bootstrap from it and hardly vary (33.9, p10 to p90 33.2 to 35.8), so V
lies within a fifth of their size of them (V-Fit 0.58) and inside the value bound."""


def test_one_value_for_every_state_is_critical(tmp_path: Path) -> None:
    fit = fit_of(tmp_path, DEAD, "--preset", "scale-free")
    assert (fit["level"], fit["note"], fit["status"]) == ("critical", CONSTANT_VALUE, "critical")
    text = invoke(["once", str(tmp_path / "run.jsonl"), "--preset", "scale-free"]).stdout
    assert f"critical: {CONSTANT_VALUE}" in text.decode(), "the V-Fit line says why"


def test_a_critic_that_tells_states_apart_at_all_is_not_judged_by_it(tmp_path: Path) -> None:
    # the same update with V spread over a thousandth: V-Fit's own verdict, and TD Mean's
    alive = {**DEAD, "value_std": 0.0003, "value_max": DEAD["value_min"] + 0.001}
    fit = fit_of(tmp_path, alive, "--preset", "scale-free")
    assert fit.get("note") != CONSTANT_VALUE
    assert (fit["level"], fit["status"]) == ("ok", "warning")


@pytest.mark.parametrize(
    ("line", "args"),
    [
        # returns that do not differ: a constant V is all there is to predict
        ({**DEAD, "return_variance": 0.0, "return_p10": 33.2, "return_p90": 33.2}, []),
        # what the file does not give is not judged
        ({k: v for k, v in DEAD.items() if k not in ("value_min", "value_max")}, []),
        ({k: v for k, v in DEAD.items() if k != "return_variance"}, []),
        # the seed's table has no such rule
        (DEAD, ["--preset", "default"]),
    ],
)
def test_otherwise_it_says_nothing(tmp_path: Path, line: dict[str, float], args: list[str]) -> None:
    fit = fit_of(tmp_path, line, *(args or ["--preset", "scale-free"]))
    assert fit.get("note") != CONSTANT_VALUE
    assert fit["level"] != "critical"


def test_beyond_the_bound_says_so_first(tmp_path: Path) -> None:
    outside = {**DEAD, "value_bound_low": -10.0, "value_bound_high": 0.0}
    fit = fit_of(tmp_path, outside, "--preset", "scale-free")
    assert (fit["level"], fit["note"]) == ("critical", BEYOND_BOUND)


def test_the_config_file_sets_the_share_of_the_returns_scale(tmp_path: Path) -> None:
    nearly = {**DEAD, "value_std": 0.003, "value_max": DEAD["value_min"] + 0.01}
    config = tmp_path / "ci.toml"
    config.write_text(
        '[thresholds]\npreset = "scale-free"\nvalue_span = { constant = 0.01 }\n',
        encoding="utf-8",
    )
    # D = 0.3 * |33.866| = 10.2: a span of 0.01 is under a hundredth of it
    fit = fit_of(tmp_path, nearly, "--config", str(config))
    assert (fit["level"], fit["note"]) == ("critical", CONSTANT_VALUE)
    assert fit_of(tmp_path, nearly, "--preset", "scale-free").get("note") != CONSTANT_VALUE
    out = invoke(["thresholds", "--preset", "scale-free", "--no-config"]).stdout.decode()
    row = next(line for line in out.splitlines() if line.split()[:2] == ["value_span", "constant"])
    assert row.split()[2] == "0" and "   # " in row


def test_a_saturated_tanh_critic_gives_every_state_one_value(tmp_path: Path) -> None:
    """The producer's own numbers: a real critic whose hidden weights a blown-up learning
    rate made huge puts every state on the same saturated corner, in float32 exactly."""
    torch = need("torch")
    torch.manual_seed(0)
    critic = torch.nn.Sequential(
        torch.nn.Linear(4, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh()
    )
    head = torch.nn.Linear(64, 1)
    states = torch.randn(512, 4)
    returns = torch.randn(512) + 20.0
    with torch.no_grad():
        live = head(critic(states)).squeeze(-1)
        for layer in (critic[0], critic[2]):
            layer.weight.mul_(10.0)
            layer.bias.fill_(1e3)  # blown-up steps push every unit far past tanh's bend
        dead = head(critic(states)).squeeze(-1)
    td = torch.zeros(512)
    for values, level in ((live, "ok-or-worse"), (dead, "critical")):
        metrics = compute_value_metrics(values.numpy(), returns.numpy(), td.numpy())
        line = {**flat_record(metrics, step=1), "return_mean": float(returns.mean())}
        fit = fit_of(tmp_path, line, "--preset", "scale-free")
        if level == "critical":
            assert float(values.max() - values.min()) == 0.0
            assert (fit["level"], fit["note"]) == ("critical", CONSTANT_VALUE)
        else:
            assert float(values.max() - values.min()) > 0.0
            assert fit.get("note") != CONSTANT_VALUE


def test_no_healthy_corpus_update_has_one_value() -> None:
    """On every healthy update of the corpus (and before each fault's onset) V's span is
    more than a hundred-thousandth of its mean; the runs whose V is one number are
    blown-up learning rates."""
    dead: set[str] = set()
    judged = 0
    for u in updates():
        judged += 1
        span = u.line["value_max"] - u.line["value_min"]
        if u.healthy:
            assert span > 1e-5 * abs(u.line["value_mean"]), f"{u.run} update {u.number}"
        elif span == 0 and u.line["return_variance"] > 0:
            dead.add(u.label["fault"])
    assert judged > 3000
    assert dead == {"lr_blowup"}
