"""Nothing that should be judged is dropped without an error: a line the reader cannot place
is a counted bad line, and a name spelled with JSON escapes is still found. Through the real
console script: a NaN update hidden in any of these ways used to pass `--fail-on critical`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import examples, invoke
from finders import NEEDLES, compiled, portable, reference
from hypothesis import given, settings
from hypothesis import strategies as st

from value_diag.ingest.finder import ESCAPE, Finder, RegexFinder
from value_diag.ingest.parse import KNOWN_NAMES
from value_diag.schema import MAX_LINE, VALUE_FIELDS

HEALTHY = (
    b'{"step": 1, "v_return_correlation": 0.9, "td_error_mean": 0.1, "td_error_std": 1.0, '
    b'"bellman_error": 1.0, "return_p10": 1.0, "return_p50": 5.0, "return_p90": 9.0, '
    b'"return_variance": 9.0, "return_skewness": 0.1}'
)
"""An update the default rules call ok: the run's state before the hidden line."""


def frame(path: Path) -> dict[str, Any]:
    proc = invoke(["once", str(path), "--format", "json", "--preset", "default"])
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def gate(path: Path) -> int:
    return invoke(["once", str(path), "--fail-on", "critical", "--preset", "default"]).returncode


def log(tmp_path: Path, *lines: bytes) -> Path:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in (HEALTHY, *lines)))
    return path


def test_the_healthy_line_alone_passes(tmp_path: Path) -> None:
    """The baseline: what fails below fails for the line added to it."""
    path = log(tmp_path)
    assert frame(path)["records"] == 1 and gate(path) == 0


# --- names spelled with escapes -------------------------------------------------------------

ESCAPED = [
    rb'{"step": 2, "v\u005freturn_correlation": NaN, "bellman\u005ferror": NaN}',
    rb'{"step": 2, "\u0076_return_correlation": NaN}',
    rb'{"step": 2, "\u0076\u005F\u0072\u0065\u0074\u0075\u0072\u006E_correlation": NaN}',
    rb'{"step": 2, "tamiyo": {"value\u005ffunction": {"bellman\u005ferror": NaN}}}',
    rb'{"event_type": "PPO\u005fUPDATE_COMPLETED", "epoch": 2, '
    rb'"data": {"v\u005freturn_correlation": NaN}}',
]


@pytest.mark.parametrize("line", ESCAPED)
def test_a_nan_update_whose_names_are_escaped_is_read(tmp_path: Path, line: bytes) -> None:
    """JSON reads "v\\u005freturn_correlation" as v_return_correlation; the name search
    looked for the bytes of the name only, so the line was neither a record nor bad."""
    assert json.loads(line), "the line is valid JSON"
    path = log(tmp_path, line)
    got = frame(path)
    assert (got["records"], got["bad_lines"], got["step"]) == (2, 0, 2), got["last_error"]
    assert got["status"] == "critical"
    assert gate(path) == 1


def test_escapes_of_other_characters_change_nothing(tmp_path: Path) -> None:
    """Only escapes of 0x40-0x7F can spell a name: a line of accents and emoji is not ours."""
    path = log(tmp_path, rb'{"note": "caf\u00e9 \ud83d\ude80 \u0022quoted\u0022", "x": 1}')
    got = frame(path)
    assert (got["records"], got["bad_lines"]) == (1, 0)
    assert gate(path) == 0


def test_a_line_too_long_to_load_with_an_escape_is_a_counted_bad_line(tmp_path: Path) -> None:
    """Past MAX_LINE the line cannot be decoded to see whether the escape spells a name: it
    is counted bad, as a line of ours that long is, never silently passed over."""
    line = rb'{"v\u005freturn_correlation": NaN, "pad": "' + b"x" * MAX_LINE + b'"}'
    got = frame(log(tmp_path, line))
    assert got["bad_lines"] == 1
    assert got["last_error"].startswith("line 2: line too long")


# --- lines the reader cannot place ------------------------------------------------------------

NINE_NAN = ", ".join(f'"{name}": NaN' for name in VALUE_FIELDS).encode()

UNPLACED = {
    "foreign event_type": (
        b'{"event_type": "rollout", "step": 2, ' + NINE_NAN + b"}",
        "an event of another type with metrics at its top level: not read",
    ),
    "event_type null": (
        b'{"event_type": null, ' + NINE_NAN + b"}",
        "an event of another type with metrics at its top level: not read",
    ),
    "foreign event, one metric": (
        b'{"event_type": "SEED_GERMINATED", "bellman_error": [1, 2]}',
        "an event of another type with metrics at its top level: not read",
    ),
    "empty tamiyo": (
        b'{"tamiyo": {}, "step": 2, ' + NINE_NAN + b"}",
        "metrics at the top level beside a tamiyo object: not read",
    ),
    "tamiyo without our parts": (
        b'{"tamiyo": {"policy": {"entropy": 1.0}}, "return_mean": NaN}',
        "metrics at the top level beside a tamiyo object: not read",
    ),
    "PPO update with flat metrics": (
        b'{"event_type": "PPO_UPDATE_COMPLETED", "epoch": 2, ' + NINE_NAN + b"}",
        "a PPO_UPDATE_COMPLETED event with metrics at its top level, not in its data: not read",
    ),
}


@pytest.mark.parametrize("case", UNPLACED)
def test_a_line_whose_shape_hides_its_metrics_is_a_counted_bad_line(
    tmp_path: Path, case: str
) -> None:
    line, reason = UNPLACED[case]
    got = frame(log(tmp_path, line))
    assert (got["records"], got["bad_lines"]) == (1, 1)
    assert got["last_error"] == f"line 2: {reason}"


def test_the_bad_line_is_said_in_the_text_panel_too(tmp_path: Path) -> None:
    path = log(tmp_path, UNPLACED["foreign event_type"][0])
    proc = invoke(["once", str(path), "--preset", "default"])
    assert "1 bad line (last: line 2: an event of another type" in proc.stdout.decode()


@pytest.mark.parametrize(
    "line",
    [
        b'{"event_type": "EPOCH_COMPLETED", "data": {"bellman_error": NaN}}',
        b'{"event_type": "ANALYTICS_SNAPSHOT", "message": "bellman_error spiked"}',
        b'{"tamiyo": {"policy": {"entropy": 1.0}}, "step": 9}',
        b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {"skipped": true}}',
    ],
)
def test_foreign_lines_without_top_level_metrics_stay_ignored(tmp_path: Path, line: bytes) -> None:
    """esper-lite's other events carry their numbers in data: they are not ours, not bad."""
    got = frame(log(tmp_path, line))
    assert (got["records"], got["bad_lines"]) == (1, 0)


# --- the finders agree on escapes ---------------------------------------------------------------


def escape_reference(data: bytes, pos: int, end: int) -> int:
    """The leftmost quoted name or letter escape wholly inside data[pos:end]."""
    name = reference(data, pos, end, NEEDLES)
    found = re.compile(ESCAPE).search(data, max(pos, 0), max(min(end, len(data)), 0))
    hits = [h for h in (name, -1 if found is None else found.start()) if h >= 0]
    return min(hits, default=-1)


@pytest.fixture(scope="module")
def finders() -> dict[str, Finder]:
    """Every finder by name, looking for escapes too; the portable one where it could be
    built."""
    found: dict[str, Finder] = {
        "vector": compiled.Finder(NEEDLES, escapes=True),
        "bytewise": compiled.Finder(NEEDLES, simd=False, escapes=True),
        "re": RegexFinder(KNOWN_NAMES, escapes=True),
    }
    built = portable()
    if built is not None:
        found["portable vector"] = built.Finder(NEEDLES, escapes=True)
    return found


pieces = st.sampled_from(
    [
        *NEEDLES,
        *(n[:-1] for n in NEEDLES),
        b'"',
        b"\n",
        b"\\",
        b"\\u",
        b"\\u00",
        b"\\u004",
        b"\\u005f",
        b"\\u005F",
        b"\\u0041",
        b"\\u007a",
        b"\\u003f",
        b"\\u0080",
        b"\\u00e9",
        b"\\u00g1",
        b"\\\\u0041",
        b"0.5, ",
    ]
) | st.binary(max_size=20)


texts = st.lists(pieces, max_size=40).map(b"".join)


@settings(max_examples=examples(500))
@given(data=texts, pos=st.integers(-5, 400), end=st.integers(-5, 400))
def test_every_finder_finds_the_leftmost_name_or_escape(
    finders: dict[str, Finder], data: bytes, pos: int, end: int
) -> None:
    want = escape_reference(data, pos, end)
    for name, finder in finders.items():
        assert finder.search(data, pos, end) == want, name


@settings(max_examples=examples(500))
@given(data=texts, pos=st.integers(0, 400), end=st.integers(0, 400))
def test_scan_counts_the_newlines_before_the_name_or_escape(
    finders: dict[str, Finder], data: bytes, pos: int, end: int
) -> None:
    found = escape_reference(data, pos, end)
    stop = min(end, len(data)) if found < 0 else found
    want = (found, data.count(b"\n", pos, max(stop, pos)))
    for name, finder in finders.items():
        assert finder.scan(data, pos, end) == want, name


@pytest.mark.parametrize("escape", [b"\\u0041", b"\\u005f", b"\\u007F"])
def test_an_escape_at_every_offset_of_a_vector_round(
    finders: dict[str, Finder], escape: bytes
) -> None:
    for offset in range(40):
        data = b"\n" * offset + escape + b'"t"' * 10
        for name, finder in finders.items():
            assert finder.scan(data) == (offset, offset), name
            assert finder.search(data, 0, offset + len(escape) - 1) == -1, name
