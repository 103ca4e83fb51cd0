"""`value-diag once` end to end: the real console script in a subprocess.

Exit codes, pipes, stdin, JSON and the environment, as a user or a CI job sees them.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import SAMPLES, clean_env, invoke, script
from telemetry import FRAME_KEYS, NINE, json_value, metrics

from value_diag import __version__
from value_diag.frame import NO_METRIC_HINT
from value_diag.ingest.finder import COMPILED

LEVELS: Final = {"no_data", "info", "ok", "warning", "critical"}
NON_FINITE: Final = {"NaN", "Infinity", "-Infinity"}
LABELS: Final = ("V-Corr", "TD Mean", "Returns", "Ret", "Compile")
"""The first word(s) of the five panel lines, in order."""
PRODUCER_SAMPLE: Final = Path("/work/shared/samples/esper_filewriter_collapse.jsonl")

SGR_RUN: Final = re.compile(r"\x1b\[([0-9;]*)m([^\x1b]*)")
"""One styled run as Rich writes it: the SGR parameters, then the text they apply to."""
COLOUR_PARAM: Final = re.compile(r"^(3[0-9]|4[0-9]|9[0-7]|10[0-7])$")
"""SGR parameters that set a foreground or background colour (not bold, dim, reverse)."""


# --- helpers -------------------------------------------------------------------------------


def _refuse_constant(token: str) -> Any:
    raise AssertionError(f"bare {token} token in JSON output: not strict JSON")


def strict_json(stdout: bytes) -> dict[str, Any]:
    """The single JSON line of an output, parsed strictly (no bare NaN/Infinity)."""
    assert stdout.endswith(b"\n"), stdout[-80:]
    assert stdout.count(b"\n") == 1, "JSON output must be exactly one line"
    obj = json.loads(stdout.decode("utf-8"), parse_constant=_refuse_constant)
    assert isinstance(obj, dict)
    return obj


def compile_line(enabled: bool = True, backend: str = "inductor", mode: str = "default") -> str:
    return json.dumps(
        {"compile_enabled": enabled, "compile_backend": backend, "compile_mode": mode}
    )


def write_lines(path: Path, *lines: str) -> Path:
    """A JSONL file of the given lines (each ended with a newline)."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def flat_file(path: Path, **overrides: float) -> Path:
    """A two-line flat-shape file: compile settings, then one metric line."""
    return write_lines(path, compile_line(), json.dumps({"step": 0, **metrics(**overrides)}))


def records_in(path: Path) -> int:
    """Lines of an esper event file that change the state (run starts and PPO updates)."""
    kinds = ("TRAINING_STARTED", "PPO_UPDATE_COMPLETED")
    with path.open(encoding="utf-8") as f:
        return sum(json.loads(line).get("event_type") in kinds for line in f if line.strip())


def colour_params(out: str) -> set[str]:
    """Every SGR parameter in ``out`` that sets a colour."""
    params = {p for codes, _ in SGR_RUN.findall(out) for p in codes.split(";")}
    return {p for p in params if COLOUR_PARAM.match(p)}


def styles_of(out: str, text: str) -> list[str]:
    """The SGR parameter strings of every styled run whose text is ``text`` (stripped)."""
    return [codes for codes, run in SGR_RUN.findall(out) if run.strip() == text]


def no_traceback(proc: subprocess.CompletedProcess[bytes]) -> None:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")


# --- text frames in a pipe -----------------------------------------------------------------


def test_text_in_a_pipe_is_a_header_and_five_unbordered_lines() -> None:
    path = SAMPLES / "healthy.jsonl"
    proc = invoke(["once", str(path)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert b"\x1b" not in proc.stdout, "no ANSI escapes in a pipe by default"
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == 6, lines
    assert lines[0].startswith("VALUE DIAGNOSTICS | ok | ")
    assert str(path) in lines[0]
    assert f"{records_in(path)} records" in lines[0]
    assert "0 bad lines" in lines[0]
    for line, label in zip(lines[1:], LABELS, strict=True):
        assert line.startswith(label), f"{line!r} should start at column 0 with {label!r}"
    # `grep Bellman` finds the first panel line itself, not a border around it.
    assert [line for line in lines if "Bellman" in line] == [lines[1]]
    # Unicode glyphs by default (the --ascii tests check the other set).
    assert lines[4].startswith("Ret σ")
    assert lines[1].split()[1].endswith("↗")
    assert lines[5].endswith("✓")


@pytest.mark.parametrize(
    ("args", "env", "expect"),
    [
        pytest.param([], {}, "plain", id="auto-in-a-pipe-is-plain"),
        pytest.param(["--color", "always"], {}, "colour", id="always-colours-a-pipe"),
        pytest.param([], {"FORCE_COLOR": "1"}, "colour", id="auto-honours-FORCE_COLOR"),
        pytest.param([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, "no-colour", id="NO_COLOR"),
        pytest.param(["--color", "never"], {"FORCE_COLOR": "1"}, "plain", id="never-beats-env"),
    ],
)
def test_colour_choice(args: list[str], env: dict[str, str], expect: str) -> None:
    """plain: no escape at all; colour: colour escapes; no-colour: styles maybe, colours not."""
    proc = invoke(["once", str(SAMPLES / "healthy.jsonl"), *args], env=clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "VALUE DIAGNOSTICS" in out
    if expect == "plain":
        assert "\x1b" not in out, out
    elif expect == "colour":
        assert colour_params(out), f"expected colour escapes: {out!r}"
    else:
        assert "\x1b[" in out, "FORCE_COLOR still makes it a terminal (bold, dim)"
        assert not colour_params(out), f"expected no colour: {out!r}"


def test_plain_frame_keeps_the_spec_styles(tmp_path: Path) -> None:
    """The header's bold does not leak: a healthy Bellman must not look like a great V-Corr."""
    path = flat_file(tmp_path / "run.jsonl", v_return_correlation=0.9, bellman_error=7.0)
    proc = invoke(["once", str(path), "--color", "always"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert styles_of(out, "0.9↗") == ["1;32"], "V-Corr >= 0.8 is green bold"
    assert styles_of(out, "7") == ["32"], "Bellman < 20 is green, not bold"
    assert styles_of(out, "V-Corr") == ["2"], "labels are dim"


def test_collapse_shows_non_finite_values_and_fails_on_critical() -> None:
    proc = invoke(["once", str(SAMPLES / "collapse.jsonl"), "--fail-on", "critical"])
    assert proc.returncode == 1
    assert proc.stderr.decode("utf-8").startswith("value-diag: ")
    lines = proc.stdout.decode("utf-8").splitlines()
    assert "| critical: V-Corr, Bellman, TD Mean, +4 |" in lines[0]
    row = re.fullmatch(r"V-Corr\s+(\S+)\s+Bellman\s+(\S+)", lines[1])
    assert row is not None, lines[1]
    assert row[1] == "NaN↘‼", "critical: the arrow and the alarm glyph"
    assert row[2] == "NaN‼"
    assert re.fullmatch(r"TD Mean\s+\S+‼\s+TD Std\s+Inf‼", lines[2]), lines[2]


# --- JSON ----------------------------------------------------------------------------------


def test_json_is_one_strict_line_with_the_documented_shape() -> None:
    path = SAMPLES / "collapse.jsonl"
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, "--fail-on defaults to never: a critical run still exits 0"
    assert proc.stderr == b""
    obj = strict_json(proc.stdout)
    assert set(obj) == FRAME_KEYS
    assert obj["source"] == str(path)
    assert obj["records"] == records_in(path)
    assert obj["bad_lines"] == 0
    assert obj["last_error"] is None
    assert obj["status"] == "critical"

    vf = obj["value_function"]
    assert set(vf) == {*NINE, "return_spread"}
    for name, entry in vf.items():
        assert set(entry) == {"value", "level"}, name
        value = entry["value"]
        assert value in NON_FINITE or type(value) in (int, float), (name, value)
        assert entry["level"] in LEVELS, (name, entry)
    assert vf["v_return_correlation"] == {"value": "NaN", "level": "critical"}
    assert vf["bellman_error"] == {"value": "NaN", "level": "critical"}
    assert vf["td_error_std"] == {"value": "Infinity", "level": "critical"}
    spread = vf["return_spread"]["value"]
    assert spread == pytest.approx(vf["return_p90"]["value"] - vf["return_p10"]["value"])

    assert obj["infrastructure"] == {
        "compile_enabled": True,
        "compile_backend": "inductor",
        "compile_mode": "max-autotune",
        "level": "ok",
    }


def test_json_of_the_real_producer_sample() -> None:
    """esper's FileWriter writes bare NaN/Infinity tokens; they are read, not counted bad."""
    lines = PRODUCER_SAMPLE.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    last_ppo = [e for e in events if e["event_type"] == "PPO_UPDATE_COMPLETED"][-1]["data"]
    assert any(not math.isfinite(last_ppo[name]) for name in NINE), "sample has non-finite"

    proc = invoke(["once", str(PRODUCER_SAMPLE), "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    obj = strict_json(proc.stdout)
    assert obj["bad_lines"] == 0
    assert obj["last_error"] is None
    assert obj["records"] == records_in(PRODUCER_SAMPLE)
    got = {name: obj["value_function"][name]["value"] for name in NINE}
    assert got == {name: json_value(float(last_ppo[name])) for name in NINE}
    infra = obj["infrastructure"]
    compile_ = f"{infra['compile_backend']}:{infra['compile_mode']}"
    assert (infra["compile_enabled"], compile_) == (True, "inductor:reduce-overhead")


def test_json_escapes_hostile_strings_and_spells_negative_infinity(tmp_path: Path) -> None:
    backend = "\u001b]52;c;SGVsbG8=\u0007evil"
    path = write_lines(
        tmp_path / "hostile.jsonl",
        compile_line(backend=backend, mode="[red]x[/red]"),
        json.dumps(metrics(return_p10=-math.inf)),  # a bare -Infinity token
    )
    proc = invoke(["once", str(path), "--format", "json"])
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout, "escaped, never raw"
    obj = strict_json(proc.stdout)
    assert obj["infrastructure"]["compile_backend"] == backend, "the exact string, escaped"
    assert obj["infrastructure"]["compile_mode"] == "[red]x[/red]"
    assert obj["value_function"]["return_p10"] == {"value": "-Infinity", "level": "critical"}
    assert obj["value_function"]["return_spread"]["value"] == "Infinity"
    assert obj["status"] == "critical"
    assert proc.returncode == 0


# --- exit codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "fail_on", "status", "code", "culprits"),
    [
        ("healthy", "warning", "ok", 0, ""),
        ("eager", "warning", "warning", 1, "Compile"),
        ("eager", "critical", "warning", 0, ""),
        ("bimodal", "warning", "warning", 1, "Ret σ, Skew, p90-p10"),
        ("bimodal", "critical", "warning", 0, ""),
    ],
)
def test_fail_on_threshold(
    sample: str, fail_on: str, status: str, code: int, culprits: str
) -> None:
    path = str(SAMPLES / f"{sample}.jsonl")
    proc = invoke(["once", path, "-f", "json", "--fail-on", fail_on])
    assert strict_json(proc.stdout)["status"] == status
    assert proc.returncode == code
    said = f"value-diag: {path} reached {status} (--fail-on {fail_on}): {culprits}\n"
    assert proc.stderr.decode("utf-8") == (said if code else "")


NO_DATA_FILES: Final = {
    "empty": [],
    "foreign": [
        '{"epoch": 1, "loss": 0.3}',
        "plain text, not JSON",
        '{"event_type": "EPOCH_COMPLETED", "data": {"val_loss": 1.0}}',
        '{"event_type": "PPO_UPDATE_COMPLETED", "data": {"policy_loss": 0.1}}',
    ],
    "bad-only": ['{"v_return_correlation": 0.5, "td_err', '{"bellman_error": "high"}'],
}


@pytest.mark.parametrize(("kind", "bad"), [("foreign", 0), ("bad-only", 2)])
def test_no_usable_record_json_exits_3(tmp_path: Path, kind: str, bad: int) -> None:
    path = write_lines(tmp_path / f"{kind}.jsonl", *NO_DATA_FILES[kind])
    proc = invoke(["once", str(path), "--format", "json", "--fail-on", "warning"])
    assert proc.returncode == 3
    obj = strict_json(proc.stdout)
    assert obj["status"] == "no_data"
    assert obj["records"] == 0
    assert obj["bad_lines"] == bad
    if bad:
        assert obj["last_error"].startswith(f"line {bad}: ")
        assert "bellman_error" in obj["last_error"]
    else:
        assert obj["last_error"] is None
    assert {e["level"] for e in obj["value_function"].values()} == {"no_data"}
    assert obj["infrastructure"]["level"] == "no_data"


def test_empty_file_text_prints_no_data_and_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    proc = invoke(["once", str(path), "--fail-on", "warning"])
    assert proc.returncode == 3, "no data comes before --fail-on"
    lines = proc.stdout.decode("utf-8").splitlines()
    assert " | no data | " in lines[0]
    assert lines[1:] == ["[no data]", NO_METRIC_HINT]
    assert proc.stderr == b""


def test_bad_line_mid_file_is_counted_and_the_last_good_record_shown(tmp_path: Path) -> None:
    good = metrics(v_return_correlation=0.82, bellman_error=12.5)
    path = write_lines(
        tmp_path / "run.jsonl",
        compile_line(),
        json.dumps(good),
        # Line 3 is bad; were it applied in part, V-Corr would read 0.05.
        json.dumps({**metrics(v_return_correlation=0.05), "bellman_error": "oops"}),
        '{"epoch": 4}',
        compile_line(mode="max-autotune"),  # the fold goes on past the bad line
    )
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    obj = strict_json(proc.stdout)
    assert (obj["records"], obj["bad_lines"]) == (3, 1)
    assert obj["last_error"].startswith("line 3: ")
    assert "bellman_error" in obj["last_error"]
    assert {name: obj["value_function"][name]["value"] for name in NINE} == good
    assert obj["infrastructure"]["compile_mode"] == "max-autotune"

    text = invoke(["once", str(path)])
    assert text.returncode == 0
    lines = text.stdout.decode("utf-8").splitlines()
    assert "1 bad line" in lines[0]
    assert "(last: line 3: " in lines[0]
    assert lines[1].split()[1].startswith("0.82")


@pytest.mark.parametrize(
    "option",
    [["--format", "xml"], ["--fail-on", "bogus"], ["--color", "sometimes"]],
    ids=["format", "fail-on", "color"],
)
def test_bad_option_value_is_a_usage_error(option: list[str]) -> None:
    proc = invoke(["once", str(SAMPLES / "healthy.jsonl"), *option])
    assert proc.returncode == 2
    assert proc.stdout == b""
    no_traceback(proc)
    err = proc.stderr.decode("utf-8")
    assert option[0] in err and option[1] in err, err


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_input_is_one_line_on_stderr_and_exit_2(tmp_path: Path, kind: str) -> None:
    # A path long enough that a console 80 columns wide would wrap the message.
    path = tmp_path / ("d" * 60) / "run.jsonl"
    if kind == "directory":
        path.mkdir(parents=True)
    proc = invoke(["once", str(path)])
    assert proc.returncode == 2
    assert proc.stdout == b""
    no_traceback(proc)
    err = proc.stderr.decode("utf-8")
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert str(path) in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_input_without_permission_exits_2(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "secret.jsonl", compile_line())
    path.chmod(0)
    proc = invoke(["once", str(path)])
    assert proc.returncode == 2
    no_traceback(proc)
    err = proc.stderr.decode("utf-8")
    assert err.count("\n") == 1 and str(path) in err, err


def test_unreadable_path_escape_sequences_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "\x1b]52;c;SGVsbG8=\x1b\\evil.jsonl"
    proc = invoke(["once", str(path)])
    assert proc.returncode == 2
    assert b"evil.jsonl" in proc.stderr
    assert b"\x1b" not in proc.stderr, proc.stderr


# --- stdin and pipes -----------------------------------------------------------------------


def test_stdin_gives_the_same_json_as_the_path() -> None:
    path = SAMPLES / "collapse.jsonl"
    now = path.stat().st_mtime + 90.0
    by_path = invoke(["once", str(path), "--format", "json"], clock=lambda: now)
    by_stdin = invoke(["once", "-", "--format", "json"], input=path.read_bytes(), clock=lambda: now)
    assert by_stdin.returncode == by_path.returncode == 0
    from_path, from_stdin = strict_json(by_path.stdout), strict_json(by_stdin.stdout)
    assert from_stdin.pop("source") == from_stdin.pop("name") == "<stdin>"
    assert from_path.pop("source") == from_path.pop("name") == str(path)
    # A file is as old as its last write; a stream's records arrived as it was read.
    assert (from_path.pop("age_s"), from_stdin.pop("age_s")) == (pytest.approx(90.0), 0.0)
    assert from_stdin == from_path
    assert from_stdin["records"] > 0


def test_head_in_a_shell_pipeline_sees_the_header_and_no_traceback() -> None:
    command = shlex.join([*script(), "once", str(SAMPLES / "collapse.jsonl")])
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"],
        capture_output=True,
        env=clean_env(),
        timeout=30,
        check=False,
    )
    assert proc.stdout.decode("utf-8").startswith("VALUE DIAGNOSTICS | critical: V-Corr, ")
    assert proc.stdout.count(b"\n") == 1
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, "the pipeline's status is the verdict: ok under --fail-on never"


@pytest.mark.parametrize(
    ("sample", "args", "code"),
    [
        pytest.param("healthy", ["--format", "text"], 0, id="text-ok"),
        pytest.param("collapse", ["--format", "json", "--fail-on", "critical"], 1, id="json-fail"),
    ],
)
def test_reader_gone_before_output_is_quiet_and_keeps_the_verdict(
    sample: str, args: list[str], code: int
) -> None:
    """`once -` whose stdout reader has left before any output exists.

    The input is sent only after the read end is closed, and `once` prints only after
    EOF, so the write always meets a broken pipe: no timing involved. The exit code is
    still the verdict on the data (Rich alone would exit 1, the --fail-on code).
    """
    proc = subprocess.Popen(
        [*script(), "once", "-", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate((SAMPLES / f"{sample}.jsonl").read_bytes(), timeout=30)
    assert b"Traceback" not in err, err.decode(errors="replace")
    # Only the verdict: why --fail-on ended it, which stderr still carries.
    said = b"value-diag: <stdin> reached critical (--fail-on critical): " if code else b""
    assert err.startswith(said) and err.count(b"\n") == (1 if code else 0), err
    assert proc.returncode == code


# --- hostile strings -----------------------------------------------------------------------


@pytest.mark.parametrize("color", ["never", "always"])
def test_escape_and_markup_injection_is_neutralised(tmp_path: Path, color: str) -> None:
    path = write_lines(
        tmp_path / "hostile.jsonl",
        compile_line(backend="\u001b]52;c;SGVsbG8=\u0007evil", mode="[red]x[/red]"),
        json.dumps({"step": 0, **metrics()}),
    )
    proc = invoke(["once", str(path), "--color", color])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert b"\x1b]" not in out, "no OSC sequence"
    assert b"\x07" not in out, "no BEL"
    assert b"\xc2\x9d" not in out, "no 8-bit OSC either"
    if color == "never":
        assert b"\x1b" not in out
    compile_row = re.sub(r"\x1b\[[0-9;]*m", "", out.decode("utf-8")).splitlines()[-1]
    assert compile_row.startswith("Compile")
    assert "evil" in compile_row
    assert "[red]x[/red]" in compile_row, "markup shows literally"


# --- glyphs and encodings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "corr_cell", "spread_flag"),
    [
        pytest.param({"v_return_correlation": 0.9}, "0.9^", False, id="up"),
        pytest.param(
            {"v_return_correlation": 0.6, "return_p10": -30.0, "return_p90": 40.0},
            "0.6->",
            True,
            id="flat-and-spread",
        ),
        pytest.param({"v_return_correlation": 0.1}, "0.1v!!", False, id="down"),
    ],
)
def test_ascii_option_prints_only_ascii(
    tmp_path: Path, overrides: dict[str, float], corr_cell: str, spread_flag: bool
) -> None:
    path = flat_file(tmp_path / "run.jsonl", **overrides)
    proc = invoke(["once", str(path), "--ascii"])
    assert proc.stderr == b""
    assert all(byte < 0x80 for byte in proc.stdout), proc.stdout
    lines = proc.stdout.decode("ascii").splitlines()
    assert lines[1].split()[1] == corr_cell
    assert lines[3].endswith(" !") is spread_flag
    assert lines[4].startswith("Ret sigma ")
    assert lines[5] == "Compile   inductor:default OK"


def test_ascii_only_stdout_falls_back_to_ascii_glyphs() -> None:
    proc = invoke(["once", str(SAMPLES / "bimodal.jsonl")], env=clean_env(PYTHONIOENCODING="ascii"))
    assert proc.returncode == 0
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")
    assert all(byte < 0x80 for byte in proc.stdout), proc.stdout
    lines = proc.stdout.decode("ascii").splitlines()
    assert len(lines) == 6
    assert lines[1].split()[1].endswith("^")
    assert lines[3].endswith(" !")
    assert lines[4].startswith("Ret sigma ")
    assert lines[5].endswith(" OK")


# --- version and help ----------------------------------------------------------------------


def test_version() -> None:
    proc = invoke(["--version"])
    assert proc.returncode == 0
    built = "yes" if COMPILED else "no"
    assert proc.stdout == f"value-diag {__version__} (compiled name search: {built})\n".encode()


def test_version_via_python_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "value_diag", "--version"],
        capture_output=True,
        env=clean_env(),
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"value-diag {__version__} (".encode())


@pytest.mark.parametrize("args", [["--help"], ["once", "--help"]], ids=["top", "once"])
def test_help_has_examples(args: list[str]) -> None:
    proc = invoke(args)
    assert proc.returncode == 0
    assert proc.stderr == b""
    assert "Examples" in proc.stdout.decode("utf-8")
