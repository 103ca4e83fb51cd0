"""One telemetry line (bytes) -> a record, a bad line, or nothing of ours. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import orjson

from value_diag.ingest.finder import make_finder
from value_diag.schema import (
    COMPILE_FIELDS,
    CRITIC_FIELDS,
    NAMING_FIELDS,
    RUN_HEADER,
    SAMPLE_FIELDS,
    VALUE_FIELDS,
)
from value_diag.state import Compile

CONTAINER_KEYS: Final = ("tamiyo", "value_function", "infrastructure")
EVENT_TYPES: Final = ("TRAINING_STARTED", "PPO_UPDATE_COMPLETED")
KNOWN_NAMES: Final[tuple[str, ...]] = (
    VALUE_FIELDS
    + CRITIC_FIELDS
    + NAMING_FIELDS
    + COMPILE_FIELDS
    + CONTAINER_KEYS
    + EVENT_TYPES
    + (RUN_HEADER,)
)
"""A line is examined only if one of these occurs in it as a quoted JSON string, or it
holds a JSON escape that could spell part of one (finder.ESCAPE: ``"v\\u005freturn_..."``
is a key JSON reads as ``v_return_...``; such lines are examined too, and a key that
decodes to a known name is read like any other)."""


FINDER: Final = make_finder(KNOWN_NAMES, escapes=True)
"""Finds the first known name (or letter escape) in a buffer; the one definition of 'a
line of ours'."""

BOM: Final = b"\xef\xbb\xbf"
STEP_KEYS: Final = ("step", "global_step", "epoch")
"""Where a line names its training step, at its top level; the first that holds a whole
number wins. ``step`` is what TelemetryWriter and the SB3 callback write, ``global_step``
CleanRL's name, ``epoch`` esper-lite's event counter of PPO batches. Any other value
(a string, a fraction, null) names no step: the line's metrics still count."""


class Record(NamedTuple):
    """A usable line: the parts it carries replace the state's; absent parts carry over.

    A named tuple, not a dataclass: one is made for every line of ours, and a frozen
    dataclass's ``__init__`` costs about a microsecond more per line.

    Attributes:
        values: the nine metrics in VALUE_FIELDS order (None for each one the line does
            not give, or gives as null), or None when the line gives none of them.
        compile: the compile status, or None when the line has none.
        new_run: a TRAINING_STARTED event or a run header (``value_diag_run``): the
            run's state resets before this applies.
        critic: the critic's five numbers in CRITIC_FIELDS order (None for one the line
            does not give), or None when the line names none of them.
        group: the event's ``group_id`` (esper-lite's A/B and cohort runs), or None for a
            line of no group (no, a null, an empty or the "default" group_id).
        step: the training step the line names (see STEP_KEYS), or None.
        fit: the RULE_FIELDS in order (None for one the line does not give), or None
            when the line names none of them.
        writer: what wrote the run, named by its run header; None for any other line.
        rules: the rules the run header asks for (``"scale-free"``), or None.
        mean_abs_td: the values come from an esper-lite PPO_UPDATE_COMPLETED event, whose
            ``bellman_error`` is the mean |TD error| (value-diag's is the mean squared).
        update: an esper-lite update event that carries the critic's numbers but not the
            nine (esper-lite's runs of December 2025): it counts as an update though it
            has no values. A line with the nine counts anyway (see is_update).
    """

    values: tuple[float | None, ...] | None = None
    compile: Compile | None = None
    new_run: bool = False
    group: str | None = None
    critic: tuple[float | None, ...] | None = None
    step: int | None = None
    fit: tuple[float | None, ...] | None = None
    writer: str | None = None
    rules: str | None = None
    mean_abs_td: bool = False
    update: bool = False

    @property
    def is_update(self) -> bool:
        """The line is a PPO update (a value record): it has the nine, or is ``update``."""
        return self.update or self.values is not None


@dataclass(frozen=True, slots=True)
class BadLine:
    """An examined line that could not be used, and why; its group if the event names one."""

    reason: str
    group: str | None = None


Parsed = Record | BadLine | None
"""What one examined line means; None is a valid line that carries nothing of ours."""


class _Bad(Exception):
    """Internal: the line is bad for the reason given."""


def parse(line: bytes) -> Parsed:
    """Interprets one line (without its newline; a BOM and a trailing CR are fine).

    A line whose parse runs out of memory is a bad line: what it had built is freed
    when the error unwinds, so the lines after it are read as usual.
    """
    try:
        return _parse(line)
    except MemoryError:
        return _out_of_memory(line)
    except SystemError as exc:
        # orjson 3.13 may return with a MemoryError set; Python reports a SystemError.
        if isinstance(exc.__cause__, MemoryError):
            return _out_of_memory(line)
        raise


def _out_of_memory(line: bytes) -> BadLine:
    return BadLine(f"line too large to parse ({len(line)} bytes): out of memory")


def _parse(line: bytes) -> Parsed:
    if line.startswith(BOM):
        line = line[len(BOM) :]
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = _loads_constants(line)
        if obj is _REFUSED:
            try:
                obj = _loads_fallback(line)
            except _Bad as bad:
                return BadLine(str(bad))
    if not isinstance(obj, dict):
        return BadLine("not a JSON object")
    try:
        return _interpret(obj)
    except _Bad as bad:
        return BadLine(str(bad))


_CONSTANTS: Final = {b"NaN": math.nan, b"Infinity": math.inf, b"-Infinity": -math.inf}
"""The bare tokens Python's json writes for non-finite floats (orjson refuses them)."""
_STAND_INS: Final = {"\0" + token.decode(): value for token, value in _CONSTANTS.items()}
"""The strings that stand for the tokens while orjson parses a line."""
_BEFORE: Final = frozenset(b":,[")
_AFTER: Final = frozenset(b",]}")
_BLANK: Final = frozenset(b" \t\r\n")
_REFUSED: Final = object()
STAND_IN_SPACING: Final = 160
"""Stand-ins are used only while a line has at most one bare token per this many bytes.

orjson saves about 4 ns per byte of line over the stdlib, and a stand-in costs about
0.6 us more than the stdlib's token (a span, four pieces and a string orjson builds, a
few hundred bytes, where the stdlib shares one float among all its NaNs). Measured
break-even: 22 tokens on a 3.3 KB esper update, 4 on 0.85 KB. Past it a line goes
straight to the stdlib, so a line of tokens costs a list slot per token, not a string.
"""
_CONTAINERS: Final = ("data", *CONTAINER_KEYS, RUN_HEADER)
FLAT_METRICS: Final = frozenset((*VALUE_FIELDS, *CRITIC_FIELDS, *NAMING_FIELDS))
"""The numbers a flat line carries at its top level. Beside an event_type or a tamiyo
object, which make a line an event or a snapshot, they are not read: a line that has them
there and nothing else of ours is a bad line, not a line of nothing (it could be an update
whose writer got the shape wrong)."""
_READ_KEYS: Final = (
    "event_type",
    "group_id",
    "skipped",
    "writer",
    "rules",
    *_CONTAINERS,
    *VALUE_FIELDS,
    *CRITIC_FIELDS,
    *NAMING_FIELDS,
    *COMPILE_FIELDS,
)
"""Every key _interpret reads, in the objects it reads them from."""


def _loads_constants(line: bytes) -> Any:
    """orjson on a line whose bare NaN/Infinity tokens are replaced by stand-in strings.

    A run going NaN writes them in every update: this parses such lines about twice as
    fast as the stdlib. The stand-ins are turned back into numbers wherever _interpret
    looks, so the result means what json.loads would give. A token is replaced only where
    a value may start and end; if it was inside a string after all, the quote put before
    it is unescaped and followed by a backslash, which no parser accepts. Such lines, like
    any other orjson refuses, give _REFUSED and go to the stdlib; so do lines holding the
    escape \\u0000 (or a NUL byte), which could spell a stand-in, and lines with too
    many tokens (STAND_IN_SPACING), counted before anything is built for them.
    """
    if b"\\u0000" in line or b"\0" in line:
        return _REFUSED
    if (line.count(b"NaN") + line.count(b"Infinity")) * STAND_IN_SPACING > len(line):
        return _REFUSED
    spans: list[tuple[int, int]] = []
    for token in (b"NaN", b"Infinity"):
        at = line.find(token)
        while at >= 0:
            start, end = at, at + len(token)
            if token == b"Infinity" and line[at - 1 : at] == b"-":
                start -= 1
            if _bare(line, start, end):
                spans.append((start, end))
            at = line.find(token, end)
    if not spans:
        return _REFUSED
    pieces: list[bytes] = []
    done = 0
    for start, end in sorted(spans):
        pieces += (line[done:start], b'"\\u0000', line[start:end], b'"')
        done = end
    pieces.append(line[done:])
    try:
        obj = orjson.loads(b"".join(pieces))
    except orjson.JSONDecodeError:
        return _REFUSED
    if isinstance(obj, dict):
        _restore(obj)
    return obj


def _restore(obj: dict[str, Any]) -> None:
    """Puts the numbers back for the stand-ins wherever _interpret reads."""
    todo = [obj]
    while todo:
        src = todo.pop()
        for key in _READ_KEYS:
            value = src.get(key)
            if isinstance(value, str):
                if value in _STAND_INS:
                    src[key] = _STAND_INS[value]
            elif isinstance(value, dict) and key in _CONTAINERS:
                todo.append(value)


def _bare(line: bytes, start: int, end: int) -> bool:
    """Whether line[start:end] stands where a JSON value may: after [ : or , and before , ] }."""
    i = start - 1
    while i >= 0 and line[i] in _BLANK:
        i -= 1
    if i < 0 or line[i] not in _BEFORE:
        return False
    j = end
    while j < len(line) and line[j] in _BLANK:
        j += 1
    return j == len(line) or line[j] in _AFTER


def _loads_fallback(line: bytes) -> Any:
    """The stdlib parser, for what orjson refuses: bare NaN/Infinity, integers beyond 64 bits."""
    import json  # only lines orjson refuses need it

    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"invalid UTF-8 at byte {exc.start + 1}") from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise _Bad(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _Bad("invalid JSON: nested too deeply") from None


def _parse_int(digits: str) -> int | float:
    """An integer literal; one too long for int() (over 4300 digits) is +-inf."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _interpret(obj: dict[str, Any]) -> Parsed:
    if RUN_HEADER in obj:
        return _run_header(_object(obj, RUN_HEADER))
    if "event_type" in obj:
        event = _event(obj)
        return _unplaced_event(obj) if event is None else event
    if "tamiyo" in obj:
        tamiyo = _object(obj, "tamiyo")
        values = compile_ = None
        if "value_function" in tamiyo:
            values = _values(_object(tamiyo, "value_function"))
        if "infrastructure" in tamiyo:
            compile_ = _compile(_object(tamiyo, "infrastructure"))
        critic = _critic(tamiyo)
        fit = _fit(tamiyo)
        if values is None and compile_ is None and critic is None and fit is None:
            return _unplaced(obj, "metrics at the top level beside a tamiyo object: not read")
    else:
        values = None if obj.keys().isdisjoint(VALUE_FIELDS) else _values(obj)
        compile_ = None if obj.keys().isdisjoint(COMPILE_FIELDS) else _compile(obj)
        critic = _critic(obj)
        fit = _fit(obj)
    if values is None and compile_ is None and critic is None and fit is None:
        return None
    return Record(
        values=values,
        compile=compile_,
        critic=critic,
        step=_step(obj),
        fit=fit,
    )


def _unplaced(obj: dict[str, Any], reason: str, group: str | None = None) -> BadLine | None:
    """A line whose event_type or tamiyo gave nothing of ours: None, unless it has
    FLAT_METRICS at its top level, which are then not read: a bad line for ``reason``."""
    return None if obj.keys().isdisjoint(FLAT_METRICS) else BadLine(reason, group)


def _unplaced_event(obj: dict[str, Any]) -> BadLine | None:
    kind = obj["event_type"]
    if kind in EVENT_TYPES:
        reason = f"a {kind} event with metrics at its top level, not in its data: not read"
    else:
        reason = "an event of another type with metrics at its top level: not read"
    return _unplaced(obj, reason, _group(obj))


def _run_header(header: dict[str, Any]) -> Record:
    """A run header starts a run and names its writer and rules; other keys are ignored."""
    return Record(new_run=True, writer=_name(header, "writer"), rules=_name(header, "rules"))


DEFAULT_GROUPS: Final = frozenset({"", "default"})
"""group_id values that name no group: esper-lite writes "default" outside A/B runs."""


def _event(obj: dict[str, Any]) -> Parsed:
    kind = obj["event_type"]
    if kind != "PPO_UPDATE_COMPLETED" and kind != "TRAINING_STARTED":
        return None
    group = _group(obj)
    try:
        return _event_record(obj, kind, group)
    except _Bad as bad:
        return BadLine(str(bad), group)


def _group(obj: dict[str, Any]) -> str | None:
    group = obj.get("group_id")
    if group is None:
        return None
    if not isinstance(group, str):
        raise _Bad(f"group_id is {_kind(group)}, expected a string")
    return None if group in DEFAULT_GROUPS else group


def _event_record(obj: dict[str, Any], kind: str, group: str | None) -> Parsed:
    if kind == "PPO_UPDATE_COMPLETED":
        if "data" not in obj:
            return None
        data = _object(obj, "data")
        if _skipped(data):  # esper-lite's placeholder for an update that did not happen
            return None
        values = None if data.keys().isdisjoint(VALUE_FIELDS) else _values(data)
        if values is None and "explained_variance" not in data:
            return None  # esper-lite's updates before the nine (Dec 2025) carry EV alone
        return Record(
            values=values,
            group=group,
            critic=_critic(data),
            step=_step(obj),
            fit=_fit(data),
            mean_abs_td=True,
            update=values is None,
        )
    data = _object(obj, "data") if "data" in obj else {}
    has_compile = not data.keys().isdisjoint(COMPILE_FIELDS)
    compile_ = _compile(data) if has_compile else None
    return Record(compile=compile_, new_run=True, group=group, step=_step(obj))


def _step(obj: dict[str, Any]) -> int | None:
    """The line's training step: the first of STEP_KEYS holding a whole number."""
    for key in STEP_KEYS:
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    return None


def _skipped(data: dict[str, Any]) -> bool:
    skipped = data.get("skipped")
    if skipped is not None and not isinstance(skipped, bool):
        raise _Bad(f"skipped is {_kind(skipped)}, expected true or false")
    return skipped is True


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent[key]
    if not isinstance(value, dict):
        raise _Bad(f"{key} is {_kind(value)}, expected an object")
    return value


def _values(src: dict[str, Any]) -> tuple[float | None, ...] | None:
    """The nine metrics, None for each one absent or null (never 0.0: a metric nobody
    logged is not a number); None when all nine are."""
    out: list[float | None] = []
    given = 0
    for name in VALUE_FIELDS:  # a loop, not a generator: this runs for every update
        x = src.get(name)
        if type(x) is float:
            given += 1
        elif x is not None:
            x = _number(src, name)
            given += 1
        out.append(x)
    return tuple(out) if given else None


def _critic(src: dict[str, Any]) -> tuple[float | None, ...] | None:
    """The critic's five numbers, None for each one absent or null; None for a line that
    names none of them."""
    return _optional(src, CRITIC_FIELDS)


def _fit(src: dict[str, Any]) -> tuple[float | None, ...] | None:
    """The RULE_FIELDS, None for each one absent or null (or, for SAMPLE_FIELDS, not a
    positive number); None for a line that names none of the NAMING_FIELDS."""
    got = _optional(src, NAMING_FIELDS)
    return None if got is None else (*got, _count(src.get(_SAMPLES)))


_SAMPLES: Final = SAMPLE_FIELDS[0]
_COUNT_MAX: Final = 10**308
"""Counts at or above this are not read (float() of a larger int overflows)."""


def _count(x: Any) -> float | None:
    """A positive finite count, else None: ``samples`` was an extra key of the integrations'
    before value-diag read it, so a line with another kind of value there stays good. By
    type, not isinstance: a bool is not a count, and this runs on every line of ours."""
    kind = type(x)
    if kind is float:
        return x if 0.0 < x < math.inf else None
    if kind is int:
        return float(x) if 0 < x < _COUNT_MAX else None
    return None


def _optional(src: dict[str, Any], names: tuple[str, ...]) -> tuple[float | None, ...] | None:
    """The numbers ``names`` give, None for each one absent or null; None when ``src`` names
    none of them. A plain loop: on every line of ours, it is several times faster than
    any() over a generator."""
    got: list[float | None] = []
    named = False
    for name in names:
        x = src.get(name)
        if x is None:
            named = named or name in src  # null: named, not given
            got.append(None)
        else:
            named = True
            got.append(x if type(x) is float else _number(src, name))
    return tuple(got) if named else None


def _number(src: dict[str, Any], name: str) -> float:
    value = src.get(name)
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    raise _Bad(f"{name} is {_kind(value)}, expected a number")


def _compile(src: dict[str, Any]) -> Compile:
    enabled = src.get("compile_enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise _Bad(f"compile_enabled is {_kind(enabled)}, expected true or false")
    return Compile(
        enabled=bool(enabled),
        backend=_string(src, "compile_backend"),
        mode=_string(src, "compile_mode"),
    )


def _string(src: dict[str, Any], name: str) -> str:
    """A string field; "" when absent or null."""
    return _name(src, name) or ""


def _name(src: dict[str, Any], name: str) -> str | None:
    """A string field that may be absent or null (None)."""
    value = src.get(name)
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{name} is {_kind(value)}, expected a string")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
