"""once and watch on URLs, end to end against the real S3 server (moto) and the real sftp
server the fixtures start on 127.0.0.1 (tests/servers.py): `once`'s verdicts in this process,
what only a process shows (credentials on its streams, Ctrl-C, `watch`) through the console
script."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, invoke, run_cli, script
from remote_runs import env, put, sftp_put
from servers import OUTAGE_S, BlackHole, S3Server, SftpServer
from telemetry import healthy

pytest_plugins = ("servers",)

SECRET = "s3cr3t-t0ken"


def frames(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_once_reads_an_s3_prefix_as_a_sweep(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "sweep/seed1/run.jsonl", healthy(3.0).encode())
    put(client, name, "sweep/seed10/run.jsonl", healthy(80.0).encode())
    put(client, name, "sweep/seed2/run.jsonl", (healthy(3.0) + healthy(4.0)).encode())
    put(client, name, "sweep/.hidden/run.jsonl", healthy(3.0).encode())
    proc = invoke(["once", f"s3://{name}/sweep/", "--format", "json"], env=env())
    assert proc.returncode == 0, proc.stderr
    got = [(f["name"], f["source"], f["records"]) for f in frames(proc.stdout)]
    assert got == [
        ("seed1", f"s3://{name}/sweep/seed1/run.jsonl", 1),
        ("seed2", f"s3://{name}/sweep/seed2/run.jsonl", 2),
        ("seed10", f"s3://{name}/sweep/seed10/run.jsonl", 1),
    ]
    text = invoke(["once", f"s3://{name}/sweep/", "--compare"], env=env()).stdout.decode()
    assert text.splitlines()[2].split()[:2] == ["seed10", "critical"]


def test_once_reads_a_remote_pattern_and_a_pattern_below_a_prefix(
    s3: S3Server,
    bucket: tuple[Any, str],
) -> None:
    client, name = bucket
    for seed in (1, 2):
        put(client, name, f"exp/telemetry_{seed}/events.jsonl", healthy(3.0).encode())
        put(client, name, f"exp/telemetry_{seed}/notes.jsonl", b"")
    glob = invoke(["once", f"s3://{name}/exp/*/events.jsonl", "--format", "json"], env=env())
    below = invoke(
        ["once", f"s3://{name}/exp/", "--pattern", "events.jsonl", "--format", "json"], env=env()
    )
    for proc in (glob, below):
        assert proc.returncode == 0, proc.stderr
        assert [f["name"] for f in frames(proc.stdout)] == ["telemetry_1", "telemetry_2"]


def test_once_never_shows_credentials(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", healthy(3.0).encode())
    url = f"s3://user:{SECRET}@{name}/run.jsonl?token={SECRET}"
    proc = run_cli(["once", url, "--format", "json"], env=env())
    missing = run_cli(["once", f"s3://{name}/nope.jsonl?token={SECRET}"], env=env())
    for out in (proc.stdout, proc.stderr, missing.stdout, missing.stderr):
        assert SECRET.encode() not in out
    assert missing.returncode == 2
    assert missing.stderr.decode().startswith(
        f"value-diag: error: cannot read s3://{name}/nope.jsonl"
    )


def test_once_dates_a_remote_run_by_its_last_upload(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", healthy(3.0).encode())
    uploaded = client.head_object(Bucket=name, Key="run.jsonl")["LastModified"].timestamp()
    now = uploaded + 90.0
    proc = invoke(
        ["once", f"s3://{name}/run.jsonl", "--format", "json"], env=env(), clock=lambda: now
    )
    (frame,) = frames(proc.stdout)
    # As old as the upload S3 records (whole seconds), at the command's clock.
    assert frame["age_s"] == pytest.approx(90.0, abs=1e-3)


def test_watch_follows_uploads_and_new_runs(
    s3: S3Server,
    bucket: tuple[Any, str],
    spawn: Callable[..., Any],
) -> None:
    client, name = bucket
    put(client, name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
    w = spawn(f"s3://{name}/sweep/", "--format", "json", "--poll", "0.2", env=env())
    w.frame(lambda f: f["records"] == 1)
    # An object store has no append: a growing log is uploaded again, longer.
    put(client, name, "sweep/seed0/run.jsonl", (healthy(3.0) + healthy(4.0)).encode())
    grown = w.frame(lambda f: f["records"] == 2)
    assert grown["source"] == f"s3://{name}/sweep/seed0/run.jsonl"
    # A run that starts later, in the same prefix.
    put(client, name, "sweep/seed1/run.jsonl", healthy(80.0).encode())
    new = w.frame(lambda f: f["name"] == "seed1" and f["records"] == 1)
    assert new["status"] == "critical" and new["source"] == f"s3://{name}/sweep/seed1/run.jsonl"
    # Rewritten with other bytes: read again from the top.
    put(client, name, "sweep/seed0/run.jsonl", healthy(9.0).encode())
    assert w.frame(lambda f: f["name"] == "seed0" and f["records"] == 1)


def test_watch_shows_a_read_error_and_recovers(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
) -> None:
    """In text, the caption says the error while the server is gone, then it goes."""
    from watching import Watch

    client, name = bucket
    put(client, name, "run.jsonl", healthy(3.0).encode())
    w = Watch([f"s3://{name}/run.jsonl", "--poll", "0.2"], cwd=tmp_path, env=env())
    try:
        w.next_line()
        s3.stop()
        said = w.lines_until(lambda line: "read error" in line, OUTAGE_S)[-1]
        assert "read error:" in said and "retrying" in said, said
        put(s3.start_again(name), name, "run.jsonl", (healthy(3.0) + healthy(4.0)).encode())
        w.lines_until(lambda line: "2 records" in line and "read error" not in line, OUTAGE_S)
    finally:
        w.close()


def test_watch_waits_for_a_prefix_it_cannot_list_yet(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
) -> None:
    """A store that does not answer when watch starts is asked again, as a file that is not
    there yet is waited for: the caption says why, and the runs come when it answers."""
    from watching import Watch

    _client, name = bucket
    s3.stop()
    w = Watch([f"s3://{name}/sweep/", "--poll", "0.2"], cwd=tmp_path, env=env())
    try:
        first = w.next_line()
        assert first is not None and first.startswith("VALUE DIAGNOSTICS | no data |"), first
        assert f"waiting for run files in s3://{name}/sweep/ (cannot list" in first, first
        assert first.endswith("; retrying)"), first
        put(s3.start_again(name), name, "sweep/seed0/run.jsonl", healthy(3.0).encode())
        seen = w.lines_until(lambda line: "1 record" in line, OUTAGE_S)
        assert "seed0" in seen[-1] and "cannot list" not in seen[-1], seen
    finally:
        w.close()


def test_ctrl_c_while_a_prefix_is_first_listed_ends_watch_as_later(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first listing of a hung server can take the call's bound: Ctrl-C then ends
    watch as it does once it runs, exit 0 and nothing said."""
    hole = BlackHole()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{hole.port}")
        proc = subprocess.Popen(
            [*script(), "watch", "s3://bucket/sweep/"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env(),
        )
        deadline = time.monotonic() + DEADLINE
        while not hole.held and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # until watch has connected: the listing waits for an answer
        assert hole.held, "watch never asked the server"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
        assert (proc.returncode, out, err) == (0, b"", b"")
    finally:
        hole.close()


def test_sftp_once_and_watch(sftp: SftpServer, spawn: Callable[..., Any]) -> None:
    top = f"/cli-{uuid.uuid4().hex[:8]}"  # the server's folder lasts the whole session
    local = sftp_put(sftp, f"{top}/seed0/run.jsonl", healthy(3.0).encode())
    sftp_put(sftp, f"{top}/seed1/run.jsonl", healthy(80.0).encode())
    url = f"sftp://gpu-box{top}/"
    proc = invoke(["once", url, "--format", "json"], env=env())
    assert proc.returncode == 0, proc.stderr
    assert [f["name"] for f in frames(proc.stdout)] == ["seed0", "seed1"]
    w = spawn(
        f"sftp://gpu-box{top}/seed0/run.jsonl", "--format", "json", "--poll", "0.2", env=env()
    )
    w.frame(lambda f: f["records"] == 1)
    with local.open("a") as f:
        f.write(healthy(4.0))
    grown = w.frame(lambda f: f["records"] == 2)
    assert grown["source"] == f"sftp://gpu-box{top}/seed0/run.jsonl"


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("s3://bucket/run.jsonl", "remote"),
        ("sftp://host/run.jsonl", "remote"),
        ("gs://bucket/run.jsonl", "gcs"),
        ("az://container/run.jsonl", "azure"),
    ],
)
def test_without_the_extra_a_url_is_one_line(url: str, extra: str, tmp_path: Path) -> None:
    """A stand-in fsspec that cannot be imported, as on a machine without the extras: the
    line names the extra that reads the URL's scheme."""
    (tmp_path / "fsspec").mkdir()
    (tmp_path / "fsspec" / "__init__.py").write_text("raise ImportError('no fsspec here')\n")
    proc = run_cli(["once", url], env={**env(), "PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and f"pip install 'value-diag[{extra}]'" in err, err


def test_only_local_directories_are_watched_for_new_runs(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
) -> None:
    """A remote prefix is listed again on a thread; a file-system watch of it would name a
    local directory that does not exist, and cost the local files their notifications."""
    from value_diag.commands.paths import targets
    from value_diag.follow.watchlist import Runs

    (tmp_path / "runs").mkdir()
    runs = Runs(targets([str(tmp_path / "runs"), f"s3://{bucket[1]}/sweep/"]))
    try:
        assert runs.roots == [str(tmp_path / "runs")]
    finally:
        runs.close()
