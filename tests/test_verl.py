"""integrations/verl.py against verl itself: its GAE, on batches of ragged responses.

The TD errors value-diag logs must be verl's own: put through verl's
``core_algos.compute_gae_advantage_return`` as the rewards, with the values zero (so that
its delta, r + gamma * 0 - 0, is exactly the TD errors given), they give verl's advantages
bit for bit, and its returns less the values. The batches are verl's ``DataProto``, built
here as the PPO trainer hands them to ``compute_advantage`` (``ray_trainer``, run for real
with ``adv_estimator="gae"``): random values and token-level rewards at every position
(padding and observation tokens too, which GAE must skip), responses of random lengths,
some with masked stretches inside (a tool's output in a multi-turn response). These tests
need torch and verl: skipped without them, except in CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from needs import need, refusals

from value_diag.producer.metrics import compute_value_metrics
from value_diag.schema import CRITIC_FIELDS, FIT_FIELDS, VALUE_FIELDS

# Importing verl's trainer: ray's notice about its state API, and verl's about the
# training engines a CPU machine lacks (megatron, torchtitan...).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Ray state API is no longer experimental:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.* engine is not available:UserWarning"),
]

WRITTEN = (*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS)
"""What a line holds: the nine, the critic's statistics, the returns' mean."""
GAMMA_LAM = [(1.0, 1.0), (0.99, 0.95), (0.9, 0.5), (1.0, 0.95)]
"""verl's defaults (1.0, 1.0) first, then discounted ones."""


@pytest.fixture
def torch() -> Any:
    module = need("torch")
    module.set_num_threads(1)
    need("verl.trainer.ppo.ray_trainer")
    return module


def make_batch(torch: Any, seed: int, rows: int = 6, length: int = 40) -> Any:
    """A DataProto as ``compute_advantage`` gets it for GAE: values, token_level_rewards
    and response_mask (int64, as verl's ``compute_response_mask``). Row 0 is a full
    response, row 1 a single token, rows 2 and 3 have masked stretches inside; the others
    end at random lengths."""
    from verl import DataProto

    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, length + 1, (rows,), generator=g)
    lengths[0], lengths[1] = length, 1
    mask = (torch.arange(length) < lengths[:, None]).long()
    mask[2, 5:9] = 0
    mask[3, 1:3] = mask[3, 20:30] = 0
    mask[3, length - 1] = 1
    return DataProto.from_dict(
        tensors={
            "values": torch.randn((rows, length), generator=g),
            "token_level_rewards": torch.randn((rows, length), generator=g),
            "response_mask": mask,
        }
    )


def verl_gae(data: Any, gamma: float, lam: float) -> Any:
    """verl's ``compute_advantage`` with GAE, as ``RayPPOTrainer.fit()`` calls it; the
    batch it returns, with ``advantages`` and ``returns``."""
    from verl.trainer.config import AlgoConfig
    from verl.trainer.ppo.core_algos import AdvantageEstimator
    from verl.trainer.ppo.ray_trainer import compute_advantage

    config = AlgoConfig(gamma=gamma, lam=lam)
    return compute_advantage(
        data, adv_estimator=AdvantageEstimator.GAE, gamma=gamma, lam=lam, config=config
    )


def independent_td_errors(data: Any, gamma: float) -> list[list[float]]:
    """r_t + gamma * V(next response token) - V_t in float64, by plain Python, from the
    formula verl's GAE implements; 0.0 off the response tokens."""
    values = data.batch["values"].double().tolist()
    rewards = data.batch["token_level_rewards"].double().tolist()
    mask = data.batch["response_mask"].tolist()
    out = []
    for v, r, m in zip(values, rewards, mask, strict=True):
        row = [0.0] * len(v)
        following = 0.0
        for t in reversed(range(len(v))):
            if m[t]:
                row[t] = r[t] + gamma * following - v[t]
                following = v[t]
        out.append(row)
    return out


@pytest.mark.parametrize(("gamma", "lam"), GAMMA_LAM)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_td_errors_are_verls_own(torch: Any, gamma: float, lam: float, seed: int) -> None:
    from verl.trainer.ppo.core_algos import compute_gae_advantage_return

    from value_diag.integrations.verl import gae_td_errors, response_tokens

    data = verl_gae(make_batch(torch, seed), gamma, lam)
    values, mask = data.batch["values"], data.batch["response_mask"]
    td_errors = gae_td_errors(data, gamma)
    assert td_errors.dtype == values.dtype == torch.float32
    assert td_errors.shape == values.shape
    # verl's recursion over the TD errors: its advantages and returns, bit for bit.
    advantages, returns = compute_gae_advantage_return(
        token_level_rewards=td_errors,
        values=torch.zeros_like(values),
        response_mask=mask,
        gamma=gamma,
        lam=lam,
    )
    assert torch.equal(advantages, data.batch["advantages"]), "not verl's TD errors"
    assert torch.equal(returns + values, data.batch["returns"])
    # And what they are: r + gamma V(next response token) - V, in float64.
    want = torch.tensor(independent_td_errors(data, gamma), dtype=torch.float64)
    torch.testing.assert_close(td_errors.double(), want, rtol=1e-6, atol=1e-5)
    assert not td_errors[mask == 0].any(), "0 off the response tokens"
    # The tokens value-diag uses: the response tokens only, row by row.
    tokens = response_tokens(data, gamma)
    selected = mask.bool()
    assert tokens.samples == int(mask.sum()) < mask.numel()
    assert torch.equal(tokens.values, torch.masked_select(values, selected))
    assert torch.equal(tokens.returns, torch.masked_select(data.batch["returns"], selected))
    assert torch.equal(tokens.td_errors, torch.masked_select(td_errors, selected))


def test_a_masked_stretch_is_skipped(torch: Any) -> None:
    """Across a tool's output (masked), the TD error bootstraps from the next response
    token's value, discounted once, and the masked tokens' rewards are not used."""
    from verl import DataProto

    from value_diag.integrations.verl import gae_td_errors

    values = torch.tensor([[1.0, 50.0, 60.0, 2.0, 3.0, 70.0]])
    rewards = torch.tensor([[0.5, 9.0, 9.0, 0.25, 1.0, 9.0]])
    mask = torch.tensor([[1, 0, 0, 1, 1, 0]])
    data = DataProto.from_dict(
        tensors={"values": values, "token_level_rewards": rewards, "response_mask": mask}
    )
    got = gae_td_errors(data, 0.5)
    assert got.tolist() == [[0.5 + 0.5 * 2.0 - 1.0, 0, 0, 0.25 + 0.5 * 3.0 - 2.0, 1.0 - 3.0, 0]]


def test_what_is_refused(torch: Any, tmp_path: Path) -> None:
    from value_diag.integrations.verl import ValueDiagnostics, gae_td_errors, response_tokens

    data = make_batch(torch, 0)
    with pytest.raises(ValueError, match=r"no 'returns': pass it after compute_advantage"):
        response_tokens(data, 1.0)
    data = verl_gae(data, 1.0, 1.0)
    data.batch["response_mask"] = torch.zeros_like(data.batch["response_mask"])
    with pytest.raises(ValueError, match="no response tokens"):
        response_tokens(data, 1.0)
    short = {"values": torch.zeros(2, 3), "token_level_rewards": torch.zeros(2, 4)}
    with pytest.raises(ValueError, match=r"values \(2, 3\), token_level_rewards \(2, 4\)"):
        gae_td_errors({**short, "response_mask": torch.ones(2, 3)}, 1.0)
    diagnostics = ValueDiagnostics(tmp_path / "run.jsonl", gamma=1.0)
    diagnostics.close()
    diagnostics.close()
    with pytest.raises(ValueError, match="is closed"):
        diagnostics.log(data, step=1)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


@pytest.mark.parametrize(("gamma", "lam"), GAMMA_LAM[:2])
def test_each_step_is_a_line_value_diag_reads(
    torch: Any, tmp_path: Path, gamma: float, lam: float
) -> None:
    """Three steps, three lines after a run header naming verl; each line holds
    compute_value_metrics of the response tokens (masked by the test itself), and
    `value-diag once` reads the file whole, its nine metrics the last line's."""
    from value_diag.integrations.verl import ValueDiagnostics, gae_td_errors

    path = tmp_path / "run.jsonl"
    path.write_text('{"note": "an earlier run"}\n')
    batches = []
    with ValueDiagnostics(path, gamma=gamma) as diagnostics:
        for step in (1, 2, 3):
            data = verl_gae(make_batch(torch, 10 + step, rows=8, length=64), gamma, lam)
            diagnostics.log(data, step=step)
            batches.append(data)
    first, header, *logged = lines(path)
    assert first == {"note": "an earlier run"}, "appended, not truncated"
    assert list(header) == ["value_diag_run"]
    assert (header["value_diag_run"]["writer"], header["value_diag_run"]["rules"]) == (
        "verl",
        "scale-free",
    )
    assert [line["step"] for line in logged] == [1, 2, 3]
    for line, data in zip(logged, batches, strict=True):
        selected = data.batch["response_mask"].bool()
        values, returns, td_errors = (
            torch.masked_select(x, selected)
            for x in (data.batch["values"], data.batch["returns"], gae_td_errors(data, gamma))
        )
        assert line["samples"] == int(selected.sum())
        want = compute_value_metrics(values, returns, td_errors)
        for name in WRITTEN:
            assert line[name] == getattr(want, name), name
    proc = run_cli(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["bad_lines"]) == (4, 0), frame["last_error"]
    assert frame["step"] == 3
    for name in VALUE_FIELDS:
        assert frame["value_function"][name]["value"] == logged[-1][name], name


def test_the_module_imports_without_torch_or_verl() -> None:
    """value-diag never depends on verl: the integration imports, and names the extra."""
    printed = refusals(
        ("verl", "torch", "numpy"),
        "value_diag.integrations.verl",
        ["ValueDiagnostics", "gae_td_errors"],
        ["ValueDiagnostics('run.jsonl', gamma=1.0)", "gae_td_errors(1, 2)"],
    )
    assert printed == (
        "ValueDiagnostics needs torch (verl brings it): pip install 'value-diag[verl]'\n"
        "gae_td_errors needs torch (verl brings it): pip install 'value-diag[verl]'\n"
    )
