"""Start-up: --help and thresholds load the option declarations, not the fold machinery;
`once` into a pipe writes plain text without importing a console."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROBE, SAMPLES, clean_env

from value_diag.commands.once import OnceOptions, run_once
from value_diag.options import ColorMode, Format
from value_diag.render.frames import Renderer
from value_diag.render.terminal import make_console

FOLD_MACHINERY = (
    "value_diag.ingest.parse",
    "value_diag.ingest.fold",
    "value_diag.ingest.parallel",
    "value_diag.ingest.finder",
    "value_diag.ingest._finder",
    "value_diag.commands.once",
    "value_diag.commands.watch",
    "orjson",
)


def loaded_by(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    report = json.loads(proc.stderr.decode().splitlines()[-1])
    return report["code"], set(report["modules"])


@pytest.mark.parametrize("args", [["--help"], ["once", "--help"], ["thresholds"]], ids=" ".join)
def test_no_fold_machinery_is_loaded(args: list[str]) -> None:
    code, modules = loaded_by(*args)
    assert code == 0
    assert modules.isdisjoint(FOLD_MACHINERY), sorted(modules & set(FOLD_MACHINERY))
    assert not any(m.startswith("rich") for m in modules), "no console for plain text"


def test_the_probe_sees_what_once_loads() -> None:
    """The check above would notice: `once` itself loads the machinery."""
    code, modules = loaded_by("once", "-", "--format", "json")
    assert code == 3  # no input on stdin
    assert {"value_diag.ingest.parse", "value_diag.ingest.fold", "orjson"} <= modules


CONSOLE_AND_REMOTE = ("rich.console", "rich.live", "rich.table", "fsspec", "s3fs", "paramiko")
REPORT = ("value_diag.report", "value_diag.report.page", "value_diag.commands.report")
"""What `value-diag report` loads to write its page: `once` never needs it."""
RICH_TEXT = ("rich.text", "rich.style", "rich.segment", "rich.measure")
"""What a console draws with: plain text is built without it (render/styled.py)."""


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github"])
def test_once_into_a_pipe_loads_no_console_and_nothing_remote(fmt: str) -> None:
    code, modules = loaded_by("once", str(SAMPLES / "collapse.jsonl"), "--format", fmt)
    assert code == 0
    assert modules.isdisjoint(CONSOLE_AND_REMOTE), sorted(modules & set(CONSOLE_AND_REMOTE))
    assert modules.isdisjoint(RICH_TEXT), sorted(modules & set(RICH_TEXT))
    assert modules.isdisjoint(REPORT), sorted(modules & set(REPORT))


def test_the_probe_sees_rich_text_on_a_terminal_path() -> None:
    """The check above would notice: coloured output builds Rich's Text."""
    path = str(SAMPLES / "collapse.jsonl")
    code, modules = loaded_by("once", path, "--color", "always")
    assert code == 0
    assert set(RICH_TEXT) <= modules


def test_the_probe_sees_the_console_a_comparison_needs() -> None:
    code, modules = loaded_by("once", str(SAMPLES / "collapse.jsonl"), "--compare")
    assert code == 0 and "rich.console" in modules
    assert modules.isdisjoint(REPORT), sorted(modules & set(REPORT))


def test_the_probe_sees_what_report_loads(tmp_path: Path) -> None:
    """The checks of REPORT would notice: `report` loads it."""
    out = str(tmp_path / "r.html")
    code, modules = loaded_by("report", str(SAMPLES / "collapse.jsonl"), "-o", out)
    assert code == 0
    assert set(REPORT) <= modules


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("trend", [False, True], ids=["", "trend"])
@pytest.mark.parametrize("ascii_only", [False, True], ids=["", "ascii"])
def test_plain_output_is_what_a_console_writes(
    fmt: Format,
    trend: bool,
    ascii_only: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Written without a console, every format is byte for byte what Rich would print."""
    monkeypatch.setattr(time, "time", lambda: 1.8e9)  # one moment for both
    paths = [*sorted(str(p) for p in SAMPLES.glob("*.jsonl")), str(SAMPLES / "ab" / "events.jsonl")]
    options = OnceOptions(format=fmt, history=60 if trend else 0)
    renderer = Renderer(trend=trend, ascii_only=ascii_only)
    for runs in ([paths[0]], paths):
        through = io.StringIO()
        run_once(runs, make_console(ColorMode.NEVER, file=through), renderer, options)
        capsys.readouterr()
        run_once(runs, None, renderer, options)
        assert capsys.readouterr().out == through.getvalue()
