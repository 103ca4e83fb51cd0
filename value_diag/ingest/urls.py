"""URLs of remote run files: telling them from paths, and the only form that may be shown. Pure."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

AZURE: Final = frozenset({"az", "abfs", "abfss"})
"""Schemes of Azure Blob Storage (adlfs)."""
_SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
"""RFC 3986's scheme, then ``//``: what sets a URL apart from a path (``C:\\`` has no //)."""
_CREDENTIALS: Final = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]*@")
"""User-info inside a URL quoted in some message."""
_TOKENS: Final = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#'\"]*)[?#][^\s'\"]*")
"""A query string or fragment after a URL quoted in some message."""


def scheme(url: str) -> str | None:
    """The URL's scheme in lower case (``s3``, ``sftp``), or None for a path."""
    found = _SCHEME.match(url)
    return found.group(1).lower() if found else None


def is_url(path: str) -> bool:
    """Whether ``path`` is a remote URL (``scheme://...``); ``file://`` is a local path."""
    found = scheme(path)
    return found is not None and found != "file"


def public(url: str) -> str:
    """The URL as it may be shown: without user-info (``user:pass@``), query or fragment.

    Query strings carry tokens (pre-signed S3 URLs, Azure SAS) and user-info carries
    passwords: neither may appear in output, errors or JSON. An Azure container written
    before its account (``abfss://container@account.dfs.core.windows.net/...``) is not
    user-info but where the file is: it stays.
    """
    if scheme(url) is None:
        return url
    parts = urlsplit(url)
    container = azure_container(url)
    shown = "" if container is None else container + "@"
    return f"{parts.scheme}://{shown}{_host(parts.netloc)}{parts.path}"


def azure_container(url: str) -> str | None:
    """The container of an Azure URL written ``container@account.…`` (as Azure's portal,
    Databricks and Synapse write ``abfss://`` URLs); None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in AZURE or "@" not in parts.netloc:
        return None
    user = parts.netloc.rpartition("@")[0]
    return None if not user or ":" in user else user


def scrub(text: str, url: str = "") -> str:
    """``text`` with every secret of ``url``, and any user-info or query of a URL in it, gone.

    For messages of libraries, which may quote the URL they were given in full.
    """
    if url and scheme(url) is not None:
        parts = urlsplit(url)
        user = "" if azure_container(url) else parts.netloc.rpartition("@")[0]
        secrets = [parts.query, parts.fragment, user]
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            text = text.replace(secret, "…")
    text = _CREDENTIALS.sub(r"\g<scheme>", text)
    return _TOKENS.sub(r"\g<url>", text)


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
