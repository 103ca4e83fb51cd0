"""One table of keys: the decoder, the view, the help screen and `watch --help` agree."""

from __future__ import annotations

import re

from conftest import invoke

from value_diag.render.table import help_lines
from value_diag.tui.bindings import BINDINGS, Key, help_keys, sentence
from value_diag.tui.keys import decode
from value_diag.tui.tableview import TableView


def test_every_key_is_bound_once_and_every_binding_decodes() -> None:
    keys = [p.key for b in BINDINGS for p in b.presses]
    assert sorted(keys) == sorted(Key), "every Key is in the table, once"
    for b in BINDINGS:
        for p in b.presses:
            for c in p.plain:
                assert decode(bytes([c])) == ([p.key], b"")
            for f in p.finals:
                assert decode(b"\x1b[" + bytes([f])) == ([p.key], b"")
                assert decode(b"\x1bO" + bytes([f])) == ([p.key], b"")
            for n in p.tilde:
                assert decode(b"\x1b[" + n + b"~") == ([p.key], b"")


def test_every_action_is_a_method_of_the_view() -> None:
    view = TableView()
    for b in BINDINGS:
        for p in b.presses:
            if p.action is not None:
                assert callable(getattr(view, p.action))
                assert isinstance(view.press(p.key), TableView)


def test_the_help_screen_lists_the_table() -> None:
    for ascii_only in (False, True):
        shown = [line.plain for line in help_lines(ascii_only, " | ")]
        for label, does in help_keys(ascii_only):
            assert any(re.search(rf"^\s+{re.escape(label)}\s+{re.escape(does)}$", s) for s in shown)


def test_watch_help_names_every_key_of_the_table() -> None:
    result = invoke(["watch", "--help"], env={"COLUMNS": "200", "LANG": "C.UTF-8"})
    text = " ".join(result.stdout.decode().split())
    assert sentence() in text
    for b in BINDINGS:
        assert (b.epilog or b.label) in text
