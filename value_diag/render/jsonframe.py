"""A frame as one line of strict JSON."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Final

from value_diag import health
from value_diag.health import DEFAULT_ORIGIN, Level
from value_diag.schema import CRITIC_FIELDS, VALUE_FIELDS

if TYPE_CHECKING:
    from value_diag.frame import Frame

SURROGATE: Final = re.compile("[\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"


def dumps(obj: object) -> str:
    """Strict, ASCII-only JSON on one line; a lone surrogate in a string is written as U+FFFD.

    File names that are not UTF-8 (Python keeps their bytes as surrogates) and ``\\ud800``
    escapes in the input would otherwise come out as ``\\udcff`` escapes, which strict
    parsers refuse.
    """
    import json  # text frames do not need it

    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    if "\\ud" not in text:  # no surrogate escape at all, the usual case: nothing to walk
        return text
    return json.dumps(_no_surrogates(obj), separators=(",", ":"), allow_nan=False)


def _no_surrogates(obj: object) -> object:
    """``obj`` with every surrogate code point in its strings (keys too) replaced by U+FFFD."""
    if isinstance(obj, str):
        return obj if obj.isascii() else SURROGATE.sub(REPLACEMENT, obj)
    if isinstance(obj, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_no_surrogates(x) for x in obj]
    return obj


def _number(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def rules_json(frame: Frame) -> dict[str, Any]:
    """The rules that judged a frame and why: preset, where the preset came from, and the
    warm-up and persistence (in updates) of its gate."""
    rules = frame.rules
    warmup, persist = rules.gate
    return {
        "preset": rules.preset.value,
        "why": rules.preset_from,
        "warmup": warmup,
        "persist": persist,
    }


def gate_json(frame: Frame) -> dict[str, Any]:
    """What --fail-on acts on: the level let through, how long the status has held, whether
    the run is warming up, and what a held-back alarm waits for."""
    from value_diag.gate import gate

    g = gate(frame)
    return {
        "level": g.level.value,
        "updates": frame.state.updates,
        "held": g.held,
        "warming_up": g.warming,
        "why": g.why,
    }


def to_json(
    frame: Frame, *, trend: bool = False, thresholds_from: str = DEFAULT_ORIGIN
) -> dict[str, Any]:
    """The frame as the documented JSON object; with ``trend``, the value history too.

    A part the file has not reported yet is null, not a number it never gave: each of
    the ten "value_function" entries is ``{"value": null, "level": "no_data"}`` until a
    line reports the metrics, and "compile_enabled", "compile_backend" and
    "compile_mode" are null until one reports the compile status. "hint" says why a
    source shows nothing when no line of it names a known metric (else null).
    "cannot_give", only for a trainer's own log (SB3's progress.csv, ...), says what it
    cannot give and the hook that would (render/limits.py).

    ``thresholds_from`` is where the thresholds judging it came from: "default", or the
    path of the config file; it is the object's "thresholds" key.

    A metric of the nine that the newest update did not report shows the newest value the
    run did report, with "updates_ago" (how many updates before the newest); one the run
    never reported is null and "no_data".
    "critic" is always there: the critic's five numbers, "value_span" (max - min),
    "value_fit" (V-Fit, judged under the scale-free preset) and "calib" (its value "ok",
    "weak", "bad" or "n/a"), each null and "no_data" until a line reports it.
    "rules" names the preset in force and why, and the gate's warm-up and persistence;
    "gate" is what --fail-on acts on (its "level"), the run's updates, how many of them
    in a row held the status, and whether the run is warming up. An entry not judged for
    a reason carries it as "note" (e.g. "low return variance"). With ``trend`` and
    --critic, the history has "explained_variance" too (null for a record without one).

    "note" is what the frame says happened to its source (truncated, replaced, a switch to
    a newer run, a folder it cannot read), or null.
    "source" is the file (``#GROUP`` for a run of an esper-lite group), "name" how the
    run is shown: the shortest name that tells it from the others read with it.
    "step" is the training step of the newest line that named one (null if none did);
    "age_s" the seconds from the last record to the frame's moment (null before any
    record, or for a frame of no moment, or when the age cannot be known); "age_unknown"
    (true, present only then) says the last record's time is ahead of the clock (a file
    time from a clock ahead of ours); "stale" whether --max-age made the run stale, and so
    critical: an age that cannot be known is stale under --max-age.
    """
    st = frame.state
    h = frame.health
    age = frame.age()

    def level(name: str) -> Level:
        return h.mark(name).level

    def value(name: str) -> float | str | None:
        # Not judged, not reported: the health holds the spec's defaults, never given.
        return None if level(name) is Level.NO_DATA else _number(h.values.get(name))

    def entry(name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"value": value(name), "level": level(name).value}
        note = h.mark(name).note
        if note:
            out["note"] = note
        ago = st.updates_ago(VALUE_FIELDS.index(name)) if name in VALUE_FIELDS else None
        if ago:
            out["updates_ago"] = ago
        return out

    calib: dict[str, Any] = {
        "value": health.CALIB_WORDS.get(level(health.CALIB)),
        "level": level(health.CALIB).value,
    }
    if h.mark(health.CALIB).note:
        calib["note"] = h.mark(health.CALIB).note

    compile_ = st.compile if level(health.COMPILE) is not Level.NO_DATA else None
    out: dict[str, Any] = {
        "source": frame.source,
        "name": frame.name,
        "step": st.step,
        "age_s": None if age is None or age == health.AGE_UNKNOWN else round(age, 3),
        **({"age_unknown": True} if age == health.AGE_UNKNOWN else {}),
        "stale": h.stale is not None,
        "records": st.records,
        "bad_lines": st.bad_lines,
        "last_error": st.last_error,
        "status": h.status.value,
        "value_function": {name: entry(name) for name in (*VALUE_FIELDS, health.SPREAD)},
        "infrastructure": {
            "compile_enabled": compile_.enabled if compile_ else None,
            "compile_backend": compile_.backend if compile_ else None,
            "compile_mode": compile_.mode if compile_ else None,
            "level": level(health.COMPILE).value,
        },
        "critic": {
            **{name: entry(name) for name in (*CRITIC_FIELDS, health.SPAN, health.FIT)},
            health.CALIB: calib,
        },
        "thresholds": thresholds_from,
        "rules": rules_json(frame),
        "gate": gate_json(frame),
        "hint": frame.hint,
        "note": frame.note,
    }
    if frame.limits is not None:  # a trainer's own log: what it cannot give (render/limits.py)
        from value_diag.render.limits import limits_json

        out["cannot_give"] = limits_json(frame.limits)
    if trend:
        out["history"] = {
            name: [_number(record[i]) for record in st.history]
            for i, name in enumerate(VALUE_FIELDS)
        }
        if frame.rules.critic:
            ev = len(VALUE_FIELDS)
            out["history"]["explained_variance"] = [
                _number(r[ev]) if len(r) > ev else None for r in st.history
            ]
    return out
