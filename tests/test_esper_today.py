"""esper-lite as it writes today: skipped updates, A/B groups in one file, the current payloads."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, examples, invoke
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reading import is_candidate
from telemetry import dumps

from value_diag.ingest.fold import FileState, fold, fold_file
from value_diag.ingest.parallel import read_path
from value_diag.ingest.parse import BadLine, Record, parse
from value_diag.producer.simulate import (
    PPO_TEMPLATE,
    LogFormat,
    Scenario,
    SimOptions,
    batches,
)
from value_diag.schema import VALUE_FIELDS
from value_diag.state import FoldState

NOW = 1_700_000_000.5

# --- esper-lite's readers, written down (esper-lite commit 2016337, src/esper/leyline/telemetry.py)

ESPER_ENVELOPE = [
    "event_id", "event_type", "timestamp", "seed_id", "slot_id", "epoch", "group_id",
    "message", "data", "severity",
]  # fmt: skip
"""nissa/output.py _telemetry_event_to_dict: what FileOutput writes for every event."""
ESPER_PPO_FIELDS = [
    "policy_loss", "value_loss", "entropy", "grad_norm", "kl_divergence", "clip_fraction",
    "nan_grad_count", "pre_clip_grad_norm", "explained_variance", "value_nrmse",
    "ev_low_return_variance", "ev_return_variance", "ev_low_return_variance_count",
    "entropy_loss", "advantage_mean", "advantage_std", "advantage_skewness",
    "advantage_kurtosis", "advantage_positive_ratio", "pre_norm_advantage_mean",
    "pre_norm_advantage_std", "return_mean", "return_std", "v_return_correlation",
    "td_error_mean", "td_error_std", "bellman_error", "return_p10", "return_p50", "return_p90",
    "return_variance", "return_skewness", "value_target_scale", "ratio_mean", "ratio_min",
    "ratio_max", "ratio_std", "log_prob_min", "log_prob_max", "lr", "entropy_coef",
    "inf_grad_count", "dead_layers", "exploding_layers", "layer_gradient_health",
    "entropy_collapsed", "head_nan_detected", "head_inf_detected", "loss_scale",
    "amp_overflow_detected", "update_skipped", "update_time_ms", "early_stop_epoch",
    "head_slot_entropy", "head_blueprint_entropy", "head_slot_grad_norm",
    "head_blueprint_grad_norm", "head_style_grad_norm", "head_tempo_grad_norm",
    "head_alpha_target_grad_norm", "head_alpha_speed_grad_norm", "head_alpha_curve_grad_norm",
    "head_op_grad_norm", "head_value_grad_norm", "head_q_grad_norm", "head_style_entropy",
    "head_tempo_entropy", "head_alpha_target_entropy", "head_alpha_speed_entropy",
    "head_alpha_curve_entropy", "head_op_entropy", "head_slot_learnable_fraction",
    "head_blueprint_learnable_fraction", "head_style_learnable_fraction",
    "head_tempo_learnable_fraction", "head_alpha_target_learnable_fraction",
    "head_alpha_speed_learnable_fraction", "head_alpha_curve_learnable_fraction",
    "head_op_learnable_fraction", "head_slot_gradient_state", "head_blueprint_gradient_state",
    "head_style_gradient_state", "head_tempo_gradient_state",
    "head_alpha_target_gradient_state", "head_alpha_speed_gradient_state",
    "head_alpha_curve_gradient_state", "head_op_gradient_state", "head_value_gradient_state",
    "head_q_gradient_state", "head_slot_ratio_max", "head_blueprint_ratio_max",
    "head_style_ratio_max", "head_tempo_ratio_max", "head_alpha_target_ratio_max",
    "head_alpha_speed_ratio_max", "head_alpha_curve_ratio_max", "head_op_ratio_max",
    "joint_ratio_max", "head_slot_clip_fraction", "head_blueprint_clip_fraction",
    "head_style_clip_fraction", "head_tempo_clip_fraction", "head_alpha_target_clip_fraction",
    "head_alpha_speed_clip_fraction", "head_alpha_curve_clip_fraction", "head_op_clip_fraction",
    "inner_epoch", "batch", "ppo_updates_count", "skipped", "value_mean", "value_std",
    "value_min", "value_max", "op_q_values", "op_valid_mask", "q_variance", "q_spread",
    "q_aux_loss", "clip_fraction_positive", "clip_fraction_negative", "gradient_cv",
    "cuda_memory_allocated_gb", "cuda_memory_reserved_gb", "cuda_memory_peak_gb",
    "cuda_memory_fragmentation", "dataloader_wait_ratio", "lstm_h_l2_total", "lstm_c_l2_total",
    "lstm_h_rms", "lstm_c_rms", "lstm_h_env_rms_mean", "lstm_h_env_rms_max",
    "lstm_c_env_rms_mean", "lstm_c_env_rms_max", "lstm_h_max", "lstm_c_max", "lstm_has_nan",
    "lstm_has_inf", "rollout_lstm_h_l2_total", "rollout_lstm_c_l2_total", "rollout_lstm_h_rms",
    "rollout_lstm_c_rms", "rollout_lstm_h_env_rms_mean", "rollout_lstm_h_env_rms_max",
    "rollout_lstm_c_env_rms_mean", "rollout_lstm_c_env_rms_max", "rollout_lstm_h_max",
    "rollout_lstm_c_max", "rollout_lstm_has_nan", "rollout_lstm_has_inf", "forced_step_ratio",
    "usable_actor_timesteps", "decision_density", "advantage_std_floored",
    "d5_pre_norm_advantage_std", "rollback_count", "rollback_steps_zeroed",
    "rollback_attempt_count", "rollback_unattributed_count",
]  # fmt: skip
"""PPOUpdatePayload's fields in declaration order: what dataclasses.asdict writes."""
ESPER_PPO_REQUIRED = [
    "policy_loss", "value_loss", "entropy", "grad_norm", "kl_divergence", "clip_fraction",
    "nan_grad_count", "pre_clip_grad_norm", "entropy_loss", "advantage_mean", "advantage_std",
    "advantage_skewness", "advantage_kurtosis", "advantage_positive_ratio", "ratio_mean",
    "ratio_min", "ratio_max", "ratio_std", "log_prob_min", "log_prob_max", "entropy_collapsed",
    "update_time_ms", "inner_epoch", "batch", "ppo_updates_count", "value_mean", "value_std",
    "value_min", "value_max", "op_q_values", "op_valid_mask", "q_variance", "q_spread",
    "clip_fraction_positive", "clip_fraction_negative", "gradient_cv", "dataloader_wait_ratio",
    "pre_norm_advantage_mean", "pre_norm_advantage_std", "return_mean", "return_std",
]  # fmt: skip
"""The keys PPOUpdatePayload.from_dict reads as data[...] (a KeyError without them)."""
ESPER_NUM_OPS = 6
"""len(LifecycleOp): __post_init__ refuses op_q_values and op_valid_mask of another length."""
ESPER_STARTED_FIELDS = [
    "n_envs", "max_epochs", "max_batches", "task", "host_params", "slot_ids", "seed",
    "n_episodes", "lr", "clip_ratio", "entropy_coef", "param_budget", "policy_device",
    "env_devices", "reward_mode", "episode_id", "resume_path", "start_episode",
    "entropy_anneal", "world_size", "rank", "local_rank", "amp_enabled", "amp_dtype",
    "compile_enabled", "compile_backend", "compile_mode", "proof_baseline_mode",
    "proof_baseline_pair_id", "proof_baseline_lifecycle_policy", "proof_baseline_schedule_id",
    "proof_baseline_schedule_hash", "proof_baseline_schedule_version",
    "proof_baseline_schedule_action_count",
]  # fmt: skip
"""TrainingStartedPayload's fields; from_dict requires the first fifteen."""
ESPER_EPOCH_FIELDS = [
    "env_id", "val_accuracy", "val_loss", "inner_epoch", "episode_idx", "train_loss",
    "train_accuracy", "host_grad_norm", "seeds", "observation_stats",
]  # fmt: skip
"""EpochCompletedPayload.to_dict's keys; from_dict requires the first five and the last."""


def esper_events(**changes: Any) -> list[dict[str, Any]]:
    options = SimOptions(Scenario.HEALTHY, updates=6, format=LogFormat.ESPER, **changes)
    start = datetime(2026, 11, 25, tzinfo=UTC)
    events = list(itertools.chain.from_iterable(batches(options, lambda _s: start)))
    # What json.dumps then json.loads gives: the shapes esper's from_dict sees.
    return [json.loads(json.dumps(e)) for e in events]


def test_simulated_events_are_what_esper_lite_writes_and_reads() -> None:
    events = esper_events(skipped=frozenset({3}))
    kinds = [e["event_type"] for e in events]
    assert kinds[0] == "TRAINING_STARTED"
    assert kinds.count("PPO_UPDATE_COMPLETED") == 6
    assert kinds.count("EPOCH_COMPLETED") == 24
    for event in events:
        assert list(event) == ESPER_ENVELOPE
        data = event["data"]
        if event["event_type"] == "PPO_UPDATE_COMPLETED":
            assert list(data) == ESPER_PPO_FIELDS
            assert all(k in data for k in ESPER_PPO_REQUIRED)
            assert len(data["op_q_values"]) == len(data["op_valid_mask"]) == ESPER_NUM_OPS
        elif event["event_type"] == "TRAINING_STARTED":
            assert list(data) == ESPER_STARTED_FIELDS
        else:
            assert list(data) == ESPER_EPOCH_FIELDS
    assert list(PPO_TEMPLATE) == ESPER_PPO_FIELDS


def test_simulated_critic_fields_are_null_then_nan_early_then_the_rollouts() -> None:
    ppo = [e["data"] for e in esper_events() if e["event_type"] == "PPO_UPDATE_COMPLETED"]
    assert ppo[0]["explained_variance"] is None
    assert math.isnan(ppo[1]["explained_variance"])
    assert all(-1.0 < p["explained_variance"] <= 1.0 for p in ppo[2:])
    for p in ppo:
        assert p["value_min"] <= p["value_mean"] <= p["value_max"]
        assert p["value_std"] > 0.0
        assert p["skipped"] is False


def test_a_simulated_skipped_update_is_esper_lites_placeholder() -> None:
    ppo = [e["data"] for e in esper_events(skipped=frozenset({2})) if "skipped" in e["data"]]
    placeholder = ppo[2]
    assert placeholder["skipped"] is True
    assert all(placeholder[name] == 0.0 for name in VALUE_FIELDS)
    assert all(math.isnan(q) for q in placeholder["op_q_values"])
    assert placeholder["op_valid_mask"] == [False] * ESPER_NUM_OPS
    assert ppo[3]["skipped"] is False


def test_simulated_events_carry_the_group_asked_for() -> None:
    assert {e["group_id"] for e in esper_events()} == {"default"}
    assert {e["group_id"] for e in esper_events(group="B")} == {"B"}


# --- parse ------------------------------------------------------------------------------------

A = {name: float(i) + 0.5 for i, name in enumerate(VALUE_FIELDS)}
OK = dict(zip(VALUE_FIELDS, [0.9, 1.0, 3.0, 9.0, 10.0, 20.0, 30.0, 64.0, 0.2], strict=True))
"""A healthy update: every metric ok."""
B = {name: -float(i) - 0.25 for i, name in enumerate(VALUE_FIELDS)}
ZERO = dict.fromkeys(VALUE_FIELDS, 0.0)


def ppo(fields: dict[str, Any], group: Any = "default", **data: Any) -> bytes:
    event = {"event_type": "PPO_UPDATE_COMPLETED", "group_id": group}
    return dumps({**event, "data": {"policy_loss": 0.1, **fields, **data}})


def started(group: Any = "default", **data: Any) -> bytes:
    return dumps({"event_type": "TRAINING_STARTED", "group_id": group, "data": data})


def test_a_skipped_update_is_nothing_of_ours() -> None:
    assert parse(ppo(ZERO, skipped=True)) is None
    assert isinstance(parse(ppo(A, skipped=False)), Record)
    assert isinstance(parse(ppo(A, skipped=None)), Record)
    bad = parse(ppo(A, group="A", skipped="yes"))
    assert bad == BadLine("skipped is a string, expected true or false", "A")


@pytest.mark.parametrize(
    ("group", "parsed_group"),
    [("default", None), ("", None), (None, None), ("A", "A"), ("cohort-3", "cohort-3")],
)
def test_the_group_of_an_event(group: str | None, parsed_group: str | None) -> None:
    record = parse(ppo(A, group=group))
    assert isinstance(record, Record)
    assert record.group == parsed_group
    assert record.values == tuple(A.values())
    start = parse(started(group))
    assert isinstance(start, Record)
    assert (start.group, start.new_run) == (parsed_group, True)


def test_a_group_that_is_not_a_string_is_a_bad_line() -> None:
    assert parse(ppo(A, group=3)) == BadLine("group_id is a number, expected a string")
    assert parse(ppo(A, group=math.nan)) == BadLine("group_id is a number, expected a string")


def test_a_bad_event_of_a_group_is_that_groups() -> None:
    assert parse(ppo({"bellman_error": "high"}, group="B")) == BadLine(
        "bellman_error is a string, expected a number", "B"
    )


# --- fold: runs per group ----------------------------------------------------------------------


def numbered(lines: list[bytes]) -> list[tuple[int, bytes]]:
    return list(enumerate(lines, start=1))


def runs_of(lines: list[bytes], history: int = 0) -> list[tuple[str, FoldState]]:
    return fold_file(FileState.empty(history), numbered(lines), NOW).named("run.jsonl")


def test_a_skipped_update_after_a_real_one_changes_nothing() -> None:
    lines = [started(), ppo(A), ppo(ZERO, skipped=True)]
    [(name, state)] = runs_of(lines)
    assert (name, state.records, state.values) == ("run.jsonl", 2, tuple(A.values()))


def test_one_group_is_the_file_and_two_are_two_runs() -> None:
    one = [started("A"), ppo(A, "A")]
    [(name, state)] = runs_of(one)
    assert (name, state.records, state.values) == ("run.jsonl", 2, tuple(A.values()))
    two = [*one, started("B"), ppo(B, "B"), ppo(A, "A")]
    runs = runs_of(two)
    assert [name for name, _ in runs] == ["run.jsonl#A", "run.jsonl#B"]
    (_, a), (_, b) = runs
    assert (a.records, a.values) == (3, tuple(A.values()))
    assert (b.records, b.values) == (2, tuple(B.values()))


def test_groups_are_in_order_of_first_appearance() -> None:
    lines = [ppo(A, "zeta"), ppo(A, "alpha"), ppo(B, "zeta"), ppo(A, "mid")]
    assert [n for n, _ in runs_of(lines)] == ["run.jsonl#zeta", "run.jsonl#alpha", "run.jsonl#mid"]


def test_lines_of_no_group_belong_to_every_run() -> None:
    lines = [
        started(compile_enabled=True, compile_backend="inductor"),
        ppo(A, "A"),
        b'{"bellman_error": oops}',  # a bad line of no group: every run's
        ppo(B, "B"),
        ppo({"td_error_mean": "x"}, "B"),  # B's own bad line
        started(None),  # restarts both
        ppo(A, "A"),
    ]
    (_, a), (_, b) = runs_of(lines, history=3)
    assert (a.records, a.bad_lines, a.last_error) == (
        4,
        1,
        "line 3: invalid JSON: Expecting value (column 19)",
    )
    assert (b.records, b.bad_lines) == (3, 2)
    assert b.last_error == "line 5: td_error_mean is a string, expected a number"
    assert a.values == tuple(A.values()) and b.values is None
    assert len(a.history) == 1 and b.history == ()
    assert a.compile == b.compile
    assert a.compile is not None and a.compile.backend == "inductor"


def group_lines(groups: list[str | None]) -> st.SearchStrategy[bytes]:
    values = st.fixed_dictionaries({}, optional={k: st.floats(-9, 9) for k in VALUE_FIELDS})
    group = st.sampled_from(groups)
    return st.one_of(
        st.builds(lambda v, g: ppo(v or A, g), values, group),
        st.builds(lambda v, g: ppo(v or A, g, skipped=True), values, group),
        st.builds(lambda g: started(g), group),
        st.builds(lambda g: ppo({"bellman_error": "x"}, g), group),
        st.sampled_from([b'{"bellman_error": oops}', b"plain text", b""]),
    )


def reference(lines: list[bytes], group: str, history: int) -> FoldState:
    """A group's run by definition: its own lines and every line of no group, folded."""
    mine = []
    for number, line in numbered(lines):
        parsed = parse(line)
        if parsed is not None and parsed.group in (None, group):
            mine.append((number, line))
    return fold(FoldState(history_len=history), mine, NOW)


ANY_GROUP = [None, "default", "A", "B", "C"]


@settings(deadline=None, max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(group_lines(ANY_GROUP), max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=5),
    history=st.sampled_from([0, 2]),
)
@example([started("A"), ppo(A, None), ppo(B, "B"), ppo(A, "A")], [1, 2], 2)
@example([ppo(A, None), ppo(B, "A"), b"plain", ppo(A, "B"), started(None)], [3], 0)
def test_each_group_is_its_lines_and_the_shared_ones_however_cut(
    lines: list[bytes], cuts: list[int], history: int
) -> None:
    whole = fold_file(FileState.empty(history), numbered(lines), NOW)
    points = sorted({c for c in cuts if 0 < c < len(lines)})
    batched = FileState.empty(history)
    for a, b in itertools.pairwise([0, *points, len(lines)]):
        batched = fold_file(batched, numbered(lines)[a:b], NOW)
    assert batched == whole
    one_by_one = FileState.empty(history)
    for item in numbered(lines):
        one_by_one = fold_file(one_by_one, [item], NOW)
    assert one_by_one == whole
    assert whole.whole == fold(FoldState(history_len=history), numbered(lines), NOW)
    for group, state in whole.groups:
        assert state == reference(lines, group, history), group
    if len(whole.groups) < 2:
        assert [s for _, s in whole.runs] == [whole.whole]


@settings(deadline=None, max_examples=examples(40), suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(group_lines(ANY_GROUP), max_size=30), trailing=st.booleans())
def test_read_path_in_any_number_of_parts_equals_one_pass(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], trailing: bool
) -> None:
    path = tmp_path_factory.mktemp("groups") / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"\n" if trailing and lines else b""))
    expected = read_path(str(path), NOW, parts=1, history=2)
    for parts in range(2, 5):
        assert read_path(str(path), NOW, parts=parts, history=2) == expected


def test_read_path_in_parts_on_a_large_ab_file(tmp_path: Path) -> None:
    """Groups first met in a later part start from the lines of no group before them."""
    block = [b"x" * 200] * 50
    lines = [started(None), *block, ppo(A, "A"), *block, ppo(B, None), *block, ppo(A, "B")]
    lines += [*block, b'{"bellman_error": oops}', *block, started("A"), ppo(B, "A")]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines * 40) + b"\n")
    ours = [(n, line) for n, line in numbered(lines * 40) if is_candidate(line)]
    expected = fold_file(FileState.empty(3), ours, NOW)
    for parts in (1, 2, 3, 7):
        assert read_path(str(path), NOW, parts=parts, history=3) == expected
    assert [g for g, _ in expected.groups] == ["A", "B"]


# --- the commands -----------------------------------------------------------------------------


def write_ab(path: Path) -> None:
    lines = [started("A"), ppo(OK, "A"), started("B"), ppo(OK, "B")]
    lines.append(ppo({**OK, "bellman_error": 80.0}, "B"))
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_once_shows_a_frame_per_group(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_ab(path)
    proc = invoke(["once", str(path), "--format", "json"])
    frames = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [f["source"] for f in frames] == [f"{path}#A", f"{path}#B"]
    assert [f["records"] for f in frames] == [2, 3]
    assert [f["status"] for f in frames] == ["ok", "critical"]
    assert proc.returncode == 0


def test_compare_and_fail_on_treat_groups_as_runs(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_ab(path)
    proc = invoke(["once", str(path), "--compare", "--fail-on", "critical"])
    out = proc.stdout.decode()
    assert "VALUE DIAGNOSTICS: 2 runs" in out
    assert out.index(f"{path}#B") < out.index(f"{path}#A"), "worst first"
    assert proc.returncode == 1
    assert f"{path}#B reached critical" in proc.stderr.decode()
    assert f"{path}#A reached" not in proc.stderr.decode()


def test_a_group_with_no_usable_record_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [started("A"), ppo(OK, "A"), ppo({"bellman_error": "x"}, "B")]
    path.write_bytes(b"\n".join(lines) + b"\n")
    proc = invoke(["once", str(path), "--format", "json"])
    frames = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(f["source"], f["status"]) for f in frames] == [
        (f"{path}#A", "ok"),
        (f"{path}#B", "no_data"),
    ]
    assert proc.returncode == 3


def test_a_skipped_last_update_is_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"\n".join([started(), ppo(A), ppo(ZERO, skipped=True)]) + b"\n")
    proc = invoke(["once", str(path), "--format", "json"])
    frame = json.loads(proc.stdout)
    assert frame["records"] == 2
    assert frame["value_function"]["v_return_correlation"]["value"] == 0.5


Spawn = Callable[..., Any]


def test_watch_splits_a_file_into_runs_when_a_second_group_appears(
    spawn: Spawn, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(started("A") + b"\n" + ppo(A, "A") + b"\n")
    w = spawn("events.jsonl", "--format", "json")
    first = w.frame()
    assert (first["source"], first["records"]) == ("events.jsonl", 2)
    with path.open("ab") as f:
        f.write(ppo(ZERO, "A", skipped=True) + b"\n" + started("B") + b"\n" + ppo(B, "B") + b"\n")
    b = w.frame(lambda f: f["source"] == "events.jsonl#B")
    assert b["records"] == 2
    with path.open("ab") as f:
        f.write(ppo({**A, "bellman_error": 80.0}, "A") + b"\n")
    a = w.frame(lambda f: f["source"] == "events.jsonl#A" and f["records"] == 3)
    assert a["status"] == "critical"
    sources = [f["source"] for f in w.frames]
    assert "events.jsonl#B" not in sources[sources.index("events.jsonl#B") + 1 :], (
        "B did not change: its frame is not printed again"
    )


def test_watch_fail_on_names_the_group(spawn: Spawn, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_ab(path)
    w = spawn("events.jsonl", "--format", "json", "--fail-on", "critical")
    assert w.wait() == 1
    assert "events.jsonl#B reached critical" in w.stderr


def test_the_ab_sample_is_two_runs_with_skipped_updates() -> None:
    path = SAMPLES / "ab" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["group_id"] for e in events[:1]] == ["A"]
    assert sum(1 for e in events if e["data"].get("skipped") is True) == 2
    runs = read_path(str(path), NOW).named("ab")
    assert [(name, state.records) for name, state in runs] == [("ab#A", 39), ("ab#B", 41)]
