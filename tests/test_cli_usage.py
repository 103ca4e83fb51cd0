"""Usage errors in one voice, watch's --poll rule, and help that reads cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES, clean_env, invoke, run_cli
from ptyterm import Pty

USAGE_ONCE = "Usage: value-diag once [OPTIONS] PATH..."
USAGE_WATCH = "Usage: value-diag watch [OPTIONS] PATH..."
USAGE_SIMULATE = "Usage: value-diag simulate [OPTIONS] OUT"
USAGE_TOP = "Usage: value-diag [OPTIONS] COMMAND [ARGS]..."


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (
            ["once", "x", "--format", "yaml"],
            USAGE_ONCE,
            "--format must be one of text, json, github, markdown, not 'yaml'",
        ),
        (
            ["once", "x", "--history", "1"],
            USAGE_ONCE,
            "--history must be a whole number from 2 to 10000, not '1'",
        ),
        (
            ["once", "x", "--history", "abc"],
            USAGE_ONCE,
            "--history must be a whole number from 2 to 10000, not 'abc'",
        ),
        (["once"], USAGE_ONCE, "missing PATH"),
        (["simulate"], USAGE_SIMULATE, "missing OUT"),
        (["simulate", "a", "b", "c"], USAGE_SIMULATE, "unexpected arguments: b c"),
        (["once", "x", "--zzz"], USAGE_ONCE, "no such option --zzz"),
        (
            ["once", "x", "--compar"],
            USAGE_ONCE,
            "no such option --compar (did you mean --compare?)",
        ),
        (["once", "x", "--format"], USAGE_ONCE, "--format needs a value"),
        (["once", "--ascii=yes", "x"], USAGE_ONCE, "--ascii takes no value"),
        (["onc", "x"], USAGE_TOP, "no such command 'onc' (did you mean once?)"),
        (["once", "x", "--poll"], USAGE_ONCE, "--poll is an option of watch, not of once"),
        (["once", "-", "x"], USAGE_ONCE, "- (stdin) cannot be read together with files"),
        (
            ["thresholds", "--config", "a.toml", "--no-config"],
            "Usage: value-diag thresholds [OPTIONS]",
            "--config and --no-config cannot go together",
        ),
        (
            ["watch", "x", "--poll=0,5"],
            USAGE_WATCH,
            "--poll must be a number from 0.01 to 3600, not '0,5'",
        ),
        (
            ["watch", "x", "--poll=nan"],
            USAGE_WATCH,
            "--poll must be a number from 0.01 to 3600, not 'nan'",
        ),
        (
            ["once", "x", "--fail-count", "0"],
            USAGE_ONCE,
            "--fail-count must be a whole number of at least 1, not '0'",
        ),
        *(
            (
                ["once", "x", "--warmup", given],
                USAGE_ONCE,
                f"--warmup must be a whole number from 0 to 1000000, not {given!r}",
            )
            for given in ("5.0", "1_0", "\uff15", "-1", "")
        ),
    ],
)
def test_every_usage_error_is_the_usage_line_then_one_error_line(
    tmp_path: Path, args: list[str], usage: str, error: str
) -> None:
    proc = invoke(args)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [usage, f"value-diag: error: {error}"]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0,5", "--poll takes SECONDS as a number such as 0.5, not '0,5'"),
        (
            "abc",
            "--poll 'abc': not a number of seconds, nor an existing file"
            " (to wait for a file not there yet, give SECONDS: --poll 0.5 abc)",
        ),
    ],
)
def test_a_word_after_poll_that_is_no_number_and_no_file_is_refused(
    tmp_path: Path, value: str, error: str
) -> None:
    """Not a second file to wait for forever."""
    run = tmp_path / "run.jsonl"
    run.write_text('{"bellman_error": 1.0}\n')
    proc = invoke(["watch", str(run), "--poll", value], timeout=10)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [USAGE_WATCH, f"value-diag: error: {error}"]


@pytest.mark.parametrize("where", ["before-file", "last", "before-option"])
def test_a_bare_poll_means_the_default_interval(tmp_path: Path, where: str) -> None:
    """--poll then an existing file, the end, or another option: every 0.5 s, one file."""
    run = tmp_path / "run.jsonl"
    run.write_text('{"bellman_error": 1.0}\n')
    args = {
        "before-file": ["watch", "--poll", str(run)],
        "last": ["watch", str(run), "--poll"],
        "before-option": ["watch", str(run), "--poll", "--fail-on", "warning"],
    }[where]
    run.write_text('{"bellman_error": 1e9}\n')  # critical: --fail-on ends the watch
    proc = run_cli([*args, "--fail-on", "critical", "--format", "json"], timeout=20)
    assert proc.returncode == 1, proc.stderr
    frames = proc.stdout.decode().splitlines()
    assert len(frames) == 1 and '"source":"' + str(run) + '"' in frames[0].replace(" ", "")


@pytest.mark.parametrize("given", ["+2", " 2 ", "2"])
def test_a_whole_number_may_carry_a_sign_and_spaces(given: str) -> None:
    """One critical run: --fail-count 2 passes the gate where 1 fails it."""
    gate = ["once", str(SAMPLES / "collapse.jsonl"), "--fail-on", "critical", "--fail-count"]
    assert invoke([*gate, "1"]).returncode == 1
    proc = invoke([*gate, given])
    assert proc.returncode == 0, proc.stderr
    assert b"fewer than --fail-count 2:" in proc.stderr


def test_dash_v_is_the_version() -> None:
    short, long = invoke(["-V"]), invoke(["--version"])
    assert short.returncode == long.returncode == 0
    assert short.stdout == long.stdout and short.stdout.startswith(b"value-diag ")


HELPS = [["--help"], ["once", "--help"], ["watch", "--help"], ["simulate", "--help"],
         ["demo", "--help"], ["thresholds", "--help"], ["report", "--help"]]  # fmt: skip


def _clean(text: str, width: int) -> None:
    for bad in ("{", "<int", "<float", "list[str]", "<str>", "<text", "x<=", "[required]"):
        assert bad not in text, bad
    assert all(len(line) <= width for line in text.splitlines()), max(text.splitlines(), key=len)
    assert "value-\n" not in text and "esper-\n" not in text, "a name broken at its hyphen"
    assert "..." not in text.replace("PATH...", "").replace("[ARGS]...", "")


@pytest.mark.parametrize("args", HELPS, ids=lambda a: a[0])
def test_help_in_a_pipe_is_clean(args: list[str]) -> None:
    proc = invoke(args)
    assert proc.returncode == 0 and proc.stderr == b""
    _clean(proc.stdout.decode(), 78)


@pytest.mark.parametrize("args", HELPS, ids=lambda a: a[0])
def test_help_on_a_terminal_80_columns_wide_is_clean(tmp_path: Path, args: list[str]) -> None:
    term = Pty(args, tmp_path, cols=80, rows=24)
    try:
        assert term.popen.wait(timeout=30) == 0
        term.reader.join(timeout=30)
        _clean(term.text.replace("\r\n", "\n"), 78)
    finally:
        term.close()


def test_the_command_list_gives_each_command_one_whole_line() -> None:
    text = invoke(["--help"]).stdout.decode()
    commands = text.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in commands] == [
        "once", "watch", "report", "thresholds", "simulate", "demo"
    ]  # fmt: skip
    assert all(line.rstrip().endswith(".") for line in commands)


def test_usage_errors_keep_to_stderr_whatever_the_width() -> None:
    proc = invoke(["once", "x", "--format", "yaml"], env=clean_env(COLUMNS="40"))
    assert proc.stderr.decode().splitlines()[0] == USAGE_ONCE
