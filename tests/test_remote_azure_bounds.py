"""Azure reads are bounded and checked like HTTP's: a Blob endpoint that answers wrongly.

A loopback server speaking enough of Azure's Blob protocol (servers.HostileBlobs) ignores
``x-ms-range``, never ends its body, or sends it compressed. Azure's own client would read
such a body whole into memory before looking at it; value-diag reads it a block at a
time, trusts a ranged answer only when it is a 206 for the range asked, reads the blob as
one stream cut at its size otherwise, and refuses a compressed one. Each read goes through
the console script and is judged as the local read of the same file is, or refused in
words, in memory that does not grow with what the server sends.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import DEADLINE, clean_env, invoke
from footprint import measured, peak_of
from needs import need
from servers import HostileBlobs
from telemetry import EXAMPLE, flat, sparse_log, timeless

MiB: Final = 1 << 20
BIG: Final = 40 * MiB
"""The size of the log whose last line alone is critical."""
HEADROOM: Final = 64 * MiB
"""How much more than reading a tiny blob a big or hostile read may take at its peak:
16 ranged blocks, whatever the size of the blob or of what is sent."""
GATE: Final = ("--format", "json", "--fail-on", "critical")
URL: Final = "az://runs/big.jsonl"


def _line(bellman: float) -> bytes:
    return flat({**EXAMPLE, "bellman_error": bellman}) + b"\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 MiB log with a healthy line among each 64 whose last line is NaN, and a tiny
    healthy one."""
    need("adlfs")
    root = tmp_path_factory.mktemp("blobs")
    healthy = _line(12.3)
    (root / "big.jsonl").write_bytes(sparse_log(BIG, healthy, _line(float("nan"))))
    (root / "tiny.jsonl").write_bytes(healthy * 3)
    return root


def serve(folder: Path, mode: str) -> HostileBlobs:
    return HostileBlobs(folder, mode, filler=_line(99.0))


@pytest.fixture
def hostile(folder: Path, request: pytest.FixtureRequest) -> Iterator[HostileBlobs]:
    server = serve(folder, request.param)
    try:
        yield server
    finally:
        server.close()


def account(server: HostileBlobs) -> dict[str, str]:
    """The environment of a user whose Azure account is ``server``."""
    env = clean_env(AZURE_STORAGE_CONNECTION_STRING=server.connection_string)
    for name in ("ACCOUNT_NAME", "ACCOUNT_KEY", "SAS_TOKEN", "CLIENT_ID", "ANON"):
        env.pop(f"AZURE_STORAGE_{name}", None)
    return env


@pytest.fixture(scope="module")
def baseline(folder: Path) -> int:
    """The peak memory of reading a three-line blob: imports, Azure's client, a session."""
    server = serve(folder, "honest")
    try:
        proc, peak = measured("once", "az://runs/tiny.jsonl", env=account(server))
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    return peak


def verdict(proc: subprocess.CompletedProcess[bytes]) -> tuple[int, list[dict[str, Any]]]:
    frames = [
        {k: v for k, v in timeless(json.loads(line)).items() if k not in ("source", "name")}
        for line in proc.stdout.splitlines()
    ]
    return proc.returncode, frames


@pytest.fixture(scope="module")
def local(folder: Path) -> tuple[int, list[dict[str, Any]]]:
    """What `once` says of the big log read where it is, in this process: exit 1, critical."""
    found = verdict(invoke(["once", str(folder / "big.jsonl"), *GATE]))
    assert found[0] == 1 and found[1][0]["status"] == "critical"
    return found


@pytest.mark.parametrize("hostile", ["honest", "whole", "endless", "endless206"], indirect=True)
def test_a_blob_endpoint_that_ignores_ranges_or_never_ends_gives_the_local_verdict(
    hostile: HostileBlobs,
    baseline: int,
    local: tuple[int, list[dict[str, Any]]],
) -> None:
    """The last line is NaN: critical locally, and from the hostile endpoint too. Azure's
    client refused a whole blob sent for a range (no Content-Range), and read an endless
    body into memory until the call's time bound."""
    proc, peak = measured("once", URL, *GATE, env=account(hostile))
    assert verdict(proc) == local, proc.stderr
    assert peak < baseline + HEADROOM, (peak, baseline)
    if hostile.mode.startswith("endless"):  # the reader left at the size: little more sent
        assert hostile.sent < BIG + HEADROOM, hostile.sent


@pytest.mark.parametrize("hostile", ["gzip"], indirect=True)
def test_a_compressed_blob_body_is_refused_not_inflated(
    hostile: HostileBlobs, baseline: int
) -> None:
    proc, peak = measured("once", URL, *GATE, env=account(hostile))
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().strip() == (
        f"value-diag: error: cannot read {URL}: the server sends it compressed "
        "(Content-Encoding: gzip); value-diag reads only plain bytes"
    )
    assert peak < baseline + HEADROOM, (peak, baseline)


@pytest.mark.parametrize("hostile", ["whole", "endless"], indirect=True)
def test_watch_reads_a_blob_from_an_endpoint_that_ignores_ranges_in_bounded_memory(
    hostile: HostileBlobs,
    folder: Path,
    spawn: Callable[..., Any],
    baseline: int,
    local: tuple[int, list[dict[str, Any]]],
) -> None:
    """The follower reads the blob from the top as one stream, a block at a time, and
    leaves at its size: its first frame is the local read's."""
    w = spawn(URL, "--format", "json", "--poll", "0.5", env=account(hostile))
    first = w.next_frame(time.monotonic() + 3 * DEADLINE)
    assert first is not None, w.stderr()
    once_like = {k: v for k, v in timeless(first).items() if k not in ("source", "name")}
    assert once_like == local[1][0]
    assert peak_of(w.popen.pid) < baseline + HEADROOM, (peak_of(w.popen.pid), baseline)
