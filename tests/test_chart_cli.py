"""`value-diag once RUN --chart [METRIC]`: each metric's history as a chart under the frames,
the same points the run logged, inside the terminal's width at every size."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import clean_env, invoke
from ptyterm import AltScreen, Pty
from telemetry import metrics

from value_diag.render.words import format_number

HEALTHY = metrics()
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
CORR = [0.9 - 0.025 * i for i in range(30)]  # 0.9 down to 0.175: through 0.5 and 0.3


def write_run(path: Path, rows: list[dict[str, Any]], first_step: int = 100) -> Path:
    lines = [json.dumps({"step": first_step * (i + 1), **row}) for i, row in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def falling(path: Path) -> Path:
    return write_run(path, [{**HEALTHY, "v_return_correlation": c} for c in CORR])


def charts(out: str) -> dict[str, list[str]]:
    """The charts in `once --chart` text, by their title's first word (the metric)."""
    blocks = out.split("\n\n")
    found: dict[str, list[str]] = {}
    for block in blocks:
        lines = block.splitlines()
        if len(lines) > 3 and any("└" in line or "+--" in line for line in lines):
            found[lines[0].split(" ")[0]] = lines
    return found


def y_labels(lines: list[str]) -> list[str]:
    return [line.split("┤")[0].strip() for line in lines if "┤" in line]


def test_a_chart_per_metric_logged_under_the_frame(tmp_path: Path) -> None:
    run = falling(tmp_path / "run.jsonl")
    proc = invoke(["once", str(run), "--chart"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith("VALUE DIAGNOSTICS")
    drawn = charts(out)
    # In the panel's order (charts of one first word, TD Mean and TD Std, share a key).
    assert list(drawn) == ["V-Corr", "Bellman", "TD", "Returns", "Ret", "Skew", "p90-p10"]
    assert "EV" not in drawn  # never logged: no chart
    vcorr = drawn["V-Corr"]
    assert vcorr[0] == "V-Corr · V(s) against returns"
    # The y range is the points' own (and the thresholds near them); x, the steps logged.
    assert y_labels(vcorr)[0] == format_number(max(CORR))
    assert y_labels(vcorr)[-1] == format_number(min(CORR))
    assert {"0.5", "0.3"} <= set(y_labels(vcorr))  # the warning and critical lines
    assert vcorr[-1].split() == ["100", "step", "3000"]
    # The level changed where V-Corr fell below 0.5 (warning) and 0.3 (critical): two
    # marks on the axis (below 0.8 it is still ok, only no longer excellent).
    assert next(line for line in vcorr if "└" in line).count("▲") == 2


def test_the_chart_holds_the_points_the_json_history_reports(tmp_path: Path) -> None:
    rows = [{**HEALTHY, "bellman_error": 3.0 + i * i / 10} for i in range(25)]
    run = write_run(tmp_path / "run.jsonl", rows, first_step=64)
    frame = json.loads(invoke(["once", str(run), "--format", "json", "--trend"]).stdout)
    history = frame["history"]["bellman_error"]
    bellman = charts(invoke(["once", str(run), "--chart", "bellman"]).stdout.decode())["Bellman"]
    assert y_labels(bellman)[0] == format_number(max(history))
    assert y_labels(bellman)[-1] == format_number(min(history))
    assert bellman[-1].split() == ["64", "step", str(frame["step"])]


def test_a_metric_not_logged_is_a_gap_and_nan_a_cross(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [dict(HEALTHY) for _ in range(40)]
    for row in rows[10:20]:
        del row["v_return_correlation"]
    run = write_run(tmp_path / "run.jsonl", rows)
    with run.open("a") as f:
        f.write(json.dumps({"step": 9999, **HEALTHY, "v_return_correlation": "NaN"}) + "\n")
    run.write_text(run.read_text().replace('"NaN"', "NaN"))
    proc = invoke(["once", str(run), "--chart", "V-Corr"], env=clean_env(COLUMNS="80"))
    assert proc.returncode == 0, proc.stderr
    vcorr = charts(proc.stdout.decode())["V-Corr"]
    plot = [line.split("┤", 1)[-1].split("│", 1)[-1] for line in vcorr[1:-2]]
    assert any("×" in row for row in plot)
    dotted = [any("⠁" <= c <= "⣿" for c in col) for col in zip(*plot, strict=False)]
    gap = [i for i, d in enumerate(dotted) if not d]
    assert len(gap) >= 10, dotted  # 10 of 41 updates did not report it: no line there


def test_several_runs_share_one_chart_with_their_names(tmp_path: Path) -> None:
    falling(tmp_path / "seed0.jsonl")
    write_run(tmp_path / "seed1.jsonl", [HEALTHY for _ in range(30)])
    proc = invoke(["once", str(tmp_path), "--chart", "vcorr"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.count("VALUE DIAGNOSTICS") == 2
    (vcorr,) = charts(out).values()
    assert vcorr[0] == "V-Corr · V(s) against returns  ━━ seed0  ━━ seed1"


def test_a_bare_chart_before_the_file_charts_every_metric(tmp_path: Path) -> None:
    run = falling(tmp_path / "run.jsonl")
    before = invoke(["once", "--chart", str(run)])
    after = invoke(["once", str(run), "--chart"])
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout


def test_smoothing_is_said_and_changes_the_line(tmp_path: Path) -> None:
    rows = [{**HEALTHY, "td_error_mean": 1.0 if i % 2 else -1.0} for i in range(40)]
    run = write_run(tmp_path / "run.jsonl", rows)
    raw = charts(invoke(["once", str(run), "--chart", "td_error_mean"]).stdout.decode())["TD"]
    smooth = charts(
        invoke(["once", str(run), "--chart", "td_error_mean", "--smooth", "0.9"]).stdout.decode()
    )["TD"]
    assert "· smoothed 0.9" in smooth[0]
    assert y_labels(raw)[0] == "1" and y_labels(raw)[-1] == "-1"
    assert float(y_labels(smooth)[0]) < 1  # the zig-zag averaged towards 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--chart=foo"], "--chart: no chart is called 'foo'; the charts: all, v_return_corr"),
        (["--chart", "--format", "json"], "--chart draws text: it cannot go with --format json"),
        (["--smooth", "0.5"], "--smooth needs --chart"),
    ],
)
def test_what_chart_cannot_do_is_a_usage_error(args: list[str], said: str, tmp_path: Path) -> None:
    run = falling(tmp_path / "run.jsonl")
    proc = invoke(["once", str(run), *args])
    assert proc.returncode == 2
    assert said in proc.stderr.decode()


def test_the_verdict_and_the_frame_do_not_change_with_a_chart(tmp_path: Path) -> None:
    rows = [dict(HEALTHY) for _ in range(40)] + [{**HEALTHY, "bellman_error": 500.0}] * 3
    run = write_run(tmp_path / "run.jsonl", rows)
    plain = invoke(["once", str(run), "--fail-on", "critical"])
    charted = invoke(["once", str(run), "--fail-on", "critical", "--chart"])
    assert plain.returncode == charted.returncode == 1
    assert charted.stdout.decode().startswith(plain.stdout.decode().rstrip("\n"))
    assert charted.stderr == plain.stderr


def test_ascii_charts_are_ascii(tmp_path: Path) -> None:
    run = falling(tmp_path / "run.jsonl")
    proc = invoke(["once", str(run), "--chart", "--ascii"])
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.isascii()
    assert "V-Corr | V(s) against returns" in out
    assert "Ret sigma | sqrt of return_variance" in out


def test_once_without_chart_loads_no_chart_code(tmp_path: Path) -> None:
    run = falling(tmp_path / "run.jsonl")
    probe = (
        "import json, sys\nfrom value_diag.cli import main\ncode = main(sys.argv[1:])\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    import subprocess

    def modules(*args: str) -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-c", probe, "once", str(run), *args],
            capture_output=True,
            env=clean_env(),
            timeout=60,
            check=False,
        )
        return set(json.loads(proc.stderr.decode().splitlines()[-1]))

    chart_code = {f"value_diag.render.{m}" for m in ("chart", "chartview", "series")}
    assert modules().isdisjoint(chart_code)
    assert chart_code <= modules("--chart")


@pytest.mark.parametrize(("cols", "rows"), [(40, 12), (41, 13), (80, 24), (132, 43), (250, 80)])
def test_on_a_terminal_nothing_is_drawn_outside_its_width(
    cols: int, rows: int, tmp_path: Path
) -> None:
    run = falling(tmp_path / "run.jsonl")
    term = Pty(["once", str(run), "--chart"], tmp_path, cols=cols, rows=rows)
    try:
        assert term.finish() == 0
        raw = bytes(term.raw)
    finally:
        term.close()
    written = ANSI.sub(b"", raw).decode().replace("\r", "").split("\n")
    assert max(len(line) for line in written) <= cols
    # Read back whole on a screen as wide and tall enough for all of it: each chart's
    # axis starts under its y labels' edge and its ticks end inside the width.
    screen = AltScreen(cols, 1000)
    import pyte

    pyte.ByteStream(screen).feed(raw.replace(b"\n", b"\r\n"))
    shown = [line.rstrip() for line in screen.display]
    axes = [line for line in shown if "└" in line]
    assert len(axes) >= 9
    for line in axes:
        assert set(line.strip()) <= set("└─▲")
    vcorr = shown.index("V-Corr · V(s) against returns"[: cols - 1] + ("…" if cols < 30 else ""))
    labels = [line for line in shown[vcorr : vcorr + 16] if "┤" in line]
    assert labels[0].split("┤")[0].strip() == format_number(max(CORR))
    assert math.isfinite(float(labels[-1].split("┤")[0]))
