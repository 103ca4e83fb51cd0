"""Short run names and natural order (value_diag/naming.py)."""

from __future__ import annotations

import pytest

from value_diag.naming import natural_key, short_names


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
