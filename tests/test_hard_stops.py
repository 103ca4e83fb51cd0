"""Hostile files and hard stops, through the real console script.

FIFOs, devices, symlink loops, a writer faster than the fold, a parent killed while its
reading processes work, a hung-up terminal, too few file descriptors: each ends in a
frame or one line on stderr, and a signal is obeyed. Deadlines are safety nets only.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, run_cli, script
from ptyterm import Pty
from telemetry import healthy
from watching import Spawn, Watch, append

DENSE_LINE = b'{"td_error_mean":1.5,"bellman_error":2.5}\n'
"""The shortest useful record: a file of these is the slowest to fold per byte."""


def header_with(w: Watch, needle: str) -> str:
    """Waits for a text frame header (in a pipe) that contains ``needle``."""
    deadline = time.monotonic() + DEADLINE
    while True:
        text = w.next_line(deadline)
        assert text is not None, "output ended" + w.stderr
        if text.startswith("VALUE DIAGNOSTICS") and needle in text:
            return text


def stops_cleanly(w: Watch, sig: signal.Signals = signal.SIGTERM) -> None:
    w.send(sig)
    assert w.wait() == 0, w.stderr
    assert "Traceback" not in w.stderr, w.stderr


# --------------------------------------------------------------------------- not regular files


def test_watch_a_fifo_says_so_and_obeys_sigterm(spawn: Spawn, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.jsonl")
    w = spawn("f.jsonl")
    assert "not a regular file" in header_with(w, "f.jsonl")
    stops_cleanly(w)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_dev_zero_says_so_and_obeys_signals(spawn: Spawn, sig: signal.Signals) -> None:
    w = spawn("/dev/zero")
    assert "not a regular file" in header_with(w, "/dev/zero")
    stops_cleanly(w, sig)


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero"])
def test_watch_a_file_replaced_by_a_non_regular_one(
    spawn: Spawn, tmp_path: Path, kind: str
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(healthy(3.0))
    w = spawn("run.jsonl", "--poll", "0.05")
    header_with(w, "1 record")
    run.unlink()
    if kind == "fifo":
        os.mkfifo(run)
    else:
        run.symlink_to("/dev/zero")
    assert "not a regular file" in header_with(w, "retrying")
    run.unlink()
    run.write_text(healthy(5.0))
    header_with(w, "1 record")  # a regular file again: read from the top
    stops_cleanly(w)


@pytest.mark.parametrize("path", ["fifo.jsonl", "/dev/zero", "/dev/null"])
def test_once_refuses_what_is_not_a_regular_file(tmp_path: Path, path: str) -> None:
    os.mkfifo(tmp_path / "fifo.jsonl")
    target = str(tmp_path / path)
    result = subprocess.run(
        [*script(), "once", target], capture_output=True, timeout=DEADLINE, env=clean_env()
    )
    assert result.returncode == 2
    assert (
        result.stderr.decode() == f"value-diag: error: cannot read {target}: not a regular file\n"
    )
    assert result.stdout == b""


# --------------------------------------------------------------------------- a fast writer


@contextlib.contextmanager
def fast_writer(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process appending dense records at about 40 MB/s until the block ends.

    That is faster than they can be folded (each is a record), and slow enough not to fill
    a disk while a test runs.
    """
    code = (
        "import os, sys, time\n"
        f"block = {DENSE_LINE!r} * 50000\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        "while True:\n"
        "    os.write(fd, block)\n"
        "    time.sleep(0.05)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(path)])
    try:
        yield writer
    finally:
        writer.kill()
        writer.wait()


def test_watch_keeps_drawing_and_obeys_sigterm_under_a_fast_writer(
    spawn: Spawn, tmp_path: Path
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_bytes(DENSE_LINE)
    w = spawn("run.jsonl", "--format", "json")
    w.frame()
    with fast_writer(run) as writer:
        counts = [w.frame(lambda f: True)["records"] for _ in range(5)]
        assert writer.poll() is None, "the writer is still writing"
        assert counts == sorted(counts) and counts[-1] > counts[0], counts
        stops_cleanly(w)


def test_once_reads_up_to_the_size_it_saw_at_the_start(tmp_path: Path) -> None:
    run = tmp_path / "run.jsonl"
    run.write_bytes(DENSE_LINE * 1000)
    with fast_writer(run) as writer:
        result = run_cli(["once", str(run), "--format", "json"], timeout=DEADLINE * 3)
        assert writer.poll() is None, "the writer was still writing when once ended"
    assert result.returncode == 0, result.stderr
    assert b'"records":' in result.stdout


# --------------------------------------------------------------------------- no ghost readers

BIG_MIB = 72
"""Enough to be split across reading processes (parts of 32 MiB or more)."""


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of dense records big enough to be read by several processes for a while."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    chunk = DENSE_LINE * (1 << 20 // len(DENSE_LINE) + 1)
    with path.open("wb") as f:
        while f.tell() < BIG_MIB << 20:
            f.write(chunk)
    return path


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if parent_of(int(entry.name)) == pid:
                    out.append(int(entry.name))
    return out


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped by init."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_until(pred: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not pred():
        if time.monotonic() >= deadline:  # a safety net, not a measure
            raise AssertionError(f"never: {what}")
        time.sleep(0.01)


def readers_of(popen: subprocess.Popen[bytes]) -> list[int]:
    """Waits until the process has forked its reading processes; their pids."""
    found: list[int] = []

    def forked() -> bool:
        assert popen.poll() is None, "ended before it forked: the log is too small"
        found[:] = children(popen.pid)
        return bool(found)

    wait_until(forked, "reading processes")
    return found


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.mark.parametrize("command", ["watch", "once"])
def test_a_killed_parent_leaves_no_reader_behind(big: Path, command: str) -> None:
    popen = subprocess.Popen(
        [*script(), command, str(big), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    readers = readers_of(popen)
    popen.kill()
    out, err = popen.communicate(timeout=DEADLINE)
    wait_until(lambda: not any(alive(pid) for pid in readers), "the readers are gone")
    assert (out, err) == (b"", b""), "nothing was written after the parent died"


def test_once_ended_by_sigterm_leaves_no_reader_to_complain(big: Path) -> None:
    popen = subprocess.Popen(
        [*script(), "once", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    readers = readers_of(popen)
    popen.terminate()
    popen.wait(timeout=DEADLINE)
    wait_until(lambda: not any(alive(pid) for pid in readers), "the readers are gone")
    assert popen.stderr is not None
    assert popen.stderr.read() == b"", "no orphan wrote `Broken pipe` or anything else"
    popen.stderr.close()
    assert popen.stdout is not None
    popen.stdout.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_obeys_a_signal_mid_catch_up(big: Path, sig: signal.Signals) -> None:
    w = Watch([str(big), "--format", "json"], cwd=big.parent)
    try:
        readers = readers_of(w.popen)
        stops_cleanly(w, sig)
        assert not any(alive(pid) for pid in readers), "watch ended its readers before exiting"
        assert w.rest() == [], "no frame of a half-read file"
    finally:
        w.close()


# --------------------------------------------------------------------------- symlink loops


@pytest.mark.parametrize("extra", [[], ["--poll", "0.1"], ["other.jsonl"]])
def test_watch_a_symlink_loop_says_so(spawn: Spawn, tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "other.jsonl").write_text(healthy(3.0))
    w = spawn("loop", *extra)
    header = header_with(w, "loop")
    assert "read error: Too many levels of symbolic links; retrying" in header
    stops_cleanly(w)


def test_once_on_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    result = run_cli(["once", str(tmp_path / "loop")])
    assert result.returncode == 2
    assert result.stderr.decode().endswith(": Too many levels of symbolic links\n")
    assert result.stderr.count(b"\n") == 1


# --------------------------------------------------------------------------- terminals and limits


def test_sighup_restores_the_terminal_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "run.jsonl").write_text(healthy(3.0))
    term = Pty(["watch", "run.jsonl"], tmp_path, cols=80, rows=20)
    try:
        term.wait_for(lambda s: any("Bellman" in row for row in s), "the panel")
        assert term.screen.in_alt
        os.kill(term.popen.pid, signal.SIGHUP)
        assert term.popen.wait(timeout=DEADLINE) == 0
        term.reader.join(timeout=DEADLINE)
        assert not term.screen.in_alt, "left the alternate screen"
        assert not term.screen.cursor.hidden, "the cursor is shown again"
    finally:
        term.close()


def many_runs(tmp_path: Path, n: int) -> list[str]:
    names = []
    for i in range(n):
        name = f"run{i}.jsonl"
        append(tmp_path / name, healthy(float(i)))
        names.append(name)
    return names


def test_watch_with_too_few_file_descriptors_says_so(tmp_path: Path) -> None:
    names = many_runs(tmp_path, 100)
    result = subprocess.run(
        [*with_file_limit(64, 64), *script(), "watch", *names],
        cwd=tmp_path,
        capture_output=True,
        timeout=DEADLINE,
        env=clean_env(),
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert re.fullmatch(
        r"value-diag: error: cannot follow 100 files: the open-file limit \(ulimit -n\) is 64,"
        r" and following them needs about \d+\n",
        err,
    ), err


def with_file_limit(soft: int, hard: int) -> list[str]:
    """A command prefix that runs the rest under these open-file limits."""
    code = (
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    return [sys.executable, "-c", code]


def test_watch_raises_a_low_soft_file_limit_itself(tmp_path: Path) -> None:
    names = many_runs(tmp_path, 100)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 200:
        pytest.skip("the hard open-file limit is too low here")
    w = Watch([*names, "--format", "json"], cwd=tmp_path, prefix=with_file_limit(64, hard))
    try:
        frames = [w.frame() for _ in names]
        assert sorted(f["source"] for f in frames) == sorted(names)
        assert all(f["records"] == 1 for f in frames), frames
        stops_cleanly(w)
    finally:
        w.close()


def test_a_full_stdout_is_one_line_naming_it() -> None:
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [*script(), "once", "sample_logs/collapse.jsonl"],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
            timeout=DEADLINE,
            env=clean_env(),
        )
    assert result.returncode == 2
    assert result.stderr == b"value-diag: error: cannot write <stdout>: No space left on device\n"
