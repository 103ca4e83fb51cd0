"""Real servers for the remote tests, on 127.0.0.1: moto's S3 server, an sftp server, a GCS
emulator and Azurite.

The code under test finds them the ways a user's machine would say:

- S3: ``AWS_ENDPOINT_URL`` names the server, and dummy keys are in ``AWS_ACCESS_KEY_ID``
  and ``AWS_SECRET_ACCESS_KEY`` (no profile or instance role is looked at).
- sftp: ``HOME`` is a throwaway home whose ``~/.ssh/config`` has a ``Host`` entry (HostName,
  Port, User, IdentityFile) for the alias SFTP_HOST, so URLs read
  ``sftp://SFTP_HOST/sweep/run.jsonl``; the key it names is the only one the server
  accepts, and no ssh agent is asked.
- GCS: ``STORAGE_EMULATOR_HOST`` names gcp-storage-emulator (anonymous, as for any emulator).
- Azure: ``AZURE_STORAGE_CONNECTION_STRING`` names Azurite, with its development account.

Besides them, servers that answer wrongly on purpose, in threads of the test process:
HostileBlobs (Azure's Blob protocol, bodies that ignore ranges, never end or come
compressed) and HostileFtp (an ftp server that refuses or ignores REST).

Each server can be stopped and started again on the same port, to test errors and
recovery. The S3 server forgets its buckets when stopped; the sftp server serves a folder.

Test modules load the fixtures with ``pytest_plugins = ("servers",)`` and import the
classes beside them; so that pytest does not warn that it cannot rewrite this module's
asserts (it is imported before it is registered), it asks for none: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import pytest
from needs import in_ci, need

from value_diag.ingest.remote import forget_connections

OUTAGE_S: Final = 60.0
"""How long a test waits for watch to say that a server is gone, and then that it is back:
backends retry on their own before a call gives up, and watch asks a failing server again
with backoff (a safety net, not a measure)."""
STARTUP_S: Final = 15.0
"""How long a server may take to answer after it is started (a safety net, not a measure)."""
SFTP_HOST: Final = "gpu-box"
"""The alias of the sftp server in the throwaway ~/.ssh/config."""
SFTP_USER: Final = "trainer"
DUMMY_KEY: Final = "testing-key-id"
DUMMY_SECRET: Final = "testing-secret-key"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {STARTUP_S} s")
        time.sleep(0.02)


class ServerProcess:
    """A server in a subprocess on 127.0.0.1:``port``, that can be stopped and started again
    on the same port; its output goes to ``log``. Subclasses say how to start it and how to
    tell that it answers."""

    name = "the server"
    stop_signal: signal.Signals = signal.SIGTERM
    probe: str | None = None
    """A path whose GET answers once the server is up (None: accepting is enough)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def answers(self) -> bool:
        """Whether the server answers now: a GET of ``probe``, or without one a connect."""
        try:
            if self.probe is None:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
            else:
                urllib.request.urlopen(self.endpoint + self.probe, timeout=1).close()
        except OSError:
            return False
        return True

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.workdir,  # whatever a server writes beside it stays in its folder
            )
        _wait_for(self._started, self.name)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(self.stop_signal)
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def _started(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        return self.answers()


class PythonHttpServer(ServerProcess):
    """``python -m http.server``: answers every GET with the whole file (200), Range or not."""

    name = "python -m http.server"
    probe = "/tiny.jsonl"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)]


class S3Server(ServerProcess):
    """moto's standalone S3 server, a subprocess; every request it gets is recorded.

    ``launcher`` is what the interpreter runs, given moto.server's options: moto's own
    server, or a script that adjusts moto before it calls ``moto.server.main``.
    """

    name = "moto's S3 server"
    probe = "/moto-api/"

    def __init__(self, workdir: Path, launcher: Sequence[str] = ("-m", "moto.server")) -> None:
        super().__init__(workdir)
        self.launcher = tuple(launcher)
        self.recording = workdir / "s3-requests.jsonl"
        self.log = workdir / "s3-server.log"

    def command(self) -> list[str]:
        return [sys.executable, *self.launcher, "-H", "127.0.0.1", "-p", str(self.port)]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "MOTO_ENABLE_RECORDING": "1",
            "MOTO_RECORDER_FILEPATH": str(self.recording),
        }

    def client(self) -> Any:
        """A boto3 client of the server, for putting objects where the tests want them."""
        import boto3  # type: ignore[import-untyped]

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=DUMMY_KEY,
            aws_secret_access_key=DUMMY_SECRET,
            region_name="us-east-1",
        )

    def start_again(self, bucket: str) -> Any:
        """Starts the server after a stop with ``bucket`` made again (moto forgets its
        buckets when it stops); a client of it."""
        self.start()
        client = self.client()
        client.create_bucket(Bucket=bucket)
        return client

    def forget_requests(self) -> None:
        """Empties the request log."""
        self.recording.write_text("")

    def requests(self, method: str | None = None, key: str = "") -> list[dict[str, Any]]:
        """The requests recorded since the last forget_requests (headers, method, url)."""
        if not self.recording.exists():
            return []
        entries = [json.loads(line) for line in self.recording.read_text().splitlines() if line]
        return [
            e
            for e in entries
            if (method is None or e["method"] == method) and key in e["url"].partition("?")[0]
        ]


class GcsServer(ServerProcess):
    """gcp-storage-emulator, Google Cloud Storage's JSON API in memory, a subprocess.

    Found the way gcsfs and Google's clients find an emulator: ``STORAGE_EMULATOR_HOST``.
    The tests put objects through the JSON API itself, with no client library. A restart
    forgets every bucket.
    """

    name = "the GCS emulator"
    probe = "/storage/v1/b"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "gcp_storage_emulator", "start",
            "--host", "127.0.0.1", "--port", str(self.port), "--in-memory",
        ]  # fmt: skip

    def create_bucket(self, bucket: str) -> None:
        body = json.dumps({"name": bucket}).encode()
        self._send("POST", "/storage/v1/b?project=test", body, "application/json")

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Uploads ``data`` whole as gs://BUCKET/KEY (a new generation of the object)."""
        name = urllib.parse.quote(key, safe="")
        where = f"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"
        self._send("POST", where, data, "application/octet-stream")

    def uploaded(self, bucket: str, key: str) -> float:
        """When gs://BUCKET/KEY was last uploaded, as the store records it (``updated``)."""
        name = urllib.parse.quote(key, safe="")
        where = f"{self.endpoint}/storage/v1/b/{bucket}/o/{name}"
        with urllib.request.urlopen(where, timeout=STARTUP_S) as answer:
            updated = json.load(answer)["updated"]
        return datetime.fromisoformat(updated.replace("Z", "+00:00")).timestamp()

    def _send(self, method: str, where: str, body: bytes, kind: str) -> None:
        request = urllib.request.Request(
            self.endpoint + where, body, {"Content-Type": kind}, method=method
        )
        with urllib.request.urlopen(request, timeout=STARTUP_S) as answer:
            assert answer.status == 200, answer.read()


AZURITE_ACCOUNT: Final = "devstoreaccount1"
AZURITE_KEY: Final = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's well-known development account: published by Microsoft, no secret."""


def azurite() -> str:
    """The azurite-blob program: ``VALUE_DIAG_AZURITE`` (set by .ci/run, which installs it
    from npm), else on the PATH; a skip without it, in CI a failure."""
    found = os.environ.get("VALUE_DIAG_AZURITE") or shutil.which("azurite-blob")
    if not found or not os.access(found, os.X_OK):
        why = "azurite-blob is not installed (npm install azurite; .ci/run does)"
        if in_ci():
            pytest.fail(f"{why}; VALUE_DIAG_AZURITE={found!r}")
        pytest.skip(why)
    return found


class AzuriteServer(ServerProcess):
    """Azurite's blob service, Azure Storage's emulator, in memory, a subprocess.

    Found the way adlfs and Azure's clients find an account: a connection string in
    ``AZURE_STORAGE_CONNECTION_STRING``. A restart forgets every container.
    """

    name = "Azurite"
    stop_signal = signal.SIGKILL  # on SIGTERM it waits for its clients to hang up

    def __init__(self, workdir: Path, program: str) -> None:
        super().__init__(workdir)
        self.program = program

    def command(self) -> list[str]:
        return [
            self.program, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck", "--silent",
            "--disableTelemetry",  # else it sends reports and leaves them in the temp dir
        ]  # fmt: skip

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};"
        )

    def create_container(self, container: str) -> None:
        self._service().create_container(container)

    def put(self, container: str, key: str, data: bytes) -> None:
        """Uploads ``data`` whole as az://CONTAINER/KEY (a block blob, a new ETag)."""
        self._service().get_blob_client(container, key).upload_blob(data, overwrite=True)

    def uploaded(self, container: str, key: str) -> float:
        """When az://CONTAINER/KEY was last uploaded, as the store records it."""
        blob = self._service().get_blob_client(container, key)
        return float(blob.get_blob_properties().last_modified.timestamp())

    def _service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


class SftpServer:
    """An asyncssh sftp server in a thread of its own, serving a folder, accepting one key.

    ``reads`` records every read request it answers: (path, offset, bytes sent).
    """

    def __init__(self, root: Path, keys: Path) -> None:
        import asyncssh

        self.root = root
        self.port = free_port()
        self.reads: list[tuple[str, int, int]] = []
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = keys / "value_diag_test_key"
        self.client_key.write_bytes(client_key.export_private_key("openssh"))
        self.client_key.chmod(0o600)
        self._authorized = asyncssh.import_authorized_keys(
            client_key.export_public_key("openssh").decode()
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._acceptor: Any = None
        self._connections: set[Any] = set()

    @property
    def running(self) -> bool:
        return self._acceptor is not None

    def start(self) -> None:
        self._run(self._listen())

    def stop(self) -> None:
        """Stops listening and drops every connection, as a host going down would."""
        self._run(self._close())

    def restart(self) -> None:
        self.stop()
        self.start()

    def shutdown(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def ssh_config(self) -> str:
        """A ~/.ssh/config entry for this server, as a user would write it."""
        return (
            f"Host {SFTP_HOST}\n"
            f"    HostName 127.0.0.1\n"
            f"    Port {self.port}\n"
            f"    User {SFTP_USER}\n"
            f"    IdentityFile ~/.ssh/{self.client_key.name}\n"
        )

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(STARTUP_S)

    async def _listen(self) -> None:
        import asyncssh

        server = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                server._connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                pass

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan: Any) -> None:
                super().__init__(chan, chroot=str(server.root).encode())
                self._paths: dict[int, str] = {}

            def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
                handle = super().open(path, pflags, attrs)
                self._paths[id(handle)] = path.decode()
                return handle

            def read(self, file_obj: object, offset: int, size: int) -> Any:
                data = super().read(file_obj, offset, size)  # asyncssh's own: not awaitable
                assert isinstance(data, bytes)
                server.reads.append((self._paths.get(id(file_obj), "?"), offset, len(data)))
                return data

        if self._acceptor is not None:
            return
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            self.port,
            server_factory=Server,
            server_host_keys=[self.host_key],
            authorized_client_keys=self._authorized,
            sftp_factory=Files,
            allow_scp=False,
            reuse_address=True,
        )

    async def _close(self) -> None:
        # The connections first: from Python 3.12 a server's wait_closed() also waits for
        # the connections it accepted to end.
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None


class BlackHole:
    """A TCP port that accepts connections and never says a word: a hung server."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()

    def _hold(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = self.sock.accept()
                self._held.append(conn)

    @property
    def held(self) -> int:
        """How many connections it has accepted (and holds, unanswered)."""
        return len(self._held)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self.sock.close()


class Startable(Protocol):
    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...


Served = TypeVar("Served", bound=Startable)
ServedProcess = TypeVar("ServedProcess", bound=ServerProcess)
ServedSftp = TypeVar("ServedSftp", bound=SftpServer)


def serving(server: ServedProcess) -> Iterator[ServedProcess]:
    """A session fixture's body: the server started, and stopped when the session ends."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sftp_serving(
    kind: type[ServedSftp], tmp_path_factory: pytest.TempPathFactory, root: str
) -> Iterator[ServedSftp]:
    """A fixture's body: an sftp server of ``kind`` serving a new folder named ``root``, with
    a throwaway home whose .ssh/config knows it; shut down when the fixture ends."""
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir(mode=0o700)
    server = kind(tmp_path_factory.mktemp(root), home / ".ssh")
    (home / ".ssh" / "config").write_text(server.ssh_config())
    server.start()
    try:
        yield server
    finally:
        server.shutdown()


def named(
    server: Served,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str],
    unset: Sequence[str] = (),
) -> Iterator[Served]:
    """A test's fixture body: the server running (a test before may have stopped it),
    named by the environment a user would set (``settings``; ``unset`` would say other
    things), with no connection made before."""
    if not server.running:
        server.start()
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    forget_connections()
    yield server
    forget_connections()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server for the whole session."""
    need("moto.server")
    yield from serving(S3Server(tmp_path_factory.mktemp("s3")))


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """The S3 server, named by AWS_ENDPOINT_URL with dummy keys, running, its log empty."""
    s3_server.forget_requests()
    settings = {
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    unset = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "FSSPEC_S3_ENDPOINT_URL")
    yield from named(s3_server, monkeypatch, settings, unset)


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """The sftp server for the whole session, serving a folder of its own."""
    need("asyncssh")
    yield from sftp_serving(SftpServer, tmp_path_factory, "sftp-root")


@pytest.fixture
def sftp(sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SftpServer]:
    """The sftp server, running, with HOME the throwaway home that knows it; no ssh agent."""
    sftp_server.reads.clear()
    home = {"HOME": str(sftp_server.client_key.parent.parent)}
    yield from named(sftp_server, monkeypatch, home, ("SSH_AUTH_SOCK",))


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    """The GCS emulator for the whole session."""
    need("gcp_storage_emulator")
    need("gcsfs")
    yield from serving(GcsServer(tmp_path_factory.mktemp("gcs")))


@pytest.fixture
def gcs(gcs_server: GcsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[GcsServer]:
    """The GCS emulator, running, named by STORAGE_EMULATOR_HOST (and nothing else)."""
    settings = {"STORAGE_EMULATOR_HOST": gcs_server.endpoint}
    unset = ("GOOGLE_APPLICATION_CREDENTIALS", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT")
    yield from named(gcs_server, monkeypatch, settings, unset)


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service for the whole session."""
    program = azurite()
    need("adlfs")
    yield from serving(AzuriteServer(tmp_path_factory.mktemp("azurite"), program))


@pytest.fixture
def azure(
    azurite_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AzuriteServer]:
    """Azurite, running, named by AZURE_STORAGE_CONNECTION_STRING (and nothing else)."""
    settings = {"AZURE_STORAGE_CONNECTION_STRING": azurite_server.connection_string}
    unset = [
        f"AZURE_STORAGE_{name}"
        for name in ("ACCOUNT_NAME", "ACCOUNT_KEY", "SAS_TOKEN", "CLIENT_ID", "ANON")
    ]
    yield from named(azurite_server, monkeypatch, settings, unset)


class HostileBlobs(ThreadingHTTPServer):
    """Just enough of Azure's Blob service to read a blob, answering each Get Blob the way
    ``mode`` says; Get Blob Properties (HEAD) tells the true size. Any account and
    container: ``/ACCOUNT/CONTAINER/KEY`` is the file KEY of ``root``; credentials are not
    checked.

    Modes: ``honest`` (Azure's answers: a 206 for the range asked, with its length),
    ``whole`` (200 with the whole blob, whatever ``x-ms-range`` asked), ``endless``
    (200, the blob and then ``filler`` for ever), ``endless206`` (206 with a true
    Content-Range, the range and then ``filler`` for ever), ``gzip`` (200 with
    Content-Encoding: gzip, a body that decompresses to ``bomb`` zero bytes). ``requests``
    counts Get Blobs and ``sent`` the bytes of their bodies the socket took.
    """

    daemon_threads = True

    def __init__(self, root: Path, mode: str, filler: bytes, bomb: int = 512 << 20) -> None:
        super().__init__(("127.0.0.1", 0), _BlobHandler)
        self.root = root
        self.mode = mode
        self.filler = filler
        self.bomb = bomb
        self.requests = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def connection_string(self) -> str:
        """What names the server to Azure's clients (with Azurite's published account)."""
        endpoint = f"http://127.0.0.1:{self.server_address[1]}/{AZURITE_ACCOUNT}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(STARTUP_S)


SEND_BUFFER: Final = 64 << 10
"""The send buffer of a hostile server's connections, fixed so that what its ``sent``
counts is what the reader took, give or take this and the reader's receive window.
Left to the kernel, a loopback send buffer grows to megabytes and fills again after
each ranged read that the reader leaves."""


class Counted(Protocol):
    lock: threading.Lock
    sent: int


class CountingHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler whose ``_send`` adds what the socket took to its server's
    ``sent``, on a connection with a SEND_BUFFER send buffer."""

    server: Any
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, chunk: bytes) -> None:
        self.wfile.write(chunk)
        counted: Counted = self.server
        with counted.lock:
            counted.sent += len(chunk)


class _BlobHandler(CountingHandler):
    server: HostileBlobs

    def _file(self) -> Path | None:
        key = urllib.parse.unquote(self.path.partition("?")[0]).split("/", 3)[3:]
        found = self.server.root / key[0] if key else None
        return found if found is not None and found.is_file() else None

    def _missing(self) -> None:
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("x-ms-error-code", "BlobNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        found = self._file()
        if found is None:
            return self._missing()
        st = found.stat()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("ETag", f'"0x{st.st_mtime_ns:X}"')
        self.send_header("x-ms-blob-type", "BlockBlob")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        found = self._file()
        if found is None:
            return self._missing()
        with self.server.lock:
            self.server.requests += 1
        data = found.read_bytes()
        start, end = asked_range(self.headers.get("x-ms-range"), len(data))
        mode = self.server.mode
        try:
            if mode == "gzip":
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _gzip_bomb(self.server.bomb):
                    self._send(chunk)
                return
            if mode == "endless206" or (mode == "honest" and self.headers.get("x-ms-range")):
                self.send_response(HTTPStatus.PARTIAL_CONTENT)
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                first = data[start:end]
            else:
                self.send_response(HTTPStatus.OK)
                first = data
            ends = mode in ("honest", "whole")
            if ends:
                self.send_header("Content-Length", str(len(first)))
            else:
                self.send_header("Connection", "close")  # no length: the body ends at close
            self.send_header("x-ms-blob-type", "BlockBlob")
            self.end_headers()
            self._send(first)
            more = self.server.filler * max(1, (64 << 10) // max(1, len(self.server.filler)))
            while not ends:
                self._send(more)
        except OSError:  # the reader hung up: what it wanted is read
            self.close_connection = True


def asked_range(header: str | None, size: int) -> tuple[int, int]:
    """The bytes [start, end) a ``bytes=A-B`` range asks for (all without one)."""
    if not header or not header.startswith("bytes="):
        return 0, size
    first, _, last = header.removeprefix("bytes=").partition("-")
    return int(first), min(size, int(last) + 1) if last else size


def _gzip_bomb(size: int) -> Iterator[bytes]:
    """A gzip stream of ``size`` zero bytes, made as it is sent (about 0.1% of it)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    for _ in range(size >> 20):
        if out := packer.compress(zeros):
            yield out
    yield packer.flush()


TRICKLE_S: Final = 0.5
"""The pause between two bytes of a trickling ftp transfer: well within a read's timeout."""


class HostileFtp(socketserver.ThreadingTCPServer):
    """A small ftp server serving a folder to anyone (passive mode, binary transfers,
    MLSD listings), whose answer to REST is ``mode``'s: ``honours`` (350, and the next
    RETR starts at the offset), ``refuses`` (502, as a server without restarts says) or
    ``ignores`` (350, and the next RETR sends the file from its first byte all the same);
    or ``trickles``: REST honoured, and a file sent a byte every TRICKLE_S.

    ``retrieved`` counts RETRs and ``sent`` the bytes their data connections took.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _FtpSession)
        self.root = root
        self.mode = mode
        self.retrieved = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str) -> str:
        return f"ftp://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(STARTUP_S)


class _FtpSession(socketserver.StreamRequestHandler):
    server: HostileFtp

    def handle(self) -> None:
        self.passive: socket.socket | None = None
        self.rest = 0
        try:
            self.say("220 ready")
            for raw in self.rfile:
                verb, _, arg = raw.decode("utf-8", "replace").strip().partition(" ")
                verb = verb.upper()
                if verb == "QUIT":
                    self.say("221 bye")
                    return
                handler = getattr(self, f"ftp_{verb}", None)
                if handler is None:
                    self.say(f"502 {verb} not implemented")
                else:
                    handler(arg)
        except OSError:  # the client hung up on the control connection
            return
        finally:
            if self.passive is not None:
                self.passive.close()

    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def ftp_USER(self, arg: str) -> None:
        self.say("331 any password")

    def ftp_PASS(self, arg: str) -> None:
        self.say("230 logged in")

    def ftp_TYPE(self, arg: str) -> None:
        self.say("200 type set")

    def ftp_PWD(self, arg: str) -> None:
        self.say('257 "/"')

    def ftp_NOOP(self, arg: str) -> None:
        self.say("200 ok")

    def ftp_PASV(self, arg: str) -> None:
        if self.passive is not None:
            self.passive.close()
        self.passive = socket.socket()
        self.passive.bind(("127.0.0.1", 0))
        self.passive.listen(1)
        self.passive.settimeout(STARTUP_S)
        port = self.passive.getsockname()[1]
        self.say(f"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255})")

    def ftp_REST(self, arg: str) -> None:
        if self.server.mode == "refuses":
            self.say("502 REST not implemented")
            return
        if self.server.mode != "ignores":
            self.rest = int(arg)
        self.say(f"350 Restarting at {arg}")

    def ftp_MLSD(self, arg: str) -> None:
        folder = self._local(arg)
        if not folder.is_dir():
            self.say("550 not a folder")
            return
        lines = [
            f"type={'dir' if p.is_dir() else 'file'};size={p.stat().st_size};"
            f"modify={time.strftime('%Y%m%d%H%M%S', time.gmtime(p.stat().st_mtime))}; {p.name}"
            for p in sorted(folder.iterdir())
        ]
        self._transfer("".join(f"{line}\r\n" for line in lines).encode())

    def ftp_RETR(self, arg: str) -> None:
        found = self._local(arg)
        if not found.is_file():
            self.rest = 0
            self.say("550 no such file")
            return
        with self.server.lock:
            self.server.retrieved += 1
        start, self.rest = self.rest, 0
        self._transfer(found.read_bytes()[start:], count=True)

    def _local(self, arg: str) -> Path:
        return self.server.root / arg.strip().lstrip("/")

    def _transfer(self, body: bytes, count: bool = False) -> None:
        if self.passive is None:
            self.say("425 use PASV first")
            return
        listener, self.passive = self.passive, None
        self.say("150 opening data connection")
        try:
            conn, _ = listener.accept()
        except OSError:
            self.say("425 no data connection")
            return
        finally:
            listener.close()
        step = 1 if count and self.server.mode == "trickles" else 64 << 10
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        try:
            with conn:
                for at in range(0, len(body), step):
                    conn.sendall(body[at : at + step])
                    if count:
                        with self.server.lock:
                            self.server.sent += len(body[at : at + step])
                    if step == 1:
                        time.sleep(TRICKLE_S)
        except OSError:  # the client hung up: what it wanted is read
            self.say("426 transfer aborted")
            return
        self.say("226 transfer complete")
