"""Run files on other machines: object stores and hosts through fsspec (the remote extra).

Nothing here imports fsspec or a backend until a URL is read, so local paths never pay for
it. Only ``public(url)`` of a URL may be shown: the URL as given may hold credentials.

- ``is_url(path)``, ``public(url)``: telling URLs from paths, and the form that is shown.
- ``list_runs(url, pattern)``: the run files a directory, prefix or pattern names;
  ``missing(url)``: what is not there when it names none (a misspelt bucket).
- ``RemoteTail(url)``: follows one remote file by polling (the interface of ingest.tail.Tail).
- ``read_remote(url, now)``: a whole remote file folded, a big one in parallel ranged parts.
- ``info(url)``: size, modification time and version in one metadata call.
"""

from __future__ import annotations

from value_diag.ingest.remote.backends import Stat, forget_connections, require
from value_diag.ingest.remote.listing import list_runs, missing
from value_diag.ingest.remote.settings import CALL_TIMEOUT_S, CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from value_diag.ingest.remote.tail import RemoteTail
from value_diag.ingest.remote.whole import info, read_remote
from value_diag.ingest.urls import is_url, public

__all__ = [
    "CALL_TIMEOUT_S",
    "CONNECT_TIMEOUT_S",
    "READ_TIMEOUT_S",
    "RemoteTail",
    "Stat",
    "forget_connections",
    "info",
    "is_url",
    "list_runs",
    "missing",
    "public",
    "read_remote",
    "require",
]
