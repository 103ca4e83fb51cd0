"""Short run names and natural order (value_diag/naming.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from value_diag.naming import collide, natural_key, run_name, short_names, visible


@pytest.mark.parametrize(
    ("paths", "names"),
    [
        (["runs/seed1/run.jsonl", "runs/seed12/run.jsonl"], ["seed1", "seed12"]),
        (["a.jsonl", "b.jsonl"], ["a", "b"]),
        (
            [
                "t/telemetry_2026-11-30_165338/events.jsonl",
                "t/telemetry_2026-11-30_170102/events.jsonl",
            ],
            ["telemetry_2026-11-30_165338", "telemetry_2026-11-30_170102"],
        ),
        (["logs/ab/events.jsonl", "logs/healthy.jsonl"], ["ab/events", "healthy"]),
        (["/work/x/run.jsonl", "/tmp/y/run.jsonl"], ["/work/x", "/tmp/y"]),  # root only: kept
        (["/data/a/run.jsonl", "/data/b/run.jsonl"], ["a", "b"]),
        (["s3://bkt/sweep/s1/run.jsonl", "s3://bkt/sweep/s2/run.jsonl"], ["s1", "s2"]),
        (["a.jsonl", "a.log"], ["a.jsonl", "a.log"]),  # no shared extension to drop
        (["x/run.jsonl"], ["x/run.jsonl"]),  # one run keeps its path
        (["a.jsonl", "a.jsonl"], ["a.jsonl", "a.jsonl"]),  # the same twice: nothing to tell
    ],
)
def test_short_names(paths: list[str], names: list[str]) -> None:
    assert short_names(paths) == names


def test_short_names_always_tell_the_runs_apart() -> None:
    paths = ["r/a/run.jsonl", "r/a/run2.jsonl", "r/b/run.jsonl"]
    names = short_names(paths)
    assert len(set(names)) == 3


def test_natural_order() -> None:
    names = ["seed10", "seed2", "Seed1", "seed1b", "seed"]
    assert sorted(names, key=natural_key) == ["seed", "Seed1", "seed1b", "seed2", "seed10"]


@pytest.mark.parametrize(
    ("file", "group", "name"),
    [
        ("x", None, "x"),
        ("x", "A", "x#A"),
        ("x#A", None, "x\\x23A"),
        ("x#A", "B#C", "x\\x23A#B#C"),  # the group is all after the first '#'
    ],
)
def test_a_run_is_named_by_its_file_and_group(file: str, group: str | None, name: str) -> None:
    assert run_name(file, group) == name


@given(
    st.lists(
        st.tuples(st.text("x#A\\23", max_size=6), st.none() | st.text("xA#", max_size=3)),
        unique=True,
        max_size=6,
    )
)
def test_runs_of_files_that_do_not_collide_have_names_of_their_own(
    runs: list[tuple[str, str | None]],
) -> None:
    """Files named as shown (visible), and in the strict form where they collide, give
    every (file, group) a name of its own."""
    files = list(dict.fromkeys(f for f, _ in runs))
    shown = dict(zip(files, [visible(f) for f in files], strict=True))
    if collide(list(shown.values())):
        shown = {f: visible(f, strict=True) for f in files}
    names = [run_name(shown[f], g) for f, g in runs]
    assert len(set(names)) == len(names), names
