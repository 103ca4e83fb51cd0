"""moto's standalone S3 server for the benchmarks: ranged GETs read only the bytes they ask
for, and the request log is written one request at a time.

- Stock moto (5.2) answers a ranged GET by reading the whole object and slicing it:
  S3Response.get_object returns FakeKey.value, every byte of the object read under the
  object's lock, and _handle_range_header cuts the range out of it. Reading a 1 GiB object
  in 4 MiB ranges so costs 256 reads of 1 GiB, one at a time (0.6 s each on the 2-core
  machine of docs/performance.md): that measures moto, and fails `once`'s per-call
  timeout. S3 itself, MinIO and any file server read the range only; so does this server.
- moto's request log (MOTO_ENABLE_RECORDING) is appended by each request's thread, an
  entry and then its newline; an entry longer than the file's buffer (a PUT's body is in
  it) goes out at once and its newline later, so another request's entry can land
  between them: the log then has a line holding two entries. Here one entry is written
  at a time, and emptying the log (POST /moto-api/recorder/reset-recording) waits for it.

Everything else is moto's own: the same requests, answers and headers.

    python bench/s3_server.py -H 127.0.0.1 -p PORT     (moto.server's options)
"""

from __future__ import annotations

import re
import threading
from typing import Any

from moto.moto_api._internal.recorder.models import Recorder
from moto.s3.models import FakeKey
from moto.s3.responses import S3Response

_SIMPLE_RANGE = re.compile(r"bytes=\d+-\d*")
_serving = threading.local()
"""``ranged`` is set while a GET with one byte range is answered on this thread."""


class _Window:
    """An object's bytes, read when sliced: what moto's range handler needs of them."""

    def __init__(self, key: FakeKey) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.contentsize)

    def __getitem__(self, part: slice) -> bytes:
        start, stop, _ = part.indices(len(self))
        with self._key.lock:
            self._key._value_buffer.seek(start)
            data: bytes = self._key._value_buffer.read(max(0, stop - start))
        return data

    def whole(self) -> bytes:
        return self[:]


_stock_value: property = FakeKey.__dict__["value"]
_stock_key_response = S3Response.key_response
_stock_handle_range = S3Response._handle_range_header


def _value(key: FakeKey) -> Any:
    if getattr(_serving, "ranged", False):
        return _Window(key)
    assert _stock_value.fget is not None
    return _stock_value.fget(key)


def _key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    ranged = request.method == "GET" and bool(
        _SIMPLE_RANGE.fullmatch(request.headers.get("range", ""))
    )
    _serving.ranged = ranged
    try:
        return _stock_key_response(self, request, full_url, headers)
    finally:
        _serving.ranged = False


def _handle_range_header(
    self: S3Response, request: Any, response_headers: dict[str, Any], response_content: Any
) -> Any:
    status, out_headers, body = _stock_handle_range(
        self, request, response_headers, response_content
    )
    if isinstance(body, _Window):  # moto fell back to the whole object (a range past its end)
        body = body.whole()
    return status, out_headers, body


_stock_record = Recorder._record_request
_stock_reset = Recorder.reset_recording
_log_lock = threading.Lock()


def _record_request(self: Recorder, request: Any, body: bytes | None = None) -> None:
    with _log_lock:
        _stock_record(self, request, body)


def _reset_recording(self: Recorder) -> None:
    with _log_lock:
        _stock_reset(self)


def patch() -> None:
    """Makes ranged GETs read their range only, and the log's entries whole."""
    Recorder._record_request = _record_request  # type: ignore[method-assign]
    Recorder.reset_recording = _reset_recording  # type: ignore[method-assign]
    FakeKey.value = property(_value, _stock_value.fset)  # type: ignore[assignment]
    S3Response.key_response = _key_response  # type: ignore[method-assign]
    S3Response._handle_range_header = _handle_range_header  # type: ignore[method-assign]


if __name__ == "__main__":
    from moto.server import main

    patch()
    main()
