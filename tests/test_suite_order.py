"""The suite's own scheduling (tests/conftest.py): the longest test modules are handed out to
the workers first, the others in xdist's order."""

from __future__ import annotations

from collections import OrderedDict

from conftest import LONGEST_FIRST, ROOT, longest_first, pytest_xdist_make_scheduler


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


class _Config:
    """What xdist's file scheduler reads of pytest's config: ``--dist`` and ``--tx``."""

    def getoption(self, name: str) -> str:
        assert name == "dist"
        return "loadfile"

    def getvalue(self, name: str) -> list[str]:
        assert name == "tx"
        return ["1*popen"]


class _Worker:
    """A worker as the scheduler sees it: it is sent the indexes of the tests to run."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(indexes)


def test_the_installed_xdist_hands_out_the_longest_module_first() -> None:
    """The suite's scheduler, on the installed xdist's own file scheduling: the first unit a
    worker gets is the longest module's, though xdist would start with the one of most tests.
    (An xdist made otherwise gets its own scheduler back: conftest checks for the method.)"""
    scheduler = pytest_xdist_make_scheduler(_Config(), None)  # type: ignore[arg-type]
    assert scheduler is not None, "the installed xdist still has the file scheduler's method"
    collection = [
        "tests/test_parse.py::a",
        "tests/test_parse.py::b",
        "tests/test_parse.py::c",
        "tests/test_rllib.py::ray",
    ]
    worker = _Worker()
    scheduler.registered_collections[worker] = collection
    scheduler.workqueue = OrderedDict(
        (module, {test: False for test in collection if test.startswith(module)})
        for module in ("tests/test_parse.py", "tests/test_rllib.py")  # most tests first
    )
    scheduler._assign_work_unit(worker)
    assert worker.sent == [[3]], "the Ray module's one test, before the parser's three"
    scheduler._assign_work_unit(worker)
    assert worker.sent == [[3], [0, 1, 2]]
