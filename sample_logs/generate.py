"""Regenerate the deterministic sample telemetry logs in sample_logs/ with value_diag.simulate."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from value_diag.producer.simulate import LogFormat, Scenario, SimOptions, run

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


if __name__ == "__main__":
    main()
