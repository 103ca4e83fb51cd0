"""The file systems behind URLs: fsspec and its backends, imported on first use, every call
time-bounded, every failure said in a few words without secrets.

Endpoints and credentials come from each backend's standard chain: for S3 the AWS
environment, profiles and roles (``AWS_ENDPOINT_URL`` or ``FSSPEC_S3_ENDPOINT_URL`` for
MinIO or a local server); for sftp the URL's user, ``~/.ssh/config`` (HostName, Port, User,
IdentityFile), the keys in ``~/.ssh`` and the ssh agent, with ``~/.ssh/known_hosts``
checked (a host it does not list is accepted, one whose key changed is refused).
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final
from urllib.parse import SplitResult, unquote, urlsplit

from value_diag.errors import ReadError
from value_diag.ingest.remote.urls import public, scheme, scrub

CONNECT_TIMEOUT_S: Final = 3.0
"""Longest wait for a connection (TCP, TLS, the ssh banner and authentication) (s)."""
READ_TIMEOUT_S: Final = 5.0
"""Longest wait for the next bytes of an answer once connected (s)."""
CALL_TIMEOUT_S: Final = 10.0
"""Wall-clock bound of any one call to an asyncio backend (S3, GCS, Azure, HTTP), retries
included: whatever a backend's own settings say, no call takes longer (s)."""

REMOTE_EXTRA: Final = "pip install 'value-diag[remote]'"
_EXTRA_PACKAGES: Final = frozenset({"fsspec", "s3fs", "paramiko", "aiohttp"})
"""What the remote extra installs (the packages whose absence it cures)."""
_SSH: Final = frozenset({"sftp", "ssh"})
"""Schemes of ssh hosts: the URL names a host and an absolute path on it, and the file
system is one connection, which a failure drops (the next call makes it again)."""
_WEB: Final = frozenset({"http", "https"})

_REASONS: Final = {
    "FSTimeoutError": "timed out",
    "ConnectTimeoutError": "timed out connecting",
    "ReadTimeoutError": "timed out waiting for the server",
    "TimeoutError": "timed out",
    "NoValidConnectionsError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset by the server",
    "ConnectionClosedError": "connection closed by the server",
    "EOFError": "connection closed by the server",
    "NoCredentialsError": "no credentials found (AWS_ACCESS_KEY_ID, a profile, a role)",
    "PartialCredentialsError": "incomplete credentials",
    "BadHostKeyException": "the host key does not match ~/.ssh/known_hosts",
    "AuthenticationException": "authentication failed",
    "PermissionError": "permission denied",
    "IsADirectoryError": "a directory",
    "FileNotFoundError": "not found",
}
"""Exception classes (by name, anywhere in the hierarchy, most specific first) in words."""
_SSH_MESSAGES: Final = {
    "Server connection dropped": "connection closed by the server",
    "Error reading SSH protocol banner": "timed out waiting for the ssh banner",
    "No existing session": "timed out starting the ssh session",  # connect gave up waiting
}
"""paramiko's SSHException says what happened only in its message: the usual ones in words."""
_MAX_REASON: Final = 160


class RemoteFailure(Exception):
    """A remote call failed; ``reason`` says why in a few words, with no secret in it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Stat:
    """What one metadata call says about a remote path."""

    size: int
    """Bytes."""
    mtime: float | None
    """Last modification (seconds since the epoch), if the backend says."""
    tag: str | None
    """The content's version (an ETag), if the backend has one."""
    directory: bool


def require(url: str) -> None:
    """Checks that the backend of ``url`` is installed, without connecting.

    Raises:
        ReadError: one line naming the scheme and what to install.
    """
    _class(_protocol(url))


@dataclass(frozen=True, slots=True)
class Remote:
    """One URL on its file system: the few calls value-diag makes, each time-bounded.

    Every method raises FileNotFoundError when the path is not there and RemoteFailure
    for anything else that went wrong.
    """

    url: str
    path: str
    """The path as the file system names it (``bucket/key``, ``/abs/path``, the URL)."""
    fs: Any

    def stat(self) -> Stat:
        """Size, modification time and version of the path: one cheap metadata call."""
        self.fs.invalidate_cache(self.path)  # a listing must not answer for the object
        info = self._call("info", self.path)
        return _stat(info)

    def cat(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file: one ranged read."""
        data = self._call("cat_file", self.path, start=start, end=end)
        return bytes(data)

    def find(self) -> list[str]:
        """Every file below the path, as the file system names them."""
        self.fs.invalidate_cache()
        found = self._call("find", self.path)
        return [str(p) for p in found]

    def glob(self) -> list[str]:
        """The files the path, a pattern, matches."""
        self.fs.invalidate_cache()
        found = self._call("glob", self.path, detail=True)
        return [str(name) for name, info in found.items() if info.get("type") == "file"]

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            if getattr(self.fs, "async_impl", False):
                from fsspec.asyn import sync  # type: ignore[import-untyped]

                coroutine = getattr(self.fs, "_" + method)
                return sync(self.fs.loop, coroutine, *args, timeout=CALL_TIMEOUT_S, **kwargs)
            return getattr(self.fs, method)(*args, **kwargs)
        except FileNotFoundError:
            raise
        except Exception as exc:  # any library's error, at the edge: said in words
            if _protocol(self.url) in _SSH:
                _forget(self.url)
            raise RemoteFailure(reason(exc, self.url)) from None


def connect(url: str) -> Remote:
    """The file system of ``url`` (one per scheme and host, shared) and the path on it.

    Raises:
        ReadError: the backend is not installed, or the scheme is unknown.
        RemoteFailure: a backend that connects at once (sftp) could not.
    """
    protocol = _protocol(url)
    parts = urlsplit(url)
    key = (protocol, parts.netloc)
    with _LOCK:
        fs = _FILESYSTEMS.get(key)
    if fs is None:
        cls = _class(protocol)
        try:
            fs = _make(cls, protocol, parts)
        except Exception as exc:  # any library's error, at the edge: said in words
            raise RemoteFailure(reason(exc, url)) from None
        with _LOCK:
            fs = _FILESYSTEMS.setdefault(key, fs)
    return Remote(url, _fs_path(fs, protocol, parts, url), fs)


def forget_connections() -> None:
    """Drops every file system made so far: the next call connects again."""
    with _LOCK:
        _FILESYSTEMS.clear()


def reason(exc: BaseException, url: str = "") -> str:
    """Why a remote call failed, in a few words: no traceback, no secret of ``url``."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    for name in names:
        if name in _REASONS:
            return _REASONS[name]
    if "SSHException" in names:
        text = str(exc)
        said = next((v for k, v in _SSH_MESSAGES.items() if text.startswith(k)), None)
        return said or scrub(f"ssh: {(text.splitlines() or [''])[0]}", url)[:_MAX_REASON]
    if "EndpointConnectionError" in names:
        return f"cannot connect to {_endpoint(str(exc))}"
    if "ClientError" in names:  # botocore: the service's error code says it all
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code:
            return scrub(str(code), url)[:_MAX_REASON]
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    first = (text.strip().splitlines() or [""])[0]
    said = first if isinstance(exc, OSError) and first else f"{type(exc).__name__}: {first}"
    return scrub(said.rstrip(": "), url)[:_MAX_REASON]


_LOCK = threading.Lock()
_FILESYSTEMS: dict[tuple[str, str], Any] = {}


def _forget(url: str) -> None:
    parts = urlsplit(url)
    with _LOCK:
        _FILESYSTEMS.pop((_protocol(url), parts.netloc), None)


def _protocol(url: str) -> str:
    found = scheme(url)
    if found is None:
        raise ValueError(f"not a URL: {public(url)}")
    return found


def _class(protocol: str) -> Any:
    """The fsspec class of a protocol; ReadError naming what to install if it is missing."""
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise ReadError(_needs(protocol, "the remote extra", REMOTE_EXTRA)) from None
    _quiet_loggers()
    try:
        return fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ReadError(
            f"cannot read {protocol}:// URLs: no fsspec backend knows that scheme"
        ) from None
    except ImportError:
        from fsspec.registry import known_implementations  # type: ignore[import-untyped]

        package = known_implementations[protocol]["class"].split(".")[0]
        if package in _EXTRA_PACKAGES:
            raise ReadError(_needs(protocol, "the remote extra", REMOTE_EXTRA)) from None
        raise ReadError(_needs(protocol, package, f"{REMOTE_EXTRA} {package}")) from None


@cache
def _quiet_loggers() -> None:
    """Keeps the backends' log records off stderr, which watch draws on.

    Without a handler of their own, Python prints their warnings and errors (paramiko
    logs a traceback for a server that never sends its banner) through its last-resort
    handler. Failures reach the user as RemoteFailure reasons instead.
    """
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(logging.NullHandler())


_LOGGERS: Final = ("paramiko", "fsspec", "s3fs", "aiobotocore", "botocore", "gcsfs", "adlfs")


def _needs(protocol: str, what: str, command: str) -> str:
    return f"reading {protocol}:// URLs needs {what}: {command}"


def _make(cls: Any, protocol: str, parts: SplitResult) -> Any:
    if protocol in _SSH:
        fs = cls(skip_instance_cache=True, **_ssh_options(parts))
        fs.ftp.get_channel().settimeout(READ_TIMEOUT_S)
        return fs
    options = _OPTIONS.get(protocol, _no_options)(parts)
    fs = cls(skip_instance_cache=True, **options)
    if protocol in ("s3", "s3a"):
        fs.retries = 1  # s3fs's own retry loop, on top of botocore's (also one attempt)
    return fs


def _fs_path(fs: Any, protocol: str, parts: SplitResult, url: str) -> str:
    if protocol in _SSH:
        return parts.path or "/"
    if protocol in _WEB:
        return url  # the query may be the token that grants access
    bucket = parts.netloc.rpartition("@")[2]  # as written: hostname would lower its case
    return str(fs._strip_protocol(f"{protocol}://{bucket}{parts.path}"))


def _no_options(parts: SplitResult) -> dict[str, Any]:
    return {}


def _s3_options(parts: SplitResult) -> dict[str, Any]:
    options: dict[str, Any] = {
        "config_kwargs": {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
            "retries": {"mode": "standard", "total_max_attempts": 1},
        },
    }
    if parts.username:  # s3://KEY:SECRET@bucket/..., s3fs's own spelling
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


def _azure_options(parts: SplitResult) -> dict[str, Any]:
    return {"connection_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S}


def _http_options(parts: SplitResult) -> dict[str, Any]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)
    return {"client_kwargs": {"timeout": timeout}}


_OPTIONS: Final[dict[str, Callable[[SplitResult], dict[str, Any]]]] = {
    "s3": _s3_options,
    "s3a": _s3_options,
    "az": _azure_options,
    "abfs": _azure_options,
    "abfss": _azure_options,
    "http": _http_options,
    "https": _http_options,
}
"""Each backend's own connect and read timeouts and retries (others: CALL_TIMEOUT_S only)."""


def _ssh_options(parts: SplitResult) -> dict[str, Any]:
    """paramiko's connect arguments: the URL, then ~/.ssh/config, then paramiko's defaults."""
    alias = parts.hostname or ""
    config = _ssh_config(alias)
    options: dict[str, Any] = {
        "host": config.get("hostname", alias),
        "port": parts.port or int(config.get("port", 22)),
        "timeout": CONNECT_TIMEOUT_S,
        "banner_timeout": CONNECT_TIMEOUT_S,
        "auth_timeout": CONNECT_TIMEOUT_S,
        "channel_timeout": CONNECT_TIMEOUT_S,
        "host_key_policy": _known_hosts_policy()(),
    }
    user = unquote(parts.username) if parts.username else config.get("user")
    if user:
        options["username"] = user
    if parts.password:
        options["password"] = unquote(parts.password)
    keys = [os.path.expanduser(k) for k in config.get("identityfile", [])]
    if keys := [k for k in keys if os.path.exists(k)]:
        options["key_filename"] = keys
    return options


def _ssh_config(alias: str) -> dict[str, Any]:
    """What ``~/.ssh/config`` says about a host ({} without the file)."""
    import paramiko  # type: ignore[import-untyped]

    path = os.path.expanduser("~/.ssh/config")
    if not os.path.exists(path):
        return {}
    return dict(paramiko.SSHConfig.from_path(path).lookup(alias))


@cache
def _known_hosts_policy() -> Any:
    """paramiko's policy for host keys: ~/.ssh/known_hosts is checked, new hosts accepted.

    fsspec's client knows no host keys, so paramiko asks this policy about every one.
    """
    import paramiko

    class KnownHosts(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            known = paramiko.HostKeys()
            try:
                known.load(os.path.expanduser("~/.ssh/known_hosts"))
            except OSError:
                return
            entry = known.lookup(hostname)
            if entry is not None and key.get_name() in entry and entry[key.get_name()] != key:
                raise paramiko.BadHostKeyException(hostname, key, entry[key.get_name()])

    return KnownHosts


def _stat(info: dict[str, Any]) -> Stat:
    size = info.get("size")
    directory = info.get("type") == "directory"
    if size is None and not directory:
        raise RemoteFailure("the server does not say the size")
    tag = next((str(info[k]) for k in ("ETag", "etag", "Etag") if info.get(k)), None)
    when = next((info[k] for k in _TIMES if info.get(k)), None)
    return Stat(int(size or 0), _seconds(when), tag, directory)


_TIMES: Final = ("mtime", "LastModified", "last_modified", "Last-Modified", "updated")
"""Where backends put the modification time (datetime, seconds, or a date string)."""


def _seconds(when: object) -> float | None:
    if isinstance(when, datetime):
        return when.timestamp()
    if isinstance(when, int | float):
        return float(when)
    if isinstance(when, str):
        try:
            return email.utils.parsedate_to_datetime(when).timestamp()
        except (TypeError, ValueError):
            pass
        try:
            return datetime.fromisoformat(when).timestamp()
        except ValueError:
            return None
    return None


def _endpoint(text: str) -> str:
    """The scheme, host and port of the first URL in a message ('the endpoint' if none)."""
    for word in text.replace('"', " ").split():
        if "://" in word:
            parts = urlsplit(word)
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return "the endpoint"
