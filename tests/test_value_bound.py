"""The value bound: every value of every policy lies in [min(0, r_min), max(0, r_max)] /
(1 - gamma). Producers that see the rewards write it (ValueBound, the SB3 callback); under
--preset scale-free a critic whose values lie far outside it is critical, whatever its
bootstrapped returns say."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import pytest
from conftest import invoke
from corpus_lines import updates
from one_line import once_json, write
from telemetry import flat

from value_diag import ValueBound, compute_value_metrics
from value_diag.health import BEYOND_BOUND, beyond_bound
from value_diag.producer.writer import flat_record

ECHO: Final = {
    "v_return_correlation": 0.84,
    "td_error_mean": -17.6,
    "td_error_std": 1231.0,
    "bellman_error": 1516388.0,
    "return_p10": 310.0,
    "return_p50": 1900.0,
    "return_p90": 5100.0,
    "return_variance": 3649328.0,
    "return_skewness": 0.4,
    "explained_variance": 0.39,
    "value_mean": 2787.0,
    "value_std": 2658.0,
    "value_min": -2060.0,
    "value_max": 8321.0,
    "return_mean": 2409.0,
    "value_bound_low": 0.0,
    "value_bound_high": 100.0,
}
"""The first update of a PPO CartPole run whose value head was replaced by random weights:
the lambda-returns bootstrap from V and echo it (EV 0.39, V-Corr 0.84, a bias of 0.2 of
their spread), but CartPole's rewards are 1 a step and gamma 0.99, so no value lies outside
[0, 100], and V reaches 8,321."""


def test_value_bound_is_the_rewards_range_over_one_minus_gamma() -> None:
    bound = ValueBound(0.99)
    assert bound.range is None, "no reward seen yet"
    bound.see([1.0, 1.0])
    assert bound.range == (0.0, pytest.approx(100.0)), "an episode may end: 0 is in range"
    bound.see([[-2.0, math.nan], [0.5, math.inf]])  # non-finite rewards are not counted
    low, high = bound.range or (math.nan, math.nan)
    assert low == pytest.approx(-200.0) and high == pytest.approx(100.0)
    bound.see([0.0])
    assert bound.range == (pytest.approx(-200.0), pytest.approx(100.0)), "the run's so far"
    undiscounted = ValueBound(1.0)
    undiscounted.see([1.0])
    assert undiscounted.range is None, "gamma 1: no bound"


def test_under_a_reward_normaliser_the_bound_is_in_its_current_units() -> None:
    """Raw rewards seen, divided by the normaliser's scale and clipped as it clips them."""
    bound = ValueBound(0.9)
    bound.see([-1.0, 4.0])
    assert bound.range_at(1.0) == bound.range
    assert pytest.approx((-10.0, 40.0)) == bound.range
    assert pytest.approx((-1.25, 5.0)) == bound.range_at(8.0)
    assert pytest.approx((-100.0, 100.0)) == bound.range_at(0.01, clip=10.0)
    assert bound.range_at(0.0) is None and bound.range_at(math.nan) is None, "no scale"
    assert ValueBound(0.9).range_at(2.0) is None, "no reward seen yet"


def test_compute_value_metrics_carries_the_bound_onto_the_line() -> None:
    plain = flat_record(compute_value_metrics([1.0, 2.0], [1.5, 2.5], [0.1, 0.2]), step=1)
    assert "value_bound_low" not in plain and "value_bound_high" not in plain
    bounded = compute_value_metrics([1.0, 2.0], [1.5, 2.5], [0.1, 0.2], bound=(-3.0, 4.0))
    record = flat_record(bounded, step=1)
    assert (record["value_bound_low"], record["value_bound_high"]) == (-3.0, 4.0)


@pytest.mark.parametrize(
    ("v_mean", "v_std", "beyond"),
    [
        (50.0, 0.0, 0.0),
        (0.0, 0.0, 0.0),
        (-20.0, 0.0, 0.2),
        (2787.0, 0.0, 26.87),
        (50.0, 50.0, 0.0),  # all at 0 and 100, say: within
        (50.0, 60.0, 0.1),  # no values within [0, 100] spread so: some lie 10 out
        (-20.0, 30.0, (math.hypot(70.0, 30.0) - 50.0) / 100.0),  # 76.2 from the centre
        (math.nan, 0.0, None),
        (50.0, math.inf, None),
    ],
)
def test_beyond_bound_in_widths(v_mean: float, v_std: float, beyond: float | None) -> None:
    """How far V's values lie outside the bound at least, in its widths: their root mean
    square distance from its centre past its half-width."""
    got = beyond_bound(v_mean, v_std, 0.0, 100.0)
    assert got == (None if beyond is None else pytest.approx(beyond))
    # every number scales with the rewards: the distance does not
    scaled = beyond_bound(v_mean * 1e3, v_std * 1e3, 0.0, 1e5)
    assert scaled == (None if got is None else pytest.approx(got))
    assert beyond_bound(1.0, 0.0, 0.0, 0.0) is None, "a bound of no width tells nothing"
    assert beyond_bound(-148.4, 0.0, -100.0, 0.0) == pytest.approx(0.484), "below, as above"


def test_values_within_the_bound_never_lie_beyond_it() -> None:
    """Whatever values lie in [low, high], their mean and spread say they lie within."""
    for values in ([0.0, 100.0], [0.0, 0.0, 100.0], [3.0, 97.0, 50.0, 0.0], [100.0]):
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        assert beyond_bound(mean, std, 0.0, 100.0) == pytest.approx(0.0, abs=1e-12), values
    # and values outside it are found at least as far out as the measure says
    values = [-40.0, 60.0, 140.0]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    got = beyond_bound(mean, std, 0.0, 100.0)
    assert got is not None and 0.0 < got <= 0.4


def test_a_value_head_far_outside_the_bound_is_critical(tmp_path: Path) -> None:
    run = write(tmp_path, ECHO)
    got = once_json(run, "--preset", "scale-free", "--critic")
    fit = got["critic"]["value_fit"]
    assert (fit["level"], fit["note"]) == ("critical", BEYOND_BOUND)
    assert got["status"] == "critical"
    text = invoke(["once", str(run), "--preset", "scale-free"]).stdout.decode()
    assert f"critical: {BEYOND_BOUND}" in text, "the V-Fit line says why"
    # the same numbers without the bound: the echoing returns hide the broken head
    unbounded = {k: v for k, v in ECHO.items() if not k.startswith("value_bound")}
    again = once_json(write(tmp_path, unbounded), "--preset", "scale-free", "--critic")
    assert again["critic"]["value_fit"].get("note") != BEYOND_BOUND
    assert again["status"] != "critical"


def test_extremes_far_past_the_bound_around_a_mean_within_it_are_not_judged_by_it(
    tmp_path: Path,
) -> None:
    """A critic's extremes stray where it extrapolates, by several widths at small reward
    scales (an A2C critic at rewards x0.001: V from -0.20 to 0.28, the bound [0, 0.1])."""
    small = {
        "v_return_correlation": 0.94,
        "explained_variance": 0.86,
        "return_variance": 0.064**2,
        "return_skewness": 0.0,
        "bellman_error": 0.0002,
        "td_error_mean": 0.0003,
        "td_error_std": 0.0145,
        "return_p10": -0.023,
        "return_p50": 0.066,
        "return_p90": 0.114,
        "return_mean": 0.0604,
        "value_mean": 0.0597,
        "value_std": 0.0696,
        "value_min": -0.203,
        "value_max": 0.284,
        "value_bound_low": 0.0,
        "value_bound_high": 0.1,
    }
    got = once_json(write(tmp_path, small), "--preset", "scale-free", "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND
    assert got["status"] == "ok"


BLOWN: Final = {
    "v_return_correlation": 0.9999,
    "td_error_mean": -0.22,
    "td_error_std": 2.29,
    "bellman_error": 5.28,
    "return_p10": -312.0,
    "return_p50": 129.8,
    "return_p90": 139.2,
    "return_variance": 49295.0,
    "return_skewness": -0.08,
    "explained_variance": 0.9989,
    "value_mean": -78.0,
    "value_std": 228.8,
    "value_min": -316.3,
    "value_max": 142.0,
    "return_mean": -78.7,
    "value_bound_low": -100.0,
    "value_bound_high": 0.0,
    "critic_change": 0.014,
    "samples": 1000,
}
"""The last update of an A2C Acrobot run 16 updates after its learning rate blew up (the
corpus' a2c-acrobot-lr-blowup-s31): V from -316 to 142 where no value lies outside [-100,
0], its 5-step returns echoing it (EV 0.999), its mean within the bound, its weights now
moving little against their blown-up size."""


def test_once_the_critic_was_replaced_its_spread_beyond_the_bound_is_critical(
    tmp_path: Path,
) -> None:
    """V's mean and spread say its values lie 1.8 widths outside at least: critical in a run
    one of whose lines said the critic's weights moved more than their size; not judged by
    its spread otherwise, as a healthy critic's output noise at small reward scales can
    spread as far (test_extremes_far_past_the_bound...)."""
    run = tmp_path / "run.jsonl"
    jumped = {**BLOWN, "critic_change": 169.5}
    run.write_bytes(b"".join(flat(line) + b"\n" for line in (jumped, BLOWN, BLOWN)))
    got = once_json(run, "--preset", "scale-free", "--critic")
    fit = got["critic"]["value_fit"]
    assert (fit["level"], fit["note"], got["status"]) == ("critical", BEYOND_BOUND, "critical")
    gate = ["once", str(run), "--preset", "scale-free", "--fail-on", "critical", "--warmup", "0"]
    assert invoke(gate).returncode == 1, "two updates past the bound after the jump: it fires"
    # no jump in the run: the spread is not read, the mean is within
    trained = {**BLOWN, "critic_change": 0.3}
    run.write_bytes(b"".join(flat(line) + b"\n" for line in (trained, BLOWN, BLOWN)))
    got = once_json(run, "--preset", "scale-free", "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND
    assert got["status"] != "critical"
    assert invoke(gate).returncode == 0
    # a new run forgets the jump
    header = b'{"value_diag_run": {"writer": "t", "rules": "scale-free"}}\n'
    run.write_bytes(flat(jumped) + b"\n" + header + flat(BLOWN) + b"\n")
    got = once_json(run, "--preset", "scale-free", "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND


SETTLED: Final = {
    "v_return_correlation": 0.02,
    "td_error_mean": 0.48,
    "td_error_std": 0.18,
    "bellman_error": 0.26,
    "return_p10": -142.0,
    "return_p50": -140.3,
    "return_p90": -139.5,
    "return_variance": 0.9,
    "return_skewness": -0.5,
    "explained_variance": -0.02,
    "value_mean": -148.4,
    "value_std": 0.22,
    "value_min": -148.6,
    "value_max": -148.0,
    "return_mean": -140.8,
    "value_bound_low": -100.0,
    "value_bound_high": 0.0,
}
"""An update of a PPO Acrobot run some updates after its learning rate blew up: the critic
settled on about -148 everywhere, and the returns, bootstrapped from it, echo it (-141,
nearly constant). Acrobot's rewards are -1 a step and gamma 0.99: no value lies below
-100. V's mean lies 0.48 of the bound's width outside it: fit, correlation and the
bootstrap check all pass, as the returns echo V."""


def test_a_critic_settled_outside_the_bound_is_critical(tmp_path: Path) -> None:
    got = once_json(write(tmp_path, SETTLED), "--preset", "scale-free", "--critic")
    fit = got["critic"]["value_fit"]
    assert (fit["level"], fit["note"]) == ("critical", BEYOND_BOUND)
    assert got["status"] == "critical"
    # the same V a fifth of the width below the bound: within the rule's margin
    near = {**SETTLED, "value_mean": -120.0, "value_min": -120.2, "value_max": -119.6}
    fit = once_json(write(tmp_path, near), "--preset", "scale-free", "--critic")["critic"]
    assert fit["value_fit"].get("note") != BEYOND_BOUND


def test_the_default_preset_does_not_use_it(tmp_path: Path) -> None:
    got = once_json(write(tmp_path, ECHO), "--preset", "default", "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND


def test_without_value_mean_it_cannot_be_told(tmp_path: Path) -> None:
    line = {k: v for k, v in ECHO.items() if k != "value_mean"}
    got = once_json(write(tmp_path, line), "--preset", "scale-free", "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND


def test_the_config_file_sets_the_margin(tmp_path: Path) -> None:
    run = write(tmp_path, SETTLED)
    config = tmp_path / "ci.toml"
    config.write_text(
        '[thresholds]\npreset = "scale-free"\nvalue_bound = { mean = 0.5 }\n', encoding="utf-8"
    )
    got = once_json(run, "--config", str(config), "--critic")
    assert got["critic"]["value_fit"].get("note") != BEYOND_BOUND, "0.48 widths: under 0.5"
    out = invoke(["thresholds", "--preset", "scale-free", "--no-config"]).stdout.decode()
    row = next(line for line in out.splitlines() if line.split()[:2] == ["value_bound", "mean"])
    assert row.split()[2] == "0.25" and "   # " in row


DIVERGED: Final = frozenset({"a2c-cartpole-healthy-s51.jsonl", "a2c-cartpole-healthy-s91.jsonl"})
"""Runs with no fault injected whose critic left the bound: A2C with ReLU units on CartPole
(at 4 times its learning rate in the second), V rising past 100, where no value of rewards
of 1 a step under gamma 0.99 lies, and its 5-step returns with it (docs/verdicts.md, the
sixth and tenth batches held out)."""


ERASED: Final = frozenset(
    {
        "torchrl-acrobot-vecnorm-healthy-s151.jsonl",
        "torchrl-acrobot-vecnorm-value-head-random-s151.jsonl",
    }
)
"""Runs whose rewards were standardised to nothing for a while: Acrobot's -1 a step under
TorchRL's VecNormV2 is 0 up to float noise until the policy first reaches the goal (7
updates), and the bound of those rewards (0.025 wide) is narrower than the noise of V's
initial outputs (0.22 widths out at update 2). In the warm-up; both met their target (the
second is the first until its fault's onset)."""


def test_no_healthy_corpus_update_lies_past_the_bound() -> None:
    """On every healthy update of the corpus (and before each fault's onset) after the first
    V's mean lies within an eighth of the bound's width of it, but for the critics that
    diverged and the rewards standardised to nothing (ERASED). The first is not held to it:
    V is the critic's initial weights, whose output does not shrink with the rewards (0.62
    widths out in the CleanRL-shaped loop on Acrobot at rewards x0.01 after its
    normalisation), and the warm-up is there for it. The runs it
    fires on are those of blown-up and randomised heads, a critic left at its initialisation
    (vf_coef=0) at rewards x0.01, and those that diverged."""
    fired: set[str] = set()
    written = 0
    for u in updates():
        if "value_bound_low" not in u.line:
            continue
        written += 1
        beyond = beyond_bound(
            u.line["value_mean"], 0.0, u.line["value_bound_low"], u.line["value_bound_high"]
        )
        assert beyond is not None, f"{u.run} update {u.number}"
        if u.number == 1 and u.healthy:
            continue
        near = beyond <= 0.125 or not u.healthy or u.run in DIVERGED | ERASED
        assert near, f"{u.run} update {u.number}: {beyond}"
        if beyond > 0.25:
            fired.add(u.run if u.run in DIVERGED else u.label["fault"])
    assert written > 1000, "the producer's runs carry the bound"
    assert fired == {"value_head_random", "lr_blowup", "vf_coef_0", *DIVERGED}


def test_the_spread_counts_only_after_a_replacement_on_the_corpus() -> None:
    """V's values lie more than the rule's quarter width outside the bound by their mean and
    spread on some healthy updates too, while their mean stays within: a critic's output
    noise does not shrink with the rewards, and a healthy A2C critic's values swing past the
    bound for an update (-96 to 97 on CartPole, update 32 of a2c-cartpole-healthy-s61).
    Read only in runs whose critic was replaced, the spread judges no healthy update, and
    catches blown-up learning rates and random heads whose mean alone stays within."""
    replaced_in: set[str] = set()
    swings: set[str] = set()
    caught: set[str] = set()
    for u in updates():
        line = u.line
        if "value_bound_low" not in line or "critic_change" not in line:
            continue
        if line["critic_change"] > 1.0:
            replaced_in.add(u.run)
        bound = (line["value_bound_low"], line["value_bound_high"])
        spread = beyond_bound(line["value_mean"], line["value_std"], *bound)
        mean = beyond_bound(line["value_mean"], 0.0, *bound)
        assert spread is not None and mean is not None and spread >= mean
        if not spread > 0.25 >= mean:
            continue
        if u.healthy and u.number > 20 and u.run not in DIVERGED:
            swings.add(u.run)
        if u.run in replaced_in:
            assert not u.healthy, f"{u.run} update {u.number}"
            caught.add(u.label["fault"])
    assert swings, "the spread alone would judge healthy updates"
    assert caught == {"lr_blowup", "value_head_random"}
