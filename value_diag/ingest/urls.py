"""URLs of remote run files: telling them from paths, and the only form that may be shown. Pure.

What may be shown of a URL is value_diag/redact.py's rule (``public``, ``scrub``), which
frames, reports and messages share; the rest here is how a URL is read.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from value_diag.errors import ReadError
from value_diag.redact import AZURE, SCHEME, public, scrub

__all__ = [
    "AZURE",
    "azure_container",
    "is_url",
    "local_path",
    "path_part",
    "public",
    "rebuild",
    "scheme",
    "scrub",
]


def scheme(url: str) -> str | None:
    """The URL's scheme in lower case (``s3``, ``sftp``), or None for a path."""
    found = SCHEME.match(url)
    return found.group(1).lower() if found else None


def is_url(path: str) -> bool:
    """Whether ``path`` is a remote URL (``scheme://...``); ``file://`` and ``local://``
    name local files (``local_path``)."""
    found = scheme(path)
    return found is not None and found not in LOCAL


LOCAL: Final = frozenset({"file", "local"})
"""Schemes of this machine's files (fsspec's names): read as the paths they name, with
every check a path gets (a FIFO or a device is refused)."""


def local_path(given: str) -> str | None:
    """The path a ``file://`` or ``local://`` URL names, decoded (``file:///runs/a%20b``
    is ``/runs/a b``; ``file://localhost/runs`` is ``/runs``); None for anything else.

    Raises:
        ReadError: the URL names another host (``file://server/share``).
    """
    kind = scheme(given)
    if kind not in LOCAL:
        return None
    parts = urlsplit(given)
    if parts.netloc.lower() not in ("", "localhost"):
        raise ReadError(
            f"cannot read {public(given)}: a {kind}:// URL names a file of this machine "
            f"({kind}:///path)"
        )
    from urllib.request import url2pathname  # only here: it imports http.client

    return url2pathname(parts.path) or "/"


def azure_container(url: str) -> str | None:
    """The container of an Azure URL written ``container@account.…`` (as Azure's portal,
    Databricks and Synapse write ``abfss://`` URLs); None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in AZURE or "@" not in parts.netloc:
        return None
    user = parts.netloc.rpartition("@")[0]
    return None if not user or ":" in user else user


def path_part(url: str) -> str:
    """The path of a URL (after the host or bucket), where glob characters may be."""
    return urlsplit(url).path


def rebuild(url: str, fs_path: str) -> str:
    """The URL of ``fs_path`` (a path as the file system lists it) beside ``url``.

    It keeps ``url``'s user-info and query, so that it can be opened the same way. Object
    stores list ``bucket/key`` (the bucket is the URL's host); hosts list ``/abs/path``.
    """
    parts = urlsplit(url)
    host = _host(parts.netloc)
    user = parts.netloc[: len(parts.netloc) - len(host)]  # "user:pass@" or ""
    bucket = azure_container(url) or host  # Azure lists container/key under either form
    if (
        bucket
        and not fs_path.startswith("/")
        and (fs_path == bucket or fs_path.startswith(bucket + "/"))
    ):
        netloc, path = user + host, fs_path[len(bucket) :]
    else:
        netloc, path = parts.netloc, fs_path if fs_path.startswith("/") else "/" + fs_path
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{path}{query}{fragment}"


def _host(netloc: str) -> str:
    return netloc.rpartition("@")[2]
