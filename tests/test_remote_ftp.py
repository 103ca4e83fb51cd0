"""ftp reads at an offset are trusted only from a server that honours REST.

A read at an offset over ftp is ``REST offset`` then ``RETR``. A server that refuses REST
(502) or ignores it (answers 350 and sends the file from its first byte all the same)
would have a tail glue the start of the file at the offset, and a whole read fold the
first block again where the last one should be. Against a loopback server of each kind
(servers.HostileFtp), `once` gives the verdict of the local read and `watch` sees the
line appended last.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import invoke, run_cli
from servers import HostileFtp
from telemetry import EXAMPLE, flat, timeless

from value_diag.ingest.remote.settings import CALL_TIMEOUT_S
from value_diag.ingest.remote.whole import RANGE_BLOCK

GATE: Final = ("--format", "json", "--fail-on", "critical")
MODES: Final = ["honours", "refuses", "ignores"]


def _line(bellman: float) -> bytes:
    return flat({**EXAMPLE, "bellman_error": bellman}) + b"\n"


HEALTHY: Final = _line(12.3)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of three ranged blocks and more, healthy but for its last line (NaN)."""
    root = tmp_path_factory.mktemp("ftp-root")
    lines = (3 * RANGE_BLOCK + RANGE_BLOCK // 2) // len(HEALTHY)
    (root / "big.jsonl").write_bytes(HEALTHY * lines + _line(float("nan")))
    return root


@pytest.fixture
def ftp(folder: Path, request: pytest.FixtureRequest) -> Iterator[HostileFtp]:
    server = HostileFtp(folder, request.param)
    try:
        yield server
    finally:
        server.close()


def verdict(proc: subprocess.CompletedProcess[bytes]) -> tuple[int, list[dict[str, Any]]]:
    frames = [
        {k: v for k, v in timeless(json.loads(line)).items() if k not in ("source", "name")}
        for line in proc.stdout.splitlines()
    ]
    return proc.returncode, frames


@pytest.mark.parametrize("ftp", MODES, indirect=True)
def test_once_over_ftp_gives_the_local_verdict_whatever_the_server_does_with_rest(
    ftp: HostileFtp, folder: Path
) -> None:
    """The last line is NaN: critical locally. A server that ignores REST sent the first
    block again for the last one ("ok", exit 0); one that refuses it failed the read."""
    local = verdict(invoke(["once", str(folder / "big.jsonl"), *GATE]))
    assert local[0] == 1 and local[1][0]["status"] == "critical"
    proc = run_cli(["once", ftp.url("big.jsonl"), *GATE], timeout=60)
    assert verdict(proc) == local, proc.stderr
    if ftp.mode != "honours":  # one stream from the first byte, and a few bytes tried
        assert ftp.sent < 2 * (folder / "big.jsonl").stat().st_size, ftp.sent


@pytest.mark.parametrize("ftp", MODES, indirect=True)
def test_watch_over_ftp_sees_the_line_appended_last(
    ftp: HostileFtp, folder: Path, spawn: Callable[..., Any]
) -> None:
    """A log without a critical line, then a NaN line appended: the tail reads the new
    bytes, not the file's first ones at their offset (which never showed the NaN)."""
    log = folder / f"growing-{ftp.mode}.jsonl"
    log.write_bytes(HEALTHY * 200)
    w = spawn(ftp.url(log.name), "--format", "json", "--poll", "0.2")
    first = w.frame(lambda f: f.get("records", 0) > 0)
    assert (first["records"], first["status"]) == (200, "warning"), first  # the example's
    time.sleep(0.05)
    with log.open("ab") as f:
        f.write(_line(float("nan")))
    last = w.frame(lambda f: f["records"] != 200)
    assert (last["records"], last["status"]) == (201, "critical"), last


@pytest.mark.parametrize("ftp", ["trickles"], indirect=True)
def test_a_transfer_that_trickles_is_cut_at_the_calls_bound(ftp: HostileFtp) -> None:
    """Each byte comes well within a read's timeout, so only the call's bound ends the
    one stream a whole file is read in: the gate fails closed (exit 2) and says why."""
    proc = run_cli(["once", ftp.url("big.jsonl"), *GATE], timeout=4 * CALL_TIMEOUT_S)
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().strip() == (
        f"value-diag: error: cannot read {ftp.url('big.jsonl')}: timed out"
    )


@pytest.mark.parametrize("ftp", ["trickles"], indirect=True)
def test_a_ranged_read_that_trickles_is_cut_at_the_calls_bound(
    ftp: HostileFtp, folder: Path, spawn: Callable[..., Any]
) -> None:
    """watch reads a followed file in ranged reads on the server's one connection; at the
    call's bound that connection is closed, which left a trickling transfer running, and
    the watch without a frame, for ever."""
    log = folder / "trickling.jsonl"
    log.write_bytes(HEALTHY * 20)
    w = spawn(ftp.url(log.name), "--format", "json", "--poll", "0.2")
    until = time.monotonic() + 3 * CALL_TIMEOUT_S
    first = w.next_frame(until)
    assert first is not None, w.stderr()
    assert (first["records"], first["note"]) == (0, "read error: timed out; retrying"), first
