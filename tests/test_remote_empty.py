"""Empty is an error, remote too: a prefix, bucket or pattern that names no run file is one
line and exit 2 from `once` in every format, as a local empty directory is; `watch` waits for
it and says so. And `watch` on a remote object writes no frame before its first read is
through: its first frame says what the object holds.

Against the real servers the fixtures start on 127.0.0.1 (moto's S3 server, an sftp server,
the GCS emulator: tests/servers.py): `once`'s messages in this process, and once through the
console script for S3 and GCS each; `watch` through the console script.
"""

from __future__ import annotations

import signal
import uuid
from typing import Any, Final

import pytest
from conftest import invoke, run_cli
from remote_runs import env, put, sftp_put
from servers import GcsServer, S3Server, SftpServer
from telemetry import healthy
from watching import Spawn

pytest_plugins = ("servers",)

FORMATS: Final = [
    [],
    ["--compare"],
    ["--format", "json"],
    ["--compare", "--format", "json"],
    ["--format", "markdown"],
    ["--format", "github"],
]
SECRET: Final = "s3cr3t-t0ken"
RUN_FILES: Final = "*.jsonl, progress.csv, events.out.tfevents.*, result.json"
"""What a remote directory stands for without --pattern, as a local one (value-diag's and
verl's JSON lines, and what trainers already log)."""
RECORDS: Final = 51


def refused(url: str, *args: str) -> str:
    """Runs `once URL ARGS --fail-on critical` in every format; checks that each ends with
    exit 2, nothing on stdout and the same one line on stderr, and returns that line.

    In this process (`invoke`): the console script's own stderr, whatever a library might
    write there on its way out, is checked by test_the_line_shows_no_credentials and
    test_a_misspelt_gcs_bucket_is_named."""
    said = set()
    for fmt in FORMATS:
        proc = invoke(["once", url, *args, *fmt, "--fail-on", "critical"], env=env())
        err = proc.stderr.decode()
        assert (proc.returncode, proc.stdout) == (2, b""), (fmt, proc.stdout, err)
        assert err.count("\n") == 1 and err.endswith("\n"), (fmt, err)
        said.add(err.removesuffix("\n"))
    assert len(said) == 1, said
    return said.pop()


def test_a_prefix_with_no_run_file(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    put(client, name, "sweep/notes.txt", b"not a run")
    assert refused(f"s3://{name}/swep/") == (
        f"value-diag: error: no run file in s3://{name}/swep/"
        f" (looked for {RUN_FILES}; --pattern to choose)"
    )
    assert refused(f"s3://{name}/sweep/", "--pattern", "events.jsonl") == (
        f"value-diag: error: no run file in s3://{name}/sweep/"
        " (looked for events.jsonl; --pattern to choose)"
    )
    assert refused(f"s3://{name}/swep/", "--latest") == (
        f"value-diag: error: no run file in s3://{name}/swep/"
        f" (looked for {RUN_FILES}; --pattern to choose)"
    )


def test_a_misspelt_bucket_is_named(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    typo = name + "x"
    assert refused(f"s3://{typo}/sweep/") == (
        f"value-diag: error: no run file in s3://{typo}/sweep/"
        f" (s3://{typo}/ not found; looked for {RUN_FILES})"
    )
    assert refused(f"s3://{typo}/sweep/*/run.jsonl") == (
        f"value-diag: error: no file matches s3://{typo}/sweep/*/run.jsonl (s3://{typo}/ not found)"
    )


def test_an_unmatched_pattern(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    assert refused(f"s3://{name}/sweep/*/events.jsonl") == (
        f"value-diag: error: no file matches s3://{name}/sweep/*/events.jsonl"
    )


def test_the_line_shows_no_credentials(s3: S3Server, bucket: tuple[Any, str]) -> None:
    _client, name = bucket
    proc = run_cli(["once", f"s3://me:{SECRET}@{name}/swep/?token={SECRET}"], env=env())
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert SECRET.encode() not in proc.stderr
    assert proc.stderr.decode() == (
        f"value-diag: error: no run file in s3://{name}/swep/"
        f" (looked for {RUN_FILES}; --pattern to choose)\n"
    )


def test_one_empty_prefix_among_runs_is_still_an_error(
    s3: S3Server,
    bucket: tuple[Any, str],
) -> None:
    """A cron job's typo must not pass because another argument named runs."""
    client, name = bucket
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    proc = invoke(["once", f"s3://{name}/sweep/", f"s3://{name}/swep/"], env=env())
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith(f"value-diag: error: no run file in s3://{name}/swep/")


def test_an_sftp_directory_that_is_not_there(sftp: SftpServer) -> None:
    top = f"/empty-{uuid.uuid4().hex[:8]}"
    sftp_put(sftp, f"{top}/seed0/run.jsonl", healthy(3.0).encode())
    assert refused(f"sftp://gpu-box{top}/sede0/") == (
        f"value-diag: error: no run file in sftp://gpu-box{top}/sede0/"
        f" (sftp://gpu-box{top}/sede0/ not found; looked for {RUN_FILES})"
    )


def test_a_misspelt_gcs_bucket_is_named(gcs: GcsServer) -> None:
    name = f"runs-{uuid.uuid4().hex[:10]}"
    gcs.create_bucket(name)
    gcs.put(name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    proc = run_cli(["once", f"gs://{name}/swep/", "--compare"], env=env())
    assert (proc.returncode, proc.stdout) == (2, b""), proc.stderr
    assert proc.stderr.decode() == (
        f"value-diag: error: no run file in gs://{name}/swep/"
        f" (looked for {RUN_FILES}; --pattern to choose)\n"
    )
    proc = invoke(["once", f"gs://{name}x/sweep/", "--compare"], env=env())
    assert (proc.returncode, proc.stdout) == (2, b""), proc.stderr
    assert proc.stderr.decode() == (
        f"value-diag: error: no run file in gs://{name}x/sweep/"
        f" (gs://{name}x/ not found; looked for {RUN_FILES})\n"
    )


# --- watch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_watch_waits_for_an_empty_prefix_and_says_so(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Spawn,
    stop: signal.Signals,
) -> None:
    client, name = bucket
    w = spawn(f"s3://{name}/sweep/", "--poll", "0.2", env=env())
    header = w.header(lambda h: True)
    assert f"waiting for run files in s3://{name}/sweep/" in header.split(" | "), header
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    assert "seed0/run.jsonl" in w.header(lambda h: "1 record" in h)
    w.send(stop)
    assert w.wait() == 0
    assert w.stderr == ""


def test_watch_waits_for_a_pattern_in_a_missing_bucket(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Spawn,
) -> None:
    _client, name = bucket
    w = spawn(f"s3://me:{SECRET}@{name}x/sweep/*/run.jsonl", "--format", "json", env=env())
    first = w.frame()
    assert (first["source"], first["status"]) == (f"s3://{name}x/sweep/*/run.jsonl", "no_data")
    text = spawn(f"s3://{name}x/sweep/*/run.jsonl", env=env())
    header = text.header(lambda h: True)
    assert f"waiting for run files matching s3://{name}x/sweep/*/run.jsonl" in header, header
    w.send(signal.SIGTERM)
    assert w.wait() == 0
    assert SECRET not in w.raw.decode() + w.stderr


def test_watch_writes_its_first_frame_once_the_object_is_read(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Spawn,
) -> None:
    """No frame of 0 records before the first read answers: a JSON consumer would take it
    for the run's state."""
    client, name = bucket
    put(client, name, "run.jsonl", "".join(healthy(3.0) for _ in range(RECORDS)).encode())
    w = spawn(f"s3://{name}/run.jsonl", "--format", "json", env=env())
    first = w.frame()
    assert (first["records"], first["status"]) == (RECORDS, "ok"), first
    text = spawn(f"s3://{name}/run.jsonl", env=env())
    assert f"| {RECORDS} records |" in text.lines(1)[0]


def test_watch_writes_each_run_of_a_prefix_once_it_is_read(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Spawn,
) -> None:
    client, name = bucket
    for seed in range(3):
        data = "".join(healthy(3.0) for _ in range(RECORDS + seed))
        put(client, name, f"sweep/seed{seed}/run.jsonl", data.encode())
    w = spawn(f"s3://{name}/sweep/", "--format", "json", env=env())
    firsts = [w.frame() for _ in range(3)]
    assert sorted((f["name"], f["records"]) for f in firsts) == [
        ("seed0", RECORDS),
        ("seed1", RECORDS + 1),
        ("seed2", RECORDS + 2),
    ]


def test_watch_writes_a_missing_object_as_waited_for(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Spawn,
) -> None:
    """The first look is through when it says the object is not there: that is the frame."""
    _client, name = bucket
    w = spawn(f"s3://{name}/run.jsonl", env=env())
    header = w.header(lambda h: True)
    assert "waiting for run.jsonl" in header.split(" | "), header
    assert "connecting" not in header
