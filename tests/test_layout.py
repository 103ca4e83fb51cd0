"""How tests/ is laid out: test modules hold tests; what several of them share lives in a
helper module (telemetry.py, watching.py, servers.py, ...) or, for fixtures, in conftest.py,
where pytest finds them without an import (no fixture imported under a ``noqa``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

TESTS = ROOT / "tests"
HERE = Path(__file__).resolve()
TEST_MODULES = sorted(p for p in TESTS.glob("test_*.py") if p.resolve() != HERE)
"""Every test module but this one, whose own examples would match."""
IMPORT_IN_TEXT = re.compile(r"^\s*(?:from|import)\s+(test_\w+)", re.M)
"""An import written inside a string: a script a test runs with ``python -c``."""


def imported(tree: ast.AST) -> set[str]:
    """The top-level names of every module ``tree`` imports, anywhere in it, and of every
    module imported by a script held in one of its strings."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(IMPORT_IN_TEXT.findall(node.value))
    return names


def test_the_test_modules_are_found() -> None:
    assert len(TEST_MODULES) > 50, TEST_MODULES


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda p: p.name)
def test_no_test_module_imports_another(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    tests = {name for name in imported(tree) if name.startswith("test_")}
    assert not tests, f"{path.name} imports {sorted(tests)}: move what it shares to a helper"


def test_the_check_sees_an_import_from_a_test_module() -> None:
    source = 'import os\ndef f():\n    from test_remote import put\nS = """\nimport test_cli\n"""\n'
    assert {"os", "test_remote", "test_cli"} <= imported(ast.parse(source))


def test_no_fixture_is_imported_under_a_noqa() -> None:
    """A fixture imported into a test module needs ``noqa: F401`` on the import and
    ``noqa: F811`` on every test taking it; in conftest.py it needs neither."""
    marked = [
        f"{path.name}:{number}"
        for path in sorted(TESTS.glob("*.py"))
        if path.resolve() != HERE
        for number, text in enumerate(path.read_text("utf-8").splitlines(), 1)
        if re.search(r"noqa: *F811", text)
    ]
    assert not marked, marked
