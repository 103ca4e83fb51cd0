"""A frame in a border, sized to what it holds: the panel a terminal draws."""

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


@dataclass(frozen=True, slots=True)
class Boxed:
    """A panel as wide as its body or its caption needs, but never wider than the screen.

    Body, title and caption are made for the width there is, so what is cut when the
    screen is narrow is chosen (padding, counts, the middle of a name), not whatever
    happens to come last.
    """

    body: Callable[[int | None], StyledText]
    """The panel lines for a given inner width."""
    title: Callable[[int | None], StyledText]
    caption: Callable[[int | None], StyledText]
    """The title and caption for the room in the border (None: all they want)."""
    box: Box
    border_style: str = ""

    def _wanted(self, max_width: int) -> int:
        """Columns the panel takes when ``max_width`` are there, border included."""
        body = self.body(max_width - 4)  # inside the border and its padding
        room = max_width - FRAME_COLS
        title, caption = self.title(room), self.caption(room)
        inner = max((cell_len(line) for line in body.plain.split("\n")), default=0)
        return min(max(inner, caption.cell_len + 4, title.cell_len + 4) + 4, max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # Without this, an export sized to its content would take every column offered.
        wanted = self._wanted(options.max_width)
        return Measurement(wanted, wanted)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        body = self.body(options.max_width - 4)  # inside the border and its padding
        room = options.max_width - FRAME_COLS
        title, caption = self.title(room), self.caption(room)
        yield Panel(
            body.to_rich(),
            title=title.to_rich(),
            subtitle=caption.to_rich(),
            subtitle_align="left",
            box=self.box,
            border_style=self.border_style,
            expand=True,
            width=self._wanted(options.max_width),
        )
