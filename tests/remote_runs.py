"""What the remote tests share: a fixed clock, NaN-aware equality, files put on the test
servers, and the environment their fixtures set up for a subprocess."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from servers import SftpServer

NOW = 1_000.0
"""The clock passed to every fold the remote tests compare with another."""


def same(a: object, b: object) -> bool:
    """Equal, NaN included (a NaN is never == another)."""
    return repr(a) == repr(b)


def put(client: Any, bucket: str, key: str, data: bytes, public: bool = False) -> None:
    """Uploads an object (readable by anyone over plain HTTP if ``public``)."""
    acl = {"ACL": "public-read"} if public else {}
    client.put_object(Bucket=bucket, Key=key, Body=data, **acl)


def sftp_put(server: SftpServer, path: str, data: bytes) -> Path:
    """Writes a file where the sftp server serves ``/path``; the local file returned."""
    local = server.root / path.lstrip("/")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    return local


def env() -> dict[str, str]:
    """The environment the fixtures set up (endpoint, dummy keys, throwaway home)."""
    return {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
