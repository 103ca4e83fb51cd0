"""ingest/parse.py: one line of bytes -> a Record, a BadLine, or nothing of ours."""

from __future__ import annotations

import json
import math
from typing import Any
from unittest import mock

import pytest
from conftest import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reading import is_candidate
from telemetry import dumps, snapshot

from value_diag.ingest.parse import KNOWN_NAMES, BadLine, Parsed, Record, parse
from value_diag.schema import COMPILE_FIELDS, VALUE_FIELDS
from value_diag.state import Compile

NINE: dict[str, float] = {name: float(i + 1) + 0.25 for i, name in enumerate(VALUE_FIELDS)}
"""Nine distinct metric values, so a field read from the wrong key shows."""
NINE_TUPLE: tuple[float, ...] = tuple(NINE[name] for name in VALUE_FIELDS)


def is_nan(x: float | None) -> bool:
    """Whether a metric is NaN (None, not reported, is not)."""
    return x is not None and math.isnan(x)


def only(**given: float) -> tuple[float | None, ...]:
    """The nine as a line that gives just ``given`` parses them: None for the others."""
    return tuple(given.get(name) for name in VALUE_FIELDS)


def ppo(data: Any) -> bytes:
    return dumps({"event_id": "x", "event_type": "PPO_UPDATE_COMPLETED", "epoch": 1, "data": data})


def started(data: Any) -> bytes:
    return dumps({"event_type": "TRAINING_STARTED", "message": "training started", "data": data})


def same_values(a: tuple[float | None, ...] | None, b: tuple[float | None, ...] | None) -> bool:
    """Tuple equality where NaN equals NaN."""
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b, strict=True)
    )


def values_of(parsed: Parsed) -> tuple[float | None, ...] | None:
    assert isinstance(parsed, Record), parsed
    return parsed.values


def reason_of(parsed: Parsed) -> str:
    assert isinstance(parsed, BadLine), parsed
    return parsed.reason


# --- is_candidate -------------------------------------------------------------------------


@pytest.mark.parametrize("name", KNOWN_NAMES)
def test_every_known_name_quoted_makes_a_candidate(name: str) -> None:
    assert is_candidate(b'xx "' + name.encode() + b'" yy')


def test_known_names_cover_the_spec_fields_and_shapes() -> None:
    for name in (
        *VALUE_FIELDS,
        *COMPILE_FIELDS,
        "tamiyo",
        "value_function",
        "infrastructure",
        "TRAINING_STARTED",
        "PPO_UPDATE_COMPLETED",
    ):
        assert name in KNOWN_NAMES


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"   ",
        b"garbage without names",
        b"bellman_error",  # not quoted
        b'"bellman_error',  # no closing quote
        b'bellman_error"',
        b'"bellman_errors"',  # a longer name
        b'"xbellman_error"',
        b'"Bellman_Error"',  # names are case-sensitive
        b'"bellman error"',
        b'{"event_type": "EPOCH_COMPLETED", "data": {"val_loss": 1.0}}',
        b'{"event_type": "ppo_update_completed"}',
        b'{"data": {"compile": true}}',
    ],
)
def test_lines_without_a_quoted_known_name_are_not_candidates(line: bytes) -> None:
    assert not is_candidate(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"bellman_error": 1}',
        b'garbage "bellman_error" garbage',
        b'{"note": "tamiyo"}',  # a name as a string value still makes a candidate
        b'\xff\xfe"compile_mode"\x00',
        b'{"event_type": "TRAINING_STARTED"}',
        b'""td_error_std""',
    ],
)
def test_lines_with_a_quoted_known_name_are_candidates(line: bytes) -> None:
    assert is_candidate(line)


# --- shape (a): snapshot --------------------------------------------------------------------


def test_snapshot_with_both_parts() -> None:
    line = snapshot(
        NINE, {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "max"}
    )
    assert parse(line) == Record(
        values=NINE_TUPLE, compile=Compile(True, "inductor", "max"), new_run=False, step=3
    )


def test_snapshot_values_follow_field_names_not_key_order() -> None:
    reversed_vf = dict(reversed(list(NINE.items())))
    assert values_of(parse(snapshot(reversed_vf))) == NINE_TUPLE


def test_snapshot_with_only_value_function() -> None:
    assert parse(snapshot(NINE)) == Record(values=NINE_TUPLE, compile=None, step=3)


def test_snapshot_with_only_infrastructure() -> None:
    line = snapshot(infra={"compile_enabled": False, "cuda_memory_peak_gb": 3.5})
    assert parse(line) == Record(values=None, compile=Compile(False, "", ""), step=3)


def test_snapshot_with_neither_part_carries_nothing() -> None:
    assert parse(snapshot()) is None
    assert parse(b'{"tamiyo": {"policy": {"entropy": 1.0}}}') is None


def test_snapshot_ignores_other_top_level_keys() -> None:
    line = dumps(
        {
            "step": 7,
            "bellman_error": "not looked at",
            "compile_enabled": "not looked at",
            "tamiyo": {"value_function": {"bellman_error": 4.0}},
        }
    )
    assert parse(line) == Record(values=only(bellman_error=4.0), step=7)


def test_snapshot_value_function_with_missing_and_null_fields_gives_none_for_them() -> None:
    line = snapshot({"td_error_mean": -2.5, "bellman_error": None})
    assert values_of(parse(line)) == only(td_error_mean=-2.5)


def test_empty_value_function_object_reports_no_metric() -> None:
    assert parse(snapshot({})) is None


def test_empty_infrastructure_object_gives_default_compile() -> None:
    assert parse(snapshot(infra={})) == Record(compile=Compile(False, "", ""), step=3)


# --- shape (b): esper-lite events ---------------------------------------------------------


def test_ppo_update_reads_the_nine_metrics_among_other_fields() -> None:
    data = {"policy_loss": 0.1, "entropy": None, "layers": {"a": 1}, **NINE, "lstm_has_nan": False}
    assert parse(ppo(data)) == Record(
        values=NINE_TUPLE, compile=None, new_run=False, step=1, mean_abs_td=True
    )


def test_ppo_update_ignores_compile_fields_and_top_level_fields() -> None:
    line = dumps(
        {
            "event_type": "PPO_UPDATE_COMPLETED",
            "bellman_error": 99.0,
            "data": {"bellman_error": 1.0, "compile_enabled": True, "compile_backend": "x"},
        }
    )
    assert parse(line) == Record(values=only(bellman_error=1.0), mean_abs_td=True)


@pytest.mark.parametrize(
    "line",
    [
        dumps({"event_type": "PPO_UPDATE_COMPLETED"}),
        ppo({"policy_loss": 0.1, "entropy": 1.2}),
        ppo({}),
    ],
)
def test_ppo_update_without_value_metrics_carries_nothing(line: bytes) -> None:
    assert parse(line) is None


def test_training_started_with_compile_fields_begins_a_run() -> None:
    data = {"n_envs": 4, "compile_enabled": True, "compile_backend": "inductor"}
    data["compile_mode"] = "reduce-overhead"
    assert parse(started(data)) == Record(
        values=None, compile=Compile(True, "inductor", "reduce-overhead"), new_run=True
    )


def test_training_started_with_null_backend_and_mode_gives_empty_strings() -> None:
    data = {"compile_enabled": False, "compile_backend": None, "compile_mode": None}
    assert parse(started(data)) == Record(compile=Compile(False, "", ""), new_run=True)


@pytest.mark.parametrize(
    "line",
    [
        started({"n_envs": 4}),
        started({}),
        dumps({"event_type": "TRAINING_STARTED"}),
    ],
)
def test_training_started_without_compile_fields_still_begins_a_run(line: bytes) -> None:
    assert parse(line) == Record(values=None, compile=None, new_run=True)


def test_training_started_ignores_value_metrics() -> None:
    parsed = parse(started({**NINE, "compile_enabled": True}))
    assert parsed == Record(values=None, compile=Compile(True, "", ""), new_run=True)


@pytest.mark.parametrize(
    "line",
    [
        dumps({"event_type": "EPOCH_COMPLETED", "data": NINE}),
        dumps({"event_type": "EPOCH_COMPLETED", "data": {"bellman_error": "wrong type"}}),
        dumps({"event_type": "EPOCH_COMPLETED", "data": "not an object", "tamiyo": 5}),
        dumps({"event_type": "training_started", "data": {"compile_enabled": True}}),
        dumps({"event_type": 7, "data": {"compile_enabled": True}}),
        dumps({"event_type": ["PPO_UPDATE_COMPLETED"], "data": NINE}),
    ],
)
def test_other_event_types_are_ignored_not_errors(line: bytes) -> None:
    assert parse(line) is None


# --- shape (c): flat --------------------------------------------------------------------------


def test_flat_values() -> None:
    assert parse(dumps({"step": 0, **NINE})) == Record(values=NINE_TUPLE, compile=None, step=0)


def test_flat_compile_only() -> None:
    line = dumps(
        {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "default"}
    )
    assert parse(line) == Record(values=None, compile=Compile(True, "inductor", "default"))


def test_flat_values_and_compile_together() -> None:
    line = dumps({**NINE, "compile_backend": "eager"})
    assert parse(line) == Record(values=NINE_TUPLE, compile=Compile(False, "eager", ""))


@pytest.mark.parametrize("name", VALUE_FIELDS)
def test_flat_single_field_sets_only_that_field(name: str) -> None:
    parsed = parse(dumps({name: -7.5}))
    assert values_of(parsed) == only(**{name: -7.5})


@pytest.mark.parametrize("name", VALUE_FIELDS)
def test_flat_single_null_field_reports_nothing(name: str) -> None:
    assert parse(dumps({name: None})) is None


def test_a_null_beside_a_number_is_none_never_zero() -> None:
    line = dumps({"v_return_correlation": None, "bellman_error": 12.0})
    assert values_of(parse(line)) == only(bellman_error=12.0)


@pytest.mark.parametrize("name", COMPILE_FIELDS)
def test_flat_single_null_compile_field_is_a_line_with_default_compile(name: str) -> None:
    assert parse(dumps({name: None})) == Record(compile=Compile(False, "", ""))


@pytest.mark.parametrize(
    "line",
    [
        b'{"note": "bellman_error"}',
        b'{"value_function": {"bellman_error": 1.0}}',
        b'{"infrastructure": {"compile_enabled": true}}',
        b"{}",
    ],
)
def test_flat_lines_without_our_keys_carry_nothing(line: bytes) -> None:
    assert parse(line) is None


def test_integers_become_floats() -> None:
    values = values_of(parse(dumps(dict.fromkeys(VALUE_FIELDS, 3))))
    assert values == (3.0,) * 9
    assert values is not None and all(type(v) is float for v in values)


# --- numbers: non-finite tokens and huge integers -------------------------------------------


@pytest.mark.parametrize(
    ("token", "check"),
    [
        (b"NaN", math.isnan),
        (b"Infinity", lambda v: v == math.inf),
        (b"-Infinity", lambda v: v == -math.inf),
        (b"1e400", lambda v: v == math.inf),
        (b"-1e400", lambda v: v == -math.inf),
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        b'{"td_error_std": %s, "bellman_error": 2.5}',
        b'{"tamiyo": {"value_function": {"td_error_std": %s, "bellman_error": 2.5}}}',
        b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {"td_error_std": %s, '
        b'"bellman_error": 2.5, "lstm_h_max": NaN}}',
    ],
)
def test_non_finite_numbers_are_accepted_in_every_shape(
    token: bytes, check: Any, template: bytes
) -> None:
    values = values_of(parse(template % token))
    assert values is not None
    fields = dict(zip(VALUE_FIELDS, values, strict=True))
    assert check(fields["td_error_std"])
    assert fields["bellman_error"] == 2.5
    assert fields["return_p50"] is None


def test_non_finite_tokens_in_ignored_keys_do_not_spoil_the_line() -> None:
    line = b'{"step": NaN, "loss": -Infinity, "compile_enabled": true, "compile_mode": "m"}'
    assert parse(line) == Record(compile=Compile(True, "", "m"))


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (str(2**63), float(2**63)),
        (str(2**64), float(2**64)),
        (str(-(2**63) - 1), float(-(2**63) - 1)),
        ("1" + "0" * 30, 1e30),
        ("-1" + "0" * 30, -1e30),
        ("1" + "0" * 400, math.inf),
        ("-1" + "0" * 400, -math.inf),
        ("9" * 5000, math.inf),
        ("-" + "9" * 5000, -math.inf),
    ],
)
def test_integers_beyond_64_bits_are_numbers(literal: str, expected: float) -> None:
    line = b'{"return_variance": ' + literal.encode() + b', "return_p10": 1}'
    values = values_of(parse(line))
    assert values is not None
    fields = dict(zip(VALUE_FIELDS, values, strict=True))
    assert fields["return_variance"] == expected
    assert fields["return_p10"] == 1.0


def test_huge_integer_in_an_ignored_key_is_harmless() -> None:
    line = b'{"step": ' + b"7" * 6000 + b', "bellman_error": 1.5}'
    assert values_of(parse(line)) == only(bellman_error=1.5)


# --- framing: BOM, CR, whitespace -----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        b'{"bellman_error": 5}',
        b'\xef\xbb\xbf{"bellman_error": 5}',
        b'{"bellman_error": 5}\r',
        b'\xef\xbb\xbf{"bellman_error": 5}\r',
        b'  {"bellman_error": 5}  \t',
        b'\xef\xbb\xbf{"tamiyo": {"value_function": {"bellman_error": 5}}}\r',
        b'\xef\xbb\xbf{"event_type": "PPO_UPDATE_COMPLETED", "data": {"bellman_error": 5}}\r',
    ],
)
def test_bom_crlf_and_whitespace_are_fine(line: bytes) -> None:
    assert values_of(parse(line)) == only(bellman_error=5.0)


def test_bom_and_cr_with_non_finite_tokens() -> None:
    values = values_of(parse(b'\xef\xbb\xbf{"bellman_error": NaN, "return_p10": 5}\r'))
    assert values is not None
    fields = dict(zip(VALUE_FIELDS, values, strict=True))
    assert is_nan(fields["bellman_error"])
    assert fields["return_p10"] == 5.0


# --- bad lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # not valid JSON
        (b'garbage "bellman_error" garbage', "invalid JSON"),
        (b'{"bellman_error": 1', "invalid JSON"),
        (b'{"bellman_error": 1}}', "invalid JSON"),
        (b'{"bellman_error": 1} {"bellman_error": 2}', "invalid JSON"),
        (b'{"bellman_error": nan}', "invalid JSON"),
        (b'{"bellman_error": inf}', "invalid JSON"),
        (b"{'bellman_error': 1}", "invalid JSON"),
        (b'{"bellman_error": 1,}', "invalid JSON"),
        (b"[" * 100_000 + b'"bellman_error"' + b"]" * 100_000, "invalid JSON"),
        # not an object
        (b'["bellman_error", 1]', "not a JSON object"),
        (b'"bellman_error"', "not a JSON object"),
        (b'\xef\xbb\xbf["tamiyo"]\r', "not a JSON object"),
        # not valid UTF-8
        (b'{"bellman_error": 1, "x": "\xff"}', "invalid UTF-8"),
        (b'{"bellman_error": 1, "x": "\xc3"}', "invalid UTF-8"),
        (b'\xfe{"bellman_error": 1}', "invalid UTF-8"),
    ],
)
def test_unreadable_lines_are_bad(line: bytes, reason: str) -> None:
    assert reason_of(parse(line)).startswith(reason)


def test_invalid_utf8_reason_names_the_byte() -> None:
    line = b'{"bellman_error": "\xff"}'
    assert str(line.index(b"\xff") + 1) in reason_of(parse(line))


@pytest.mark.parametrize("bad", ['"1.5"', "true", "false", "[1.5]", '{"v": 1}'])
@pytest.mark.parametrize("name", VALUE_FIELDS)
@pytest.mark.parametrize("shape", ["flat", "snapshot", "ppo"])
def test_a_value_metric_of_the_wrong_type_is_bad(bad: str, name: str, shape: str) -> None:
    inner = f'{{"{name}": {bad}, "step": 1}}'
    text = {
        "flat": inner,
        "snapshot": f'{{"tamiyo": {{"value_function": {inner}}}}}',
        "ppo": f'{{"event_type": "PPO_UPDATE_COMPLETED", "data": {inner}}}',
    }[shape]
    reason = reason_of(parse(text.encode()))
    assert name in reason
    assert "expected a number" in reason


@pytest.mark.parametrize(
    ("field", "bad", "kind"),
    [
        ("compile_enabled", '"true"', "a string"),
        ("compile_enabled", "1", "a number"),
        ("compile_enabled", "0", "a number"),
        ("compile_enabled", "[]", "a list"),
        ("compile_enabled", "{}", "an object"),
        ("compile_backend", "1", "a number"),
        ("compile_backend", "true", "a boolean"),
        ("compile_backend", '["inductor"]', "a list"),
        ("compile_mode", "{}", "an object"),
        ("compile_mode", "false", "a boolean"),
        ("compile_mode", "2.5", "a number"),
    ],
)
@pytest.mark.parametrize("shape", ["flat", "snapshot", "started"])
def test_a_compile_field_of_the_wrong_type_is_bad(
    field: str, bad: str, kind: str, shape: str
) -> None:
    inner = f'{{"{field}": {bad}}}'
    text = {
        "flat": inner,
        "snapshot": f'{{"tamiyo": {{"infrastructure": {inner}}}}}',
        "started": f'{{"event_type": "TRAINING_STARTED", "data": {inner}}}',
    }[shape]
    reason = reason_of(parse(text.encode()))
    assert reason.startswith(field)
    assert kind in reason


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (b'{"tamiyo": 1}', "tamiyo"),
        (b'{"tamiyo": null}', "tamiyo"),
        (b'{"tamiyo": [{"value_function": {}}]}', "tamiyo"),
        (b'{"tamiyo": "x"}', "tamiyo"),
        (b'{"tamiyo": {"value_function": [1, 2]}}', "value_function"),
        (b'{"tamiyo": {"value_function": null}}', "value_function"),
        (b'{"tamiyo": {"value_function": {}, "infrastructure": true}}', "infrastructure"),
        (b'{"tamiyo": {"infrastructure": "inductor"}}', "infrastructure"),
        (b'{"event_type": "PPO_UPDATE_COMPLETED", "data": [1]}', "data"),
        (b'{"event_type": "PPO_UPDATE_COMPLETED", "data": null}', "data"),
        (b'{"event_type": "TRAINING_STARTED", "data": "x"}', "data"),
        (b'{"event_type": "TRAINING_STARTED", "data": 3}', "data"),
    ],
)
def test_a_container_that_is_not_an_object_is_bad(line: bytes, key: str) -> None:
    reason = reason_of(parse(line))
    assert reason.startswith(key)
    assert "expected an object" in reason


def test_one_bad_field_spoils_the_whole_line() -> None:
    line = snapshot(
        NINE, {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": 3}
    )
    assert isinstance(parse(line), BadLine)


# --- properties ------------------------------------------------------------------------------

metric = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | st.none()


def wrap(shape: str, fields: dict[str, Any]) -> Any:
    if shape == "flat":
        return fields
    if shape == "snapshot":
        return {"tamiyo": {"value_function": fields}}
    return {"event_type": "PPO_UPDATE_COMPLETED", "data": fields}


@settings(deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(VALUE_FIELDS), metric, min_size=1),
    shape=st.sampled_from(["flat", "snapshot", "ppo"]),
)
def test_numbers_round_trip_in_every_shape(fields: dict[str, Any], shape: str) -> None:
    parsed = parse(dumps(wrap(shape, fields)))
    values = parsed.values if isinstance(parsed, Record) else None
    expected = tuple(None if fields.get(n) is None else float(fields[n]) for n in VALUE_FIELDS)
    assert same_values(values, None if all(x is None for x in expected) else expected)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats()
    | st.integers()
    | st.text()
    | st.sampled_from([10**500, -(10**500), 2**64]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(deadline=None)
@given(
    key=st.sampled_from(VALUE_FIELDS + COMPILE_FIELDS),
    value=json_values,
    shape=st.sampled_from(["flat", "snapshot", "ppo"]),
)
def test_any_json_value_under_a_known_key_gives_a_record_or_a_bad_line(
    key: str, value: Any, shape: str
) -> None:
    obj = wrap(shape, {key: value})
    if shape == "snapshot" and key in COMPILE_FIELDS:
        obj = {"tamiyo": {"infrastructure": {key: value}}}
    if shape == "ppo" and key in COMPILE_FIELDS:
        obj = {"event_type": "TRAINING_STARTED", "data": {key: value}}
    parsed = parse(dumps(obj))
    number_ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    if key in VALUE_FIELDS:
        ok = number_ok
    elif key == "compile_enabled":
        ok = value is None or isinstance(value, bool)
    else:
        ok = value is None or isinstance(value, str)
    if ok and value is None and key in VALUE_FIELDS:
        assert parsed is None  # a null metric reports nothing
    elif ok:
        assert isinstance(parsed, Record)
    else:
        assert isinstance(parsed, BadLine)
        assert key in parsed.reason


def _a_json_object(line: bytes) -> bool:
    """Whether the stdlib reads ``line`` as one JSON object (NaN and Infinity allowed)."""
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


@settings(deadline=None)
@given(st.binary(max_size=200))
@example(b'{"td_error_mean": 1.5}')  # a record, from a JSON object
@example(b'{"td_error_mean": 1.5')  # no record from what is not one
def test_parse_never_raises_on_arbitrary_bytes(line: bytes) -> None:
    """No exception, and a record only from bytes that are a JSON object."""
    result = parse(line)
    assert not isinstance(result, Record) or _a_json_object(line), result


@settings(deadline=None)
@given(
    prefix=st.binary(max_size=40),
    name=st.sampled_from(KNOWN_NAMES),
    suffix=st.binary(max_size=40),
)
@example(prefix=b"{", name="td_error_mean", suffix=b": 2.0}")
@example(prefix=b"{", name="td_error_mean", suffix=b": 2.0")
def test_candidate_lines_of_arbitrary_bytes_parse_without_raising(
    prefix: bytes, name: str, suffix: bytes
) -> None:
    line = prefix + b'"' + name.encode() + b'"' + suffix
    assert is_candidate(line)
    result = parse(line)
    assert not isinstance(result, Record) or _a_json_object(line), result


def test_the_fuzzed_implication_has_both_sides() -> None:
    """The two properties above hold for records too: their examples give one, and its cut
    twin none."""
    assert isinstance(parse(b'{"td_error_mean": 1.5}'), Record)
    assert not isinstance(parse(b'{"td_error_mean": 1.5'), Record)


# --- bare NaN / Infinity: the orjson stand-in path means what json.loads means ----------------

_TOKENS = st.sampled_from(["NaN", "Infinity", "-Infinity"])
_KEYS = st.sampled_from([*VALUE_FIELDS, *COMPILE_FIELDS, "event_type", "data", "tamiyo", "x"])
_PLAIN = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=8)
)
# Strings that look like tokens in value places: ': NaN,' inside a string must stay text.
_TRICKY = st.builds(
    lambda a, t, b: f"{a}{t}{b}",
    st.sampled_from(["", ":", ", ", "[", ": ", "\\\\", '\\"']),
    _TOKENS,
    st.sampled_from(["", ",", "]", "}", " ,", "a", '\\"']),
)


def _value(depth: int = 2) -> st.SearchStrategy[str]:
    """JSON text of a value, bare tokens included."""
    leaf = st.one_of(
        _TOKENS, _PLAIN.map(json.dumps), _TRICKY.map(lambda s: json.dumps(s, ensure_ascii=False))
    )
    if depth == 0:
        return leaf
    inner = _value(depth - 1)
    return st.one_of(
        leaf,
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(_KEYS, inner, max_size=4).map(
            lambda d: "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in d.items()) + "}"
        ),
    )


_LINES = st.one_of(
    st.dictionaries(_KEYS, _value(), max_size=6).map(
        lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
    ),
    st.builds(
        lambda kind, data: f'{{"event_type": "{kind}", "data": {data}}}',
        st.sampled_from(["PPO_UPDATE_COMPLETED", "TRAINING_STARTED"]),
        _value(),
    ),
    _value(),
)


@settings(max_examples=examples(400), deadline=None)
@given(text=_LINES, damage=st.integers(-1, 60))
def test_lines_with_bare_tokens_mean_what_the_stdlib_makes_of_them(text: str, damage: int) -> None:
    """Same record or same bad-line reason with and without the stand-in path, damaged too."""
    import value_diag.ingest.parse as records

    line = text.encode()
    if 0 <= damage < len(line):
        line = line[:damage] + line[damage + 1 :]  # a byte lost: often no longer JSON
    with mock.patch.object(records, "STAND_IN_SPACING", 0):  # stand-ins for any count
        fast = parse(line)
    real = records._loads_constants

    def refuse(line: bytes) -> Any:
        return records._REFUSED

    records._loads_constants = refuse  # the stdlib only
    try:
        slow = parse(line)
    finally:
        records._loads_constants = real
    assert repr(fast) == repr(slow)


def test_stand_in_path_is_taken_for_a_line_going_nan() -> None:
    """The common case does not reach the stdlib: it parses bare tokens with orjson."""
    import value_diag.ingest.parse as records

    data = {**NINE, "td_error_mean": math.nan}
    line = dumps({"event_type": "PPO_UPDATE_COMPLETED", "data": data})
    assert records._loads_constants(line) is not records._REFUSED
    values = values_of(parse(line))
    assert values is not None and is_nan(values[VALUE_FIELDS.index("td_error_mean")])


@pytest.mark.parametrize(
    "line",
    [
        b'{"td_error_mean": "\\u0000NaN"}',  # a string spelled like a stand-in
        b'{"td_error_mean": "a: NaN, b"}',  # a token-like run inside a string
        b'{"td_error_mean": NaN, "x": "\\u0000"}',
    ],
)
def test_lines_that_could_confuse_stand_ins_go_to_the_stdlib(line: bytes) -> None:
    import value_diag.ingest.parse as records

    assert records._loads_constants(line) is records._REFUSED


# --- FIT_FIELDS, run headers, esper's Bellman and its updates without the nine -------------


@pytest.mark.parametrize(
    "line",
    [
        dumps({"step": 3, **NINE, "return_mean": -2.5}),
        ppo({**NINE, "return_mean": -2.5}),
        dumps({"step": 3, "tamiyo": {"value_function": NINE, "return_mean": -2.5}}),
    ],
)
def test_every_shape_gives_the_fit_fields(line: bytes) -> None:
    parsed = parse(line)
    assert isinstance(parsed, Record)
    assert parsed.fit == (-2.5, None, None, None, None)
    assert parsed.values == NINE_TUPLE


@pytest.mark.parametrize(
    ("line", "fit"),
    [
        (dumps({"step": 3, **NINE}), None),
        (dumps({"step": 3, **NINE, "return_mean": None}), (None, None, None, None, None)),
        (
            dumps({"return_mean": NINE["bellman_error"]}),
            (NINE["bellman_error"], None, None, None, None),
        ),
        (b'{"return_mean": NaN, "bellman_error": 1}', (math.nan, None, None, None, None)),
        (
            dumps({**NINE, "value_bound_low": -100, "value_bound_high": 0.0}),
            (None, -100.0, 0.0, None, None),
        ),
    ],
)
def test_fit_fields_absent_null_alone_and_nan(
    line: bytes, fit: tuple[float | None, ...] | None
) -> None:
    parsed = parse(line)
    assert isinstance(parsed, Record)
    assert repr(parsed.fit) == repr(fit)


@pytest.mark.parametrize(
    ("extra", "samples"),
    [
        ({"samples": 1024}, 1024.0),
        ({"samples": 3.0}, 3.0),
        ({"samples": 0}, None),  # not a count of anything
        ({"samples": -5}, None),
        ({"samples": "1024"}, None),  # another tool's key of another kind: not read
        ({"samples": True}, None),
        ({"samples": None}, None),
        ({"samples": 10**400}, None),
    ],
)
def test_samples_are_read_beside_the_fit_fields_when_a_count(
    extra: dict[str, object], samples: float | None
) -> None:
    parsed = parse(dumps({**NINE, "return_mean": 2.0, **extra}))
    assert isinstance(parsed, Record)
    assert parsed.fit == (2.0, None, None, None, samples)


def test_samples_alone_do_not_make_a_line_ours() -> None:
    assert parse(dumps({"samples": 1024, "loss": 0.3})) is None
    parsed = parse(dumps({**NINE, "samples": 1024}))
    assert isinstance(parsed, Record) and parsed.fit is None, "no fit field: nothing to judge"


def test_a_fit_field_of_the_wrong_type_is_a_bad_line() -> None:
    assert reason_of(parse(dumps({**NINE, "return_mean": "x"}))) == (
        "return_mean is a string, expected a number"
    )


def test_a_run_header_starts_a_run_named_by_its_writer_and_rules() -> None:
    line = dumps(
        {
            "value_diag_run": {
                "writer": "stable-baselines3",
                "version": "1.2.3",
                "rules": "scale-free",
                "started": 1.7e9,
                "future": {"anything": [1]},
            }
        }
    )
    assert is_candidate(line)
    assert parse(line) == Record(new_run=True, writer="stable-baselines3", rules="scale-free")


@pytest.mark.parametrize(
    ("header", "writer", "rules"),
    [({}, None, None), ({"writer": None, "rules": None}, None, None), ({"writer": ""}, "", None)],
)
def test_a_run_header_without_a_writer_or_rules(
    header: dict[str, Any], writer: str | None, rules: str | None
) -> None:
    assert parse(dumps({"value_diag_run": header})) == Record(
        new_run=True, writer=writer, rules=rules
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"value_diag_run": {"writer": 3}}', "writer is a number, expected a string"),
        (b'{"value_diag_run": {"rules": true}}', "rules is a boolean, expected a string"),
        (b'{"value_diag_run": {"rules": NaN}}', "rules is a number, expected a string"),
        (b'{"value_diag_run": {"writer": ["x"]}}', "writer is a list, expected a string"),
        (
            b'{"value_diag_run": "TelemetryWriter"}',
            "value_diag_run is a string, expected an object",
        ),
    ],
)
def test_a_bad_run_header_is_a_bad_line(line: bytes, reason: str) -> None:
    assert reason_of(parse(line)) == reason


def test_a_training_started_names_no_writer() -> None:
    parsed = parse(started({}))
    assert parsed == Record(new_run=True, writer=None, rules=None)


def test_only_esper_updates_say_their_bellman_is_the_mean_absolute_td() -> None:
    esper = parse(ppo(NINE))
    assert isinstance(esper, Record) and esper.mean_abs_td
    for line in (dumps(NINE), dumps({"tamiyo": {"value_function": NINE}})):
        ours = parse(line)
        assert isinstance(ours, Record) and not ours.mean_abs_td


# esper-lite's PPOUpdatePayload of December 2025 (339fbd0d, before abd37455 added the nine):
# explained_variance and the value statistics, none of the nine.
DEC_2025 = {
    "policy_loss": 0.1,
    "value_loss": 2.0,
    "entropy": 1.2,
    "explained_variance": 0.42,
    "return_mean": 3.5,
    "return_std": 1.0,
    "value_mean": 3.0,
    "value_std": 0.9,
    "value_min": 1.0,
    "value_max": 5.0,
}


def test_an_esper_update_with_only_explained_variance_is_an_update_without_values() -> None:
    parsed = parse(ppo(DEC_2025))
    assert parsed == Record(
        values=None,
        critic=(0.42, 3.0, 0.9, 1.0, 5.0),
        fit=(3.5, None, None, None, None),
        step=1,
        mean_abs_td=True,
        update=True,
    )
    assert parsed.is_update


@pytest.mark.parametrize("ev", [None, math.nan])
def test_an_esper_update_whose_explained_variance_is_null_or_nan_still_counts(
    ev: float | None,
) -> None:
    parsed = parse(ppo({"policy_loss": 0.1, "explained_variance": ev}))
    assert isinstance(parsed, Record) and parsed.is_update and parsed.values is None
    assert parsed.critic is not None and repr(parsed.critic[0]) == repr(ev)


@pytest.mark.parametrize(
    "line",
    [
        ppo({"policy_loss": 0.1, "value_mean": 1.0}),  # neither the nine nor explained variance
        ppo({**DEC_2025, "skipped": True}),  # esper's placeholder
        dumps({"explained_variance": 0.5}),  # not an update event: the critic, no update
    ],
)
def test_other_lines_without_the_nine_are_not_updates(line: bytes) -> None:
    parsed = parse(line)
    if b"event_type" in line:  # an esper event that carries nothing of an update
        assert parsed is None
    else:  # the critic's numbers, kept for the next update, but not one itself
        assert isinstance(parsed, Record) and not parsed.is_update and parsed.critic is not None


def test_a_line_with_the_nine_is_an_update() -> None:
    for line in (ppo(NINE), dumps(NINE), dumps({"tamiyo": {"value_function": NINE}})):
        parsed = parse(line)
        assert isinstance(parsed, Record) and parsed.is_update
