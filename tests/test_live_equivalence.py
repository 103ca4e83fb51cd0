"""Every frame is true to the file: watch, following a file written in any pieces, ends
where `once` on the final file is.

A writer thread appends a seeded random mix of lines (the three shapes, bad lines of every
kind, foreign and blank lines, NaN tokens, CRLF, a BOM) in chunks of random size that cut
lines anywhere; now and then it truncates the file and starts a new run in it, or replaces
the file with a new one. After it stops, watch's last frame must equal once's frame of the
final file, whole: values, levels, records, bad lines, last error, compile status.
"""

from __future__ import annotations

import json
import os
import queue
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, clean_env, script
from telemetry import timeless
from watching import Watch
from watching import append as append_bytes

from value_diag.schema import VALUE_FIELDS

Json = dict[str, Any]

QUIET = 0.6
"""Seconds without a new frame after which watch is taken to have settled."""


class Lines:
    """A seeded stream of telemetry lines of every kind.

    Every line carries a random token near its start and no line has 64 constant bytes in
    a row, so a rewritten file never matches the old one just before the read offset (the
    bytes watch compares to tell an append from a rewrite).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.step = 0

    def number(self) -> float | int | None:
        r = self.rng.random()
        if r < 0.06:
            return self.rng.choice([float("nan"), float("inf"), float("-inf")])
        if r < 0.1:
            return None
        if r < 0.2:
            return self.rng.randrange(-1000, 1000)
        return round(self.rng.uniform(-100, 100), self.rng.randrange(0, 6))

    def values(self) -> dict[str, Any]:
        names = self.rng.sample(VALUE_FIELDS, self.rng.randrange(1, len(VALUE_FIELDS) + 1))
        return {name: self.number() for name in names}

    def compile_(self) -> dict[str, Any]:
        return {
            "compile_enabled": self.rng.random() < 0.7,
            "compile_backend": self.rng.choice(["inductor", "aot_eager", None]),
            "compile_mode": f"mode-{self.rng.randrange(10**6)}",
        }

    def next(self) -> bytes:
        self.step += 1
        rng = self.rng
        line: str | bytes
        head: dict[str, Any] = {"id": f"{rng.getrandbits(48):012x}", "step": self.step}
        kind = rng.choices(
            ["flat", "ppo", "snapshot", "started", "compile", "bad", "foreign", "blank"],
            weights=[20, 20, 8, 3, 4, 8, 12, 5],
        )[0]
        if kind == "flat":
            line = json.dumps({**head, **self.values()})
        elif kind == "ppo":
            line = json.dumps({**head, "event_type": "PPO_UPDATE_COMPLETED", "data": self.values()})
        elif kind == "snapshot":
            tamiyo: dict[str, Any] = {}
            if rng.random() < 0.7:
                tamiyo["value_function"] = self.values()
            if rng.random() < 0.5:
                tamiyo["infrastructure"] = self.compile_()
            line = json.dumps({**head, "tamiyo": tamiyo})
        elif kind == "started":
            data = self.compile_() if rng.random() < 0.6 else {"n_envs": self.step}
            line = json.dumps({**head, "event_type": "TRAINING_STARTED", "data": data})
        elif kind == "compile":
            line = json.dumps({**head, **self.compile_()})
        elif kind == "bad":
            line = self.bad(json.dumps(head)[:-1])
        elif kind == "foreign":
            line = rng.choice(
                [
                    json.dumps({**head, "event_type": "EPOCH_COMPLETED", "data": self.values()}),
                    json.dumps({**head, "message": "tamiyo restarted the value head"}),
                    json.dumps({**head, "loss": self.number()}),
                    f"print() output {head['id']} step {self.step}",
                ]
            )
        else:
            line = rng.choice(["", " ", "\t"])
        out = line.encode() if isinstance(line, str) else line
        if rng.random() < 0.01:
            out = b"\xef\xbb\xbf" + out
        if rng.random() < 0.15:
            out += b"\r"
        return out + b"\n"

    def bad(self, head: str) -> bytes:
        """A line of ours that cannot be used, for one of the reasons there are."""
        line = self.rng.choice(
            [
                head + ', "bellman_error": oops}',
                head + ', "bellman_error": 1.5',  # cut short
                head + ', "td_error_mean": "high"}',
                head + ', "compile_enabled": "yes"}',
                head + ', "event_type": "PPO_UPDATE_COMPLETED", "data": [1, 2]}',
                head + ', "tamiyo": {"value_function": 3}}',
                head + ', "compile_backend": 7}',
                f'["bellman_error", "{head[8:20]}"]',
                head + ', "v_return_correlation": 0.5, "note": "\udcff"}',  # not UTF-8
            ]
        )
        return line.encode("utf-8", "surrogateescape")


@dataclass
class Writer:
    """Writes a run.jsonl the way a training run and the tools around it would.

    ``finale`` is done last, after a pause for watch to catch up, so that what the final
    frame shows depends on it: "rewrite" truncates the file and at once writes more than it
    held (only the bytes before watch's read offset can tell), "replace" swaps the file.
    """

    path: Path
    seed: int
    ops: int = 150
    finale: str | None = None
    done: dict[str, int] = field(default_factory=lambda: {"append": 0, "truncate": 0, "replace": 0})

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.lines = Lines(self.rng)
        self.pending = bytearray()
        """Lines of the current run not written yet."""

    def run(self) -> None:
        rng = self.rng
        for i in range(self.ops):
            while len(self.pending) < 4096:
                self.pending += self.lines.next()
            r = rng.random()
            if r < 0.03 and i > 10:
                self.truncate(big=rng.random() < 0.5)
            elif r < 0.05 and i > 10:
                self.replace()
            else:
                size = min(len(self.pending), int(rng.expovariate(1 / 600)) + 1)
                self.append(size)
            if rng.random() < 0.7:
                time.sleep(rng.choice([0.0, 0.001, 0.003, 0.01, 0.02]))
        if self.finale is not None:
            time.sleep(QUIET)
            if self.finale == "rewrite":
                self.truncate(big=True)
            else:
                self.replace()
            for _ in range(40):
                self.pending += self.lines.next()
            while len(self.pending) > 1000:
                self.append(rng.randrange(1, 1000))
        self.append(len(self.pending))  # the last line is complete: once and watch agree

    def append(self, size: int) -> None:
        append_bytes(self.path, bytes(self.pending[:size]))
        del self.pending[:size]
        self.done["append"] += 1

    def new_run(self, at_least: int) -> None:
        """Forgets the rest of the old run; the new one starts with a few lines."""
        self.pending = bytearray(
            b"".join(self.lines.next() for _ in range(self.rng.randrange(1, 8)))
        )
        while len(self.pending) <= at_least:
            self.pending += self.lines.next()

    def truncate(self, big: bool) -> None:
        """A restarted run reopens the file with mode "w" and writes its first lines."""
        old_size = self.path.stat().st_size
        self.new_run(old_size if big else 0)
        cut = self.rng.randrange(old_size if big else 0, len(self.pending) + 1)
        with self.path.open("wb") as f:
            f.write(self.pending[:cut])
        del self.pending[:cut]
        self.done["truncate"] += 1

    def replace(self) -> None:
        """logrotate, or a new run writing a new file at the same path."""
        self.new_run(0)
        cut = self.rng.randrange(len(self.pending) + 1)
        tmp = self.path.with_name("run.jsonl.new")
        tmp.write_bytes(self.pending[:cut])
        os.replace(tmp, self.path)
        del self.pending[:cut]
        self.done["replace"] += 1


class Following(Watch):
    """A Watch whose frames can be waited for with a quiet period."""

    def frame_within(self, seconds: float) -> Json | None:
        """The next frame, or None if none arrives within ``seconds``."""
        try:
            raw = self._lines.get(timeout=seconds)
        except queue.Empty:
            return None
        assert raw is not None, "watch ended" + self._context()
        frame = json.loads(raw)
        assert isinstance(frame, dict), raw
        frame = timeless(frame)  # watch dates records as they come, once by the file's mtime
        self.frames.append(frame)
        return frame

    def settle(self, expected: Json) -> Json:
        """Waits until the last frame equals ``expected`` and nothing follows it for QUIET s."""
        deadline = time.monotonic() + DEADLINE
        last = self.frames[-1] if self.frames else None
        while True:
            frame = self.frame_within(QUIET)
            if frame is not None:
                last = frame
                continue
            if last == expected or time.monotonic() > deadline:
                assert last is not None, "no frame at all" + self._context()
                return last


def once_json(path: Path) -> Json:
    proc = subprocess.run(
        [*script(), "once", str(path), "--format", "json"],
        capture_output=True,
        env=clean_env(),
        timeout=30,
        check=False,
    )
    assert proc.returncode in (0, 3), proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert isinstance(frame, dict)
    return timeless(frame)


@pytest.fixture
def following(tmp_path: Path) -> Iterator[list[Following]]:
    started: list[Following] = []
    try:
        yield started
    finally:
        for w in started:
            w.close()


@pytest.mark.parametrize(
    ("seed", "finale", "args"),
    [(11, "rewrite", []), (37, "replace", ["--poll", "0.02"])],
    ids=["inotify-rewrite", "poll-replace"],
)
def test_watch_ends_where_once_is(
    tmp_path: Path, following: list[Following], seed: int, finale: str, args: list[str]
) -> None:
    path = tmp_path / "run.jsonl"
    writer = Writer(path, seed, finale=finale)
    first = Lines(random.Random(seed + 1000))
    path.write_bytes(b"".join(first.next() for _ in range(30)))
    w = Following([str(path), "--format", "json", *args], cwd=tmp_path)
    following.append(w)
    w.frame_within(DEADLINE)

    thread = threading.Thread(target=writer.run)
    thread.start()
    thread.join()

    expected = once_json(path)
    last = w.settle(expected)
    assert last == expected, (
        f"watch's last frame differs from once on the final file (writer: {writer.done})\n"
        f"watch: {json.dumps(last)}\nonce:  {json.dumps(expected)}"
    )
    assert w.popen.poll() is None, "watch exited" + w._context()
    # The run did what the test is about: rewrites and replacements along the way.
    assert writer.done["truncate"] >= 1 and writer.done["replace"] >= 1, writer.done
    assert expected["records"] > 0 and expected["bad_lines"] > 0, expected
