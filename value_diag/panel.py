"""Snapshot -> the five-line VALUE DIAGNOSTICS text, in Unicode or ASCII glyphs. Pure."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Final

from rich.text import Text

from value_diag import health
from value_diag.health import DEFAULT_THRESHOLDS, Icon, Level, Mark, Thresholds
from value_diag.schema import SanctumSnapshot

LABEL_W: Final = 10  # Label width (characters)
VAL_W: Final = 8  # Value width (characters)
GAP: Final = 2  # Gap between sub-columns
PCT_W: Final = 5  # Width of the p10 and p50 numbers
MAX_STRING: Final = 200  # Longest backend/mode string kept before the line is fitted

UNICODE_GLYPHS: Final = {
    Icon.UP: "↗",
    Icon.FLAT: "→",
    Icon.DOWN: "↘",
    Icon.SPREAD: "⚠",
    Icon.CHECK: "✓",
}
ASCII_GLYPHS: Final = {
    Icon.UP: "^",
    Icon.FLAT: "->",
    Icon.DOWN: "v",
    Icon.SPREAD: "!",
    Icon.CHECK: "OK",
}
UNICODE_PROBE: Final = "".join(UNICODE_GLYPHS.values()) + "σ…─│╭"
"""Every non-ASCII character the panel and its border may print."""

ESCAPE_SEQUENCE: Final = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erases
    "|(?:\x1b[]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"  # OSC/DCS/..
    "|\x1b[ -/]*[0-~]"  # the other escape sequences
)
"""A terminal escape sequence; removed whole, so its parameters are not shown as text."""

LABEL_STYLE: Final = "dim"
NO_DATA: Final = Text("[no data]", style="dim")


def format_number(x: float, spec: str, width: int = VAL_W) -> str:
    """``format(x, spec)``, NaN/Inf/-Inf for non-finite, 2 (or 1) significant digits if too wide."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    text = format(x, spec)
    sign = "+" if spec.startswith("+") else ""
    if len(text) > width:
        text = min(text, format(x, sign + ".2g"), key=len)
    if len(text) > width:
        shorter = format(x, sign + ".1g")
        if len(shorter) <= width:
            text = shorter
    return text


def clean(value: str, ascii_only: bool = False) -> str:
    """A string from the file made safe to print: no escape sequences, controls or format chars."""
    kept = [
        ch
        for ch in ESCAPE_SEQUENCE.sub("", value[: MAX_STRING * 2])
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    ]
    text = "".join(kept)
    if ascii_only:
        text = text.encode("ascii", "replace").decode("ascii")
    if len(text) > MAX_STRING:
        text = text[: MAX_STRING - 3] + ("..." if ascii_only else "…")
    return text


class ValueDiagnosticsPanel:
    """The VALUE DIAGNOSTICS panel of the spec: five lines, two sub-columns."""

    def __init__(self, *, ascii_only: bool = False, thresholds: Thresholds = DEFAULT_THRESHOLDS):
        self.ascii_only = ascii_only
        self.thresholds = thresholds
        self.glyphs = ASCII_GLYPHS if ascii_only else UNICODE_GLYPHS
        self._snapshot: SanctumSnapshot | None = None
        self._unreported: frozenset[str] = frozenset()

    def update_snapshot(
        self, snapshot: SanctumSnapshot | None, unreported: frozenset[str] = frozenset()
    ) -> None:
        """Shows this snapshot from the next render on.

        Args:
            snapshot: the latest state, or None before any data.
            unreported: parts ("value_function", "infrastructure") the file has not
                reported yet; they show as not reported instead of as spec defaults.
        """
        self._snapshot = snapshot
        self._unreported = unreported

    def render(self) -> Text:
        """The panel's text: five lines that never wrap, or "[no data]"."""
        if self._snapshot is None:
            return NO_DATA.copy()
        h = health.assess(self._snapshot, self._unreported, self.thresholds)
        v, m = h.values, h.marks
        out = Text(no_wrap=True, overflow="crop" if self.ascii_only else "ellipsis", end="")

        self._label(out, "V-Corr")
        corr = m["v_return_correlation"]
        icon = self._glyph(corr)
        self._cell(
            out, format_number(v["v_return_correlation"], ".2f", VAL_W - len(icon)) + icon, corr
        )
        self._label(out, "Bellman")
        self._cell(out, format_number(v["bellman_error"], ".1f"), m["bellman_error"], last=True)
        out.append("\n")

        self._label(out, "TD Mean")
        self._cell(out, format_number(v["td_error_mean"], "+.1f"), m["td_error_mean"])
        self._label(out, "TD Std")
        self._cell(out, format_number(v["td_error_std"], ".1f"), m["td_error_std"], last=True)
        out.append("\n")

        self._label(out, "Returns")
        for name, tag in (("return_p10", "p10"), ("return_p50", "p50")):
            number = self._shown(format_number(v[name], "+.0f", PCT_W), m[name])
            out.append(f"{tag}:{number}", m[name].style)
            out.append(" " * max(PCT_W - len(number), 1))
        out.append(
            f"p90:{self._shown(format_number(v['return_p90'], '+.0f'), m['return_p90'])}",
            m["return_p90"].style,
        )
        spread = m[health.SPREAD]
        if spread.icon is not None:
            out.append(" " + self._glyph(spread), spread.style)
        out.append("\n")

        self._label(out, "Ret sigma" if self.ascii_only else "Ret σ")
        self._cell(out, format_number(_sigma(v["return_variance"]), ".1f"), m["return_variance"])
        self._label(out, "Skew")
        self._cell(
            out, format_number(v["return_skewness"], "+.1f"), m["return_skewness"], last=True
        )
        out.append("\n")

        self._label(out, "Compile")
        self._compile(out, m[health.COMPILE])
        return out

    def _label(self, out: Text, label: str) -> None:
        out.append(label.ljust(LABEL_W), LABEL_STYLE)

    def _shown(self, number: str, mark: Mark) -> str:
        if mark.level is Level.NO_DATA:
            return "-" if self.ascii_only else "—"
        return number

    def _cell(self, out: Text, value: str, mark: Mark, *, last: bool = False) -> None:
        value = self._shown(value, mark)
        out.append(value, mark.style)
        if not last:
            out.append(" " * (max(VAL_W - len(value), 0) + GAP))

    def _glyph(self, mark: Mark) -> str:
        if mark.level is Level.NO_DATA or mark.icon is None:
            return ""
        return self.glyphs[mark.icon]

    def _compile(self, out: Text, mark: Mark) -> None:
        if mark.level is Level.NO_DATA:
            out.append("not reported", "dim")
            return
        assert self._snapshot is not None
        infra = self._snapshot.tamiyo.infrastructure
        if infra.compile_enabled:
            backend = clean(infra.compile_backend, self.ascii_only) or "inductor"
            mode = clean(infra.compile_mode, self.ascii_only) or "default"
            out.append(f"{backend}:{mode}", "green")
            out.append(" " + self._glyph(mark), "green bold")
        else:
            out.append("EAGER", mark.style)
            out.append(" (3-5x slower)", "dim")


def _sigma(variance: float) -> float:
    """Standard deviation from a variance; NaN for a negative one (never a complex number)."""
    if math.isnan(variance) or variance < 0:
        return math.nan
    return math.sqrt(variance)
