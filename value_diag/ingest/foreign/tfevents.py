"""TensorBoard event files (SB3, CleanRL, verl, any ``SummaryWriter``) to flat lines.

An event file is a sequence of TFRecords (a little-endian u64 length, its masked CRC-32C, the
bytes, their masked CRC-32C), each an ``Event`` protocol buffer. The framing is read here
(``split_records``: pure, and a record still being written is left for the next read); the
events are decoded by TensorBoard's own schema (``tensorboard.compat.proto.event_pb2``), so
the ``[tensorboard]`` extra is needed for ``read_events``. docs/readers.md says why this and
not TensorBoard's ``EventFileLoader`` or tbparse. The length's checksum is checked (it
catches a misframed file); the data's is not (pure Python CRC-32C over every byte is slow).

Tags read (a scalar, ``simple_value`` or a scalar float tensor):

    train/explained_variance, train/value_loss    SB3 -> explained_variance, value_loss
    losses/explained_variance, losses/value_loss  CleanRL -> explained_variance, value_loss
    critic/vf_explained_var, critic/values/*, critic/returns/*   verl (as ``verl_file``)

SB3 writes its ``train/*`` one rollout late, as in ``progress.csv`` (see ``sb3_csv``): at a
dump at step S they describe the rollout before. They are moved back to the step of the
previous dump (any tag's previous step in the file), exact for SB3's default
``log_interval=1``; with ``rollout_steps`` (``n_steps * n_envs``) given, to S minus it, exact
for any ``log_interval``. CleanRL logs after the update the values of the rollout just
collected at its ``global_step``: no lag. ``value_loss`` is carried; the panel does not read
it.

None of these logs the nine value-function metrics, and SB3 and CleanRL log no value
statistics: the SB3 callback, or CleanRL's three lines around its GAE loop, write them
(README "Where the three inputs are in your trainer").
"""

from __future__ import annotations

import bisect
import importlib
import struct
from dataclasses import dataclass
from typing import Any, Final

from value_diag.ingest.foreign import FlatLine, Source
from value_diag.ingest.foreign.verl_file import KEYS as VERL_KEYS
from value_diag.ingest.foreign.verl_file import SOURCE as VERL

EXTRA: Final = "tensorboard"
"""The extra that brings the event schema: ``pip install 'value-diag[tensorboard]'``."""
LAGGED: Final = {
    "train/explained_variance": "explained_variance",
    "train/value_loss": "value_loss",
}
"""SB3's tags, written one dump late."""
TAGS: Final = {
    "losses/explained_variance": "explained_variance",
    "losses/value_loss": "value_loss",
    **VERL_KEYS,
}
"""Tags written at the step they describe (CleanRL, verl)."""
SOURCE: Final = Source(
    name="TensorBoard event file",
    fills=VERL.fills,  # verl's tags; SB3's and CleanRL's give explained_variance alone
    carried=VERL.carried | {"value_loss"},
    hook="SB3: ValueDiagnosticsCallback; CleanRL: telemetry.log(compute_value_metrics("
    "b_values, b_returns, deltas), step=global_step); verl: ValueDiagnostics",
)

_HEADER: Final = struct.Struct("<QI")
_CRC: Final = 4
_DT_FLOAT: Final = 1
_DT_DOUBLE: Final = 2


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        rows.append(crc)
    return tuple(rows)


_CRC32C: Final = _table()


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C (Castagnoli), rotated and offset as TensorFlow masks it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Framed:
    """The whole records at the start of some bytes.

    Attributes:
        records: each record's data, in order.
        used: bytes taken by them (a reader goes on from there).
        error: why reading stopped before the end, if not for want of bytes (a length
            whose checksum is wrong: not an event file, or a damaged one).
    """

    records: tuple[bytes, ...]
    used: int
    error: str | None = None


def split_records(data: bytes) -> Framed:
    """The whole TFRecords in ``data``; a record cut short at the end is left unread."""
    records: list[bytes] = []
    at = 0
    while len(data) - at >= _HEADER.size:
        length, length_crc = _HEADER.unpack_from(data, at)
        if masked_crc32c(data[at : at + 8]) != length_crc:
            return Framed(tuple(records), at, f"bad record length checksum at byte {at}")
        end = at + _HEADER.size + length + _CRC
        if end > len(data):
            break
        records.append(data[at + _HEADER.size : end - _CRC])
        at = end
    return Framed(tuple(records), at)


def event_schema() -> Any:
    """TensorBoard's ``event_pb2`` module.

    Raises:
        ImportError: tensorboard is not installed; the message names the extra.
    """
    try:
        return importlib.import_module("tensorboard.compat.proto.event_pb2")
    except ImportError as exc:
        raise ImportError(
            f"reading TensorBoard event files needs the tensorboard package: "
            f"pip install 'value-diag[{EXTRA}]' (or pip install tensorboard)"
        ) from exc


def _scalar(value: Any) -> float | None:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind != "tensor" or value.tensor.tensor_shape.dim:
        return None
    tensor = value.tensor
    if tensor.dtype == _DT_FLOAT:
        vals, fmt = tensor.float_val, "<f"
    elif tensor.dtype == _DT_DOUBLE:
        vals, fmt = tensor.double_val, "<d"
    else:
        return None
    if len(vals) == 1:
        return float(vals[0])
    if len(tensor.tensor_content) == struct.calcsize(fmt):
        return float(struct.unpack(fmt, tensor.tensor_content)[0])
    return None


def scalars(records: tuple[bytes, ...]) -> list[tuple[str, int, float]]:
    """Every scalar in the records as (tag, step, value), in order; a record that does not
    decode as an Event is skipped.

    Raises:
        ImportError: tensorboard is not installed (see ``event_schema``).
    """
    schema = event_schema()
    decode_error = importlib.import_module("google.protobuf.message").DecodeError
    found: list[tuple[str, int, float]] = []
    for record in records:
        try:
            event = schema.Event.FromString(record)
        except decode_error:
            continue
        if event.WhichOneof("what") != "summary":
            continue
        for value in event.summary.value:
            number = _scalar(value)
            if number is not None:
                found.append((value.tag, int(event.step), number))
    return found


def read_events(data: bytes, rollout_steps: int | None = None) -> list[FlatLine]:
    """The flat lines of an event file's bytes, one per step, in the order first written.

    Args:
        data: the file's bytes (a record still being written at the end is left).
        rollout_steps: SB3's steps per rollout (``n_steps * n_envs``), to place its lagged
            tags exactly for any ``log_interval``; without it, at the previous dump.

    Raises:
        ImportError: tensorboard is not installed (see ``event_schema``).
    """
    found = scalars(split_records(data).records)
    steps = sorted({step for _, step, _ in found})
    lines: dict[int, FlatLine] = {}
    for tag, step, value in found:
        if tag in LAGGED:
            name = LAGGED[tag]
            if rollout_steps is not None:
                described: int | None = step - rollout_steps
            else:
                before = bisect.bisect_left(steps, step)
                described = steps[before - 1] if before else None
            if described is None or described < 0:
                continue
        elif tag in TAGS:
            name, described = TAGS[tag], step
        else:
            continue
        lines.setdefault(described, {"step": described})[name] = value
    return list(lines.values())
