"""The writer only writes what the reader reads: no key that changes how a line is read, no
line over the reader's limit, no fragment that a later line is glued to (a full disk, a size
limit, a crash). Each case is written through TelemetryWriter's public API and read back by
the real console script; a NaN update written last must make `--fail-on critical` exit 1."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, invoke
from rollouts import healthy, nan_update

from value_diag.ingest.parse import KNOWN_NAMES, STEP_KEYS
from value_diag.producer.metrics import compute_value_metrics
from value_diag.producer.writer import TelemetryWriter, log_lines
from value_diag.schema import MAX_LINE, VALUE_FIELDS


def read(path: Path) -> dict[str, Any]:
    proc = invoke(["once", str(path), "--format", "json"])
    frame: dict[str, Any] = json.loads(proc.stdout)
    return frame


def gate(path: Path) -> int:
    """`once --fail-on critical`'s exit code."""
    return invoke(["once", str(path), "--fail-on", "critical"]).returncode


def test_a_healthy_run_passes_the_gate(tmp_path: Path) -> None:
    """The baseline the NaN cases below are told from: without the NaN update, exit 0."""
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(healthy(), step=1)
    assert gate(path) == 0


# --- keys that change how a line is read ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("event_type", "rollout"), ("event_type", "PPO_UPDATE_COMPLETED"), ("tamiyo", "x")],
)
def test_keys_that_change_how_a_line_is_read_are_refused(
    tmp_path: Path, key: str, value: str
) -> None:
    """event_type makes the line an esper event (a foreign one is skipped), tamiyo a
    snapshot (a string there is a bad line): either would lose the update."""
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(healthy(), step=1)
        with pytest.raises(ValueError, match=key):
            out.log(nan_update(), step=2, **{key: value})
        before = path.read_bytes()
        out.log(nan_update(), step=3)
    assert before.count(b"\n") == 2, "nothing written for the refused update"
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (3, 0)
    assert gate(path) == 1


READER_KEYS = sorted(
    {*KNOWN_NAMES, *STEP_KEYS, "event_type", "data", "group_id", "skipped", "writer", "rules"}
    - {"step"}
)
"""Every name the reader looks for or reads at a line's top level (``step`` is log()'s own
argument)."""


def test_an_extra_of_any_name_the_reader_knows_is_refused_or_read_as_written(
    tmp_path: Path,
) -> None:
    """The rule, over every name the reader knows and values of three shapes: each log()
    either raises ValueError and writes nothing, or writes an update read back as one."""
    path = tmp_path / "run.jsonl"
    accepted = 0
    step = 0
    with TelemetryWriter(path) as out:
        for key in READER_KEYS:
            values: tuple[Any, ...] = ("x", {}, 7)
            for value in values:
                step += 1
                try:
                    out.log(healthy(), step=step, **{key: value})
                except ValueError:
                    continue
                accepted += 1
        out.log(nan_update(), step=step + 1)
    frame = read(path)
    assert frame["bad_lines"] == 0, frame["last_error"]
    assert frame["records"] == 1 + accepted + 1, "the header, each accepted line, the NaN"
    assert frame["step"] == step + 1
    assert 0 < accepted < 3 * len(READER_KEYS)
    assert gate(path) == 1


# --- lines over the reader's limit -------------------------------------------------------------


def test_an_extra_that_pushes_the_line_over_the_limit_goes_to_a_line_of_its_own(
    tmp_path: Path,
) -> None:
    """The issue's case: 256 KiB of extras with a NaN update was one line too long to read."""
    path = tmp_path / "run.jsonl"
    blob = "x" * (MAX_LINE - 100)
    with TelemetryWriter(path) as out:
        out.log(healthy(), step=1)
        out.log(nan_update(), step=2, histogram=blob)
    *_, metrics_line, extras_line = path.read_bytes().splitlines()
    assert json.loads(extras_line) == {"step": 2, "histogram": blob}
    assert list(json.loads(metrics_line))[:2] == ["step", VALUE_FIELDS[0]]
    assert all(len(line) <= MAX_LINE for line in path.read_bytes().splitlines())
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (2, 0)
    assert gate(path) == 1


def test_a_line_of_exactly_the_limit_is_one_line_and_read(tmp_path: Path) -> None:
    bare = len(log_lines(nan_update(), 2, pad="")[0]) - 1
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(nan_update(), step=2, pad="p" * (MAX_LINE - bare))
        one_over = log_lines(nan_update(), 2, pad="p" * (MAX_LINE - bare + 1))
    lines = path.read_bytes().splitlines()
    assert [len(line) for line in lines[1:]] == [MAX_LINE]
    assert len(one_over) == 2, "a byte more and the extras move to a line of their own"
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (2, 0)
    assert gate(path) == 1


def test_extras_too_long_even_alone_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        size = path.stat().st_size
        with pytest.raises(ValueError, match=f"longer than value-diag reads \\({MAX_LINE}"):
            out.log(nan_update(), step=2, blob="x" * MAX_LINE)
        with pytest.raises(ValueError, match="MAX_LINE"):
            out.write({"bellman_error": 1.0, "pad": "x" * MAX_LINE})
        with pytest.raises(ValueError, match="MAX_LINE"):
            out.set_compile(True, "b" * MAX_LINE)
        assert path.stat().st_size == size
        out.log(nan_update(), step=3)
    assert gate(path) == 1


# --- no fragment for a later line to be glued to ----------------------------------------------

FILL_AND_FAIL = """
import dataclasses, math, resource, sys
sys.path.insert(0, {tests!r})
from rollouts import healthy, nan_update
from value_diag.producer.writer import TelemetryWriter

path = sys.argv[1]
with TelemetryWriter(path) as out:
    out.log(healthy(), step=1)
    size = len(open(path, "rb").read())
    # Room for a few dozen bytes more: the next line is written in part, then refused.
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, resource.RLIM_INFINITY))
    try:
        out.log(healthy(), step=2)
    except OSError as exc:
        print("refused", exc.errno, flush=True)
    # Room again (a soft limit may be raised up to the hard one): the NaN update.
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    out.log(nan_update(), step=3)
"""


def test_a_line_a_size_limit_cuts_short_is_removed_and_the_next_update_is_read(
    tmp_path: Path,
) -> None:
    """RLIMIT_FSIZE makes the file take part of a line, then refuse the rest (EFBIG): the
    part is cut off again, so the NaN update written when there is room is read whole."""
    path = tmp_path / "run.jsonl"
    script = FILL_AND_FAIL.format(tests=str(ROOT / "tests"))
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["refused", str(errno.EFBIG)]
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 3, "header, step 1, step 3"
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (3, 0)
    assert gate(path) == 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 64 KiB tmpfs mounted for the test (root only; skipped where it cannot be)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", f"vd-{uuid.uuid4().hex[:8]}", str(mount)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_leaves_no_fragment_and_the_next_update_is_read(small_disk: Path) -> None:
    """The issue's case on a real file system: the disk fills mid-line (ENOSPC), space comes
    back, and the NaN update is read, not glued to half a line."""
    path = small_disk / "run.jsonl"
    filler = small_disk / "filler"
    with TelemetryWriter(path) as out:
        out.log(healthy(), step=1)
        filler.write_bytes(b"\0" * (64 * 1024 - 4096))  # one page left, run.jsonl's
        written = path.read_bytes()
        with pytest.raises(OSError) as failed:
            for step in range(2, 1000):
                written = path.read_bytes()
                out.log(healthy(), step=step, pad="p" * 700)
        assert failed.value.errno == errno.ENOSPC
        assert path.read_bytes() == written, "the part of the line written is gone"
        filler.unlink()
        out.log(nan_update(), step=5000)
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (5000, 0)
    assert gate(path) == 1


def test_a_file_that_ends_mid_line_gets_a_newline_before_the_first_line(
    tmp_path: Path,
) -> None:
    """A writer that crashed mid-line left a fragment: the next run's header would be glued
    to it. It is a bad line of its own instead, and the NaN update after is read."""
    path = tmp_path / "run.jsonl"
    with TelemetryWriter(path) as out:
        out.log(healthy(), step=1)
    with path.open("ab") as f:
        f.write(b'{"step": 2, "v_return_correlation": 0.9, "td_err')
    with TelemetryWriter(path) as out:
        out.log(nan_update(), step=3)
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (3, 1)
    assert frame["records"] == 4, "both runs' headers and updates; the fragment is bad"
    assert gate(path) == 1


def test_a_fragment_that_cannot_be_cut_is_ended_by_the_next_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer appended after the part written: cutting would remove its line too, so
    the part stays, and the next line starts with a newline. That line is read."""
    path = tmp_path / "run.jsonl"
    real_write = os.write
    calls = {"n": 0}

    def full_after_part(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            n = real_write(fd, data[:60])  # the part names V-Corr: a line of ours
            with path.open("ab") as other:  # another process's line lands after the part
                other.write(b'{"note": "another writer"}\n')
            return n
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    out = TelemetryWriter(path, header=False)
    monkeypatch.setattr("value_diag.producer.writer.os.write", full_after_part)
    with pytest.raises(OSError):
        out.log(healthy(), step=1)
    out.log(nan_update(), step=2)
    out.close()
    part_and_other, blank, nan_line = path.read_bytes().splitlines()
    assert part_and_other.endswith(b'{"note": "another writer"}') and blank == b""
    assert json.loads(nan_line)["step"] == 2
    frame = read(path)
    assert (frame["step"], frame["bad_lines"]) == (2, 1)
    assert gate(path) == 1


# --- inputs compute_value_metrics refuses --------------------------------------------------------

PATHS = [True, False]


class MaskedTensor:
    """Stands for torch.masked.MaskedTensor, known by its class name."""

    def tolist(self) -> list[float]:
        return [1.0, 2.0, 3.0]


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({0: 1.0, 1: 2.0, 2: 4.0}, "values is a dict, not a sequence: pass its numbers in step"),
        ({1.0, 2.0, 4.0}, "values is a set: its items have no order"),
        (frozenset({1.0, 2.0, 4.0}), "values is a frozenset: its items have no order"),
        ([[1.0, 2.0], [4.0]], "values is ragged: values[1] has 1 item, the rows before it 2"),
        ([[1, 2], [4, 5, 6]], "values is ragged: values[1] has 3 items, the rows before it 2"),
        ([1.0, [2.0, 4.0]], "values is ragged: values[1] is a row among numbers"),
        ([[1.0, 2.0], 4.0], "values is ragged: values[1] is a number among rows"),
        (
            np.array([np.array([1.0, 2.0]), np.array([4.0])], dtype=object),
            "values is ragged: values[1] has 1 item, the rows before it 2",
        ),
        (
            np.ma.masked_array([1.0, 2.0, 4.0], mask=[False, True, False]),
            "values is a masked array, whose masked items would be used as numbers",
        ),
        (np.ma.masked_array([1.0, 2.0, 4.0]), "values is a masked array"),
        (MaskedTensor(), "values is a masked array"),
    ],
)
def test_inputs_that_would_pair_wrongly_or_use_masked_numbers_are_refused(
    use_numpy: bool, values: Any, message: str
) -> None:
    """Each was accepted silently: a dict's keys or a set's arbitrary order as the values,
    a ragged list flattened into a series that pairs wrongly, masked items used."""
    with pytest.raises(ValueError) as info:
        compute_value_metrics(values, [1.0, 2.0, 3.0], [0.0, 0.1, 0.2], use_numpy=use_numpy)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("use_numpy", PATHS)
def test_regular_nested_lists_and_dict_views_are_still_taken(use_numpy: bool) -> None:
    flat = compute_value_metrics(
        [1.0, 2.0, 4.0, 3.0], [1, 2, 3, 4], [0, 0, 1, 1], use_numpy=use_numpy
    )
    nested = compute_value_metrics(
        [[1.0, 2.0], [4.0, 3.0]],
        {"a": 1, "b": 2, "c": 3, "d": 4}.values(),
        [[0], [0], [1], [1]],
        use_numpy=use_numpy,
    )
    assert dataclasses.astuple(nested) == dataclasses.astuple(flat)


# --- writers in several processes -------------------------------------------------------------

OPEN_AND_LOG = """
import sys
sys.path.insert(0, {tests!r})
from rollouts import healthy
from value_diag.producer.writer import TelemetryWriter

path, me = sys.argv[1], int(sys.argv[2])
for i in range(40):  # a writer opened at every line: its look at the file's end each time
    with TelemetryWriter(path, header=i == 0) as out:
        out.log(healthy(), step=i, writer_id=me, pad="p" * (20_000 * (me + 1)))
"""


def test_writers_in_several_processes_never_mix_or_reorder_lines(tmp_path: Path) -> None:
    """Four training processes appending long lines to one file, each opening a writer for
    every line while the others' lines land: every line is one of theirs, whole, in each
    process's order, and none is blank (test_writer.py shows the lock that keeps a writer
    from taking another's landing line for a fragment)."""
    path = tmp_path / "run.jsonl"
    script = OPEN_AND_LOG.format(tests=str(ROOT / "tests"))
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(me)]) for me in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    data = path.read_bytes()
    assert data.endswith(b"\n")
    steps: dict[int, list[int]] = {me: [] for me in range(4)}
    headers = 0
    for line in data.split(b"\n")[:-1]:
        obj = json.loads(line)  # a blank line or a part of one would not parse
        if "value_diag_run" in obj:
            headers += 1
        else:
            steps[obj["writer_id"]].append(obj["step"])
    assert headers == 4
    assert steps == {me: list(range(40)) for me in range(4)}


def test_a_run_header_too_long_to_read_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    """A writer named past MAX_LINE would make a header value-diag cannot load: refused
    like any other line, before a byte is written."""
    path = tmp_path / "run.jsonl"
    with pytest.raises(ValueError, match="the run header would be a line of"):
        TelemetryWriter(path, writer="w" * MAX_LINE)
    assert path.read_bytes() == b""
