"""The Environment a command line runs against: its streams, variables and clock are the
only ones the command sees, and `say` is the one voice of every `value-diag:` line."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest
from conftest import SAMPLES, clean_env, invoke

from value_diag.cli import main
from value_diag.environment import Environment


def memory_env(**kwargs: object) -> tuple[Environment, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(),
        stdout=out,
        stderr=err,
        environ=clean_env(),
        **kwargs,  # type: ignore[arg-type]
    )
    return env, out, err


def test_say_is_one_line_in_the_programs_voice() -> None:
    env, out, err = memory_env()
    env.say("wrote r.html: 2 runs, 40 kB")
    env.say("cannot read run.jsonl: no such file", "error")
    assert err.getvalue() == (
        "value-diag: wrote r.html: 2 runs, 40 kB\n"
        "value-diag: error: cannot read run.jsonl: no such file\n"
    )
    assert out.getvalue() == ""


def test_stderr_never_shows_a_urls_user_and_password() -> None:
    env, _, err = memory_env()
    env.say("cannot read https://bob:hunter2@example.com/run.jsonl", "error")
    assert "hunter2" not in err.getvalue() and "bob" not in err.getvalue()
    assert "example.com/run.jsonl" in err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["once", str(SAMPLES / "collapse.jsonl"), "--fail-on", "critical"],
        ["once", "missing.jsonl"],
        ["once", "x", "--format", "yaml"],
        ["--help"],
        ["-V"],
        ["thresholds"],
    ],
    ids=["verdict", "unreadable", "usage", "help", "version", "thresholds"],
)
def test_a_command_line_writes_to_its_environments_streams_only(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    proc = invoke(args)
    assert proc.stdout or proc.stderr
    assert capsys.readouterr() == ("", ""), "nothing reaches the process's own streams"


def test_the_process_streams_are_given_back_after_a_run() -> None:
    before = sys.stdin, sys.stdout, sys.stderr
    env, _, err = memory_env()
    assert main(["once", "x", "--zzz"], env) == 2
    assert (sys.stdin, sys.stdout, sys.stderr) == before
    assert err.getvalue().endswith("value-diag: error: no such option --zzz\n")


def test_once_reads_the_environments_clock() -> None:
    """A run's age is now minus its last record's time, now being the Environment's."""
    path = str(SAMPLES / "healthy.jsonl")
    mtime = os.stat(path).st_mtime
    ages = []
    for later in (0.0, 3600.0):
        env, out, _ = memory_env(clock=lambda later=later: mtime + 100.0 + later)
        assert main(["once", path, "--format", "json"], env) == 0
        ages.append(json.loads(out.getvalue())["age_s"])
    assert ages[1] - ages[0] == pytest.approx(3600.0)


def test_once_reads_the_environments_variables() -> None:
    """COLUMNS fits a comparison to a width: from the Environment, not the process."""
    env, out, _ = memory_env()
    env.environ = clean_env(COLUMNS="60")
    runs = [str(SAMPLES / f"{name}.jsonl") for name in ("healthy", "collapse")]
    assert main(["once", *runs, "--compare"], env) == 0
    assert max(len(line) for line in out.getvalue().splitlines()) <= 60
