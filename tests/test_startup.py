"""Start-up: --help and thresholds load the option declarations, not the fold machinery."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import clean_env

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

PROBE = """
import json, sys
from value_diag.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


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
