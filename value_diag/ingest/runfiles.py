"""What the command line names -> the run files to read: files, directories, patterns.

A directory stands for every run file below it (RUN_PATTERN, or the pattern given), a
pattern (``runs/*/run.jsonl``, quoted so that the shell leaves it) for the files it
matches now; both are looked at again while watching, so runs that start later are
seen. The walks (ingest/walk.py) end on any tree and name the folders they could not
read; ``Looks`` looks at a directory again listing only the folders that changed.
``newest`` picks the run that started last, for --latest. Pure but for the
file-system reads the names say.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import struct
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Final

from value_diag.ingest.files import RUN_PATTERN, STDIN
from value_diag.ingest.foreign.detect import PATTERNS, Format
from value_diag.ingest.urls import is_url, local_path, path_part, public
from value_diag.ingest.walk import Found, Patterns, Tree, below, matching, split_fixed
from value_diag.naming import NaturalKey, natural_key

ESPER_RUN: Final = re.compile(r"telemetry_(\d{4}-\d{2}-\d{2}_\d{6})(?:_(\d+))?")
"""The folder esper-lite's ``--telemetry-dir`` starts each run in (or a file so named):
its name says when."""
ESPER_TIME: Final = "%Y-%m-%d_%H%M%S"
"""How that name writes the time (the trainer's local time)."""
ESPER_AHEAD_S: Final = 86_400.0
"""How far past now an esper-lite name may say its run started (s) and still count: a
day of time zones and clock skew. A later time (``telemetry_9999-…``) is no start time,
else it would be the newest run for ever."""
RUN_PATTERNS: Final = (
    RUN_PATTERN,
    PATTERNS[Format.SB3_CSV],
    PATTERNS[Format.TFEVENTS],
    PATTERNS[Format.RAY_TUNE],
)
"""What a local directory stands for when no --pattern is given: JSON lines (value-diag's,
and verl's file logger, told apart when read), and what trainers already log: SB3's
``progress.csv``, TensorBoard event files, Ray Tune's ``result.json``
(ingest/foreign)."""
NAMED_BY_FOLDER: Final = (
    PATTERNS[Format.SB3_CSV],
    PATTERNS[Format.TFEVENTS],
    PATTERNS[Format.RAY_TUNE],
)
"""Files whose name is the format's, not the run's: the run is named by its folder."""
TUNE_COPIES: Final = (PATTERNS[Format.SB3_CSV], PATTERNS[Format.TFEVENTS])
"""What Tune writes beside a trial's ``result.json`` (its CSV and TensorBoard loggers):
the same results again, under Tune's own names, which no reader here reads."""


class Kind(StrEnum):
    """What one argument of the command line names."""

    STDIN = "stdin"
    FILE = "file"
    """A file, or a path that names nothing yet (a run file to wait for)."""
    DIRECTORY = "directory"
    PATTERN = "pattern"
    URL = "url"
    """A remote file, directory or pattern (s3://, sftp://, ...): ingest/remote."""


@dataclass(frozen=True, slots=True)
class Target:
    """One argument as given, what it names, and the pattern run files below it match."""

    given: str
    kind: Kind
    pattern: str = RUN_PATTERN
    chosen: bool = False
    """The pattern was given (--pattern): a directory stands for it alone."""

    @property
    def patterns(self) -> Patterns:
        """What a directory's run files match, local or remote: the pattern chosen, else
        RUN_PATTERNS."""
        if self.chosen:
            return self.pattern
        return RUN_PATTERNS

    @property
    def looked_for(self) -> str:
        """The patterns, as an error message names them."""
        patterns = self.patterns
        return patterns if isinstance(patterns, str) else ", ".join(patterns)

    @property
    def grows(self) -> bool:
        """Whether run files may be added to it while it is watched."""
        if self.kind is Kind.URL:
            path = path_part(self.given)
            return path.endswith("/") or glob.has_magic(path)
        return self.kind in (Kind.DIRECTORY, Kind.PATTERN)

    @property
    def matches(self) -> bool:
        """Whether it is a pattern (local, or a URL whose path holds ``*``, ``?`` or ``[``)
        rather than a directory or prefix: nothing found is then said as nothing matched."""
        if self.kind is Kind.URL:
            return self.grows and glob.has_magic(path_part(self.given))
        return self.kind is Kind.PATTERN

    @property
    def root(self) -> str:
        """The directory to watch for new run files: the directory, or the fixed part of
        a pattern (``runs`` for ``runs/*/run.jsonl``); the parent directory of a file."""
        if self.kind is Kind.DIRECTORY:
            return self.given
        if self.kind is Kind.PATTERN:
            return split_fixed(self.given)[0] or os.curdir
        return os.path.dirname(self.given) or "."

    def files(self) -> list[str]:
        """The run files it names now, in natural order (a file: itself, whether or not
        it exists yet); see ``look`` for the folders that could not be read."""
        return self.look().files

    def look(self, stop: Callable[[], bool] = lambda: False) -> Found:
        """The run files it names now, in natural order, and the local folders below it
        that could not be read (their runs are unknown: the caller says so).

        Raises:
            Interrupted: ``stop`` said to stop (asked before each directory is listed).
            ReadError: a remote listing failed.
        """
        if self.kind is Kind.DIRECTORY:
            found = below(self.given, self.patterns, stop)
        elif self.kind is Kind.PATTERN:
            found = matching(self.given, stop)
        else:
            return Found(self._named())
        found.files = self.kept(found.files)
        return found

    def kept(self, files: list[str]) -> list[str]:
        """The files found, in natural order; a directory's without Tune's copies (see
        ``without_tune_copies``) unless a pattern was chosen."""
        if self.kind is Kind.DIRECTORY and not self.chosen:
            files = without_tune_copies(files)
        return sorted(files, key=natural_key)

    def _named(self) -> list[str]:
        if self.kind is Kind.URL:  # over the network, time-bounded; ReadError if it fails
            from value_diag.ingest.remote import list_runs

            found = list_runs(self.given, self.patterns)
            if self.grows and not self.matches and not self.chosen:  # a remote directory
                found = without_tune_copies(found)
            return sorted(found, key=lambda u: natural_key(public(u)))
        return [self.given]


class Looks:
    """One target looked at again and again (watch looks every second): a directory
    through a walk.Tree, which lists again only the folders that changed since the last
    look; anything else as ``Target.look`` does."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tree = Tree(target.given, target.patterns) if target.kind is Kind.DIRECTORY else None

    def look(
        self, stop: Callable[[], bool] = lambda: False, changed: Collection[str] = ()
    ) -> Found:
        """What ``Target.look`` finds; ``changed``: paths the file system reported changed
        since the last look (their folders are listed again whatever their times say).

        Raises:
            Interrupted: ``stop`` said to stop (asked before each directory).
            ReadError: a remote listing failed.
        """
        if self.tree is None:
            return self.target.look(stop)
        found = self.tree.look(stop, changed)
        found.files = self.target.kept(found.files)
        return found


def target(given: str, pattern: str | None = None) -> Target:
    """What ``given`` names: stdin, a URL, a directory, a pattern (holding ``*``, ``?``
    or ``[`` and naming no file as written), or a file. A ``file://`` or ``local://``
    URL is the path it names.

    Raises:
        ReadError: a ``file://`` URL names another machine.
    """
    given = local_path(given) or given
    if given == STDIN:
        return Target(given, Kind.STDIN)
    if is_url(given):
        return Target(given, Kind.URL, pattern or RUN_PATTERN, chosen=pattern is not None)
    if os.path.isdir(given):
        return Target(given, Kind.DIRECTORY, pattern or RUN_PATTERN, chosen=pattern is not None)
    if glob.has_magic(given) and not os.path.lexists(given):
        return Target(given, Kind.PATTERN)
    return Target(given, Kind.FILE)


def without_tune_copies(files: list[str]) -> list[str]:
    """The files, but for the ``progress.csv`` and event files in a folder that holds a
    ``result.json``: a Tune trial's folder, where they repeat its results under Tune's
    names (``ray/tune/...``), which no reader here reads; kept, they would be runs of
    no data beside the trial's. A URL is told by its path (its query is no part of a name)."""
    split = {f: os.path.split(path_part(f) if is_url(f) else f) for f in files}
    trials = {folder for folder, name in split.values() if name == PATTERNS[Format.RAY_TUNE]}
    if not trials:
        return files
    return [
        f
        for f in files
        if split[f][0] not in trials
        or not any(fnmatch.fnmatchcase(split[f][1], p) for p in TUNE_COPIES)
    ]


def run_label(path: str) -> str:
    """What a run file is named by before names are shortened: a file whose name is its
    format's (``progress.csv``, ``result.json``, ``events.out.tfevents.*``) by its folder
    (``runs/PPO_1``), any other by itself; a file in the working folder keeps its name."""
    folder, name = os.path.split(path)
    if folder and any(fnmatch.fnmatchcase(name, p) for p in NAMED_BY_FOLDER):
        return folder
    return path


def newest(
    files: Iterable[str], seen: Mapping[str, int] | None = None, now: float | None = None
) -> str | None:
    """The run that started last (what --latest follows), None for none; ``now`` (default:
    the clock) is when the question is asked, for esper-lite times that lie ahead of it.

    Told by the first of these that sets the files apart:

    1. the time in an esper-lite name (``telemetry_YYYY-MM-DD_HHMMSS[_NNN]``, a folder
       or the file): the trainer's own clock when the run started, kept by copies and
       syncs that give files new birth times; of a mix, only the files so named compete;
    2. the file's birth time, where the file system keeps it (``born``);
    3. ``seen``: the look in which a watch first saw the file (0 for those there when it
       started): a file that appears later started later;
    4. the natural order of the names (``run_2`` after ``run_1``, ``PPO_10`` after
       ``PPO_9``, and ISO dates in names in time order): the counters and dates that
       trainers put in run names count up.

    Never the time of the last write: two runs side by side both write all the time,
    and the one that started first would win whenever it wrote last.
    """
    paths = list(files)
    if len(paths) < 2:
        return paths[0] if paths else None
    looks = seen or {}

    def started(path: str) -> tuple[tuple[int, tuple[str, int]], float, float, NaturalKey]:
        stamp = esper_stamp(path, now)
        birth = born(path)
        return (
            (0, ("", 0)) if stamp is None else (1, stamp),
            float("-inf") if birth is None else birth,
            looks.get(path, float("-inf")),
            natural_key(path),
        )

    return max(paths, key=started)


def esper_stamp(path: str, now: float | None = None) -> tuple[str, int] | None:
    """The start time (``YYYY-MM-DD_HHMMSS``, sortable as text) and counter that an
    esper-lite name gives the run: the file's own name, else its nearest folder so named.

    A name whose time is no time (``telemetry_2026-13-45_256199``) or lies more than
    ESPER_AHEAD_S past ``now`` (default: the clock) says nothing."""
    *folders, name = path.replace(os.sep, "/").split("/")
    for part in [name.partition(".")[0], *reversed(folders)]:
        match = ESPER_RUN.fullmatch(part)
        if match and _plausible(match[1], time.time() if now is None else now):
            return match[1], int(match[2] or 0)
    return None


def _plausible(stamp: str, now: float) -> bool:
    """Whether an esper-lite time is a real local time no later than ESPER_AHEAD_S from now."""
    try:
        started = datetime.strptime(stamp, ESPER_TIME)
    except ValueError:
        return False
    return started <= datetime.fromtimestamp(now + ESPER_AHEAD_S)


def born(path: str) -> float | None:
    """When the file was created (seconds since the epoch), where the system keeps and
    says it: ``st_birthtime`` (macOS, the BSDs, Windows from Python 3.12; before, Windows'
    ``st_ctime`` is it), statx(2) on Linux, where ``os.stat`` leaves it out. None where
    it cannot be told: a URL, a file system without it (NFS, some container layers), an
    unreadable path."""
    if is_url(path):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    birth = getattr(st, "st_birthtime", None)
    if birth is None and sys.platform == "win32":
        birth = st.st_ctime
    if birth is None:
        return _statx_birth(path)
    return float(birth) if birth > 0 else None  # 0 or -1: a file system that keeps none


_AT_FDCWD: Final = -100
_STATX_BTIME: Final = 0x800
"""statx(2)'s mask bit for the birth time, set in the answer when the file system has it."""
_STATX_SIZE: Final = 256
"""sizeof(struct statx) (linux/stat.h): stx_mask at 0, stx_btime at 0x50 (s64 seconds,
u32 nanoseconds)."""


def _statx_birth(path: str) -> float | None:
    """A file's birth time by Linux's statx(2), through the C library (glibc 2.28+, musl
    1.2.5+); None off Linux, without the call, or without the time."""
    call = _statx()
    if call is None:
        return None
    import ctypes

    buf = ctypes.create_string_buffer(_STATX_SIZE)
    if call(_AT_FDCWD, os.fsencode(path), 0, _STATX_BTIME, buf) != 0:
        return None
    (mask,) = struct.unpack_from("=I", buf.raw, 0)
    if not mask & _STATX_BTIME:
        return None
    seconds, nanos = struct.unpack_from("=qI", buf.raw, 0x50)
    return float(seconds) + float(nanos) / 1e9


@cache
def _statx() -> Any:
    """The C library's statx, typed for ctypes; None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        call = ctypes.CDLL(None).statx
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    call.restype = ctypes.c_int
    return call
