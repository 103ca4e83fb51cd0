"""Hostile terminals and environments, through the real console script.

A 20-column and a 2-line terminal (a pseudo-terminal of that size, read back through pyte),
TERM=dumb, a C locale or an ASCII-only stdout, stdout closed, stdin not a terminal. In each,
value-diag draws what fits without wrapping into garbage, picks glyphs the output can
show, never prints a traceback, and exits with a code that means something.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, run_cli, script
from ptyterm import Pty
from telemetry import COMPILE_LINE, healthy, line, timeless
from watching import append

BORDER_ROWS = ("╭", "│ V-Corr", "│ TD Mean", "│ Returns", "│ Ret σ", "│ Compile", "╰")
ASCII_ROWS = ("+", "| V-Corr", "| TD Mean", "| Returns", "| Ret sigma", "| Compile", "+")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """run.jsonl: compile on and healthy values with a long file name, so lines are wide."""
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(3.0) + healthy(4.0))
    return path


def panel_at(screen: list[str], top: int, rows: tuple[str, ...] = BORDER_ROWS) -> bool:
    """A whole panel from row ``top``: each row starts and ends as a border, none wrapped."""
    cols = len(screen[0])
    ends = (
        ("╮", "│", "│", "│", "│", "│", "╯") if rows is BORDER_ROWS else ("+",) + ("|",) * 5 + ("+",)
    )
    if top + len(rows) > len(screen):
        return False
    for row, start, end in zip(screen[top:], rows, ends, strict=False):
        body = row.rstrip()
        if not (body.startswith(start) and body.endswith(end) and len(body) <= cols):
            return False
    return True


def find_panel(screen: list[str], rows: tuple[str, ...] = BORDER_ROWS) -> int | None:
    return next((i for i in range(len(screen)) if panel_at(screen, i, rows)), None)


# --------------------------------------------------------------------------- 20 columns


def test_once_in_20_columns_truncates_every_line(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("once", "run.jsonl", cwd=tmp_path, cols=20, rows=12)
    assert term.finish() == 0, term.text
    screen = list(term.screen.display)
    top = find_panel(screen)
    assert top is not None, "\n".join(screen)
    # Cut with an ellipsis at the border, not wrapped onto the next row.
    assert screen[top + 1].rstrip().endswith("… │"), screen[top + 1]
    assert screen[top + 7].strip() == "", "a row after the panel: something wrapped"
    assert "Traceback" not in term.text


def test_watch_in_20_columns_redraws_in_place(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("watch", "run.jsonl", cwd=tmp_path, cols=20, rows=12)
    term.wait_for(lambda s: find_panel(s) is not None, "the panel")
    append(run, healthy(5.0, td_error_mean=-7.5))
    # Narrower than the panel: the padding goes first (label and gap one space wide).
    shown = term.wait_for(lambda s: any("│ TD Mean -7.5" in r for r in s), "TD Mean -7.5")
    assert find_panel(shown) == 0, "\n".join(shown)
    assert sum("V-Corr" in r for r in shown) == 1, "\n".join(shown)
    assert term.finish() == 0
    assert find_panel(list(term.screen.display)) is not None
    assert "Traceback" not in term.text


def test_ascii_only_stdout_in_20_columns(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    """Cut lines in ASCII: no ellipsis character the encoding could not print."""
    term = ptys("once", "run.jsonl", cwd=tmp_path, cols=20, rows=12, PYTHONIOENCODING="ascii")
    assert term.finish() == 0, term.text
    assert find_panel(list(term.screen.display), ASCII_ROWS) is not None, term.text
    assert term.raw.isascii(), term.text


# --------------------------------------------------------------------------- 2 lines


def test_watch_in_2_lines_shows_the_top_and_redraws_it(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("watch", "run.jsonl", cwd=tmp_path, cols=60, rows=2)
    term.wait_for(lambda s: "V-Corr    0.9↗" in s[1], "the first two rows of the panel")
    append(run, healthy(5.0, v_return_correlation=0.4))
    shown = term.wait_for(lambda s: "V-Corr    0.4→" in s[1], "V-Corr 0.4")
    assert shown[0].startswith("╭") and "VALUE DIAGNOSTICS" in shown[0], shown
    assert term.finish() == 0
    assert "Traceback" not in term.text


def test_once_in_2_lines_prints_the_whole_panel(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("once", "run.jsonl", cwd=tmp_path, cols=60, rows=2)
    assert term.finish() == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", term.text)  # colours
    lines = plain.replace("\r", "").split("\n")
    assert find_panel([ln.ljust(60) for ln in lines if ln]) == 0, plain


# --------------------------------------------------------------------------- TERM=dumb


def test_once_on_a_dumb_terminal_fits_its_real_width(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("once", "run.jsonl", cwd=tmp_path, cols=40, rows=12, TERM="dumb")
    assert term.finish() == 0
    screen = list(term.screen.display)
    assert find_panel(screen) is not None, "\n".join(screen)
    assert b"\x1b" not in term.raw, "a dumb terminal gets no escape sequences"


def test_watch_on_a_dumb_terminal_prints_frame_after_frame(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    """A dumb terminal cannot redraw in place: every update is a new plain frame, as it comes."""
    term = ptys("watch", "run.jsonl", cwd=tmp_path, cols=40, rows=30, TERM="dumb")
    term.wait_for_raw(b"Bellman   4\r\n")
    append(run, healthy(5.0))
    term.wait_for_raw(b"Bellman   5\r\n")
    assert term.finish() == 0
    lines = term.text.replace("\r", "").split("\n")
    assert sum(ln.startswith("VALUE DIAG") for ln in lines) >= 2, term.text
    assert all(len(ln) <= 40 for ln in lines), term.text
    # The header fits: the counts, then the title make room for the source and the age.
    header = re.compile(r"VALUE DIAG\w*… \| ok \| run\.jsonl \| \d+s ago")
    assert any(header.fullmatch(ln) for ln in lines), term.text
    assert b"\x1b" not in term.raw, "a dumb terminal gets no escape sequences"
    assert "Traceback" not in term.text


# --------------------------------------------------------------------------- locale and encoding

ASCII_ENVS = [
    pytest.param({"LANG": "C"}, id="LANG=C"),
    pytest.param({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, id="LC_ALL=C"),
    pytest.param({"LANG": "", "LC_ALL": "", "LC_CTYPE": ""}, id="no-locale"),
    pytest.param({"PYTHONIOENCODING": "ascii"}, id="PYTHONIOENCODING=ascii"),
    pytest.param({"PYTHONIOENCODING": "latin-1"}, id="PYTHONIOENCODING=latin-1"),
]
UNICODE_ENVS = [
    pytest.param({"LANG": "C.UTF-8"}, id="LANG=C.UTF-8"),
    pytest.param({"LANG": "C", "PYTHONUTF8": "1"}, id="PYTHONUTF8=1"),
]


def locale_env(**extra: str) -> dict[str, str]:
    env = clean_env()
    for name in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING", "PYTHONUTF8"):
        env.pop(name, None)
    env.update({k: v for k, v in extra.items() if v})
    return env


@pytest.mark.parametrize("env", ASCII_ENVS)
def test_ascii_glyphs_are_chosen_by_themselves(env: dict[str, str]) -> None:
    proc = run_cli(
        ["once", "-"], input=(line(COMPILE_LINE) + healthy(3.0)).encode(), env=locale_env(**env)
    )
    out = proc.stdout.decode("ascii")
    assert proc.returncode == 0, proc.stderr
    assert "Ret sigma" in out and "inductor:default OK" in out, out
    assert proc.stderr == b""


@pytest.mark.parametrize("env", UNICODE_ENVS)
def test_unicode_glyphs_where_the_locale_has_them(env: dict[str, str]) -> None:
    proc = run_cli(
        ["once", "-"], input=(line(COMPILE_LINE) + healthy(3.0)).encode(), env=locale_env(**env)
    )
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "Ret σ" in out and "inductor:default ✓" in out, out


def test_watch_under_lang_c_draws_an_ascii_panel(
    run: Path, tmp_path: Path, ptys: Callable[..., Pty]
) -> None:
    term = ptys("watch", "run.jsonl", cwd=tmp_path, cols=60, rows=12, LANG="C")
    term.wait_for(lambda s: find_panel(s, ASCII_ROWS) is not None, "an ASCII panel")
    assert term.finish() == 0
    assert term.raw.isascii(), term.text


# --------------------------------------------------------------------------- closed stdout


def shell(command: str, cwd: Path, timeout: float = DEADLINE) -> subprocess.CompletedProcess[bytes]:
    """Runs a shell command line with the console script as $VD."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        env=clean_env(VD=" ".join(script())),
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param("", 0, id="text"),
        pytest.param("--format json", 0, id="json"),
        pytest.param("--fail-on warning", 1, id="verdict-kept"),
    ],
)
def test_once_with_stdout_closed(run: Path, tmp_path: Path, args: str, code: int) -> None:
    append(run, healthy(30.0))  # a warning
    proc = shell(f"$VD once run.jsonl {args} >&-", tmp_path)
    assert proc.returncode == code, proc.stderr
    said = "value-diag: run.jsonl reached warning (--fail-on warning): Bellman\n" if code else ""
    assert proc.stderr.decode("utf-8") == said, "the verdict is said, nothing else"


def wait_until_open(pid: int, path: Path) -> None:
    """Waits until the process has ``path`` open: it is following it (a safety-net limit)."""
    fds = Path(f"/proc/{pid}/fd")
    for _ in range(int(DEADLINE / 0.01)):
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        except OSError:  # a descriptor closed while looking
            pass
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never opened {path}")


def test_watch_with_stdout_closed_still_follows_and_judges(run: Path, tmp_path: Path) -> None:
    """Like /dev/null: nothing shows, but --fail-on still ends it, with its exit code."""
    proc = subprocess.Popen(
        ["bash", "-c", "exec $VD watch run.jsonl --fail-on critical >&-"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        env=clean_env(VD=" ".join(script())),
    )
    try:
        wait_until_open(proc.pid, run)
        assert proc.poll() is None, "watch ended on its own"
        append(run, healthy(80.0))  # critical
        assert proc.wait(timeout=DEADLINE) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    said = b"value-diag: run.jsonl reached critical (--fail-on critical): Bellman\n"
    assert err == said, err.decode()


def test_watch_with_stdout_closed_ends_cleanly_on_sigterm(run: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        ["bash", "-c", "exec $VD watch run.jsonl >&-"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        env=clean_env(VD=" ".join(script())),
    )
    try:
        wait_until_open(proc.pid, run)
        assert proc.poll() is None, "watch ended on its own"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert err == b"", err.decode()


# --------------------------------------------------------------------------- stdin


def test_once_with_stdin_from_dev_null(run: Path, tmp_path: Path) -> None:
    proc = shell("$VD once run.jsonl --format json </dev/null", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records"] == 3


@pytest.mark.parametrize("redirect", ["</dev/null", "<&-"])
def test_once_stdin_empty_or_closed_is_no_data(tmp_path: Path, redirect: str) -> None:
    proc = shell(f"$VD once - --format json {redirect}", tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["status"] == "no_data"
    assert proc.stderr == b""


@pytest.mark.parametrize("redirect", ["</dev/null", "<&-"])
def test_watch_stdin_from_dev_null_ends_at_once(tmp_path: Path, redirect: str) -> None:
    proc = shell(f"$VD watch - --format json {redirect}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert frames and frames[-1]["status"] == "no_data"
    assert proc.stderr == b""


def test_watch_stdin_from_a_file_equals_once(run: Path, tmp_path: Path) -> None:
    """A regular file as stdin (epoll refuses those) is read to its end. The watch judges
    its frame a moment after reading the lines, once at the moment it read them: only the
    ages may differ."""
    watched = shell("$VD watch - --format json <run.jsonl", tmp_path)
    once = shell("$VD once - --format json <run.jsonl", tmp_path)
    assert watched.returncode == 0, watched.stderr
    last, read = json.loads(watched.stdout.splitlines()[-1]), json.loads(once.stdout)
    assert timeless(last) == timeless(read)
    assert (last["age_s"] is None, read["age_s"] is None) == (False, False), "both know it"
