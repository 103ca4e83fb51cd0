"""`value-diag report`: one self-contained HTML page of the runs, through the console script.

What the page holds is read back from its HTML and from its JSON data, and compared with
what `once` says of the same runs. The page in a real browser: test_report_browser.py.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import signal
import subprocess
import sys
import threading
from html import unescape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import DEADLINE, PROBE, ROOT, SAMPLES, clean_env, invoke
from hostile import BACKEND, BREAKOUT, MODE, hostile_run
from reports import Page, decode_values, decode_x, flat_run
from telemetry import metrics

from value_diag.commands.report import REPORT_UPDATES
from value_diag.health import DEFAULT_RULES, Preset, rules_for
from value_diag.render.series import MAX_POINTS

Json = dict[str, Any]

LIBRARY_LICENCE: Final = "Copyright (c) 2022 Leon Sorokin"
"""A line of uPlot's MIT licence, which the page must carry with the library."""
PANEL_WORD: Final = {"NaN": "NaN", "Infinity": "Inf", "-Infinity": "-Inf"}
"""JSON's names of the numbers that are not, and the panel's (which the page shows)."""
REPORT_MODULES: Final = (
    "value_diag.report",
    "value_diag.report.page",
    "value_diag.render.series",
    "value_diag.render.guides",
    "value_diag.render.chart",
    "value_diag.report.encode",
    "value_diag.commands.report",
)


# --- reading a page back ----------------------------------------------------------------------


def report(
    args: list[str], *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return invoke(["report", *args], env=env, timeout=120)


def written(tmp_path: Path, *args: str) -> tuple[str, Page]:
    out = tmp_path / "report.html"
    proc = report([*args, "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text("utf-8")
    return text, Page(text)


def once_json(*args: str) -> list[Json]:
    proc = invoke(["once", *args, "--format", "json", "--compare"])
    assert proc.returncode in (0, 3), proc.stderr
    frames: list[Json] = json.loads(proc.stdout)
    return frames


def sweep(folder: Path, runs: int = 64, updates: int = 500, seed: int = 0) -> Path:
    """``runs`` noisy flat-line runs of ``updates`` updates each, with the critic's numbers
    (the worst case for the page's size: a smooth curve encodes in fewer digits)."""
    folder.mkdir(parents=True, exist_ok=True)
    for r in range(runs):
        rng = random.Random(seed * 1000 + r)
        drift = rng.uniform(-0.4, 0.1)
        lines = [json.dumps({"compile_enabled": True, "compile_backend": "inductor"})]
        for u in range(updates):
            t = u / updates
            corr = min(0.99, 0.3 + 0.6 * t + drift * t * t + rng.gauss(0, 0.03))
            p50 = 10 + 30 * t + rng.gauss(0, 1)
            row = metrics(
                v_return_correlation=corr,
                td_error_mean=rng.gauss(2, 3),
                td_error_std=8 + rng.gauss(0, 1),
                bellman_error=60 * (1 - t) + rng.gauss(0, 3),
                return_p10=p50 - 20 + rng.gauss(0, 1),
                return_p50=p50,
                return_p90=p50 + 25 + rng.gauss(0, 1),
                return_variance=300 * (1 - 0.5 * t) + rng.gauss(0, 5),
                return_skewness=rng.gauss(0.3, 0.4),
            )
            critic = {
                "explained_variance": corr * corr,
                "value_mean": p50 - 1,
                "value_std": 15 + rng.gauss(0, 1),
                "value_min": -40 + rng.gauss(0, 1),
                "value_max": 90 + rng.gauss(0, 1),
                "return_mean": p50 + 1,
            }
            lines.append(json.dumps({"step": 2048 * (u + 1), **row, **critic}))
        (folder / f"seed{r}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# --- the page --------------------------------------------------------------------------------


def test_the_table_is_once_s_worst_first_and_each_run_has_once_s_panel(tmp_path: Path) -> None:
    text, page = written(tmp_path, str(SAMPLES))
    frames = once_json(str(SAMPLES))
    assert [row[0] for row in page.rows] == [f["name"] for f in frames]
    assert [row[1] for row in page.rows] == [f["status"].replace("_", " ") for f in frames]
    why = page.rows[0][2]
    assert why.startswith("V-Corr, Bellman"), why  # the collapse: its culprits, worst first
    assert page.headings == [f["name"] for f in frames]
    shown = invoke(["once", str(SAMPLES)]).stdout.decode().strip("\n").split("\n\n")
    by_name = {section.split(" | ")[2]: section for section in shown}
    for name, panel in zip(page.headings, page.panels, strict=True):
        # The five lines (and any note under them) as `once` prints them; the header line
        # holds the age, which may move between the two runs.
        assert panel.splitlines()[1:] == by_name[name].splitlines()[1:], name
    anchors = [a.get("href") for tag, a in page.tags if tag == "a"]
    assert anchors == [f"#run-{i}" for i in range(len(frames))]
    assert f'id="run-{len(frames) - 1}"' in text


def test_the_page_loads_nothing_and_keeps_the_library_s_licence(tmp_path: Path) -> None:
    text, page = written(tmp_path, str(SAMPLES / "healthy.jsonl"))
    assert {tag for tag, _ in page.tags}.isdisjoint({"link", "img", "iframe", "object", "embed"})
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert tag != "a" or str(attrs.get("href")).startswith("#"), attrs
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert csp and str(csp[0]).startswith("default-src 'none';"), csp
    assert len(page.scripts) == 3  # the data, the library, the page's script
    library = page.scripts[1][1]
    assert LIBRARY_LICENCE in library and "Permission is hereby granted" in library
    assert "var uPlot=" in library
    assert LIBRARY_LICENCE in unescape(text.split("<footer>")[1])  # also readable on the page


def test_each_chart_holds_every_update_of_its_run_and_ends_at_once_s_numbers(
    tmp_path: Path,
) -> None:
    _, page = written(tmp_path, str(SAMPLES))
    data = page.data()
    frames = {f["name"]: f for f in once_json(str(SAMPLES))}
    assert data["x"] == "step"
    for run in data["runs"]:
        frame = frames[run["name"]]
        x = decode_x(run["x"])
        assert len(x) == frame["gate"]["updates"], run["name"]  # a point per update
        assert x[-1] == frame["step"]
        for key, enc in run["y"].items():
            values = decode_values(enc)
            assert len(values) == len(x)
            entry = frame["value_function"].get(key) or frame["critic"].get(key)
            if entry is None or entry["value"] is None:
                continue
            last = entry["value"]
            if isinstance(last, str):  # NaN, Inf: a mark at the point, no number
                assert values[-1] is None
                bad = run["bad"][key]
                assert bad[-2:] == [len(x) - 1, PANEL_WORD[last]], (run["name"], key, bad)
                continue
            if key == "return_variance":
                last = math.sqrt(last)
            # each series keeps DIGITS digits of its largest value: its unit is 10**e
            assert values[-1] == pytest.approx(last, abs=0.5 * 10 ** enc[0]), (run["name"], key)


def test_a_sweep_of_64_runs_of_500_updates_is_well_under_5_mb(tmp_path: Path) -> None:
    folder = sweep(tmp_path / "sweep")
    out = tmp_path / "sweep.html"
    proc = report([str(folder), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    size = out.stat().st_size
    assert size < 2.5e6, size
    assert re.fullmatch(
        rf"value-diag: wrote {re.escape(str(out))}: 64 runs, \d\.\d MB\n", proc.stderr.decode()
    )
    data = Page(out.read_text("utf-8")).data()
    assert len(data["runs"]) == 64
    assert {len(decode_x(r["x"])) for r in data["runs"]} == {500}
    assert {len(r["y"]) for r in data["runs"]} == {len(data["charts"])}


def test_a_long_run_is_sampled_and_the_page_says_so(tmp_path: Path) -> None:
    run = flat_run(tmp_path / "long.jsonl", [{"bellman_error": float(i % 97)} for i in range(1500)])
    _, page = written(tmp_path, str(run))
    x = decode_x(page.data()["runs"][0]["x"])
    assert len(x) == 500 and x[-1] == 15000 and x[1] - x[0] == 30  # every 3rd, the newest kept
    note = re.search(r'<p class="points">(.*?)</p>', written(tmp_path, str(run))[0])
    assert note is not None
    assert note[1] == "Charts: all 1,500 updates, one point per 3 updates (the newest always)."


def test_a_run_longer_than_what_is_read_says_so(tmp_path: Path) -> None:
    updates = REPORT_UPDATES + 500
    run = flat_run(tmp_path / "long.jsonl", [{} for _ in range(updates)])
    text, page = written(tmp_path, str(run))
    x = decode_x(page.data()["runs"][0]["x"])
    stride = math.ceil(REPORT_UPDATES / MAX_POINTS)
    assert x[-1] == 10 * updates and x[-1] - x[-2] == 10 * stride
    assert len(x) <= MAX_POINTS and x[0] > 10 * (updates - REPORT_UPDATES)  # the newest only
    said = f"the newest {REPORT_UPDATES:,} of {updates:,} updates (no more are read)"
    assert f"Charts: {said}, one point per {stride} updates (the newest always)." in text


# --- thresholds: the rules in force --------------------------------------------------------------


def guides(page: Page, run: int = 0) -> dict[str, Json]:
    data = page.data()
    out: dict[str, Json] = data["rules"][data["runs"][run]["rules"]]["guides"]
    return out


def lines(guide: Json) -> set[tuple[float, str, str]]:
    return {(y, level, side) for y, level, side, _label in guide["lines"]}


def test_thresholds_are_those_of_the_default_rules_and_of_a_config(tmp_path: Path) -> None:
    run = flat_run(tmp_path / "run.jsonl", [{} for _ in range(5)])
    _, page = written(tmp_path, str(run), "--no-config")
    g = guides(page)
    r = DEFAULT_RULES
    assert lines(g["bellman_error"]) == {
        (r.bellman_warning, "warning", "above"),
        (r.bellman_critical, "critical", "above"),
    }
    assert (r.td_mean_warning, "warning", "above") in lines(g["td_error_mean"])
    assert (-r.td_mean_warning, "warning", "below") in lines(g["td_error_mean"])
    assert lines(g["return_variance"]) == {(math.sqrt(r.variance_warning), "warning", "above")}
    config = tmp_path / "value-diag.toml"
    config.write_text("[thresholds]\nbellman_error = { warning = 9.5, critical = 30 }\n")
    _, page = written(tmp_path, str(run), "--config", str(config))
    assert lines(guides(page)["bellman_error"]) == {
        (9.5, "warning", "above"),
        (30, "critical", "above"),
    }


def test_scale_free_rules_draw_the_ratios_they_compare(tmp_path: Path) -> None:
    values = [{"return_variance": 400.0, "bellman_error": 150.0 + i} for i in range(5)]
    run = flat_run(tmp_path / "run.jsonl", values, header="scale-free")
    _, page = written(tmp_path, str(run), "--no-config")
    g = guides(page)
    r = rules_for(Preset.SCALE_FREE)
    assert g["bellman_error"]["lines"] == []
    assert "relative to the returns' scale" in g["bellman_error"]["note"]
    assert lines(g["bellman_ratio"]) == {
        (r.bellman_ratio_warning, "warning", "above"),
        (r.bellman_ratio_critical, "critical", "above"),
    }
    ratios = decode_values(page.data()["runs"][0]["y"]["bellman_ratio"])
    assert ratios == pytest.approx([(150.0 + i) / 400.0 for i in range(5)], rel=1e-3)


# --- strings from files are data -----------------------------------------------------------------


def test_hostile_names_and_strings_stay_text(tmp_path: Path) -> None:
    hostile = hostile_run(tmp_path)
    breakout = flat_run(tmp_path / f"{BREAKOUT.replace('/', '%')}.jsonl", [{} for _ in range(3)])
    text, page = written(tmp_path, hostile, str(breakout))
    assert [t for t, _ in page.tags].count("script") == 3
    assert {t for t, _ in page.tags}.isdisjoint({"img", "b", "iframe"})
    for _tag, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), attrs
        assert "evil" not in " ".join(str(v) for v in attrs.values())
    for _attrs, body in page.scripts:
        assert "</script" not in body.lower() and "<!--" not in body
    names = [r["name"] for r in page.data()["runs"]]
    assert any(BREAKOUT.replace("/", "%") in n for n in names), names  # the name, as data
    assert any("<b>@o [a](b)" in n for n in names), names
    panels = "\n".join(page.panels)
    assert f"{BACKEND}:{MODE}" in panels  # as text in the panel (the compile line)
    assert "line 3: invalid JSON" in panels
    assert text.count("<img") == 0 and "&lt;img src=https://evil.example/p.png&gt;" in text


# --- the command ---------------------------------------------------------------------------------


def test_a_url_is_read_as_once_reads_it(tmp_path: Path) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(SAMPLES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/collapse.jsonl"
        _, page = written(tmp_path, url)
    finally:
        server.shutdown()
        server.server_close()
    assert page.headings == [url]
    (run,) = page.data()["runs"]
    assert (
        len(decode_x(run["x"])) == once_json(str(SAMPLES / "collapse.jsonl"))[0]["gate"]["updates"]
    )


def test_the_page_on_stdout(tmp_path: Path) -> None:
    proc = report([str(SAMPLES / "healthy.jsonl"), "-o", "-"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert proc.stdout.startswith(b"<!doctype html>") and proc.stdout.endswith(b"</html>\n")


def test_github_points_the_step_summary_at_the_page(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    out = tmp_path / "value diag report.html"
    env = clean_env(
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="org/repo",
        GITHUB_RUN_ID="123",
    )
    args = [str(SAMPLES / "collapse.jsonl"), str(SAMPLES / "healthy.jsonl"), "-o", str(out)]
    proc = report([*args, "--format", "github"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert summary.read_text("utf-8") == (
        "**VALUE DIAGNOSTICS**: 2 runs (1 critical, 1 ok); every metric charted in"
        " `value diag report.html`, among"
        " [this run's artifacts](https://github.com/org/repo/actions/runs/123).\n"
    )
    summary.unlink()
    env.update(GITHUB_SERVER_URL="javascript:alert(1)//")
    assert report([*args, "--format", "github"], env=env).returncode == 0
    assert summary.read_text("utf-8").endswith("`value diag report.html`.\n")  # no link
    summary.unlink()
    assert report(args, env=env).returncode == 0
    assert not summary.exists()  # --format text: no summary


def test_a_page_that_cannot_be_written_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "a file").write_text("")
    taken = tmp_path / "a folder"
    taken.mkdir()
    for target in (tmp_path / "a file" / "r.html", taken):
        proc = report([str(SAMPLES / "healthy.jsonl"), "-o", str(target)])
        assert proc.returncode == 2
        said = proc.stderr.decode()
        assert said == f"value-diag: error: cannot write {target}: {said.split(': ')[-1]}"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "a folder"]
        assert list(taken.iterdir()) == []


def test_an_unreadable_run_is_named_and_the_others_reported(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = report([str(SAMPLES / "healthy.jsonl"), str(tmp_path / "gone.jsonl"), "-o", str(out)])
    assert proc.returncode == 2
    assert b"gone.jsonl" in proc.stderr
    (heading,) = Page(out.read_text("utf-8")).headings
    assert heading.endswith("healthy")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-o", "r.html", "--format", "json"], "--format must be text or github, not 'json'"),
        ([], "missing -o/--output FILE: where to write the page"),
    ],
)
def test_usage_errors(args: list[str], said: str, tmp_path: Path) -> None:
    proc = invoke(["report", str(SAMPLES / "healthy.jsonl"), *args], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines()[-1] == f"value-diag: error: {said}"
    assert list(tmp_path.iterdir()) == []


def test_help_names_the_command() -> None:
    top = invoke(["--help"]).stdout.decode()
    assert re.search(r"^  report +Write one self-contained HTML page", top, re.M), top
    proc = invoke(["report", "--help"])
    assert proc.returncode == 0 and b"-o, --output FILE" in proc.stdout


# --- the README says what the page is ---------------------------------------------------------


def test_the_readme_shows_the_page_and_its_bounds() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### HTML report\n")[1].split("\n### ")[0]
    assert "![value-diag report](docs/report.png)" in section
    assert f"newest {REPORT_UPDATES:,} updates" in section
    assert f"past {MAX_POINTS} points" in section
    assert "value-diag report runs/ -o report.html --format github" in section


# --- once and watch never load it ----------------------------------------------------------------


def test_watch_loads_nothing_of_the_report(tmp_path: Path) -> None:
    run = flat_run(tmp_path / "run.jsonl", [{} for _ in range(3)])
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, "watch", str(run), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # a frame: watch is running
    assert first.startswith(b"{"), first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=DEADLINE * 3)
    modules = set(json.loads(err.decode().splitlines()[-1])["modules"])
    assert "value_diag.commands.watch" in modules
    assert modules.isdisjoint(REPORT_MODULES), sorted(modules & set(REPORT_MODULES))
