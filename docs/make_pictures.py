"""Regenerates docs/watch.svg and docs/detail.svg, the README's pictures of the panel and of a
run's detail with its charts, from the real console script.

The picture is the bordered panel as value-diag draws it on a terminal, 45 updates into the
bundled collapsing run (its first lines, copied to ``run.jsonl`` in a temporary directory):
the value function is losing track of the returns: V-Corr, TD Mean and Ret sigma turn
yellow (the title names them, each value carries its "!"), and the sparklines under the
lines show the slide against their warning lines. ``value-diag once --trend`` runs on a
pseudo-terminal, so it draws exactly what a terminal shows, and Rich turns that output into
an SVG. ``once`` shows no clock, so every run writes the same bytes.

docs/detail.svg is ``value-diag watch run.jsonl`` on a pseudo-terminal of DETAIL_SIZE with
the whole collapsing run, after Enter opened its detail: the panel, then the V-Corr chart
with its thresholds and the updates where its level changed. The screen is read back
through pyte, its age drawn as 0s.

Run from anywhere, with value-diag installed::

    python docs/make_pictures.py            # rewrites docs/watch.svg and docs/detail.svg
    python docs/make_pictures.py --out DIR  # writes them into DIR instead
"""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
SAMPLE = ROOT / "sample_logs" / "collapse.jsonl"
PICTURE = "watch.svg"
SAMPLE_LINES = 226
"""TRAINING_STARTED, then 45 updates of five events each: the collapse under way, not over."""
COLUMNS, ROWS = 100, 30
"""The terminal the panel is drawn on; the panel spans its width, and at 100 columns its
sparklines go under the five lines."""
ARGS = ("once", "run.jsonl", "--trend", "--no-config")
TITLE = "value-diag watch run.jsonl --trend"
TIMEOUT_S = 60.0
DETAIL_PICTURE = "detail.svg"
DETAIL_SIZE = (100, 38)
"""The terminal of the detail's picture: columns, rows."""
DETAIL_TITLE = "value-diag watch run.jsonl, Enter"
QUIET_S = 0.5
"""How long the terminal must be quiet for a redraw to count as complete (s)."""
DROPPED_VARS = frozenset(
    {"FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "COLORTERM", "TERM", "COLUMNS", "LINES"}
    | {"LC_ALL", "LC_CTYPE", "LANG"}
)
"""Settings of the caller's shell that would change how the panel is drawn."""


def console_script() -> list[str]:
    """The installed ``value-diag``, or ``python -m value_diag`` when only the package is there."""
    found = shutil.which("value-diag", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "value_diag"]


def terminal_env() -> dict[str, str]:
    """The environment of a plain UTF-8 colour terminal, whatever the caller's shell sets."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARS}
    env.update(LANG="C.UTF-8", TERM="xterm-256color")
    return env


def run_on_terminal(
    args: Sequence[str], cwd: Path, columns: int, rows: int, check: bool = True
) -> str:
    """Runs ``args`` on a new pseudo-terminal of that size and returns everything it printed.

    Raises:
        RuntimeError: the command failed (and ``check``: exited with a code other than
            0), or did not finish within ``TIMEOUT_S``.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    try:
        child = subprocess.Popen(
            list(args), cwd=cwd, env=terminal_env(), stdin=slave, stdout=slave, stderr=slave
        )
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # Linux: EIO once the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            child.kill()
            raise RuntimeError(f"{' '.join(args)} did not finish within {TIMEOUT_S:.0f} s")
        code = child.wait(timeout=TIMEOUT_S)
    finally:
        os.close(master)
    output = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    if code != 0 and check:
        raise RuntimeError(f"{' '.join(args)} exited with {code}:\n{output}")
    return output


def panel_ansi(sample: Path = SAMPLE, lines: int = SAMPLE_LINES) -> str:
    """The panel, with its escape codes, for the first ``lines`` lines of ``sample``."""
    with tempfile.TemporaryDirectory(prefix="value-diag-pictures-") as tmp:
        head = sample.read_bytes().splitlines(keepends=True)[:lines]
        (Path(tmp) / "run.jsonl").write_bytes(b"".join(head))
        shown = run_on_terminal([*console_script(), *ARGS], Path(tmp), COLUMNS, ROWS)
    # The file was written just before: its age is drawn as 0s, however long the command
    # took to start on a busy machine (one second more would change the picture).
    shown = re.sub(r"updated \d+s ago", "updated 0s ago", shown)
    # The panel as watch draws it: once's advice under the border is not part of it.
    rows = shown.split("\n")
    end = max(i for i, row in enumerate(rows) if "╰" in row)
    return "\n".join(rows[: end + 1]) + "\n"


def to_svg(ansi: str | Text, title: str = TITLE) -> str:
    """Terminal output as an SVG picture exactly as wide as its widest line."""
    text = Text.from_ansi(ansi.rstrip("\n")) if isinstance(ansi, str) else ansi
    width = max(line.cell_len for line in text.split("\n"))
    console = Console(
        record=True,
        width=width,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(text, no_wrap=True, overflow="ignore")
    return console.export_svg(title=title)


def detail_text(sample: Path = SAMPLE) -> Text:
    """The live view's screen after Enter opened the run's detail, with its colours."""
    import pyte

    columns, rows = DETAIL_SIZE
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    with tempfile.TemporaryDirectory(prefix="value-diag-pictures-") as tmp:
        shutil.copy(sample, Path(tmp) / "run.jsonl")
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            child = subprocess.Popen(
                [*console_script(), "watch", "run.jsonl", "--no-config"],
                cwd=tmp,
                env=terminal_env(),
                stdin=slave,
                stdout=slave,
                stderr=slave,
            )
        finally:
            os.close(slave)
        try:
            _feed_until(master, stream, screen, "VALUE DIAGNOSTICS")
            os.write(master, b"\r")
            _feed_until(master, stream, screen, "Esc back")
            os.write(master, b"q")
            _drain(master, child)
        finally:
            if child.poll() is None:
                child.kill()
            os.close(master)
    return _screen_text(screen)


def _feed_until(master: int, stream: Any, screen: Any, needle: str) -> None:
    """Reads the terminal into pyte until ``needle`` shows and nothing more has come for
    QUIET_S (a redraw complete)."""
    deadline = time.monotonic() + TIMEOUT_S
    last = time.monotonic()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            stream.feed(os.read(master, 65536))
            last = time.monotonic()
        elif time.monotonic() - last >= QUIET_S and any(needle in s for s in screen.display):
            return
    raise RuntimeError(f"the screen never showed {needle!r}")


def _drain(master: int, child: subprocess.Popen[bytes]) -> None:
    """Reads what the child still writes (its last screen) until it ends."""
    deadline = time.monotonic() + TIMEOUT_S
    while child.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break
    child.wait(timeout=TIMEOUT_S)


def _screen_text(screen: Any) -> Text:
    """A pyte screen as Rich text, its colours and bold kept, its trailing blanks cut."""
    from rich.style import Style

    out = Text()
    lines = [screen.buffer[y] for y in range(screen.lines)]
    while lines and not "".join(lines[-1][x].data for x in range(screen.columns)).strip():
        lines.pop()
    for y, line in enumerate(lines):
        if y:
            out.append("\n")
        cells = [line[x] for x in range(screen.columns)]
        x = 0
        while x < len(cells):  # a span per run of one style, not one per cell
            look = (cells[x].fg, cells[x].bg, cells[x].bold)
            end = x
            while end < len(cells) and (cells[end].fg, cells[end].bg, cells[end].bold) == look:
                end += 1
            style = Style(color=_colour(look[0]), bgcolor=_colour(look[1]), bold=look[2])
            out.append("".join(c.data for c in cells[x:end]), style)
            x = end
    out.rstrip()
    plain = re.sub(r"updated \d+s ago", "updated 0s ago", out.plain)
    if plain != out.plain:  # the file was copied just before: its age is drawn as 0s
        styled = out
        out = Text(plain)
        for span in styled.spans:
            out.stylize(span.style, span.start, span.end)
    return out


def _colour(name: str) -> str | None:
    """pyte's name of a colour as Rich's: "default" is none, six hex digits are #rrggbb."""
    if name == "default":
        return None
    if re.fullmatch(r"[0-9a-fA-F]{6}", name):
        return f"#{name}"
    if name.startswith("bright") and not name.startswith("bright_"):
        name = "bright_" + name[len("bright") :]
    return {"brown": "yellow", "bright_brown": "bright_yellow"}.get(name, name)


def write_pictures(out_dir: Path = DOCS) -> list[Path]:
    """Writes every picture the docs use into ``out_dir`` and returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / PICTURE
    target.write_text(to_svg(panel_ansi()), encoding="utf-8")
    detail = out_dir / DETAIL_PICTURE
    detail.write_text(to_svg(detail_text(), DETAIL_TITLE), encoding="utf-8")
    return [target, detail]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DOCS, help="directory (default: docs/)")
    options = parser.parse_args(argv)
    for path in write_pictures(options.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
