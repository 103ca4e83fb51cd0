"""What the terminal can do: colour, Unicode, its size; consoles that never interpret data."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cache
from typing import IO, TYPE_CHECKING

from value_diag.options import ColorMode
from value_diag.render.panel import UNICODE_PROBE

if TYPE_CHECKING:
    from rich.console import Console


@cache
def _console_class() -> type[Console]:
    """Rich's Console, for a reader that may leave early (imported only when one is made:
    plain output needs none, and rich.console is a third of value-diag's start-up)."""
    from rich.console import Console

    class _Console(Console):
        """A console whose reader may leave early (`| head`): output stops, the code stays."""

        def on_broken_pipe(self) -> None:
            """Silences stdout and lets the caller decide the exit code (Rich would exit 1)."""
            self.quiet = True
            silence_stdout()
            raise BrokenPipeError

    return _Console


def plain_stdout(
    color: ColorMode = ColorMode.AUTO,
    stream: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Whether stdout (or ``stream``) takes plain text a console would write unchanged: it
    is not a terminal, and no colour is asked for (--color always, FORCE_COLOR,
    TTY_COMPATIBLE=1 in ``environ``, by default the process's)."""
    if is_tty(stream) or color is ColorMode.ALWAYS:
        return False
    env = os.environ if environ is None else environ
    if env.get("TTY_COMPATIBLE") == "1":
        return False
    return color is ColorMode.NEVER or not env.get("FORCE_COLOR")


def silence_stdout() -> None:
    """Points stdout at /dev/null, so nothing more (nor the flush at exit) can fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (ValueError, OSError):
        pass


def make_console(
    color: ColorMode = ColorMode.AUTO,
    file: IO[str] | None = None,
    width: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Console:
    """A console that never interprets markup, emoji codes or highlights data; ``environ``:
    the variables it reads (FORCE_COLOR, NO_COLOR, COLUMNS, TERM...; the process's by
    default)."""
    force: bool | None = None
    no_color: bool | None = None
    if color is ColorMode.ALWAYS:
        force, no_color = True, False
    elif color is ColorMode.NEVER:
        no_color = True
    console = _console_class()(
        file=file,
        force_terminal=force,
        no_color=no_color,
        color_system=None if color is ColorMode.NEVER else "auto",
        markup=False,
        emoji=False,
        highlight=False,
        width=width,
        soft_wrap=False,
        _environ=environ,
    )
    if width is None and console.is_dumb_terminal:
        # Rich takes any TERM=dumb terminal to be 80x25; its real size is known all the same.
        try:
            columns, lines = os.get_terminal_size(console.file.fileno())
        except (AttributeError, ValueError, OSError):
            columns = lines = 0
        if columns > 0 and lines > 0:
            console.size = (columns, lines)
    return console


def is_tty(stream: IO[str] | None = None) -> bool:
    """Whether frames go to a terminal (and so get a border and redraw in place)."""
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


def can_encode_unicode(stream: IO[str] | None = None) -> bool:
    """Whether the output encoding can print the panel's Unicode glyphs."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        UNICODE_PROBE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ascii_locale(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user's locale is C or POSIX (or another without UTF-8).

    Python writes UTF-8 under such a locale all the same (its UTF-8 mode, PEP 540, turns
    itself on), so the stream's encoding does not tell; the terminal is set up for ASCII.
    A UTF-8 mode or encoding asked for explicitly is taken at its word. ``environ``: the
    variables to look at (the process's by default).
    """
    if not sys.flags.utf8_mode or "utf8" in sys._xoptions:
        return False
    env = os.environ if environ is None else environ
    if env.get("PYTHONUTF8") or env.get("PYTHONIOENCODING"):
        return False
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        name = env.get(var, "")
        if var == "LC_CTYPE" and name == "C.UTF-8":
            continue  # set by Python itself when it coerced a C locale (PEP 538)
        if name:
            return not any(tag in name.lower() for tag in ("utf-8", "utf8"))
    return True
