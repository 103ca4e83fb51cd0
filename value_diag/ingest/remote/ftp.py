"""Reads of an ftp file that are checked: a read at an offset is trusted only from a server
that honours REST.

ftp has no ranged read: a read at an offset is ``REST offset`` and then ``RETR``. A server
that ignores REST sends the file from its first byte, and a tail would glue the start of
the file at the offset. So a REST answered with anything but 350 makes the read Unranged;
and since a server may answer 350 and send from the start all the same, whether it
honours REST is tried once per server before a read at an offset is trusted: the first
bytes of the file are read, then the byte at the first offset whose byte differs from the
first, which must come back. A server that fails either check has its files read as one
stream from the first byte instead (``Stream``), on a connection of its own, the bytes
before the offset dropped and none read past the end asked for.

A transfer cut short leaves the control connection with answers the server may or may not
send, so after one the connection is made again; one read to the file's end is closed
with the server's 226. Each function here is one call: the caller holds it to its time
bound (backends.py), and a transfer holds itself to the same bound (CALL_TIMEOUT_S), since
closing the control connection does not end a data connection that trickles.
"""

from __future__ import annotations

import contextlib
import ftplib
import socket
import threading
import time
from typing import Any, Final

from value_diag.ingest.remote.answers import Unranged
from value_diag.ingest.remote.settings import CALL_TIMEOUT_S

PROBE: Final = 64
"""Bytes of a file's start read to find an offset to try REST at (once per server)."""
RESTARTING: Final = "350"
"""The answer of a server that will start the next transfer at the REST offset."""

_LOCK = threading.Lock()
_HONOURS: dict[tuple[str, int], bool] = {}
"""Whether each server (host, port) honours REST, once tried."""


def read_range(fs: Any, path: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of the file, fewer only where it ends, on the file system's
    connection.

    Raises:
        Unranged: the server refuses REST or is not known to honour it: read the file
            with ``Stream`` instead.
        FileNotFoundError: the server says there is no such file.
    """
    until = time.monotonic() + CALL_TIMEOUT_S
    if start > 0 and not _trusted(fs, path, until):
        raise Unranged
    return _read(fs, path, start, end, until)


class Stream:
    """The file from its first byte, on a connection of its own (the file system's stays
    free for other calls while it is read): ``read(n)`` gives up to ``n`` bytes, b"" at
    the end; ``close()`` hangs up, whatever is unread."""

    def __init__(self, fs: Any, path: str) -> None:
        """Raises FileNotFoundError or ftplib's errors."""
        self._ftp = _login(fs)
        try:
            self._data = _retrieve(self._ftp, path, 0)
        except BaseException:
            self._ftp.close()
            raise

    def read(self, n: int) -> bytes:
        """Raises TimeoutError when the bytes take longer than CALL_TIMEOUT_S."""
        return _receive(self._data, n, time.monotonic() + CALL_TIMEOUT_S)

    def close(self) -> None:
        for connection in (self._data, self._ftp):
            with contextlib.suppress(OSError):
                connection.close()


def _trusted(fs: Any, path: str, until: float) -> bool:
    """Whether the server of ``fs`` is known to honour REST (tried on ``path`` once)."""
    key = (str(fs.host), int(fs.port))
    with _LOCK:
        known = _HONOURS.get(key)
    if known is None:
        known = _probe(fs, path, until)
        if known is None:
            return False  # the file cannot tell (too short, or one byte repeated)
        with _LOCK:
            _HONOURS[key] = known
    return known


def _probe(fs: Any, path: str, until: float) -> bool | None:
    """Whether the server sends the bytes at an offset after REST (None: cannot tell)."""
    head = _read(fs, path, 0, PROBE, until)
    at = next((i for i in range(1, len(head)) if head[i] != head[0]), None)
    if at is None:
        return None
    try:
        got = _read(fs, path, at, at + 1, until)
    except Unranged:
        return False
    if got == head[at : at + 1]:
        return True
    return False if got == head[:1] else None  # other bytes: the file changed meanwhile


def _read(fs: Any, path: str, start: int, end: int, until: float) -> bytes:
    """Bytes [start, end) by REST and RETR on the file system's connection."""
    ftp = fs.ftp
    data = _retrieve(ftp, path, start)
    try:
        got = _receive(data, end - start, until)
        ended = not _receive(data, 1, until)  # the file ends here: the transfer is complete
    finally:
        data.close()
    if ended:
        ftp.voidresp()  # 226: the connection is ready for the next command
    else:
        _reconnect(fs)
    return got


def _retrieve(ftp: ftplib.FTP, path: str, rest: int) -> socket.socket:
    """The data connection of ``RETR path`` from byte ``rest`` (passive mode).

    Raises:
        Unranged: REST was answered with anything but 350.
        FileNotFoundError: RETR was refused (550).
    """
    ftp.voidcmd("TYPE I")
    host, port = ftp.makepasv()
    data = socket.create_connection((host, port), ftp.timeout, source_address=ftp.source_address)
    try:
        if rest:
            try:
                answer = ftp.sendcmd(f"REST {rest}")
            except ftplib.error_perm:  # 500, 502: not understood, not implemented
                raise Unranged from None
            if not answer.startswith(RESTARTING):
                raise Unranged
        try:
            answer = ftp.sendcmd(f"RETR {path}")
        except ftplib.error_perm as exc:
            if str(exc).startswith("550"):
                raise FileNotFoundError(path) from None
            raise
        if answer.startswith("2"):
            answer = ftp.getresp()
        if not answer.startswith("1"):
            raise ftplib.error_reply(answer)
    except BaseException:
        data.close()
        raise
    return data


def _receive(data: socket.socket, n: int, until: float) -> bytes:
    """The next ``n`` bytes of a transfer, fewer only at its end.

    Raises:
        TimeoutError: they took until ``until`` (time.monotonic) and are not all in.
    """
    got = bytearray()
    while len(got) < n:
        if time.monotonic() > until:
            raise TimeoutError("timed out")
        chunk = data.recv(min(n - len(got), 1 << 20))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _login(fs: Any) -> ftplib.FTP:
    """A new connection to the server of ``fs``, logged in as it is."""
    ftp = ftplib.FTP(timeout=fs.timeout, encoding=fs.encoding)
    try:
        ftp.connect(fs.host, fs.port)
        ftp.login(*fs.cred)
    except BaseException:
        ftp.close()
        raise
    return ftp


def _reconnect(fs: Any) -> None:
    """The file system's connection made again (after a transfer cut short)."""
    with contextlib.suppress(OSError, ftplib.Error):
        fs.ftp.close()
    fs._connect()
