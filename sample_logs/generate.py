"""Regenerate the deterministic sample telemetry logs in sample_logs/ with value_diag.simulate."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from value_diag.producer.simulate import Existing, LogFormat, Scenario, SimOptions, run

START = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)
"""Simulated start of every run (offset by a few minutes per seed), so files never change."""

SAMPLES: dict[str, SimOptions] = {
    "healthy": SimOptions(Scenario.HEALTHY, updates=60, seed=1101),
    "collapse": SimOptions(Scenario.COLLAPSE, updates=60, seed=2202),
    "bimodal": SimOptions(Scenario.BIMODAL, updates=50, seed=3303),
    "eager": SimOptions(Scenario.EAGER, updates=44, seed=4404),
    "flat": SimOptions(
        Scenario.HEALTHY,
        updates=50,
        seed=5505,
        format=LogFormat.FLAT,
        compile=(True, "inductor", "default"),
    ),
    "snapshot": SimOptions(Scenario.HEALTHY, updates=50, seed=6606, format=LogFormat.SNAPSHOT),
}

GROUPED: dict[str, tuple[SimOptions, ...]] = {
    # esper-lite's A/B mode (dual_ab.py) as it writes today: the groups train one after the
    # other into one events.jsonl, in the directory DirectoryOutput makes for the run.
    "ab/events.jsonl": (
        SimOptions(Scenario.HEALTHY, updates=40, seed=7707, group="A", skipped=frozenset({17, 39})),
        SimOptions(Scenario.COLLAPSE, updates=40, seed=8808, group="B"),
    ),
}
GROUP_GAP = timedelta(hours=1)
"""Simulated time between the starts of two groups of one file."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, options in SAMPLES.items():
        start = START + timedelta(minutes=(options.seed or 0) % 600)
        path = out / f"{name}.jsonl"
        records = run(str(path), dataclasses.replace(options, start=start))
        print(f"wrote {path} ({records} records)")
    for name, groups in GROUPED.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        start = START + timedelta(minutes=(groups[0].seed or 0) % 600)
        records = 0
        for i, options in enumerate(groups):
            existing = Existing.APPEND if i else Existing.OVERWRITE
            timed = dataclasses.replace(options, start=start + i * GROUP_GAP)
            records += run(str(path), timed, existing=existing)
        print(f"wrote {path} ({records} records, {len(groups)} groups)")


if __name__ == "__main__":
    main()
