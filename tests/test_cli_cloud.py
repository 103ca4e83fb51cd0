"""once and watch on gs:// and az:// URLs, end to end against the GCS emulator and Azurite
that the fixtures start on 127.0.0.1 (tests/servers.py): `once`'s verdicts and a big object
read in ranged parts in this process; what only a process shows (a token on its streams,
`watch`) through the console script.

Each test runs against both stores; the URLs, the uploads and the restarts are the only
things that differ, and a Store says them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import invoke, run_cli
from remote_runs import NOW, same
from servers import AZURITE_ACCOUNT, OUTAGE_S, AzuriteServer, GcsServer
from telemetry import healthy

from value_diag.ingest.parallel import read_path
from value_diag.ingest.remote import read_remote, whole

pytest_plugins = ("servers",)

SECRET: Final = "s1gn4ture-t0ken"


@dataclass
class Store:
    """One bucket (GCS) or container (Azure) on a server the fixtures started."""

    scheme: str
    bucket: str
    server: GcsServer | AzuriteServer

    def url(self, key: str = "") -> str:
        if self.scheme == "abfss":  # as Azure's portal and Databricks write them
            return f"abfss://{self.bucket}@{AZURITE_ACCOUNT}.dfs.core.windows.net/{key}"
        return f"{self.scheme}://{self.bucket}/{key}"

    def put(self, key: str, data: str | bytes) -> None:
        """Uploads the object whole, as a training job's sync does (object stores do not append)."""
        self.server.put(self.bucket, key, data.encode() if isinstance(data, str) else data)

    def uploaded(self, key: str) -> float:
        return self.server.uploaded(self.bucket, key)

    def create(self) -> None:
        if isinstance(self.server, GcsServer):
            self.server.create_bucket(self.bucket)
        else:
            self.server.create_container(self.bucket)


@pytest.fixture(params=["gs", "az", "abfss"])
def store(request: pytest.FixtureRequest) -> Store:
    """A new bucket or container; abfss:// names its container before the account."""
    server = request.getfixturevalue("gcs" if request.param == "gs" else "azure")
    made = Store(request.param, f"runs-{uuid.uuid4().hex[:10]}", server)
    made.create()
    return made


def env() -> dict[str, str]:
    """The environment the fixtures set up: the emulator's address, and nothing more."""
    return {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}


def bellman(frame: dict[str, Any]) -> float | None:
    """The frame's Bellman error (None before a run's first record)."""
    value = frame["value_function"]["bellman_error"]["value"]
    return None if value is None else float(value)


def frames(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_once_reads_a_prefix_as_a_sweep(store: Store) -> None:
    store.put("sweep/seed1/run.jsonl", healthy(3.0))
    store.put("sweep/seed10/run.jsonl", healthy(80.0))
    store.put("sweep/seed2/run.jsonl", healthy(3.0) + healthy(4.0))
    store.put("sweep/.hidden/run.jsonl", healthy(3.0))
    store.put("sweep/notes.txt", "not a run")
    proc = invoke(["once", store.url("sweep/"), "--format", "json"], env=env())
    assert proc.returncode == 0, proc.stderr
    got = [(f["name"], f["source"], f["records"]) for f in frames(proc.stdout)]
    assert got == [
        ("seed1", store.url("sweep/seed1/run.jsonl"), 1),
        ("seed2", store.url("sweep/seed2/run.jsonl"), 2),
        ("seed10", store.url("sweep/seed10/run.jsonl"), 1),
    ]
    text = invoke(["once", store.url("sweep/"), "--compare"], env=env())
    assert text.stdout.decode().splitlines()[2].split()[:2] == ["seed10", "critical"]


def test_once_reads_a_pattern_and_dates_a_run_by_its_upload(store: Store) -> None:
    for seed in (1, 2):
        store.put(f"exp/telemetry_{seed}/events.jsonl", healthy(3.0))
        store.put(f"exp/telemetry_{seed}/other.jsonl", healthy(3.0))
    uploaded = [store.uploaded(f"exp/telemetry_{seed}/events.jsonl") for seed in (1, 2)]
    now = max(uploaded) + 90.0
    url = store.url("exp/*/events.jsonl")
    proc = invoke(["once", url, "--format", "json"], env=env(), clock=lambda: now)
    assert proc.returncode == 0, proc.stderr
    got = frames(proc.stdout)
    assert [f["name"] for f in got] == ["telemetry_1", "telemetry_2"]
    # Dated by the store's record of each upload: as old as that, at the command's clock.
    assert [f["age_s"] for f in got] == pytest.approx([now - t for t in uploaded], abs=1e-3)


def test_once_never_shows_a_token_and_names_a_missing_object(store: Store) -> None:
    store.put("run.jsonl", healthy(3.0))
    shown = run_cli(["once", store.url(f"run.jsonl?sig={SECRET}"), "--format", "json"], env=env())
    missing = run_cli(["once", store.url(f"nope.jsonl?sig={SECRET}")], env=env())
    assert shown.returncode == 0, shown.stderr
    assert frames(shown.stdout)[0]["source"] == store.url("run.jsonl")
    assert missing.returncode == 2
    said = missing.stderr.decode()
    assert said.startswith(f"value-diag: error: cannot read {store.url('nope.jsonl')}"), said
    for out in (shown.stdout, shown.stderr, missing.stdout, missing.stderr):
        assert SECRET.encode() not in out


def test_watch_follows_uploads_new_runs_and_rewrites(
    store: Store, spawn: Callable[..., Any]
) -> None:
    store.put("sweep/seed0/run.jsonl", healthy(3.0))
    w = spawn(store.url("sweep/"), "--format", "json", "--poll", "0.2", env=env())
    w.frame(lambda f: f["records"] == 1)
    # A growing log is uploaded again, longer: only what was appended is new.
    store.put("sweep/seed0/run.jsonl", healthy(3.0) + healthy(4.0))
    grown = w.frame(lambda f: f["records"] == 2)
    assert grown["source"] == store.url("sweep/seed0/run.jsonl")
    # A run that starts later, in the same prefix.
    store.put("sweep/seed1/run.jsonl", healthy(80.0))
    new = w.frame(lambda f: f["name"] == "seed1" and f["records"] == 1)
    assert new["status"] == "critical"
    # Uploaded again with other bytes of the same length: read again from the top.
    assert len(healthy(9.0)) == len(healthy(3.0))
    store.put("sweep/seed0/run.jsonl", healthy(4.0) + healthy(9.0))
    redone = w.frame(lambda f: f["name"] == "seed0" and bellman(f) == 9.0)
    assert redone["records"] == 2, "read from the top, not counted on top of the old bytes"
    store.put("sweep/seed0/run.jsonl", healthy(7.0))
    assert w.frame(lambda f: f["name"] == "seed0" and f["records"] == 1)


def test_watch_shows_a_read_error_and_recovers(store: Store, tmp_path: Path) -> None:
    """In text, the caption says the error while the store is gone; then it goes."""
    from watching import Watch

    store.put("run.jsonl", healthy(3.0))
    w = Watch([store.url("run.jsonl"), "--poll", "0.2"], cwd=tmp_path, env=env())
    try:
        w.lines_until(lambda line: "1 record" in line)
        store.server.stop()
        seen = w.lines_until(lambda line: "read error:" in line and "retrying" in line, OUTAGE_S)
        if isinstance(store.server, AzuriteServer):  # one attempt; the refusal under the wraps
            assert "read error: connection refused; retrying" in seen[-1], seen
        store.server.start()
        store.create()  # the emulator forgot its buckets
        store.put("run.jsonl", healthy(3.0) + healthy(4.0))
        w.lines_until(lambda line: "2 records" in line and "read error" not in line, OUTAGE_S)
    finally:
        w.close()


@pytest.mark.parametrize("parts", [1, 3])
def test_a_big_object_read_in_ranged_parts_equals_the_local_file(
    store: Store,
    big_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    parts: int,
) -> None:
    """The same split-at-line-starts fold as for S3 and local files, through this store's
    ranged reads (several blocks to each part, the lines across their edges included)."""
    store.put("big.jsonl", big_log.read_bytes())
    monkeypatch.setattr(whole, "RANGE_BLOCK", 256 << 10)
    state = read_remote(store.url("big.jsonl"), NOW, history=8, parts=parts)
    expected = read_path(str(big_log), NOW, history=8)
    assert expected.whole.records > 0 and expected.whole.bad_lines > 0
    assert same(state, expected)
