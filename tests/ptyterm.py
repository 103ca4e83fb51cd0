"""A child process on a real pseudo-terminal, its output read back through pyte."""

from __future__ import annotations

import copy
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte
from conftest import DEADLINE, clean_env, script

ALT_SCREEN_MODES = frozenset({47, 1047, 1049})


QUIET_S = 0.15
"""How long output must pause for a screen to count as drawn whole."""


class AltScreen(pyte.Screen):
    """pyte.Screen plus xterm's alternate screen, which pyte ignores.

    Entering saves the normal screen and clears; leaving restores it, so what is left
    at the end is what the user sees after the program exits.
    """

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.in_alt = False
        self.alt_entries = 0
        self._saved: tuple[Any, int, int] | None = None

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and ALT_SCREEN_MODES & set(modes):
            if not self.in_alt:
                self._saved = (copy.deepcopy(self.buffer), self.cursor.x, self.cursor.y)
                self.in_alt = True
                self.alt_entries += 1
                self.erase_in_display(2)
            modes = tuple(m for m in modes if m not in ALT_SCREEN_MODES)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and ALT_SCREEN_MODES & set(modes):
            if self.in_alt and self._saved is not None:
                buffer, x, y = self._saved
                self.buffer.clear()
                self.buffer.update(buffer)
                self.cursor.x, self.cursor.y = x, y
                self.dirty.update(range(self.lines))
                self.in_alt = False
            modes = tuple(m for m in modes if m not in ALT_SCREEN_MODES)
        super().reset_mode(*modes, **kwargs)


class Pty:
    """`value-diag ARGS` on a pseudo-terminal of a given size, its output fed to pyte."""

    def __init__(self, args: list[str], cwd: Path, *, cols: int, rows: int, **env: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.watching = args[0] == "watch"
        self.screen = AltScreen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.changed = threading.Condition()
        try:
            self.popen = subprocess.Popen(
                [*script(), *args],
                cwd=cwd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=clean_env(**{"TERM": "xterm-256color", **env}),
                start_new_session=True,
            )
        finally:
            os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child and every copy of the slave end are gone
                chunk = b""
            with self.changed:
                if chunk:
                    self.raw += chunk
                    self.stream.feed(chunk)
                self.changed.notify_all()
            if not chunk:
                return

    def display(self) -> list[str]:
        """The screen's lines now."""
        with self.changed:
            return list(self.screen.display)

    def wait_for(self, pred: Callable[[list[str]], bool], what: str) -> list[str]:
        """Waits until the screen satisfies ``pred``; returns the screen's lines."""
        deadline = time.monotonic() + DEADLINE
        with self.changed:
            while not pred(shown := list(self.screen.display)):
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    raise AssertionError(f"screen never showed {what}:\n" + "\n".join(shown))
                self.changed.wait(left)
            return shown

    def settled(self, pred: Callable[[list[str]], bool], what: str) -> list[str]:
        """Waits until the screen satisfies ``pred`` with nothing more arriving for
        QUIET_S (a redraw can reach pyte in pieces: its first lines new, the rest old)."""
        deadline = time.monotonic() + DEADLINE
        while True:
            self.wait_for(pred, what)
            with self.changed:
                seen = len(self.raw)
            time.sleep(QUIET_S)
            with self.changed:
                if len(self.raw) == seen and pred(shown := list(self.screen.display)):
                    return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never settled on {what}")

    def wait_for_raw(self, needle: bytes) -> None:
        deadline = time.monotonic() + DEADLINE
        with self.changed:
            while needle not in self.raw:
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    raise AssertionError(f"output never held {needle!r}: {bytes(self.raw)!r}")
                self.changed.wait(left)

    def quits(self, keys: bytes = b"q") -> int:
        """Types ``keys`` and waits for the program to end by itself (no signal sent: one
        that came while it was quitting would race with its exit); its exit code."""
        os.write(self.master, keys)
        code = self.popen.wait(timeout=DEADLINE)
        self.reader.join(timeout=DEADLINE)
        return code

    def finish(self) -> int:
        """Waits for the program to end (SIGINT first if it is a watch); its exit code."""
        if self.popen.poll() is None and self.watching:
            os.kill(self.popen.pid, signal.SIGINT)
        code = self.popen.wait(timeout=DEADLINE)
        self.reader.join(timeout=DEADLINE)
        return code

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        self.reader.join(timeout=5)
        os.close(self.master)
