"""What a server's answer to a read says, checked before a byte of it is used. Pure.

A ranged read (``Range: bytes=A-B``) is used only when the answer is 206 Partial Content
and its ``Content-Range`` starts at A and ends at B, or earlier where the object itself
ends. A server that ignores the range answers 200 with the whole object from its first
byte (Python's ``http.server`` does): taking that body as the range would fold the wrong
bytes. Such an answer, or a 206 for less than was asked while the object goes on, raises
Unranged, and the caller reads the object as one stream instead. A body sent compressed
(``Content-Encoding``) is refused: it is never decompressed, so it can never grow past
what was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from value_diag.ingest.remote.reasons import RemoteFailure

PARTIAL: Final = 206
WHOLE: Final = 200
UNSATISFIABLE: Final = 416
"""The range starts at or after the object's end: nothing to read there."""
PLAIN: Final = frozenset({"", "identity"})
"""Content-Encodings of bytes as stored (none, or said to be none)."""
_CONTENT_RANGE: Final = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", re.IGNORECASE)


class Unranged(Exception):
    """The server did not answer a ranged read with that range: read the object as one
    stream (``Remote.stream``) instead."""


@dataclass(frozen=True, slots=True)
class Head:
    """The parts of an answer's status line and headers that say what its body is."""

    status: int
    content_range: str | None = None
    encoding: str | None = None


def plain(encoding: str | None) -> None:
    """Raises RemoteFailure when a body (or a stored object) is compressed."""
    if encoding is not None and encoding.strip().lower() not in PLAIN:
        raise RemoteFailure(
            f"the server sends it compressed (Content-Encoding: {encoding.strip()[:40]}); "
            "value-diag reads only plain bytes"
        )


def ranged(head: Head, start: int, end: int) -> int:
    """How many bytes of the body are bytes [start, end) of the object, from ``start``.

    Fewer than ``end - start`` only when the object ends first (the answer's total says
    so), 0 when it ends before ``start``.

    Raises:
        Unranged: the answer is the whole object (200), or a 206 for another range.
        RemoteFailure: the body is compressed, or the status is not one of a read.
    """
    if head.status == UNSATISFIABLE:
        return 0
    _readable(head)
    if head.status == WHOLE:
        raise Unranged
    found = _CONTENT_RANGE.fullmatch(head.content_range or "")
    if found is None:
        raise Unranged
    first, last, total = int(found[1]), int(found[2]), found[3]
    if first != start or last < first or last >= end:
        raise Unranged
    if last < end - 1 and (total == "*" or int(total) != last + 1):
        raise Unranged  # a short answer while the object goes on: one request a fragment
    return last + 1 - first


def whole(head: Head) -> None:
    """Checks an answer to a read of the whole object (no Range): its body is the object
    from its first byte to its last.

    Raises:
        RemoteFailure: the body is compressed, or only a part of the object, or the status
            is not one of a read.
    """
    _readable(head)
    if head.status == PARTIAL:
        found = _CONTENT_RANGE.fullmatch(head.content_range or "")
        if (
            found is None
            or int(found[1]) != 0
            or (found[3] != "*" and int(found[3]) != int(found[2]) + 1)
        ):
            raise RemoteFailure("the server sends parts of the file only")


def _readable(head: Head) -> None:
    plain(head.encoding)
    if head.status not in (WHOLE, PARTIAL):
        raise RemoteFailure(f"the server answered {head.status}")
