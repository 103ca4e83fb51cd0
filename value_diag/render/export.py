"""Coloured frames saved as SVG or HTML, for CI artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from value_diag.errors import ReadError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def export(renderable: RenderableType, path: str, kind: str, width: int = 100) -> None:
    """Writes the coloured renderable as an SVG or HTML file (for CI artifacts).

    At least ``width`` columns, more if the renderable (a wide comparison) wants them.
    """
    import io

    from rich.console import Console as RecordingConsole

    console: Console = RecordingConsole(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    wide = console.options.update_width(10_000)
    console.width = max(width, console.measure(renderable, options=wide).maximum)
    console.print(renderable)
    if kind == "svg":
        text = console.export_svg(title="value-diag")
    else:
        text = console.export_html(inline_styles=True)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:  # the path is named here: a failed write's error does not carry it
        raise ReadError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
