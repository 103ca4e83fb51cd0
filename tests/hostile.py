"""Markup in a run's name, compile strings and last error, and markdown rendered as GitHub
would: what the report, markdown and --compare tests share to prove strings from a file
are shown as written."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

from markdown_it import MarkdownIt
from telemetry import metrics

BACKEND: Final = "<img src=https://evil.example/p.png>"
MODE: Final = "[Fix](https://evil.example) @org/team ``x`` | &amp; www.evil.example #1 *b*"
"""An image, a link, a mention, a code span, a cell break, an entity, bare links, emphasis."""
SAFE_TAGS: Final = {"h3", "p", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "code"}
"""Everything the report itself writes; no image, link or raw HTML from the data."""
BREAKOUT: Final = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>"
"""Markup that would end the report's script and open another: must stay text."""
DATA_MARKERS: Final = ("evil", "example", "http", "www", "@", "<", "&", "[", "`", "#1", "*b*")


# --- markdown ------------------------------------------------------------------------------


class Rendered(HTMLParser):
    """The tags of rendered HTML, and its text inside and outside <code> elements."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.code: list[str] = []
        self.outside = ""
        self._depth = 0
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "code":
            self._depth += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.code[-1] += data
        else:
            self.outside += data


def gfm(text: str) -> Rendered:
    """Markdown rendered as GitHub would: tables, raw HTML allowed, bare URLs linked."""
    renderer = MarkdownIt("gfm-like")
    assert renderer.options["html"] and renderer.options["linkify"]
    return Rendered(renderer.render(text))


def hostile_run(tmp_path: Path) -> str:
    """A run whose path, compile strings and last error would all be markup if not escaped."""
    (tmp_path / "https:" / "x.example").mkdir(parents=True)
    path = f"{tmp_path}/https://x.example/<b>@o [a](b) `t` |x| &lt; *y*.jsonl"
    lines = [
        json.dumps({"compile_enabled": True, "compile_backend": BACKEND, "compile_mode": MODE}),
        json.dumps(metrics(bellman_error=30.0)),
        '{"bellman_error": <img src=x>',
    ]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
