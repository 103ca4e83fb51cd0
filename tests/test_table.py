"""The live sweep table (render/runs, tableview, table): fitted to any screen, sorted, the
selection kept in view and on its run."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Final

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.text import Text

from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules, Status
from value_diag.naming import natural_key
from value_diag.render import styles
from value_diag.render.compare import short_age
from value_diag.render.frames import Renderer
from value_diag.render.runs import Bucket, Run, Sort, ordered
from value_diag.render.table import header, render, table_lines
from value_diag.state import FoldState
from value_diag.tui.tableview import Key, Mode, TableView, chrome, window

OK_VALUES: Final = (0.9, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1)
WARNING_VALUES: Final = (0.4, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1)  # V-Corr
CRITICAL_VALUES: Final = (0.9, 1.0, 3.0, 80.0, 10.0, 30.0, 50.0, 25.0, 0.1)  # Bellman
VALUES: Final = {"ok": OK_VALUES, "warning": WARNING_VALUES, "critical": CRITICAL_VALUES}
NOW: Final = 10_000.0
STALE_BY: Final = 1.0
"""How much longer than --max-age a stale run has been silent (s)."""
KINDS: Final = ("critical", "stale", "warning", "waiting", "ok")
"""The order of worry (compare.WORRY): a stale run right after the dying ones."""
UP_MORE: Final = re.compile(r"↑ ?(\d+)")
DOWN_MORE: Final = re.compile(r"↓ ?(\d+)")
UNICODE: Final = Renderer()
ASCII: Final = Renderer(ascii_only=True)


def make_run(name: str, kind: str = "ok", step: int | None = None, age: float = 5.0) -> Run:
    """A run of a kind: critical, warning, ok, stale (metrics ok) or waiting (no record).

    Made as the live table makes its runs: from a frame at NOW whose state carries the
    step, a stale one judged by --max-age rules that its age exceeds.
    """
    if kind == "waiting":
        return Run(Frame(name, FoldState(step=step), at=NOW))
    values = VALUES.get(kind, OK_VALUES)
    state = FoldState(values=values, records=3, last_update=NOW - age, step=step)
    rules = Rules(max_age=age - STALE_BY) if kind == "stale" else DEFAULT_RULES
    return Run(Frame(name, state, thresholds=rules, at=NOW))


def sweep(kinds: list[str]) -> dict[str, Run]:
    """Runs r0, r1, ... of the kinds given, the step and age growing with the number."""
    return {
        f"r{i}": make_run(f"r{i}", kind, step=100 * i, age=float(i)) for i, kind in enumerate(kinds)
    }


def view_of(runs: dict[str, Run], height: int = 24) -> TableView:
    return TableView().with_runs(runs, NOW).sized(height)


def drawn(renderable: RenderableType, width: int, height: int) -> list[str]:
    """The lines a renderable prints on a screen of that size (nothing after the last)."""
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        color_system=None,
        record=True,
        legacy_windows=False,
    )
    console.print(renderable)
    text = console.export_text()
    return text.split("\n")[:-1] if text else []


def screen(view: TableView, width: int, height: int, renderer: Renderer = UNICODE) -> list[str]:
    return drawn(render(view, renderer, width, height), width, height)


def counted(lines: list[str]) -> tuple[int, int]:
    """The rows the lines count above and below the ones shown."""
    above = sum(int(m[1]) for line in lines for m in UP_MORE.finditer(line))
    below = sum(int(m[1] or m[2]) for line in lines for m in DOWN_MORE.finditer(line))
    return above, below


def shown_rows(lines: list[str], names: set[str]) -> list[str]:
    """The run names of the row lines, top to bottom (a marked run's without its mark)."""
    out = []
    for line in lines:
        first = line.split()[0] if line.split() else ""
        if first not in names and first[:1] in ("●", "*"):
            first = first[1:]
        if first in names:
            out.append(first)
    return out


# --- natural order and sorting


def test_numbers_in_names_sort_as_numbers() -> None:
    names = ["seed10", "seed2", "Seed1", "seed", "seed2b", "seed02", "a10b2", "a10b10", "a9"]
    assert sorted(names, key=natural_key) == [
        "a9",
        "a10b2",
        "a10b10",
        "seed",
        "Seed1",
        "seed2",
        "seed02",
        "seed2b",
        "seed10",
    ]


def test_worst_first_is_critical_stale_warning_waiting_ok_then_natural_names() -> None:
    kinds = ["waiting", "ok", "stale", "critical", "warning", "ok", "critical"] * 2
    runs = sweep(kinds)
    got = [(r.bucket.value, r.name) for r in ordered(runs.values(), Sort.WORST)]
    expected = sorted(
        ((kind, f"r{i}") for i, kind in enumerate(kinds)),
        key=lambda p: (KINDS.index(p[0]), natural_key(p[1])),
    )
    assert got == expected
    assert [name for _k, name in got[:6]] == ["r3", "r6", "r10", "r13", "r2", "r9"]


def test_name_step_and_age_orders() -> None:
    runs = {
        "seed10": make_run("seed10", "critical", step=50, age=3.0),
        "seed2": make_run("seed2", "ok", step=None, age=90.0),
        "seed1": make_run("seed1", "warning", step=700, age=1.0),
        "seed3": make_run("seed3", "waiting"),
        "seed4": make_run("seed4", "ok", step=50, age=3.0),
    }
    names = {s: [r.name for r in ordered(runs.values(), s)] for s in Sort}
    assert names[Sort.NAME] == ["seed1", "seed2", "seed3", "seed4", "seed10"]
    # Lowest step first, ties by name, no step last.
    assert names[Sort.STEP] == ["seed4", "seed10", "seed1", "seed2", "seed3"]
    # Longest silent first; a run with no record yet last.
    assert names[Sort.AGE] == ["seed2", "seed4", "seed10", "seed1", "seed3"]
    assert names[Sort.WORST] == ["seed10", "seed1", "seed3", "seed2", "seed4"]


def test_s_cycles_worst_name_step_age() -> None:
    view = view_of(sweep(["ok"] * 3))
    seen = [view.sort]
    for _ in range(4):
        view = view.press(Key.SORT)
        seen.append(view.sort)
    assert seen == [Sort.WORST, Sort.NAME, Sort.STEP, Sort.AGE, Sort.WORST]


# --- the header


def test_header_counts_what_is_not_zero() -> None:
    kinds = ["critical"] * 3 + ["warning"] * 5 + ["stale"] * 2 + ["waiting"] + ["ok"] * 53
    order = ordered(sweep(kinds).values(), Sort.WORST)
    line = header(order, UNICODE, 100)
    assert line.plain == "64 runs · 3 critical · 5 warning · 2 stale · 1 waiting"
    assert header(order, ASCII, 100).plain == (
        "64 runs | 3 critical | 5 warning | 2 stale | 1 waiting"
    )
    styled = {line.plain[s.start : s.end]: str(s.style) for s in line.spans}
    assert styled["3 critical"] == styles.CRITICAL
    assert styled["5 warning"] == styles.WARNING


@pytest.mark.parametrize(
    ("kinds", "said"),
    [
        ([], "0 runs"),
        (["ok"], "1 run"),
        (["ok", "ok"], "2 runs"),
        (["ok", "warning"], "2 runs · 1 warning"),
        (["waiting", "stale", "ok"], "3 runs · 1 stale · 1 waiting"),
    ],
)
def test_header_leaves_out_zero_counts(kinds: list[str], said: str) -> None:
    assert header(ordered(sweep(kinds).values(), Sort.WORST), UNICODE, 80).plain == said


def test_a_narrow_header_uses_short_words_before_it_is_cut() -> None:
    kinds = ["critical"] * 3 + ["warning"] * 5 + ["stale"] * 2 + ["waiting"] + ["ok"] * 53
    order = ordered(sweep(kinds).values(), Sort.WORST)
    assert header(order, UNICODE, 40).plain == "64 runs 3 crit 5 warn 2 stale 1 wait"


# --- the 64-run sweep of the issue


def test_sixty_four_runs_in_100_by_30() -> None:
    kinds = ["critical"] * 3 + ["warning"] * 5 + ["stale"] * 2 + ["waiting"] + ["ok"] * 53
    runs = sweep(kinds)
    lines = screen(view_of(runs, 30), 100, 30)
    assert len(lines) == 30
    assert lines[0] == "64 runs · 3 critical · 5 warning · 2 stale · 1 waiting"
    assert lines[1].split()[:5] == ["run", "status", "why", "age", "step"]
    rows = shown_rows(lines, set(runs))
    assert len(rows) == 26
    assert lines[-2] == f"↓ {64 - 26} more"
    assert lines[-1].startswith("sort: worst first · ") and lines[-1].endswith("? help")
    # critical, then stale, then warning, each by name
    assert rows[:6] == ["r0", "r1", "r2", "r8", "r9", "r3"]


def test_rows_show_compare_cells_coloured_by_level() -> None:
    runs = {"a": make_run("a", "critical", step=1234), "b": make_run("b", "ok")}
    lines = table_lines(view_of(runs, 10), UNICODE, 100)
    row = next(line for line in lines if line.plain.split()[0] == "a")
    cells = row.plain.split()
    assert cells[:5] == ["a", "critical", "Bellman", "5s", "1,234"]  # why: Bellman
    spans = {row.plain[s.start : s.end].strip(): str(s.style) for s in row.spans}
    assert spans["80‼"] == styles.CRITICAL  # Bellman, marked critical whatever the colours
    assert spans["critical"] == styles.CRITICAL
    assert spans["Bellman"] == styles.CRITICAL
    other = next(line for line in lines if line.plain.split()[0] == "b")
    assert other.plain.split()[1:4] == ["ok", "5s", "—"]  # nothing to say why; no step


def test_stale_and_waiting_rows_say_so() -> None:
    runs = {"a": make_run("a", "stale", age=1200.0), "b": make_run("b", "waiting")}
    lines = table_lines(view_of(runs, 10), UNICODE, 100)
    rows = {line.plain.split()[0]: line for line in lines[2:4]}
    assert rows["a"].plain.split()[1:4] == ["stale", "stale", "20m00s"]
    assert rows["b"].plain.split()[1:4] == ["waiting", "—", "—"]
    spans = {rows["a"].plain[s.start : s.end]: str(s.style) for s in rows["a"].spans}
    assert spans["stale"] == styles.CRITICAL
    assert spans["20m00s"] == styles.CRITICAL


def test_the_selected_row_is_reversed_across_the_screen() -> None:
    runs = sweep(["ok"] * 5)
    view = view_of(runs, 10).press(Key.DOWN).press(Key.DOWN)
    lines = table_lines(view, UNICODE, 60)
    reversed_ = [line for line in lines if any("reverse" in str(s.style) for s in line.spans)]
    assert [line.plain.split()[0] for line in reversed_] == ["r2"]
    assert reversed_[0].cell_len == 60


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_short_age(seconds: float, said: str) -> None:
    assert short_age(seconds) == said


def test_ascii_only_prints_ascii() -> None:
    runs = sweep(["critical", "stale", "ok", "waiting"] * 10)
    view = view_of(runs, 12).press(Key.PAGE_DOWN)
    for mode in (None, Key.ENTER, Key.HELP):
        shown = view if mode is None else view.press(mode)
        text = "\n".join(screen(shown, 80, 12, ASCII))
        assert text.isascii(), text
    lines = screen(view, 80, 12, ASCII)
    assert any(re.fullmatch(r"\^ \d+ more", line) for line in lines)
    assert any(re.fullmatch(r"v \d+ more", line) for line in lines)


# --- fitting any screen


@settings(max_examples=examples(300), deadline=None)
@given(
    n=st.integers(0, 70),
    width=st.integers(1, 140),
    height=st.integers(1, 45),
    moves=st.lists(st.sampled_from(list(Key)), max_size=12),
    seed=st.integers(0, 4),
)
def test_any_screen_fits_and_every_run_is_shown_or_counted(
    n: int, width: int, height: int, moves: list[Key], seed: int
) -> None:
    runs = sweep([KINDS[(i * 7 + seed) % 5] for i in range(n)])
    view = view_of(runs, height)
    for key in moves:
        view = view.press(key)
    lines = screen(view, width, height)
    assert len(lines) <= height
    assert all(cell_len(line) <= width for line in lines), lines
    if view.mode is not Mode.TABLE or width < 20:
        return  # below 20 cells a count's digits or a name may be cut
    above, below = counted(lines)
    rows = shown_rows(lines, set(runs))
    names = [r.name for r in view.order()]
    if height == 1:
        assert lines[0].startswith(f"{n} run")  # the header counts them all
        return
    assert above + len(rows) + below == n
    assert rows == names[above : above + len(rows)]
    if rows:
        assert names[view.index()] in rows


@settings(max_examples=examples(100), deadline=None)
@given(width=st.integers(1, 120), height=st.integers(1, 30), n=st.integers(1, 5))
def test_detail_and_help_fit_any_screen(width: int, height: int, n: int) -> None:
    runs = sweep(["critical", "ok", "waiting", "stale", "warning"][:n])
    for key in (Key.ENTER, Key.HELP):
        view = view_of(runs, height).press(key)
        lines = screen(view, width, height)
        assert 0 < len(lines) <= height
        assert all(cell_len(line) <= width for line in lines), lines


@pytest.mark.parametrize(("width", "height"), [(40, 6), (30, 5), (20, 4), (12, 3), (8, 2)])
def test_tiny_screens(width: int, height: int) -> None:
    runs = sweep(["critical", "warning", "ok"] * 20)
    lines = screen(view_of(runs, height), width, height)
    assert len(lines) == height
    assert all(cell_len(line) <= width for line in lines)


def test_forty_by_six_keeps_status_why_and_age() -> None:
    runs = sweep(["critical", "warning", "ok"] * 20)
    lines = screen(view_of(runs, 6), 40, 6)
    assert lines[0] == "60 runs · 20 critical · 20 warning"
    assert lines[1].split() == ["run", "status", "why", "age", "step"]
    assert lines[2].split()[:4] == ["r0", "critical", "Bellman", "0s"]
    assert lines[4] == "↓ 58 more"
    assert lines[5].startswith("sort: worst first · hidden: +")


# --- scrolling and the selection


@pytest.mark.parametrize(
    ("total", "lines", "selected", "offset", "expected"),
    [
        (5, 10, 3, 0, (0, 5)),  # all fit
        (20, 10, 0, 0, (0, 9)),  # top: only "+11 more"
        (20, 10, 8, 0, (0, 9)),  # still on screen: no scroll
        (20, 10, 9, 0, (2, 8)),  # one past: "↑ 2 more", 8 rows, "+10 more"
        (20, 10, 19, 0, (11, 9)),  # bottom: only "↑ 11 more"
        (20, 10, 12, 5, (5, 8)),  # offset kept while the selection shows
        (20, 10, 3, 5, (3, 8)),  # scrolled up just enough
        (20, 2, 7, 0, (7, 1)),  # the selected row and one line counting both sides
        (20, 1, 7, 0, (0, 0)),  # one line: all counted
        (20, 0, 7, 0, (0, 0)),
    ],
)
def test_window(
    total: int, lines: int, selected: int, offset: int, expected: tuple[int, int]
) -> None:
    win = window(total, lines, selected, offset)
    assert (win.first, win.shown) == expected
    more_lines = (win.above > 0) + (win.below > 0)
    assert win.shown + (more_lines if lines > 2 else min(more_lines, 1)) <= max(lines, 1)


def test_chrome_gives_rows_room_first() -> None:
    assert [chrome(h) for h in range(7)] == [
        (False, False, 0),
        (False, False, 0),
        (False, False, 1),
        (False, False, 2),
        (True, False, 2),
        (True, True, 2),
        (True, True, 3),
    ]


MOVES: Final[dict[Key, Callable[[int, int, int], int]]] = {
    Key.UP: lambda i, n, page: max(i - 1, 0),
    Key.DOWN: lambda i, n, page: min(i + 1, n - 1),
    Key.PAGE_UP: lambda i, n, page: max(i - page, 0),
    Key.PAGE_DOWN: lambda i, n, page: min(i + page, n - 1),
    Key.HOME: lambda i, n, page: 0,
    Key.END: lambda i, n, page: n - 1,
}


@settings(max_examples=examples(200), deadline=None)
@given(
    n=st.integers(1, 60),
    height=st.integers(3, 40),
    keys=st.lists(st.sampled_from(list(MOVES)), min_size=1, max_size=25),
)
def test_moves_keep_the_selection_on_screen(n: int, height: int, keys: list[Key]) -> None:
    view = view_of(sweep(["ok"] * n), height)
    for key in keys:
        rows = chrome(height)[2]  # a page: all rows when they fit, else those between "more"s
        page = max(1, rows if n <= rows else rows - 2)
        expected = MOVES[key](view.index(), n, page)
        view = view.press(key)
        assert view.index() == expected
        win = view.window()
        assert win.first <= view.index() < win.first + win.shown
        assert view.offset == win.first


def test_the_selection_follows_its_run_when_the_order_changes() -> None:
    runs = sweep(["ok"] * 30)
    view = view_of(runs, 12)
    for _ in range(15):
        view = view.press(Key.DOWN)
    assert view.selected == "r15"
    line = view.index() - view.offset
    # r15 turns critical and goes to the top; r3 turns warning.
    runs = {**runs, "r15": make_run("r15", "critical"), "r3": make_run("r3", "warning")}
    after = view.with_runs(runs, NOW + 1)
    assert after.selected == "r15"
    assert after.index() == 0
    assert after.offset == 0  # the top has no room above it
    assert [r.name for r in after.order()][:2] == ["r15", "r3"]
    # A change that keeps r15 in the middle keeps it on the same screen line.
    calm = {**runs, "r15": make_run("r15", "ok"), "r29": make_run("r29", "critical")}
    moved = view.with_runs(calm, NOW + 2)
    assert moved.selected == "r15"
    assert moved.index() == 16
    assert moved.index() - moved.offset == line


def test_the_selection_follows_its_run_when_the_sort_changes() -> None:
    runs = sweep(["ok", "critical"] * 10)  # worst first: the odd ones, then the even
    view = view_of(runs, 8)
    for _ in range(12):
        view = view.press(Key.DOWN)
    chosen = view.selected
    assert chosen is not None
    for _ in range(4):
        view = view.press(Key.SORT)
        assert view.selected == chosen
        win = view.window()
        assert win.first <= view.index() < win.first + win.shown
        assert chosen in shown_rows(screen(view, 80, 8), set(runs))


def test_without_a_move_the_top_row_is_selected_whichever_run_it_is() -> None:
    runs = sweep(["ok"] * 5)
    view = view_of(runs)
    assert view.selected is None and view.current() == runs["r0"]
    view = view.with_runs({**runs, "r4": make_run("r4", "critical")}, NOW)
    top = view.current()
    assert view.selected is None and top is not None and top.name == "r4"


def test_a_run_that_goes_leaves_the_selection_in_its_place() -> None:
    runs = sweep(["ok"] * 6)
    view = view_of(runs).press(Key.DOWN).press(Key.DOWN)
    assert view.selected == "r2"
    del runs["r2"]
    assert view.with_runs(runs, NOW).selected == "r3"
    assert view.with_runs({}, NOW).selected is None
    last = view_of(sweep(["ok"] * 3)).press(Key.END)
    assert last.with_runs(sweep(["ok"] * 2), NOW).selected == "r1"


# --- modes


def test_enter_opens_the_selected_runs_panel_and_esc_goes_back() -> None:
    runs = sweep(["ok", "critical", "ok"])
    view = view_of(runs, 20).press(Key.DOWN)
    assert view.selected == "r0"  # r1 is first: worst first
    detail = view.press(Key.ENTER)
    assert detail.mode is Mode.DETAIL
    lines = screen(detail, 90, 20)
    assert "VALUE DIAGNOSTICS: r0 · ok" in lines[0]
    assert lines[-1].startswith("Esc back")
    # Up and down go to the other runs without leaving the panel.
    assert "VALUE DIAGNOSTICS: r1" in screen(detail.press(Key.UP), 90, 20)[0]
    back = detail.press(Key.ESC)
    assert back.mode is Mode.TABLE and back.selected == "r0"


def test_the_panel_shows_the_trend() -> None:
    history = tuple(OK_VALUES for _ in range(10))
    state = FoldState(values=OK_VALUES, records=10, history=history, history_len=10)
    runs = {"a": Run(Frame("a", state))}
    lines = screen(view_of(runs, 12).press(Key.ENTER), 80, 12)
    assert any("▄" in line for line in lines)  # a flat history, mid-height


def test_help_lists_the_keys_and_goes_back_where_it_was_opened() -> None:
    view = view_of(sweep(["ok"] * 3), 20)
    helped = view.press(Key.HELP)
    assert helped.mode is Mode.HELP
    text = "\n".join(screen(helped, 60, 20))
    for key in ("q", "↑↓/jk", "PgUp/PgDn", "Home/End", "Enter", "Esc", "s", "?"):
        assert re.search(rf"^  {re.escape(key)} ", text, re.M), key
    assert helped.press(Key.DOWN) == helped  # keys other than back do nothing here
    assert helped.press(Key.HELP).mode is Mode.TABLE
    from_detail = view.press(Key.ENTER).press(Key.HELP)
    assert from_detail.press(Key.ESC).mode is Mode.DETAIL


def test_the_footer_says_the_sort_and_the_hidden_columns() -> None:
    view = view_of(sweep(["ok"] * 3), 10).press(Key.SORT)
    assert screen(view, 200, 10)[-1] == "sort: name, A to Z · ? help"
    narrow = screen(view, 50, 10)[-1]
    assert re.fullmatch(r"sort: name, A to Z · hidden: TD Mean, \+\d+ · \? help", narrow), narrow


def test_the_footer_names_hidden_columns_that_hold_an_alarm_first_and_marks_them() -> None:
    """A row that is red because of columns the width hides says so: the footer marks them."""
    state = FoldState(values=(math.nan,) * 9, records=3, last_update=NOW - 1, step=5)
    runs = {"nan": Run(Frame("nan", state, at=NOW)), "b": make_run("b", "ok")}
    view = view_of(runs, 10)
    line = next(ln for ln in table_lines(view, UNICODE, 80) if ln.plain.startswith("sort:"))
    assert "TD Mean" not in screen(view, 80, 10)[1], "the width hides the TD Mean column"
    assert line.plain.startswith("sort: worst first · hidden: TD Mean!, TD Std!, "), line.plain
    spans = {line.plain[s.start : s.end]: str(s.style) for s in line.spans}
    assert spans["TD Mean!"] == styles.WARNING


def test_the_age_sort_keeps_runs_of_the_same_shown_age_in_name_order() -> None:
    """Ages in whole seconds, ties by name: runs that write every second do not reshuffle."""
    runs = {
        name: make_run(name, "ok", age=age)
        for name, age in (("b", 2.1), ("a", 2.9), ("c", 2.5), ("d", 7.0))
    }
    view = view_of(runs).press(Key.SORT).press(Key.SORT).press(Key.SORT)
    assert view.sort is Sort.AGE
    assert [r.name for r in view.order()] == ["d", "a", "b", "c"]
    later = view.at(NOW + 0.6)  # a and c now read 3s, b still 2s
    assert [r.name for r in later.order()] == ["d", "a", "c", "b"]


def test_no_runs_yet() -> None:
    lines = screen(TableView().sized(8), 60, 8)
    assert lines[0] == "0 runs"
    assert "no run files yet" in lines
    assert TableView().press(Key.ENTER).mode is Mode.TABLE


def test_a_frame_becomes_a_run_by_its_source() -> None:
    frame = Frame("runs/a.jsonl", FoldState(values=OK_VALUES, records=1))
    run = Run(frame)
    assert (run.name, run.frame, run.step, run.stale) == ("runs/a.jsonl", frame, None, False)
    assert run.bucket is Bucket.OK
    assert Frame("x", FoldState()).health.status is Status.NO_DATA
    assert Run(Frame("x", FoldState())).bucket is Bucket.WAITING


def test_keys_the_view_has_no_use_for_change_nothing() -> None:
    view = view_of(sweep(["ok"] * 3))
    assert view.press(Key.QUIT) == view
    assert view.press("x") == view


def test_lines_are_text() -> None:
    assert all(isinstance(line, Text) for line in table_lines(view_of(sweep(["ok"])), ASCII, 40))


@settings(max_examples=examples(60), deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=40),
    changes=st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from(KINDS), st.integers(0, 9)), max_size=12
    ),
    sort=st.sampled_from(list(Sort)),
)
def test_new_frames_of_a_few_runs_give_the_order_a_sort_gives(
    kinds: list[str], changes: list[tuple[int, str, int]], sort: Sort
) -> None:
    """Runs given new frames one or a few at a time (a changed run, a new one, one gone)
    are put in their places without sorting them all: the order is a sort's all the same."""
    runs = sweep(kinds)
    view = TableView(sort=sort).with_runs(runs, NOW)
    assert [r.name for r in view.order()] == [r.name for r in ordered(runs.values(), sort, NOW)]
    for k, kind, age in changes:
        runs = dict(runs)
        name = f"r{k}"
        if k % 7 == 6 and name in runs and len(runs) > 1:
            del runs[name]  # the run went
        else:
            runs[name] = make_run(name, kind, step=10 * age, age=float(age))
        view = view.with_runs(runs, NOW)
        want = [r.name for r in ordered(runs.values(), sort, NOW)]
        assert [r.name for r in view.order()] == want


@settings(max_examples=examples(40), deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=30),
    changes=st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(KINDS), st.integers(0, 99_999)), max_size=10
    ),
    ascii_only=st.booleans(),
)
def test_the_live_columns_counted_as_runs_change_are_the_columns_measured_whole(
    kinds: list[str], changes: list[tuple[int, str, int]], ascii_only: bool
) -> None:
    """Widths and alarms counted over the runs that came, changed and went are those of
    the columns measured whole, cell by cell."""
    from dataclasses import replace

    from value_diag.render.compare import AGE, STATUS, age_cell, assemble, labels
    from value_diag.render.table import _status_cell, live_columns

    renderer = Renderer(ascii_only=ascii_only)
    runs = sweep(kinds)
    for k, kind, step in [(-1, "ok", 0), *changes]:
        runs = dict(runs)
        if k >= 0:
            name = f"r{k}"
            if k % 5 == 4 and name in runs and len(runs) > 1:
                del runs[name]
            else:
                # ages in every unit's range, and across each change of an age's width
                runs[name] = make_run(name, kind, step=step, age=float(step * 37 % 1_000_000))
        order = ordered(runs.values(), Sort.WORST)
        got = live_columns(order, NOW, renderer)
        whole = assemble(labels(), [r.cells(ascii_only) for r in order])
        want = []
        for c in whole:
            if c.label == STATUS:
                status = zip(order, c.cells, strict=True)
                c = replace(c, cells=tuple(_status_cell(r, x) for r, x in status))
            elif c.label == AGE:
                c = replace(c, cells=tuple(age_cell(r.frame, NOW, ascii_only) for r in order))
            want.append(c)
        assert [(c.label, tuple(c.cells), c.width, c.alarming) for c in got] == [
            (c.label, tuple(c.cells), c.width, c.alarming) for c in want
        ]
