"""integrations/rllib.py against RLlib itself: a short PPO on CartPole on its new API stack.

The TD errors value-diag logs must be RLlib's own: put through the very function RLlib's
GeneralAdvantageEstimation connector called (``compute_value_targets``), they give its
value targets bit for bit, and those give the standardized advantages it wrote, bit for bit
too. A spy on that function records what GAE passed and got back. These tests need ray[rllib]
(which brings gymnasium) and torch: skipped without them, except in CI.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from needs import need, refusals

from value_diag.producer.metrics import compute_value_metrics
from value_diag.schema import CRITIC_FIELDS, FIT_FIELDS, VALUE_FIELDS

WRITTEN = (*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS)
"""What a line holds: the nine, the critic's statistics, the returns' mean."""
ITERATIONS, BATCH = 3, 512
"""Training iterations of the PPO run, and its train_batch_size_per_learner."""


@dataclass
class Iteration:
    """One training iteration as RLlib's GAE and value-diag's connector piece saw it."""

    gae_kwargs: dict[str, Any]
    """What GAE passed to compute_value_targets."""
    value_targets: Any
    """What compute_value_targets returned."""
    advantages: Any
    """The standardized advantages GAE wrote into the batch."""
    batch: Any
    """value-diag's GAEBatch of the module."""


@dataclass
class PPORun:
    path: Path
    iterations: list[Iteration]


def rllib(module: str) -> Any:
    """A module of ray.rllib, by name (mypy runs where Ray is not installed too)."""
    return need(f"ray.rllib.{module}")


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """One local Ray instance for the module's PPO runs (two CPUs: one a remote learner)."""
    torch = need("torch")
    need("gymnasium")
    ray = need("ray")
    need("ray.rllib")
    torch.set_num_threads(1)
    # ray.init sets a SIGTERM handler of its own that ray.shutdown leaves: put back the
    # test process's, for the tests that run after these.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def ppo_config(path: Path, learners: int, batch: int) -> Any:
    """PPO on CartPole, seeded, sampling in this process, value-diag's connector piece put
    in by its on_algorithm_init callback."""
    from value_diag.integrations.rllib import ValueDiagnostics

    return (
        rllib("algorithms.ppo")
        .PPOConfig()
        .environment("CartPole-v1")
        .env_runners(num_env_runners=0)
        .learners(num_learners=learners)
        .training(train_batch_size_per_learner=batch, minibatch_size=128, num_epochs=2)
        .debugging(seed=0)
        .callbacks(on_algorithm_init=ValueDiagnostics(path))
    )


def train(config: Any) -> None:
    algo = config.build_algo()
    try:
        for _ in range(ITERATIONS):
            algo.train()
    finally:
        algo.stop()


@pytest.fixture(scope="module")
def ppo(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> PPORun:
    """The learner in this process (num_learners=0), spied on."""
    import numpy as np

    from value_diag.integrations import rllib as integration

    gae_module = rllib("connectors.learner.general_advantage_estimation")
    advantages_key = rllib("evaluation.postprocessing").Postprocessing.ADVANTAGES
    convert_to_numpy = rllib("utils.numpy").convert_to_numpy

    path = tmp_path_factory.mktemp("rllib") / "run.jsonl"
    path.write_text('{"note": "an earlier run"}\n')
    calls: list[tuple[dict[str, Any], Any]] = []
    batches: list[tuple[Any, Any]] = []
    compute_value_targets, gae_batches = gae_module.compute_value_targets, integration.gae_batches

    def spy_targets(**kwargs: Any) -> Any:
        targets = compute_value_targets(**kwargs)
        calls.append(({k: np.copy(v) for k, v in kwargs.items()}, np.copy(targets)))
        return targets

    def spy_batches(rl_module: Any, batch: Any, *args: Any) -> Any:
        found = gae_batches(rl_module, batch, *args)
        advantages = convert_to_numpy(batch["default_policy"][advantages_key])
        batches.append((np.copy(advantages), found["default_policy"]))
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gae_module, "compute_value_targets", spy_targets)
        patch.setattr(integration, "gae_batches", spy_batches)
        train(ppo_config(path, learners=0, batch=BATCH))
    assert len(calls) == len(batches) == ITERATIONS, "one GAE pass an iteration"
    return PPORun(
        path,
        [
            Iteration(kwargs, targets, advantages, batch)
            for (kwargs, targets), (advantages, batch) in zip(calls, batches, strict=True)
        ],
    )


def test_the_td_errors_give_rllibs_own_advantages(ppo: PPORun) -> None:
    """RLlib's recursion over the rebuilt TD errors gives its value targets bit for bit, and
    they give the standardized advantages GAE wrote into the batch, bit for bit."""
    import numpy as np

    compute_value_targets = rllib("utils.postprocessing.value_predictions").compute_value_targets

    ends = {"terminated": 0, "truncated": 0}
    for it in ppo.iterations:
        kw, batch = it.gae_kwargs, it.batch
        # The values computed again are those GAE computed, and its targets are in the batch.
        assert batch.values.dtype == kw["values"].dtype == np.float32
        assert np.array_equal(batch.values, kw["values"])
        assert np.array_equal(batch.value_targets, it.value_targets)
        # Values zero and rewards the TD errors: RLlib's td_residuals are then exactly
        # the TD errors given, and its recursion runs over them as over its own.
        assert batch.td_errors.dtype == np.float64
        advantages = compute_value_targets(
            values=np.zeros_like(kw["values"]),
            rewards=batch.td_errors,
            terminateds=kw["terminateds"],
            truncateds=kw["truncateds"],
            gamma=kw["gamma"],
            lambda_=kw["lambda_"],
        )
        assert np.array_equal(advantages + batch.values, it.value_targets), "not RLlib's"
        raw = it.value_targets - batch.values
        standardized = (raw - raw.mean()) / max(1e-4, raw.std())
        assert np.array_equal(standardized, it.advantages)
        # And what they are: r + gamma V(s') (1 - terminated) - V(s), V(s') the next row.
        real = batch.loss_mask
        terminated = kw["terminateds"].astype(bool)
        values = kw["values"].astype(np.float64)
        want = kw["rewards"].astype(np.float64) - values
        want[:-1] += kw["gamma"] * values[1:] * ~terminated[:-1]
        np.testing.assert_allclose(batch.td_errors[real], want[real], rtol=1e-6, atol=1e-6)
        ends["terminated"] += int(terminated[real].sum())
        ends["truncated"] += int(kw["truncateds"].astype(bool)[real].sum())
        assert not real.all() and batch.samples == int(real.sum())
    assert ends["terminated"] > 0 and ends["truncated"] > 0, ends


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def test_one_line_an_iteration_read_by_once(ppo: PPORun) -> None:
    """A run header naming rllib after what the file held, then one line a training
    iteration: compute_value_metrics of the real steps' values, value targets and TD errors;
    `value-diag once` reads the file whole and shows the last line's nine metrics."""
    earlier, header, *logged = lines(ppo.path)
    assert earlier == {"note": "an earlier run"}, "appended, not truncated"
    assert (header["value_diag_run"]["writer"], header["value_diag_run"]["rules"]) == (
        "rllib",
        "scale-free",
    )
    assert len(logged) == ITERATIONS
    step = 0
    for line, it in zip(logged, ppo.iterations, strict=True):
        step += it.batch.samples
        assert (line["step"], line["samples"]) == (step, it.batch.samples)
        assert it.batch.samples >= BATCH
        want = compute_value_metrics(*it.batch.real())
        for name in WRITTEN:
            assert line[name] == getattr(want, name), name
        # CartPole's rewards are 1 a step: every value lies in [0, 1 / (1 - gamma)]
        assert set(it.batch.rewards[it.batch.loss_mask].tolist()) == {1.0}
        bound = (line["value_bound_low"], line["value_bound_high"])
        assert bound == (0.0, pytest.approx(1.0 / (1.0 - it.gae_kwargs["gamma"])))
    proc = run_cli(["once", str(ppo.path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["bad_lines"]) == (ITERATIONS + 1, 0), frame["last_error"]
    assert frame["step"] == logged[-1]["step"]
    for name in VALUE_FIELDS:
        assert frame["value_function"][name]["value"] == logged[-1][name], name


def test_each_line_after_the_first_says_how_far_the_critic_moved(ppo: PPORun) -> None:
    """The critic trains between two iterations: from the second line on, its weights'
    move since the line before, above 0; the first has nothing to compare with."""
    _, _, *logged = lines(ppo.path)
    assert "critic_change" not in logged[0]
    assert all(0.0 < line["critic_change"] < 1.0 for line in logged[1:])


def test_a_critic_whose_loss_has_no_weight_stands_still(ray_session: Any, tmp_path: Path) -> None:
    """vf_loss_coeff=0: RLlib's default module keeps the critic's encoder apart from the
    actor's, so no gradient reaches it and every line after the first says it did not move,
    which value-diag calls an untrained critic."""
    path = tmp_path / "run.jsonl"
    train(ppo_config(path, learners=0, batch=BATCH).training(vf_loss_coeff=0.0))
    _, *logged = lines(path)
    assert len(logged) == ITERATIONS and "critic_change" not in logged[0]
    assert [line["critic_change"] for line in logged[1:]] == [0.0] * (ITERATIONS - 1)
    proc = run_cli(["once", str(path), "--format", "json", "--critic"])
    assert json.loads(proc.stdout)["critic"]["value_fit"]["level"] == "critical"


def test_the_critics_weights_are_its_head_and_its_own_encoder(ray_session: Any) -> None:
    """critic_parameters of PPO's default module on the learner (the env runners' copy is
    inference-only and has no critic): the value head and the critic's encoder, none of
    the actor's; a module without a value head has none to read."""
    from value_diag.integrations.rllib import critic_parameters

    def check(learner: Any) -> tuple[bool, bool, bool]:
        module = learner.module["default_policy"]
        critic = critic_parameters(module)
        if critic is None:
            return False, False, False
        want = [*module.encoder.critic_encoder.parameters(), *module.vf.parameters()]
        actor = {id(p) for p in module.encoder.actor_encoder.parameters()}
        actor |= {id(p) for p in module.pi.parameters()}
        exact = [id(p) for p in critic] == [id(p) for p in want]
        return True, exact, bool(actor) and not actor & {id(p) for p in critic}

    algo = ppo_config(Path(os.devnull), learners=0, batch=BATCH).build_algo()
    try:
        (result,) = algo.learner_group.foreach_learner(check)
        assert result.get() == (True, True, True), "found, the critic's exactly, no actor's"
    finally:
        algo.stop()
    assert critic_parameters(object()) is None


# Starting remote learners, Ray Train builds a Ray Data context whose own defaults warn
# (use_push_based_shuffle, use_polars): Ray's deprecations, not value-diag's.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")
def test_each_learner_writes_its_own_run(ray_session: Any, tmp_path: Path) -> None:
    """Two remote learners, each with its share of the episodes: a file each beside the
    path given, each a run of its own that `value-diag once` reads, their critics' numbers
    different."""
    path = tmp_path / "run.jsonl"
    train(ppo_config(path, learners=2, batch=BATCH // 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run.learner0.jsonl",
        "run.learner1.jsonl",
    ]
    runs = []
    for name in ("run.learner0.jsonl", "run.learner1.jsonl"):
        header, *logged = lines(tmp_path / name)
        assert header["value_diag_run"]["writer"] == "rllib"
        assert len(logged) == ITERATIONS
        steps = [line["step"] for line in logged]
        assert steps == sorted(steps) and logged[0]["samples"] >= BATCH // 2
        # each learner's own critic (DDP keeps them equal): moved between its lines
        assert all(line["critic_change"] > 0.0 for line in logged[1:]), name
        proc = run_cli(["once", str(tmp_path / name), "--format", "json"])
        assert proc.returncode == 0, proc.stderr.decode()
        frame = json.loads(proc.stdout)
        assert (frame["records"], frame["bad_lines"]) == (ITERATIONS + 1, 0)
        runs.append(logged)
    assert runs[0][0]["v_return_correlation"] != runs[1][0]["v_return_correlation"]


def test_what_is_refused(tmp_path: Path) -> None:
    """A learner pipeline without GAE, and an algorithm without learners."""
    from types import SimpleNamespace

    pipeline = rllib("connectors.learner.learner_connector_pipeline").LearnerConnectorPipeline

    from value_diag.integrations.rllib import ValueDiagnostics, install

    learner = SimpleNamespace(_learner_connector=pipeline(connectors=[]))
    with pytest.raises(ValueError, match="has none"):
        install(learner, path=str(tmp_path / "run.jsonl"))
    with pytest.raises(ValueError, match="new API stack"):
        ValueDiagnostics(tmp_path / "run.jsonl")(algorithm=SimpleNamespace())
    assert not (tmp_path / "run.jsonl").exists()


def test_installed_right_after_gae_once(tmp_path: Path) -> None:
    """The piece goes right after GAE, with GAE's gamma and the learner's index; a second
    install (on_algorithm_init run again) keeps the one piece."""
    from types import SimpleNamespace

    from value_diag.integrations.rllib import install

    learner_module = rllib("connectors.learner")
    gae = learner_module.GeneralAdvantageEstimation(gamma=0.9, lambda_=0.5)
    pipeline = rllib("connectors.learner.learner_connector_pipeline").LearnerConnectorPipeline(
        connectors=[gae, learner_module.AddOneTsToEpisodesAndTruncate()]
    )
    learner = SimpleNamespace(_learner_connector=pipeline, _learner_index=3)
    path = str(tmp_path / "run.jsonl")
    piece = install(learner, path=path, learners=4)
    assert pipeline.connectors[:2] == [gae, piece] and len(pipeline.connectors) == 3
    assert (piece.gamma, piece.learner, piece.learners, piece.path) == (0.9, 3, 4, path)
    assert install(learner, path=path, learners=4) is piece
    assert len(pipeline.connectors) == 3


@pytest.mark.parametrize(
    ("learner", "learners", "module", "name"),
    [
        (0, 1, None, "run.jsonl"),
        (0, 0, None, "run.jsonl"),
        (0, 2, None, "run.learner0.jsonl"),
        (1, 2, None, "run.learner1.jsonl"),
        (0, 1, "policy_1", "run.policy_1.jsonl"),
        (3, 4, "a/b c", "run.learner3.a_b_c.jsonl"),
        (0, 1, "../..", "run._.jsonl"),
    ],
)
def test_a_file_for_each_learner_and_module(
    learner: int, learners: int, module: str | None, name: str
) -> None:
    from value_diag.integrations.rllib import run_path

    assert run_path(Path("logs") / "run.jsonl", learner, learners, module) == Path("logs") / name


def test_the_module_imports_without_ray() -> None:
    """value-diag never depends on RLlib: the integration imports, and names the extra."""
    printed = refusals(
        ("ray", "torch", "numpy", "gymnasium"),
        "value_diag.integrations.rllib",
        ["ValueDiagnostics", "gae_batches", "install"],
        [
            "ValueDiagnostics('run.jsonl')",
            "gae_batches(None, {}, [], 0.99)",
            "install(None, path='run.jsonl')",
        ],
    )
    assert printed == (
        "ValueDiagnostics needs ray[rllib]: pip install 'value-diag[rllib]'\n"
        "gae_batches needs ray[rllib]: pip install 'value-diag[rllib]'\n"
        "install needs ray[rllib]: pip install 'value-diag[rllib]'\n"
    )
