"""How each backend is set up: the timeouts, retries and ssh settings, in one place.

Every network call is time-bounded so that a caller (watch's drawing loop) never waits
long: each backend gets its own connect and read timeouts and a single attempt, and every
call a wall-clock bound besides (CALL_TIMEOUT_S; LIST_TIMEOUT_S for a listing of a host's
folders, one call per folder). gcsfs
alone cannot be held to one attempt (its retries are fixed when it is imported): a GCS
server that is down is said as timed out, after CALL_TIMEOUT_S.

For sftp the URL's user and port come first, then ``~/.ssh/config`` (HostName, Port,
User, IdentityFile), then paramiko's defaults (the keys in ``~/.ssh``, the ssh agent);
``~/.ssh/known_hosts`` is checked (a host it does not list is accepted, one whose key
changed is refused). ProxyJump and ProxyCommand are not followed. A URL whose host is no
host name or address is refused before the config is read (``ssh_host``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Final
from urllib.parse import SplitResult, unquote, urlsplit

from value_diag.errors import ReadError
from value_diag.ingest.urls import AZURE, azure_container, public

SSH: Final = frozenset({"sftp", "ssh"})
"""Schemes of ssh hosts: the URL names a host and an absolute path on it, and the file
system is one connection, which a failure drops (the next call makes it again)."""
GCS: Final = frozenset({"gs", "gcs"})
"""Schemes of Google Cloud Storage (gcsfs); Azure's are urls.AZURE."""

CONNECT_TIMEOUT_S: Final = 3.0
"""Longest wait for a connection (TCP, TLS, the ssh banner and authentication) (s)."""
READ_TIMEOUT_S: Final = 5.0
"""Longest wait for the next bytes of an answer once connected (s)."""
CALL_TIMEOUT_S: Final = 10.0
"""Wall-clock bound of any one call to an asyncio backend (S3, GCS, Azure, HTTP), retries
included: whatever a backend's own settings say, no call takes longer (s). Calls of the
backends that keep a connection (sftp, ftp) are held to it by ingest/remote/deadline.py."""
LIST_TIMEOUT_S: Final = 60.0
"""Longest listing of a folder tree on a host (sftp, ftp), one call per folder: a tree
too big or looping to list in this time is said as such (s)."""


def options(protocol: str, parts: SplitResult) -> dict[str, Any]:
    """The keyword arguments of the fsspec class of ``protocol`` for the URL ``parts``."""
    return _OPTIONS.get(protocol, _no_options)(parts)


def prepare(protocol: str) -> None:
    """What must be settled before a backend is imported.

    gcsfs asks every bucket over gRPC whether it has a hierarchical namespace, unless
    ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT`` is false; an emulator named by
    ``STORAGE_EMULATOR_HOST`` speaks only the JSON API, so the question would hang until
    the call's bound. With an emulator the question is not asked (unless the variable
    says otherwise): its buckets are plain ones.
    """
    if protocol in GCS and os.environ.get("STORAGE_EMULATOR_HOST"):
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def tune(protocol: str, fs: Any) -> None:
    """What can only be set on a file system once it is made."""
    if protocol in ("s3", "s3a"):
        fs.retries = 1  # s3fs's own retry loop, on top of botocore's (also one attempt)
    elif protocol in SSH:
        fs.ftp.get_channel().settimeout(READ_TIMEOUT_S)  # each sftp request, once connected
    elif protocol in AZURE:
        _one_azure_attempt(fs)


def _one_azure_attempt(fs: Any) -> None:
    """One attempt per Azure call, as for the other backends.

    adlfs builds its client with the storage SDK's retry policy (three retries, the first
    after 15 s, which would hold a failing call until CALL_TIMEOUT_S and a recovered
    server unread as long); no option of adlfs reaches it, so it is set on the client.
    """
    client = getattr(fs, "service_client", None)
    policy = getattr(getattr(client, "_config", None), "retry_policy", None)
    for name in ("total_retries", "connect_retries", "read_retries", "status_retries"):
        if hasattr(policy, name):
            setattr(policy, name, 0)


def _no_options(parts: SplitResult) -> dict[str, Any]:
    return {}


def _s3_options(parts: SplitResult) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "config_kwargs": {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
            "retries": {"mode": "standard", "total_max_attempts": 1},
        },
    }
    if parts.username:  # s3://KEY:SECRET@bucket/..., s3fs's own spelling
        kwargs["username"] = unquote(parts.username)
        kwargs["password"] = unquote(parts.password or "")
    return kwargs


def _gcs_options(parts: SplitResult) -> dict[str, Any]:
    return {"requests_timeout": _aiohttp_timeout()}


def _azure_options(parts: SplitResult) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "connection_timeout": CONNECT_TIMEOUT_S,
        "read_timeout": READ_TIMEOUT_S,
    }
    if azure_container(parts.geturl()) and parts.hostname:  # container@account.dfs.core...
        kwargs["account_name"] = parts.hostname.split(".")[0]
    return kwargs


def _http_options(parts: SplitResult) -> dict[str, Any]:
    return {"client_kwargs": {"timeout": _aiohttp_timeout()}}


def _ftp_options(parts: SplitResult) -> dict[str, Any]:
    """ftplib's: the URL's host, port, user and password, one timeout for every step."""
    kwargs: dict[str, Any] = {"host": parts.hostname or "", "timeout": READ_TIMEOUT_S}
    if parts.port:
        kwargs["port"] = parts.port
    if parts.username:
        kwargs["username"] = unquote(parts.username)
        kwargs["password"] = unquote(parts.password or "")
    return kwargs


def _aiohttp_timeout() -> Any:
    """The connect and read bounds as aiohttp takes them (the HTTP and GCS backends)."""
    import aiohttp

    return aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)


def ssh_host(url: str) -> str:
    """The host of an ssh URL, once it is known to be a host name or an IP address.

    ``~/.ssh/config`` may run a command with the host in it (``Match exec "… %h"``): a
    host holding shell syntax (``sftp://a;touch${IFS}x;/run.jsonl``) would run it there
    (the OpenSSH CVE-2023-51385 class). Such a host is refused before the file is read.

    Raises:
        ReadError: the host holds other characters than a name's or an address's.
    """
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # an unbalanced bracket, a bad port
        host = ""
    if _HOST_NAME.fullmatch(host) or _address(host):
        return host
    raise ReadError(
        f"cannot read {public(url)}: its host is not a host name or an IP address "
        "(letters, digits, '.', '-' and '_')"
    )


_HOST_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}")
"""A host name or an ssh alias: what ``%h`` may hold without quoting."""


def _address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ssh_options(parts: SplitResult) -> dict[str, Any]:
    """paramiko's connect arguments: the URL, then ~/.ssh/config, then paramiko's defaults."""
    alias = ssh_host(parts.geturl())  # before the config is read: it may run commands
    config = _ssh_config(alias)
    kwargs: dict[str, Any] = {
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
        kwargs["username"] = user
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    keys = [os.path.expanduser(k) for k in config.get("identityfile", [])]
    if keys := [k for k in keys if os.path.exists(k)]:
        kwargs["key_filename"] = keys
    return kwargs


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


_OPTIONS: Final[dict[str, Callable[[SplitResult], dict[str, Any]]]] = {
    "s3": _s3_options,
    "s3a": _s3_options,
    **dict.fromkeys(GCS, _gcs_options),
    **dict.fromkeys(AZURE, _azure_options),
    "http": _http_options,
    "https": _http_options,
    "sftp": _ssh_options,
    "ssh": _ssh_options,
    "ftp": _ftp_options,
}
"""Each backend's own timeouts, retries and credentials (others: CALL_TIMEOUT_S only)."""
