"""Styled text without rich.text: what the panel and the frames are built of.

A frame written into a pipe is plain text, and importing rich.text (with the styles,
colours and segments it pulls in) costs about a twentieth of `value-diag once`. So the
panel and the frames append to ``StyledText``, the small part of rich.text.Text they
use, which records its spans as Text does; a console gets the Text itself from
``to_rich()`` (or prints a StyledText as it is, through ``__rich__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

from rich.cells import cell_len

if TYPE_CHECKING:
    from rich.console import OverflowMethod
    from rich.text import Text

CONTROL_CODES: Final = dict.fromkeys((7, 8, 11, 12, 13))
"""What rich.text.Text strips from the strings it is given (BEL, BS, VT, FF, CR), so that
``plain`` is what a console would print."""


class Span(NamedTuple):
    """A style over the characters ``start`` to ``end`` (as rich.text.Span)."""

    start: int
    end: int
    style: str


class StyledText:
    """Text with a base style and styled spans: as rich.text.Text, for the methods it has.

    ``append``, ``append_text`` and ``copy`` record spans exactly as Text's do, so
    ``to_rich()`` is the Text the same calls would have built.
    """

    __slots__ = ("_length", "_parts", "end", "no_wrap", "overflow", "spans", "style")

    def __init__(
        self,
        text: str = "",
        style: str = "",
        *,
        overflow: OverflowMethod | None = None,
        no_wrap: bool | None = None,
        end: str = "\n",
    ) -> None:
        text = text.translate(CONTROL_CODES)
        self._parts = [text]
        self._length = len(text)
        self.style = style
        """The style of the whole text, under its spans."""
        self.spans: list[Span] = []
        self.overflow = overflow
        self.no_wrap = no_wrap
        self.end = end
        """What a console prints after the text."""

    @property
    def plain(self) -> str:
        """The text without styles."""
        if len(self._parts) != 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0]

    @property
    def cell_len(self) -> int:
        """Terminal cells the text takes."""
        return cell_len(self.plain)

    def append(self, text: str, style: str = "") -> StyledText:
        """Adds ``text`` in ``style``; returns self."""
        if text:
            text = text.translate(CONTROL_CODES)
            if style:
                self.spans.append(Span(self._length, self._length + len(text), style))
            self._parts.append(text)
            self._length += len(text)
        return self

    def append_text(self, text: StyledText) -> StyledText:
        """Adds ``text`` with its styles (its base style as a span); returns self."""
        offset = self._length
        if text.style:
            self.spans.append(Span(offset, offset + text._length, text.style))
        self._parts.append(text.plain)
        self.spans.extend(
            Span(start + offset, end + offset, style) for start, end, style in text.spans
        )
        self._length += text._length
        return self

    def copy(self) -> StyledText:
        """A copy, spans and all."""
        out = StyledText(
            self.plain, self.style, overflow=self.overflow, no_wrap=self.no_wrap, end=self.end
        )
        out.spans[:] = self.spans
        return out

    def to_rich(self) -> Text:
        """The rich.text.Text of this text, with the same spans (for a console)."""
        from rich.text import Span as RichSpan
        from rich.text import Text

        return Text(
            self.plain,
            self.style,
            overflow=self.overflow,
            no_wrap=self.no_wrap,
            end=self.end,
            spans=[RichSpan(*span) for span in self.spans],
        )

    def __rich__(self) -> Text:
        """What a console prints: ``to_rich()``."""
        return self.to_rich()
