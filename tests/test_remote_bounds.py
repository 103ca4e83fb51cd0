"""Every remote read is bounded and checked: servers on 127.0.0.1 that answer reads wrongly.

Python's own ``http.server`` ignores ``Range`` (every answer is the whole file from its
first byte); others answer short 206s, compress a body nobody asked to be compressed (a
gzip bomb), or never end the body. Each is read through the console script and judged as
the local read of the same file is, or refused in words; the memory the reading process
took at its peak stays within a bound that does not grow with what the server sends.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import DEADLINE, invoke, run_cli
from footprint import measured, peak_of
from servers import STARTUP_S, CountingHandler, PythonHttpServer, asked_range
from telemetry import EXAMPLE, flat, sparse_log, timeless

from value_diag.ingest.remote.whole import PARTS_AT_ONCE

pytest_plugins = ("servers",)

MiB: Final = 1 << 20
BIG: Final = 40 * MiB
"""The size of the log whose last line alone is critical."""
HEADROOM: Final = 64 * MiB
"""How much more than reading a tiny file a big or hostile read may take at its peak:
16 ranged blocks (RANGE_BLOCK), whatever the size of the file or of what is sent."""
BOMB: Final = 512 * MiB
"""What the gzip body decompresses to: ten times more than HEADROOM."""
SHORT: Final = 4096
"""Bytes a short-206 server sends per answer, whatever range was asked."""


def _line(bellman: float) -> bytes:
    return flat({**EXAMPLE, "bellman_error": bellman}) + b"\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 MiB log with a healthy line among each 64 whose last line is NaN, and a tiny
    healthy one."""
    root = tmp_path_factory.mktemp("served")
    healthy = _line(12.3)
    (root / "big.jsonl").write_bytes(sparse_log(BIG, healthy, _line(float("nan"))))
    (root / "tiny.jsonl").write_bytes(healthy * 3)
    return root


@pytest.fixture(scope="module")
def plain_server(folder: Path) -> Iterator[PythonHttpServer]:
    server = PythonHttpServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Hostile(ThreadingHTTPServer):
    """A server that answers each GET the way ``mode`` says; HEAD tells the true size.

    Modes: ``short`` (a 206 of SHORT bytes at most, with a true Content-Range), ``gzip``
    (200 with Content-Encoding: gzip, a body decompressing to BOMB bytes), ``endless``
    (200, the file and then lines for ever), ``endless206`` (206 with a true
    Content-Range, the range and then lines for ever). ``requests`` counts GETs and
    ``sent`` the bytes of their bodies that the socket took.
    """

    daemon_threads = True

    def __init__(self, root: Path, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.mode = mode
        self.requests = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(STARTUP_S)


class _Handler(CountingHandler):
    server: Hostile

    def do_HEAD(self) -> None:
        size = (self.server.root / self.path.lstrip("/")).stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", str(size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
        data = (self.server.root / self.path.lstrip("/")).read_bytes()
        start, end = asked_range(self.headers.get("Range"), len(data))
        mode = self.server.mode
        try:
            if mode == "short":
                part = data[start : min(end, start + SHORT)]
                self._head(HTTPStatus.PARTIAL_CONTENT, start, start + len(part), len(data))
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                self._send(part)
            elif mode == "gzip":
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _bomb():
                    self._send(chunk)
            else:
                if mode == "endless206":
                    self._head(HTTPStatus.PARTIAL_CONTENT, start, end, len(data))
                    first = data[start:end]
                else:
                    self.send_response(HTTPStatus.OK)
                    first = data
                self.send_header("Connection", "close")  # no length: the body ends at close
                self.end_headers()
                self._send(first)
                more = _line(99.0) * 4096
                while True:
                    self._send(more)
        except OSError:  # the reader hung up: what it wanted is read
            self.close_connection = True

    def _head(self, status: HTTPStatus, start: int, end: int, size: int) -> None:
        self.send_response(status)
        self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")


def _bomb() -> Iterator[bytes]:
    """A gzip stream of BOMB zero bytes, made as it is sent (about 0.1% of it)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    for _ in range(BOMB // MiB):
        out = packer.compress(zeros)
        if out:
            yield out
    yield packer.flush()


@pytest.fixture
def hostile(folder: Path, request: pytest.FixtureRequest) -> Iterator[Hostile]:
    server = Hostile(folder, request.param)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def baseline(plain_server: PythonHttpServer) -> int:
    """The peak memory of reading a three-line file over HTTP: imports, a session."""
    proc, peak = measured("once", f"{plain_server.endpoint}/tiny.jsonl")
    assert proc.returncode == 0, proc.stderr
    return peak


def frames(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in timeless(json.loads(line)).items() if k not in ("source", "name")}
        for line in proc.stdout.splitlines()
    ]


def verdict(proc: subprocess.CompletedProcess[bytes]) -> tuple[int, list[dict[str, Any]]]:
    return proc.returncode, frames(proc)


GATE: Final = ("--format", "json", "--fail-on", "critical")


@pytest.fixture(scope="module")
def local(folder: Path) -> tuple[int, list[dict[str, Any]]]:
    """What `once` says of the big log read where it is, in this process: exit 1, critical."""
    found = verdict(invoke(["once", str(folder / "big.jsonl"), *GATE]))
    assert found[0] == 1 and found[1][0]["status"] == "critical"
    return found


def test_a_server_that_ignores_ranges_gives_the_local_verdict_in_bounded_memory(
    plain_server: PythonHttpServer,
    baseline: int,
    local: tuple[int, list[dict[str, Any]]],
) -> None:
    """The last line is NaN: critical locally, and over HTTP too (it was "ok", exit 0,
    when each part folded the whole body as if it were its own bytes)."""
    proc, peak = measured("once", f"{plain_server.endpoint}/big.jsonl", *GATE)
    assert verdict(proc) == local, proc.stderr
    assert peak < baseline + HEADROOM, (peak, baseline)


@pytest.mark.parametrize("hostile", ["short"], indirect=True)
def test_short_206_answers_cost_two_requests_not_one_per_fragment(hostile: Hostile) -> None:
    """A server that sends a part of what it is asked for, and a part again when asked
    for the whole file, cannot be read: said as such, exit 2 (the gate fails closed)."""
    proc = run_cli(["once", f"{hostile.url}/big.jsonl", *GATE])
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().strip() == (
        f"value-diag: error: cannot read {hostile.url}/big.jsonl: "
        "the server sends parts of the file only"
    )
    # A range for each part read at once, then the whole file; it was BIG / SHORT = 10240.
    assert hostile.requests <= PARTS_AT_ONCE + 1, hostile.requests


@pytest.mark.parametrize("hostile", ["gzip"], indirect=True)
def test_a_compressed_body_is_refused_not_inflated(hostile: Hostile, baseline: int) -> None:
    proc, peak = measured("once", f"{hostile.url}/big.jsonl")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        f"value-diag: error: cannot read {hostile.url}/big.jsonl: the server sends it "
        "compressed (Content-Encoding: gzip); value-diag reads only plain bytes"
    )
    assert peak < baseline + HEADROOM, (peak, baseline)


@pytest.mark.parametrize("hostile", ["endless", "endless206"], indirect=True)
def test_an_endless_body_is_read_up_to_the_size_and_no_further(
    hostile: Hostile,
    folder: Path,
    baseline: int,
    local: tuple[int, list[dict[str, Any]]],
) -> None:
    """The lines after the file's size (healthy ones) are never read: the verdict is the
    file's, and the server could send little more than the file before the reader left."""
    proc, peak = measured("once", f"{hostile.url}/big.jsonl", *GATE)
    assert verdict(proc) == local, proc.stderr
    assert peak < baseline + HEADROOM, (peak, baseline)
    assert hostile.sent < BIG + HEADROOM, hostile.sent
    assert os.path.getsize(folder / "big.jsonl") <= hostile.sent


def test_watch_reads_a_file_from_a_server_that_ignores_ranges(
    plain_server: PythonHttpServer,
    spawn: Callable[..., Any],
    baseline: int,
    local: tuple[int, list[dict[str, Any]]],
) -> None:
    """The follower reads the file from the top as one stream, a block at a time: its
    first frame counts every record and ends on the NaN, as the local read does, and the
    process holds no more than a tiny file's read and HEADROOM."""
    w = spawn(f"{plain_server.endpoint}/big.jsonl", "--format", "json", "--poll", "0.5")
    first = w.next_frame(time.monotonic() + 3 * DEADLINE)
    assert first is not None, w.stderr()
    assert once_like(first) == local[1][0]
    assert peak_of(w.popen.pid) < baseline + HEADROOM, (peak_of(w.popen.pid), baseline)


def once_like(frame: dict[str, Any]) -> dict[str, Any]:
    """A watch frame as `once` would print it (no source or name, no age)."""
    return {k: v for k, v in timeless(frame).items() if k not in ("source", "name")}
