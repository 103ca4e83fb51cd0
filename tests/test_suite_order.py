"""The suite's own scheduling (tests/conftest.py): the longest test modules are handed out to
the workers first, the others in xdist's order."""

from __future__ import annotations

from conftest import LONGEST_FIRST, ROOT, longest_first


def test_every_module_named_longest_exists() -> None:
    """A module renamed or removed would silently lose its place at the front."""
    assert [m for m in LONGEST_FIRST if not (ROOT / m).is_file()] == []


def test_the_longest_go_first_and_the_others_keep_their_order() -> None:
    given = [  # xdist's order: by number of tests, most first
        "tests/test_parse.py",
        "tests/test_signals.py",
        "tests/test_panel.py",
        "tests/test_rllib.py",
        "tests/test_health.py",
    ]
    assert longest_first(given) == [
        "tests/test_rllib.py",
        "tests/test_signals.py",
        "tests/test_parse.py",
        "tests/test_panel.py",
        "tests/test_health.py",
    ]
