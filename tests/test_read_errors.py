"""Read errors while following: shown in the frame, retried, never fatal.

In-process, an I/O error (EIO) is injected into every read the follower makes, one at a
time. Through the console script, the file stops being readable for a while: it is
replaced by one the watching user may not read, its directory is closed to that user,
or it becomes a directory. Each time the frame says "read error: ...; retrying", watch
keeps running, and once the file can be read again its data shows.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from needs import as_nobody
from reading import fold_path
from telemetry import COMPILE_LINE, healthy, line
from watching import Spawn, Watch, append

from value_diag.follow.follower import Followed
from value_diag.options import KEPT_UPDATES
from value_diag.state import FoldState

NOW = 1_700_000_000.0
EIO_NOTE = "read error: Input/output error; retrying"


def comparable(state: FoldState) -> FoldState:
    """The state without the time of the last record (watch takes it from the file)."""
    return dataclasses.replace(state, last_update=None)


class FailingPread:
    """os.pread that raises EIO on its ``fail_at``-th call (0-based), counting every call."""

    def __init__(self, real: Callable[[int, int, int], bytes], fail_at: int | None) -> None:
        self.real = real
        self.fail_at = fail_at
        self.calls = 0
        self.failed = False

    def __call__(self, fd: int, size: int, offset: int) -> bytes:
        n = self.calls
        self.calls += 1
        if n == self.fail_at:
            self.failed = True
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return self.real(fd, size, offset)


def scenario(path: Path, follower: Followed) -> Iterator[str]:
    """What happens to the file, step by step; the follower looks after each step."""
    path.write_text(line(COMPILE_LINE) + healthy(3.0) + '{"bellman_error": oops}\n')
    yield "opened"
    append(path, healthy(4.0) + healthy(5.0)[:20])
    yield "appended, a line cut short"
    append(path, healthy(5.0)[20:] + healthy(6.0))
    yield "line finished"
    path.write_text(healthy(7.0) + healthy(8.0))  # truncated (shorter) and rewritten
    yield "truncated"
    append(path, healthy(9.0))
    yield "appended after truncation"


def pread_calls(tmp_path: Path) -> int:
    """How many preads the scenario makes when nothing fails."""
    counter = FailingPread(os.pread, None)
    path = tmp_path / "count.jsonl"
    follower = Followed(str(path))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "pread", counter)
        for _ in scenario(path, follower):
            follower.update(NOW)
    follower.tail.close()
    return counter.calls


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> int:
    n = pread_calls(tmp_path_factory.mktemp("count"))
    # Opening, catching up, appends, the check for a rewrite and the truncation all read.
    assert n >= 8
    return n


def eio_at(tmp_path: Path, fail_at: int) -> None:
    """The scenario with the ``fail_at``-th read failing: shown, retried, recovered."""
    path = tmp_path / f"run{fail_at}.jsonl"
    follower = Followed(str(path))
    pread = FailingPread(os.pread, fail_at)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "pread", pread)
        for step in scenario(path, follower):
            failed_before = pread.failed
            changed = follower.update(NOW)  # never raises
            if pread.failed and not failed_before:
                assert follower.note == EIO_NOTE, step
                assert changed, f"the frame is redrawn to show the error ({step})"
                # The next look retries: the file reads again, and the note goes.
                follower.update(NOW)
                assert follower.note != EIO_NOTE, step
    assert pread.failed
    follower.update(NOW)
    assert follower.note is None or "truncated" in follower.note
    expected = fold_path(str(path), NOW, recent=KEPT_UPDATES)  # a follower keeps the gate's updates
    assert comparable(follower.state) == comparable(expected)
    assert bellman_of(follower.state) == 9.0
    follower.tail.close()


def test_eio_on_any_read_is_shown_retried_and_recovered(tmp_path: Path, calls: int) -> None:
    for fail_at in range(calls):
        try:
            eio_at(tmp_path, fail_at)
        except AssertionError as exc:
            raise AssertionError(f"read {fail_at} of {calls} failed: {exc}") from exc


def bellman_of(state: FoldState) -> float:
    assert state.values is not None
    bellman = state.values[3]
    assert bellman is not None
    return bellman


def test_eio_every_time_keeps_the_last_frame_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(3.0))
    follower = Followed(str(path))
    follower.update(NOW)
    good = follower.state

    def broken(fd: int, size: int, offset: int) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "pread", broken)
        append(path, healthy(4.0))
        for _ in range(3):
            follower.update(NOW)
            assert follower.note == EIO_NOTE
            assert "None" not in follower.note
    follower.update(NOW)
    assert follower.note is None
    assert bellman_of(follower.state) == 4.0
    assert follower.state.records == good.records + 1
    follower.tail.close()


def test_stat_error_is_shown_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(healthy(3.0))
    follower = Followed(str(path))
    follower.update(NOW)
    real_stat = os.stat

    def stat_eio(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(p) == str(path):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_stat(p, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "stat", stat_eio)
        assert follower.update(NOW)
        assert follower.note == EIO_NOTE
    append(path, healthy(4.0))
    follower.update(NOW)
    assert follower.note is None
    assert (follower.state.records, bellman_of(follower.state)) == (2, 4.0)
    follower.tail.close()


# --------------------------------------------------------------------------- through the script


def recovered(w: Watch, records: str, bellman: str) -> None:
    """The next frame without the error shows the file's data again."""
    text = w.header(lambda h: "read error" not in h)
    assert f"| {records} |" in text, text
    assert w.lines(1)[0].endswith(f"Bellman   {bellman}")
    assert w.popen.poll() is None, "watch exited" + w._context()
    assert "Traceback" not in w.stderr


def test_file_becoming_a_directory_is_shown_and_retried(tmp_path: Path, spawn: Spawn) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(3.0))
    w = spawn("run.jsonl", cwd=tmp_path)
    w.header(lambda h: "| 2 records |" in h)

    path.unlink()
    path.mkdir()
    text = w.header(lambda h: "read error" in h)
    assert "| read error: Is a directory; retrying | updated " in text, text

    path.rmdir()
    path.write_text(healthy(11.0))
    recovered(w, "1 record", "11")


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory that the unprivileged user can reach, with run.jsonl in it.

    pytest's own temporary directories are private to their owner.
    """
    d = Path(tempfile.mkdtemp(prefix="value-diag-"))
    try:
        for p in d.parents:
            if not p.stat().st_mode & stat.S_IXOTH:
                pytest.skip(f"{p} is closed to other users")
        d.chmod(0o755)
        path = d / "run.jsonl"
        path.write_text(line(COMPILE_LINE) + healthy(3.0))
        path.chmod(0o644)
        yield d
    finally:
        d.chmod(0o755)
        shutil.rmtree(d)


def test_permission_revoked_on_the_open_file_changes_nothing(shared: Path, spawn: Spawn) -> None:
    """Like tail -f: an open file stays readable whatever its mode becomes."""
    path = shared / "run.jsonl"
    w = spawn(str(path), cwd=shared, prefix=as_nobody())
    w.header(lambda h: "| 2 records |" in h)
    path.chmod(0o000)
    append(path, healthy(4.0))
    text = w.header(lambda h: "| 3 records |" in h)
    assert "read error" not in text, text


@pytest.mark.parametrize("how", ["replaced-by-an-unreadable-file", "directory-closed"])
def test_permission_revoked_is_shown_and_retried(shared: Path, spawn: Spawn, how: str) -> None:
    path = shared / "run.jsonl"
    w = spawn(str(path), cwd=shared, prefix=as_nobody())
    w.header(lambda h: "| 2 records |" in h)

    if how == "directory-closed":
        shared.chmod(0o700)
        append(path, healthy(4.0))
    else:
        new = shared / "run.jsonl.new"
        new.write_text(healthy(4.0) + healthy(5.0) + healthy(6.0))
        new.chmod(0o600)
        os.replace(new, path)
    text = w.header(lambda h: "read error" in h)
    assert "| read error: Permission denied; retrying | updated " in text, text

    shared.chmod(0o755)
    path.chmod(0o644)
    if how == "directory-closed":
        recovered(w, "3 records", "4")
    else:
        recovered(w, "3 records", "6")


def test_a_broken_stdin_ends_the_watch_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """EIO from stdin (a terminal hanging up) ends `watch -` cleanly: last frame, exit 0."""
    import io

    from value_diag.commands.watch import WatchOptions, run_watch
    from value_diag.options import Format
    from value_diag.render.frames import Renderer
    from value_diag.render.sinks import StreamSink
    from value_diag.render.terminal import make_console

    r, w = os.pipe()
    os.write(w, b'{"bellman_error": 7.5}\n')
    os.close(w)  # readable to the end: the second read is where the stream breaks
    reads = 0
    real_read = os.read

    def flaky_read(fd: int, n: int) -> bytes:
        nonlocal reads
        if fd == r:
            reads += 1
            if reads > 1:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_read(fd, n)

    out = io.StringIO()
    with os.fdopen(r, "r") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        monkeypatch.setattr("value_diag.commands.watch.os.read", flaky_read)
        sink = StreamSink(make_console(file=out), Renderer(), Format.TEXT)
        code = run_watch(["-"], sink, WatchOptions())
    assert int(code) == 0
    last = out.getvalue().split("\n\n")[-1]
    assert "1 record" in last and "Bellman   7.5" in last
    assert "read error: Input/output error; stream ended" in last
