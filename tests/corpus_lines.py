"""The committed corpus of real runs, update by update, for tests that hold a rule to it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from conftest import ROOT

CORPUS: Final = ROOT / "bench" / "corpus"


@dataclass(frozen=True, slots=True)
class Update:
    """One update of a run of the corpus, as its producer wrote it."""

    run: str
    """The run file's name."""
    label: dict[str, Any]
    """Its entry in labels.json."""
    number: int
    """1 for the run's first update."""
    line: dict[str, Any]

    @property
    def healthy(self) -> bool:
        """Whether the critic was healthy here: a healthy run, or before a fault's onset."""
        return self.number < (self.label["onset"] or math.inf)

    @property
    def since_onset(self) -> float:
        """Updates since the fault's onset (0 at it; -inf for a healthy run)."""
        return self.number - (self.label["onset"] or math.inf)


def labels() -> dict[str, dict[str, Any]]:
    """labels.json: each run file's label, by its name."""
    got: dict[str, dict[str, Any]] = json.loads((CORPUS / "labels.json").read_text())
    return got


def updates() -> Iterator[Update]:
    """Every update of the producer's flat files, run by run, in file order (esper-lite's
    events carry their metrics under "data", and are not read here)."""
    by_name = labels()
    for path in sorted((CORPUS / "runs").glob("*.jsonl")):
        number = 0
        for text in path.read_text().splitlines():
            line = json.loads(text)
            if "value_min" not in line:
                continue
            number += 1
            yield Update(path.name, by_name[path.name], number, line)
