"""Reports fed hostile input: markdown that renders as written, GitHub output, failed writes.

CLI behaviour runs the real console script in a subprocess, as a CI job would.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
from pathlib import Path

import pytest
from conftest import SAMPLES, clean_env, invoke
from hostile import BACKEND, DATA_MARKERS, MODE, SAFE_TAGS, gfm, hostile_run
from telemetry import COLLAPSE_CULPRITS, metrics
from watching import Spawn


@pytest.mark.parametrize("fmt", ["markdown", "github"])
def test_markdown_renders_every_string_from_the_file_as_written(tmp_path: Path, fmt: str) -> None:
    path = hostile_run(tmp_path)
    summary = tmp_path / "summary.md"
    proc = invoke(["once", path, "--format", fmt], env=clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    text = proc.stdout.decode("utf-8") if fmt == "markdown" else summary.read_text("utf-8")
    assert text.startswith("### VALUE DIAGNOSTICS: ")

    page = gfm(text)
    assert page.tags <= SAFE_TAGS, page.tags - SAFE_TAGS
    for marker in DATA_MARKERS:  # where GitHub would link URLs, mentions and refs
        assert marker not in page.outside, (marker, page.outside)
    assert path in page.code, "the source path, whole, in one code span"
    assert f"{BACKEND}:{MODE}" in page.code, page.code
    assert any(re.fullmatch(r"line 3: invalid JSON: .+", code) for code in page.code), page.code
    assert "| Bellman | 30 | **warning** |" in text, "numbers and levels stay plain"


@pytest.mark.parametrize(
    "data",
    ["`", "``a``", "a`b", " a ", "  ", "` x `", "a|b\\|c", "x\\", "<a href=x>&amp;"],
)
def test_code_span_shows_its_text_exactly_in_a_paragraph_and_in_a_table(data: str) -> None:
    from value_diag.render.markdown import _code

    paragraph = gfm(f"last: {_code(data)}\n")
    assert paragraph.code == [data], _code(data)
    table = gfm(f"| a | b |\n|---|---|\n| Compile | {_code(data, in_table=True)} |\n")
    assert table.code == [data], _code(data, in_table=True)
    assert "td" in table.tags, "the row stayed a table row"


def test_code_span_of_nothing_is_nothing() -> None:
    from value_diag.render.markdown import _code

    assert _code("") == ""
    assert _code("\x1b[31m") == "", "what cleaning leaves"


# --- --format github -----------------------------------------------------------------------


def test_github_annotations_come_first_and_an_unwritable_summary_is_a_warning(
    tmp_path: Path,
) -> None:
    path = str(SAMPLES / "collapse.jsonl")
    args = ["once", path, "--format", "github", "--fail-on", "critical"]
    expected = invoke(args)
    assert expected.returncode == 1
    assert expected.stdout.count(b"::error ") >= 3

    summary = tmp_path / "no-such-dir" / "s.md"
    proc = invoke(args, env=clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert proc.returncode == 1, "the verdict, not the summary, decides the exit code"
    assert proc.stdout == expected.stdout, "every annotation is printed"
    assert proc.stderr.decode("utf-8").splitlines() == [
        f"value-diag: warning: cannot write step summary {summary}: No such file or directory",
        f"value-diag: {path} reached critical (--fail-on critical): {COLLAPSE_CULPRITS}",
    ]


def append(path: Path, **overrides: float) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (json.dumps(metrics(**overrides)) + "\n").encode())
    finally:
        os.close(fd)


def new_run(path: Path, **overrides: float) -> Path:
    compile_ = {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "default"}
    path.write_text(json.dumps(compile_) + "\n" + json.dumps(metrics(**overrides)) + "\n")
    return path


def title(annotation: str) -> tuple[str, str]:
    """(command, title) of a workflow command, with the source the message begins with."""
    match = re.fullmatch(r"::(\w+) title=([^:]*)::([^:]*): .*", annotation)
    assert match is not None, annotation
    return match[1], f"{match[3]} {match[2]}"


def test_watch_annotates_level_changes_per_source_and_summarises_once_at_exit(
    tmp_path: Path, spawn: Spawn
) -> None:
    a = new_run(tmp_path / "a.jsonl")
    b = new_run(tmp_path / "b.jsonl", bellman_error=30.0)
    summary = tmp_path / "summary.md"
    env = clean_env(GITHUB_STEP_SUMMARY=str(summary))
    w = spawn("a.jsonl", "b.jsonl", "--format", "github", "--fail-on", "critical", env=env)
    assert w.lines(1)[0].startswith("::notice title=value-diag::a: ok, ")
    assert title(w.lines(1)[0]) == ("warning", "b value-diag%3A Bellman warning")

    append(a, bellman_error=30.0)  # b's Bellman warning says nothing about a's
    append(a, bellman_error=30.5)  # ... and a's is said once it has held for two updates
    assert title(w.lines(1)[0]) == ("warning", "a value-diag%3A Bellman warning")
    append(a, bellman_error=31.0, td_error_mean=6.0)  # Bellman unchanged: not repeated
    append(a, bellman_error=31.0, td_error_mean=6.0)
    assert title(w.lines(1)[0]) == ("warning", "a value-diag%3A TD Mean warning")
    append(a, bellman_error=32.0, td_error_mean=1.0)  # a recovery is news too
    append(a, bellman_error=32.0, td_error_mean=1.0)
    command, named = title(w.lines(1)[0])
    assert command == "notice" and named.startswith("a value-diag%3A TD Mean "), named
    assert not summary.exists(), "the summary waits for the end"

    append(b, bellman_error=60.0)
    append(b, bellman_error=60.0)
    assert title(w.lines(1)[0]) == ("error", "b value-diag%3A Bellman critical")
    assert w.rest_lines() == []
    assert w.wait() == 1
    md = summary.read_text(encoding="utf-8")
    sections = md.split("### VALUE DIAGNOSTICS: ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["`a`", "`b`"], md
    assert "| Bellman | 32 | **warning** |" in sections[0], "a's last frame"
    assert "| TD Mean | +1 |" in sections[0]
    assert "| Bellman | 60 | **critical** |" in sections[1], "b's last frame"


def test_watch_annotates_a_level_that_holds_not_a_value_that_wobbles(
    tmp_path: Path, spawn: Spawn
) -> None:
    """Skew wobbling across its warning line of 1 for forty updates is not forty
    annotations; the recovery that holds is said once, with the digits that show it is
    under the line (+0.96, not the panel's +1.0)."""
    a = new_run(tmp_path / "a.jsonl")
    w = spawn("a.jsonl", "--format", "github")
    assert w.lines(1)[0].startswith("::notice title=value-diag::a.jsonl: ok, ")
    for k in range(40):
        append(a, return_skewness=1.04 if k % 2 else 0.97)
    append(a, return_skewness=1.5)
    append(a, return_skewness=1.5)
    assert title(w.lines(1)[0]) == ("warning", "a.jsonl value-diag%3A Skew warning")
    append(a, return_skewness=0.96)
    append(a, return_skewness=0.96)
    notice = w.lines(1)[0]
    assert title(notice) == ("notice", "a.jsonl value-diag%3A Skew ok"), notice
    assert notice.endswith(": Skew +0.96 (ok)"), notice
    w.send(signal.SIGTERM)
    assert w.rest_lines() == [], "nothing said of the wobble"
    assert w.wait() == 0


def test_a_value_that_is_not_a_number_is_annotated_at_once(tmp_path: Path, spawn: Spawn) -> None:
    a = new_run(tmp_path / "a.jsonl")
    w = spawn("a.jsonl", "--format", "github")
    assert w.lines(1)[0].startswith("::notice ")
    append(a, bellman_error=math.nan)
    assert title(w.lines(1)[0]) == ("error", "a.jsonl value-diag%3A Bellman critical")
    w.send(signal.SIGTERM)
    assert w.wait() == 0


def test_watch_stopped_by_a_signal_still_writes_the_summary(tmp_path: Path, spawn: Spawn) -> None:
    new_run(tmp_path / "a.jsonl")
    summary = tmp_path / "summary.md"
    w = spawn("a.jsonl", "--format", "github", env=clean_env(GITHUB_STEP_SUMMARY=str(summary)))
    assert w.lines(1)[0].startswith("::notice title=value-diag::a.jsonl: ok")
    assert not summary.exists(), "written at the end, not with each frame"
    w.send(signal.SIGTERM)
    assert w.rest_lines() == []
    assert w.wait() == 0
    assert summary.read_text(encoding="utf-8").count("### VALUE DIAGNOSTICS: `a.jsonl`") == 1


# --- --svg and --html ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--svg", "--html"])
@pytest.mark.parametrize(
    ("target", "reason"),
    [("/dev/full", "No space left on device"), ("missing/x.out", "No such file or directory")],
    ids=["full", "missing-dir"],
)
def test_a_failed_export_names_the_path_and_the_reason(
    tmp_path: Path, flag: str, target: str, reason: str
) -> None:
    if target.startswith("/dev/") and not Path(target).exists():
        pytest.skip(f"no {target} here")
    where = target if target.startswith("/") else str(tmp_path / target)
    proc = invoke(["once", str(SAMPLES / "healthy.jsonl"), flag, where])
    assert proc.returncode == 2
    assert proc.stderr.decode("utf-8") == f"value-diag: error: cannot write {where}: {reason}\n"
    assert proc.stdout.startswith(b"VALUE DIAGNOSTICS | ok |"), "the frame is still printed"
