"""End-to-end tests of `value-diag watch`: the real console script as a subprocess.

Frames are observed on the child's stdout (`--format json`: one object per line per
frame; text mode in a pipe; a live panel in a pseudo-terminal fed to pyte). Tests wait
for a condition; the deadline is only a safety net so that a broken build fails
instead of hanging, and no assertion depends on how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env
from ptyterm import Pty
from telemetry import COMPILE_LINE, HEALTHY, healthy, line
from watching import Json, Spawn, append, shown_bellman

SETTLE = 0.5
"""Seconds left between two writes that must reach the watcher as separate events."""


# --------------------------------------------------------------------------- helpers


def bellman(frame: Json) -> float:
    value = frame["value_function"]["bellman_error"]["value"]
    assert isinstance(value, float | int), frame
    return float(value)


def has_bellman(value: float) -> Callable[[Json], bool]:
    return lambda f: bellman(f) == value


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """run.jsonl in tmp_path, holding the compile line and two healthy records."""
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(3.0) + healthy(4.0))
    return path


# --------------------------------------------------------------------------- following a file


@pytest.mark.parametrize("content", ["", "plain log line\n"])
def test_a_file_with_nothing_of_ours_still_gets_its_first_frame(
    spawn: Spawn, tmp_path: Path, content: str
) -> None:
    """An empty log (a run about to start) is shown at once, not only after its first line."""
    (tmp_path / "run.jsonl").write_text(content)
    w = spawn("run.jsonl", "--format", "json")
    first = w.frame()
    assert (first["source"], first["status"], first["records"]) == ("run.jsonl", "no_data", 0)
    append(tmp_path / "run.jsonl", healthy(5.0))
    assert w.frame(has_bellman(5.0))["records"] == 1


def test_start_frame_then_appends(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json")

    first = w.frame()
    assert first["source"] == "run.jsonl"
    assert first["records"] == 3
    assert first["bad_lines"] == 0
    assert first["last_error"] is None
    assert first["status"] == "ok"
    assert bellman(first) == 4.0
    assert first["infrastructure"]["compile_enabled"] is True
    assert first["infrastructure"]["compile_backend"] == "inductor"

    append(run, healthy(5.0))
    frame = w.frame(has_bellman(5.0))
    assert frame["records"] == 4

    append(run, healthy(6.0) + healthy(7.0, td_error_mean=2.5))
    frame = w.frame(has_bellman(7.0))
    assert frame["records"] == 6
    assert frame["value_function"]["td_error_mean"]["value"] == 2.5
    assert frame["bad_lines"] == 0

    counts = [f["records"] for f in w.frames]
    assert counts == sorted(counts), "records went backwards"


@pytest.mark.parametrize(
    ("text", "cut_after"),
    [
        pytest.param(
            line({"step": 9, "bellman_error": 7.25}), '"bell', id="cut-inside-the-only-key"
        ),
        pytest.param(healthy(7.25, td_error_mean=1.5), '"bellman_error": 7.', id="cut-in-number"),
    ],
)
def test_line_written_in_two_writes(spawn: Spawn, run: Path, text: str, cut_after: str) -> None:
    cut = text.index(cut_after) + len(cut_after)
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == 3

    append(run, text[:cut])
    time.sleep(SETTLE)  # the watcher sees the unfinished line on its own
    append(run, text[cut:])

    frame = w.frame(lambda f: f["records"] == 4)
    assert bellman(frame) == 7.25
    assert [f["bad_lines"] for f in w.frames] == [0] * len(w.frames), w.frames
    assert frame["last_error"] is None


def test_bad_line_mid_stream(spawn: Spawn, tmp_path: Path) -> None:
    run = tmp_path / "run.jsonl"
    # Line 3 names none of our keys: it is not a record but it is still line 3.
    run.write_text(line(COMPILE_LINE) + healthy(3.0) + line({"note": "hello"}) + healthy(4.0))
    w = spawn("run.jsonl", "--format", "json")
    good = w.frame()
    assert (good["records"], good["bad_lines"], bellman(good)) == (3, 0, 4.0)

    append(run, '{"bellman_error": oops}\n')  # line 5
    frame = w.frame(lambda f: f["bad_lines"] == 1)
    assert frame["last_error"].startswith("line 5:"), frame["last_error"]
    assert frame["records"] == 3
    assert frame["value_function"] == good["value_function"]
    assert frame["status"] == good["status"] == "ok"

    append(run, healthy(6.0))  # line 6
    frame = w.frame(has_bellman(6.0))
    assert (frame["records"], frame["bad_lines"]) == (4, 1)
    assert frame["last_error"].startswith("line 5:")

    append(run, line({**HEALTHY, "bellman_error": "high"}))  # line 7: wrong type
    frame = w.frame(lambda f: f["bad_lines"] == 2)
    assert frame["last_error"].startswith("line 7:"), frame["last_error"]
    assert frame["records"] == 4
    assert bellman(frame) == 6.0


@pytest.mark.parametrize(
    ("old", "new", "records"),
    [
        pytest.param(
            line(COMPILE_LINE) + healthy(3.0) + healthy(4.0) + healthy(5.0),
            healthy(11.0),
            1,
            id="shorter",
        ),
        pytest.param(
            # Fewer but longer lines: the old read offset falls inside a new line.
            line(COMPILE_LINE) + healthy(3.0, note="x" * 400),
            healthy(12.0) + healthy(13.0) + healthy(14.0) + healthy(11.0),
            4,
            id="longer",
        ),
    ],
)
def test_truncation_starts_again_from_the_top(
    spawn: Spawn, tmp_path: Path, old: str, new: str, records: int
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(old)
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == old.count("\n")

    assert len(new) != len(old)
    with open(run, "w") as f:  # truncate in place (same inode), then write
        f.write(new)

    frame = w.frame(has_bellman(11.0))
    assert frame["records"] == records
    assert frame["bad_lines"] == 0
    # The compile line of the old content is forgotten: nothing reports it any more.
    assert frame["infrastructure"]["level"] == "no_data"

    append(run, healthy(15.0))
    assert w.frame(has_bellman(15.0))["records"] == records + 1


def test_replaced_by_os_replace(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == 3

    tmp = run.with_name("run.jsonl.tmp")
    tmp.write_text(healthy(21.0) + healthy(22.0))
    os.replace(tmp, run)

    frame = w.frame(has_bellman(22.0))
    assert frame["records"] == 2
    assert frame["infrastructure"]["level"] == "no_data"
    assert frame["note"].startswith("replaced"), "a JSON frame says what the text one says"

    append(run, healthy(23.0))
    assert w.frame(has_bellman(23.0))["records"] == 3


def test_rotated_by_rename_and_new_file(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == 3

    run.rename(run.with_name("run.jsonl.1"))
    run.write_text(healthy(31.0))

    frame = w.frame(has_bellman(31.0))
    assert frame["records"] == 1
    assert frame["infrastructure"]["level"] == "no_data"

    # The rotated-out file is no longer followed.
    append(run.with_name("run.jsonl.1"), healthy(99.0))
    append(run, healthy(32.0))
    frame, before = w.until(has_bellman(32.0))
    assert frame["records"] == 2
    assert all(bellman(f) != 99.0 for f in [*before, frame])


@pytest.mark.parametrize("where", ["dir-exists", "dir-missing"])
def test_late_file(spawn: Spawn, tmp_path: Path, where: str) -> None:
    rel = "run.jsonl" if where == "dir-exists" else "later/run.jsonl"
    w = spawn(rel, "--format", "json")
    first = w.frame()
    assert first["status"] == "no_data"
    assert first["records"] == 0

    path = tmp_path / rel
    path.parent.mkdir(exist_ok=True)
    path.write_text(line(COMPILE_LINE) + healthy(4.25))
    frame = w.frame(has_bellman(4.25))
    assert frame["records"] == 2
    assert frame["status"] == "ok"

    append(path, healthy(4.75))
    assert w.frame(has_bellman(4.75))["records"] == 3


def test_late_file_text_mode_says_waiting(spawn: Spawn, tmp_path: Path) -> None:
    w = spawn("run.jsonl")
    header, body = w.lines(2)
    assert header.startswith("VALUE DIAGNOSTICS | "), header
    assert "waiting for run.jsonl" in header
    assert "0 records" in header
    assert body == "[no data]"

    (tmp_path / "run.jsonl").write_text(healthy(43.0))
    text = ""
    while "1 record" not in text:
        text = w.lines(1)[0]
    assert text.startswith("VALUE DIAGNOSTICS | ")
    assert "waiting" not in text
    assert w.lines(1)[0].endswith("Bellman   43!")


@pytest.mark.parametrize("pause", [True, False], ids=["pause", "no-pause"])
def test_deleted_and_recreated(spawn: Spawn, run: Path, pause: bool) -> None:
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == 3

    run.unlink()
    if pause:
        time.sleep(SETTLE)  # let the watcher see the file gone
    run.write_text(healthy(51.0))

    frame = w.frame(has_bellman(51.0))
    assert frame["records"] == 1
    assert frame["infrastructure"]["level"] == "no_data"

    append(run, healthy(52.0))
    assert w.frame(has_bellman(52.0))["records"] == 2


def test_burst_of_50000_lines(spawn: Spawn, run: Path) -> None:
    n = 50_000
    w = spawn("run.jsonl", "--format", "json")
    assert w.frame()["records"] == 3

    burst = "".join(
        json.dumps({"step": i, "v_return_correlation": 0.9, "bellman_error": i + 0.5}) + "\n"
        for i in range(n)
    )
    append(run, burst)

    frame, before = w.until(has_bellman(n - 1 + 0.5))
    assert frame["records"] == 3 + n
    assert frame["bad_lines"] == 0
    assert frame["infrastructure"]["compile_enabled"] is True
    assert len(w.frames) < 100, f"{len(w.frames)} frames for one write"
    assert all(f["records"] < 3 + n for f in before)


def test_poll_sees_appends_and_replacement(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json", "--poll", "0.1")
    assert w.frame()["records"] == 3

    append(run, healthy(61.0))
    assert w.frame(has_bellman(61.0))["records"] == 4

    tmp = run.with_name("run.jsonl.tmp")
    tmp.write_text(healthy(62.0))
    os.replace(tmp, run)
    assert w.frame(has_bellman(62.0))["records"] == 1


def test_several_files(spawn: Spawn, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(line(COMPILE_LINE) + healthy(3.0))
    b.write_text(healthy(4.0))
    w = spawn("a.jsonl", "b.jsonl", "--format", "json")

    first = {f["source"]: f for f in (w.frame(), w.frame())}
    assert set(first) == {"a.jsonl", "b.jsonl"}
    assert (first["a.jsonl"]["records"], bellman(first["a.jsonl"])) == (2, 3.0)
    assert (first["b.jsonl"]["records"], bellman(first["b.jsonl"])) == (1, 4.0)

    append(b, healthy(5.0))
    frame, before = w.until(lambda f: f["source"] == "b.jsonl" and bellman(f) == 5.0)
    assert frame["records"] == 2
    assert [f["source"] for f in before] == ["b.jsonl"] * len(before)

    append(a, healthy(6.0))
    frame, before = w.until(lambda f: f["source"] == "a.jsonl")
    # The first frame of a after the append to b is the one for a's own append.
    assert (frame["records"], bellman(frame)) == (3, 6.0)
    assert [f["source"] for f in before] == ["b.jsonl"] * len(before)


def test_text_mode_in_a_pipe(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", env=clean_env(TERM="xterm-256color"))

    first = w.lines(6)
    assert first[0].startswith("VALUE DIAGNOSTICS | ok | run.jsonl | 3 records | 0 bad lines")
    assert [t.split()[0] for t in first[1:]] == ["V-Corr", "TD", "Returns", "Ret", "Compile"]
    assert first[1].endswith("Bellman   4")

    append(run, healthy(5.0))
    second = w.lines(7)
    assert second[0] == "", "frames are separated by one blank line"
    assert second[1].startswith("VALUE DIAGNOSTICS | ok | run.jsonl | 4 records")
    assert [t.split()[0] for t in second[2:]] == ["V-Corr", "TD", "Returns", "Ret", "Compile"]
    assert second[2].endswith("Bellman   5")

    for text in [*first, *second[1:]]:
        assert text and not text[0].isspace(), f"not at column 0: {text!r}"
        assert not text.startswith(("│", "|", "╭", "╰", "+")), f"bordered: {text!r}"
    raw = bytes(w.raw)
    assert b"\x1b" not in raw
    assert b"\r" not in raw


# --------------------------------------------------------------------------- stdin


@pytest.mark.parametrize("last_newline", [True, False], ids=["newline-at-end", "no-newline"])
def test_stdin_follows_to_eof(spawn: Spawn, last_newline: bool) -> None:
    w = spawn("-", "--format", "json", stdin=True)
    stdin = w.popen.stdin
    assert stdin is not None

    stdin.write((line(COMPILE_LINE) + healthy(3.0)).encode())
    stdin.flush()
    frame = w.frame(lambda f: f["records"] == 2)
    assert frame["source"] == "<stdin>"
    assert bellman(frame) == 3.0

    stdin.write(healthy(4.0).encode())
    stdin.flush()
    assert w.frame(has_bellman(4.0))["records"] == 3

    tail = healthy(5.0) + healthy(6.0)
    stdin.write((tail if last_newline else tail.removesuffix("\n")).encode())
    stdin.close()

    assert w.wait() == 0, w.stderr
    last = (w.rest() or w.frames)[-1]
    assert last["records"] == 5
    assert bellman(last) == 6.0
    assert last["bad_lines"] == 0


# --------------------------------------------------------------------------- ending


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_signal_exits_cleanly(spawn: Spawn, run: Path, sig: signal.Signals, source: str) -> None:
    if source == "file":
        w = spawn("run.jsonl", "--format", "json")
    else:
        w = spawn("-", "--format", "json", stdin=True)  # stdin stays open: no EOF
    w.frame()

    w.send(sig)

    assert w.wait() == 0, w.stderr
    w.rest()
    assert "Traceback" not in w.stderr, w.stderr


def test_fail_on_critical(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json", "--fail-on", "critical")
    assert w.frame()["status"] == "ok"

    append(run, healthy(30.0))
    assert w.frame(has_bellman(30.0))["status"] == "warning"  # not enough to stop

    append(run, healthy(80.0))
    frame = w.frame(has_bellman(80.0))
    assert frame["status"] == "critical"
    assert w.wait() == 1, w.stderr
    assert w.rest() == [], "the critical frame is the last one"
    assert "Traceback" not in w.stderr


def test_fail_on_warning(spawn: Spawn, run: Path) -> None:
    w = spawn("run.jsonl", "--format", "json", "--fail-on", "warning")
    assert w.frame()["status"] == "ok"

    append(run, healthy(30.0))
    frame = w.frame(has_bellman(30.0))
    assert frame["status"] == "warning"
    assert w.wait() == 1, w.stderr
    assert w.rest() == []


def test_fail_on_reached_by_what_the_file_already_holds(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "run.jsonl").write_text(healthy(3.0) + healthy(80.0))
    w = spawn("run.jsonl", "--format", "json", "--fail-on", "critical")
    frame = w.frame()
    assert (frame["status"], frame["records"]) == ("critical", 2)
    assert w.wait() == 1, w.stderr


# --------------------------------------------------------------------------- pseudo-terminal

COLS, ROWS = 100, 30


def drawn(value: str) -> Callable[[list[str]], bool]:
    """Whether the screen shows this Bellman value."""
    return lambda lines: value in shown_bellman(lines)


def panels(lines: list[str]) -> int:
    return sum("VALUE DIAGNOSTICS" in text for text in lines)


def test_live_panel_in_a_pseudo_terminal(tmp_path: Path) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(line(COMPILE_LINE))
    term = Pty(["watch", "run.jsonl"], tmp_path, cols=COLS, rows=ROWS)
    try:
        term.wait_for(lambda s: panels(s) == 1, "the first panel")
        values = [i + 0.5 for i in range(1, 41)]
        for v in values:
            append(run, line({"step": v, "bellman_error": v}))
            term.wait_for(drawn(f"{v:.1f}"), f"Bellman {v:.1f}")

        # The value is drawn before the caption under it: wait for the whole last panel.
        shown = term.wait_for(
            lambda s: shown_bellman(s) == ["40.5"] and "41 records" in "\n".join(s),
            "the last panel: Bellman 40.5 and 41 records",
        )
        text = "\n".join(shown)
        assert panels(shown) == 1, text
        assert term.screen.in_alt, "the live panel belongs on the alternate screen"
        assert term.screen.cursor.hidden, "the cursor is hidden while the panel is live"

        os.kill(term.popen.pid, signal.SIGINT)
        assert term.popen.wait(timeout=DEADLINE) == 0
        term.reader.join(timeout=DEADLINE)

        shown = term.display()
        text = "\n".join(shown)
        assert term.screen.alt_entries == 1
        assert not term.screen.in_alt, "the alternate screen was not left"
        assert term.screen.cursor.hidden is False, "the cursor was not shown again"
        # The final frame stays on the normal screen after exit.
        assert panels(shown) == 1, text
        assert shown_bellman(shown) == ["40.5"], text
        assert "Traceback" not in term.raw.decode("utf-8", "replace")
    finally:
        term.close()
