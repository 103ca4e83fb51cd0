"""Telemetry from a training loop: JSON lines appended whole, so a reader never sees a mix."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any, Final

from value_diag import __version__
from value_diag.producer.metrics import BOUND_FIELDS, CHANGE_FIELDS, CRITIC_FIELDS, FIT_FIELDS
from value_diag.schema import (
    COMPILE_FIELDS,
    MAX_LINE,
    RUN_HEADER,
    SAMPLE_FIELDS,
    VALUE_FIELDS,
    ValueFunctionMetrics,
)

SHAPE_KEYS: Final = ("event_type", "tamiyo")
"""Top-level keys that make value-diag read a line as an esper-lite event or a Sanctum
snapshot instead of a flat line: an extra of either name would hide the update."""
RESERVED: Final = frozenset(
    {*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS, *BOUND_FIELDS, *CHANGE_FIELDS, RUN_HEADER}
    | {*COMPILE_FIELDS, *SHAPE_KEYS}
)
"""Keys value-diag reads from a flat line, or that change how it reads one; ``log(**extra)``
may not use them."""
WRITER: Final = "TelemetryWriter"
"""What a run header names as the writer unless told otherwise."""
RULES: Final = "scale-free"
"""The rules a run header asks value-diag to judge the run by."""
SETTLE_S: Final = 0.002
SETTLE_TRIES: Final = 10
"""A file found ending mid-line is looked at again SETTLE_S later, up to SETTLE_TRIES
times, until its size holds: only then is its last line a fragment, not a line landing."""
LOCK_WAIT_S: Final = 1.0
"""How long a writer waits for another writer's lock on the file (held for one write) before
it writes without it: a lock server that does not answer (NFS) never stalls training."""
LOCK_POLL_S: Final = 0.001


def encode(record: Mapping[str, Any]) -> bytes:
    """One JSON line, newline included.

    Non-finite floats are the bare tokens NaN, Infinity and -Infinity (as Python's json
    and esper-lite write them, and as value-diag reads them): a NaN loss must reach the
    panel as NaN, not as null. Arrays and tensors are written as their ``tolist()``;
    anything else JSON has no type for, as its ``str()``.
    """
    return (json.dumps(record, allow_nan=True, default=_default) + "\n").encode("ascii")


def fits(line: bytes) -> bool:
    """Whether an encoded line (newline included) is no longer than value-diag loads."""
    return len(line) - 1 <= MAX_LINE


def _whole(record: Mapping[str, Any], what: str) -> bytes:
    """``record`` as one line (``encode``), or ValueError if value-diag would not load it."""
    line = encode(record)
    if not fits(line):
        raise _too_long(line, what)
    return line


def _too_long(line: bytes, what: str) -> ValueError:
    return ValueError(
        f"{what} would be a line of {len(line) - 1} bytes, longer than value-diag reads "
        f"({MAX_LINE} bytes, MAX_LINE); nothing was written"
    )


def flat_record(
    metrics: ValueFunctionMetrics, step: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A flat-shape line: ``step``, the nine metrics, the critic's five, the FIT_FIELDS,
    then ``extra``.

    The critic's five (explained variance, value mean, std, min and max) and the
    FIT_FIELDS (the returns' mean) are written when ``metrics`` has them, and the
    BOUND_FIELDS and CHANGE_FIELDS when they were given (``compute_value_metrics(bound=...,
    critic_change=...)``), and SAMPLE_FIELDS (how many steps the metrics describe) unless
    ``extra`` gives them:
    ``compute_value_metrics`` returns them; a bare ``ValueFunctionMetrics`` has only the
    nine.

    Raises:
        ValueError: an ``extra`` key is one of the names value-diag reads (RESERVED).
    """
    clash = sorted(RESERVED.intersection(extra))
    if clash:
        raise ValueError(
            f"extra keys may not reuse the names value-diag reads, or that change how it "
            f"reads a line: {clash}; give them another name"
        )
    record: dict[str, Any] = {} if step is None else {"step": step}
    for name in VALUE_FIELDS:
        record[name] = float(getattr(metrics, name))
    for name in (*CRITIC_FIELDS, *FIT_FIELDS, *BOUND_FIELDS, *CHANGE_FIELDS):
        x = getattr(metrics, name, None)
        if x is not None:
            record[name] = float(x)
    for name in SAMPLE_FIELDS:
        n = getattr(metrics, name, None)
        if n is not None:
            record[name] = int(n)
    record.update(extra)  # an integration's own count of samples, gathered over rollouts
    return record


def log_lines(metrics: ValueFunctionMetrics, step: int | None = None, **extra: Any) -> list[bytes]:
    """The encoded lines ``log`` writes: one flat line (``flat_record``) when it is no
    longer than value-diag reads (MAX_LINE), else two: the flat line without ``extra``, then
    ``step`` and ``extra`` on a line of their own, which value-diag does not need to read.

    An update is never lost to its extras: a line over the limit is counted bad unread.

    Raises:
        ValueError: an ``extra`` key is one of RESERVED, or the extras are longer than
            MAX_LINE even on a line of their own.
    """
    line = encode(flat_record(metrics, step, **extra))
    if fits(line):
        return [line]
    rest: dict[str, Any] = {} if step is None else {"step": step}
    rest.update(extra)
    tail = encode(rest)
    if not fits(tail):
        raise _too_long(tail, "the extras")
    return [encode(flat_record(metrics, step)), tail]


def run_header(writer: str = WRITER, started: float | None = None) -> dict[str, Any]:
    """The run header: what wrote the run, value-diag's version, the rules, and when it
    started (unix time; now unless given). A reader starts the run afresh at it."""
    return {
        RUN_HEADER: {
            "writer": writer,
            "version": __version__,
            "rules": RULES,
            "started": time.time() if started is None else started,
        }
    }


def compile_record(enabled: bool, backend: str | None, mode: str | None) -> dict[str, Any]:
    """The torch.compile status as the three keys value-diag reads."""
    return {"compile_enabled": bool(enabled), "compile_backend": backend, "compile_mode": mode}


def _default(obj: Any) -> Any:
    tolist = getattr(obj, "tolist", None)
    return tolist() if callable(tolist) else str(obj)


class TelemetryWriter:
    """Appends flat-shape telemetry lines to a file that value-diag can watch.

    The file is opened with O_APPEND and every call goes out in one ``os.write`` of whole
    lines (no user-space buffer), so lines from several writers never interleave and a
    reader sees each line whole as soon as it is written. No line is longer than
    value-diag reads (MAX_LINE), and no part of a line is left for the next one to be
    glued to: a write the disk takes only part of is cut off again (``write``), and a file
    that already ends mid-line (a crash) gets a newline before the first line.

    Its first line is a run header (``run_header``): a training script started again on
    the same file begins a new run there, and value-diag shows only the newest run.

    Example:
        with TelemetryWriter("run.jsonl") as telemetry:
            telemetry.set_compile(True, "inductor", "reduce-overhead")
            telemetry.log(compute_value_metrics(values, returns, td_errors), step=update)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        truncate: bool = False,
        header: bool = True,
        writer: str = WRITER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Opens (creating it if needed) ``path`` for appending and starts a run.

        Args:
            path: the file.
            truncate: empty the file first.
            header: write the run header (naming ``writer``) as the first line; False
                continues the run already in the file.
            writer: what the run header names as the writer.
            clock: when the run starts, as the header says (unix time).
        """
        self.path = os.fspath(path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        if truncate:
            flags |= os.O_TRUNC
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, flags, 0o644)
        try:
            with _locked(self._fd):
                # The file may end with part of a line: then the next write starts with a
                # newline. Another writer's line lands whole under the lock, never half.
                self._torn = _ends_mid_line(self._fd, self.path)
                if header:
                    self._write(_whole(run_header(writer, started=clock()), "the run header"))
        except BaseException:
            self.close()
            raise

    def log(self, metrics: ValueFunctionMetrics, step: int | None = None, **extra: Any) -> None:
        """Appends the value metrics (and ``step`` and ``extra`` keys) as one flat line, or
        as two when the extras would make it longer than value-diag reads (``log_lines``).

        Raises:
            ValueError: an ``extra`` key is one of the names value-diag reads or that
                change how it reads a line (RESERVED), or the extras alone are longer
                than MAX_LINE; nothing is written.
            OSError: the file did not take the line (see ``write``).
        """
        self._append(b"".join(log_lines(metrics, step, **extra)))

    def set_compile(
        self, enabled: bool, backend: str | None = None, mode: str | None = None
    ) -> None:
        """Appends the torch.compile status (the panel's last line) as one line."""
        self.write(compile_record(enabled, backend, mode))

    def write(self, record: Mapping[str, Any]) -> None:
        """Appends any JSON object as one line (an esper event, a snapshot).

        Raises:
            ValueError: the writer is closed, or the line would be longer than value-diag
                reads (MAX_LINE); nothing is written.
            OSError: the file did not take the whole line (a full disk, a file size
                limit). The part written, if any, has been cut off again, so the file
                still ends at its last whole line; where that cannot be done safely (a
                pipe, or another writer appended after it) the next line starts with a
                newline, making the part a bad line of its own rather than a prefix of
                the next update.
        """
        self._append(_whole(record, "the record"))

    def _append(self, data: bytes) -> None:
        """Writes whole lines in one call, under the file's lock; never leaves a part for
        the next to be glued to."""
        with self._lock:
            fd = self._fd
            if fd is None:
                raise ValueError(f"TelemetryWriter for {self.path} is closed")
            with _locked(fd):
                self._write(data)

    def _write(self, data: bytes) -> None:
        """``_append``'s write, its locks held (or the file's still being opened)."""
        fd = self._fd
        assert fd is not None
        if self._torn:
            data = b"\n" + data
        # With O_APPEND the lines land whole at the end. A regular file takes them all in
        # one call; only a full disk (or a size limit) writes short.
        written = os.write(fd, data)  # if this raises, nothing was written
        if written < len(data):
            self._finish(fd, data, written)
        self._torn = False

    def _finish(self, fd: int, data: bytes, written: int) -> None:
        """Writes the rest of ``data`` after a short write; if that fails, cuts off the
        part written, or, where that is not safe, has the next write start a new line."""
        start = _offset(fd)
        if start is not None:
            start -= written
        try:
            while written < len(data):
                n = os.write(fd, data[written:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.path)
                written += n
        except BaseException:
            if not _cut(fd, start, written):
                self._torn = True
            raise

    def close(self) -> None:
        """Closes the file; closing twice is fine."""
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._fd is None

    def __enter__(self) -> TelemetryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    """Holds an exclusive ``flock`` on the file while the body runs, so that writers in other
    processes (and other TelemetryWriters of this one) neither write between a writer's
    look at the file's end and its first line, nor mid-way through each other's lines.

    The lock is advisory: a writer that takes none (esper-lite's own) is not held up, and is
    met by the look at the end's settling (``_ends_mid_line``). Where the file takes no lock
    (a pipe on some systems, a file system without them), or another holds it for longer
    than LOCK_WAIT_S (a stalled lock server), the body runs without it.
    """
    locked = _lock(fd)
    try:
        yield
    finally:
        if locked:
            with suppress(OSError):  # closing the file lets it go anyway
                fcntl.flock(fd, fcntl.LOCK_UN)


def _lock(fd: int) -> bool:
    """Takes ``_locked``'s lock, waiting up to LOCK_WAIT_S; whether it got it."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(LOCK_POLL_S)
        except OSError:
            return False
        else:
            return True


def _offset(fd: int) -> int | None:
    """The file offset of ``fd`` (just past its last write, under O_APPEND), or None for a
    file that cannot seek (a pipe)."""
    try:
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return None


def _cut(fd: int, start: int | None, written: int) -> bool:
    """Truncates the file back to ``start``, where the ``written`` bytes of a failed line
    begin, if they are still its last bytes and all ours; whether it did.

    Another writer's line appended after them (or between their pieces) would be cut too,
    so then nothing is cut. A writer on another machine (NFS) that appends between the size
    check and the truncation is the one case this cannot see.
    """
    if start is None:
        return False
    try:
        end = os.lseek(fd, 0, os.SEEK_CUR)
        if end - start != written or os.fstat(fd).st_size != end:
            return False
        os.ftruncate(fd, start)
    except OSError:
        return False
    return True


def _ends_mid_line(fd: int, path: str) -> bool:
    """Whether the regular file just opened as ``fd`` ends with part of a line (an earlier
    writer that crashed, or met a full disk, mid-line). Unreadable: taken as whole.

    Another writer's line may be landing as this looks (a long write shows page by page):
    a last line that is still growing is looked at again once it stops.
    """
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            return False
        rfd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        same = os.fstat(rfd)
        if (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
            return False  # replaced between the two opens
        size = -1
        for _ in range(SETTLE_TRIES):
            before, size = size, os.fstat(rfd).st_size
            if size == 0 or os.pread(rfd, 1, size - 1) == b"\n":
                return False
            if size == before:
                return True
            time.sleep(SETTLE_S)
        return True
    except OSError:
        return False
    finally:
        os.close(rfd)
