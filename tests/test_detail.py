"""The live view's detail charts (value_diag.render.detail): in the room they are given,
one chart or the small multiples, the opened run alone or every run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SAMPLES

from value_diag.commands.framing import runs_of
from value_diag.frame import Frame
from value_diag.ingest.parallel import read_path
from value_diag.options import CHART_UPDATES
from value_diag.render.chartview import Charted, charts_of
from value_diag.render.detail import CELL_H, CELL_W, MIN_CHART_H, charts_area
from value_diag.render.picked import SMOOTHING, ChartView
from value_diag.render.series import series_of


def charted(path: Path, name: str) -> Charted:
    (source, short, state), *_ = runs_of(
        read_path(str(path), recent=CHART_UPDATES), str(path), name
    )
    frame = Frame(source, state, short=short)
    return Charted(name, frame, series_of(frame))


@pytest.fixture(scope="module")
def runs() -> list[Charted]:
    return [charted(SAMPLES / f"{n}.jsonl", n) for n in ("collapse", "healthy", "flat")]


@pytest.mark.parametrize(("width", "height"), [(40, 12), (80, 24), (120, 40), (250, 80), (41, 7)])
@pytest.mark.parametrize("every", [False, True])
def test_the_charts_stay_in_their_room(
    runs: list[Charted], width: int, height: int, every: bool
) -> None:
    for ascii_only in (False, True):
        lines = charts_area(ChartView(every=every), runs[0], runs[1:], width, height, ascii_only)
        assert 0 < len(lines) <= height
        assert all(line.cell_len <= width for line in lines)
        if ascii_only:
            assert all(line.plain.isascii() for line in lines)


def test_one_chart_at_a_time_and_the_keys_step_through_them(runs: list[Charted]) -> None:
    keys = [c.label for c in charts_of(runs[:1])]
    view = ChartView()
    seen = []
    for _ in range(len(keys) + 1):
        lines = charts_area(view, runs[0], [], 80, 20, False)
        assert len(lines) == 20
        seen.append(lines[0].plain.split(" · ")[0])
        view = view.next_chart(1)
    assert seen == [*keys, keys[0]]  # in panel order, then round again
    assert charts_area(ChartView().next_chart(-1), runs[0], [], 80, 20, False)[0].plain.startswith(
        keys[-1]
    )


def test_small_multiples_show_what_fits_and_count_the_rest(runs: list[Charted]) -> None:
    n = len(charts_of(runs[:1]))
    width, height = 2 * CELL_W + 1, 2 * CELL_H + 1  # room for 2 x 2 and a line
    lines = charts_area(ChartView(every=True), runs[0], [], width, height, False)
    drawn = sum(line.plain.count("└") for line in lines)
    assert drawn == 4
    assert lines[-1].plain == f"+{n - 4} more charts: a shows one at a time"
    big = charts_area(ChartView(every=True), runs[0], [], 250, 80, False)
    assert sum(line.plain.count("└") for line in big) == n
    assert not big[-1].plain.startswith("+")


def test_overlay_draws_every_run_with_its_name(runs: list[Charted]) -> None:
    alone = charts_area(ChartView(), runs[0], runs[1:], 100, 20, False)
    every = charts_area(ChartView().toggle_overlay(), runs[0], runs[1:], 100, 20, False)
    assert "━━" not in alone[0].plain
    assert every[0].plain.endswith("━━ collapse  ━━ healthy  ━━ flat")


def test_smoothing_steps_through_its_weights(runs: list[Charted]) -> None:
    view = ChartView()
    said = []
    for _ in SMOOTHING:
        said.append(charts_area(view, runs[0], [], 100, 20, False)[0].plain)
        view = view.next_smoothing()
    assert "smoothed" not in said[0]
    assert [f"smoothed {w:g}" in s for w, s in zip(SMOOTHING[1:], said[1:], strict=True)] == [
        True
    ] * (len(SMOOTHING) - 1)
    assert view.smoothing == 0  # round again


def test_too_little_room_says_so(runs: list[Charted], tmp_path: Path) -> None:
    lines = charts_area(ChartView(), runs[0], [], 80, MIN_CHART_H - 1, False)
    assert [line.plain for line in lines] == [f"charts need {MIN_CHART_H} lines under the panel"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"compile_enabled": True}) + "\n")
    nothing = charted(empty, "empty")
    assert charts_area(ChartView(), nothing, [], 80, 20, False)[0].plain == (
        "no metric logged yet: nothing to chart"
    )
