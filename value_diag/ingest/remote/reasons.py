"""Why a remote call failed, in a few words: no traceback, no secret. Pure."""

from __future__ import annotations

from typing import Final

from value_diag.ingest.urls import public, scrub

_REASONS: Final = {
    "FSTimeoutError": "timed out",
    "ConnectTimeoutError": "timed out connecting",
    "ReadTimeoutError": "timed out waiting for the server",
    "TimeoutError": "timed out",
    "NoValidConnectionsError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset by the server",
    "ConnectionClosedError": "connection closed by the server",
    "EOFError": "connection closed by the server",
    "NoCredentialsError": "no credentials found (AWS_ACCESS_KEY_ID, a profile, a role)",
    "PartialCredentialsError": "incomplete credentials",
    "BadHostKeyException": "the host key does not match ~/.ssh/known_hosts",
    "AuthenticationException": "authentication failed",
    "PermissionError": "permission denied",
    "IsADirectoryError": "a directory",
    "FileNotFoundError": "not found",
}
"""Exception classes (by name, anywhere in the hierarchy, most specific first) in words."""
_SSH_MESSAGES: Final = {
    "Server connection dropped": "connection closed by the server",
    "Socket is closed": "connection closed by the server",  # an OSError, once it is
    "Error reading SSH protocol banner": "timed out waiting for the ssh banner",
    "No existing session": "timed out starting the ssh session",  # connect gave up waiting
}
"""paramiko says what happened only in the message of its SSHException (or OSError): the
usual ones in words."""
_MAX_REASON: Final = 160


class RemoteFailure(Exception):
    """A remote call failed; ``reason`` says why in a few words, with no secret in it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason(exc: BaseException, url: str = "") -> str:
    """Why a remote call failed, in a few words: no traceback, no secret of ``url``."""
    for cause in _causes(exc):
        for cls in type(cause).__mro__:
            if cls.__name__ in _REASONS:
                return _REASONS[cls.__name__]
    names = [cls.__name__ for cls in type(exc).__mro__]
    if "SSHException" in names:
        text = str(exc)
        said = next((v for k, v in _SSH_MESSAGES.items() if text.startswith(k)), None)
        return said or scrub(f"ssh: {(text.splitlines() or [''])[0]}", url)[:_MAX_REASON]
    if "EndpointConnectionError" in names:
        return f"cannot connect to {_endpoint(str(exc))}"
    if "ClientError" in names:  # botocore: the service's error code says it all
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code:
            return scrub(str(code), url)[:_MAX_REASON]
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    first = (text.strip().splitlines() or [""])[0]
    if first in _SSH_MESSAGES:  # paramiko's OSError for a connection it saw close
        return _SSH_MESSAGES[first]
    said = first if isinstance(exc, OSError) and first else f"{type(exc).__name__}: {first}"
    return scrub(said.rstrip(": "), url)[:_MAX_REASON]


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and those it says it wraps, outermost first.

    A library that wraps another's error names it as its cause (``raise ... from``), or,
    as aiohttp does for a failed connect, in ``os_error``: Azure's "ServiceRequestError"
    is, two links down, a ConnectionRefusedError. An error raised while another was being
    handled (``__context__``) is not followed: that one is not what went wrong.
    """
    chain = [exc]
    while len(chain) < _MAX_CAUSES:
        last = chain[-1]
        inner = last.__cause__ or getattr(last, "os_error", None)
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    return chain


_MAX_CAUSES: Final = 6


def _endpoint(text: str) -> str:
    """The scheme, host and port of the first URL in a message ('the endpoint' if none)."""
    for word in text.replace('"', " ").split():
        if "://" in word:
            scheme, _, rest = public(word).partition("://")
            return f"{scheme}://{rest.partition('/')[0]}"
    return "the endpoint"
