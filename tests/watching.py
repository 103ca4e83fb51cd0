"""A running `value-diag watch` as a subprocess, its output read on threads."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from conftest import DEADLINE, clean_env, script

Json = dict[str, Any]


def append(path: Path, text: str | bytes) -> None:
    """Appends in a single write(2) (a loop only if the kernel writes less)."""
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def shown_bellman(lines: list[str]) -> list[str]:
    """Every Bellman number on the screen, as drawn, without its alarm glyph (! or ‼), and
    not the title's "Bellman" among the culprits."""
    return re.findall(r"Bellman +([^\s!‼─]+)", "\n".join(lines))


class Watch:
    """A running `value-diag watch ...` with its stdout read line by line on a thread."""

    def __init__(
        self,
        args: list[str],
        *,
        cwd: Path,
        stdin: bool = False,
        env: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.popen = subprocess.Popen(
            [*prefix, *script(), "watch", *args],  # a prefix such as setpriv ... goes first
            cwd=cwd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if env is not None else clean_env(),
        )
        self.raw = bytearray()
        """Everything read from stdout so far."""
        self.frames: list[Json] = []
        """Every JSON frame consumed so far, in order."""
        self.seen: list[str] = []
        """Every stdout line consumed so far (without its newline)."""
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._eof = False
        self._stderr = bytearray()
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self.popen.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.popen.stderr,), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_stdout(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                self.raw += raw
                self._lines.put(raw)
        self._lines.put(None)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                self._stderr += raw

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def _context(self) -> str:
        return (
            f"\nlast stdout lines: {self.seen[-5:]!r}\nreturn code: {self.popen.poll()}"
            f"\nstderr: {self.stderr[-2000:]!r}"
        )

    def header(self, pred: Callable[[str], bool]) -> str:
        """The first text-frame header (from here on) satisfying ``pred``; fails if watch ends."""
        while True:
            text = self.next_line()
            assert text is not None, "watch ended" + self._context()
            if text.startswith("VALUE DIAGNOSTICS | ") and pred(text):
                return text

    def next_line(self, deadline: float | None = None) -> str | None:
        """The next stdout line, or None at end of output."""
        if self._eof:
            return None
        deadline = deadline if deadline is not None else time.monotonic() + DEADLINE
        try:
            raw = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output within {DEADLINE}s" + self._context()) from None
        if raw is None:
            self._eof = True
            return None
        text = raw.decode("utf-8").removesuffix("\n")
        self.seen.append(text)
        return text

    def lines(self, n: int) -> list[str]:
        """The next ``n`` stdout lines."""
        deadline = time.monotonic() + DEADLINE
        out: list[str] = []
        for _ in range(n):
            text = self.next_line(deadline)
            assert text is not None, f"output ended after {out!r}" + self._context()
            out.append(text)
        return out

    def lines_until(self, done: Callable[[str], bool], within: float = DEADLINE) -> list[str]:
        """The stdout lines up to the first that is ``done``, which must come within
        ``within`` seconds; the test fails if it does not, or if watch ends first."""
        deadline = time.monotonic() + within
        seen: list[str] = []
        while True:
            line = self.next_line(deadline)
            assert line is not None, "watch ended:\n" + "\n".join(seen) + self._context()
            seen.append(line)
            if done(line):
                return seen

    def next_frame(self, deadline: float | None = None) -> Json | None:
        """The next JSON frame, or None at end of output."""
        text = self.next_line(deadline)
        if text is None:
            return None
        frame = json.loads(text)
        assert isinstance(frame, dict), text
        self.frames.append(frame)
        return frame

    def until(self, pred: Callable[[Json], bool] = lambda f: True) -> tuple[Json, list[Json]]:
        """Waits for the first frame satisfying ``pred``; returns it and the frames before it."""
        deadline = time.monotonic() + DEADLINE
        skipped: list[Json] = []
        while True:
            frame = self.next_frame(deadline)
            assert frame is not None, (
                f"output ended without the awaited frame; frames skipped: {skipped[-3:]!r}"
                + self._context()
            )
            if pred(frame):
                return frame, skipped
            skipped.append(frame)

    def frame(self, pred: Callable[[Json], bool] = lambda f: True) -> Json:
        """The first frame (from here on) satisfying ``pred``."""
        return self.until(pred)[0]

    def rest_lines(self) -> list[str]:
        """All remaining stdout lines, up to the end of output (the process must end)."""
        deadline = time.monotonic() + DEADLINE
        out = []
        while (text := self.next_line(deadline)) is not None:
            out.append(text)
        return out

    def rest(self) -> list[Json]:
        """All remaining frames, up to the end of output (the process must end)."""
        deadline = time.monotonic() + DEADLINE
        out = []
        while (frame := self.next_frame(deadline)) is not None:
            out.append(frame)
        return out

    def wait(self) -> int:
        """The exit code (the process must end)."""
        try:
            return self.popen.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            raise AssertionError("the process did not exit" + self._context()) from None

    def send(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def close(self) -> None:
        """Kills the process if it still runs, and lets go of everything."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for t in self._threads:
            t.join(timeout=5)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


Spawn = Callable[..., Watch]
