"""An HTML report read back (tags, scripts, panels, table, the charts' data, report.js's
encodings decoded in Python) and the flat runs the report tests write."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from telemetry import metrics

Json = dict[str, Any]


class Page(HTMLParser):
    """A report's tags and attributes, its scripts' text, its panels and its table."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.panels: list[str] = []
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self._in: list[str] = []
        self._text = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self.scripts.append((attributes, ""))
        if tag == "tr" and self._in[-1:] == ["tbody"]:
            self.rows.append([])
        if tag in ("pre", "h3", "td", "th", "script", "tbody"):
            self._in.append(tag)
            self._text = ""

    def handle_endtag(self, tag: str) -> None:
        if not self._in or self._in[-1] != tag:
            return
        self._in.pop()
        if tag == "script":
            self.scripts[-1] = (self.scripts[-1][0], self._text)
        elif tag == "pre" and self.tags and self._open_class("pre") == "panel":
            self.panels.append(self._text)
        elif tag == "h3":
            self.headings.append(self._text)
        elif tag in ("td", "th") and self._in[-1:] == ["tbody"] and self.rows:
            self.rows[-1].append(self._text)

    def _open_class(self, tag: str) -> str | None:
        for name, attrs in reversed(self.tags):
            if name == tag:
                return attrs.get("class")
        return None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def data(self) -> Json:
        """The charts' data, from its <script type="application/json">."""
        (text,) = [t for a, t in self.scripts if a.get("id") == "vd-data"]
        out: Json = json.loads(text)
        return out


def decode_x(enc: list[int]) -> list[int]:
    """report.js's decodeX, in Python."""
    if not enc:
        return []
    out = [enc[0]]
    for d, n in zip(enc[1::2], enc[2::2], strict=True):
        for _ in range(n):
            out.append(out[-1] + d)
    return out


def decode_values(enc: list[Any]) -> list[float | None]:
    """report.js's decodeValues, in Python."""
    e, q = enc[0], 0
    out: list[float | None] = []
    for d in enc[1:]:
        if d is None:
            out.append(None)
            continue
        q += d
        out.append(q / 10**-e if e < 0 else q * 10**e)
    return out


def flat_run(path: Path, values: list[dict[str, float]], header: str | None = None) -> Path:
    lines = [] if header is None else [json.dumps({"value_diag_run": {"rules": header}})]
    lines += [json.dumps({"step": 10 * (i + 1), **metrics(**v)}) for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
