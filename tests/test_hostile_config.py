"""Hostile config files: one line on stderr and exit 2, never a traceback with exit 1."""

from __future__ import annotations

import json
import re
import subprocess
import tracemalloc
from pathlib import Path
from typing import Final

import pytest
from conftest import clean_env, invoke, script

from value_diag import config
from value_diag.config import ConfigError, load

OWN_HEAD: Final = "[thresholds]\n"
PYPROJECT_HEAD: Final = '[project]\nname = "trainer"\n\n[tool.value-diag.thresholds]\n'
DEEP: Final = 5_000
"""Nesting deeper than Python's recursion limit."""
HEALTHY: Final = json.dumps({"v_return_correlation": 0.9, "bellman_error": 12.0}) + "\n"
"""A line whose status is ok under the default thresholds."""

BAD_BODIES: Final = [
    pytest.param(b"\xff\n", "not UTF-8", id="not-utf8"),
    pytest.param(
        b"bellman_error = { warning = 1" + b"0" * 400 + b" }\n",
        "bellman_error.warning: too large",
        id="int-overflows-float",
    ),
    pytest.param(
        b"bellman_error = { warning = 1" + b"0" * 5_000 + b" }\n",
        "more than 4300 digits",
        id="int-digit-limit",
    ),
    pytest.param(
        b"x = " + b"[" * DEEP + b"]" * DEEP + b"\n", "nested too deeply", id="deep-arrays"
    ),
    pytest.param(
        b"x = " + b"{ a = " * DEEP + b"1" + b" }" * DEEP + b"\n",
        "nested too deeply",
        id="deep-inline-tables",
    ),
]


def run_in(cwd: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """`value-diag ARGS` in ``cwd``, where it looks for config files: in-process, but for a
    watch, which is started as the console script."""
    if args[0] != "watch":
        return invoke(args, cwd=cwd, input=input)
    return subprocess.run(
        [*script(), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def assert_one_error_line(proc: subprocess.CompletedProcess[bytes], *parts: str) -> str:
    """Exit 2, nothing on stdout, one stderr line holding every part; returns the line."""
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert proc.stdout == b""
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("value-diag: error: "), err
    for part in parts:
        assert part in err, (part, err)
    return err


def place(tmp_path: Path, where: str, body: bytes) -> tuple[Path, list[str]]:
    """The config file with ``body`` in its thresholds table, and the options naming it."""
    if where == "pyproject":
        path = tmp_path / "pyproject.toml"
        path.write_bytes(PYPROJECT_HEAD.encode() + body)
        return path, []
    if where == "own":
        path = tmp_path / "value-diag.toml"
        path.write_bytes(OWN_HEAD.encode() + body)
        return path, []
    path = tmp_path / "ci.toml"
    path.write_bytes(OWN_HEAD.encode() + body)
    return path, ["--config", str(path)]


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
@pytest.mark.parametrize("where", ["pyproject", "own", "explicit"])
def test_a_hostile_config_is_one_line_and_exit_2_not_1(
    tmp_path: Path, body: bytes, reason: str, where: str
) -> None:
    """Even with --fail-on critical, where a crash's exit 1 would say "the run is dying"."""
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    path, options = place(tmp_path, where, body)
    proc = run_in(tmp_path, "once", "run.jsonl", "--fail-on", "critical", *options)
    assert_one_error_line(proc, path.name, reason)


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
def test_a_hostile_config_is_a_config_error(tmp_path: Path, body: bytes, reason: str) -> None:
    path, _ = place(tmp_path, "own", body)
    with pytest.raises(ConfigError) as caught:
        load(None, cwd=tmp_path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize("command", ["once", "watch", "thresholds"])
def test_no_config_ignores_a_broken_config(tmp_path: Path, command: str) -> None:
    (tmp_path / "value-diag.toml").write_bytes(OWN_HEAD.encode() + b"\xff\n")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT_HEAD + "x = [\n")
    args = {"once": ["once", "-"], "watch": ["watch", "-"], "thresholds": ["thresholds"]}
    broken = run_in(tmp_path, *args[command], input=HEALTHY.encode())
    assert broken.returncode == 2, "the files are read without --no-config"
    proc = run_in(tmp_path, *args[command], "--no-config", input=HEALTHY.encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""


def test_no_config_gives_the_built_in_thresholds(tmp_path: Path) -> None:
    (tmp_path / "value-diag.toml").write_text(OWN_HEAD + "bellman_error = { warning = 1 }\n")
    proc = run_in(tmp_path, "thresholds", "--no-config")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert lines and all(ln.split("   #")[0].endswith("   default") for ln in lines), lines
    assert "bellman_error          warning          20   default" in lines


def test_no_config_with_config_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "ci.toml"
    path.write_text(OWN_HEAD)
    proc = run_in(tmp_path, "thresholds", "--no-config", "--config", str(path))
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "Usage: value-diag thresholds [OPTIONS]",
        "value-diag: error: --config and --no-config cannot go together",
    ]


# --- the auto-load check -------------------------------------------------------------------


@pytest.mark.parametrize("word", ["value-diag", "value_diag", "threshold"])
def test_a_name_cut_between_two_blocks_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, word: str
) -> None:
    """Every cut of every word the check looks for, with blocks a few bytes long."""
    monkeypatch.setattr(config, "MENTION_BLOCK", 7)
    other = "threshold" if word != "threshold" else "value-diag"
    path = tmp_path / "pyproject.toml"
    for start in range(7 + len(word)):
        path.write_text(f"# {other}\n" + "#" * start + word + "\n")
        assert config._mentions_us(path), (word, start)
    path.write_text(f"# {other}\n" + "#" * 20 + word[:-1] + "\n" + word[-1:])
    assert not config._mentions_us(path), "a word broken by a newline is not the word"


def test_a_name_across_the_real_block_boundary_is_found(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    for before in (config.MENTION_BLOCK - 5, config.MENTION_BLOCK - 1):
        path.write_bytes(b"# threshold\n" + b"#" * (before - 12) + b"value-diag")
        assert config._mentions_us(path), before
    path.write_bytes(b"# threshold\n" + b"#" * config.MENTION_BLOCK)
    assert not config._mentions_us(path)


def test_a_huge_pyproject_is_not_read_whole(tmp_path: Path) -> None:
    """A 256 MB pyproject.toml (sparse: no disk used) is scanned in blocks."""
    path = tmp_path / "pyproject.toml"
    with path.open("wb") as f:
        f.truncate(256 << 20)
    tracemalloc.start()
    try:
        found = config._mentions_us(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not found
    assert peak < 8 * config.MENTION_BLOCK, f"peak {peak} bytes"


def test_a_huge_pyproject_that_never_names_us_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    with path.open("wb") as f:
        f.write(b"[thresholds\nnot toml\n")
        f.truncate(64 << 20)
    assert load(None, cwd=tmp_path).origin == "default"


# --- [tool.value_diag] ---------------------------------------------------------------------

MISSPELT: Final = '[project]\nname = "trainer"\n\n[tool.value_diag.thresholds]\n'


def test_underscore_table_is_a_warning_and_not_used(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(MISSPELT + "bellman_error = { warning = 1 }\n")
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    proc = run_in(tmp_path, "once", "run.jsonl", "--fail-on", "warning")
    err = proc.stderr.decode()
    assert proc.returncode == 0, "bellman_error 12 is judged by the default warning of 20"
    assert err.count("\n") == 1, err
    assert err.startswith("value-diag: warning: "), err
    assert "pyproject.toml" in err
    assert "did you mean [tool.value-diag.thresholds]?" in err
    thresholds = run_in(tmp_path, "thresholds")
    assert thresholds.returncode == 0
    assert "bellman_error          warning          20   default" in thresholds.stdout.decode()


def test_underscore_table_beside_ours_warns_and_ours_is_used(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        MISSPELT + "bellman_error = { warning = 1 }\n\n"
        "[tool.value-diag.thresholds]\nbellman_error = { warning = 30 }\n"
    )
    effective = load(None, cwd=tmp_path)
    assert effective.thresholds.bellman_warning == 30
    assert len(effective.warnings) == 1
    assert "did you mean [tool.value-diag.thresholds]?" in effective.warnings[0]


def test_explicit_file_with_only_the_underscore_table_says_what_was_meant(tmp_path: Path) -> None:
    path = tmp_path / "ci.toml"
    path.write_text(MISSPELT + "bellman_error = { warning = 1 }\n")
    proc = run_in(tmp_path, "thresholds", "--config", str(path))
    assert_one_error_line(proc, str(path), "did you mean [tool.value-diag.thresholds]?")


# --- where the thresholds came from, in JSON -----------------------------------------------


def json_frame(proc: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr.decode()
    obj = json.loads(proc.stdout)
    assert isinstance(obj, dict)
    return obj


def test_json_says_the_thresholds_are_the_default(tmp_path: Path) -> None:
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    assert json_frame(run_in(tmp_path, "once", "run.jsonl", "-f", "json"))["thresholds"] == (
        "default"
    )


@pytest.mark.parametrize("where", ["pyproject", "own", "explicit"])
def test_json_names_the_config_file(tmp_path: Path, where: str) -> None:
    (tmp_path / "run.jsonl").write_text(HEALTHY)
    path, options = place(tmp_path, where, b"bellman_error = { warning = 30 }\n")
    obj = json_frame(run_in(tmp_path, "once", "run.jsonl", "-f", "json", *options))
    assert obj["thresholds"] == str(path)
    no_config = [] if options else ["--no-config"]
    if no_config:
        obj = json_frame(run_in(tmp_path, "once", "run.jsonl", "-f", "json", *no_config))
        assert obj["thresholds"] == "default"


def test_compare_json_names_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(HEALTHY)
    (tmp_path / "b.jsonl").write_text(HEALTHY)
    path, _ = place(tmp_path, "own", b"bellman_error = { warning = 30 }\n")
    proc = run_in(tmp_path, "once", "a.jsonl", "b.jsonl", "--compare", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert [f["thresholds"] for f in json.loads(proc.stdout)] == [str(path)] * 2


def test_watch_json_names_the_config_file(tmp_path: Path) -> None:
    path, _ = place(tmp_path, "own", b"bellman_error = { warning = 30 }\n")
    proc = run_in(tmp_path, "watch", "-", "-f", "json", input=HEALTHY.encode())
    assert proc.returncode == 0, proc.stderr.decode()
    frames = [json.loads(line) for line in proc.stdout.splitlines()]
    assert frames and {f["thresholds"] for f in frames} == {str(path)}


# --- long names in messages ----------------------------------------------------------------


def test_a_long_unknown_key_is_cut_in_the_middle(tmp_path: Path) -> None:
    key = "a" * 5_000 + "z"
    path, _ = place(tmp_path, "own", f"{key} = {{ warning = 1 }}\n".encode())
    with pytest.raises(ConfigError) as caught:
        load(None, cwd=tmp_path)
    message = str(caught.value)
    assert re.fullmatch(
        rf"{re.escape(str(path))}: thresholds\.a+\.\.\.a+z: unknown metric .*", message
    )
    assert len(message) < len(str(path)) + 400


def test_a_long_config_path_is_printed_whole_with_its_reason(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 200) / ("e" * 200)
    deep.mkdir(parents=True)
    path = deep / "ci.toml"
    path.write_bytes(OWN_HEAD.encode() + b"\xff\n")
    proc = run_in(tmp_path, "thresholds", "--config", str(path))
    assert_one_error_line(proc, f"{path}: not UTF-8 text (byte 0xff at offset 13)")
