"""Secrets never leave: what is between ``://`` and the last ``@`` is never shown.

A password may hold any delimiter (an AWS secret key often holds ``/``), and then no
parser can tell where the user-info ends: value_diag/redact.py takes the last ``@``. The
property tests fuzz user-info with every delimiter of RFC 3986 around two markers, KEYID
and SECRET, and check the markers never come out: of ``public`` (names, frames, JSON),
of ``scrub`` (library messages that quote the URL or pieces of it), of a thread's name.
The console script is then run on such URLs in every format, ``once`` and ``watch``.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit

import pytest
from conftest import DEADLINE, clean_env, invoke, script
from hypothesis import given
from hypothesis import strategies as st
from servers import free_port

from value_diag.redact import MARK, public, scrub, scrub_users, without_user

USER: Final = "KEYID"
PASSWORD: Final = "SECRET"
DELIMITERS: Final = ":/?#[]@!$&'()*+,;=% "
"""RFC 3986's delimiters, the percent sign and a space."""

around = st.text(alphabet=st.sampled_from(DELIMITERS + "aZ9-._~"), max_size=6)
hosts = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,15}(:[0-9]{1,5})?", fullmatch=True)
paths = st.from_regex(r"(/[A-Za-z0-9._-]{1,8}){0,3}", fullmatch=True)
queries = st.one_of(st.just(""), st.from_regex(r"\?[A-Za-z0-9=&%.-]{0,20}", fullmatch=True))
schemes = st.sampled_from(["s3", "S3", "gs", "az", "abfss", "sftp", "http", "https", "ssh"])


@st.composite
def user_infos(draw: st.DrawFn) -> str:
    """``user:password`` with the markers inside, surrounded by delimiters."""
    user = draw(around) + USER + draw(around)
    password = draw(around) + PASSWORD + draw(around)
    return f"{user}:{password}"


def unclear(user_info: str) -> bool:
    return any(c in user_info for c in "/?#")


@given(schemes, user_infos(), hosts, paths, queries)
def test_public_shows_host_and_path_only(
    scheme: str, user_info: str, host: str, path: str, query: str
) -> None:
    url = f"{scheme}://{user_info}@{host}{path}{query}"
    shown = f"{MARK}@" if unclear(user_info) else ""
    assert public(url) == f"{scheme.lower()}://{shown}{host}{path}"
    assert public(public(url)) == public(url)
    assert without_user(url) == public(url)


@given(schemes, user_infos(), hosts, paths, st.text(max_size=30))
def test_no_piece_of_user_info_leaves_through_any_function(
    scheme: str, user_info: str, host: str, path: str, tail: str
) -> None:
    """Whatever follows the host (a query or fragment holding @ included)."""
    url = f"{scheme}://{user_info}@{host}{path}{tail}"
    quoted = [url, unquote(url)]
    try:  # what a library that parses the URL the usual way may quote of it
        parts = urlsplit(url)
        quoted += [parts.netloc, parts.path, parts.query, parts.fragment]
        quoted += [parts.netloc.rpartition(":")[2], parts.netloc.partition(":")[0]]
    except ValueError:  # an invalid IPv6 host: such a library says only that
        pass
    shown = [public(url), without_user(url)]
    if not any(c.isspace() or c in "'\"<>" for c in url):  # a URL in a line ends there
        shown.append(scrub_users(f"at {url} now"))
    for text in shown:
        assert USER not in text and PASSWORD not in text, text
    for piece in quoted:
        said = scrub(f"failed on '{piece}' (403)", url)
        assert USER not in said and PASSWORD not in said, said


@given(user_infos())
def test_a_percent_encoded_password_is_hidden_decoded_too(user_info: str) -> None:
    user, _, password = user_info.partition(":")
    url = f"sftp://{quote(user, safe='')}:{quote(password, safe='')}@host/run.jsonl"
    assert public(url) == "sftp://host/run.jsonl"
    said = scrub(f"authentication failed for {user!r} with {password!r}", url)
    assert USER not in said and PASSWORD not in said, said


def test_an_at_in_a_path_shows_where_it_was_cut() -> None:
    """Ambiguous: a path's @ cannot be told from a password's; the mark says so."""
    assert public("s3://bucket/lr@0.1/run.jsonl") == f"s3://{MARK}@0.1/run.jsonl"
    assert public("file:///home/me@lab/run.jsonl") == "file:///home/me@lab/run.jsonl"


def test_a_group_name_stays_on_stderr() -> None:
    """Lines on stderr name runs of a group as ``URL#GROUP``: the group is kept."""
    line = "value-diag: s3://bucket/run.jsonl#A reached critical"
    assert scrub_users(line) == line


def test_a_follower_thread_is_named_without_secrets() -> None:
    """An uncaught error in a thread prints its name: it holds the URL as shown."""
    pytest.importorskip("fsspec")
    from value_diag.ingest.remote.prefetch import Prefetched

    port = free_port()
    url = f"http://{USER}:se/{PASSWORD}@127.0.0.1:{port}/run.jsonl"
    before = set(threading.enumerate())
    followed = Prefetched(url, interval=60.0)
    try:
        names = [t.name for t in set(threading.enumerate()) - before]
    finally:
        followed.close()
    assert names == [f"follow http://{MARK}@127.0.0.1:{port}"]  # its backend's thread


# --- through the console script -------------------------------------------------------------


def hostile_urls() -> list[str]:
    """URLs whose user-info holds / ? # @: each fails to be read, at once, without a server."""
    dead = free_port()
    secret = f"wJalr/{PASSWORD}?K7#MDENG"
    return [
        f"s3://{USER}:{secret}@bucket/run.jsonl",
        f"s3://{USER}:{secret}@bucket/sweep/",
        f"sftp://{USER}:{secret}@127.0.0.1:{dead}/run.jsonl",
        f"http://{USER}:{secret}@127.0.0.1:{dead}/run.jsonl",
        f"https://{USER}@x:{secret}@127.0.0.1:{dead}/run.jsonl?sig={PASSWORD}",
    ]


def remote_env() -> dict[str, str]:
    """No real store is reached: an endpoint nothing listens on, dummy keys."""
    return clean_env(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_ACCESS_KEY_ID="dummy",
        AWS_SECRET_ACCESS_KEY="dummy",
    )


FORMATS = ["text", "json", "markdown", "github"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_once_never_shows_user_info(fmt: str) -> None:
    pytest.importorskip("fsspec")
    for url in hostile_urls():
        proc = invoke(["once", url, "--format", fmt], env=remote_env(), timeout=60)
        out = proc.stdout + proc.stderr
        assert USER.encode() not in out and PASSWORD.encode() not in out, url
        assert proc.returncode == 2
        assert proc.stderr.startswith(b"value-diag: error: cannot "), proc.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_watch_never_shows_user_info(tmp_path: Path, fmt: str) -> None:
    """The first frame of a URL that cannot be read (its caption says why), or the error
    line of one that cannot be listed at the start."""
    pytest.importorskip("fsspec")
    for url in hostile_urls():
        proc = subprocess.Popen(
            [*script(), "watch", url, "--format", fmt, "--poll", "0.2"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=remote_env(),
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # a frame, or nothing: it ended
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            rest, err = proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        out = first + rest + err
        assert USER.encode() not in out and PASSWORD.encode() not in out, url
        assert b"bucket" in out or b"127.0.0.1" in out, "the URL is named"


def test_a_usage_error_quoting_a_url_hides_its_user_info() -> None:
    """Whatever writes a URL to stderr, the line leaves without the user-info."""
    url = f"s3://{USER}:se/{PASSWORD}@bucket/run.jsonl"
    proc = invoke(["once", "--format", url, "run.jsonl"])
    assert proc.returncode == 2
    assert USER.encode() not in proc.stderr and PASSWORD.encode() not in proc.stderr
    assert f"'s3://{MARK}@bucket/run.jsonl'".encode() in proc.stderr, proc.stderr
