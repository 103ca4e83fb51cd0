"""A trainer's own log -> value-diag's runs: the readers of this package wired to the fold.

``format_of`` tells which reader a file needs: by its name, and a ``.jsonl`` by its first
line (verl's file logger, else value-diag's own lines, which the fast path reads).
``Converted`` turns a file's bytes into flat lines with its reader, writes each as the JSON
line it stands for and folds that line as any flat line is folded: a file shows what a
file of those lines would. It keeps the lines it folded, so that when the file has grown
only the lines beyond them are folded (``watch``). If a line already folded reads
differently now (a TensorBoard step whose tags came in two reads), the file is folded
again from its first line. Each conversion reads the whole file: its cost grows with the
file, not with what was added (docs/readers.md). RLlib's modules are the file's groups,
shown as the runs of a JSON-lines file's groups are.

``read_foreign`` reads such a file whole, for ``once``.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from value_diag.errors import ReadError
from value_diag.frame import SourceLimits
from value_diag.ingest.files import describe, display_name, open_regular, read_range
from value_diag.ingest.fold import FileState, fold
from value_diag.ingest.foreign import HOOK_SECTION, FlatLine, Source
from value_diag.ingest.foreign.detect import Format, detect
from value_diag.ingest.parallel import read_path
from value_diag.ingest.urls import is_url, path_part
from value_diag.schema import CRITIC_FIELDS, MAX_LINE, VALUE_FIELDS
from value_diag.state import FoldState

READERS: Final = {
    Format.SB3_CSV: "sb3_csv",
    Format.TFEVENTS: "tfevents",
    Format.RAY_TUNE: "ray_tune",
    Format.VERL_FILE: "verl_file",
}
"""The module of each format's reader, in this package: imported when a file of that format
is read, so that reading value-diag's own lines loads none of them."""


def source_of(fmt: Format) -> Source:
    """What a format can give, as its reader says (its module's ``SOURCE``)."""
    module = importlib.import_module(f"value_diag.ingest.foreign.{READERS[fmt]}")
    source: Source = module.SOURCE
    return source


HEAD: Final = MAX_LINE + 1
"""Bytes read to tell a ``.jsonl`` file's format: a first line longer than value-diag
loads is no verl record."""
JSONL: Final = ".jsonl"
"""The ending of the one name that needs its first line to tell the format."""

Runs = dict[str | None, list[bytes]]
"""A file's lines as JSON, per group (None: a file of one run; RLlib's module ids)."""


def named(path: str) -> str:
    """What tells a file's format by its name: a path, or a URL's path (its host, query
    and credentials are no part of the name)."""
    return path_part(path) if is_url(path) else path


def needs_head(path: str) -> bool:
    """Whether the format of the file at ``path`` (a URL too) is told by its first line,
    not its name."""
    return named(path).endswith(JSONL)


def format_from(path: str, head: bytes) -> Format | None:
    """``detect`` for a path or a URL: the foreign format of the file whose first bytes
    are ``head`` (None: value-diag's lines)."""
    return detect(named(path), head)


FIRST_READ: Final = 4096
"""Bytes read first to find a ``.jsonl`` file's first line (verl's is a few KB, value-diag's
run header some 150 bytes); more, up to HEAD, only while no newline has come."""


def head_of(fd: int) -> bytes:
    """A file's first bytes up to and including its first line's newline (all of them up to
    HEAD when none is there): what ``detect`` needs, read in growing blocks, so that telling
    thousands of run files apart reads a few KB of each, not HEAD.

    Raises:
        OSError: the file cannot be read.
    """
    size = FIRST_READ
    while True:
        head = os.pread(fd, size, 0)
        end = head.find(b"\n")
        if end >= 0:
            return head[: end + 1]
        if len(head) < size or size >= HEAD:
            return head
        size = min(2 * size, HEAD)


def format_of(path: str) -> Format | None:
    """The foreign format of a local file (None: value-diag's lines, or unreadable now,
    which reading it will say). Reads a ``.jsonl`` file's first line only."""
    if not needs_head(path):
        return detect(path, b"")
    try:
        fd, _ = open_regular(path)
    except OSError:
        return None
    try:
        head = head_of(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return detect(path, head)


def limits(source: Source) -> SourceLimits:
    """What a format cannot give the panel, and the hook that would, as a frame carries it."""
    return SourceLimits(
        source=source.name,
        missing=tuple(n for n in (*VALUE_FIELDS, *CRITIC_FIELDS) if n not in source.fills),
        gives=tuple(n for n in CRITIC_FIELDS if n in source.fills),
        hook=source.hook,
        section=HOOK_SECTION,
        timing=source.timing,
    )


def convert(fmt: Format, data: bytes) -> dict[str | None, list[FlatLine]]:
    """A file's flat lines by its reader, per group (see ``Runs``).

    Raises:
        ReadError: the reader needs a package that is not installed (the message names the
            extra that brings it).
    """
    if fmt is Format.SB3_CSV:
        from value_diag.ingest.foreign import sb3_csv

        return {None: sb3_csv.read_progress_csv(data.decode("utf-8", "replace"))}
    if fmt is Format.RAY_TUNE:
        from value_diag.ingest.foreign import ray_tune

        modules = ray_tune.read_result_json(data.decode("utf-8", "replace"))
        return {module: lines for module, lines in modules.items()}
    if fmt is Format.VERL_FILE:
        from value_diag.ingest.foreign import verl_file

        return {None: verl_file.read_verl_jsonl(data)}
    from value_diag.ingest.foreign import tfevents

    try:
        return {None: tfevents.read_events(data)}
    except ImportError as exc:
        raise ReadError(str(exc)) from None


def encode(line: FlatLine) -> bytes:
    """A flat line as the JSON line it stands for (a NaN or an infinity as Python writes
    them, which value-diag reads as the numbers they are)."""
    return json.dumps(line).encode()


class Converted:
    """A foreign file's runs, folded from its reader's lines as the file grows.

    ``update`` takes the file's bytes from its first byte (a record still being written
    at the end is left by the readers for the next call).
    """

    def __init__(self, fmt: Format, history: int = 0, recent: int = 0) -> None:
        self.format = fmt
        self.history = history
        self.recent = recent
        self.limits = limits(source_of(fmt))
        self.file = self._empty()
        self._fed: Runs = {}
        self._states: dict[str | None, FoldState] = {}
        self.refolds = 0
        """Times the file was folded again from the top (a folded line read differently)."""

    def _empty(self) -> FileState:
        return replace(FileState.empty(self.history, self.recent), limits=self.limits)

    def reset(self) -> None:
        """Forgets every line folded: the next ``update`` folds the file from the top."""
        self._fed, self._states = {}, {}
        self.file = self._empty()

    def update(self, data: bytes, now: float) -> FileState:
        """The runs after the file's bytes ``data`` (all of them, from the first), the new
        lines' records dated ``now``.

        Raises:
            ReadError: the format's reader needs a package that is not installed.
        """
        converted = convert(self.format, data)
        runs = {g: [encode(line) for line in lines] for g, lines in converted.items()}
        if any(runs.get(g, [])[: len(fed)] != fed for g, fed in self._fed.items()):
            self.refolds += 1
            self.reset()
        whole = self.file.whole
        for group, lines in runs.items():
            done = len(self._fed.get(group, ()))
            if len(lines) == done:
                continue
            numbered = list(enumerate(lines[done:], start=done + 1))
            start = self._states.get(group) or self.file.shared
            self._states[group] = fold(start, numbered, now)
            whole = fold(whole, numbered, now)
        self._fed = runs
        groups = tuple((g, s) for g, s in self._states.items() if g is not None)
        self.file = FileState(whole, self.file.shared, groups, self.limits)
        return self.file


def read_local(
    path: str, history: int = 0, recent: int = 0, clock: Callable[[], float] = time.time
) -> FileState:
    """A local file's runs, read whole: a trainer's own log by its reader, value-diag's
    lines by the fast path (ingest/parallel.py); stdin's records dated by ``clock`` when it
    ends.

    Raises:
        ReadError: it cannot be read, or its reader needs a package not installed.
    """
    fmt = format_of(path)
    if fmt is None:
        return read_path(path, history=history, recent=recent, clock=clock)
    return read_foreign(path, fmt, history, recent)


def read_foreign(path: str, fmt: Format, history: int = 0, recent: int = 0) -> FileState:
    """A foreign file's runs, read whole; records dated by its last write (as ``once``
    dates value-diag's files).

    Raises:
        ReadError: it cannot be read, or its reader needs a package not installed (the
            message names the file and the extra).
    """
    try:
        fd, st = open_regular(path)
    except OSError as exc:
        raise describe(path, exc) from None
    try:
        data = b"".join(read_range(fd, 0, st.st_size))
    except OSError as exc:
        raise describe(path, exc) from None
    finally:
        os.close(fd)
    try:
        return Converted(fmt, history, recent).update(data, st.st_mtime)
    except ReadError as exc:
        raise ReadError(f"cannot read {display_name(path)}: {exc}") from None
