"""fold.py: numbered lines -> the run's latest state, honest counters, and the spec's snapshot."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from reading import iter_lines
from telemetry import dumps, flat, ppo

from value_diag.ingest import fold as fold_module
from value_diag.ingest.fold import FileState, fold, fold_file
from value_diag.ingest.lines import Line
from value_diag.ingest.parse import BadLine, parse
from value_diag.schema import (
    COMPILE_FIELDS,
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    ValueFunctionMetrics,
)
from value_diag.state import Compile, FoldState, Update, to_snapshot

NOW = 1_700_000_000.5
LATER = NOW + 60.0
SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
REAL_SAMPLE = Path("/work/shared/samples/esper_filewriter_collapse.jsonl")
SAMPLE_LOGS = sorted(SAMPLES.glob("*.jsonl"))

A: dict[str, float] = {name: float(i) + 0.5 for i, name in enumerate(VALUE_FIELDS)}
B: dict[str, float] = {name: -float(i) - 0.25 for i, name in enumerate(VALUE_FIELDS)}


def is_nan(x: float | None) -> bool:
    """Whether a metric is NaN (None, not reported, is not)."""
    return x is not None and math.isnan(x)


def tup(fields: Mapping[str, float | None]) -> tuple[float | None, ...]:
    """The nine as a fold keeps them: None for a metric not reported."""
    return tuple(fields.get(name) for name in VALUE_FIELDS)


def started(**compile_fields: Any) -> bytes:
    return dumps({"event_type": "TRAINING_STARTED", "data": {"n_envs": 4, **compile_fields}})


def snap(vf: dict[str, Any] | None = None, infra: dict[str, Any] | None = None) -> bytes:
    tamiyo: dict[str, Any] = {}
    if vf is not None:
        tamiyo["value_function"] = vf
    if infra is not None:
        tamiyo["infrastructure"] = infra
    return dumps({"tamiyo": tamiyo})


def numbered(*lines: bytes | BadLine, start: int = 1) -> list[Line]:
    return list(enumerate(lines, start=start))


def fold_bytes(data: bytes, now: float = NOW, state: FoldState | None = None) -> FoldState:
    """The real pipeline: scanner then fold."""
    return fold(state or FoldState(), iter_lines(iter([data])), now)


def nan_safe(values: tuple[float | None, ...] | None) -> tuple[object, ...] | None:
    """Values made comparable: NaN equal to NaN."""
    if values is None:
        return None
    return tuple("nan" if is_nan(v) else v for v in values)


def comparable(state: FoldState) -> str:
    """Everything but last_update, with NaN equal to NaN (floats compared by repr)."""
    return repr(dataclasses.replace(state, last_update=None))


# --- folding the parts ------------------------------------------------------------------------


def test_nothing_folded_is_the_empty_state() -> None:
    state = fold(FoldState(), [], NOW)
    assert state == FoldState()
    assert not state.has_data
    assert state.last_update is None


def test_a_value_line_sets_the_values_and_counts_a_record() -> None:
    state = fold(FoldState(), numbered(flat(A)), NOW)
    assert state == FoldState(
        values=tup(A), values_at=(1,) * 9, records=1, last_update=NOW, step=7, updates=1
    )
    assert state.has_data


def test_a_later_value_line_replaces_what_it_reports_and_keeps_the_rest_with_its_age() -> None:
    partial = {"bellman_error": 9.0, "return_p10": None}
    state = fold(FoldState(), numbered(ppo(A), ppo(partial)), NOW)
    assert state.values == tup({**A, "bellman_error": 9.0})
    assert state.records == 2
    bellman = VALUE_FIELDS.index("bellman_error")
    assert state.values_at == tuple(2 if i == bellman else 1 for i in range(9))
    assert [state.updates_ago(i) for i in range(9)] == [0 if i == bellman else 1 for i in range(9)]


def test_a_metric_never_reported_stays_none_and_a_new_run_forgets_the_old_reports() -> None:
    state = fold(FoldState(), numbered(flat({"bellman_error": 1.0})), NOW)
    assert state.values == tup({"bellman_error": 1.0})
    assert state.updates_ago(0) is None
    restarted = fold(state, numbered(header(), flat({"td_error_mean": 2.0})), NOW)
    assert restarted.values == tup({"td_error_mean": 2.0})
    assert restarted.values_at == tup({"td_error_mean": 1})


def test_partial_lines_fold_the_same_in_any_split() -> None:
    lines = numbered(
        flat({"bellman_error": 1.0}),
        flat({"v_return_correlation": 0.5}),
        esper_ev_only(0.25, 3),
        flat({"bellman_error": 3.0, "td_error_mean": None}),
        flat({"return_p10": -1.0}),
    )
    whole = fold(FoldState(recent_len=9, history_len=9), lines, NOW)
    for cut in range(len(lines) + 1):
        first = fold(FoldState(recent_len=9, history_len=9), lines[:cut], NOW)
        assert fold(first, lines[cut:], NOW) == whole
    assert whole.values == tup(
        {"bellman_error": 3.0, "v_return_correlation": 0.5, "return_p10": -1.0}
    )
    assert whole.values_at == tup({"bellman_error": 4, "v_return_correlation": 2, "return_p10": 5})
    assert [u.values for u in whole.recent][1:3] == [
        tup({"bellman_error": 1.0, "v_return_correlation": 0.5}),
    ] * 2  # the EV-only update shows what was reported before it


def test_a_compile_line_replaces_compile_and_values_carry_over() -> None:
    lines = numbered(
        flat(A),
        flat({"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "m"}),
    )
    state = fold(FoldState(), lines, NOW)
    assert state.values == tup(A)
    assert state.compile == Compile(True, "inductor", "m")


def test_a_value_line_keeps_the_compile_part() -> None:
    state = fold(FoldState(), numbered(started(compile_enabled=True), ppo(A), ppo(B)), NOW)
    assert state.compile == Compile(True, "", "")
    assert state.values == tup(B)


def test_a_later_compile_line_replaces_all_three_compile_fields() -> None:
    lines = numbered(
        snap(infra={"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "x"}),
        snap(infra={"compile_enabled": False, "compile_backend": None}),
    )
    assert fold(FoldState(), lines, NOW).compile == Compile(False, "", "")


def test_snapshot_lines_replace_only_the_parts_they_carry() -> None:
    infra = {"compile_enabled": True, "compile_backend": "b", "compile_mode": "m"}
    state = fold(FoldState(), numbered(snap(A, infra), snap(vf=B)), NOW)
    assert state.values == tup(B)
    assert state.compile == Compile(True, "b", "m")
    state = fold(state, numbered(snap(infra={"compile_mode": "other"}), start=3), NOW)
    assert state.values == tup(B)
    assert state.compile == Compile(False, "", "other")
    assert state.records == 3


def test_training_started_begins_a_new_run() -> None:
    lines = numbered(
        started(compile_enabled=True, compile_backend="inductor", compile_mode="reduce-overhead"),
        ppo(A),
        started(compile_enabled=False, compile_backend=None, compile_mode=None),
    )
    state = fold(FoldState(), lines, NOW)
    assert state.values is None  # not reported in this run
    assert state.compile == Compile(False, "", "")
    assert state.records == 3
    state = fold(state, numbered(ppo(B), start=4), LATER)
    assert state.values == tup(B)
    assert state.last_update == LATER


def test_training_started_without_compile_fields_keeps_compile() -> None:
    lines = numbered(started(compile_enabled=True, compile_backend="x"), ppo(A), started())
    state = fold(FoldState(), lines, NOW)
    assert state.values is None
    assert state.compile == Compile(True, "x", "")
    assert state.records == 3


def test_training_started_resets_values_across_fold_calls() -> None:
    state = fold(FoldState(), numbered(flat(A)), NOW)
    state = fold(state, numbered(started(), start=2), LATER)
    assert state.values is None
    assert state.records == 2
    assert state.last_update == LATER


def test_lines_that_carry_nothing_are_counted_nowhere() -> None:
    lines = numbered(
        dumps({"event_type": "EPOCH_COMPLETED", "data": {"bellman_error": "x"}}),
        dumps({"note": "bellman_error"}),
        dumps({"event_type": "PPO_UPDATE_COMPLETED", "data": {"policy_loss": 1.0}}),
        snap(),
    )
    state = fold(FoldState(), lines, NOW)
    assert state == FoldState()


# --- bad lines and counters -------------------------------------------------------------------


def test_a_bad_line_is_counted_and_changes_nothing_else() -> None:
    good = fold(FoldState(), numbered(started(compile_enabled=True), ppo(A)), NOW)
    after = fold(good, numbered(ppo({"bellman_error": "high"}), start=3), LATER)
    reason = parse(ppo({"bellman_error": "high"}))
    assert isinstance(reason, BadLine)
    assert after == dataclasses.replace(good, bad_lines=1, last_error=f"line 3: {reason.reason}")
    assert after.last_update == NOW


def test_last_error_is_the_newest_bad_line() -> None:
    lines = numbered(
        b'{"tamiyo": 3}',
        flat(A),
        b'garbage "bellman_error"',
        flat({"compile_enabled": "yes"}),
        flat(B),
    )
    state = fold(FoldState(), lines, NOW)
    last = parse(flat({"compile_enabled": "yes"}))
    assert isinstance(last, BadLine)
    assert state.bad_lines == 3
    assert state.records == 2
    assert state.last_error == f"line 4: {last.reason}"
    assert state.values == tup(B)


def test_a_bad_line_object_from_the_scanner_is_counted() -> None:
    state = fold(FoldState(), [(7, BadLine("line too long (99 bytes)"))], NOW)
    assert state.bad_lines == 1
    assert state.last_error == "line 7: line too long (99 bytes)"
    assert state.records == 0
    assert state.last_update is None


@pytest.mark.parametrize(
    "line",
    [
        b'not json at all but "tamiyo"',
        b'["bellman_error"]',
        b'{"bellman_error": "\xff"}',
        b'{"bellman_error": true}',
        b'{"tamiyo": {"value_function": []}}',
        b'{"event_type": "PPO_UPDATE_COMPLETED", "data": "x"}',
        b'{"event_type": "TRAINING_STARTED", "data": {"compile_enabled": "no"}}',
        b'{"compile_backend": 3}',
        b'{"compile_mode": ["a"]}',
    ],
)
def test_bad_lines_leave_values_compile_and_last_update_alone(line: bytes) -> None:
    before = fold(FoldState(), numbered(started(compile_enabled=True), flat(A)), NOW)
    after = fold(before, numbered(line, start=3), LATER)
    assert after.values == before.values
    assert after.compile == before.compile
    assert after.records == before.records
    assert after.last_update == NOW
    assert after.bad_lines == 1
    assert after.last_error is not None and after.last_error.startswith("line 3: ")


def test_a_bad_training_started_does_not_reset_the_run() -> None:
    before = fold(FoldState(), numbered(flat(A)), NOW)
    after = fold(before, numbered(b'{"event_type": "TRAINING_STARTED", "data": 1}', start=2), NOW)
    assert after.values == tup(A)
    assert after.bad_lines == 1


def test_last_update_is_the_clock_of_the_newest_record() -> None:
    state = fold(FoldState(), numbered(flat(A)), NOW)
    assert state.last_update == NOW
    state = fold(state, numbered(b'{"tamiyo": []}', start=2), LATER)
    assert state.last_update == NOW
    state = fold(state, [], LATER + 1)
    assert state.last_update == NOW
    state = fold(state, numbered(b'{"event_type": "EPOCH_COMPLETED"}', start=3), LATER + 2)
    assert state.last_update == NOW
    state = fold(state, numbered(b'{"tamiyo": []}', flat(B), start=4), LATER + 3)
    assert state.last_update == LATER + 3
    assert (state.records, state.bad_lines) == (2, 2)


def test_counters_accumulate_across_calls() -> None:
    state = FoldState()
    for i in range(1, 6):
        state = fold(state, numbered(flat(A), b'{"tamiyo": 1}', start=2 * i - 1), NOW + i)
    assert state.records == 5
    assert state.bad_lines == 5
    assert state.last_error is not None and state.last_error.startswith("line 10: ")
    assert state.last_update == NOW + 5


def test_input_state_is_not_modified() -> None:
    state = fold(FoldState(), numbered(flat(A)), NOW)
    copy = dataclasses.replace(state)
    fold(state, numbered(flat(B), b"[]", started(), start=2), LATER)
    assert state == copy


# --- the whole pipeline: scanner then fold ----------------------------------------------------


def test_garbage_without_names_is_not_a_bad_line() -> None:
    data = b"garbage without names\n{not json\n\xff\xfe\n[1, 2]\n" + flat(A) + b"\n"
    state = fold_bytes(data)
    assert state.bad_lines == 0
    assert state.last_error is None
    assert state.records == 1
    assert state.values == tup(A)


def test_garbage_with_a_name_is_a_bad_line_with_its_physical_number() -> None:
    data = b"\n".join([flat(A), b"", b"noise", b'garbage "bellman_error" here', flat(B)])
    state = fold_bytes(data)
    assert state.bad_lines == 1
    assert state.last_error is not None
    assert state.last_error.startswith("line 4: invalid JSON")
    assert state.values == tup(B)
    assert state.records == 2


def test_blank_lines_bom_and_crlf_are_fine() -> None:
    data = b"\xef\xbb\xbf" + flat(A) + b"\r\n\r\n\n   \r\n" + ppo(B) + b"\r\n"
    state = fold_bytes(data)
    assert (state.records, state.bad_lines) == (2, 0)
    assert state.values == tup(B)


def test_too_long_line_from_the_scanner_is_a_bad_line() -> None:
    long_line = flat({**A, "pad": "x" * 500})
    data = flat(B) + b"\n" + long_line + b"\n"
    state = fold(FoldState(), iter_lines(iter([data]), max_line=300), NOW)
    assert state.values == tup(B)
    assert state.bad_lines == 1
    assert state.last_error == f"line 2: line too long ({len(long_line)} bytes)"


# --- to_snapshot ------------------------------------------------------------------------------


def test_no_snapshot_before_data() -> None:
    assert to_snapshot(FoldState()) is None
    assert to_snapshot(fold(FoldState(), numbered(b"[]", b'{"tamiyo": 1}'), NOW)) is None


def test_snapshot_from_values_and_compile() -> None:
    lines = numbered(started(compile_enabled=True, compile_backend="inductor", compile_mode="m"))
    state = fold(FoldState(), [*lines, *numbered(ppo(A), start=2)], NOW)
    snapshot = to_snapshot(state)
    assert isinstance(snapshot, SanctumSnapshot)
    vf = snapshot.tamiyo.value_function
    for name in VALUE_FIELDS:
        assert getattr(vf, name) == A[name], name
    infra = snapshot.tamiyo.infrastructure
    assert (infra.compile_enabled, infra.compile_backend, infra.compile_mode) == (
        True,
        "inductor",
        "m",
    )


def test_snapshot_keeps_spec_defaults_for_unreported_compile() -> None:
    snapshot = to_snapshot(fold(FoldState(), numbered(flat(A)), NOW))
    assert snapshot is not None
    assert snapshot.tamiyo.infrastructure == InfrastructureMetrics()
    infra = snapshot.tamiyo.infrastructure
    assert (infra.compile_enabled, infra.compile_backend, infra.compile_mode) == (False, "", "")


def test_snapshot_keeps_spec_defaults_for_unreported_values() -> None:
    state = fold(FoldState(), numbered(flat({"compile_enabled": True})), NOW)
    snapshot = to_snapshot(state)
    assert snapshot is not None
    vf = snapshot.tamiyo.value_function
    assert all(getattr(vf, name) == 0.0 for name in VALUE_FIELDS)
    assert len(vf.value_predictions) == len(vf.actual_returns) == len(vf.td_errors) == 0
    assert vf.td_errors.maxlen == 100
    assert snapshot.tamiyo.infrastructure.compile_enabled is True


def test_snapshot_after_training_started_alone_is_all_defaults() -> None:
    snapshot = to_snapshot(fold(FoldState(), numbered(started()), NOW))
    assert snapshot is not None
    assert snapshot.tamiyo.value_function == ValueFunctionMetrics()
    assert snapshot.tamiyo.infrastructure == InfrastructureMetrics()


def test_snapshot_after_a_new_run_shows_default_values_but_old_compile() -> None:
    lines = numbered(started(compile_enabled=True, compile_backend="x"), ppo(A), started())
    snapshot = to_snapshot(fold(FoldState(), lines, NOW))
    assert snapshot is not None
    assert snapshot.tamiyo.value_function == ValueFunctionMetrics()
    assert snapshot.tamiyo.infrastructure.compile_backend == "x"


def test_snapshots_do_not_share_mutable_parts() -> None:
    state = fold(FoldState(), numbered(flat(A)), NOW)
    first, second = to_snapshot(state), to_snapshot(state)
    assert first is not None and second is not None
    first.tamiyo.value_function.bellman_error = 123.0
    first.tamiyo.value_function.td_errors.append(1.0)
    assert second.tamiyo.value_function.bellman_error == A["bellman_error"]
    assert len(second.tamiyo.value_function.td_errors) == 0


# --- real files ---------------------------------------------------------------------------------


def chunks_of(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def reference_fold(path: Path) -> tuple[tuple[float, ...] | None, Compile | None, int]:
    """What the file says, read with the stdlib line by line: (values, compile, records)."""
    values: tuple[float, ...] | None = None
    compile_: Compile | None = None
    records = 0

    def compile_of(src: dict[str, Any]) -> Compile:
        return Compile(
            bool(src.get("compile_enabled")),
            src.get("compile_backend") or "",
            src.get("compile_mode") or "",
        )

    def values_of(src: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float(src.get(name) or 0.0) for name in VALUE_FIELDS)

    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        obj = json.loads(text)
        kind = obj.get("event_type")
        if kind == "TRAINING_STARTED":
            records += 1
            values = None
            if any(k in obj["data"] for k in COMPILE_FIELDS):
                compile_ = compile_of(obj["data"])
        elif kind == "PPO_UPDATE_COMPLETED":
            records += 1
            values = values_of(obj["data"])
        elif kind is None and "tamiyo" in obj:
            records += 1
            if "value_function" in obj["tamiyo"]:
                values = values_of(obj["tamiyo"]["value_function"])
            if "infrastructure" in obj["tamiyo"]:
                compile_ = compile_of(obj["tamiyo"]["infrastructure"])
        elif kind is None:
            records += 1
            if any(name in obj for name in VALUE_FIELDS):
                values = values_of(obj)
            if any(k in obj for k in COMPILE_FIELDS):
                compile_ = compile_of(obj)
    return values, compile_, records


@pytest.mark.parametrize("chunk_size", [1 << 16, 4096, 777])
def test_real_esper_sample_gives_the_last_ppo_update(chunk_size: int) -> None:
    state = fold(FoldState(), iter_lines(chunks_of(REAL_SAMPLE, chunk_size)), NOW)
    assert state.bad_lines == 0
    assert state.last_error is None
    assert state.last_update == NOW
    assert state.compile == Compile(True, "inductor", "reduce-overhead")
    assert state.values is not None
    got = dict(zip(VALUE_FIELDS, state.values, strict=True))
    assert is_nan(got["v_return_correlation"])
    assert is_nan(got["bellman_error"])
    assert got["td_error_std"] == math.inf
    assert got["td_error_mean"] == 21.0
    assert (got["return_p10"], got["return_p50"], got["return_p90"]) == (-2.0, 39.0, 68.0)
    values, compile_, records = reference_fold(REAL_SAMPLE)
    assert nan_safe(state.values) == nan_safe(values)
    assert state.compile == compile_
    assert state.records == records == 61


def test_real_esper_sample_folded_line_by_line_in_many_batches() -> None:
    state = FoldState()
    for i, line in enumerate(iter_lines(chunks_of(REAL_SAMPLE, 1000))):
        state = fold(state, [line], NOW + i)
    whole = fold(FoldState(), iter_lines(chunks_of(REAL_SAMPLE, 1 << 20)), NOW)
    assert comparable(state) == comparable(whole)


def test_real_esper_sample_snapshot() -> None:
    snapshot = to_snapshot(fold(FoldState(), iter_lines(chunks_of(REAL_SAMPLE, 8192)), NOW))
    assert snapshot is not None
    vf = snapshot.tamiyo.value_function
    assert math.isnan(vf.v_return_correlation)
    assert vf.td_error_std == math.inf
    infra = snapshot.tamiyo.infrastructure
    assert infra.compile_enabled is True
    assert f"{infra.compile_backend}:{infra.compile_mode}" == "inductor:reduce-overhead"


@pytest.mark.parametrize("path", SAMPLE_LOGS, ids=[p.name for p in SAMPLE_LOGS])
def test_bundled_sample_logs_fold_to_what_the_file_says(path: Path) -> None:
    state = fold(FoldState(), iter_lines(chunks_of(path, 5000)), NOW)
    values, compile_, records = reference_fold(path)
    assert state.bad_lines == 0, state.last_error
    assert state.records == records
    assert values is not None
    assert nan_safe(state.values) == nan_safe(values)
    assert state.compile == compile_


@pytest.mark.parametrize(
    ("name", "compile_"),
    [
        ("healthy.jsonl", Compile(True, "inductor", "reduce-overhead")),
        ("collapse.jsonl", Compile(True, "inductor", "max-autotune")),
        ("bimodal.jsonl", Compile(True, "inductor", "reduce-overhead")),
        ("eager.jsonl", Compile(False, "", "")),
        ("flat.jsonl", Compile(True, "inductor", "default")),
        ("snapshot.jsonl", Compile(True, "inductor", "reduce-overhead")),
    ],
)
def test_bundled_sample_logs_compile_status(name: str, compile_: Compile) -> None:
    state = fold(FoldState(), iter_lines(chunks_of(SAMPLES / name, 3000)), NOW)
    assert state.compile == compile_
    assert state.values is not None


def test_bundled_collapse_sample_ends_with_non_finite_values() -> None:
    state = fold(FoldState(), iter_lines(chunks_of(SAMPLES / "collapse.jsonl", 4096)), NOW)
    assert state.values is not None
    got = dict(zip(VALUE_FIELDS, state.values, strict=True))
    assert is_nan(got["v_return_correlation"])
    assert is_nan(got["bellman_error"])
    assert got["td_error_std"] == math.inf


# --- fit, updates, recent, run headers, esper's Bellman --------------------------------------


def header(writer: str | None = "TelemetryWriter", rules: str | None = "scale-free") -> bytes:
    return dumps({"value_diag_run": {"writer": writer, "version": "0", "rules": rules}})


def esper_ev_only(ev: float, step: int) -> bytes:
    data = {"explained_variance": ev, "value_mean": 1.0, "return_mean": 2.0}
    return dumps({"event_type": "PPO_UPDATE_COMPLETED", "epoch": step, "data": data})


def test_fit_is_the_newest_value_lines_never_an_older_updates() -> None:
    state = fold(FoldState(), numbered(flat({**A, "return_mean": 4.0})), NOW)
    assert state.fit == (4.0, None, None, None, None)
    state = fold(state, numbered(flat(B)), NOW)
    assert state.fit is None
    state = fold(state, numbered(dumps({"return_mean": 5.0})), NOW)
    assert state.fit == (5.0, None, None, None, None)
    assert state.values == tup(B)


def test_how_far_the_critic_moved_is_remembered_for_the_run_however_it_is_folded() -> None:
    """critic_moved: the furthest a line of the current run said the critic's weights moved.
    Folded line by line, in parts or at once, the same; a new run forgets it, a NaN is not a
    move."""
    moves = (0.0, 0.3, 0.0, math.nan, 7.0, 0.1)
    moved = [flat({**A, "critic_change": c}) for c in moves]
    lines = [header(), *moved, header(), *[flat({**A, "critic_change": 0.0})] * 2]
    wanted = [0.0, 0.0, 0.3, 0.3, 0.3, 7.0, 7.0, 0.0, 0.0, 0.0]
    one_by_one = FoldState()
    for i, line in enumerate(lines):
        one_by_one = fold(one_by_one, numbered(line, start=i + 1), NOW)
        assert one_by_one.critic_moved == wanted[i], i
    for cut in range(len(lines) + 1):
        parts = fold(fold(FoldState(), numbered(*lines[:cut]), NOW), numbered(*lines[cut:]), NOW)
        assert parts == one_by_one, cut
    first_run = fold(FoldState(), numbered(*lines[: len(moved) + 1]), NOW)
    for cut in range(len(moved) + 2):
        head = fold(FoldState(), numbered(*lines[:cut]), NOW)
        assert fold(head, numbered(*lines[cut : len(moved) + 1]), NOW) == first_run, cut
    assert first_run.critic_moved == 7.0
    nan_only = fold(FoldState(), numbered(flat({**A, "critic_change": math.nan})), NOW)
    assert nan_only.critic_moved == 0.0


def test_updates_count_value_records_of_the_current_run() -> None:
    lines = [flat(A), snap(infra={}), ppo(B), dumps({"explained_variance": 0.5}), flat(A)]
    state = fold(FoldState(), numbered(*lines), NOW)
    assert state.updates == 3
    assert fold(state, numbered(started()), NOW).updates == 0
    assert fold(state, numbered(header()), NOW).updates == 0
    assert fold(state, numbered(header(), flat(B)), NOW).updates == 1


def test_recent_keeps_the_newest_updates_of_the_run_oldest_first() -> None:
    lines = [
        flat({**A, "explained_variance": 0.5, "return_mean": 1.0}),
        ppo(B),
        esper_ev_only(0.25, 9),
        flat(A),
    ]
    state = fold(FoldState(recent_len=3), numbered(*lines), NOW)
    assert state.recent == (
        Update(tup(B), None, None, None, True),
        Update(tup(B), (0.25, 1.0, None, None, None), (2.0, None, None, None, None), 9, True),
        Update(tup(A), None, None, 7, False),
    )
    assert state.updates == 4
    assert fold(FoldState(), numbered(*lines), NOW).recent == ()
    restarted = fold(state, numbered(header(), flat(B)), NOW)
    assert restarted.recent == (Update(tup(B), None, None, 7, False),)


def test_an_esper_update_without_the_nine_counts_and_sets_the_critic() -> None:
    state = fold(
        FoldState(recent_len=5), numbered(esper_ev_only(0.5, 1), esper_ev_only(-0.2, 2)), NOW
    )
    assert state.values is None
    assert state.updates == 2
    assert state.critic == (-0.2, 1.0, None, None, None)
    assert state.fit == (2.0, None, None, None, None)
    assert state.step == 2
    assert state.has_data


def test_a_run_header_starts_a_new_run_and_names_it() -> None:
    first = [started(compile_enabled=True), flat({**A, "return_mean": 1.0, "value_mean": 2.0})]
    state = fold(FoldState(history_len=5, recent_len=5), numbered(*first), NOW)
    state = fold(state, numbered(header("stable-baselines3")), NOW)
    assert (state.values, state.critic, state.fit, state.step) == (None, None, None, None)
    assert (state.history, state.recent, state.updates) == ((), (), 0)
    assert (state.writer, state.rules) == ("stable-baselines3", "scale-free")
    assert state.compile == Compile(True, "", "")  # what the process runs on stays
    assert state.records == 3
    state = fold(state, numbered(flat(B)), NOW)
    assert (state.writer, state.rules, state.updates) == ("stable-baselines3", "scale-free", 1)


def test_a_training_started_forgets_the_writer() -> None:
    state = fold(FoldState(), numbered(header(), flat(A), started()), NOW)
    assert (state.writer, state.rules) == (None, None)


def test_a_script_run_twice_on_one_file_shows_only_the_second_run() -> None:
    run = [header(), flat(A), flat(B), flat(A)]
    state = fold(FoldState(history_len=10, recent_len=10), numbered(*run, *run[:2]), NOW)
    assert state.updates == 1
    assert state.history == (tup(A),)
    assert [u.values for u in state.recent] == [tup(A)]
    assert state.writer == "TelemetryWriter"


def test_mean_abs_td_goes_with_the_values() -> None:
    state = fold(FoldState(), numbered(ppo(A)), NOW)
    assert state.mean_abs_td
    assert not fold(state, numbered(flat(B)), NOW).mean_abs_td
    assert fold(state, numbered(esper_ev_only(0.1, 3)), NOW).mean_abs_td  # the values stay
    assert fold(state, numbered(compile_line()), NOW).mean_abs_td
    assert not fold(state, numbered(started()), NOW).mean_abs_td


def compile_line() -> bytes:
    return flat({"compile_enabled": True})


# --- property: batching does not matter -------------------------------------------------------

numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | st.none()
fields = st.dictionaries(st.sampled_from(VALUE_FIELDS), numbers, min_size=1, max_size=4)
compile_fields = st.fixed_dictionaries(
    {},
    optional={
        "compile_enabled": st.booleans() | st.none(),
        "compile_backend": st.sampled_from(["inductor", "eager", None]),
        "compile_mode": st.sampled_from(["default", "reduce-overhead", None]),
    },
)

a_line: st.SearchStrategy[bytes | BadLine] = st.one_of(
    fields.map(flat),
    fields.map(ppo),
    fields.map(lambda f: snap(vf=f)),
    compile_fields.map(lambda c: snap(infra=c)),
    compile_fields.map(lambda c: started(**c)),
    compile_fields.map(flat),
    st.builds(
        lambda f, ev, ret: ppo({**f, "explained_variance": ev, "return_mean": ret}),
        fields,
        numbers,
        numbers,
    ),
    st.builds(lambda ev: esper_ev_only(ev, 4), st.floats(allow_nan=False)),
    st.builds(header, st.sampled_from(["TelemetryWriter", "stable-baselines3", None])),
    st.sampled_from(
        [
            b'garbage "bellman_error"',
            b'{"value_diag_run": {"writer": 1}}',
            b'{"tamiyo": 1}',
            b'{"bellman_error": "x"}',
            b'{"event_type": "EPOCH_COMPLETED", "data": {}}',
            b'{"note": "tamiyo"}',
            b"[]",
        ]
    ),
    st.integers(1, 10**6).map(lambda n: BadLine(f"line too long ({n} bytes)")),
)


@settings(deadline=None)
@given(lines=st.lists(a_line, max_size=30), cuts=st.lists(st.integers(0, 30), max_size=10))
def test_folding_in_batches_equals_folding_at_once(
    lines: list[bytes | BadLine], cuts: list[int]
) -> None:
    all_lines = numbered(*lines)
    whole = fold(FoldState(history_len=3, recent_len=4), all_lines, NOW)
    points = sorted({c for c in cuts if 0 < c < len(all_lines)})
    bounds = [0, *points, len(all_lines)]
    batched = FoldState(history_len=3, recent_len=4)
    for a, b in itertools.pairwise(bounds):
        batched = fold(batched, all_lines[a:b], NOW)
    assert comparable(batched) == comparable(whole)
    assert batched.last_update == (NOW if batched.records else None)
    assert whole.records + whole.bad_lines <= len(lines)


@settings(deadline=None)
@given(lines=st.lists(a_line, max_size=30))
def test_fold_counts_every_line_at_most_once(lines: list[bytes | BadLine]) -> None:
    state = fold(FoldState(), numbered(*lines), NOW)
    expected_records = sum(1 for line in lines if isinstance(line, bytes) and _is_record(line))
    expected_bad = sum(
        1 for line in lines if isinstance(line, BadLine) or isinstance(parse(line), BadLine)
    )
    assert state.records == expected_records
    assert state.bad_lines == expected_bad


def _is_record(line: bytes) -> bool:
    parsed = parse(line)
    return parsed is not None and not isinstance(parsed, BadLine)


# --- runs per group: a line of no group is taken once, whatever the number of groups ---------


def event(kind: str, group: str | None, **data: Any) -> bytes:
    """An esper-lite event of a group (None: of no group)."""
    return dumps({"event_type": kind, "group_id": group, "data": data})


def grouped_lines(groups: list[str | None]) -> st.SearchStrategy[bytes]:
    values = st.fixed_dictionaries({}, optional={k: st.floats(-9, 9) for k in VALUE_FIELDS})
    group = st.sampled_from(groups)
    return st.one_of(
        st.builds(lambda v, g: event("PPO_UPDATE_COMPLETED", g, **(v or A)), values, group),
        st.builds(lambda v, g: event("PPO_UPDATE_COMPLETED", g, step=7, **v), values, group),
        st.builds(lambda g: event("TRAINING_STARTED", g, compile_enabled=True), group),
        st.builds(lambda g: event("PPO_UPDATE_COMPLETED", g, bellman_error="x"), group),
        st.sampled_from([b'{"bellman_error": oops}', b"plain text"]),
    )


def group_reference(lines: list[bytes], group: str, history: int, recent: int) -> FoldState:
    """A group's run by definition: its own lines and every line of no group, folded."""
    mine = [(n, line) for n, line in enumerate(lines, 1) if _group_of(line) in (None, group)]
    return fold(FoldState(history_len=history, recent_len=recent), mine, NOW)


def _group_of(line: bytes) -> str | None:
    parsed = parse(line)
    return None if parsed is None else parsed.group


@settings(deadline=None, max_examples=examples(60))
@given(
    lines=st.lists(grouped_lines([None, None, "A", "B", "C", "D", "E"]), max_size=80),
    kept=st.sampled_from([1, 2, 3, 4096]),
    eager=st.sampled_from([0, 1, 2, 8]),
    history=st.sampled_from([0, 2]),
    recent=st.sampled_from([0, 3]),
)
def test_each_group_takes_the_lines_of_no_group_it_missed_in_summaries(
    lines: list[bytes], kept: int, eager: int, history: int, recent: int
) -> None:
    """However the lines of no group are cut, joined and let go (CHUNKS_KEPT), after
    however many groups they stop being taken at once (EAGER_GROUPS), each group is what
    folding its own lines and the lines of no group gives."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fold_module, "CHUNKS_KEPT", kept)
        patch.setattr(fold_module, "EAGER_GROUPS", eager)
        got = fold_file(FileState.empty(history, recent), numbered(*lines), NOW)
    for group, state in got.groups:
        assert repr(state) == repr(group_reference(lines, group, history, recent)), group


def test_a_line_of_no_group_is_not_applied_once_per_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 groups, then 3,000 lines of no group between lines of the groups: the lines and
    summaries applied grow with lines plus groups (before: every line for every group)."""
    applied = 0
    take, absorb = fold_module._Effect.take, fold_module._Effect.absorb

    def counting_take(self: Any, number: int, parsed: Any) -> None:
        nonlocal applied
        applied += 1
        take(self, number, parsed)

    def counting_absorb(self: Any, seg: Any, kept: bool = True) -> None:
        nonlocal applied
        applied += 1
        absorb(self, seg, kept)

    monkeypatch.setattr(fold_module._Effect, "take", counting_take)
    monkeypatch.setattr(fold_module._Effect, "absorb", counting_absorb)
    groups = [f"g{i}" for i in range(300)]
    lines = [event("TRAINING_STARTED", g) for g in groups]
    for i in range(3_000):
        lines.append(event("PPO_UPDATE_COMPLETED", None, **A))
        if i % 10 == 0:
            lines.append(event("PPO_UPDATE_COMPLETED", groups[i % 300], **B))
    got = fold_file(FileState.empty(2, 3), numbered(*lines), NOW)
    assert len(got.groups) == 300
    assert applied <= 20 * len(lines), applied
    for group in ("g0", "g150", "g299"):
        state = dict(got.groups)[group]
        assert repr(state) == repr(group_reference(lines, group, 2, 3))
