"""The file systems behind URLs: fsspec and its backends, imported on first use.

One file system per scheme and host, shared; each call through ``Remote`` is time-bounded
(settings.py) and its failure said in a few words without secrets (reasons.py).
Endpoints and credentials come from each backend's standard chain: for S3 the AWS
environment, profiles and roles (``AWS_ENDPOINT_URL`` or ``FSSPEC_S3_ENDPOINT_URL`` for
MinIO or a local server, ``FSSPEC_S3_ANON=true`` for a public bucket); for GCS Google's
application default credentials (``STORAGE_EMULATOR_HOST`` for an emulator); for Azure
``AZURE_STORAGE_CONNECTION_STRING`` or the account name and key or identity variables; for
sftp the ssh settings of settings.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from value_diag.errors import ReadError
from value_diag.ingest.remote import bodies, deadline, ftp, settings
from value_diag.ingest.remote.answers import Unranged, plain
from value_diag.ingest.remote.reasons import RemoteFailure, reason
from value_diag.ingest.urls import AZURE, azure_container, public, scheme

REMOTE_EXTRA: Final = "pip install 'value-diag[remote]'"
_EXTRAS: Final = {
    "fsspec": "remote",
    "s3fs": "remote",
    "paramiko": "remote",
    "aiohttp": "remote",
    "gcsfs": "gcs",
    "adlfs": "azure",
}
"""The extra that installs each backend package (the one whose absence it cures)."""
_WEB: Final = frozenset({"http", "https"})


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
    """Checks that the backend of ``url`` is installed and its host one that may be
    looked up, without connecting.

    Raises:
        ReadError: one line naming the scheme and what to install, or the URL and what
            is wrong with its host.
    """
    protocol = _protocol(url)
    _class(protocol)
    if protocol in settings.SSH:
        settings.ssh_host(url)


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
        self.fs.invalidate_cache(self.fs._parent(self.path))  # ftp's info lists the folder
        info = self._call("info", self.path)
        return _stat(info)

    def cat(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file by one ranged read, checked: fewer only where the
        file ends.

        Raises:
            Unranged: the server answered with other bytes than the range (read the file
                with ``stream`` instead).
        """
        if end <= start:
            return b""
        if self._ftp:
            return bytes(self._sync(ftp.read_range, self.fs, self.path, start, end))
        open_ = self._opener()
        if open_ is None:
            data = bytes(self._call("cat_file", self.path, start=start, end=end))
            if len(data) > end - start:
                raise RemoteFailure("the server sent more bytes than were asked for")
            return data
        return bytes(self._run(bodies.read_range(open_, start, end)))

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file: one ranged read, or where the server does not
        answer one, the file read as one stream up to ``end``."""
        try:
            return self.cat(start, end)
        except Unranged:
            return b"".join(self.stream(start, end, max(1, end - start)))

    def stream(self, start: int, end: int, block: int) -> Iterator[bytes]:
        """Bytes [start, end) of the file in blocks of ``block`` bytes at most, from one
        answer to a read of the whole file (no range): the bytes before ``start`` are
        read and dropped, none after ``end`` is read. Each block is a call of its own,
        with its own time bound."""
        if self._ftp:
            yield from self._ftp_stream(start, end, block)
            return
        open_ = self._opener()
        if open_ is None:
            for pos in range(start, end, block):
                data = self.cat(pos, min(end, pos + block))
                if not data:
                    return
                yield data
            return
        body: bodies.Body = self._run(bodies.open_whole(open_))
        try:
            pos = 0
            while pos < end:
                want = min(block, end - pos) if pos >= start else min(block, start - pos)
                data = self._run(bodies.read_some(body, want))
                if not data:
                    return
                if pos >= start:
                    yield data
                pos += len(data)
        finally:
            self.fs.loop.call_soon_threadsafe(body.close)

    def _ftp_stream(self, start: int, end: int, block: int) -> Iterator[bytes]:
        """``stream`` on an ftp server: one RETR from the first byte, on a connection of
        its own, hung up at ``end`` (or past a read's time bound)."""
        transfer: ftp.Stream = self._sync(ftp.Stream, self.fs, self.path)
        try:
            pos = 0
            while pos < end:
                want = min(block, end - pos) if pos >= start else min(block, start - pos)
                data = self._sync(transfer.read, want, cancel=transfer.close)
                if not data:
                    return
                if pos >= start:
                    yield data
                pos += len(data)
        finally:
            transfer.close()

    def find(self) -> list[str]:
        """Every file below the path, as the file system names them (on a host, outside
        hidden folders, which are not entered).

        Raises:
            RemoteFailure: also, on a host, for a tree that cannot be listed within the
                bounds of ``_walk``.
        """
        self.fs.invalidate_cache()
        if getattr(self.fs, "async_impl", False):  # object stores: one flat listing
            return [str(p) for p in self._call("find", self.path)]
        return self._walk()

    def _walk(self) -> list[str]:
        """The files below a folder of a host, one listing call per folder (each bounded
        by CALL_TIMEOUT_S), and within bounds in all: LIST_TIMEOUT_S, MAX_DEPTH folders
        deep (a server that shows a link to a folder as the folder loops for ever, and
        three such links make the tree grow threefold at each level), MAX_ENTRIES.
        """
        ends = time.monotonic() + settings.LIST_TIMEOUT_S
        files: list[str] = []
        entries = 0
        folders = [(self.path.rstrip("/") or "/", 0)]
        while folders:
            here, depth = folders.pop()
            if time.monotonic() > ends:
                raise RemoteFailure(
                    f"timed out listing it ({entries} entries in {settings.LIST_TIMEOUT_S:g} s)"
                )
            for entry in self._call("ls", here, detail=True):
                entries += 1
                if entries > MAX_ENTRIES:
                    raise RemoteFailure(f"more than {MAX_ENTRIES} entries below it")
                name = str(entry["name"])
                if entry.get("type") != "directory":
                    files.append(name)
                elif depth >= MAX_DEPTH:
                    raise RemoteFailure(f"folders nested more than {MAX_DEPTH} deep (a loop?)")
                elif not name.rstrip("/").rpartition("/")[2].startswith("."):
                    folders.append((name, depth + 1))
        return files

    def glob(self) -> list[str]:
        """The files the path, a pattern, matches."""
        self.fs.invalidate_cache()
        found = self._call("glob", self.path, detail=True)
        return [str(name) for name, info in found.items() if info.get("type") == "file"]

    @property
    def sequential(self) -> bool:
        """Whether a whole file is best read as one stream: over ftp each read at an
        offset is a transfer of its own (and a new connection after one cut short), where
        one RETR reads them all."""
        return self._ftp

    @property
    def _ftp(self) -> bool:
        """Reads go through ftp.py: checked REST, streams on a connection of their own."""
        return _protocol(self.url) == "ftp"

    def _opener(self) -> bodies.Open | None:
        return bodies.opener(_protocol(self.url), self.fs, self.path)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if getattr(self.fs, "async_impl", False):
            return self._run(getattr(self.fs, "_" + method)(*args, **kwargs))
        return self._sync(getattr(self.fs, method), *args, **kwargs)

    def _sync(
        self,
        call: Callable[..., Any],
        *args: Any,
        cancel: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Runs one call of a backend that keeps a connection, bounded by CALL_TIMEOUT_S:
        past it, or after a failure, ``cancel`` (by default: the connection dropped)."""
        stop = cancel or self._drop
        try:
            with deadline.bounded(settings.CALL_TIMEOUT_S, stop):
                return call(*args, **kwargs)
        except (FileNotFoundError, RemoteFailure, Unranged):
            raise
        except Exception as exc:  # any library's error, at the edge: said in words
            stop()
            raise RemoteFailure(reason(exc, self.url)) from None

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Runs one call of an asyncio backend on its loop, bounded by CALL_TIMEOUT_S."""
        from fsspec.asyn import sync  # type: ignore[import-untyped]

        bound = settings.CALL_TIMEOUT_S
        try:
            return sync(self.fs.loop, asyncio.wait_for, coroutine, bound, timeout=bound + 1)
        except (FileNotFoundError, RemoteFailure, Unranged):
            raise
        except Exception as exc:  # any library's error, at the edge: said in words
            raise RemoteFailure(reason(exc, self.url)) from None

    def _drop(self) -> None:
        """Lets go of the connection of a backend that keeps one (ssh, ftp) after a
        failure or past its time bound: it is closed, so that a call waiting on it fails
        at once, and the next call connects again."""
        _forget(self.url, self.fs)


MAX_DEPTH: Final = 32
"""Folders below a listed one of a host that are searched for run files; deeper is an error."""
MAX_ENTRIES: Final = 500_000
"""Files and folders below a listed folder of a host, at most; more is an error."""


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
        except ReadError:
            raise
        except Exception as exc:  # any library's error, at the edge: said in words
            raise RemoteFailure(reason(exc, url)) from None
        with _LOCK:
            fs = _FILESYSTEMS.setdefault(key, fs)
    return Remote(url, _fs_path(fs, protocol, parts, url), fs)


def forget_connections() -> None:
    """Drops every file system made so far (closing ssh connections): the next call
    connects again."""
    with _LOCK:
        dropped = list(_FILESYSTEMS.values())
        _FILESYSTEMS.clear()
    for fs in dropped:
        _close(fs)


_LOCK = threading.Lock()
_FILESYSTEMS: dict[tuple[str, str], Any] = {}


def _forget(url: str, fs: Any) -> None:
    """Drops a file system whose connection failed, unless another took its place."""
    key = (_protocol(url), urlsplit(url).netloc)
    with _LOCK:
        if _FILESYSTEMS.get(key) is fs:
            del _FILESYSTEMS[key]
    _close(fs)


def _close(fs: Any) -> None:
    """Closes the connection a file system holds (paramiko's client and its thread, an
    ftp session); those of the asyncio backends hold none to close here."""
    for name in ("client", "ftp"):
        connection = getattr(fs, name, None)
        if connection is not None and not getattr(fs, "async_impl", False):
            with contextlib.suppress(Exception):  # it may be broken already: that is why
                connection.close()


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
        raise ReadError(_needs(protocol, _scheme_extra(protocol))) from None
    _quiet_loggers()
    settings.prepare(protocol)
    try:
        return fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ReadError(
            f"cannot read {protocol}:// URLs: no fsspec backend knows that scheme"
        ) from None
    except ImportError:
        from fsspec.registry import known_implementations  # type: ignore[import-untyped]

        package = known_implementations[protocol]["class"].split(".")[0]
        if package in _EXTRAS:
            raise ReadError(_needs(protocol, _EXTRAS[package])) from None
        raise ReadError(
            f"reading {protocol}:// URLs needs {package}: {REMOTE_EXTRA} {package}"
        ) from None


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


def _scheme_extra(protocol: str) -> str:
    """The extra that makes URLs of ``protocol`` readable (it brings fsspec too)."""
    if protocol in settings.GCS:
        return "gcs"
    return "azure" if protocol in AZURE else "remote"


def _needs(protocol: str, extra: str) -> str:
    return f"reading {protocol}:// URLs needs the {extra} extra: pip install 'value-diag[{extra}]'"


def _make(cls: Any, protocol: str, parts: SplitResult) -> Any:
    fs = cls(skip_instance_cache=True, **settings.options(protocol, parts))
    settings.tune(protocol, fs)
    return fs


def _fs_path(fs: Any, protocol: str, parts: SplitResult, url: str) -> str:
    if protocol in settings.SSH:
        return parts.path or "/"
    if protocol in _WEB:
        return url  # the query may be the token that grants access
    bucket = parts.netloc.rpartition("@")[2]  # as written: hostname would lower its case
    if azure_container(url):
        bucket = parts.netloc  # adlfs reads container@account itself
    return str(fs._strip_protocol(f"{protocol}://{bucket}{parts.path}"))


def _stat(info: dict[str, Any]) -> Stat:
    size = info.get("size")
    directory = info.get("type") == "directory"
    if size is None and not directory:
        raise RemoteFailure("the server does not say the size")
    settings_ = info.get("content_settings")
    stored = getattr(settings_, "content_encoding", None) or next(
        (info[k] for k in _ENCODINGS if info.get(k)), None
    )
    plain(None if stored is None else str(stored))  # gs:// serves it decompressed: other bytes
    tag = next((str(info[k]) for k in ("ETag", "etag", "Etag") if info.get(k)), None)
    when = next((info[k] for k in _TIMES if info.get(k)), None)
    return Stat(int(size or 0), _seconds(when), tag, directory)


_ENCODINGS: Final = ("contentEncoding", "ContentEncoding", "content_encoding")
"""Where backends put the Content-Encoding an object is stored with."""
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
