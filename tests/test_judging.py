"""watch judges a sweep at the cost of the runs that changed: a source that did not change
since it was judged gives the frames it gave, which are those judging it again would give."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from telemetry import healthy

import value_diag.follow.judging as judging
from value_diag.commands.framing import runs_of
from value_diag.follow.follower import NOTE_S, Followed
from value_diag.follow.judging import frames_of
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules

NOW = 1_700_000_000.0


def sweep(tmp_path: Path, n: int) -> list[Followed]:
    sources = []
    for i in range(n):
        path = tmp_path / f"seed{i}.jsonl"
        path.write_text(healthy(1.0 + i))
        follower = Followed(str(path))
        follower.update(NOW)
        sources.append(follower)
    return sources


def seen(frames: list[Frame]) -> list[tuple[object, ...]]:
    """What a frame shows and judges, its state by identity."""
    return [
        (f.source, f.short, id(f.state), f.note, f.health.status, f.health.stale is None)
        for f in frames
    ]


def afresh(
    monkeypatch: pytest.MonkeyPatch,
    sources: list[Followed],
    rules: Rules,
    last: list[Frame],
    changed: list[int],
    now: float,
) -> tuple[list[Frame], list[int]]:
    """``frames_of`` with nothing remembered: every source looked at again."""
    with monkeypatch.context() as m:
        m.setattr(judging, "_MADE", WeakKeyDictionary())
        return frames_of(sources, rules, last, changed, now)


def test_a_pass_looks_at_the_sources_that_changed_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = sweep(tmp_path, 40)
    looked: list[str] = []

    def counting(*args: Any) -> Any:
        looked.append(str(args[1]))
        return runs_of(*args)

    monkeypatch.setattr(judging, "runs_of", counting)
    first, new = frames_of(sources, DEFAULT_RULES, [], list(range(40)), NOW)
    assert len(looked) == 40 and new == list(range(40))
    looked.clear()
    with (tmp_path / "seed7.jsonl").open("a") as f:
        f.write(healthy(50.0))
    assert sources[7].update(NOW + 1)
    frames, new = frames_of(sources, DEFAULT_RULES, first, [7], NOW + 1)
    assert looked == [sources[7].path] and new == [7]
    assert all(frames[i] is first[i] for i in range(40) if i != 7)
    assert frames[7].state.records == 2
    looked.clear()
    again, new = frames_of(sources, DEFAULT_RULES, frames, [], NOW + 2)
    assert new == [] and all(a is b for a, b in zip(again, frames, strict=True))
    assert looked == []


@pytest.mark.parametrize("seed", range(6))
def test_remembered_frames_are_those_judged_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Runs written to, notes that come and fade, runs going stale under --max-age, the
    clock going back, other rules: each pass gives what judging every source again gives."""
    rng = random.Random(seed)
    sources = sweep(tmp_path, 12)
    rules = replace(DEFAULT_RULES, max_age=30.0)
    now = NOW
    frames, _ = frames_of(sources, rules, [], list(range(12)), now)
    for _ in range(60):
        step = rng.random()
        if step < 0.4:
            now += rng.choice([0.5, 5.0, NOTE_S, 31.0])
        elif step < 0.45:
            now -= 20.0  # the wall clock set back
        elif step < 0.5:
            rules = replace(rules, max_age=rng.choice([None, 10.0, 30.0]))
        changed = []
        for i, s in enumerate(sources):
            if rng.random() < 0.15:
                with Path(s.path).open("a") as f:
                    f.write(healthy(rng.uniform(1.0, 80.0)))
            if rng.random() < 0.03:
                s.announce("truncated; reading from the top", now)
            if s.update(now):
                changed.append(i)
        expected = afresh(monkeypatch, sources, rules, frames, changed, now)
        got = frames_of(sources, rules, frames, changed, now)
        assert seen(got[0]) == seen(expected[0])
        assert got[1] == expected[1]
        frames = got[0]
