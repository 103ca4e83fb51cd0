"""Hostile options and names: usage errors with exit 2, whole error lines, strict JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Final

import orjson
import pytest
from conftest import clean_env, invoke, run_cli, script

HEALTHY: Final = json.dumps({"v_return_correlation": 0.9, "bellman_error": 12.0}) + "\n"
HUGE_INT: Final = "99999999999999999999"
DIGITS: Final = "9" * 5_000
FLOATS_OUT_OF_RANGE: Final = ["inf", "-inf", "nan", "1e300", "1e309"]


def numeric_cases() -> list[object]:
    """(command line without the option, option, value): every numeric option, bad values."""
    run = "run.jsonl"
    cases: list[object] = []
    for command in (["once", run], ["watch", run]):
        for value in (HUGE_INT, DIGITS, "10001", "1", "-5"):
            cases.append(pytest.param(command, "--history", value, id=f"{command[0]}-history"))
        cases.append(
            pytest.param([*command, "--trend"], "--history", HUGE_INT, id=f"{command[0]}-trend")
        )
    for value in [*FLOATS_OUT_OF_RANGE, "3601", "0", "0.001"]:
        cases.append(pytest.param(["watch", run], "--poll", value, id=f"poll-{value}"))
    for command in (["simulate", "out.jsonl"], ["demo"]):
        name = command[0]
        for value in (HUGE_INT, DIGITS, "1000001", "0"):
            cases.append(pytest.param(command, "--updates", value, id=f"{name}-updates"))
        for value in [*FLOATS_OUT_OF_RANGE, "3601", "-1"]:
            cases.append(pytest.param(command, "--interval", value, id=f"{name}-interval-{value}"))
    for value in (str(2**64), DIGITS, "-1"):
        cases.append(pytest.param(["simulate", "out.jsonl"], "--seed", value, id="seed"))
    return cases


@pytest.mark.parametrize(("command", "option", "value"), numeric_cases())
def test_a_numeric_option_out_of_range_is_a_usage_error(
    tmp_path: Path, command: list[str], option: str, value: str
) -> None:
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    proc = invoke([*command, option, value], cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert f"value-diag: error: {option} must be " in err, err
    assert not (tmp_path / "out.jsonl").exists(), "refused before any work"


@pytest.mark.parametrize(
    ("args", "limit"),
    [
        (["once", "--help"], "2 to 10000"),
        (["watch", "--help"], "0.01 to 3600"),
        (["simulate", "--help"], "1 to 1000000"),
        (["simulate", "--help"], "0 to 2**64-1"),
        (["demo", "--help"], "0 to 3600"),
    ],
)
def test_the_ranges_are_in_the_help(args: list[str], limit: str) -> None:
    proc = invoke(args, env=clean_env(COLUMNS="200"))
    assert proc.returncode == 0
    assert limit in proc.stdout.decode()


@pytest.mark.parametrize(("option", "value"), [("--history", "10000"), ("--history", "2")])
def test_the_edges_of_the_history_range_are_accepted(option: str, value: str) -> None:
    proc = invoke(["once", "-", "--trend", option, value], input=HEALTHY.encode())
    assert proc.returncode == 0, proc.stderr.decode()


# --- error lines keep their reason ---------------------------------------------------------


def long_missing(tmp_path: Path) -> Path:
    return tmp_path / ("d" * 250)


def one_error_line(err: bytes) -> str:
    text = err.decode()
    assert text.count("\n") == 1 and text.startswith("value-diag: error: "), text
    return text


def test_a_long_path_and_its_reason_are_printed_whole(tmp_path: Path) -> None:
    missing = long_missing(tmp_path)
    proc = invoke(["once", str(missing)])
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert str(missing) in line
    assert line.rstrip().endswith("No such file or directory"), line


def test_the_line_of_one_unreadable_file_among_several_is_whole(tmp_path: Path) -> None:
    missing = long_missing(tmp_path)
    good = tmp_path / "run.jsonl"
    good.write_text(HEALTHY)
    proc = invoke(["once", str(missing), str(good)])
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert str(missing) in line
    assert line.rstrip().endswith("No such file or directory"), line


def test_an_error_line_is_still_cleaned(tmp_path: Path) -> None:
    """No length cut, but still no escape sequences or line breaks from the name."""
    missing = tmp_path / ("\x1b[31mred\nline" + "x" * 300)
    proc = invoke(["once", str(missing)])
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "\x1b" not in line
    assert "redline" + "x" * 300 in line


# --- strict JSON whatever the names --------------------------------------------------------

NOT_UTF8_NAME: Final = b"\x9b31m\xff\xfe.jsonl"
"""A file name whose bytes are not UTF-8: Python keeps them as lone surrogates."""
SURROGATE_LINE: Final = (
    b'{"v_return_correlation": 0.9, "compile_enabled": true,'
    b' "compile_backend": "\\ud800", "compile_mode": "x\\udcffy"}\n'
)
"""A line whose strings hold lone surrogate escapes."""


def run_bytes(args: list[bytes], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*map(os.fsencode, script()), *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(),
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_json_of_a_non_utf8_name_and_lone_surrogates_is_strict(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(NOT_UTF8_NAME)).write_bytes(SURROGATE_LINE)
    proc = run_bytes([b"once", NOT_UTF8_NAME, b"--format", b"json"], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    obj = orjson.loads(proc.stdout)
    assert obj["source"] == "\ufffd31m\ufffd\ufffd.jsonl"
    assert obj["infrastructure"]["compile_backend"] == "\ufffd"
    assert obj["infrastructure"]["compile_mode"] == "x\ufffdy"
    assert proc.stdout.isascii()


def test_json_of_several_files_compared_is_strict(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(NOT_UTF8_NAME)).write_bytes(SURROGATE_LINE)
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    proc = run_bytes(
        [b"once", NOT_UTF8_NAME, b"run.jsonl", b"--compare", b"--format", b"json"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr.decode()
    frames = orjson.loads(proc.stdout)
    assert {f["source"] for f in frames} == {"\ufffd31m\ufffd\ufffd.jsonl", "run.jsonl"}


def test_watch_json_of_lone_surrogates_is_strict() -> None:
    proc = run_cli(["watch", "-", "--format", "json"], input=SURROGATE_LINE)
    assert proc.returncode == 0, proc.stderr.decode()
    frames = [orjson.loads(line) for line in proc.stdout.splitlines()]
    assert frames[-1]["infrastructure"]["compile_backend"] == "\ufffd"


def test_a_valid_astral_character_is_kept() -> None:
    """Only surrogates are replaced: an emoji in the input comes out as itself."""
    line = json.dumps({"v_return_correlation": 0.9, "compile_enabled": True, "compile_mode": "🚀"})
    proc = invoke(["once", "-", "--format", "json"], input=line.encode())
    assert orjson.loads(proc.stdout)["infrastructure"]["compile_mode"] == "🚀"
