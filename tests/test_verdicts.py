"""What a frame says about its run, through the real console script: what is not reported,
what is kept on a narrow screen, the verdict in the title and border, the culprits of a
status, why --fail-on ended the process, and what to do about a file of no known line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, invoke, run_cli
from ptyterm import Pty
from telemetry import COLLAPSE_CULPRITS, COMPILE_LINE, healthy, line
from watching import append

from value_diag.frame import NO_METRIC_HINT

COLS = 40


@pytest.fixture
def compile_only(tmp_path: Path) -> Path:
    """A run that has reported its compile status and no metric yet."""
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE))
    return path


def out(*args: str, code: int = 0) -> str:
    proc = invoke(list(args))
    assert proc.returncode == code, proc.stderr
    return proc.stdout.decode("utf-8")


# --- a part not reported is a dash, never a number ------------------------------------------


def test_unreported_metrics_are_a_dash_in_every_text_format(compile_only: Path) -> None:
    path = str(compile_only)
    assert "V-Corr    —         Bellman   —" in out("once", path, code=3)
    assert "V-Corr    -         Bellman   -" in out("once", path, "--ascii", code=3)
    for table, dash in (
        (out("once", path, "--compare", code=3), "—"),
        (out("once", path, "--compare", "--ascii", code=3), "-"),
    ):
        row = next(ln for ln in table.splitlines() if path in ln).split()
        # run, status ("no data"), why (nothing alarms), age, step (none named), then the ten
        assert row[1:3] == ["no", "data"] and row[3].endswith("s"), row
        assert row[4:15] == [dash] * 11, row
        assert "0.00" not in table
    markdown = out("once", path, "-f", "markdown", code=3)
    assert "| V-Corr | — | no data |" in markdown
    assert "| p90-p10 | — | no data |" in markdown
    assert "0.00" not in markdown
    assert "| V-Corr | - | no data |" in out("once", path, "-f", "markdown", "--ascii", code=3)


def test_unreported_metrics_are_null_in_json(compile_only: Path) -> None:
    obj = json.loads(out("once", str(compile_only), "-f", "json", code=3))
    assert {name: e["value"] for name, e in obj["value_function"].items()} == dict.fromkeys(
        obj["value_function"]
    )
    assert {e["level"] for e in obj["value_function"].values()} == {"no_data"}
    assert obj["infrastructure"]["compile_enabled"] is True


def test_unreported_compile_is_null_in_json(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(healthy(3.0))
    infra = json.loads(out("once", str(path), "-f", "json"))["infrastructure"]
    assert infra == {
        "compile_enabled": None,
        "compile_backend": None,
        "compile_mode": None,
        "level": "no_data",
    }


# --- 40 columns: what judges the run is cut last ------------------------------------------------


def test_at_40_columns_the_glyphs_and_the_age_stay(tmp_path: Path, ptys: Any) -> None:
    """A wide spread (⚠), a compile check (✓) and the age: the signals, all on screen."""
    run = tmp_path / "a-rather-long-experiment-name" / "seed-1234" / "run.jsonl"
    run.parent.mkdir(parents=True)
    run.write_text(line(COMPILE_LINE) + healthy(3.0, return_p10=-40.0, return_p90=60.0))
    term = ptys("watch", str(run), cwd=tmp_path, cols=COLS, rows=12)
    shown = term.wait_for(lambda s: any(re.search(r"\d+s ago", r) for r in s), "the age")
    rows = [r.rstrip() for r in shown]
    assert all(len(r) <= COLS for r in rows)
    returns = next(r for r in rows if r.startswith("│ Returns"))
    assert "p90:+60 ⚠ " in returns, returns
    compile_ = next(r for r in rows if r.startswith("│ Compile"))
    assert "✓" in compile_, compile_
    caption = next(r for r in rows if r.startswith("╰"))
    assert "run.jsonl" in caption and "…" in caption, "the source loses its middle, not its name"
    assert "records" not in caption, "the counts go before the age"
    # The title names the culprit before it spells VALUE DIAGNOSTICS out.
    assert re.search(r"VALUE DIAG\w*… · warning: p90-p10 ─", rows[0]), rows[0]
    assert term.finish() == 0


# --- the verdict in the title and the border ------------------------------------------------


def border_colour(term: Pty) -> tuple[str, bool]:
    """The colour and boldness pyte saw the panel's top-left corner drawn in."""
    screen = term.screen
    for y in range(screen.lines):
        for x in range(screen.columns):
            char = screen.buffer[y][x]
            if char.data == "╭":
                return char.fg, char.bold
    raise AssertionError("no panel on screen:\n" + "\n".join(screen.display))


@pytest.mark.parametrize(
    ("sample", "status", "colour", "bold"),
    [
        ("collapse", "critical: V-Corr, Bellman, TD Mean, +4", "red", True),
        ("bimodal", "warning: Ret σ, Skew, p90-p10", "brown", False),
        ("healthy", "ok", "green", False),
    ],
)
def test_the_title_says_the_status_and_the_border_has_its_colour(
    tmp_path: Path, ptys: Any, sample: str, status: str, colour: str, bold: bool
) -> None:
    term = ptys("once", str(SAMPLES / f"{sample}.jsonl"), cwd=tmp_path, cols=80, rows=12)
    assert term.finish() == 0
    assert any(f" VALUE DIAGNOSTICS · {status} " in r for r in term.screen.display), term.text
    assert border_colour(term) == (colour, bold)  # pyte names ANSI yellow "brown"


def test_no_color_keeps_the_status_word_and_drops_the_colour(tmp_path: Path, ptys: Any) -> None:
    term = ptys(
        "once", str(SAMPLES / "collapse.jsonl"), cwd=tmp_path, cols=80, rows=12, NO_COLOR="1"
    )
    assert term.finish() == 0
    title = " VALUE DIAGNOSTICS · critical: V-Corr, Bellman, TD Mean, +4 "
    assert any(title in r for r in term.screen.display), term.text
    assert border_colour(term)[0] == "default"


def test_each_of_several_panels_says_its_own_status(tmp_path: Path, ptys: Any) -> None:
    paths = [str(SAMPLES / "collapse.jsonl"), str(SAMPLES / "healthy.jsonl")]
    term = ptys("once", *paths, cwd=tmp_path, cols=100, rows=20)
    assert term.finish() == 0
    titles = [r for r in term.screen.display if r.startswith("╭")]
    said = [t.split(" · ")[-1].split(" ─")[0] for t in titles]
    assert said == ["critical: V-Corr, Bellman, TD Mean, +4", "ok"], titles


# --- a plain header names its culprits ----------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "said"),
    [
        ("bimodal", "warning: Ret σ, Skew, p90-p10"),
        ("eager", "warning: Compile"),
        ("collapse", "critical: V-Corr, Bellman, TD Mean, +4"),
        ("healthy", "ok"),
    ],
)
def test_plain_header_names_the_culprits(sample: str, said: str) -> None:
    path = str(SAMPLES / f"{sample}.jsonl")
    assert out("once", path).startswith(f"VALUE DIAGNOSTICS | {said} | {path} | ")


def test_warnings_name_the_metric_the_threshold_caught(tmp_path: Path) -> None:
    """A sigma of 14.1 warns for its variance, 198 > 100: the header says so, critical first."""
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(60.0, return_variance=198.0))
    header = out("once", str(path), "--ascii").splitlines()[0]
    assert header.startswith("VALUE DIAGNOSTICS | critical: Bellman, Ret sigma | "), header


# --- --fail-on says why -----------------------------------------------------------------------


def test_once_fail_on_names_the_run_status_and_culprits() -> None:
    path = str(SAMPLES / "collapse.jsonl")
    proc = invoke(["once", path, "--fail-on", "critical"])
    assert proc.returncode == 1
    assert proc.stderr.decode("utf-8") == (
        f"value-diag: {path} reached critical (--fail-on critical): {COLLAPSE_CULPRITS}\n"
    )


def test_once_fail_on_names_only_the_runs_that_reached_it() -> None:
    paths = [str(SAMPLES / f"{n}.jsonl") for n in ("healthy", "eager", "bimodal")]
    proc = invoke(["once", *paths, "--fail-on", "warning", "-f", "json"])
    assert proc.returncode == 1
    assert proc.stderr.decode("utf-8").splitlines() == [  # short names, in natural order
        "value-diag: bimodal reached warning (--fail-on warning): Ret σ, Skew, p90-p10",
        "value-diag: eager reached warning (--fail-on warning): Compile",
    ]


def test_watch_fail_on_names_the_run_status_and_culprits(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(COMPILE_LINE) + healthy(3.0))
    proc = run_cli(
        ["watch", "-", "--fail-on", "critical"], input=path.read_bytes() + healthy(80.0).encode()
    )
    assert proc.returncode == 1
    assert proc.stderr.decode("utf-8") == (
        "value-diag: <stdin> reached critical (--fail-on critical): Bellman\n"
    )


def test_watch_fail_on_on_a_terminal_says_why_after_leaving_the_screen(
    tmp_path: Path, ptys: Any
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(line(COMPILE_LINE) + healthy(3.0))
    term = ptys("watch", "run.jsonl", "--fail-on", "critical", cwd=tmp_path, cols=80, rows=12)
    term.wait_for(lambda s: any("Bellman   3 " in r for r in s), "the first frame")
    append(run, healthy(80.0))
    assert term.popen.wait(timeout=10) == 1
    term.reader.join(timeout=10)
    shown = [r.rstrip() for r in term.screen.display]
    verdict = "value-diag: run.jsonl reached critical (--fail-on critical): Bellman"
    assert verdict in shown, "\n".join(shown)
    assert shown.index(verdict) > max(i for i, r in enumerate(shown) if r.startswith("╰"))


# --- a file of no known line says what value-diag reads ------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"2024-05-01 12:00:00 INFO training started\nepoch 1 loss 0.3\n",
        os.urandom(4096).replace(b'"', b"'"),
    ],
    ids=["plain-log", "random-bytes"],
)
def test_a_file_of_no_known_line_says_what_is_read(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "train.log"
    path.write_bytes(content)
    proc = invoke(["once", str(path)])
    assert proc.returncode == 3
    lines = proc.stdout.decode("utf-8").splitlines()
    assert lines[0].endswith("| 0 records | 0 bad lines")
    assert lines[1:] == ["[no data]", NO_METRIC_HINT]
    obj = json.loads(invoke(["once", str(path), "-f", "json"]).stdout)
    assert obj["hint"] == NO_METRIC_HINT


def test_a_file_with_bad_lines_gets_no_hint_but_its_last_error(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"bellman_error": "high"}\n')
    proc = invoke(["once", str(path), "-f", "json"])
    obj = json.loads(proc.stdout)
    assert obj["hint"] is None and obj["last_error"].startswith("line 1: ")
    assert NO_METRIC_HINT not in invoke(["once", str(path)]).stdout.decode("utf-8")


def test_a_file_with_records_gets_no_hint(compile_only: Path) -> None:
    assert json.loads(out("once", str(compile_only), "-f", "json", code=3))["hint"] is None


def test_a_run_that_reported_no_metric_is_no_data_and_never_passes_a_gate(
    compile_only: Path,
) -> None:
    """The compile status alone judges nothing of the value function: no data (exit 3)."""
    for fail_on in ("warning", "critical"):
        proc = invoke(["once", str(compile_only), "--fail-on", fail_on])
        assert proc.returncode == 3, proc.stdout
        assert "no data" in proc.stdout.decode("utf-8").splitlines()[0].replace("_", " ")
