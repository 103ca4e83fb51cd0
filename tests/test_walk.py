"""Finding runs on the local disk: walks that end, names that can be told apart, runs that
come and go, and a watch that keeps going when notifications or open files run out.

Through the real console script; the walk's stop and its handling of each entry also
in-process (``ingest/walk.py``), where a signal cannot be timed to land mid-walk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, clean_env, invoke
from needs import as_user
from telemetry import healthy
from watching import Spawn, append

from value_diag.ingest.parallel import Interrupted
from value_diag.ingest.runfiles import Looks, target
from value_diag.ingest.walk import Tree, below, matching
from value_diag.naming import natural_key


def run(path: Path, bellman: float = 3.0) -> Path:
    """A run file with one record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(healthy(bellman))
    return path


def sources(cwd: Path, *args: str) -> list[str]:
    """The sources `once ARGS --format json` prints (it must exit 0)."""
    proc = invoke(["once", *args, "--format", "json"], cwd=cwd, timeout=DEADLINE)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line)["source"] for line in proc.stdout.splitlines()]


def names(cwd: Path, *args: str) -> list[str]:
    """The run names of the text headers `once ARGS` prints (it must exit 0)."""
    proc = invoke(["once", *args], cwd=cwd, timeout=DEADLINE)
    assert proc.returncode == 0, proc.stderr
    headers = proc.stdout.decode("utf-8").splitlines()
    return [h.split(" | ")[2] for h in headers if h.startswith("VALUE DIAGNOSTICS | ")]


@pytest.fixture
def loops(tmp_path: Path) -> Path:
    """runs/s1/run.jsonl beside three links to runs itself: a, b and c."""
    run(tmp_path / "runs" / "s1" / "run.jsonl")
    for name in "abc":
        (tmp_path / "runs" / name).symlink_to(".")
    return tmp_path


# --------------------------------------------------------------------------- walks that end


@pytest.mark.parametrize("given", ["runs/**/*.jsonl", "**/run.jsonl", "runs/**", "runs"])
def test_once_ends_over_symlink_loops(loops: Path, given: str) -> None:
    """Three `ln -s . x` made the walk of `**` exponential: it never ended."""
    assert sources(loops, given) == [os.path.join("runs", "s1", "run.jsonl")]


def test_double_star_enters_no_symlinked_folder_and_a_star_does(tmp_path: Path) -> None:
    """`**` walks as a directory does: not into symlinked folders. A `*` follows them, as
    the shell does: a pattern's length bounds how deep that goes."""
    run(tmp_path / "runs" / "real" / "run.jsonl")
    run(tmp_path / "elsewhere" / "x" / "run.jsonl")
    (tmp_path / "runs" / "linked").symlink_to(tmp_path / "elsewhere" / "x")
    real = os.path.join("runs", "real", "run.jsonl")
    linked = os.path.join("runs", "linked", "run.jsonl")
    assert sources(tmp_path, "runs/**/run.jsonl") == [real]
    assert sources(tmp_path, "runs") == [real]
    assert sources(tmp_path, "runs/*/run.jsonl") == [linked, real]


def test_a_star_over_a_loop_reads_each_run_once(loops: Path) -> None:
    """`*/*/*/x` through links to `.` reaches one file many ways: it is read once."""
    assert len(sources(loops, "runs/*/*/*/run.jsonl")) == 1


def test_patterns_match_as_the_shell_does(tmp_path: Path) -> None:
    """Hidden names only for a part that starts with a dot; `**` for no folder too."""
    for rel in ("top.jsonl", "a/one.jsonl", "a/b/two.jsonl", ".hid/h.jsonl", "a/.h.jsonl"):
        run(tmp_path / "runs" / rel)
    assert sources(tmp_path, "runs/**/*.jsonl") == [
        os.path.join("runs", "a", "b", "two.jsonl"),
        os.path.join("runs", "a", "one.jsonl"),
        os.path.join("runs", "top.jsonl"),
    ]
    assert sources(tmp_path, "runs/*/.*.jsonl") == [os.path.join("runs", "a", ".h.jsonl")]
    assert sources(tmp_path, "runs/.hid/*.jsonl") == [os.path.join("runs", ".hid", "h.jsonl")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_watch_over_symlink_loops_follows_and_stops(
    loops: Path, spawn: Spawn, sig: signal.Signals
) -> None:
    w = spawn("runs/**/*.jsonl", "--format", "json", cwd=loops)
    assert w.frame()["source"] == os.path.join("runs", "s1", "run.jsonl")
    run(loops / "runs" / "s2" / "run.jsonl", 4.0)  # looked for through the loops again
    w.frame(lambda f: f["source"] == os.path.join("runs", "s2", "run.jsonl"))
    w.send(sig)
    assert w.wait() == 0, w.stderr
    assert "Traceback" not in w.stderr


@pytest.mark.parametrize("walk", ["below", "matching"])
def test_a_walk_asks_to_stop_before_each_folder(tmp_path: Path, walk: str) -> None:
    """A watch's look for new runs ends at a signal, however large the tree."""
    for i in range(3):
        run(tmp_path / f"d{i}" / "run.jsonl")
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Interrupted):
        if walk == "below":
            below(str(tmp_path), "*.jsonl", stop)
        else:
            matching(str(tmp_path / "**" / "*.jsonl"), stop)
    assert len(asked) == 3


# --------------------------------------------------------------------------- names


def test_folders_named_in_bytes_that_are_no_utf8_are_told_apart(tmp_path: Path) -> None:
    for raw in (b"s\xff1", b"s\xfe1"):
        run(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"runs", raw, b"run.jsonl"))))
    assert names(tmp_path, "runs") == ["s\\xfe1", "s\\xff1"]


@pytest.mark.parametrize(
    ("mark", "shown"),
    [
        ("\u200b", "seed1\\u200b"),  # zero-width space: a format character
        ("\x1b", "seed1\\x1b"),  # a control
        ("\u034f", "seed1\\u034f"),  # combining grapheme joiner: printable, yet dropped
    ],
)
def test_names_alike_once_cleaned_are_told_apart(tmp_path: Path, mark: str, shown: str) -> None:
    """`seed1` and `seed1` + an invisible mark were two identical rows."""
    run(tmp_path / "runs" / "seed1" / "run.jsonl")
    run(tmp_path / "runs" / f"seed1{mark}" / "run.jsonl")
    assert names(tmp_path, "runs") == ["seed1", shown]


def test_watch_follows_a_folder_named_in_bytes_that_are_no_utf8(
    tmp_path: Path, spawn: Spawn
) -> None:
    """watchfiles cannot take such a name: it crashed the watch (exit 1); it polls now."""
    folder = os.path.join(os.fsencode(tmp_path), b"runs", b"s\xff1")
    path = Path(os.fsdecode(os.path.join(folder, b"run.jsonl")))
    run(path)
    run(tmp_path / "runs" / "s2" / "run.jsonl")
    w = spawn("runs")
    w.header(lambda h: "| s\\xff1 | 1 record |" in h)
    said = w.header(lambda h: "polling" in h)
    assert "file notifications unavailable (a folder name below is not UTF-8)" in said, said
    append(path, healthy(5.0))
    w.header(lambda h: "| s\\xff1 | 2 records |" in h)
    w.send(signal.SIGTERM)
    assert w.wait() == 0, w.stderr
    assert "Traceback" not in w.stderr


# --------------------------------------------------------------------------- --latest


@pytest.mark.parametrize("bogus", ["9999-99-99_999999", "9999-12-31_235959", "2026-13-45_256199"])
def test_latest_is_not_pinned_by_a_time_that_is_no_start(tmp_path: Path, bogus: str) -> None:
    """A name that says no real time, or one far ahead, is no esper-lite start time."""
    run(tmp_path / "tele" / "telemetry_2026-11-30_170102" / "events.jsonl")
    run(tmp_path / "tele" / f"telemetry_{bogus}" / "events.jsonl")
    want = os.path.join("tele", "telemetry_2026-11-30_170102", "events.jsonl")
    assert sources(tmp_path, "tele", "--latest") == [want]


def test_watch_latest_leaves_a_deleted_run_for_the_newest_left(
    tmp_path: Path, spawn: Spawn
) -> None:
    run(tmp_path / "tele" / "telemetry_2026-11-30_165338" / "events.jsonl", 3.0)
    newest = run(tmp_path / "tele" / "telemetry_2026-11-30_170102" / "events.jsonl", 4.0)
    w = spawn("tele", "--latest")
    w.header(lambda h: "170102" in h)
    shutil.rmtree(newest.parent)
    header = w.header(lambda h: "165338" in h)
    note = "telemetry_2026-11-30_170102 deleted; now telemetry_2026-11-30_165338"
    assert note in header.split(" | "), header


# --------------------------------------------------------------------------- runs that go


def test_a_deleted_run_leaves_the_watch(tmp_path: Path, ptys: Callable[..., Any]) -> None:
    """A run deleted from a watched folder is let go of: its panel goes (it stayed, waiting
    for the file, for ever)."""
    run(tmp_path / "runs" / "seed1" / "run.jsonl")
    gone = run(tmp_path / "runs" / "seed2" / "run.jsonl")
    term = ptys("watch", "runs", cwd=tmp_path, cols=100, rows=40)
    term.wait_for(lambda s: any("seed2" in row for row in s), "both runs")
    shutil.rmtree(gone.parent)
    term.wait_for(lambda s: not any("seed2" in row for row in s), "seed2 gone")
    run(gone)  # back again: followed again, from the top
    term.wait_for(lambda s: any("seed2" in row for row in s), "seed2 back")


# --------------------------------------------------------------------------- limits


def with_file_limit(soft: int, hard: int) -> list[str]:
    """A command prefix that runs the rest under these open-file limits."""
    code = (
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    return [sys.executable, "-c", code]


def test_runs_past_the_open_file_limit_are_shown_not_followed(tmp_path: Path, spawn: Spawn) -> None:
    """The watch went on until a new run passed the hard limit, then ended (exit 2)."""
    run(tmp_path / "runs" / "run00.jsonl")
    w = spawn("runs", prefix=with_file_limit(48, 48))
    w.header(lambda h: "1 record" in h)
    for i in range(1, 30):
        run(tmp_path / "runs" / f"run{i:02}.jsonl")
    header = w.header(lambda h: "not followed" in h)
    assert header.endswith("| not followed: the open-file limit (ulimit -n) is 48"), header
    append(tmp_path / "runs" / "run00.jsonl", healthy(5.0))
    w.header(lambda h: "| run00 | 2 records |" in h)
    assert w.popen.poll() is None, w.stderr
    w.send(signal.SIGTERM)
    assert w.wait() == 0, w.stderr


def unprivileged_uid() -> int:
    """A user id of this test's own, so that using up its inotify instances touches no
    other process; skips where the test process is not root (``as_user`` skips where it
    cannot switch to it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run as a user of its own")
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux's")
    return 50_000 + os.getpid() % 10_000


HOG = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
held = 0
while libc.inotify_init1(0) >= 0:
    held += 1
print(held, flush=True)
sys.stdin.read()
"""
"""Takes every inotify instance its user may have, then holds them until stdin closes."""


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder any user can read and write (pytest's own are private to their owner)."""
    d = Path(tempfile.mkdtemp(prefix="value-diag-"))
    try:
        for p in d.parents:
            if not p.stat().st_mode & 0o001:
                pytest.skip(f"{p} is closed to other users")
        d.chmod(0o777)
        yield d
    finally:
        shutil.rmtree(d)


def test_watch_polls_when_inotify_instances_are_used_up(shared: Path, spawn: Spawn) -> None:
    """No inotify instance left (fs.inotify.max_user_instances): it crashed (exit 1)."""
    uid = unprivileged_uid()
    path = run(shared / "runs" / "s1" / "run.jsonl")
    for p in (path, path.parent, path.parent.parent):
        p.chmod(0o777 if p.is_dir() else 0o666)
    with subprocess.Popen(
        [*as_user(uid), sys.executable, "-c", HOG],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=clean_env(),
    ) as hog:
        try:
            assert hog.stdout is not None
            assert int(hog.stdout.readline() or 0) > 0, "no inotify instance was taken"
            w = spawn("runs", cwd=shared, prefix=as_user(uid))
            said = w.header(lambda h: "polling" in h)
            assert "file notifications unavailable (inotify instances used up" in said, said
            append(path, healthy(5.0))
            w.header(lambda h: "2 records" in h)
            w.send(signal.SIGTERM)
            assert w.wait() == 0, w.stderr
            assert "Traceback" not in w.stderr
        finally:
            hog.kill()


# --------------------------------------------------------------------------- a tree kept


def settled(top: Path) -> None:
    """Dates every folder below ``top`` a minute back, as a tree nobody writes to is."""
    past = time.time() - 60
    for folder in [top, *(p for p in top.rglob("*") if p.is_dir() and not p.is_symlink())]:
        os.utime(folder, (past, past))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A sweep of 40 runs among many other files, a hidden folder and a symlinked one."""
    top = tmp_path / "sweep"
    for i in range(40):
        folder = top / f"seed{i % 4}" / f"run{i}"
        folder.mkdir(parents=True)
        (folder / "events.jsonl").write_bytes(b"")
        for j in range(20):
            (folder / f"ckpt{j}.pt").write_bytes(b"")
    (top / ".cache").mkdir()
    (top / ".cache" / "hidden.jsonl").write_bytes(b"")
    (top / "link").symlink_to(top / "seed0")
    settled(top)
    return top


def test_a_tree_lists_again_only_the_folders_that_changed(sweep: Path) -> None:
    tree = Tree(str(sweep), "*.jsonl")
    assert tree.look() == below(str(sweep), "*.jsonl")
    first = tree.listings
    assert first == 1 + 4 + 40, "every folder entered, once"
    assert tree.look() == below(str(sweep), "*.jsonl")
    assert tree.listings == first, "nothing changed: nothing listed"
    (sweep / "seed2" / "run6" / "more.jsonl").write_bytes(b"")
    shutil.rmtree(sweep / "seed1" / "run5")
    (sweep / "seed3" / "new").mkdir()
    (sweep / "seed3" / "new" / "events.jsonl").write_bytes(b"")
    found = tree.look()
    assert found == below(str(sweep), "*.jsonl")
    assert str(sweep / "seed2" / "run6" / "more.jsonl") in found.files
    assert str(sweep / "seed3" / "new" / "events.jsonl") in found.files
    assert not any("run5" + os.sep in f for f in found.files)
    # run6, seed1 and seed3 changed; new is new
    assert tree.listings == first + 4


def test_a_tree_lists_again_a_folder_the_file_system_names(sweep: Path) -> None:
    """A file added in the same tick of the clock as the last listing leaves the folder's
    time as it was (here set back by hand): the paths the file system reported say it."""
    tree = Tree(str(sweep), "*.jsonl")
    tree.look()
    folder = sweep / "seed0" / "run4"
    before = folder.stat()
    (folder / "late.jsonl").write_bytes(b"")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    found = tree.look(changed=[str(folder / "late.jsonl")])
    assert str(folder / "late.jsonl") in found.files
    assert found == below(str(sweep), "*.jsonl")


def test_a_tree_keeps_no_listing_of_a_folder_changed_just_now(sweep: Path) -> None:
    """A folder changed within SETTLED_S of its listing is listed again at the next look,
    since a file added in the same tick would not move its time."""
    tree = Tree(str(sweep), "*.jsonl")
    (sweep / "seed0" / "run0" / "now.jsonl").write_bytes(b"")
    tree.look()
    first = tree.listings
    tree.look()
    assert tree.listings == first + 1


def test_a_tree_tells_a_folder_it_cannot_read_at_every_look(sweep: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    locked = sweep / "seed1" / "run1"
    locked.chmod(0)
    try:
        tree = Tree(str(sweep), "*.jsonl")
        for _ in range(2):
            assert tree.look() == below(str(sweep), "*.jsonl")
            assert [u.path for u in tree.look().unreadable] == [str(locked)]
    finally:
        locked.chmod(0o755)


def test_looks_at_a_directory_sort_as_a_target_does(sweep: Path) -> None:
    looks = Looks(target(str(sweep)))
    assert looks.tree is not None
    assert looks.look() == target(str(sweep)).look()
    assert looks.look().files == sorted(looks.look().files, key=natural_key)
    pattern = Looks(target(str(sweep / "seed*" / "run1*" / "events.jsonl")))
    assert pattern.tree is None
    assert pattern.look().files == target(str(sweep / "seed*" / "run1*" / "events.jsonl")).files()
