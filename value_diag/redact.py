"""What of a URL may be shown: the one rule for every message, frame, report and thread name. Pure.

User-info is everything between ``://`` and the last ``@``: a password may hold ``/``,
``?``, ``#`` or ``@`` (an AWS secret key often holds ``/``), and then no parser can tell
where it ends, so the last ``@`` is taken, whatever comes before it. Query strings and
fragments carry tokens (pre-signed S3 URLs, Azure SAS): they are never shown either.

User-info that ends at the host (no ``/``, ``?`` or ``#`` in it) is left out:
``s3://key:secret@bucket/run.jsonl`` shows as ``s3://bucket/run.jsonl``. One that does not
is shown as ``***@``: ``s3://key:se/cret@bucket/run.jsonl`` as ``s3://***@bucket/run.jsonl``,
so that what follows the ``@`` is not taken for the whole URL (and a path that holds an
``@`` of its own shows where it was cut). An Azure container written before its account
(``abfss://container@account.dfs.core.windows.net/...``) says where the file is, not who
reads it: it stays.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple
from urllib.parse import unquote

SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
"""RFC 3986's scheme, then ``//``: what sets a URL apart from a path (``C:\\`` has no //)."""
AZURE: Final = frozenset({"az", "abfs", "abfss"})
"""Schemes of Azure Blob Storage (adlfs)."""
MARK: Final = "***"
"""What stands for hidden user-info whose end is unclear, and for a secret in a message."""
_UNCLEAR: Final = frozenset("/?#")
"""Characters of user-info that make its end unclear (they end the host part of a URL)."""
_DELIMITERS: Final = re.compile(r"[:/?#@\[\];&=\s]")
"""Where a parser may cut user-info into pieces (user, password, host, port, path)."""
_URL_IN_TEXT: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")
"""A URL quoted in some message: up to a space, a quote or an angle bracket."""


class Parts(NamedTuple):
    """A URL cut where its secrets are."""

    scheme: str
    """As written (``s3``, ``S3``)."""
    user: str | None
    """Everything between ``://`` and the last ``@``; None without an ``@``."""
    where: str
    """Host and path: what follows the user-info, up to the query or fragment."""
    query: str | None
    """After the first ``?`` (if it comes before any ``#``), up to the fragment."""
    fragment: str | None
    """After the first ``#`` that follows the user-info."""


def split(url: str) -> Parts | None:
    """The URL's parts as this module reads them; None for a path (no ``scheme://``)."""
    found = SCHEME.match(url)
    if found is None:
        return None
    body = url[found.end() :]
    scheme = found.group(1)
    user: str | None = None
    if scheme.lower() != "file":  # a local path: no one's name in it, and its @ are names
        before, at, after = body.rpartition("@")
        if at:
            user, body = before, after
    body, hashed, fragment = body.partition("#")
    where, asked, query = body.partition("?")
    return Parts(scheme, user, where, query if asked else None, fragment if hashed else None)


def public(url: str) -> str:
    """The URL as it may be shown: no user-info, query or fragment (see the module).

    A path (no ``scheme://``) is returned as it is. ``public(public(url)) == public(url)``.
    """
    parts = split(url)
    if parts is None:
        return url
    return f"{parts.scheme.lower()}://{_user_shown(parts)}{parts.where}"


def without_user(url: str) -> str:
    """The URL without its user-info and query, its fragment kept: for a line that may
    name a run of a group (``run.jsonl#GROUP``), where public's cut would lose the group."""
    parts = split(url)
    if parts is None:
        return url
    fragment = "" if parts.fragment is None else "#" + parts.fragment
    return f"{parts.scheme.lower()}://{_user_shown(parts)}{parts.where}{fragment}"


def scrub(text: str, url: str = "") -> str:
    """``text`` with every URL in it shown as ``public`` shows it, and every secret of
    ``url`` (its user-info, password, query and fragment, also percent-decoded) gone.

    For messages of libraries, which may quote the URL they were given in full, or only
    a piece of it (a password in a login error).
    """
    if url:
        text = text.replace(url, public(url))
    for secret in sorted(secrets(url), key=len, reverse=True):
        text = text.replace(secret, MARK)
    return _URL_IN_TEXT.sub(lambda found: public(found.group(0)), text)


def scrub_users(text: str) -> str:
    """``text`` with every URL in it shown as ``without_user`` shows it."""
    return _URL_IN_TEXT.sub(lambda found: without_user(found.group(0)), text)


def secrets(url: str) -> set[str]:
    """What of ``url`` must never be shown alone in a message, as written and
    percent-decoded: its user-info, password, query and fragment, each piece of the
    user-info between delimiters, and each ``key=value`` of the query; those of at least
    MIN_SECRET characters (a shorter one would take letters out of every word)."""
    parts = split(url)
    if parts is None:
        return set()
    found: set[str] = set()
    user = parts.user
    if user and _user_shown(parts) != user + "@":
        # Each piece between delimiters too: a library that cuts the URL where a parser
        # does (at the first / ? or #) quotes pieces of a password as a port or a host.
        found |= {user, user.partition(":")[2], *_DELIMITERS.split(user)}
    query, fragment = parts.query or "", parts.fragment or ""
    found |= {query, fragment, *query.split("&")}
    if parts.query is not None and parts.fragment is not None:
        found.add(f"{query}#{fragment}")
    return {s for piece in found for s in (piece, unquote(piece)) if len(s) >= MIN_SECRET}


MIN_SECRET: Final = 4
"""Shortest piece of a URL's secrets hidden wherever it appears in a message."""


def _user_shown(parts: Parts) -> str:
    """What stands for the user-info: nothing, the mark, or an Azure container."""
    user = parts.user
    if user is None:
        return ""
    if user == MARK or not _UNCLEAR.isdisjoint(user):
        return MARK + "@"
    if parts.scheme.lower() in AZURE and user and ":" not in user:
        return user + "@"  # a container before its account: a name, no password
    return ""
