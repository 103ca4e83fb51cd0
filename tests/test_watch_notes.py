"""What the frame says happened to a followed file, and for how long.

A change (created, recreated, truncated, replaced) is an event: its note shows with the
frame of the change and goes NOTE_S seconds later. A state (waiting for the file, a read
error) is noted while it lasts. In-process with an injected clock for the durations;
through the console script for what a user sees in a log and on a terminal.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ptyterm import Pty
from telemetry import healthy
from watching import Spawn, append, shown_bellman

from value_diag.follow.follower import NOTE_S, Followed
from value_diag.ingest.tail import Change, Tail

NOW = 1_700_000_000.0
WAITING = "waiting for run.jsonl"
DELETED = "deleted; waiting for run.jsonl"
CREATED = "created"
RECREATED = "recreated; reading the new file"
TRUNCATED = "truncated; reading from the top"
REPLACED = "replaced; reading the new file"
EIO_NOTE = "read error: Input/output error; retrying"


# --------------------------------------------------------------------------- what the tail sees


def create(path: Path) -> None:
    path.write_text(healthy(1.0))


def delete(path: Path) -> None:
    path.unlink()


def truncate(path: Path) -> None:
    path.write_text(healthy(2.0)[:10])  # same file, shorter


def replace(path: Path) -> None:
    new = path.with_name("new.jsonl")
    new.write_text(healthy(3.0))
    os.replace(new, path)


def make_dir(path: Path) -> None:
    path.mkdir()


def remove_dir(path: Path) -> None:
    path.rmdir()


def nothing(path: Path) -> None:
    pass


Step = tuple[Callable[[Path], None], Change | None]

TAIL_STORIES: dict[str, list[Step]] = {
    "missing-then-created": [
        (nothing, Change.MISSING),
        (nothing, None),
        (create, Change.CREATED),
        (nothing, None),
    ],
    "deleted-then-back": [
        (create, Change.OPENED),
        (delete, Change.DELETED),
        (nothing, None),
        (create, Change.RECREATED),
    ],
    "truncated": [(create, Change.OPENED), (truncate, Change.TRUNCATED)],
    "replaced": [(create, Change.OPENED), (replace, Change.REPLACED)],
    "a-directory-before-the-file": [
        (nothing, Change.MISSING),
        (make_dir, Change.ERROR),
        (remove_dir, Change.MISSING),  # the error is no longer true: nothing is there
        (create, Change.CREATED),
    ],
    "a-directory-instead-of-the-file": [
        (create, Change.OPENED),
        (delete, Change.DELETED),
        (make_dir, Change.ERROR),
        (remove_dir, Change.DELETED),
        (create, Change.RECREATED),
    ],
    "the-file-instead-of-a-directory": [
        (make_dir, Change.ERROR),
        (remove_dir, Change.MISSING),
        (create, Change.CREATED),
    ],
}


@pytest.mark.parametrize("story", TAIL_STORIES.values(), ids=TAIL_STORIES.keys())
def test_what_the_tail_says_happened(tmp_path: Path, story: list[Step]) -> None:
    path = tmp_path / "run.jsonl"
    tail = Tail(str(path))
    try:
        for i, (act, expected) in enumerate(story):
            act(path)
            assert tail.sync() is expected, f"step {i} ({act.__name__})"
            for _ in tail.read():  # consumed, as watch does
                pass
    finally:
        tail.close()


def test_readable_again_after_a_read_error_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    create(path)
    tail = Tail(str(path))
    assert tail.sync() is Change.OPENED
    tail.fail("Input/output error")
    assert tail.sync() is Change.OPENED
    tail.close()


# --------------------------------------------------------------------------- how long notes stay


def followed(path: Path) -> Followed:
    follower = Followed(str(path))
    follower.update(NOW)
    return follower


def test_waiting_stays_and_created_fades(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    follower = followed(path)
    assert follower.note == WAITING
    assert not follower.update(NOW + 1000)
    assert follower.note == WAITING, "waiting for the file is true until it appears"

    create(path)
    t = NOW + 2000
    assert follower.update(t)
    assert (follower.note, follower.state.records) == (CREATED, 1)
    assert not follower.update(t + NOTE_S / 2)
    assert follower.note == CREATED
    # The note goes without counting as a change: a log prints no frame for it ...
    assert not follower.update(t + NOTE_S)
    assert follower.note is None
    # ... and the next records come without it.
    append(path, healthy(5.0))
    assert follower.update(t + NOTE_S + 1)
    assert (follower.note, follower.state.records) == (None, 2)
    follower.tail.close()


@pytest.mark.parametrize(
    ("change", "note"),
    [(truncate, TRUNCATED), (replace, REPLACED)],
    ids=["truncated", "replaced"],
)
def test_change_notes_fade(tmp_path: Path, change: Callable[[Path], None], note: str) -> None:
    path = tmp_path / "run.jsonl"
    create(path)
    follower = followed(path)
    assert follower.note is None

    change(path)
    t = NOW + 10
    assert follower.update(t)
    assert follower.note == note
    append(path, healthy(6.0))
    assert follower.update(t + 1)
    assert follower.note == note, "records within NOTE_S keep the note"
    assert not follower.update(t + NOTE_S)
    assert follower.note is None
    follower.tail.close()


def test_deleted_stays_and_recreated_fades(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    create(path)
    follower = followed(path)

    delete(path)
    assert follower.update(NOW + 1)
    assert follower.note == DELETED
    assert not follower.update(NOW + 1000)
    assert follower.note == DELETED

    create(path)
    t = NOW + 2000
    assert follower.update(t)
    assert follower.note == RECREATED
    assert not follower.update(t + NOTE_S)
    assert follower.note is None
    follower.tail.close()


def test_a_read_error_stays_while_it_lasts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.jsonl"
    create(path)
    follower = followed(path)
    truncate(path)
    assert follower.update(NOW + 1)
    assert follower.note == TRUNCATED
    real_stat = os.stat

    def stat_eio(p: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(p) == str(path):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_stat(p, *args, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(os, "stat", stat_eio)
        assert follower.update(NOW + 2)
        assert follower.note == EIO_NOTE, "the error replaces the change note"
        assert not follower.update(NOW + 1000)
        assert follower.note == EIO_NOTE, "an error is noted while it lasts"
    append(path, healthy(7.0))
    assert follower.update(NOW + 1001)
    assert follower.note is None
    follower.tail.close()


# --------------------------------------------------------------------------- through the script


def test_a_file_that_appears_is_created_not_replaced(spawn: Spawn, tmp_path: Path) -> None:
    w = spawn("run.jsonl")
    first = w.header(lambda h: True)
    assert first.endswith(f"| {WAITING}"), first

    (tmp_path / "run.jsonl").write_text(healthy(43.0))
    text = w.header(lambda h: "1 record" in h)
    assert f"| {CREATED}" in text, text
    assert "replaced" not in text and "waiting" not in text, text


@pytest.mark.parametrize("how", ["truncated", "replaced", "recreated"])
def test_the_frame_of_a_change_says_what_changed(spawn: Spawn, tmp_path: Path, how: str) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(healthy(3.0) + healthy(4.0))
    w = spawn("run.jsonl")
    assert "| 2 records |" in w.header(lambda h: True)

    if how == "truncated":
        with open(path, "w") as f:  # the same file, rewritten shorter
            f.write(healthy(5.0))
        note = TRUNCATED
    elif how == "replaced":
        replace(path)
        note = REPLACED
    else:
        delete(path)
        assert f"| {DELETED} | updated " in w.header(lambda h: "deleted" in h)
        path.write_text(healthy(5.0))
        note = RECREATED
    text = w.header(lambda h: "| 1 record |" in h)
    assert f"| {note}" in text, text


def test_a_directory_where_the_file_should_appear_is_retried(spawn: Spawn, tmp_path: Path) -> None:
    """A directory at a path found missing at start is a read error, not an exit."""
    w = spawn("run.jsonl")
    assert WAITING in w.header(lambda h: True)
    (tmp_path / "run.jsonl").mkdir()
    text = w.header(lambda h: "read error" in h)
    assert text.endswith("| read error: Is a directory; retrying"), text

    (tmp_path / "run.jsonl").rmdir()
    assert WAITING in w.header(lambda h: "read error" not in h)
    (tmp_path / "run.jsonl").write_text(healthy(9.0))
    assert f"| {CREATED}" in w.header(lambda h: "| 1 record |" in h)
    assert w.popen.poll() is None, "watch exited" + w._context()


@pytest.mark.parametrize("how", ["created", "truncated"])
def test_a_change_note_fades_on_a_live_terminal(tmp_path: Path, how: str) -> None:
    path = tmp_path / "run.jsonl"
    if how == "truncated":
        path.write_text(healthy(3.0) + healthy(4.0))
    term = Pty(["watch", "run.jsonl"], tmp_path, cols=100, rows=30)
    try:
        if how == "created":
            term.wait_for(lambda s: WAITING in "\n".join(s), WAITING)
            path.write_text(healthy(5.0))
            note = CREATED
        else:
            term.wait_for(lambda s: shown_bellman(s) == ["4"], "Bellman 4")
            with open(path, "w") as f:
                f.write(healthy(5.0))
            note = TRUNCATED

        def drawn(lines: list[str], with_note: bool) -> bool:
            text = "\n".join(lines)
            data = shown_bellman(lines) == ["5"] and "1 record " in text
            return data and (note in text) == with_note

        term.wait_for(lambda s: drawn(s, with_note=True), f"Bellman 5 and {note!r}")
        # Nothing more is written: the redraw for the age takes the note away.
        shown = term.wait_for(lambda s: drawn(s, with_note=False), f"Bellman 5, no {note!r}")
        assert "waiting" not in "\n".join(shown)
        assert term.finish() == 0
    finally:
        term.close()
