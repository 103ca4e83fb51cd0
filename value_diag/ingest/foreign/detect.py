"""Which foreign format a file is, from its name and its first bytes. Pure.

For run discovery: the names below are those the trainers write (SB3's CSV logger,
TensorBoard's writers, Tune's JSON logger); verl's file logger writes
``<experiment>.jsonl``, like value-diag's own runs, so it is told by its first line,
``{"step": ..., "data": {...}}`` and nothing else.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Final

import orjson


class Format(StrEnum):
    """A format a module of ``value_diag.ingest.foreign`` reads (named as the module)."""

    SB3_CSV = "sb3_csv"
    TFEVENTS = "tfevents"
    RAY_TUNE = "ray_tune"
    VERL_FILE = "verl_file"


PATTERNS: Final = {
    Format.SB3_CSV: "progress.csv",
    Format.TFEVENTS: "events.out.tfevents.*",
    Format.RAY_TUNE: "result.json",
    Format.VERL_FILE: "*.jsonl",
}
"""The file names each format is written under (glob patterns)."""
VERL_KEYS: Final = frozenset({"step", "data"})


def detect(path: str, head: bytes) -> Format | None:
    """The foreign format of the file at ``path`` whose first bytes are ``head``; None for
    value-diag's own lines or anything else.

    ``head`` needs the first line whole only for a ``.jsonl`` file (verl's first line is a
    step's metrics, a few KB); without it such a file is not called verl's.
    """
    name = os.path.basename(path)
    if name == PATTERNS[Format.SB3_CSV]:
        return Format.SB3_CSV
    if name.startswith(PATTERNS[Format.TFEVENTS][:-1]):
        return Format.TFEVENTS
    if name == PATTERNS[Format.RAY_TUNE]:
        return Format.RAY_TUNE
    if name.endswith(".jsonl"):
        first, newline, _ = head.partition(b"\n")
        if not newline:
            return None
        try:
            record = orjson.loads(first)
        except orjson.JSONDecodeError:
            return None
        if (
            isinstance(record, dict)
            and record.keys() == VERL_KEYS
            and isinstance(record["data"], dict)
        ):
            return Format.VERL_FILE
    return None
