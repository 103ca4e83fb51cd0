"""Remote runs at their edges: hosts that loop or never end a listing, ssh hosts that would
run commands, stores that are down when a single file is watched, schemes that are
not remote at all, and file times in the future."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke, run_cli
from footprint import threads_of
from remote_runs import env, put
from servers import OUTAGE_S, PythonHttpServer, S3Server, SftpServer, free_port, sftp_serving
from telemetry import healthy

from value_diag.errors import ReadError
from value_diag.ingest.remote import forget_connections, list_runs, settings

pytest_plugins = ("servers",)

REFUSED = "connection refused"


class FollowingSftp(SftpServer):
    """An sftp server that lists a link to a folder as the folder (some servers do), and
    waits ``delay`` seconds before each listing: ``ln -s . a`` makes a tree without end."""

    delay = 0.0
    listings = 0
    """Listings the server has begun to answer."""
    answered = 0
    """Listings it has answered whole."""

    async def _listen(self) -> None:
        import asyncssh

        server = self

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan: Any) -> None:
                super().__init__(chan, chroot=str(server.root).encode())

            async def scandir(self, path: bytes) -> AsyncIterator[Any]:
                server.listings += 1
                await asyncio.sleep(server.delay)
                here = Path(os.fsdecode(self.map_path(path)))
                for entry in sorted(here.iterdir()):
                    attrs = asyncssh.SFTPAttrs.from_local(entry.stat())  # links followed
                    yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=attrs)
                server.answered += 1

        if self._acceptor is None:
            self._acceptor = await asyncssh.listen(
                "127.0.0.1",
                self.port,
                server_host_keys=[self.host_key],
                authorized_client_keys=self._authorized,
                sftp_factory=Files,
                allow_scp=False,
            )


@pytest.fixture(scope="module")
def following(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FollowingSftp]:
    yield from sftp_serving(FollowingSftp, tmp_path_factory, "looping-root")


@pytest.fixture
def gpu_box(following: FollowingSftp, monkeypatch: pytest.MonkeyPatch) -> Iterator[FollowingSftp]:
    """The looping server, named gpu-box by the environment of this process; every
    connection made to it is closed at the end."""
    for name, value in as_user(following).items():
        monkeypatch.setenv(name, value)
    forget_connections()
    yield following
    forget_connections()


def as_user(server: SftpServer, **extra: str) -> dict[str, str]:
    """The environment of a user whose ~/.ssh/config names ``server`` as gpu-box."""
    values = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return {**values, "HOME": str(server.client_key.parent.parent), **extra}


def test_a_looping_sftp_tree_is_an_error_not_a_walk_without_end(following: FollowingSftp) -> None:
    """Three links to '.' make the tree grow threefold at each level: the walk stops at
    MAX_DEPTH folders and says so (it never ended before)."""
    top = following.root / "loop"
    (top / "seed0").mkdir(parents=True)
    (top / "seed0" / "run.jsonl").write_text(healthy(3.0))
    for name in ("a", "b", "c"):
        (top / name).symlink_to(".")
    proc = run_cli(["once", "sftp://gpu-box/loop/"], env=as_user(following), timeout=60)
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().strip() == (
        "value-diag: error: cannot list sftp://gpu-box/loop/: "
        "folders nested more than 32 deep (a loop?)"
    )


def test_a_listing_that_takes_too_long_is_an_error(
    gpu_box: FollowingSftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tree whose every folder is slow to list ends at LIST_TIMEOUT_S in all, though
    each listing answers within its own bound."""
    top = gpu_box.root / "slow"
    for i in range(20):
        (top / f"seed{i}").mkdir(parents=True)
        (top / f"seed{i}" / "run.jsonl").write_text(healthy(3.0))
    monkeypatch.setattr(gpu_box, "delay", 0.2)
    monkeypatch.setattr(settings, "LIST_TIMEOUT_S", 1.0)
    monkeypatch.setattr(gpu_box, "listings", 0)
    with pytest.raises(ReadError, match=r"^cannot list sftp://gpu-box/slow/: timed out listing it"):
        list_runs("sftp://gpu-box/slow/")
    assert gpu_box.listings < 21, "it stopped before the last of the 21 folders"
    monkeypatch.setattr(gpu_box, "delay", 0.0)
    assert len(list_runs("sftp://gpu-box/slow/")) == 20  # the same tree, listed in time


def test_an_sftp_call_that_outlasts_its_bound_is_cut_short(
    gpu_box: FollowingSftp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One listing that the server holds (each request in time is not enough: paramiko
    bounds requests, not calls) ends at CALL_TIMEOUT_S: the connection is closed under it."""
    (gpu_box.root / "held" / "seed0").mkdir(parents=True)
    monkeypatch.setattr(gpu_box, "delay", 3.0)
    monkeypatch.setattr(settings, "CALL_TIMEOUT_S", 0.5)
    monkeypatch.setattr(gpu_box, "answered", 0)
    with pytest.raises(ReadError, match=r"^cannot list sftp://gpu-box/held/: timed out$"):
        list_runs("sftp://gpu-box/held/")
    assert gpu_box.answered == 0, "cut short before the server answered"


def test_an_ssh_host_with_shell_syntax_runs_nothing(tmp_path: Path) -> None:
    """With ``Match exec "... %h"`` in ~/.ssh/config, paramiko would run the host in a
    shell: a host that is no host name is refused before the config is read."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    log = tmp_path / "hosts.log"
    (home / ".ssh" / "config").write_text(f'Match exec "echo %h >> {log}"\n    Port 1\n')
    for url in (
        "sftp://x;touch pwned;/run.jsonl",
        "sftp://$(touch pwned)/run.jsonl",
        "sftp://x`touch pwned`/runs/",
        "sftp://x|touch pwned/run.jsonl",
    ):
        # a refused host never becomes valid: watch ends at once, also for a folder
        for command in ("once", "watch"):
            proc = run_cli([command, url], env={**os.environ, "HOME": str(home)}, cwd=tmp_path)
            assert proc.returncode == 2, (url, proc.stderr)
            said = proc.stderr.decode().strip()
            assert said.endswith(
                ": its host is not a host name or an IP address (letters, digits, '.', '-' and '_')"
            ), said
    assert not (tmp_path / "pwned").exists()
    assert not log.exists()  # not a single lookup ran the config's command


def test_watch_waits_for_a_single_remote_file_while_the_store_is_down(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
) -> None:
    """As a folder URL does: the caption says why it cannot be read, and the run comes
    when the store answers (watch exited 2 at once before)."""
    from watching import Watch

    _client, name = bucket
    s3.stop()
    w = Watch([f"s3://{name}/run.jsonl", "--poll", "0.2"], cwd=tmp_path, env=env())
    try:
        said = w.lines_until(lambda line: "read error" in line, OUTAGE_S)[-1]
        assert f"s3://{name}/run.jsonl" in said and "retrying" in said, said
        put(s3.start_again(name), name, "run.jsonl", healthy(3.0).encode())
        w.lines_until(lambda line: "1 record" in line and "read error" not in line, OUTAGE_S)
    finally:
        w.close()
    proc = run_cli(["once", f"s3://{name}/run.jsonl"], env=env())
    assert proc.returncode == 0, proc.stderr


def test_once_on_a_single_remote_file_while_the_store_is_down_says_why(
    s3: S3Server,
    bucket: tuple[Any, str],
) -> None:
    _client, name = bucket
    s3.stop()
    try:
        proc = invoke(["once", f"s3://{name}/run.jsonl"], env=env())
    finally:
        s3.start_again(name)
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().startswith(
        f"value-diag: error: cannot read s3://{name}/run.jsonl: "
    )


def test_an_ftp_url_that_cannot_connect_is_one_line() -> None:
    """No "Exception ignored" from a file system that was never made."""
    url = f"ftp://127.0.0.1:{free_port()}/runs/run.jsonl"
    proc = run_cli(["once", url], timeout=60)
    lines = proc.stderr.decode().splitlines()
    assert (proc.returncode, lines) == (
        2,
        [f"value-diag: error: cannot read {url}: connection refused"],
    )


def test_watch_follows_a_store_on_one_thread_however_many_runs(
    s3: S3Server,
    bucket: tuple[Any, str],
    tmp_path: Path,
) -> None:
    """Thirty runs in a bucket take the threads that two do (it was one thread a run)."""
    from watching import Watch

    client, name = bucket
    counted = []
    for runs in (2, 30):
        for seed in range(runs):
            put(client, name, f"sweep{runs}/seed{seed}/run.jsonl", healthy(3.0).encode())
        w = Watch([f"s3://{name}/sweep{runs}/", "--format", "json"], cwd=tmp_path, env=env())
        try:
            seen: set[str] = set()
            while len(seen) < runs:
                seen.add(w.frame(lambda f: f["records"] == 1)["name"])
            counted.append(threads_of(w.popen.pid))
        finally:
            w.close()
    assert counted[1] <= counted[0] + 1, counted


FUTURE = 4_102_444_800.0
"""2100-01-01: a file time from a clock far ahead of this one."""


@pytest.mark.parametrize("where", ["local", "http"])
def test_a_file_time_in_the_future_goes_stale_from_when_it_was_read(
    where: str, tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    """A Last-Modified or mtime ahead of the clock counts as written when it was read:
    the run goes stale after --max-age like any other (its age was 0 for ever)."""
    run = tmp_path / "served" / "run.jsonl"
    run.parent.mkdir()
    run.write_text(healthy(3.0))
    os.utime(run, (FUTURE, FUTURE))
    server = PythonHttpServer(run.parent)
    server.probe = "/run.jsonl"
    server.start()
    try:
        path = str(run) if where == "local" else f"{server.endpoint}/run.jsonl"
        w = spawn(path, "--format", "json", "--poll", "0.2", "--max-age", "1s")
        first = w.frame()
        assert (first["records"], first["stale"]) == (1, False), first
        stale = w.frame(lambda f: f["stale"])
        assert stale["status"] == "critical" and stale["age_s"] >= 1, stale
    finally:
        server.stop()


def said(stdout: bytes) -> list[tuple[str, int, str]]:
    """What JSON frames say of each run: where it is, its records and its status."""
    frames = [json.loads(line) for line in stdout.splitlines()]
    return [(f["source"], f["records"], f["status"]) for f in frames]


def test_file_and_local_urls_are_the_paths_they_name(tmp_path: Path) -> None:
    """Read as the path, with every check a path gets: a FIFO is refused (a local:// URL
    went to fsspec, which read it as empty; file:///abs was taken for a relative name)."""
    folder = tmp_path / "my runs"
    (folder / "seed0").mkdir(parents=True)
    run = folder / "seed0" / "run.jsonl"
    run.write_text(healthy(3.0))
    os.mkfifo(tmp_path / "fifo")
    as_path = invoke(["once", str(run), "--format", "json"])
    assert as_path.returncode == 0, as_path.stderr
    expected = said(as_path.stdout)
    assert expected == [(str(run), 1, "ok")]
    for url in (
        f"file://{run}",
        f"file://localhost{str(run).replace(' ', '%20')}",
        f"local://{run}",
        f"FILE://{folder}/",
    ):
        proc = invoke(["once", url, "--format", "json"])
        assert (proc.returncode, said(proc.stdout)) == (0, expected), (url, proc.stderr)
    # The console script with a timeout: a read of a FIFO or /dev/zero would never end.
    for url in (f"local://{tmp_path}/fifo", "local:///dev/zero", f"file://{tmp_path}/fifo"):
        proc = run_cli(["once", url], timeout=10)
        shown = url.partition("://")[2]
        assert (proc.returncode, proc.stderr.decode()) == (
            2,
            f"value-diag: error: cannot read {shown}: not a regular file\n",
        ), url
    for command in ("once", "watch"):
        proc = run_cli([command, "file://server/share/run.jsonl"], timeout=10)
        assert (proc.returncode, proc.stderr.decode()) == (
            2,
            "value-diag: error: cannot read file://server/share/run.jsonl: "
            "a file:// URL names a file of this machine (file:///path)\n",
        )


def test_the_readme_states_the_rule_of_remote_reads_with_its_numbers() -> None:
    """The reference says what the code does: the rule, and the bounds as they are set."""
    from conftest import ROOT

    from value_diag.ingest.remote import backends, whole

    text = " ".join((ROOT / "README.md").read_text().split())
    rule = text.partition("**Every remote read is bounded and checked.**")[2]
    assert rule, "the rule's paragraph"
    for said in (
        "`206 Partial Content` with the `Content-Range` that was asked for",
        "read as one stream instead, cut at the size its metadata gave",
        "(`Accept-Encoding: identity`) and never decompressed",
        f"a few {whole.RANGE_BLOCK >> 20} MiB blocks of memory",
        "each backend has one thread, not one per run",
    ):
        assert said in rule, said
    entries = f"{backends.MAX_ENTRIES:,}".replace(",", " ")
    bounds = (
        f"({settings.CONNECT_TIMEOUT_S:g} s to connect, {settings.READ_TIMEOUT_S:g} s per read, "
        f"{settings.CALL_TIMEOUT_S:g} s in all, sftp and ftp calls too; the listing of a folder "
        f"tree on a host {settings.LIST_TIMEOUT_S:g} s in all, {backends.MAX_DEPTH} folders deep "
        f"and {entries} entries at most)"
    )
    assert bounds in text


class _Undated(SimpleHTTPRequestHandler):
    """A static file server that tells no Last-Modified."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword != "Last-Modified":
            super().send_header(keyword, value)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_a_remote_file_with_no_time_is_dated_by_the_commands_clock(tmp_path: Path) -> None:
    """No Last-Modified: its records count as written when read, at the clock the command
    runs against (an age of 0 at a clock set an hour after the epoch)."""
    (tmp_path / "run.jsonl").write_text(healthy(3.0))
    handler = functools.partial(_Undated, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/run.jsonl"
        proc = invoke(["once", url, "--format", "json"], clock=lambda: 3600.0)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["age_s"]) == (1, 0.0)
