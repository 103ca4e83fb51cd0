"""The verdicts' targets on the committed corpus of real runs, under the scale-free preset.

No critical fires on a healthy update after the warm-up; every broken run fires critical
within 3 updates of max(onset, warm-up + 1) and is fired critical at its end; every degraded
run fires at least a warning at its end (bench/verdicts.py, docs/verdicts.md). The runs that
miss today are named, each for a reason docs/verdicts.md gives; every other run is held to
the targets.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from bench import verdicts
from value_diag.health import Preset, Status

CORPUS = ROOT / "bench" / "corpus"


@pytest.fixture(scope="module")
def scored() -> verdicts.Score:
    return verdicts.score(Preset.SCALE_FREE.value, CORPUS)


def _why(run: verdicts.RunScore) -> str:
    return (
        f"{run.name} ({run.label.kind}, onset {run.label.onset}, start {run.start}):"
        f" shown {run.letters(lambda s: s.shown)} fired {run.letters(lambda s: s.fired)}"
    )


def test_every_run_file_is_labelled_and_every_label_has_its_file() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text())
    files = {p.name for p in (CORPUS / "runs").glob("*.jsonl")}
    assert files == set(labels)
    kinds = {v["kind"] for v in labels.values()}
    assert kinds == {"healthy", "broken", "degraded"}
    for name, label in labels.items():
        assert (label["onset"] is None) == (label["kind"] == "healthy"), name


def test_the_labels_are_those_the_generator_gives_its_runs() -> None:
    """labels.json is written from the generator's specifications: a run added to, or
    changed in, specs() without training it again and writing the labels fails here."""
    from bench.corpus import generate

    labels = json.loads((CORPUS / "labels.json").read_text())
    assert labels == generate.labels(generate.specs())


def test_every_run_is_replayed_to_its_last_update(scored: verdicts.Score) -> None:
    for run in scored.runs:
        assert len(run.steps) >= 10, run.name
        assert [s.update for s in run.steps] == list(range(1, len(run.steps) + 1)), run.name


KNOWN_FLASHES = {
    # held out, fifth batch: PPO with lambda = 1 (Monte Carlo returns) under VecNormalize.
    # On update 28 the returns fell while V rose (V-Fit -0.13); ok again at the next, so the
    # persistence keeps the gate quiet (docs/verdicts.md)
    "ppo-acrobot-vecnorm-healthy-s41.jsonl": 1,
    # held out, sixth batch: A2C with ReLU units on CartPole, no fault injected, whose critic
    # rose past 100, where no value of rewards of 1 a step under gamma 0.99 lies (V 158 at
    # the end, its 5-step returns echoing it): the value bound is right about the critic,
    # the label says only that no fault was injected (docs/verdicts.md). It fires: below
    "a2c-cartpole-healthy-s51.jsonl": 5,
    # held out, seventh batch: A2C with ReLU units on Acrobot and on CartPole, whose 5-step
    # returns follow a noisy critic: V-Fit at or under 0 on single updates (-0.37 at worst),
    # ok or a warning at the next
    "a2c-acrobot-healthy-s61.jsonl": 2,
    "a2c-cartpole-healthy-s62.jsonl": 1,
    # held out, eighth batch: the CleanRL-shaped loop at rewards x0.01 after its
    # normalisation: returns near 0.03, which its critic does not resolve (EV -0.46 and
    # V-Corr -0.03 at update 22); two updates in a row once, so it fires there
    "cleanrl-cartpole-x0.01-healthy-s71.jsonl": 4,
    # held out, tenth batch: A2C with ReLU units at 4 times its learning rate on CartPole,
    # no fault injected, whose critic rose to 783 from update 9 to 22, where no value lies
    # past 100, its returns echoing it, then came back (docs/verdicts.md). It fires: below
    "a2c-cartpole-healthy-s91.jsonl": 13,
    # held out, tenth batch: single updates of V-Fit under 0 (-0.61 at worst), ok or a
    # warning at the next: the CleanRL-shaped loop at rewards x0.1, and PPO with ReLU units
    # at 3 times its learning rate on MountainCarContinuous under VecNormalize
    "cleanrl-cartpole-x0.1-healthy-s91.jsonl": 1,
    "ppo-mountaincar-cont-vecnorm-healthy-s91.jsonl": 2,
    # held out, eleventh batch: RLlib's PPO with Adam 3e-4 and its value loss unclipped,
    # whose critic of 256 units a layer is at first slower than the returns it follows:
    # single updates of V-Fit under 0 (-1.6 at worst), a warning or ok at the next
    "rllib-acrobot-healthy-s101.jsonl": 1,
    "rllib-cartpole-healthy-s101.jsonl": 4,
    # held out, thirteenth batch: the CleanRL-shaped loop on Acrobot at rewards x0.01 after
    # its normalisation, whose critic never resolved returns near -0.04: after the warm-up V
    # spreads 1.1 to 3.0 times as wide as they do and EV lies between -7.5 and -0.64,
    # numbers that say critical at any scale (docs/verdicts.md). It fires: below
    "cleanrl-acrobot-x0.01-healthy-s121.jsonl": 20,
    # held out, fourteenth batch: RLlib's PPO on Acrobot (Adam 3e-4, the value loss
    # unclipped), whose critic of 256 units a layer lags the returns' mean by up to 0.96 of
    # their spread and explains at most half their variance after the warm-up (EV -1.46 to
    # 0.50, V-Fit -2.05 at worst). It fires: below.
    # The two faulted runs of its seed are the same run up to their onset (update 24)
    "rllib-acrobot-healthy-s131.jsonl": 7,
    "rllib-acrobot-lr-blowup-s131.jsonl": 1,
    "rllib-acrobot-value-head-random-s131.jsonl": 1,
    # held out, fifteenth batch: SB3's PPO on FrozenLake, slippery, where the dice decide most
    # of an episode's return of 0 or gamma^k: a healthy critic's EV lies between -0.08 and
    # 0.18 after the warm-up, and V-Fit falls to 0 or under by chance (-0.32 at worst), on
    # updates 22 and 23 in a row. It fires: below. Its three faulted twins are the
    # same run up to their onset (update 24)
    "ppo-frozenlake-healthy-s141.jsonl": 5,
    "ppo-frozenlake-lr-blowup-s141.jsonl": 3,
    "ppo-frozenlake-value-head-random-s141.jsonl": 3,
    "ppo-frozenlake-wrong-gamma-s141.jsonl": 3,
    # held out, sixteenth batch: the TorchRL-shaped loop on Pendulum under VecNormV2, whose
    # warm-up ended after update 3 and whose V-Fit was -0.007 at update 4, ok at the next;
    # its three faulted twins are that run until their onset
    "torchrl-pendulum-vecnorm-healthy-s151.jsonl": 1,
    "torchrl-pendulum-vecnorm-critic-frozen-s151.jsonl": 1,
    "torchrl-pendulum-vecnorm-lr-blowup-s151.jsonl": 1,
    "torchrl-pendulum-vecnorm-value-head-random-s151.jsonl": 1,
}
"""Healthy runs shown critical after the warm-up, and on how many updates."""
KNOWN_FALSE_ALARMS = {
    "a2c-cartpole-healthy-s51.jsonl": 3,
    "cleanrl-cartpole-x0.01-healthy-s71.jsonl": 1,
    "a2c-cartpole-healthy-s91.jsonl": 12,
    "cleanrl-acrobot-x0.01-healthy-s121.jsonl": 20,
    "rllib-acrobot-healthy-s131.jsonl": 4,
    "ppo-frozenlake-healthy-s141.jsonl": 2,
    "ppo-frozenlake-lr-blowup-s141.jsonl": 2,
    "ppo-frozenlake-value-head-random-s141.jsonl": 2,
    "ppo-frozenlake-wrong-gamma-s141.jsonl": 2,
}
"""Healthy runs whose critical fires after the warm-up, and on how many updates."""


def test_no_healthy_update_is_shown_critical_after_the_warmup(scored: verdicts.Score) -> None:
    counts = {
        r.name: [s.shown for s in r.healthy_steps()].count(Status.CRITICAL) for r in scored.runs
    }
    shown = {name: n for name, n in counts.items() if n}
    why = [_why(r) for r in scored.runs if r.name in shown]
    assert shown == KNOWN_FLASHES, "\n".join(why)


def test_no_critical_fires_on_a_healthy_update_after_the_warmup(
    scored: verdicts.Score,
) -> None:
    fired = {r.name: r.false_criticals for r in scored.runs if r.false_criticals}
    why = [_why(r) for r in scored.runs if r.name in fired]
    assert fired == KNOWN_FALSE_ALARMS, "\n".join(why)


KNOWN_MISSES = frozenset(
    {
        # faults of the targets: V fits the returns it is given (docs/verdicts.md)
        "ppo-cartpole-terminal-as-truncation-s1.jsonl",
        # a random head: warnings for 4 updates before its critical holds (esper-lite's
        # events carry no value bound)
        "esper-ppo-cartpole-value-head-random-s1.jsonl",
        # held out, second batch: a blown-up critic that settles on a constant offset from
        # returns that hardly vary, within the bound: a warning to the end
        "ppo-acrobot-lr-blowup-s12.jsonl",
        # held out, fifth batch: a time limit taken for a terminal state under VecNormalize,
        # whose EV and V-Corr stay within those of its healthy twin: ok at its end
        "ppo-cartpole100-vecnorm-truncation-as-terminal-s41.jsonl",
        # held out, seventh batch: real terminals bootstrapped on Acrobot, as on CartPole
        "ppo-acrobot-terminal-as-truncation-s61.jsonl",
        # held out, seventh batch: a random head on ReLU units, which do not saturate: the
        # critic learns again (EV -10 to 0.40), a warning at its last update
        "ppo-pendulum-vecnorm-value-head-random-s61.jsonl",
        # held out, tenth batch: A2C's blown-up ReLU critic on Acrobot, critical for 3
        # updates from its onset, then settled on -100 in every state, the value of a
        # policy that never reaches the goal, which its returns then are: ok to its end
        "a2c-acrobot-lr-blowup-s91.jsonl",
        # held out, tenth batch: A2C's blown-up critic on MountainCarContinuous under
        # VecNormalize, critical at its onset, then warnings while it spreads inside a
        # bound of 1,000 (the goal's reward, clipped, over 1 - gamma) until its policy
        # crashed 6 updates on
        "a2c-mountaincar-cont-vecnorm-lr-blowup-s91.jsonl",
        # held out, fourteenth batch: RLlib's blown-up learning rate, which its one optimizer
        # gives the policy too. Its policy collapsed, and its critic, critical at its onset,
        # learnt the collapsed policy's returns again: -100 in every state of Acrobot (ok to
        # its end), and 5 +- 2.6 on CartPole (EV 0.58 to 0.85 on 9 of its last 10 updates)
        "rllib-acrobot-lr-blowup-s131.jsonl",
        "rllib-cartpole-lr-blowup-s131.jsonl",
        # held out, fifteenth batch: random heads on critics of discrete states (one-hot
        # observations), which learn them away: on FrozenLake V-Std 7.0 when drawn, 0.56
        # at the next line, 0.08 at the one after (warnings to its end); on Taxi under
        # VecNormalize EV -0.89 to 0.94 over its last 10 updates, a warning at its end
        "ppo-frozenlake-value-head-random-s141.jsonl",
        "ppo-taxi-vecnorm-value-head-random-s141.jsonl",
        # held out, fifteenth batch: targets of gamma 0.9 on FrozenLake, whose sparse
        # rewards leave the TD errors' lean within the noise of the advantages' bias, which
        # carries it by chance: warnings and ok to its end
        "ppo-frozenlake-wrong-gamma-s141.jsonl",
        # held out, sixteenth batch: the TorchRL-shaped loop's blown-up learning rate on
        # Pendulum under VecNormV2 (its gradients clipped at norm 1), whose critic then moved
        # 0.14 to 0.43 of its size each update and whose V followed the returns' mean as it
        # leapt (-65 to 59 in the normaliser's units): EV -5.0 to 0.61, critical on and off,
        # and ok at its end, where the returns' spread is under 0.3 of their mean and EV is
        # not judged
        "torchrl-pendulum-vecnorm-lr-blowup-s151.jsonl",
    }
)
"""The runs that miss their target today, each for a reason docs/verdicts.md gives. The
targets are checked on every other run, so a run that meets its target keeps meeting it."""


def _late(run: verdicts.RunScore) -> bool:
    return (
        run.delay is None
        or run.delay > verdicts.TARGET_DELAY
        or run.end is None
        or run.end.fired != Status.CRITICAL
    )


def _weak(run: verdicts.RunScore) -> bool:
    return run.end is None or run.end.fired not in (Status.WARNING, Status.CRITICAL)


def test_every_broken_run_fires_critical_in_time_and_at_its_end(
    scored: verdicts.Score,
) -> None:
    late = [_why(r) for r in scored.of_kind("broken") if _late(r) and r.name not in KNOWN_MISSES]
    assert not late, "\n".join(late)


def test_every_degraded_run_is_at_least_a_warning_at_its_end(
    scored: verdicts.Score,
) -> None:
    weak = [_why(r) for r in scored.of_kind("degraded") if _weak(r) and r.name not in KNOWN_MISSES]
    assert not weak, "\n".join(weak)


def test_the_known_misses_are_real_runs_that_still_miss(scored: verdicts.Score) -> None:
    """A miss that is fixed leaves this list, so the score and the docs say so."""
    missing = {r.name for r in scored.runs if (r.label.kind == "broken" and _late(r))}
    missing |= {r.name for r in scored.runs if (r.label.kind == "degraded" and _weak(r))}
    assert missing == KNOWN_MISSES


def test_broken_from_the_start_fires_at_the_warmups_end(scored: verdicts.Score) -> None:
    """A critic broken from its first update is never ok, so the warm-up runs its course
    and the gate fires at the first update after it."""
    for run in scored.of_kind("broken"):
        if run.label.onset == 1 and run.name not in KNOWN_MISSES:
            assert run.delay == 0, _why(run)


@pytest.mark.parametrize("by", sorted(verdicts.GROUPS))
def test_the_targets_by_group_add_up_to_the_whole(scored: verdicts.Score, by: str) -> None:
    """--by splits the runs without losing or counting one twice, and each group's figures
    are its own runs'."""
    rows = verdicts.group_rows(scored, by)
    key = verdicts.GROUPS[by]
    assert sum(row[1] for row in rows) == len(scored.runs)
    for name, runs, met, noisy, caught, warned in rows:
        own = [r for r in scored.runs if key(r.label) == name]
        assert runs == len(own) and met == sum(r.passed for r in own)
        assert noisy == sum(bool(r.false_criticals) for r in own)
        broken = [r for r in own if r.label.kind == "broken"]
        degraded = [r for r in own if r.label.kind == "degraded"]
        assert caught == f"{sum(not _late(r) for r in broken)} / {len(broken)}"
        assert warned == f"{sum(not _weak(r) for r in degraded)} / {len(degraded)}"


def test_by_env_names_each_environment_and_the_esper_copies_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    labels = json.loads((CORPUS / "labels.json").read_text())

    def groups(by: str) -> set[str]:
        assert verdicts.main(["--rules", "scale-free", "--by", by, "--markdown"]) == 0
        table = capsys.readouterr().out.split(f"### by {by} under --preset scale-free")[1]
        rows = [line for line in table.splitlines() if line.startswith("| ")]
        return {row.split(" | ")[0].removeprefix("| ") for row in rows[1:]}

    assert groups("env") == {v["env"] for v in labels.values()}
    assert groups("algo") == {v["algo"] for v in labels.values()} | {"PPO (esper)"}


def test_the_gate_can_be_set_for_the_score() -> None:
    """--warmup and --persist score the corpus under another gate: with a persistence of 1
    every critical shown on a healthy update after the warm-up fires."""
    s = verdicts.score(Preset.SCALE_FREE.value, CORPUS, warmup=20, persist=1)
    assert {(r.warmup, r.persist) for r in s.runs} == {(20, 1)}
    shown, n = s.rate(Status.CRITICAL, fired=False)
    fired, _ = s.rate(Status.CRITICAL, fired=True)
    assert n and fired == shown > 0
