"""URLs of remote run files: telling them from paths, and the only form that may be shown. Pure.

What may be shown of a URL is value_diag/redact.py's rule (``public``, ``scrub``), which
frames, reports and messages share; the rest here is how a URL is read.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from value_diag.redact import AZURE, SCHEME, public, scrub

__all__ = [
    "AZURE",
    "azure_container",
    "is_url",
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
    """Whether ``path`` is a remote URL (``scheme://...``); ``file://`` is a local path."""
    found = scheme(path)
    return found is not None and found != "file"


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
