"""The README's picture is what the script draws today, and its links lead somewhere."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from docs.make_pictures import DETAIL_PICTURE, PICTURE, write_pictures

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_checked_in_pictures_are_what_the_script_draws(tmp_path: Path) -> None:
    written = write_pictures(tmp_path)
    assert written == [tmp_path / PICTURE, tmp_path / DETAIL_PICTURE]
    for picture in written:
        expected = (ROOT / "docs" / picture.name).read_text(encoding="utf-8")
        assert picture.read_text(encoding="utf-8") == expected, (
            f"docs/{picture.name} is out of date: run python docs/make_pictures.py and commit it"
        )


def _links(tokens: list[Token]) -> list[str]:
    found: list[str] = []
    for token in tokens:
        if token.type == "link_open":
            found.append(str(token.attrs["href"]))
        elif token.type == "image":
            found.append(str(token.attrs["src"]))
        if token.children:
            found += _links(token.children)
    return found


def _anchors(tokens: list[Token]) -> set[str]:
    """GitHub's ids of the headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type == "heading_open":
            slug = re.sub(r"[^\w\- ]", "", inline.content.lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_to_existing_files(document: Path) -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(document.read_text(encoding="utf-8"))
    links = _links(tokens)
    assert links, f"{document.name} has no links: the parser found nothing to check"
    broken = []
    for link in links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            continue  # a web address
        if not parts.path:  # an anchor in this document
            if unquote(parts.fragment) not in _anchors(tokens):
                broken.append(link)
        elif not (document.parent / unquote(parts.path)).exists():
            broken.append(link)
    assert broken == []


def test_readme_shows_the_picture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"![value-diag watch](docs/{PICTURE})" in readme


def test_the_readme_advice_table_is_the_one_the_tool_shows() -> None:
    """The "When a metric is red" table is written once, in render/advice.py: the README
    holds exactly the table it makes, with the default thresholds in its row titles."""
    from value_diag.render.advice import markdown_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme
