"""Issue 7 end to end: --trend, threshold configs, CI formats, exports and --compare.

Every test runs the real console script in a subprocess, as a user or a CI job would.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import SAMPLES, clean_env, invoke, run_cli
from reading import fold_path
from telemetry import COLLAPSE_CULPRITS, NINE, json_value, metrics
from watching import Spawn

from value_diag.frame import Frame
from value_diag.render.jsonframe import to_json
from value_diag.render.panel import TREND_COL

LABELS: Final = {
    "v_return_correlation": "V-Corr",
    "bellman_error": "Bellman",
    "td_error_mean": "TD Mean",
    "td_error_std": "TD Std",
    "return_p10": "p10",
    "return_p50": "p50",
    "return_p90": "p90",
    "return_variance": "Ret sigma",
    "return_skewness": "Skew",
    "return_spread": "p90-p10",
}
"""How tables and annotations name each metric (the issue's panel labels)."""
SEVERITY: Final = {"critical": 0, "warning": 1, "no_data": 2, "ok": 3}
UNICODE_RAMP: Final = set("▁▂▃▄▅▆▇█")
ASCII_RAMP: Final = set("_.:-=+*#")
SGR_RUN: Final = re.compile(r"\x1b\[([0-9;]*)m([^\x1b]*)")
ANNOTATION: Final = re.compile(r"::(error|warning|notice) title=([^:,\n]*)::(.*)")
"""A workflow command whose title property has no raw ':' or ',' (they must be escaped)."""
Json = dict[str, Any]

HEALTHY: Final[Json] = dict(metrics())
COMPILE: Final[Json] = {
    "compile_enabled": True,
    "compile_backend": "inductor",
    "compile_mode": "default",
}
LENIENT: Final = "[thresholds]\nbellman_error = { warning = 100, critical = 200 }\n"
"""A config for a run whose Bellman error is naturally in the tens."""


# --- helpers -------------------------------------------------------------------------------


def line(obj: Json) -> str:
    return json.dumps(obj) + "\n"


def run_file(path: Path, *records: Json, compile_: Json = COMPILE) -> Path:
    """A flat-shape file: the compile line, then one metric line per record."""
    text = line(compile_) + "".join(line({**HEALTHY, **r}) for r in records)
    path.write_text(text, encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_in(
    cwd: Path, args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`value-diag ARGS` run in ``cwd`` (where configs are looked for)."""
    return invoke(args, cwd=cwd, env=env)


def strict(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"bare {token} in JSON output")

    return json.loads(text, parse_constant=refuse)


def one_json(proc: subprocess.CompletedProcess[bytes]) -> Json:
    out = proc.stdout.decode("utf-8")
    assert out.count("\n") == 1 and out.endswith("\n"), out[-200:]
    obj = strict(out)
    assert isinstance(obj, dict)
    return obj


def json_lines(proc: subprocess.CompletedProcess[bytes]) -> list[Json]:
    return [strict(text) for text in proc.stdout.decode("utf-8").splitlines()]


def no_traceback(proc: subprocess.CompletedProcess[bytes]) -> None:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")


def one_error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    no_traceback(proc)
    err = proc.stderr.decode("utf-8")
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("value-diag: error: "), err
    return err


def styles_of(out: str, text: str) -> list[str]:
    return [codes for codes, run in SGR_RUN.findall(out) if run.strip() == text]


def value_records(path: Path) -> list[tuple[float, ...]]:
    """The nine metrics of every value record of the file's last run, read independently."""
    out: list[tuple[float, ...]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        obj = json.loads(raw)
        kind = obj.get("event_type")
        if kind == "TRAINING_STARTED":
            out = []
            continue
        src = obj.get("data") if kind == "PPO_UPDATE_COMPLETED" else obj
        src = obj["tamiyo"].get("value_function") if "tamiyo" in obj else src
        if isinstance(src, dict) and "v_return_correlation" in src:
            out.append(tuple(float(src[name]) for name in NINE))
    return out


def sample(name: str) -> str:
    return str(SAMPLES / f"{name}.jsonl")


# --- --trend -------------------------------------------------------------------------------


UPDATED: Final = re.compile(r" \| updated [^|]+ ago$")
"""The end of a caption: the age of the last record, counted when the frame is drawn."""


def undated(caption: str) -> str:
    """A caption without its age, which may move on by a second between two runs."""
    assert UPDATED.search(caption), caption
    return UPDATED.sub("", caption)


def test_once_trend_text_adds_sparklines_to_lines_1_to_4() -> None:
    path = sample("collapse")
    env = clean_env(LC_ALL="C.UTF-8")  # Unicode glyphs whatever the developer's locale
    plain = invoke(["once", path], env=env).stdout.decode("utf-8").splitlines()
    proc = invoke(["once", path, "--trend"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(plain) == 6
    assert undated(lines[0]) == undated(plain[0]), "the caption as without --trend"
    trends = []
    for k in range(1, 5):
        assert lines[k][:TREND_COL].rstrip() == plain[k], lines[k]
        found = re.fullmatch(
            r"(V-Corr|TD Mean|p50|Ret σ) +(\S+) (\S+–\S+) *(warn .+)?", lines[k][TREND_COL:]
        )
        assert found is not None, lines[k]
        trends.append(found.groups())
        spark = found[2]
        assert len(spark) == min(30, len(value_records(Path(path)))), spark
        assert set(spark) <= UNICODE_RAMP | {"!"}, spark
    assert [t[0] for t in trends] == ["V-Corr", "TD Mean", "p50", "Ret σ"], "each one named"
    assert [t[3] for t in trends] == ["warn <0.5", "warn ±5", None, "warn >10"]
    assert trends[0][1].endswith("!"), "collapse ends with NaN correlation: a red ! last"
    assert "!" not in trends[3][1], "Ret σ stayed finite"
    assert lines[5] == plain[5], "the compile line gets no sparkline"


def test_once_trend_ascii_with_a_short_history() -> None:
    proc = invoke(["once", sample("healthy"), "--trend", "--ascii", "--history", "5"])
    assert proc.returncode == 0, proc.stderr
    assert all(byte < 0x80 for byte in proc.stdout)
    lines = proc.stdout.decode("ascii").splitlines()
    for k in range(1, 5):
        spark = lines[k][TREND_COL + len("Ret sigma") + 1 :][:5]  # the history kept: 5 cells
        assert set(spark) <= ASCII_RAMP, (k, lines[k])
        assert re.search(r"\d\.\.\d", lines[k][TREND_COL:]), "its min..max"
    assert "#" in lines[3][TREND_COL:], "p50 has no warning line: its maximum is the top"
    assert "warn +-5" in lines[2]
    assert len(lines[5]) < TREND_COL


def test_once_trend_colours_a_nan_red() -> None:
    proc = invoke(["once", sample("collapse"), "--trend", "--color", "always"])
    out = proc.stdout.decode("utf-8")
    assert any("31" in codes.split(";") for codes in styles_of(out, "!")), "a red !"


@pytest.mark.parametrize(
    ("name", "args", "n"),
    [
        ("healthy", [], 60),  # the default
        ("bimodal", ["--history", "500"], 500),  # more than the file holds
        ("collapse", ["--history", "5"], 5),
    ],
)
def test_once_trend_json_history_is_the_last_n_value_records(
    name: str, args: list[str], n: int
) -> None:
    path = SAMPLES / f"{name}.jsonl"
    records = value_records(path)
    assert 5 < len(records) < 500
    proc = invoke(["once", str(path), "--format", "json", "--trend", *args])
    assert proc.returncode == 0, proc.stderr
    history = one_json(proc)["history"]
    assert set(history) == set(NINE)
    expected_len = min(n, len(records))
    for i, name_ in enumerate(NINE):
        assert history[name_] == [json_value(r[i]) for r in records[-expected_len:]], name_
    if name == "collapse":
        assert history["v_return_correlation"][-1] == "NaN"
        assert history["td_error_std"][-1] == "Infinity"


def test_json_without_trend_has_no_history() -> None:
    proc = invoke(["once", sample("healthy"), "--format", "json", "--history", "5"])
    assert proc.returncode == 0, proc.stderr
    assert "history" not in one_json(proc)


# --- threshold configs ---------------------------------------------------------------------


def test_config_file_changes_levels_styles_and_exit_code(tmp_path: Path) -> None:
    run = run_file(tmp_path / "run.jsonl", {"bellman_error": 60.0})
    config = write(tmp_path / "lenient.toml", LENIENT)

    default = invoke(["once", str(run), "-f", "json", "--fail-on", "warning"])
    assert one_json(default)["value_function"]["bellman_error"]["level"] == "critical"
    assert default.returncode == 1

    lenient = invoke(
        ["once", str(run), "-f", "json", "--fail-on", "warning", "--config", str(config)]
    )
    obj = one_json(lenient)
    assert obj["value_function"]["bellman_error"] == {"value": 60.0, "level": "ok"}
    assert obj["status"] == "ok"
    assert lenient.returncode == 0, lenient.stderr

    styled = invoke(["once", str(run), "--color", "always", "--config", str(config)])
    out = styled.stdout.decode("utf-8")
    assert styles_of(out, "60") == ["32"], "green like any healthy Bellman"
    assert "VALUE DIAGNOSTICS | ok |" in re.sub(r"\x1b\[[0-9;]*m", "", out)


def test_config_still_alarms_above_its_own_levels(tmp_path: Path) -> None:
    run = run_file(tmp_path / "run.jsonl", {"bellman_error": 150.0})
    config = write(tmp_path / "lenient.toml", LENIENT)
    proc = invoke(["once", str(run), "-f", "json", "--fail-on", "warning", "--config", str(config)])
    assert one_json(proc)["value_function"]["bellman_error"]["level"] == "warning"
    assert proc.returncode == 1


BAD_CONFIGS: Final = [
    pytest.param(
        "[thresholds]\nbellman_error = { warning = 100, critical = 20 }\n",
        "bellman_error.critical",
        id="order",
    ),
    pytest.param("[thresholds\n", "TOML", id="not-toml"),
]


@pytest.mark.parametrize(("content", "key"), BAD_CONFIGS)
def test_invalid_config_is_one_line_naming_file_and_key_and_exit_2(
    tmp_path: Path, content: str, key: str
) -> None:
    config = write(tmp_path / "bad.toml", content)
    proc = invoke(["once", sample("healthy"), "--config", str(config)])
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = one_error_line(proc)
    assert str(config) in err and key in err, err


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    proc = invoke(["once", sample("healthy"), "--config", str(missing)])
    assert proc.returncode == 2
    assert str(missing) in one_error_line(proc)


@pytest.mark.parametrize(
    ("name", "content", "source"),
    [
        (
            "pyproject.toml",
            '[project]\nname = "x"\n[tool.value-diag.thresholds]\n'
            "bellman_error = { warning = 100, critical = 200 }\n",
            "tool.value-diag.thresholds.bellman_error.warning",
        ),
        ("value-diag.toml", LENIENT, "thresholds.bellman_error.warning"),
    ],
    ids=["pyproject", "value-diag.toml"],
)
def test_config_is_found_in_the_working_directory(
    tmp_path: Path, name: str, content: str, source: str
) -> None:
    (tmp_path / "data").mkdir()
    run = run_file(tmp_path / "data" / "run.jsonl", {"bellman_error": 60.0})
    project = tmp_path / "project"
    project.mkdir()
    config = write(project / name, content)

    proc = run_in(project, ["once", str(run), "-f", "json", "--fail-on", "warning"])
    assert one_json(proc)["status"] == "ok"
    assert proc.returncode == 0, proc.stderr

    elsewhere = run_in(tmp_path / "data", ["once", str(run), "-f", "json", "--fail-on", "warning"])
    assert elsewhere.returncode == 1, "only the working directory's config counts"

    shown = run_in(project, ["thresholds"]).stdout.decode("utf-8")
    assert f"{config}: {source}" in shown or f"{name}: {source}" in shown, shown


def test_invalid_config_in_the_working_directory_is_exit_2(tmp_path: Path) -> None:
    write(tmp_path / "value-diag.toml", "[thresholds]\nreturn_spread = { warnin = 5 }\n")
    proc = run_in(tmp_path, ["once", sample("healthy")])
    assert proc.returncode == 2
    err = one_error_line(proc)
    assert "value-diag.toml" in err and "return_spread.warnin" in err, err


def test_thresholds_command_prints_every_value_and_its_source(tmp_path: Path) -> None:
    proc = run_in(tmp_path, ["thresholds"])
    assert proc.returncode == 0, proc.stderr
    rows = [row.split() for row in proc.stdout.decode("utf-8").splitlines()]
    assert [(r[0], r[1], r[2] if r[0] == "compile" else float(r[2]), r[3]) for r in rows] == [
        ("v_return_correlation", "excellent", 0.8, "default"),
        ("v_return_correlation", "warning", 0.5, "default"),
        ("v_return_correlation", "critical", 0.3, "default"),
        ("td_error_mean", "warning", 5.0, "default"),
        ("td_error_mean", "critical", 15.0, "default"),
        ("bellman_error", "warning", 20.0, "default"),
        ("bellman_error", "critical", 50.0, "default"),
        ("return_skewness", "warning", 1.0, "default"),
        ("return_skewness", "critical", 2.0, "default"),
        ("return_variance", "warning", 100.0, "default"),
        ("return_spread", "warning", 50.0, "default"),
        ("explained_variance", "warning", 0.3, "default"),
        ("explained_variance", "critical", 0.0, "default"),
        ("low_return_variance", "floor", 1.0, "default"),
        ("calib_corr", "warning", 0.6, "default"),
        ("compile", "eager", "warning", "default"),
        ("gate", "warmup", 0.0, "default"),
        ("gate", "persist", 1.0, "default"),
    ]

    config = write(tmp_path / "ci.toml", LENIENT + "return_spread = { warning = 75.5 }\n")
    out = run_in(tmp_path, ["thresholds", "--config", str(config)]).stdout.decode("utf-8")
    by_key = {tuple(row.split()[:2]): row for row in out.splitlines()}
    assert len(by_key) == 18
    assert by_key[("bellman_error", "warning")].split()[2] == "100"
    assert by_key[("bellman_error", "warning")].endswith(
        f"{config}: thresholds.bellman_error.warning"
    )
    assert by_key[("return_spread", "warning")].split()[2] == "75.5"
    assert by_key[("td_error_mean", "warning")].endswith("default")


def test_thresholds_command_refuses_a_bad_config(tmp_path: Path) -> None:
    config = write(tmp_path / "ci.toml", "[thresholds]\nv_return_correlation = { warning = 0.9 }\n")
    proc = invoke(["thresholds", "--config", str(config)])
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = one_error_line(proc)
    assert str(config) in err and "v_return_correlation.warning" in err, err


def append(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def test_watch_uses_the_config_for_fail_on(tmp_path: Path, spawn: Spawn) -> None:
    run = run_file(tmp_path / "run.jsonl", {"bellman_error": 7.0})
    write(tmp_path / "lenient.toml", LENIENT)
    w = spawn("run.jsonl", "--format", "json", "--fail-on", "warning", "--config", "lenient.toml")
    assert strict(w.lines(1)[0])["status"] == "ok"

    append(run, line({**HEALTHY, "bellman_error": 60.0}))  # critical under the defaults
    frame = strict(w.lines(1)[0])
    assert frame["value_function"]["bellman_error"] == {"value": 60.0, "level": "ok"}
    assert frame["status"] == "ok"

    append(run, line({**HEALTHY, "bellman_error": 150.0}))
    frame = strict(w.lines(1)[0])
    assert frame["value_function"]["bellman_error"] == {"value": 150.0, "level": "warning"}
    assert w.wait() == 1


def test_watch_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    run = run_file(tmp_path / "run.jsonl", {})
    config = write(tmp_path / "bad.toml", "[thresholds]\nbellman_error = { critical = 5 }\n")
    proc = run_cli(["watch", str(run), "--format", "json", "--config", str(config)], timeout=15)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert str(config) in one_error_line(proc)


# --- --format github -----------------------------------------------------------------------


def commands(proc: subprocess.CompletedProcess[bytes]) -> list[tuple[str, str, str]]:
    """(command, title, message) per output line; every line must be a workflow command."""
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out
    found = []
    for text in out.splitlines():
        match = ANNOTATION.fullmatch(text)
        assert match is not None, f"not a well-formed workflow command: {text!r}"
        found.append((match[1], match[2], match[3]))
    return found


def frame_of(path: str) -> Json:
    """The JSON frame of a file, computed in-process (for expectations, not the CLI)."""
    return to_json(Frame(path, fold_path(path, 0.0)))


def levels(path: str) -> dict[str, str]:
    """metric label -> level, as the JSON frame of the same file has them."""
    obj = frame_of(path)
    out = {LABELS[name]: entry["level"] for name, entry in obj["value_function"].items()}
    out["Compile"] = obj["infrastructure"]["level"]
    return out


@pytest.mark.parametrize("name", ["collapse", "eager"])
def test_github_annotates_each_alarming_metric(name: str, tmp_path: Path) -> None:
    path = sample(name)
    proc = invoke(["once", path, "--format", "github"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    got = commands(proc)
    wanted = {
        label: {"critical": "error", "warning": "warning"}[level]
        for label, level in levels(path).items()
        if level in ("critical", "warning")
    }
    assert wanted, "the sample has alarms"
    assert {title: command for command, title, _ in got} == {
        f"value-diag%3A {label} {'critical' if cmd == 'error' else 'warning'}": cmd
        for label, cmd in wanted.items()
    }
    assert len(got) == len(wanted), "one command per alarming metric, no notice"
    for command, _, message in got:
        assert message.startswith(f"{path}: "), message
        level = "critical" if command == "error" else "warning"
        assert message.endswith(f"({level})"), message
    if name == "collapse":
        assert any("NaN (critical)" in m for _, _, m in got), "the NaN that kills the run"


def test_github_notice_when_all_is_well() -> None:
    path = sample("healthy")
    proc = invoke(["once", path, "--format", "github", "--fail-on", "warning"])
    assert proc.returncode == 0
    got = commands(proc)
    assert len(got) == 1
    command, title, message = got[0]
    assert (command, title) == ("notice", "value-diag")
    assert message.startswith(f"{path}: ok")


def test_github_fail_on_keeps_its_exit_code() -> None:
    proc = invoke(["once", sample("collapse"), "--format", "github", "--fail-on", "critical"])
    assert proc.returncode == 1
    assert any(command == "error" for command, _, _ in commands(proc))


def test_github_escapes_hostile_file_names_and_backends(tmp_path: Path) -> None:
    backend = "evil\n::error::injected\x1b[31m%0A|x"
    name = "run 100%0A\n::error::pwned\x1b[2J.jsonl"
    path = run_file(
        tmp_path / name,
        {"bellman_error": 30.0},
        compile_={**COMPILE, "compile_backend": backend},
    )
    summary = tmp_path / "summary.md"
    proc = invoke(
        ["once", str(path), "--format", "github"], env=clean_env(GITHUB_STEP_SUMMARY=str(summary))
    )
    assert proc.returncode == 0, proc.stderr
    got = commands(proc)  # no ESC; every line a single well-formed command
    assert [(c, t) for c, t, _ in got] == [("warning", "value-diag%3A Bellman warning")]
    message = got[0][2]
    assert "100%250A" in message, "a literal %0A in the data must not decode to a newline"
    assert "%0A" not in message.replace("%250A", ""), message
    assert "%" not in message.replace("%25", ""), "every percent is escaped"
    assert "injected" not in proc.stdout.decode("utf-8")

    md = summary.read_text(encoding="utf-8")
    assert "\x1b" not in md
    compile_rows = [row for row in md.splitlines() if row.startswith("| Compile |")]
    assert len(compile_rows) == 1, md
    assert "evil" in compile_rows[0] and "\\|x" in compile_rows[0]
    assert len(re.findall(r"(?<!\\)\|", compile_rows[0])) == 4, compile_rows[0]


def test_github_escaping_of_properties_and_data() -> None:
    """The escapes GitHub documents, for text the CLI cannot currently put in a title."""
    from value_diag.render.github import _escape_data, _escape_property

    assert _escape_property("a: b, c%\n\r") == "a%3A b%2C c%25%0A%0D"
    assert _escape_data("a: b, c%\n\r") == "a: b, c%25%0A%0D"


def test_github_step_summary_gets_markdown_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = clean_env(GITHUB_STEP_SUMMARY=str(summary))
    for _ in range(2):
        proc = invoke(["once", sample("bimodal"), "--format", "github"], env=env)
        assert proc.returncode == 0, proc.stderr
    md = summary.read_text(encoding="utf-8")
    assert md.count("### VALUE DIAGNOSTICS") == 2, "appended each run, never overwritten"
    assert md.count("| metric | value | level |") == 2
    assert "bimodal.jsonl" in md
    assert "**warning**" in md

    text = invoke(["once", sample("healthy")], env=env)
    assert text.returncode == 0
    assert summary.read_text(encoding="utf-8") == md, "only --format github writes the summary"


def test_github_unwritable_step_summary_is_one_warning_line(tmp_path: Path) -> None:
    summary = tmp_path / "no-such-dir" / "summary.md"
    proc = invoke(
        ["once", sample("healthy"), "--format", "github"],
        env=clean_env(GITHUB_STEP_SUMMARY=str(summary)),
    )
    assert proc.returncode == 0, "the summary is best effort; the verdict decides"
    assert [c for c, _, _ in commands(proc)] == ["notice"]
    no_traceback(proc)
    err = proc.stderr.decode("utf-8")
    assert err.count("\n") == 1 and err.startswith("value-diag: warning: "), err
    assert str(summary) in err


# --- --format markdown ---------------------------------------------------------------------


def test_markdown_is_a_table_with_a_row_per_metric() -> None:
    path = sample("bimodal")
    proc = invoke(["once", path, "--format", "markdown"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out
    assert out.startswith(f"### VALUE DIAGNOSTICS: `{path}`\n")
    assert "**warning**" in out.splitlines()[2]
    rows = {}
    for row in out.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if row.startswith("| ") and len(cells) == 3 and cells[0] not in ("metric",):
            rows[cells[0]] = (cells[1], cells[2])
    # the panel's own names (the ASCII spelling is the annotations')
    expected = {("Ret σ" if k == "Ret sigma" else k): v for k, v in levels(path).items()}
    assert set(rows) == set(expected), rows
    for label, level in expected.items():
        shown = rows[label][1]
        assert shown in (level, f"**{level}**"), (label, shown)
        assert shown.startswith("**") is (level in ("warning", "critical")), (label, shown)
    spread = frame_of(path)["value_function"]["return_spread"]["value"]
    assert rows["p90-p10"][0] == format(spread, ".0f")
    assert rows["Compile"][0] == "`inductor:reduce-overhead`", "from the file: a code span"


def test_markdown_escapes_a_hostile_backend(tmp_path: Path) -> None:
    path = run_file(
        tmp_path / "run.jsonl",
        {},
        compile_={**COMPILE, "compile_backend": "a|b\x1b[31m`c`\n| x | y |"},
    )
    proc = invoke(["once", str(path), "--format", "markdown"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out
    table = [row for row in out.splitlines() if row.startswith("|")]
    assert len(table) == 2 + 11, "header, rule, and one row per metric plus compile"
    for row in table:
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
    compile_row = next(row for row in table if row.startswith("| Compile |"))
    assert "a\\|b" in compile_row


# --- --svg and --html ----------------------------------------------------------------------


def visible(markup: str) -> str:
    """The text a viewer shows: tags dropped, entities decoded, no-break spaces as spaces."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).replace("\xa0", " ")


def test_svg_and_html_exports(tmp_path: Path) -> None:
    run = run_file(tmp_path / "run.jsonl", {"v_return_correlation": 0.87, "bellman_error": 12.3})
    svg, page = tmp_path / "frame.svg", tmp_path / "frame.html"
    proc = invoke(["once", str(run), "--svg", str(svg), "--html", str(page)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").startswith("VALUE DIAGNOSTICS | ok |"), "stdout as usual"

    drawing = svg.read_text(encoding="utf-8")
    assert drawing.lstrip().startswith("<svg")
    shown = visible(drawing)
    for needle in ("VALUE DIAGNOSTICS", "0.87", "12.3", "inductor:default"):
        assert needle in shown, needle

    document = page.read_text(encoding="utf-8")
    assert "<html" in document and "<pre" in document
    shown = visible(document)
    for needle in ("VALUE DIAGNOSTICS", "0.87", "12.3", "inductor:default"):
        assert needle in shown, needle


def svg_columns(drawing: str) -> float:
    """How wide an SVG is, in terminal columns (Rich draws a column about 12.2 px wide)."""
    found = re.search(r'viewBox="0 0 ([\d.]+) ', drawing)
    assert found is not None, drawing[:300]
    return float(found.group(1)) / 12.2


@pytest.mark.parametrize("runs", [["collapse"], ["collapse", "healthy"]])
def test_svg_is_as_wide_as_the_panels_not_the_whole_canvas(tmp_path: Path, runs: list[str]) -> None:
    """The panels are measured: the picture is the export's 100 columns, not thousands.

    The files are named as a user in their folder types them: a panel's title holds its path, so
    a checkout in a deep folder would make the title, and rightly the picture, wider.
    """
    for run in runs:
        shutil.copy(sample(run), tmp_path)
    proc = invoke(["once", *(f"{r}.jsonl" for r in runs), "--svg", "frame.svg"], cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert 95 < svg_columns((tmp_path / "frame.svg").read_text(encoding="utf-8")) < 110


def test_svg_is_wide_enough_for_a_long_title(tmp_path: Path) -> None:
    """A long path widens the picture, and keeps its end: the file and the folders nearest it."""
    deep = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i}" for i in range(8)])
    deep.mkdir(parents=True)
    run = Path(shutil.copy(sample("collapse"), deep))
    assert len(str(run)) > 250
    svg = tmp_path / "frame.svg"
    proc = invoke(["once", str(run), "--svg", str(svg)])
    assert proc.returncode == 0, proc.stderr
    drawing = svg.read_text(encoding="utf-8")
    assert svg_columns(drawing) > 200
    shown = visible(drawing)
    assert "a-rather-long-folder-name-6/a-rather-long-folder-name-7/collapse.jsonl ·" in shown
    assert f"{tmp_path.parts[1]}/" in shown, "the start is kept too"


def test_svg_of_a_comparison_holds_every_run(tmp_path: Path) -> None:
    svg = tmp_path / "runs.svg"
    proc = invoke(["once", sample("healthy"), sample("collapse"), "--compare", "--svg", str(svg)])
    assert proc.returncode == 0, proc.stderr
    shown = visible(svg.read_text(encoding="utf-8"))
    assert "VALUE DIAGNOSTICS" in shown
    # A row per run, by the name the table shows (the directory and .jsonl they share left
    # out), worst first. The drawing need not keep the spaces between cells.
    rows = [re.match(r"(collapse|healthy)\s*(critical|ok)", line) for line in shown.splitlines()]
    said = [(m[1], m[2]) for m in rows if m is not None]
    assert said == [("collapse", "critical"), ("healthy", "ok")], shown
    assert ".jsonl" not in shown


def test_unwritable_export_is_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "frame.svg"
    proc = invoke(["once", sample("healthy"), "--svg", str(target)])
    assert proc.returncode == 2
    assert str(target) in one_error_line(proc)


# --- several runs --------------------------------------------------------------------------

ALL: Final = ["healthy", "collapse", "flat", "bimodal", "snapshot", "eager"]
STATUS: Final = {
    "collapse": "critical",
    "bimodal": "warning",
    "eager": "warning",
    "healthy": "ok",
    "flat": "ok",
    "snapshot": "ok",
}

CULPRITS: Final = {
    "collapse": ": V-Corr, Bellman, TD Mean, +4",
    "bimodal": ": Ret σ, Skew, p90-p10",
    "eager": ": Compile",
}
"""What a text header names after the status: at most three metrics, critical first."""


NATURAL: Final = ["bimodal", "collapse", "eager", "flat", "healthy", "snapshot"]
"""ALL as the runs are shown: by the name left once the directory and the .jsonl they
share are left out, in natural order of those names whatever order they were given in."""
STEPS: Final = {
    "bimodal": 49,
    "collapse": 59,
    "eager": 43,
    "flat": 49,
    "healthy": 59,
    "snapshot": 49,
}
"""The training step of each sample's newest record."""


def test_several_files_print_one_text_frame_each_in_order() -> None:
    paths = [sample(n) for n in ALL]
    proc = invoke(["once", *paths])
    assert proc.returncode == 0, proc.stderr
    frames = proc.stdout.decode("utf-8").split("\n\n")
    assert len(frames) == len(ALL)
    for frame, name in zip(frames, NATURAL, strict=True):
        lines = frame.strip("\n").splitlines()
        assert len(lines) == 6, lines
        said = STATUS[name] + CULPRITS.get(name, "")
        assert lines[0].startswith(f"VALUE DIAGNOSTICS | {said} | {name} | step {STEPS[name]} | ")
        assert UPDATED.search(lines[0]), lines[0]


def test_several_files_print_one_json_line_each_in_order() -> None:
    paths = [sample(n) for n in ALL]
    proc = invoke(["once", *paths, "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    frames = json_lines(proc)
    assert [(f["source"], f["name"], f["status"]) for f in frames] == [
        (sample(n), n, STATUS[n]) for n in NATURAL
    ], "the full path in source, the name it is shown by, in natural order of the names"


def test_compare_is_one_table_sorted_worst_first() -> None:
    paths = [sample(n) for n in ALL]
    proc = invoke(["once", *paths, "--compare"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert out.count("VALUE DIAGNOSTICS") == 1, "one table, not a frame per run"
    header = next(row for row in out.splitlines() if "status" in row.split())
    for label in ("V-Corr", "Bellman", "TD Mean", "Skew"):
        assert label in header
    rows = [row for row in out.splitlines() if row.split()[:1] and row.split()[0] in ALL]
    assert len(rows) == len(ALL)
    order = [row.split()[0] for row in rows]
    assert sorted(order) == sorted(ALL)
    assert ".jsonl" not in out and str(SAMPLES) not in out, "runs shown by their short names"
    statuses = [row.split()[1] for row in rows]
    assert statuses == [STATUS[n] for n in order]
    assert [SEVERITY[s] for s in statuses] == sorted(SEVERITY[s] for s in statuses)
    assert order[0] == "collapse"
    assert "NaN‼" in rows[0].split(), "the dying run's NaN is in its row, marked critical"


def test_compare_json_is_a_list_in_the_same_order() -> None:
    paths = [sample(n) for n in reversed(ALL)]
    text = invoke(["once", *paths, "--compare"]).stdout.decode("utf-8")
    table_order = [
        row.split()[0] for row in text.splitlines() if row.split()[:1] and row.split()[0] in ALL
    ]
    assert sorted(table_order) == sorted(ALL), text
    proc = invoke(["once", *paths, "--compare", "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert out.count("\n") == 1
    frames = strict(out)
    assert isinstance(frames, list)
    assert [(f["source"], f["name"]) for f in frames] == [(sample(n), n) for n in table_order]
    assert [SEVERITY[f["status"]] for f in frames] == sorted(SEVERITY[f["status"]] for f in frames)
    assert all("value_function" in f and "history" not in f for f in frames)


def test_compare_colours_cells_by_level() -> None:
    proc = invoke(["once", sample("healthy"), sample("collapse"), "--compare", "--color", "always"])
    out = proc.stdout.decode("utf-8")
    assert "1;31" in styles_of(out, "critical"), "status word of the dying run is red bold"
    assert "1;31" in styles_of(out, "NaN‼"), "a critical value: red, and its glyph"


def copied(directory: Path, name: str) -> str:
    """A sample copied into ``directory``, so that every run given shares that directory
    and is shown by the sample's name."""
    path = directory / f"{name}.jsonl"
    path.write_bytes(Path(sample(name)).read_bytes())
    return str(path)


def test_several_files_unreadable_one_is_reported_and_the_others_printed(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "gone.jsonl"
    healthy, bimodal = copied(tmp_path, "healthy"), copied(tmp_path, "bimodal")
    proc = invoke(["once", healthy, str(missing), bimodal, "-f", "json"])
    assert proc.returncode == 2
    assert str(missing) in one_error_line(proc)
    assert [(f["source"], f["name"]) for f in json_lines(proc)] == [
        (bimodal, "bimodal"),
        (healthy, "healthy"),
    ], "the runs read, in natural order of their names"

    collapse = copied(tmp_path, "collapse")
    table = invoke(["once", healthy, str(missing), collapse, "--compare"])
    assert table.returncode == 2
    assert str(missing) in one_error_line(table)
    out = table.stdout.decode("utf-8")
    rows = [line.split()[:2] for line in out.splitlines()[2:] if line.startswith(" ")]
    assert rows == [["collapse", "critical"], ["healthy", "ok"]], out


@pytest.mark.parametrize(
    ("names", "args", "code"),
    [
        (["healthy", "bimodal", "collapse"], ["--fail-on", "critical"], 1),
        (["healthy", "bimodal", "eager"], ["--fail-on", "critical"], 0),
        (["healthy", "empty", "flat"], [], 3),
        (["healthy", "collapse", "empty"], ["--fail-on", "critical", "--compare"], 1),
    ],
    ids=["one-dying", "none-dying", "one-empty", "compare-fail-beats-no-data"],
)
def test_several_files_exit_with_the_worst_code(
    tmp_path: Path, names: list[str], args: list[str], code: int
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    paths = [str(empty) if n == "empty" else copied(tmp_path, n) for n in names]
    proc = invoke(["once", *paths, *args])
    assert proc.returncode == code, proc.stderr
    # --fail-on says which run failed it, by the name it is shown by, and why; nothing
    # else is said.
    dying = "value-diag: collapse reached critical (--fail-on critical): "
    said = [dying + COLLAPSE_CULPRITS] if code == 1 else []
    assert proc.stderr.decode("utf-8").splitlines() == said
