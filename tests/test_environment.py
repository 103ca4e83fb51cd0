"""The Environment a command line runs against: its streams, variables and clock are the
only ones the command sees, and `say` is the one voice of every `value-diag:` line."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

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


def file_env(path: Path, **environ: str) -> tuple[Environment, io.StringIO, io.StringIO]:
    """An Environment whose stdin is the file at ``path``, as `watch - < run.jsonl` reads
    it: a descriptor, not an in-memory stream."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=path.open(encoding="utf-8"),
        stdout=out,
        stderr=err,
        environ=clean_env(**environ),
    )
    return env, out, err


def test_watch_writes_the_step_summary_its_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GITHUB_STEP_SUMMARY is read from the Environment's variables, not the process's."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    summary = tmp_path / "summary.md"
    env, out, _ = file_env(SAMPLES / "collapse.jsonl", GITHUB_STEP_SUMMARY=str(summary))
    with env.stdin:
        assert main(["watch", "-", "--format", "github"], env) == 0
    assert "::error" in out.getvalue()
    assert summary.read_text(encoding="utf-8").startswith("#")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("command", ["once", "watch"])
def test_a_step_summary_that_cannot_be_written_is_a_warning_in_the_environments_voice(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A summary path that is a folder: the annotations and exit code stand, and one
    warning is said on the Environment's stderr."""
    path = SAMPLES / "healthy.jsonl"
    env, out, err = file_env(path, GITHUB_STEP_SUMMARY=str(tmp_path))
    args = [command, "-" if command == "watch" else str(path), "--format", "github"]
    with env.stdin:
        assert main(args, env) == 0
    assert "::notice" in out.getvalue()
    said = err.getvalue().splitlines()
    assert said == [f"value-diag: warning: cannot write step summary {tmp_path}: Is a directory"]
    assert capsys.readouterr() == ("", "")


def test_watch_says_its_verdict_on_the_environments_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`watch - --fail-on critical` in-process: exit 1, the run's verdict on stderr."""
    env, out, err = file_env(SAMPLES / "collapse.jsonl")
    with env.stdin:
        assert main(["watch", "-", "--fail-on", "critical", "--format", "json"], env) == 1
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last["status"] == "critical", "the frame that fired, on the Environment's stdout"
    assert err.getvalue().startswith("value-diag: <stdin> reached critical (--fail-on critical")
    assert capsys.readouterr() == ("", "")


def test_the_live_view_says_its_closing_line_on_its_environments_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The live view keeps the closing line until the alternate screen is left, then says
    it on its Environment's stderr (not the process's)."""
    from value_diag.options import ColorMode
    from value_diag.render.frames import Renderer
    from value_diag.render.terminal import make_console
    from value_diag.tui.live import LiveSink

    env, _, err = memory_env()
    console = make_console(ColorMode.ALWAYS, file=io.StringIO(), environ=clean_env())
    sink = LiveSink(console, Renderer(), env=env)
    with sink:
        sink.conclude("value-diag: run reached critical")
        assert err.getvalue() == ""  # the alternate screen would hide it
    assert err.getvalue() == "value-diag: run reached critical\n"
    assert capsys.readouterr() == ("", "")


def test_the_live_view_says_every_closing_line_in_order() -> None:
    """--fail-count names each run that failed, then the count: the live view keeps them
    all for its Environment's stderr, as the streamed view writes them."""
    from value_diag.options import ColorMode
    from value_diag.render.frames import Renderer
    from value_diag.render.terminal import make_console
    from value_diag.tui.live import LiveSink

    env, _, err = memory_env()
    console = make_console(ColorMode.ALWAYS, file=io.StringIO(), environ=clean_env())
    lines = [
        "value-diag: a reached critical (--fail-on critical): V-Fit",
        "value-diag: b reached critical (--fail-on critical): V-Fit",
        "value-diag: 2 of 2 runs reached critical (--fail-count 2)",
    ]
    with LiveSink(console, Renderer(), env=env) as sink:
        for line in lines:
            sink.conclude(line)
    assert err.getvalue().splitlines() == lines
