"""Reads of an object's bytes that are bounded and checked, on the asyncio backends.

fsspec's ``cat_file`` takes whatever body comes back: the whole object where a range was
asked (a server that ignores ``Range``), an endless body, or a compressed one that aiohttp
decompresses on the fly. Here one request is made by hand on the backend's own session
(HTTP, GCS's JSON API, S3's GetObject, Azure's Get Blob), with ``Accept-Encoding:
identity`` and no decompression; its status and ``Content-Range`` are checked
(answers.py) before its body is used, and the body is read a block at a time, never past
the bytes asked for.

Each coroutine here is one backend call: the caller runs it under the call's time bound.
Azure's client checks ``Content-Range`` itself, but reads each answer's whole body into
memory before it looks (an endless one for ever): its request is sent here through the
client's own pipeline (credentials, signing, the one attempt of settings.py) and its body
read by the block like the others'. Backends not listed (sftp, ftp, the rest of fsspec's)
keep their own reads: an sftp read asks the server for so many bytes at an offset, and
ftp's are checked in ftp.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from value_diag.ingest.remote.answers import UNSATISFIABLE, Head, ranged, whole
from value_diag.ingest.remote.reasons import RemoteFailure
from value_diag.ingest.urls import AZURE

Span = tuple[int, int] | None
"""Bytes [start, end) to ask for, or None for the whole object."""

_IDENTITY: Final = {"Accept-Encoding": "identity"}
"""Asks for the bytes as stored: a server that compresses anyway is refused."""


class Body(Protocol):
    """An answer whose headers are in and whose body is still to be read."""

    head: Head

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the body (b"" at its end)."""
        ...

    def close(self) -> None:
        """Lets go of the answer and its connection, whatever of the body is unread."""
        ...


Open = Callable[[Span], Awaitable[Body]]
"""Sends one GET for a span of the object; the answer once its headers are in."""


def opener(protocol: str, fs: Any, path: str) -> Open | None:
    """How to ask ``fs`` for the bytes of ``path``; None for a backend that reads them
    with its own ``cat_file``."""
    if protocol in ("http", "https"):
        return lambda span: _http(fs, path, span)
    if protocol in ("gs", "gcs"):
        return lambda span: _gcs(fs, path, span)
    if protocol in ("s3", "s3a"):
        return lambda span: _s3(fs, path, span)
    if protocol in AZURE:
        return lambda span: _azure(fs, path, span)
    return None


async def read_range(open_: Open, start: int, end: int) -> bytes:
    """Bytes [start, end) of the object by one ranged request, fewer only where it ends.

    Raises:
        Unranged: the server did not answer with that range.
        RemoteFailure: the answer is compressed, or ends before its range does.
    """
    body = await open_((start, end))
    try:
        count = ranged(body.head, start, end)
        data = await read_some(body, count)
    finally:
        body.close()
    if len(data) < count:
        raise RemoteFailure("the server's answer ended early")
    return data


async def open_whole(open_: Open) -> Body:
    """An answer whose body is the object from its first byte (no Range asked).

    Raises:
        RemoteFailure: the answer is compressed, or is not the object from its first byte.
    """
    body = await open_(None)
    try:
        whole(body.head)
    except BaseException:
        body.close()
        raise
    return body


async def read_some(body: Body, n: int) -> bytes:
    """The next ``n`` bytes of a body, fewer only at its end."""
    got = bytearray()
    while len(got) < n:
        chunk = await body.read(n - len(got))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _range(span: Span) -> dict[str, str]:
    if span is None:
        return {}
    start, end = span
    return {"Range": f"bytes={start}-{end - 1}"}


class _Web:
    """An aiohttp answer."""

    def __init__(self, response: Any) -> None:
        self.response = response
        headers = response.headers
        self.head = Head(
            response.status, headers.get("Content-Range"), headers.get("Content-Encoding")
        )

    async def read(self, n: int) -> bytes:
        return bytes(await self.response.content.read(n))

    def close(self) -> None:
        self.response.close()


def _checked(response: Any) -> _Web:
    """The answer, or the exception its status says (the body unread)."""
    _status(int(response.status), response.close)
    return _Web(response)


def _status(status: int, close: Callable[[], object]) -> None:
    """Raises what a status that is no read's says, after ``close()`` (the body unread)."""
    if status < 400 or status == UNSATISFIABLE:
        return
    close()
    if status == 404:
        raise FileNotFoundError("not found")
    if status in (401, 403):
        raise PermissionError("permission denied")
    raise RemoteFailure(f"the server answered {status}")


async def _http(fs: Any, url: str, span: Span) -> Body:
    """fsspec's HTTP file system: its session, its URL encoding and its request options."""
    session = await fs.set_session()
    options = dict(fs.kwargs)
    headers = {**(options.pop("headers", None) or {}), **_IDENTITY, **_range(span)}
    response = await session.get(
        fs.encode_url(url), headers=headers, auto_decompress=False, **options
    )
    return _checked(response)


async def _gcs(fs: Any, path: str, span: Span) -> Body:
    """gcsfs: its session, credentials and download URL (the object's media)."""
    await fs._set_session()
    response = await fs.session.get(
        fs.url(path),
        params=fs._get_params({}),
        headers=fs._get_headers({**_IDENTITY, **_range(span)}),
        timeout=fs.requests_timeout,
        auto_decompress=False,
    )
    return _checked(response)


class _S3:
    """A GetObject answer (aiobotocore's streaming body)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.body = answer["Body"]
        status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
        self.head = Head(int(status), answer.get("ContentRange"), answer.get("ContentEncoding"))

    async def read(self, n: int) -> bytes:
        return bytes(await self.body.read(n))

    def close(self) -> None:
        self.body.close()


class _Nothing:
    """The answer to a range that starts past the object's end."""

    head = Head(UNSATISFIABLE)

    async def read(self, n: int) -> bytes:
        return b""

    def close(self) -> None:
        return None


async def _s3(fs: Any, path: str, span: Span) -> Body:
    """s3fs: its client (endpoint, credentials, retries) and its path splitting."""
    bucket, key, version = fs.split_path(path)
    extra = {"VersionId": version} if version else {}
    try:
        answer = await fs._call_s3(
            "get_object", Bucket=bucket, Key=key, **extra, **_range(span), **fs.req_kw
        )
    except OSError as exc:
        code = getattr(exc.__cause__, "response", {}).get("Error", {}).get("Code")
        if code == "InvalidRange":
            return _Nothing()
        raise
    return _S3(answer)


async def _azure(fs: Any, path: str, span: Span) -> Body:
    """adlfs: a Get Blob sent through its blob client's pipeline, the answer streamed.

    The pipeline signs the request and holds it to one attempt; its transport's aiohttp
    session never decompresses, and with ``stream=True`` nothing of the body is read. The
    range goes in ``x-ms-range``, which the shared-key signature covers as sent.
    """
    from azure.core.rest import HttpRequest

    container, key, _ = fs.split_path(path)
    client = fs.service_client.get_blob_client(container, key)
    ranged = {"x-ms-range": header} if (header := _range(span).get("Range")) else {}
    request = HttpRequest("GET", client.url, headers={**_IDENTITY, **ranged})
    answer = (await client._pipeline.run(request, stream=True)).http_response
    raw = answer.internal_response  # aiohttp's: its body is read by the block
    _status(int(answer.status_code), raw.close)
    return _Web(raw)
