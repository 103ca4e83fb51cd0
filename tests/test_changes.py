"""ingest/changes.py: one rule tells what happened to a followed file, local or remote."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from value_diag.ingest.changes import Change, FileTail, Seen, classify
from value_diag.ingest.remote.prefetch import Prefetched
from value_diag.ingest.remote.tail import RemoteTail
from value_diag.ingest.tail import Tail

TAILS: list[type[FileTail]] = [Tail, RemoteTail, Prefetched]
"""Every tail is a FileTail (mypy checks this list)."""


def expected(missing: bool, opened: bool, failed: bool, following: bool, found: bool) -> object:
    """The table, written out case by case."""
    if not found:
        if missing:
            return None  # still missing: nothing new
        return Change.DELETED if opened else Change.MISSING
    if failed:
        return Change.OPENED  # readable again: read from the top, the error note goes
    if following:
        return Change.REPLACED
    if missing:
        return Change.RECREATED if opened else Change.CREATED
    return Change.OPENED


@pytest.mark.parametrize(
    ("missing", "opened", "failed", "following", "found"),
    list(itertools.product([False, True], repeat=5)),
)
def test_every_transition(
    missing: bool, opened: bool, failed: bool, following: bool, found: bool
) -> None:
    seen = Seen(missing=missing, opened=opened, failed=failed, following=following)
    assert classify(seen, found) == expected(missing, opened, failed, following, found)


@pytest.mark.parametrize(
    ("seen", "found", "change"),
    [
        (Seen(), True, Change.OPENED),  # there at the first look
        (Seen(), False, Change.MISSING),  # not there at the first look
        (Seen(missing=True), False, None),  # still not there
        (Seen(missing=True), True, Change.CREATED),
        (Seen(opened=True), False, Change.DELETED),
        (Seen(missing=True, opened=True), False, None),  # still deleted
        (Seen(missing=True, opened=True), True, Change.RECREATED),
        (Seen(opened=True, following=True), True, Change.REPLACED),
        (Seen(opened=True, failed=True), True, Change.OPENED),
        (Seen(opened=True, failed=True), False, Change.DELETED),
        (Seen(failed=True), False, Change.MISSING),  # gone after an error, never read
    ],
)
def test_the_named_transitions(seen: Seen, found: bool, change: Change | None) -> None:
    assert classify(seen, found) is change


def test_a_local_tail_tells_each_change_by_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail = Tail(str(path))
    try:
        seen = [tail.sync()]  # missing
        seen.append(tail.sync())  # still missing
        path.write_bytes(b"a\n")
        seen.append(tail.sync())  # created
        path.unlink()
        seen.append(tail.sync())  # deleted
        path.write_bytes(b"b\n")
        seen.append(tail.sync())  # recreated
        other = tmp_path / "other.jsonl"
        other.write_bytes(b"c\n")
        os.replace(other, path)
        seen.append(tail.sync())  # replaced
        assert tail.fail("broken") is Change.ERROR
        seen.append(tail.sync())  # readable again
        seen.append(tail.sync())  # nothing new
    finally:
        tail.close()
    assert seen == [
        Change.MISSING,
        None,
        Change.CREATED,
        Change.DELETED,
        Change.RECREATED,
        Change.REPLACED,
        Change.OPENED,
        None,
    ]
    assert [t.__name__ for t in TAILS] == ["Tail", "RemoteTail", "Prefetched"]
