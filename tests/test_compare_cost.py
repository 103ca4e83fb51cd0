"""`--compare`'s work grows linearly with the runs: counted, not timed.

The table measures each cell's text once (``cell_len`` in render/compare.py); a column
whose width was worked out again at every row measured n cells n times: 10,000 runs took
25 seconds, 100,000 more than 11 minutes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Final

import pytest
from rich.cells import cell_len
from rich.console import Console

from value_diag.frame import Frame
from value_diag.render import compare as compare_module
from value_diag.render.compare import compare
from value_diag.render.frames import Renderer
from value_diag.render.markdown import compare_markdown
from value_diag.state import FoldState

KINDS: Final = (
    (0.9, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # ok
    (0.4, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # warning: V-Corr
    (0.9, 1.0, 3.0, 80.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # critical: Bellman
)
NOW: Final = 1_000_000.0
SMALL, LARGE = 100, 1000
LINEAR: Final = 1.2
"""How much more than ten times the work of 100 runs 1,000 may take (a quadratic: 100)."""


def sweep(n: int) -> list[Frame]:
    """``n`` runs of the three kinds, names that sort naturally, steps and ages apart."""
    return [
        Frame(
            f"sweep/seed{i}/run.jsonl",
            FoldState(values=KINDS[i % 3], records=3, last_update=NOW - i % 97, step=100 * i),
            at=NOW,
        )
        for i in range(n)
    ]


def printed(frames: list[Frame]) -> None:
    Console(width=120, file=io.StringIO(), color_system=None).print(
        compare(frames, Renderer(), 120)
    )


def unfitted(frames: list[Frame]) -> None:
    Console(width=400, file=io.StringIO(), color_system=None).print(
        compare(frames, Renderer(), None)
    )


@pytest.mark.parametrize(
    "draw",
    [printed, unfitted, compare_markdown],
    ids=["fitted table", "log table", "markdown"],
)
def test_compare_measures_each_cell_a_bounded_number_of_times(
    draw: Callable[[list[Frame]], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    measured = [0]

    def counting(text: str) -> int:
        measured[0] += 1
        return cell_len(text)

    monkeypatch.setattr(compare_module, "cell_len", counting)
    work = {}
    for n in (SMALL, LARGE):
        frames = sweep(n)
        measured[0] = 0
        draw(frames)
        work[n] = measured[0]
    assert work[SMALL] >= SMALL  # every run's cells are measured: the probe sees the work
    assert work[LARGE] <= LINEAR * (LARGE / SMALL) * work[SMALL], work
