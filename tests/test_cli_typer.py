"""Typer's internals: used by cli/help.py alone, and only with the Typer series it was
tested with (pyproject.toml's bound, and a test that fails on any other)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

from conftest import ROOT

from value_diag.cli.help import TYPER_TESTED

PACKAGE = ROOT / "value_diag"
INTERNALS = re.compile(r"^\s*(?:from|import)\s+typer\.(?:_\w+|core)\b", re.MULTILINE)


def _series(text: str) -> str:
    """The series of a version: 0.29 of 0.29.2 (a 0.x minor breaks as a major would), 1 of
    1.4.0."""
    parts = text.split(".")
    return ".".join(parts[:2]) if parts[0] == "0" else parts[0]


def test_the_installed_typer_is_a_series_the_help_was_tested_with() -> None:
    installed = version("typer")
    assert _series(installed) in TYPER_TESTED, (
        f"typer {installed} is not among the series tested ({', '.join(TYPER_TESTED)}):"
        " check cli/help.py against it, then add it to TYPER_TESTED and pyproject.toml"
    )


def test_pyproject_bounds_typer_to_the_series_tested() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (typer,) = [d for d in project["dependencies"] if re.match(r"typer\b", d)]
    low, high = min(TYPER_TESTED), max(TYPER_TESTED)
    major, minor = (int(x) for x in high.split("."))
    assert typer.replace(" ", "") == f"typer>={low},<{major}.{minor + 1}"


def test_the_series_check_tells_majors_apart() -> None:
    assert _series("0.29.2") == "0.29" and _series("0.30.0") == "0.30"
    assert _series("1.0.3") == _series("1.7") == "1"
    assert _series("0.30.0") not in TYPER_TESTED


def test_typer_internals_are_imported_by_the_help_module_only() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if INTERNALS.search(path.read_text(encoding="utf-8"))
    )
    assert users == ["value_diag/cli/help.py"]
