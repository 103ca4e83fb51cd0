"""The keys of the live view, in one table: what bytes a terminal sends for each, what the
view does with it, and how the help screen and `watch --help` name it.

The decoder (tui/keys.py), the view's actions (tui/tableview.py), the ``?`` screen
(render/table.py) and the epilog of `watch --help` are all made from BINDINGS, so that
none of them can name a key the others do not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Key(StrEnum):
    """What a key press asks of the view (tui/keys.py turns bytes into these)."""

    QUIT = "q"
    HELP = "?"
    UP = "up"
    DOWN = "down"
    PAGE_UP = "pgup"
    PAGE_DOWN = "pgdn"
    HOME = "home"
    END = "end"
    ENTER = "enter"
    ESC = "esc"
    SORT = "s"
    WHY = "w"
    LEFT = "left"
    RIGHT = "right"
    ALL_CHARTS = "a"
    SMOOTH = "e"
    OVERLAY = "o"
    MARK = "space"


@dataclass(frozen=True, slots=True)
class Press:
    """One key: the bytes that send it, and the TableView method it calls."""

    key: Key
    plain: bytes = b""
    """Single bytes that are this key (each byte on its own)."""
    finals: bytes = b""
    """Final bytes of ESC [ ... and ESC O ... that are this key (modifiers ignored)."""
    tilde: tuple[bytes, ...] = ()
    """First parameters of ESC [ N ~ that are this key (vt220 and rxvt)."""
    action: str | None = None
    """The TableView method the key calls (None: the caller's, as q ends the watch)."""


@dataclass(frozen=True, slots=True)
class Binding:
    """A line of the help screen: keys that do one thing, and the words for them."""

    label: str
    """The keys as the help screen names them."""
    does: str
    """What they do, on the help screen."""
    said: str
    """What they do, in the sentence of `watch --help`."""
    presses: tuple[Press, ...]
    ascii_label: str | None = None
    """The label on a terminal without Unicode (None: ``label``)."""
    epilog: str | None = None
    """The keys as `watch --help` names them (None: ``label``)."""


BINDINGS: Final = (
    Binding("q", "quit", "quits", (Press(Key.QUIT, plain=b"q"),)),
    Binding(
        "↑↓/jk",
        "move",
        "move",
        (
            Press(Key.UP, plain=b"k", finals=b"A", action="up"),
            Press(Key.DOWN, plain=b"j", finals=b"B", action="down"),
        ),
        ascii_label="Up/Down/jk",
        epilog="arrows (or j/k",
    ),
    Binding(
        "PgUp/PgDn",
        "move a page",
        "move",
        (
            Press(Key.PAGE_UP, tilde=(b"5",), action="page_up"),
            Press(Key.PAGE_DOWN, tilde=(b"6",), action="page_down"),
        ),
    ),
    Binding(
        "Home/End",
        "first, last run",
        "move",
        (
            Press(Key.HOME, finals=b"H", tilde=(b"1", b"7"), action="home"),
            Press(Key.END, finals=b"F", tilde=(b"4", b"8"), action="end"),
        ),
        epilog="Home/End)",
    ),
    Binding(
        "Enter",
        "open the run's panel",
        "opens a run",
        (Press(Key.ENTER, plain=b"\r\n", action="enter"),),
    ),
    Binding(
        "←→/hl",
        "the run's previous, next chart",
        "pick its chart",
        (
            Press(Key.LEFT, plain=b"h", finals=b"D", action="chart_left"),
            Press(Key.RIGHT, plain=b"l", finals=b"C", action="chart_right"),
        ),
        ascii_label="Left/Right/hl",
        epilog="left/right (h/l)",
    ),
    Binding(
        "a",
        "every chart of the run at once",
        "shows every chart",
        (Press(Key.ALL_CHARTS, plain=b"a", action="all_charts"),),
    ),
    Binding(
        "e",
        "smooth the charts: off, 0.6, 0.9",
        "smooths them",
        (Press(Key.SMOOTH, plain=b"e", action="smooth"),),
    ),
    Binding(
        "Space",
        "mark the run, for o",
        "marks a run",
        (Press(Key.MARK, plain=b" ", action="mark"),),
    ),
    Binding(
        "o",
        "the marked runs (or the next ones) on the chart too",
        "draws them on its charts",
        (Press(Key.OVERLAY, plain=b"o", action="overlay"),),
    ),
    Binding("Esc", "back", "goes back", (Press(Key.ESC, action="esc"),)),
    Binding(
        "s",
        "sort: worst, name, step, age",
        "sorts",
        (Press(Key.SORT, plain=b"s", action="cycle_sort"),),
    ),
    Binding(
        "w",
        "what to check first for the run",
        "says what to check first",
        (Press(Key.WHY, plain=b"w", action="why"),),
    ),
    Binding("?", "help", "helps", (Press(Key.HELP, plain=b"?", action="help"),)),
)
"""Every key of the live view, in the order the help screen lists them."""

PRESSES: Final = tuple(p for b in BINDINGS for p in b.presses)

PLAIN: Final = {bytes([c]): p.key for p in PRESSES for c in p.plain}
"""Single bytes that are keys; other bytes are ignored."""
FINALS: Final = {c: p.key for p in PRESSES for c in p.finals}
"""The last byte of ESC [ ... and ESC O ...: arrows, Home and End."""
TILDE: Final = {n: p.key for p in PRESSES for n in p.tilde}
"""ESC [ N ~ by its first parameter: vt220 and rxvt Home, End, PgUp and PgDn."""
ACTIONS: Final = {p.key: p.action for p in PRESSES if p.action is not None}
"""The TableView method of each key the view answers."""


def help_keys(ascii_only: bool = False) -> list[tuple[str, str]]:
    """The lines of the help screen: the keys, and what they do."""
    return [(b.ascii_label or b.label if ascii_only else b.label, b.does) for b in BINDINGS]


def sentence() -> str:
    """The keys in one sentence, for `watch --help`: bindings that do the same (move)
    are said together, in the order of the table."""
    parts: list[str] = []
    said: dict[str, list[str]] = {}
    for b in BINDINGS:
        if b.said not in said:
            said[b.said] = []
            parts.append(b.said)
        said[b.said].append(b.epilog or b.label)
    return ", ".join(f"{', '.join(said[what])} {what}" for what in parts) + "."
