"""ingest/remote against real servers on 127.0.0.1: moto's S3 server and an sftp server.

Listing sweeps, following appends with ranged reads of the new bytes only, re-uploads,
truncation, deletion, servers that stop, hang and come back, whole files folded in
parts exactly as local files are, and no credential in any message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import DEADLINE
from remote_runs import NOW, put, same, sftp_put
from servers import SFTP_HOST, BlackHole, S3Server, SftpServer, free_port

from value_diag.errors import ReadError
from value_diag.ingest import urls
from value_diag.ingest.changes import Change
from value_diag.ingest.parallel import read_path
from value_diag.ingest.remote import (
    RemoteTail,
    forget_connections,
    info,
    list_runs,
    read_remote,
    reasons,
    settings,
    whole,
)
from value_diag.ingest.remote.backends import Remote
from value_diag.ingest.remote.reasons import RemoteFailure
from value_diag.ingest.remote.tail import OVERLAP

pytest_plugins = ("servers",)

LINE = b'{"step": %d, "bellman_error": %d.5, "td_error_mean": 0.25}\n'


def lines(first: int, count: int) -> bytes:
    return b"".join(LINE % (i, i) for i in range(first, first + count))


def read_all(tail: RemoteTail) -> bytes:
    return b"".join(tail.read())


# --- following an S3 object -------------------------------------------------------------


def test_s3_an_append_is_fetched_by_one_ranged_read_of_the_new_bytes(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    first, more = lines(0, 200), lines(200, 3)
    put(client, name, "run.jsonl", first)
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    assert tail.sync() is Change.OPENED
    assert read_all(tail) == first
    s3.forget_requests()

    put(client, name, "run.jsonl", first + more)  # S3 cannot append: uploaded again, longer
    assert tail.sync() is None
    assert read_all(tail) == more
    gets = s3.requests("GET", "run.jsonl")
    assert [g["headers"].get("Range") for g in gets] == [
        f"bytes={len(first) - OVERLAP}-{len(first + more) - 1}"
    ], "only the new bytes and the OVERLAP before them are fetched"
    assert len(s3.requests("HEAD", "run.jsonl")) == 1, "one metadata call per sync"


def test_s3_a_quiet_object_costs_one_metadata_call_per_sync(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 10))
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    tail.sync()
    read_all(tail)
    s3.forget_requests()
    for _ in range(3):
        assert tail.sync() is None
        assert read_all(tail) == b""
    assert [r["method"] for r in s3.requests(key="run.jsonl")] == ["HEAD"] * 3


def test_s3_an_object_uploaded_again_with_other_bytes_is_read_from_the_top(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 50))
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    tail.sync()
    read_all(tail)

    same_size = lines(0, 50).replace(b"0.25", b"0.75")
    put(client, name, "run.jsonl", same_size)
    assert tail.sync() is Change.REPLACED
    assert read_all(tail) == same_size

    longer = lines(1000, 80)  # longer, but not what was read: no append
    put(client, name, "run.jsonl", longer)
    assert tail.sync() is Change.REPLACED
    assert read_all(tail) == longer


def test_s3_a_shorter_object_is_a_truncation(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 50))
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    tail.sync()
    read_all(tail)
    put(client, name, "run.jsonl", lines(0, 5))
    assert tail.sync() is Change.TRUNCATED
    assert read_all(tail) == lines(0, 5)


def test_s3_missing_created_deleted_recreated(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    tail = RemoteTail(f"s3://{name}/sweep/run.jsonl")
    assert tail.sync() is Change.MISSING
    assert tail.sync() is None
    put(client, name, "sweep/run.jsonl", lines(0, 3))
    assert tail.sync() is Change.CREATED
    assert read_all(tail) == lines(0, 3)
    client.delete_object(Bucket=name, Key="sweep/run.jsonl")
    assert tail.sync() is Change.DELETED
    assert tail.sync() is None
    put(client, name, "sweep/run.jsonl", lines(7, 2))
    assert tail.sync() is Change.RECREATED
    assert read_all(tail) == lines(7, 2)


def test_s3_a_stopped_server_is_an_error_and_its_return_a_fresh_start(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 20))
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    tail.sync()
    read_all(tail)

    s3.stop()
    change = returned(tail.sync)
    assert change is Change.ERROR
    assert tail.error == f"cannot connect to {s3.endpoint}"
    assert read_all(tail) == b""

    put(s3.start_again(name), name, "run.jsonl", lines(0, 25))
    assert tail.sync() is Change.OPENED
    assert tail.error is None
    assert read_all(tail) == lines(0, 25)


def test_s3_a_read_that_fails_is_a_read_error_and_the_next_sync_starts_afresh(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 20))
    tail = RemoteTail(f"s3://{name}/run.jsonl")
    tail.sync()
    s3.stop()
    with pytest.raises(ReadError) as caught:
        read_all(tail)
    assert (
        str(caught.value) == f"cannot read s3://{name}/run.jsonl: cannot connect to {s3.endpoint}"
    )
    assert tail.error == f"cannot connect to {s3.endpoint}"
    put(s3.start_again(name), name, "run.jsonl", lines(0, 20))
    assert tail.sync() is Change.OPENED
    assert read_all(tail) == lines(0, 20)


@pytest.mark.parametrize(
    ("read_s", "call_s", "reason"),
    [
        (0.5, 30.0, "timed out waiting for the server"),  # the backend's read timeout
        (30.0, 1.0, "timed out"),  # the wall-clock bound of any call, whatever the backend
    ],
)
def test_s3_a_hung_server_times_out(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch, read_s: float, call_s: float, reason: str
) -> None:
    hole = BlackHole()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{hole.port}")
        monkeypatch.setattr(settings, "READ_TIMEOUT_S", read_s)
        monkeypatch.setattr(settings, "CALL_TIMEOUT_S", call_s)
        tail = RemoteTail("s3://bucket/run.jsonl")
        assert (returned(tail.sync), tail.error) == (Change.ERROR, reason)
    finally:
        hole.close()


def test_https_style_urls_follow_and_fold_the_same_way(
    s3: S3Server, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    """moto serves public objects over plain HTTP too: fsspec's HTTP backend, read-only."""
    client, name = bucket
    first, more = lines(0, 100), lines(100, 2)
    put(client, name, "run.jsonl", first, public=True)
    url = f"{s3.endpoint}/{name}/run.jsonl"
    tail = RemoteTail(url)
    assert tail.sync() is Change.OPENED
    assert read_all(tail) == first
    s3.forget_requests()
    put(client, name, "run.jsonl", first + more, public=True)
    assert tail.sync() is None
    assert read_all(tail) == more
    assert [g["headers"].get("Range") for g in s3.requests("GET", "run.jsonl")] == [
        f"bytes={len(first) - OVERLAP}-{len(first + more) - 1}"
    ]
    local = tmp_path / "run.jsonl"
    local.write_bytes(first + more)
    assert same(read_remote(url, NOW, parts=3), read_path(str(local), NOW))
    assert list_runs(url) == [url]


# --- listing ------------------------------------------------------------------------------

SWEEP = {
    "sweep/lr-1e-3/run.jsonl": lines(0, 2),
    "sweep/lr-3e-4/telemetry_0/events.jsonl": lines(0, 3),
    "sweep/lr-3e-4/telemetry_0/config.json": b"{}",
    "sweep/notes.txt": b"notes",
    "sweep/.trash/old.jsonl": lines(0, 1),
    "other/run.jsonl": lines(0, 1),
}


def test_s3_list_runs_of_a_prefix_finds_nested_runs(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    for key, data in SWEEP.items():
        put(client, name, key, data)
    runs = [
        f"s3://{name}/sweep/lr-1e-3/run.jsonl",
        f"s3://{name}/sweep/lr-3e-4/telemetry_0/events.jsonl",
    ]
    assert list_runs(f"s3://{name}/sweep/") == runs
    assert list_runs(f"s3://{name}/sweep") == runs, "an existing prefix without the slash"
    assert list_runs(f"s3://{name}/sweep/", "*/events.jsonl") == runs[1:]
    assert list_runs(f"s3://{name}/sweep/", "run*.jsonl") == runs[:1], "a name, at any depth"
    assert list_runs(f"s3://{name}/sweep/", "lr-3e-4/*/*.json") == [
        f"s3://{name}/sweep/lr-3e-4/telemetry_0/config.json"
    ]
    assert list_runs(f"s3://{name}/sweep/*/run.jsonl") == runs[:1]
    assert list_runs(f"s3://{name}/sweep/lr-1e-3/run.jsonl") == runs[:1]
    assert list_runs(f"s3://{name}/sweep/later.jsonl") == [f"s3://{name}/sweep/later.jsonl"]
    assert list_runs(f"s3://{name}/nothing-here/") == []


def test_listed_urls_keep_the_credentials_they_were_given(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    for key, data in SWEEP.items():
        put(client, name, key, data)
    found = list_runs(f"s3://{name}/sweep/?tag=7")
    assert found[0] == f"s3://{name}/sweep/lr-1e-3/run.jsonl?tag=7"
    assert len(found) == 2


def test_sftp_list_runs_of_a_directory_finds_nested_runs(sftp: SftpServer) -> None:
    base = f"sweep-{uuid.uuid4().hex[:8]}"
    for key, data in SWEEP.items():
        sftp_put(sftp, f"{base}/{key}", data)
    url = f"sftp://{SFTP_HOST}/{base}/sweep/"
    assert list_runs(url) == [
        f"sftp://{SFTP_HOST}/{base}/sweep/lr-1e-3/run.jsonl",
        f"sftp://{SFTP_HOST}/{base}/sweep/lr-3e-4/telemetry_0/events.jsonl",
    ]
    assert list_runs(f"sftp://{SFTP_HOST}/{base}/*/run.jsonl") == [
        f"sftp://{SFTP_HOST}/{base}/other/run.jsonl"
    ]


# --- whole files --------------------------------------------------------------------------


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_s3_read_remote_in_parts_equals_folding_the_local_file(
    s3: S3Server,
    bucket: tuple[Any, str],
    big_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    parts: int,
) -> None:
    client, name = bucket
    data = big_log.read_bytes()
    put(client, name, "big.jsonl", data)
    monkeypatch.setattr(whole, "RANGE_BLOCK", 256 << 10)  # several blocks to each part
    s3.forget_requests()

    state = read_remote(f"s3://{name}/big.jsonl", NOW, history=8, parts=parts)

    expected = read_path(str(big_log), NOW, history=8)
    assert expected.whole.bad_lines > 0 and expected.whole.records > 0
    assert b"NaN" in data
    assert same(state, expected)
    ranges = [_range(g) for g in s3.requests("GET", "big.jsonl")]
    assert all(end - start <= 256 << 10 for start, end in ranges), "memory: a block at a time"
    fetched = sum(end - start for start, end in ranges)
    assert len(data) <= fetched <= len(data) + parts * (1 << 20), (
        "each byte once, but the line across a boundary"
    )


def test_s3_read_remote_reads_each_byte_once_but_for_the_tail_of_each_part(
    s3: S3Server, bucket: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its end a part reads small blocks up to its last newline, not a whole block
    of the next part's bytes (which that part reads again)."""
    client, name = bucket
    data = b"".join(
        b'{"bellman_error": %d.25, "pad": "%s"}\n' % (i, b"x" * 60) for i in range(30_000)
    )
    put(client, name, "lines.jsonl", data)
    monkeypatch.setattr(whole, "RANGE_BLOCK", 256 << 10)
    monkeypatch.setattr(whole, "TAIL_BLOCK", 1 << 10)
    s3.forget_requests()
    state = read_remote(f"s3://{name}/lines.jsonl", NOW, parts=3)
    assert state.whole.records == 30_000
    fetched = sum(end - start for start, end in map(_range, s3.requests("GET", "lines.jsonl")))
    assert len(data) <= fetched <= len(data) + 3 * ((1 << 10) + 1), fetched - len(data)


def test_s3_read_remote_tries_a_failed_read_again(
    s3: S3Server, bucket: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One answer that fails (a timeout, a throttled request) in a big read is tried again."""
    client, name = bucket
    put(client, name, "run.jsonl", lines(0, 50))
    real = Remote.cat
    failures = iter([RemoteFailure("timed out waiting for the server")])

    def flaky(self: Remote, start: int, end: int) -> bytes:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(self, start, end)

    monkeypatch.setattr(Remote, "cat", flaky)
    monkeypatch.setattr(whole, "RETRY_S", 0.01)
    assert read_remote(f"s3://{name}/run.jsonl", NOW).whole.records == 50


def aligned_log(shift: int, long_line: bool = False) -> bytes:
    """24 lines of 40 bytes, every fifth one bad, after a foreign line of ``shift`` bytes:
    with 2, 3, 4, 6 or 8 parts the planned cuts fall exactly on line starts (shift 0),
    just after them (shift 1) or on the newlines (shift 39). With ``long_line``, lines 3
    to 8 are one foreign line, bytes 120 to 359: the whole of a part of eight, ending at
    the last byte before the next part."""
    rows = [
        (b'{"bellman_error": "no"}' if i % 5 == 4 else b'{"bellman_error": %d.5}' % i).ljust(39)
        for i in range(24)
    ]
    if long_line:
        rows[3:9] = [b"x" * (6 * 40 - 1)]
    head = b"#" * (shift - 1) + b"\n" if shift else b""
    return head + b"".join(row + b"\n" for row in rows)


@pytest.mark.parametrize(("shift", "long_line"), [(0, False), (1, False), (39, False), (0, True)])
def test_s3_read_remote_parts_cut_at_line_starts_and_at_newlines(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shift: int,
    long_line: bool,
) -> None:
    client, name = bucket
    data = aligned_log(shift, long_line)
    put(client, name, "run.jsonl", data)
    local = tmp_path / "run.jsonl"
    local.write_bytes(data)
    expected = read_path(str(local), NOW, history=30)
    assert expected.whole.records + expected.whole.bad_lines == (18 if long_line else 24)
    monkeypatch.setattr(whole, "RANGE_BLOCK", 48)  # blocks that end inside lines
    for parts in (2, 3, 4, 6, 8):
        state = read_remote(f"s3://{name}/run.jsonl", NOW, history=30, parts=parts)
        assert same(state, expected), parts


def test_s3_read_remote_default_parts_and_small_files(
    s3: S3Server, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, name = bucket
    for content in (b"", b"\n\n", lines(0, 3), lines(0, 3) + b'{"bellman_error": 1'):
        put(client, name, "run.jsonl", content)
        local = tmp_path / "run.jsonl"
        local.write_bytes(content)
        assert same(read_remote(f"s3://{name}/run.jsonl", NOW), read_path(str(local), NOW))


@pytest.mark.parametrize("parts", [None, 3])
def test_sftp_read_remote_equals_folding_the_local_file(
    sftp: SftpServer, big_log: Path, parts: int | None
) -> None:
    sftp_put(sftp, "/logs/big.jsonl", big_log.read_bytes())
    state = read_remote(f"sftp://{SFTP_HOST}/logs/big.jsonl", NOW, history=4, parts=parts)
    assert same(state, read_path(str(big_log), NOW, history=4))


def test_read_remote_and_info_say_what_is_wrong(s3: S3Server, bucket: tuple[Any, str]) -> None:
    client, name = bucket
    put(client, name, "sweep/run.jsonl", lines(0, 2))
    with pytest.raises(ReadError, match=rf"^cannot read s3://{name}/gone.jsonl: not found$"):
        read_remote(f"s3://{name}/gone.jsonl", NOW)
    with pytest.raises(ReadError, match=r": a directory \(give the run files\)$"):
        read_remote(f"s3://{name}/sweep", NOW)
    st = info(f"s3://{name}/sweep/run.jsonl")
    assert st.size == len(lines(0, 2))
    uploaded = client.head_object(Bucket=name, Key="sweep/run.jsonl")["LastModified"]
    assert st.mtime == uploaded.timestamp(), "the store's own time of the upload"
    assert st.tag


# --- following an sftp file ---------------------------------------------------------------


def test_sftp_an_append_reads_the_new_bytes_only(sftp: SftpServer) -> None:
    first, more = lines(0, 300), lines(300, 2)
    local = sftp_put(sftp, "/runs/a.jsonl", first)
    tail = RemoteTail(f"sftp://{SFTP_HOST}/runs/a.jsonl")
    assert tail.sync() is Change.OPENED
    assert read_all(tail) == first
    sftp.reads.clear()

    with local.open("ab") as f:
        f.write(more)
    assert tail.sync() is None
    assert read_all(tail) == more
    served = [(offset, size) for path, offset, size in sftp.reads if path.endswith("a.jsonl")]
    assert served, "the new bytes were read from the server"
    assert min(offset for offset, _ in served) == len(first) - OVERLAP
    assert sum(size for _, size in served) == len(more) + OVERLAP


def test_sftp_truncation_and_replacement(sftp: SftpServer) -> None:
    local = sftp_put(sftp, "/runs/b.jsonl", lines(0, 40))
    tail = RemoteTail(f"sftp://{SFTP_HOST}/runs/b.jsonl")
    tail.sync()
    read_all(tail)
    local.write_bytes(lines(0, 4))
    assert tail.sync() is Change.TRUNCATED
    assert read_all(tail) == lines(0, 4)
    local.write_bytes(lines(50, 60))
    assert tail.sync() is Change.REPLACED
    assert read_all(tail) == lines(50, 60)


def test_sftp_a_stopped_server_is_an_error_and_its_return_a_fresh_start(
    sftp: SftpServer,
) -> None:
    sftp_put(sftp, "/runs/c.jsonl", lines(0, 10))
    tail = RemoteTail(f"sftp://{SFTP_HOST}/runs/c.jsonl")
    tail.sync()
    read_all(tail)
    sftp.stop()
    assert returned(tail.sync) is Change.ERROR
    assert tail.error in ("connection closed by the server", "connection refused")
    assert returned(tail.sync) is Change.ERROR
    assert tail.error == "connection refused"

    sftp.start()
    assert tail.sync() is Change.OPENED
    assert read_all(tail) == lines(0, 10)


def test_sftp_a_hung_server_times_out(sftp: SftpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    hole = BlackHole()
    try:
        monkeypatch.setattr(settings, "CONNECT_TIMEOUT_S", 0.5)
        tail = RemoteTail(f"sftp://127.0.0.1:{hole.port}/runs/run.jsonl")
        assert returned(tail.sync) is Change.ERROR
        assert tail.error in (
            "timed out waiting for the ssh banner",
            "timed out starting the ssh session",
        )
    finally:
        hole.close()


def test_failing_backends_write_nothing_on_stderr(s3: S3Server) -> None:
    """watch draws on the terminal: paramiko's log of a missing banner, or an asyncio
    backend's complaint at exit, would scribble over it."""
    hole = BlackHole()
    try:
        done = run_python(
            "from value_diag.ingest.remote import RemoteTail, settings\n"
            "settings.CONNECT_TIMEOUT_S = 0.3\n"
            f"for url in ('sftp://127.0.0.1:{hole.port}/run.jsonl', 's3://bucket/run.jsonl'):\n"
            "    tail = RemoteTail(url)\n"
            "    print(tail.sync(), tail.error)\n",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        )
    finally:
        hole.close()
    assert done.stderr == ""
    assert done.stdout.count("error ") == 2, done.stdout


def test_sftp_a_host_key_other_than_known_hosts_says_is_refused(sftp: SftpServer) -> None:
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    home = Path(os.environ["HOME"])
    known = home / ".ssh" / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sftp.port} {other}")
    try:
        sftp_put(sftp, "/runs/d.jsonl", lines(0, 1))
        tail = RemoteTail(f"sftp://{SFTP_HOST}/runs/d.jsonl")
        assert tail.sync() is Change.ERROR
        assert tail.error == "the host key does not match ~/.ssh/known_hosts"
    finally:
        known.unlink()


# --- what may be shown --------------------------------------------------------------------

SECRET = "s3cr3t-Tok3n"


def test_no_credential_appears_in_any_message(
    s3: S3Server, sftp: SftpServer, bucket: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _client, name = bucket
    dead = free_port()
    urls = [
        f"s3://AKIA{SECRET}:{SECRET}@{name}/gone.jsonl?X-Amz-Signature={SECRET}",
        f"sftp://{SFTP_HOST.upper()}:{SECRET}@{SFTP_HOST}/gone.jsonl?token={SECRET}#{SECRET}",
        f"sftp://trainer:{SECRET}@127.0.0.1:{dead}/run.jsonl",
        f"http://user:{SECRET}@127.0.0.1:{dead}/run.jsonl?token={SECRET}",
        f"https://127.0.0.1:{dead}/run.jsonl?sig={SECRET}",
    ]
    messages = []
    for url in urls:
        tail = RemoteTail(url)
        tail.sync()
        messages.append(repr(tail.error))
        for call in (partial(read_remote, url, NOW), partial(info, url)):
            with pytest.raises(ReadError) as caught:
                call()
            messages.append(str(caught.value))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
    forget_connections()
    with pytest.raises(ReadError) as caught:
        list_runs(urls[0].replace("gone.jsonl", ""))
    messages.append(str(caught.value))
    assert all(SECRET not in m and SECRET.lower() not in m.lower() for m in messages), messages
    assert all("\n" not in m and "Traceback" not in m for m in messages)
    assert f"cannot read s3://{name}/gone.jsonl: not found" in messages


def test_a_library_message_quoting_the_url_is_scrubbed() -> None:
    url = f"https://alice:{SECRET}@host.example/run.jsonl?token={SECRET}"
    said = reasons.reason(RuntimeError(f"GET {url} failed: 403 (token={SECRET})"), url)
    assert SECRET not in said
    assert said.startswith("RuntimeError: GET https://host.example/run.jsonl failed")


@pytest.mark.parametrize(
    "exc",
    [OSError("Socket is closed"), EOFError(), ConnectionResetError(104, "Connection reset")],
    ids=["socket-closed", "eof", "reset"],
)
def test_a_dropped_ssh_connection_is_said_in_words(exc: BaseException) -> None:
    """paramiko reports a server gone in several ways, whichever call meets it first."""
    said = reasons.reason(exc)
    assert said in ("connection closed by the server", "connection reset by the server"), said


AZURE_URL: Final = "abfss://ctr@acct.dfs.core.windows.net/sweep/"


def test_an_azure_container_before_its_account_is_shown_and_kept() -> None:
    """It says where the file is (no one's name, no password), so it is not user-info."""
    assert urls.azure_container(AZURE_URL) == "ctr"
    assert urls.public(AZURE_URL + f"run.jsonl?sig={SECRET}") == AZURE_URL + "run.jsonl"
    assert urls.rebuild(AZURE_URL, "ctr/sweep/seed1/run.jsonl") == AZURE_URL + "seed1/run.jsonl"
    said = urls.scrub(f"container ctr: GET {AZURE_URL}?sig={SECRET} failed", AZURE_URL + "?sig=x")
    assert said.startswith("container ctr: GET abfss://") and SECRET not in said, said
    assert urls.rebuild("az://ctr/sweep/", "ctr/sweep/a.jsonl") == "az://ctr/sweep/a.jsonl"


@pytest.mark.parametrize(
    "url",
    [
        f"abfss://ctr:{SECRET}@acct.dfs.core.windows.net/run.jsonl",
        f"s3://{SECRET}@bucket/run.jsonl",
        f"sftp://{SECRET}@host/run.jsonl",
    ],
)
def test_other_user_info_is_hidden(url: str) -> None:
    assert urls.azure_container(url) is None
    assert SECRET not in urls.public(url)
    assert SECRET not in urls.scrub(f"failed: {url}", url)


def test_a_wrapped_connection_error_is_said_by_what_it_wraps() -> None:
    """Azure's client wraps aiohttp's, which wraps the refused connection (its os_error)."""
    refused = ConnectionRefusedError(111, "Connection refused")
    connector = type("ClientConnectorError", (OSError,), {})(111, "Cannot connect to host")
    connector.os_error = refused
    outer = type("ServiceRequestError", (Exception,), {})("Cannot connect to host x:1")
    outer.__cause__ = connector
    assert reasons.reason(outer) == "connection refused"


def test_an_error_raised_while_handling_another_is_said_as_itself() -> None:
    try:
        try:
            raise FileNotFoundError("cache")
        except FileNotFoundError:
            raise ValueError("the answer was not JSON") from None
    except ValueError as exc:
        assert reasons.reason(exc) == "ValueError: the answer was not JSON"
    try:
        try:
            raise TimeoutError
        except TimeoutError:
            raise KeyError("size")  # noqa: B904  (as a library might)
    except KeyError as exc:
        assert reasons.reason(exc) == "KeyError: 'size'"


# --- without the extra --------------------------------------------------------------------


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **env},
    )


def test_importing_the_remote_layer_imports_no_backend() -> None:
    done = run_python(
        "import sys, value_diag.ingest.remote as r\n"
        "assert r.is_url('s3://b/k') and not r.is_url('runs/a.jsonl')\n"
        "heavy = {'fsspec', 's3fs', 'botocore', 'aiobotocore', 'aiohttp', 'paramiko'}\n"
        "print(sorted(heavy & {m.partition('.')[0] for m in sys.modules}))\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


@pytest.mark.parametrize(
    ("hidden", "url", "message"),
    [
        (
            "fsspec",
            "s3://bucket/run.jsonl",
            "reading s3:// URLs needs the remote extra: pip install 'value-diag[remote]'",
        ),
        (
            "paramiko",
            "sftp://host/run.jsonl",
            "reading sftp:// URLs needs the remote extra: pip install 'value-diag[remote]'",
        ),
        (
            "gcsfs",
            "gs://bucket/run.jsonl",
            "reading gs:// URLs needs the gcs extra: pip install 'value-diag[gcs]'",
        ),
        (
            "adlfs",
            "az://container/run.jsonl",
            "reading az:// URLs needs the azure extra: pip install 'value-diag[azure]'",
        ),
        (
            "ocifs",
            "oci://bucket@namespace/run.jsonl",
            "reading oci:// URLs needs ocifs: pip install 'value-diag[remote]' ocifs",
        ),
        (
            "fsspec-is-there",
            "nosuch://bucket/run.jsonl",
            "cannot read nosuch:// URLs: no fsspec backend knows that scheme",
        ),
    ],
)
def test_a_missing_backend_is_one_line_saying_what_to_install(
    hidden: str, url: str, message: str
) -> None:
    calls = ["RemoteTail(url)", "list_runs(url)", "read_remote(url, 0.0)", "info(url)"]
    code = (
        f"import sys; sys.modules[{hidden!r}] = None\n"
        "from value_diag.errors import ReadError\n"
        "from value_diag.ingest.remote import RemoteTail, info, list_runs, read_remote\n"
        f"url = {url!r}\n"
        + "".join(f"try:\n    {call}\nexcept ReadError as exc:\n    print(exc)\n" for call in calls)
    )
    done = run_python(code)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [message] * len(calls)


# --- helpers ------------------------------------------------------------------------------


def returned(call: Callable[[], Change | None]) -> Change | None:
    """What ``call`` returns; the test fails, instead of hanging, if it never does. That a
    time bound fired is shown by the reason it gives, not by a clock."""
    out: list[Change | None] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(DEADLINE)
    assert out, "the call against a stopped or hung server never came back"
    return out[0]


def _range(request: dict[str, Any]) -> tuple[int, int]:
    """[start, end) of a recorded GET's Range header."""
    first, _, last = request["headers"]["Range"].removeprefix("bytes=").partition("-")
    return int(first), int(last) + 1
