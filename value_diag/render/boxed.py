"""A frame in a border as wide as the screen: the panel a terminal draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rich.cells import cell_len
from rich.measure import Measurement
from rich.panel import Panel

from value_diag.render.styled import StyledText

if TYPE_CHECKING:
    from rich.box import Box
    from rich.console import Console, ConsoleOptions, RenderResult

FRAME_COLS: Final = 8
"""Columns a border takes around its title or caption: corners, rules and padding."""
MIN_LINES: Final = 3
"""Lines a panel takes at the least: its top and bottom border and one line of body
("[no data]"). The live view knows from this alone that many runs cannot fit as panels."""


@dataclass(frozen=True, slots=True)
class Boxed:
    """A panel as wide as the width it is given, whatever it holds.

    Its border stays put from one frame to the next: a subtitle that grows (a note, a
    longer age) or a title naming other culprits is cut to the border, never widens it;
    only a new screen width moves it. Body, title and caption are made for the width
    there is, so what is cut when the screen is narrow is chosen (padding, counts, the
    middle of a name), not whatever happens to come last.

    Measured (by an export sized to its content, which has no screen), it asks for what
    its body, title and caption need.
    """

    body: Callable[[int | None], StyledText]
    """The panel lines for a given inner width."""
    title: Callable[[int | None], StyledText]
    caption: Callable[[int | None], StyledText]
    """The title and caption for the room in the border (None: all they want)."""
    box: Box
    border_style: str = ""

    def _wanted(self, max_width: int) -> int:
        """Columns the panel's content asks for when ``max_width`` are there, border included."""
        body = self.body(max_width - 4)  # inside the border and its padding
        title, caption = self.title(None), self.caption(None)
        inner = max((cell_len(line) for line in body.plain.split("\n")), default=0)
        return min(max(inner, caption.cell_len + 4, title.cell_len + 4) + 4, max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # Without this, an export sized to its content would take every column offered.
        wanted = self._wanted(options.max_width)
        return Measurement(wanted, wanted)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        body = self.body(width - 4)  # inside the border and its padding
        room = width - FRAME_COLS
        title, caption = self.title(room), self.caption(room)
        yield Panel(
            body.to_rich(),
            title=title.to_rich(),
            subtitle=caption.to_rich(),
            subtitle_align="left",
            box=self.box,
            border_style=self.border_style,
            expand=True,
            width=width,
        )
