"""Stop signals end `watch` whatever it is doing, and give the terminal back, through
the real console script.

A stdout pipe nobody reads (a stalled log shipper, a stopped consumer) must not keep
`watch` from obeying SIGTERM, SIGINT or SIGHUP; SIGQUIT and its kin, and a Ctrl-Z right
after fg, must not leave the alternate screen, a hidden cursor or no echo behind.
Deadlines are safety nets only.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, give_up_after, script
from ptyterm import Pty
from telemetry import healthy
from watching import append

PIPE_SIZE = 16384
"""The pipe's capacity, made small so that a dozen frames fill it."""


def queued(fd: int) -> int:
    """Bytes waiting in the pipe whose read end is ``fd``."""
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_watch_obeys_a_signal_while_its_stdout_pipe_is_full(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(healthy(3.0))
    r, w = os.pipe()
    fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    capacity = fcntl.fcntl(w, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    with open(tmp_path / "stderr", "wb") as err:
        popen = subprocess.Popen(
            [*script(), "watch", "run.jsonl", "--format", "json"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=w,
            stderr=err,
            env=clean_env(),
        )
    os.close(w)
    try:
        deadline = time.monotonic() + DEADLINE
        step = 0
        # Updates until the frames fill the pipe, and some more: watch is then writing one.
        while queued(r) < capacity - 4096 or step < 20:
            assert popen.poll() is None, "watch ended before its pipe filled"
            give_up_after(deadline, f"the pipe never filled ({queued(r)} bytes)")
            step += 1
            append(run, healthy(3.0 + step, step=step))
            time.sleep(0.06)
        for _ in range(5):
            append(run, healthy(4.0, step=1000 + step))
            time.sleep(0.06)
        popen.send_signal(sig)
        try:
            code = popen.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name} did not end watch while its stdout pipe was full")
        assert code == 0, (tmp_path / "stderr").read_text()
        assert "Traceback" not in (tmp_path / "stderr").read_text()
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        os.close(r)


def test_a_failing_frame_stdout_could_not_take_still_fails_the_gate_on_sigterm(
    tmp_path: Path,
) -> None:
    """`2>&1` into a pipe nobody reads: the verdict line cannot be written either, and
    the exit code does not wait for it. The run's path is long, so that each frame takes
    more than half the pipe: the second, failing, one is the frame stdout cannot take."""
    folder = tmp_path.joinpath(*["d" * 200] * 18)  # under PATH_MAX from a deep tmp_path
    folder.mkdir(parents=True)
    name = str((folder / "run.jsonl").relative_to(tmp_path))
    run = folder / "run.jsonl"
    run.write_text(healthy(3.0))
    r, w = os.pipe()
    fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    popen = subprocess.Popen(
        [*script(), "watch", name, "--format", "json", "--fail-on", "critical"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=w,
        stderr=w,
        env=clean_env(),
    )
    os.close(w)
    try:
        deadline = time.monotonic() + DEADLINE
        while queued(r) < PIPE_SIZE // 2:  # the first frame
            assert popen.poll() is None, "watch ended before its first frame"
            give_up_after(deadline, f"no first frame ({queued(r)} bytes)")
            time.sleep(0.02)
        append(run, healthy(90.0, step=2))  # critical: the gate fails on it
        while queued(r) < PIPE_SIZE - 4096:
            assert popen.poll() is None, "the failing frame waits for stdout"
            give_up_after(deadline, f"the pipe never filled ({queued(r)} bytes)")
            time.sleep(0.02)
        time.sleep(0.2)
        assert popen.poll() is None, "the failing frame waits for stdout"
        popen.send_signal(signal.SIGTERM)
        try:
            code = popen.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not end watch while stdout and stderr were a full pipe")
        assert code == 1, "the frames are judged whether or not they could be shown"
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        os.close(r)


# --------------------------------------------------------------------------- the terminal back


def _line_editing(term: Pty) -> bool:
    """Whether the pty is in canonical mode with echo, as a shell leaves it."""
    lflag = termios.tcgetattr(term.master)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


def _state(pid: int) -> str:
    """The process's state letter (T: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _stopped(pid: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while _state(pid) != "T":
        if time.monotonic() > deadline:  # a safety net, not a measure
            pytest.fail("the watch never stopped")
        time.sleep(0.02)


def _live(tmp_path: Path) -> Pty:
    (tmp_path / "run.jsonl").write_text(healthy(3.0))
    term = Pty(["watch", "run.jsonl"], tmp_path, cols=80, rows=24)
    term.wait_for(lambda s: any("Bellman" in row for row in s), "the panel")
    assert term.screen.in_alt and not _line_editing(term)
    return term


def _given_back(term: Pty) -> None:
    term.reader.join(timeout=DEADLINE)
    assert not term.screen.in_alt, "the alternate screen is left"
    assert not term.screen.cursor.hidden, "the cursor is shown"
    assert _line_editing(term), "echo and line editing are back"
    assert "Traceback" not in term.text


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.mark.parametrize(
    "sig", [signal.SIGQUIT, signal.SIGUSR1, signal.SIGALRM, signal.SIGXCPU], ids=lambda s: s.name
)
def test_signals_that_end_the_process_give_the_terminal_back_first(
    tmp_path: Path, sig: signal.Signals
) -> None:
    term = _live(tmp_path)
    try:
        os.kill(term.popen.pid, sig)
        assert term.popen.wait(timeout=DEADLINE) == -sig, "ended by the signal, as by default"
        _given_back(term)
    finally:
        term.close()


@needs_proc
def test_ctrl_z_right_after_fg_then_q_gives_the_terminal_back(tmp_path: Path) -> None:
    term = _live(tmp_path)
    try:
        os.kill(term.popen.pid, signal.SIGTSTP)
        _stopped(term.popen.pid)
        os.kill(term.popen.pid, signal.SIGCONT)
        os.kill(term.popen.pid, signal.SIGTSTP)  # while the first suspend is still resuming
        _stopped(term.popen.pid)
        assert _line_editing(term), "stopped again: the terminal as it was"
        os.kill(term.popen.pid, signal.SIGCONT)
        term.settled(lambda s: term.screen.in_alt and any("Bellman" in r for r in s), "fg")
        assert not _line_editing(term), "continued: keys are read one by one again"
        os.write(term.master, b"q")
        assert term.popen.wait(timeout=DEADLINE) == 0
        _given_back(term)
    finally:
        term.close()


def test_the_readme_names_every_signal_that_is_given_back_the_terminal() -> None:
    from conftest import ROOT

    from value_diag.follow.stopper import FATAL

    readme = (ROOT / "README.md").read_text()
    start = readme.index("- SIGQUIT (`Ctrl-\\`)")
    bullet = readme[start : readme.index("\n- ", start + 1)]
    named = set(re.findall(r"\bSIG[A-Z0-9]+\b", bullet))
    assert named == {signal.Signals(s).name for s in FATAL}


# --------------------------------------------------------------------------- demo


@pytest.mark.parametrize("kind", ["fifo", "/dev/null"])
def test_demo_refuses_an_out_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    """A FIFO nobody reads would block the demo where no Ctrl-C reaches it, and a SIGTERM
    then left its temporary folder."""
    target = tmp_path / "run.fifo"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target = Path(kind)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run(
        [*script(), "demo", "--updates", "2", "--interval", "0", "--out", str(target)],
        capture_output=True,
        env=clean_env(TMPDIR=str(tmp)),
        timeout=DEADLINE * 3,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode() == f"value-diag: error: cannot write {target}: not a regular file\n"
    assert list(tmp.iterdir()) == [], "no temporary folder is left"


def test_demo_ended_by_sigusr1_leaves_no_temporary_folder(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    popen = subprocess.Popen(
        [*script(), "demo", "--format", "json", "--updates", "1000", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(TMPDIR=str(tmp)),
    )
    try:
        assert popen.stdout is not None
        assert popen.stdout.readline().startswith(b"{"), "the first frame"
        assert [p.name[:16] for p in tmp.iterdir()] == ["value-diag-demo-"]
        popen.send_signal(signal.SIGUSR1)
        assert popen.wait(timeout=DEADLINE) == -signal.SIGUSR1
        assert list(tmp.iterdir()) == [], "the temporary folder is removed"
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        if popen.stdout is not None:
            popen.stdout.close()


def _drain(master: int, into: bytearray, wait: float = 0.0) -> None:
    """Reads what the pty has for us, waiting up to ``wait`` for the first bytes."""
    while select.select([master], [], [], wait)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the watch and every copy of the slave end are gone
            return
        if not chunk:
            return
        into += chunk


@pytest.mark.parametrize(
    ("bellman", "args", "code"),
    [(None, [], 0), (80.0, ["--fail-on", "critical"], 1)],
    ids=["healthy", "failing"],
)
def test_sigterm_ends_a_live_watch_whose_output_is_stopped_with_ctrl_s(
    tmp_path: Path, bellman: float | None, args: list[str], code: int
) -> None:
    """Ctrl-S stops a terminal's output: the watch waits in a write, and SIGTERM still
    ends it, the terminal given back (output started again, then the normal screen). The
    exit code is the gate's: frames that reached --fail-on fail it even unwritten."""
    run = tmp_path / "run.jsonl"
    run.write_text(healthy(3.0))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    popen = subprocess.Popen(
        [*script(), "watch", "run.jsonl", *args],
        cwd=tmp_path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=clean_env(TERM="xterm-256color"),
        start_new_session=True,
    )
    os.close(slave)
    shown = bytearray()
    try:
        deadline = time.monotonic() + DEADLINE
        while b"Bellman" not in shown:
            give_up_after(deadline, "no first frame")
            _drain(master, shown, 0.1)
        os.write(master, b"\x13")  # Ctrl-S
        for step in range(150):  # frames the terminal cannot show while it is stopped
            append(run, healthy(3.0 + step % 7 if bellman is None else bellman, step=step))
            _drain(master, shown, 0.03)
        assert popen.poll() is None
        popen.send_signal(signal.SIGTERM)
        done = time.monotonic() + DEADLINE
        while popen.poll() is None and time.monotonic() < done:
            _drain(master, shown, 0.05)
        if popen.poll() is None:
            pytest.fail("SIGTERM did not end a watch whose output was stopped")
        assert popen.wait() == code
        lflag = termios.tcgetattr(master)[3]
        assert lflag & termios.ICANON and lflag & termios.ECHO, "line editing and echo back"
        _drain(master, shown, 0.2)
        assert shown.endswith(b"\x1b[?1049l\x1b[?25h"), "last: the normal screen and cursor"
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        os.close(master)
