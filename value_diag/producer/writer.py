"""Telemetry from a training loop: JSON lines appended whole, so a reader never sees a mix."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

from value_diag import __version__
from value_diag.producer.metrics import CRITIC_FIELDS, FIT_FIELDS
from value_diag.schema import COMPILE_FIELDS, RUN_HEADER, VALUE_FIELDS, ValueFunctionMetrics

RESERVED: Final = frozenset(
    (*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS, *COMPILE_FIELDS, RUN_HEADER)
)
"""Keys value-diag reads from a flat line; ``log(**extra)`` may not reuse them."""
WRITER: Final = "TelemetryWriter"
"""What a run header names as the writer unless told otherwise."""
RULES: Final = "scale-free"
"""The rules a run header asks value-diag to judge the run by."""


def encode(record: Mapping[str, Any]) -> bytes:
    """One JSON line, newline included.

    Non-finite floats are the bare tokens NaN, Infinity and -Infinity (as Python's json
    and esper-lite write them, and as value-diag reads them): a NaN loss must reach the
    panel as NaN, not as null. Arrays and tensors are written as their ``tolist()``;
    anything else JSON has no type for, as its ``str()``.
    """
    return (json.dumps(record, allow_nan=True, default=_default) + "\n").encode("ascii")


def flat_record(
    metrics: ValueFunctionMetrics, step: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A flat-shape line: ``step``, the nine metrics, the critic's five, the FIT_FIELDS,
    then ``extra``.

    The critic's five (explained variance, value mean, std, min and max) and the
    FIT_FIELDS (the returns' mean) are written when ``metrics`` has them:
    ``compute_value_metrics`` returns them; a bare ``ValueFunctionMetrics`` has only the
    nine.

    Raises:
        ValueError: an ``extra`` key is one of the names value-diag reads (RESERVED).
    """
    clash = sorted(RESERVED.intersection(extra))
    if clash:
        raise ValueError(f"extra keys may not reuse the names value-diag reads: {clash}")
    record: dict[str, Any] = {} if step is None else {"step": step}
    for name in VALUE_FIELDS:
        record[name] = float(getattr(metrics, name))
    for name in (*CRITIC_FIELDS, *FIT_FIELDS):
        if hasattr(metrics, name):
            record[name] = float(getattr(metrics, name))
    record.update(extra)
    return record


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

    The file is opened with O_APPEND and every line goes out in one ``os.write`` of
    the complete line (no user-space buffer), so lines from several writers never
    interleave, a reader sees each line whole as soon as it is written, and a crash
    leaves at most one partial last line.

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
    ) -> None:
        """Opens (creating it if needed) ``path`` for appending and starts a run.

        Args:
            path: the file.
            truncate: empty the file first.
            header: write the run header (naming ``writer``) as the first line; False
                continues the run already in the file.
            writer: what the run header names as the writer.
        """
        self.path = os.fspath(path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        if truncate:
            flags |= os.O_TRUNC
        self._fd: int | None = os.open(self.path, flags, 0o644)
        if header:
            try:
                self.write(run_header(writer))
            except BaseException:
                self.close()
                raise

    def log(self, metrics: ValueFunctionMetrics, step: int | None = None, **extra: Any) -> None:
        """Appends the value metrics (and ``step`` and ``extra`` keys) as one flat line.

        Raises:
            ValueError: an ``extra`` key is one of the names value-diag reads (RESERVED).
        """
        self.write(flat_record(metrics, step, **extra))

    def set_compile(
        self, enabled: bool, backend: str | None = None, mode: str | None = None
    ) -> None:
        """Appends the torch.compile status (the panel's last line) as one line."""
        self.write(compile_record(enabled, backend, mode))

    def write(self, record: Mapping[str, Any]) -> None:
        """Appends any JSON object as one line (an esper event, a snapshot)."""
        if self._fd is None:
            raise ValueError(f"TelemetryWriter for {self.path} is closed")
        data = encode(record)
        # One call: with O_APPEND the line lands whole at the end. A regular file takes
        # it all; only a full disk writes short, and then the rest follows.
        written = os.write(self._fd, data)
        while written < len(data):
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        """Closes the file; closing twice is fine."""
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
