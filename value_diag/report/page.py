"""Frames and their series -> one HTML page that needs nothing else to be read.

The sweep's table worst first (render/compare.py's columns, `why` included), each run's
panel as the terminal prints it (Renderer.plain), and the data of every chart as one
JSON document that the page's script draws with the vendored chart library. Script and
styles are inlined, licences kept, and a Content-Security-Policy forbids every request:
the page opens from a CI artifact or an e-mail, offline.

Every string from a file (run names, the compile backend and mode, the last error) is
HTML-escaped where it is text, and escaped for <script> where it is data (encode.py).
Under the table, as under `once --compare`'s, each run read from a trainer's own log
(progress.csv, an event file, result.json, verl's .jsonl) is named with what its format
cannot give and the hook that would (render/limits.py); its panel has the same line.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final

from value_diag.config import PRESET_OPTION
from value_diag.health import DEFAULT_ORIGIN, WRITER_PRESET, Rules
from value_diag.render.compare import WORRY, Cell, columns_of, worry
from value_diag.render.frames import TITLE
from value_diag.render.guides import CHARTS, Guide, guide
from value_diag.render.limits import limits_said
from value_diag.render.sanitize import clean, clean_name
from value_diag.render.series import Series
from value_diag.render.words import count
from value_diag.report.encode import encode_values, encode_x, non_finite, script_json

if TYPE_CHECKING:
    from value_diag.frame import Frame
    from value_diag.render.frames import Renderer
    from value_diag.render.styled import StyledText

LIBRARY: Final = "uPlot 1.6.32"
"""The chart library in assets/ (uPlot.iife.min.js, from the npm package uplot@1.6.32)."""
LIBRARY_URL: Final = "https://github.com/leeoniya/uPlot"
CSP: Final = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
    " img-src data:; base-uri 'none'; form-action 'none'"
)
"""The page loads nothing: no script, style, image, font or connection from anywhere."""
STYLE_CLASSES: Final = {
    "bold": "b",
    "dim": "dim",
    "reverse": "rev",
    "red": "red",
    "yellow": "yellow",
    "green": "green",
    "cyan": "cyan",
}
"""The words of a Rich style the page colours (as classes of report.css); others are left
plain."""


@dataclass(frozen=True, slots=True)
class Run:
    """A run of the report: its frame (as `once` judges it) and its points."""

    frame: Frame
    series: Series


def asset(name: str) -> str:
    """A file of value_diag/report/assets, as text."""
    return files("value_diag.report").joinpath("assets", name).read_text(encoding="utf-8")


def esc(text: str) -> str:
    """Text for HTML, quotes included (attribute values too)."""
    return html.escape(text, quote=True)


def classes(style: str) -> str:
    """The page's classes for a Rich style ("red bold" -> "red b")."""
    return " ".join(STYLE_CLASSES[w] for w in style.split() if w in STYLE_CLASSES)


def styled_html(text: StyledText) -> str:
    """StyledText as escaped HTML: a <span> per stretch of one style (spans may nest)."""
    plain = text.plain
    cuts = {0, len(plain)}
    for span in text.spans:
        cuts.update((span.start, span.end))
    out = []
    edges = sorted(c for c in cuts if 0 <= c <= len(plain))
    for start, end in pairwise(edges):
        words = [text.style] + [s.style for s in text.spans if s.start <= start and end <= s.end]
        kind = classes(" ".join(words))
        piece = esc(plain[start:end])
        out.append(f'<span class="{kind}">{piece}</span>' if kind else piece)
    return "".join(out)


def cell_html(cell: Cell) -> str:
    """A table cell's text, styled like the terminal's, alarms bold."""
    kind = classes(cell.style + (" bold" if cell.alarm else ""))
    return f'<span class="{kind}">{esc(cell.text)}</span>' if kind else esc(cell.text)


def table_html(runs: list[Run], renderer: Renderer) -> str:
    """The sweep's table: a row per run, worst first (the order of ``runs``), every column."""
    cols = columns_of([r.frame for r in runs], renderer.ascii_only, renderer.critic)
    head = "".join(
        f'<th class="{"num" if c.right else "txt"}" scope="col">{esc(c.label)}</th>' for c in cols
    )
    rows = []
    for i in range(len(runs)):
        cells = []
        for j, column in enumerate(cols):
            cell = column.cells[i]
            shown = cell_html(cell)
            if j == 0:
                cells.append(f'<th scope="row" class="txt"><a href="#run-{i}">{shown}</a></th>')
            else:
                cells.append(f'<td class="{"num" if column.right else "txt"}">{shown}</td>')
        rows.append(f'<tr class="w-{WORRY.index(worry(runs[i].frame))}">{"".join(cells)}</tr>')
    return (
        f'<table class="sweep"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def limits_html(runs: list[Run], renderer: Renderer) -> str:
    """Under the table: each distinct statement of what a trainer's own log cannot give,
    once, after the names of the runs it is said of (empty when no run is such a log)."""
    said = limits_said([r.frame for r in runs], renderer.ascii_only, renderer.critic)
    return "".join(
        f'<p class="help limits">'
        f"{esc(', '.join(clean_name(n, renderer.ascii_only) for n in names))}: {esc(line)}</p>"
        for names, line in said
    )


def summary(runs: list[Run]) -> str:
    """How many runs stand where in WORRY: "2 critical · 1 stale · 3 ok"."""
    counts = Counter(worry(r.frame) for r in runs)
    return " · ".join(
        f'<span class="w-{i}">{counts[w]} {esc(w)}</span>' for i, w in enumerate(WORRY) if counts[w]
    )


def points_note(series: Series) -> str:
    """What a run's charts show of its updates, said plainly."""
    if not series.kept:
        return "no update to chart"
    shown = count(series.updates, "update")
    if series.kept < series.updates:
        shown = f"the newest {series.kept:,} of {series.updates:,} updates (no more are read)"
    elif series.updates > 1:
        shown = f"all {series.updates:,} updates"
    if series.stride > 1:
        return f"{shown}, one point per {series.stride} updates (the newest always)"
    return f"{shown}, a point each"


def run_html(i: int, run: Run, renderer: Renderer, name: str) -> str:
    """A run's section: its name, the panel as a log shows it, and a place for its charts."""
    frame = run.frame
    level = WORRY.index(worry(frame))
    is_open = " open" if i == 0 else ""
    return (
        f'<section class="run w-{level}" id="run-{i}">'
        f"<h3>{esc(name)}</h3>"
        f'<pre class="panel">{styled_html(renderer.plain(frame))}</pre>'
        f'<p class="points">Charts: {esc(points_note(run.series))}.</p>'
        f'<details class="run-charts" data-run="{i}"{is_open}>'
        f"<summary>Charts of this run</summary>"
        f'<div class="grid"></div></details></section>'
    )


def _guides(rules: Rules, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        g: Guide = guide(key, rules)
        out[key] = {
            "lines": [[line.y, line.level, line.side, line.label] for line in g.lines],
            "note": g.note,
        }
    return out


def data(runs: list[Run], names: list[str]) -> dict[str, Any]:
    """The charts' data: each run's points (encode.py), and the thresholds per rules."""
    keys = [c.key for c in CHARTS if any(c.key in r.series.values for r in runs)]
    steps = all(r.series.steps is not None for r in runs if r.series.kept)
    rule_sets: list[Rules] = []
    out_runs = []
    for run, name in zip(runs, names, strict=True):
        rules = run.frame.rules
        if rules not in rule_sets:
            rule_sets.append(rules)
        s = run.series
        x = s.steps if steps and s.steps is not None else s.numbers
        out_runs.append(
            {
                "name": name,
                "status": worry(run.frame),
                "rules": rule_sets.index(rules),
                "x": encode_x(x),
                "y": {k: encode_values(v) for k, v in s.values.items()},
                "bad": {k: bad for k, v in s.values.items() if (bad := non_finite(v))},
            }
        )
    return {
        "x": "step" if steps else "update",
        "charts": [
            {"key": c.key, "label": c.label, "about": c.about} for c in CHARTS if c.key in keys
        ],
        "rules": [{"name": _rules_name(r), "guides": _guides(r, keys)} for r in rule_sets],
        "runs": out_runs,
    }


def _rules_name(rules: Rules) -> str:
    """The preset and why it is in force: "scale-free (written by TelemetryWriter)"."""
    why = rules.preset_from
    if why == DEFAULT_ORIGIN:
        return rules.preset.value
    if why.startswith(WRITER_PRESET):
        return f"{rules.preset.value} ({why})"
    if why == PRESET_OPTION:
        return f"{rules.preset.value} (chosen by {why})"
    return f"{rules.preset.value} (from {why})"


def rules_html(runs: list[Run]) -> str:
    """Which rules judged the runs: the preset, and why it is in force."""
    counts = Counter(clean(_rules_name(r.frame.rules)) for r in runs)
    if len(counts) == 1:
        return f"Rules: {esc(next(iter(counts)))}."
    parts = "; ".join(f"{esc(name)} for {count(n, 'run')}" for name, n in counts.items())
    return f"Rules: {parts}. The charts of every run draw no thresholds: each run's own do."


def page(runs: list[Run], renderer: Renderer, written: str, version: str) -> str:
    """The whole page; ``runs`` worst first, ``written`` the moment it was made (UTC),
    ``version`` value-diag's."""
    names = [clean_name(r.frame.name, renderer.ascii_only) for r in runs]
    title = f"{TITLE}: {count(len(runs), 'run')}"
    origin = clean(renderer.thresholds_from, renderer.ascii_only)
    sweep = ""
    if len(runs) > 1:
        sweep = (
            '<section id="sweep-charts"><h2>Every run, metric by metric</h2>'
            '<p class="help">Hover for values (the nearest run is named), drag across a chart'
            " to zoom (the others follow), double-click to zoom out; click a run in a legend"
            " to hide it in every chart.</p>"
            '<div class="grid" id="sweep-grid"></div></section>'
        )
    sections = "".join(
        run_html(i, r, renderer, n) for i, (r, n) in enumerate(zip(runs, names, strict=True))
    )
    licence = asset("uPlot.LICENSE")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="value-diag {esc(version)}">
<title>{esc(title)}</title>
<style>
/* {LIBRARY} ({LIBRARY_URL}), MIT licence: see the end of this file. */
{asset("uPlot.min.css")}
{asset("report.css")}
</style></head>
<body>
<header><h1>{esc(title)}</h1>
<p class="summary">{summary(runs)}</p>
<p class="meta">Written by value-diag {esc(version)} at {esc(written)}. Thresholds:
{esc(origin)}. {rules_html(runs)} Ages are counted to that moment.</p>
<noscript><p class="warn">The charts need JavaScript; the table and the panels do not.</p>
</noscript></header>
<main>
<section id="sweep"><h2>Runs, worst first</h2>
<div class="scroll">{table_html(runs, renderer)}</div>{limits_html(runs, renderer)}</section>
{sweep}
<section id="runs"><h2>Each run</h2>{sections}</section>
</main>
<footer><p>Charts drawn by {LIBRARY} (<span class="url">{LIBRARY_URL}</span>), inlined
in this file under the MIT licence:</p><pre class="licence">{esc(licence)}</pre></footer>
<script type="application/json" id="vd-data">{script_json(data(runs, names))}</script>
<script>
/*! {LIBRARY} | {LIBRARY_URL} | MIT licence:
{licence.replace("*/", "* /")}*/
{asset("uPlot.iife.min.js")}
</script>
<script>
{asset("report.js")}
</script>
</body></html>
"""
