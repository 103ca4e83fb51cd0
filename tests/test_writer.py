"""writer.py: the line format, non-finite tokens, whole-line appends, and the round trip."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DEADLINE, invoke
from reading import fold_path
from telemetry import json_value

import value_diag
from value_diag.producer.metrics import CRITIC_FIELDS, FIT_FIELDS, compute_value_metrics
from value_diag.producer.writer import RESERVED, TelemetryWriter, encode, flat_record
from value_diag.schema import RUN_HEADER, VALUE_FIELDS, ValueFunctionMetrics

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def metrics(**overrides: float) -> ValueFunctionMetrics:
    fields: dict[str, Any] = {name: float(i) + 0.25 for i, name in enumerate(VALUE_FIELDS)}
    return dataclasses.replace(ValueFunctionMetrics(), **{**fields, **overrides})


def all_lines_of(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "every line is complete"
    return data.decode("ascii").splitlines()


def is_header(line: str) -> bool:
    return list(json.loads(line)) == [RUN_HEADER]


def lines_of(path: Path) -> list[str]:
    """The lines after the run header the writer writes first."""
    header, *lines = all_lines_of(path)
    assert is_header(header), header
    return lines


# --- the line format -------------------------------------------------------------------------


def test_log_writes_one_flat_line_with_step_metrics_and_extras(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(metrics(), step=7, lr=3e-4, phase="train")
        out.log(metrics())
    first, second = (json.loads(line) for line in lines_of(path))
    assert list(first) == ["step", *VALUE_FIELDS, "lr", "phase"]
    assert first["step"] == 7
    assert first["lr"] == 3e-4 and first["phase"] == "train"
    assert {k: first[k] for k in VALUE_FIELDS} == {
        name: float(i) + 0.25 for i, name in enumerate(VALUE_FIELDS)
    }
    assert list(second) == list(VALUE_FIELDS), "no step when none is given"


def test_log_writes_the_critics_five_that_compute_value_metrics_returns(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    g = rng.normal(5.0, 3.0, size=300)
    v = g + rng.normal(0.0, 1.0, size=300)
    d = rng.normal(0.0, 1.0, size=300)
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(compute_value_metrics(v, g, d), step=3, lr=1e-3)
    (line,) = (json.loads(text) for text in lines_of(path))
    assert list(line) == ["step", *VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS, "samples", "lr"]
    assert line["samples"] == 300
    with TelemetryWriter(path, truncate=True) as out:  # an integration's count of its rollouts
        out.log(compute_value_metrics(v, g, d), step=4, samples=1200)
    (line,) = (json.loads(text) for text in lines_of(path))
    assert line["samples"] == 1200
    assert line["return_mean"] == pytest.approx(np.mean(g), rel=1e-12)
    assert line["explained_variance"] == pytest.approx(1 - np.var(g - v) / np.var(g), rel=1e-12)
    assert line["value_mean"] == pytest.approx(np.mean(v), rel=1e-12)
    assert line["value_std"] == pytest.approx(np.std(v), rel=1e-12)
    assert (line["value_min"], line["value_max"]) == (np.min(v), np.max(v))


def test_set_compile_writes_the_three_compile_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.set_compile(True, "inductor", "max-autotune")
        out.set_compile(False)
    assert [json.loads(line) for line in lines_of(path)] == [
        {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "max-autotune"},
        {"compile_enabled": False, "compile_backend": None, "compile_mode": None},
    ]


def test_non_finite_values_are_bare_tokens_not_null(tmp_path: Path) -> None:
    """NaN must reach the panel as NaN: null would read as 0.0, a healthy-looking number."""
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(metrics(v_return_correlation=math.nan, td_error_std=math.inf, return_p10=-math.inf))
    (raw,) = lines_of(path)
    assert '"v_return_correlation": NaN,' in raw
    assert '"td_error_std": Infinity,' in raw
    assert '"return_p10": -Infinity,' in raw
    assert "null" not in raw
    obj = json.loads(raw)
    assert math.isnan(obj["v_return_correlation"])
    assert obj["td_error_std"] == math.inf and obj["return_p10"] == -math.inf


def test_extras_of_array_types_and_unknown_objects_are_written(tmp_path: Path) -> None:
    line = encode({"a": np.float32(0.5), "b": np.arange(3), "c": Path("x/y"), "d": "é\n"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1, "one line, whatever the strings"
    assert line.isascii()
    assert json.loads(line) == {"a": 0.5, "b": [0, 1, 2], "c": "x/y", "d": "é\n"}


@pytest.mark.parametrize(
    "key",
    [
        "td_error_mean",
        "bellman_error",
        "explained_variance",
        "value_max",
        "return_mean",
        "compile_mode",
        "value_diag_run",  # would make the line a run header: a new run
    ],
)
def test_extras_may_not_reuse_the_names_value_diag_reads(tmp_path: Path, key: str) -> None:
    with TelemetryWriter(tmp_path / "run.jsonl") as out, pytest.raises(ValueError, match=key):
        extra: dict[str, Any] = {key: 1.0}
        out.log(metrics(), **extra)
    assert lines_of(tmp_path / "run.jsonl") == [], "nothing written after the header"
    assert key in RESERVED


# --- the run header ----------------------------------------------------------------------------


def test_the_first_line_is_a_run_header(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path, clock=lambda: 1_765_000_000.25) as out:
        out.log(metrics(), step=1)
    header, line = (json.loads(text) for text in all_lines_of(path))
    started = header[RUN_HEADER].pop("started")
    assert header == {
        RUN_HEADER: {
            "writer": "TelemetryWriter",
            "version": value_diag.__version__,
            "rules": "scale-free",
        }
    }
    assert started == 1_765_000_000.25, "when the writer's clock says the run started"
    assert line["step"] == 1


def test_the_header_names_the_writer_given_and_can_be_left_out(tmp_path: Path) -> None:
    named, bare = tmp_path / "named.jsonl", tmp_path / "bare.jsonl"
    TelemetryWriter(named, writer="my-trainer").close()
    with TelemetryWriter(bare, header=False) as out:
        out.log(metrics(), step=1)
    (header,) = (json.loads(text) for text in all_lines_of(named))
    assert header[RUN_HEADER]["writer"] == "my-trainer"
    assert [json.loads(text)["step"] for text in all_lines_of(bare)] == [1]


def test_a_script_run_twice_on_one_file_folds_to_its_second_run(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    for run in range(2):
        with TelemetryWriter(path) as out:
            for step in range(3 - run):
                out.log(metrics(v_return_correlation=run + step / 10), step=step)
    state = fold_path(str(path), 0.0, history=10, recent=10)
    assert (state.writer, state.rules) == ("TelemetryWriter", "scale-free")
    assert state.updates == 2
    assert [h[0] for h in state.history] == [1.0, 1.1]
    assert [u.step for u in state.recent] == [0, 1]
    assert state.records == 3 + 1 + 2 + 1, "every line counts, the headers too"


def test_flat_record_writes_the_fit_fields_that_metrics_have() -> None:
    m = compute_value_metrics([1.0, 2.0], [3.0, 5.0], [0.0, 1.0])
    assert flat_record(m)["return_mean"] == 4.0
    assert "return_mean" not in flat_record(metrics())


# --- appending whole lines ---------------------------------------------------------------------


def test_each_line_is_one_write_of_the_whole_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr("value_diag.producer.writer.os.write", spy)
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.set_compile(True, "inductor", "default")
        for step in range(5):
            out.log(metrics(), step=step, note="x" * 10_000)
    assert len(writes) == 7, "the header, then each line: one write each"
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)
    assert b"".join(writes) == path.read_bytes()


def test_a_short_write_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a full disk writes short; then the rest of the line follows, nothing is lost."""
    real_write = os.write
    calls = []

    def short(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, data[:10])

    monkeypatch.setattr("value_diag.producer.writer.os.write", short)
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(metrics())
    assert len(calls) > 1
    (line,) = lines_of(path)
    assert json.loads(line) == {k: getattr(metrics(), k) for k in VALUE_FIELDS}


def test_the_file_is_appended_to_not_overwritten(tmp_path: Path) -> None:
    """O_APPEND: two writers on one file each add their lines at the end."""
    path = tmp_path / "run.jsonl"
    path.write_text('{"earlier": 1}\n')
    with TelemetryWriter(path) as a, TelemetryWriter(path) as b:
        a.log(metrics(), step=1)
        b.log(metrics(), step=2)
        a.log(metrics(), step=3)
    lines = all_lines_of(path)
    assert [is_header(line) for line in lines] == [False, True, True, False, False, False]
    assert [json.loads(line).get("step") for line in lines[3:]] == [1, 2, 3]


def test_truncate_starts_the_file_afresh(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"earlier": 1}\n')
    with TelemetryWriter(path, truncate=True) as out:
        out.log(metrics(), step=1)
    assert [json.loads(line)["step"] for line in lines_of(path)] == [1]


def test_writers_in_threads_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    per_thread, threads = 200, 4

    def produce(tid: int) -> None:
        with TelemetryWriter(path) as out:
            for i in range(per_thread):
                out.log(metrics(), step=i, thread=tid, pad="p" * (tid * 3000))

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seen: dict[int, list[int]] = {t: [] for t in range(threads)}
    headers = 0
    for line in all_lines_of(path):
        # A writer that opens as another's line lands waits for the file's lock, so it never
        # takes that line for a fragment and starts with a newline: no blank line
        obj = json.loads(line)  # a mixed line, or a blank one, would not parse
        if RUN_HEADER in obj:
            headers += 1
            continue
        seen[obj["thread"]].append(obj["step"])
    assert headers == threads
    assert seen == {t: list(range(per_thread)) for t in range(threads)}


def test_a_writer_that_opens_while_another_holds_the_lock_waits_for_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer (another process, as far as flock goes: another open of the file) is
    half-way through a line when this one opens: it is refused the lock, waits, then finds
    the line whole, and neither cuts it nor puts a newline before its own first line."""
    monkeypatch.setattr("value_diag.producer.writer.LOCK_WAIT_S", 10 * DEADLINE)
    refused = threading.Event()
    flock = fcntl.flock

    def spied(fd: int, operation: int) -> None:
        try:
            flock(fd, operation)
        except BlockingIOError:
            refused.set()
            raise

    monkeypatch.setattr(fcntl, "flock", spied)
    path = tmp_path / "run.jsonl"
    other = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        flock(other, fcntl.LOCK_EX)
        os.write(other, b'{"step": 1, "landing": ')
        opened = threading.Thread(target=lambda: TelemetryWriter(path).close())
        opened.start()
        while not refused.wait(0.01):  # until the writer asks for the lock and is refused
            assert opened.is_alive(), "the writer finished without waiting for the lock"
        os.write(other, b"true}\n")  # the line lands whole while the writer waits
        flock(other, fcntl.LOCK_UN)
        opened.join()
    finally:
        os.close(other)
    lines = all_lines_of(path)
    assert json.loads(lines[0]) == {"step": 1, "landing": True}
    assert len(lines) == 2 and is_header(lines[1])


def test_a_lock_held_too_long_does_not_stall_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock nobody lets go (a stalled lock server, a hung process) is waited for up to
    LOCK_WAIT_S; then the writer writes without it, its lines whole."""
    monkeypatch.setattr("value_diag.producer.writer.LOCK_WAIT_S", 0.05)
    path = tmp_path / "run.jsonl"
    other = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with TelemetryWriter(path) as out:
            out.log(metrics(), step=7)
    finally:
        os.close(other)
    header, line = all_lines_of(path)
    assert is_header(header) and json.loads(line)["step"] == 7


def test_context_manager_closes_and_a_closed_writer_refuses(tmp_path: Path) -> None:
    with TelemetryWriter(tmp_path / "run.jsonl") as out:
        assert not out.closed
    assert out.closed
    with pytest.raises(ValueError, match="closed"):
        out.log(metrics())
    out.close()  # twice is fine


def test_the_file_is_closed_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), TelemetryWriter(tmp_path / "run.jsonl") as out:
        raise RuntimeError("training crashed")
    assert out.closed


def test_an_unwritable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TelemetryWriter(tmp_path / "missing-dir" / "run.jsonl")


# --- round trip through the real console script -------------------------------------------------


ROUND_TRIP_CASES = {
    "typical": metrics(),
    "non-finite": metrics(
        v_return_correlation=math.nan,
        td_error_std=math.inf,
        return_p10=-math.inf,
        bellman_error=math.nan,
    ),
    "awkward-floats": metrics(
        v_return_correlation=0.1 + 0.2,
        td_error_mean=-1e-310,
        bellman_error=1.7976931348623157e308,
        return_p50=-0.0,
        return_variance=5e-324,
        return_skewness=123456789.123456789,
    ),
}


@pytest.mark.parametrize("case", ROUND_TRIP_CASES)
def test_once_reads_back_exactly_what_the_writer_wrote(tmp_path: Path, case: str) -> None:
    written = ROUND_TRIP_CASES[case]
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.set_compile(True, "inductor", "reduce-overhead")
        out.log(metrics(v_return_correlation=0.5), step=0)
        out.log(compute_value_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0], [0.1, 0.2, 0.3]), step=1)
        out.log(written, step=2, lr=1e-4)
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    frame = json.loads(proc.stdout)
    assert frame["records"] == 5, "the run header and four lines"
    assert frame["bad_lines"] == 0, frame["last_error"]
    read = {name: frame["value_function"][name]["value"] for name in VALUE_FIELDS}
    assert read == {name: json_value(getattr(written, name)) for name in VALUE_FIELDS}
    assert frame["infrastructure"] == {
        "compile_enabled": True,
        "compile_backend": "inductor",
        "compile_mode": "reduce-overhead",
        "level": "ok",
    }
