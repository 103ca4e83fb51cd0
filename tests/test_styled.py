"""StyledText builds what rich.text.Text builds from the same calls: text, spans, attributes."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from value_diag.render.styled import StyledText

STYLES = st.sampled_from(["", "bold", "dim", "red bold", "green"])
STRINGS = st.text(st.sampled_from("ab σ↗界\n\t\r\x07\x08\x0b\x0c\x1b"), max_size=6)
"""Wide and narrow characters, newlines and the control codes Text strips (and ESC, which
it keeps)."""
PIECES = st.lists(st.tuples(STRINGS, STYLES), max_size=5)
"""Strings appended with a style, in order."""
OPS = st.lists(st.tuples(st.booleans(), STRINGS, STYLES, PIECES), max_size=6)
"""Each: append a string (False), or a text built from pieces (True)."""


def both(text: str, style: str, pieces: list[tuple[str, str]]) -> tuple[StyledText, Text]:
    ours, rich = StyledText(text, style), Text(text, style)
    for piece, piece_style in pieces:
        ours.append(piece, piece_style)
        rich.append(piece, piece_style)
    return ours, rich


def test_defaults_are_texts() -> None:
    ours, rich = StyledText(), Text()
    assert (ours.plain, ours.style, ours.end, ours.no_wrap, ours.overflow) == (
        rich.plain,
        rich.style,
        rich.end,
        rich.no_wrap,
        rich.overflow,
    )


@given(STRINGS, STYLES, OPS)
def test_the_same_calls_build_the_same_text(
    text: str, style: str, ops: list[tuple[bool, str, str, list[tuple[str, str]]]]
) -> None:
    ours, rich = both(text, style, [])
    for as_text, piece, piece_style, pieces in ops:
        if as_text:
            inner_ours, inner_rich = both(piece, piece_style, pieces)
            ours.append_text(inner_ours)
            rich.append_text(inner_rich)
        else:
            ours.append(piece, piece_style)
            rich.append(piece, piece_style)
        assert ours.plain == rich.plain
        assert ours.cell_len == rich.cell_len
        assert [tuple(s) for s in ours.spans] == [tuple(s) for s in rich.spans]
    copied = ours.copy()
    ours.append("x", "bold")  # a copy has spans of its own
    assert copied.to_rich() == rich
    assert copied.to_rich().spans == rich.spans


def test_to_rich_keeps_the_attributes() -> None:
    ours = StyledText("a", "dim", overflow="ellipsis", no_wrap=True, end="")
    rich = ours.copy().to_rich()
    assert (rich.plain, rich.style, rich.overflow, rich.no_wrap, rich.end) == (
        "a",
        "dim",
        "ellipsis",
        True,
        "",
    )


def test_a_console_prints_it_as_its_text() -> None:
    ours, rich = both("run", "bold", [(" · ", ""), ("critical", "red bold"), ("\n", "")])
    printed = []
    for text in (ours, rich):
        console = Console(
            file=io.StringIO(), width=40, color_system="truecolor", force_terminal=True
        )
        console.print(text)
        printed.append(console.file.getvalue())  # type: ignore[attr-defined]
    assert printed[0] == printed[1]
    assert "\x1b[" in printed[0]  # styled
