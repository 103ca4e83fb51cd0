"""The verdicts' targets on the committed corpus of real runs, under the scale-free preset.

No critical fires on a healthy update after the warm-up; every broken run fires critical
within 3 updates of max(onset, warm-up + 1) and is fired critical at its end; every degraded
run fires at least a warning at its end (bench/verdicts.py, docs/verdicts.md).
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from bench import verdicts
from value_diag.health import Preset, Status

CORPUS = ROOT / "bench" / "corpus"


@pytest.fixture(scope="module")
def scored() -> verdicts.Score:
    return verdicts.score(Preset.SCALE_FREE.value, CORPUS)


def _why(run: verdicts.RunScore) -> str:
    return (
        f"{run.name} ({run.label.kind}, onset {run.label.onset}, start {run.start}):"
        f" shown {run.letters(lambda s: s.shown)} fired {run.letters(lambda s: s.fired)}"
    )


def test_every_run_file_is_labelled_and_every_label_has_its_file() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text())
    files = {p.name for p in (CORPUS / "runs").glob("*.jsonl")}
    assert files == set(labels)
    kinds = {v["kind"] for v in labels.values()}
    assert kinds == {"healthy", "broken", "degraded"}
    for name, label in labels.items():
        assert (label["onset"] is None) == (label["kind"] == "healthy"), name


def test_every_run_is_replayed_to_its_last_update(scored: verdicts.Score) -> None:
    for run in scored.runs:
        assert len(run.steps) >= 10, run.name
        assert [s.update for s in run.steps] == list(range(1, len(run.steps) + 1)), run.name


def test_no_critical_fires_on_a_healthy_update_after_the_warmup(
    scored: verdicts.Score,
) -> None:
    noisy = [_why(r) for r in scored.runs if r.false_criticals]
    assert not noisy, "\n".join(noisy)


def test_every_broken_run_fires_critical_in_time_and_at_its_end(
    scored: verdicts.Score,
) -> None:
    late = [
        _why(r)
        for r in scored.of_kind("broken")
        if r.delay is None
        or r.delay > verdicts.TARGET_DELAY
        or r.end is None
        or r.end.fired != Status.CRITICAL
    ]
    assert not late, "\n".join(late)


def test_every_degraded_run_is_at_least_a_warning_at_its_end(
    scored: verdicts.Score,
) -> None:
    weak = [
        _why(r)
        for r in scored.of_kind("degraded")
        if r.end is None or r.end.fired not in (Status.WARNING, Status.CRITICAL)
    ]
    assert not weak, "\n".join(weak)
