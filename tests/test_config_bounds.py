"""Every threshold has a bounded range, and a config file that was read is said.

A pyproject.toml in an untrusted checkout is read by `value-diag once` in the checkout's
CI: a number outside its threshold's range (a correlation of 5, a floor of 1e300) would
turn a gate into "never", so it is refused (one line naming the key, exit 2); one inside
is obeyed, and the text output names the file it came from.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest
from conftest import SAMPLES, clean_env, invoke, script

from value_diag.config import ABSOLUTE, CONFIG_KEYS, NOT_LEVELS, RANGES, ConfigError, load
from value_diag.health import DEFAULT_THRESHOLDS, Thresholds

KEYS: Final = {
    field: (metric, level)
    for metric, levels in CONFIG_KEYS.items()
    for level, field in levels.items()
}
"""Thresholds field -> (metric, level) as a config file names it."""
PYPROJECT_HEAD: Final = '[project]\nname = "trainer"\n\n[tool.value-diag.thresholds]\n'


def run_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`value-diag ARGS` run in ``cwd``, where it looks for config files."""
    return invoke(args, cwd=cwd)


def checkout(tmp_path: Path, body: str, sample: str = "healthy") -> Path:
    """A folder with a run and a pyproject.toml whose thresholds table holds ``body``."""
    shutil.copy(SAMPLES / f"{sample}.jsonl", tmp_path / "run.jsonl")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT_HEAD + body + "\n")
    return tmp_path


def outside(field: str) -> list[float]:
    """Numbers just outside the field's range, at each end."""
    bounds = RANGES[field]
    below = bounds.low if bounds.open_low else bounds.low - max(1.0, abs(bounds.low))
    return [below, bounds.high * 2 if bounds.high > 0 else bounds.high + 1]


# --- the table ------------------------------------------------------------------------------


def test_every_threshold_has_a_range_holding_its_default() -> None:
    names = [f.name for f in dataclasses.fields(Thresholds)]
    assert sorted(RANGES) == sorted(names), "a threshold without a range, or a range of nothing"
    for name in names:
        assert RANGES[name].holds(getattr(DEFAULT_THRESHOLDS, name)), name
        assert RANGES[name].high < 1e300


def test_what_is_compared_as_an_absolute_value_has_no_negative_threshold() -> None:
    for metric in ABSOLUTE:
        for field in CONFIG_KEYS[metric].values():
            assert RANGES[field].low >= 0, field


# --- through the console script -------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(RANGES))
def test_a_threshold_outside_its_range_is_refused(tmp_path: Path, field: str) -> None:
    metric, level = KEYS[field]
    for value in outside(field):
        cwd = checkout(tmp_path, f"{metric} = {{ {level} = {value!r} }}")
        proc = run_in(cwd, "once", "run.jsonl", "--fail-on", "critical")
        err = proc.stderr.decode()
        assert proc.returncode == 2, (value, err)
        assert proc.stdout == b""
        assert err.count("\n") == 1 and err.startswith("value-diag: error: "), err
        assert f"tool.value-diag.thresholds.{metric}.{level}: must be " in err, err


@pytest.mark.parametrize("field", sorted(RANGES))
def test_the_ends_of_a_range_are_accepted(tmp_path: Path, field: str) -> None:
    metric, level = KEYS[field]
    bounds = RANGES[field]
    for value in [bounds.high] + ([] if bounds.open_low else [bounds.low]):
        (tmp_path / "value-diag.toml").write_text(
            f"[thresholds]\n{metric} = {{ {level} = {value!r} }}\n"
        )
        try:
            got = load(None, cwd=tmp_path).thresholds
        except ConfigError as exc:  # only the order of levels may refuse an end
            assert "levels must get worse in order" in str(exc) or "at once" in str(exc), exc
            continue
        assert getattr(got, field) == value


def test_a_floor_of_1e300_no_longer_passes_a_warning_run(tmp_path: Path) -> None:
    """The issue's checkout: scale-free with a floor no return variance reaches, so every
    metric measured against the returns' scale is info, and a warning run passed."""
    body = 'preset = "scale-free"\nlow_return_variance = { floor = 1e300 }'
    cwd = checkout(tmp_path, body, sample="bimodal")
    proc = run_in(cwd, "once", "run.jsonl", "--fail-on", "warning")
    assert proc.returncode == 2, proc.stderr
    assert b"low_return_variance.floor: must be from 0 to 1e18" in proc.stderr
    assert run_in(cwd, "once", "run.jsonl", "--fail-on", "warning", "--no-config").returncode == 1


def test_a_floor_above_the_variance_that_warns_is_refused(tmp_path: Path) -> None:
    cwd = checkout(tmp_path, "low_return_variance = { floor = 500 }")
    proc = run_in(cwd, "once", "run.jsonl")
    assert proc.returncode == 2
    assert b"floor = 500 is above return_variance.warning = 100" in proc.stderr, proc.stderr


# --- the config that was read is said --------------------------------------------------------

SAID: Final = "thresholds from pyproject.toml"


def header(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode().splitlines()[0]


def test_text_output_names_the_config_found_in_the_working_directory(tmp_path: Path) -> None:
    cwd = checkout(tmp_path, "bellman_error = { warning = 30, critical = 60 }")
    said = run_in(cwd, "once", "run.jsonl")
    assert said.returncode == 0, said.stderr
    assert f" | {SAID} | " in header(said), header(said)
    assert said.stdout.decode().count("thresholds from") == 1, "one line says it"
    assert said.stderr == b""
    for quiet in (["--no-config"], ["--format", "json"]):
        assert SAID not in run_in(cwd, "once", "run.jsonl", *quiet).stdout.decode()
    (cwd / "pyproject.toml").unlink()
    assert "thresholds from" not in run_in(cwd, "once", "run.jsonl").stdout.decode()


def test_an_explicit_config_is_named_too(tmp_path: Path) -> None:
    cwd = checkout(tmp_path, "")
    (cwd / "ci.toml").write_text("[thresholds]\nbellman_error = { warning = 30, critical = 60 }\n")
    proc = run_in(cwd, "once", "run.jsonl", "--config", "ci.toml", "--ascii")
    assert " | thresholds from ci.toml | " in header(proc), header(proc)


def test_json_keeps_naming_the_file_as_it_did(tmp_path: Path) -> None:
    cwd = checkout(tmp_path, "bellman_error = { warning = 30, critical = 60 }")
    proc = run_in(cwd, "once", "run.jsonl", "--format", "json")
    assert json.loads(proc.stdout)["thresholds"].endswith("pyproject.toml")


def test_a_sweep_table_and_a_watch_say_it(tmp_path: Path) -> None:
    cwd = checkout(tmp_path, "bellman_error = { warning = 30, critical = 60 }")
    shutil.copy(SAMPLES / "collapse.jsonl", cwd / "other.jsonl")
    table = run_in(cwd, "once", "run.jsonl", "other.jsonl", "--compare")
    assert header(table).rstrip().endswith(f"2 runs · {SAID}"), header(table)
    watch = subprocess.Popen(
        [*script(), "watch", "run.jsonl"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert watch.stdout is not None
        first = watch.stdout.readline().decode()
    finally:
        watch.terminate()
        watch.communicate(timeout=30)
    assert f" | {SAID} | " in first, first


# --- the README's table of ranges -----------------------------------------------------------

README: Final = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_gives_every_range_as_config_checks_it() -> None:
    """The table under "Thresholds that fit your run": a row names config keys (a metric
    for all its levels, or metric.level) and the range they are checked against."""
    text = README.read_text(encoding="utf-8")
    head = "| Thresholds | Range |\n|---|---|\n"
    assert head in text
    rows = text.split(head, 1)[1].split("\n\n", 1)[0].splitlines()
    covered: list[str] = []
    for row in rows:
        keys, said = (cell.strip() for cell in row.strip("|").split("|"))
        for key in re.findall(r"`([a-z_]+(?:\.[a-z]+)?)`", keys):
            metric, _, level = key.partition(".")
            levels = (
                [level] if level else [lv for lv in CONFIG_KEYS[metric] if lv not in NOT_LEVELS]
            )
            for lv in levels:
                field = CONFIG_KEYS[metric][lv]
                assert str(RANGES[field]) == said, (key, said)
                covered.append(field)
    assert sorted(covered) == sorted(RANGES), "every threshold once in the table"
