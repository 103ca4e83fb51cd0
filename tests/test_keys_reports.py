"""Reports a terminal sends unasked (mouse clicks, replies to queries) are no keys.

An X10 mouse click at column 81 carries the byte ``q`` (32 + 81) and a DECRQSS reply
holds ``q`` too: decoded as keys, either quit the watch. Each report is skipped whole,
also when it arrives in pieces, and the keys around it still count.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ptyterm import Pty
from telemetry import healthy

from value_diag.tui.keys import MAX_STRING, decode, flush
from value_diag.tui.tableview import Key

REPORTS = {
    "x10 click at column 81": b"\x1b[M q!",
    "x10 release at row 81": b"\x1b[M#!q",
    "sgr mouse press": b"\x1b[<0;81;1M",
    "sgr mouse release": b"\x1b[<0;113;1m",
    "decrqss reply": b"\x1bP1$r0;1q\x1b\\",
    "decrqss cursor style": b"\x1bP1$r2 q\x1b\\",
    "osc colour, ended by BEL": b"\x1b]11;rgb:0000/0000/0000\x07",
    "osc title, ended by ST": b"\x1b]l quit?\x1b\\",
    "apc": b"\x1b_Gq=1;OK\x1b\\",
    "pm": b"\x1b^ q \x1b\\",
    "sos": b"\x1bX q \x1b\\",
}


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_a_report_is_no_key(report: bytes) -> None:
    assert decode(report) == ([], b"")


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_keys_around_a_report_still_count(report: bytes) -> None:
    assert decode(b"j" + report + b"k") == ([Key.DOWN, Key.UP], b"")


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_a_report_split_anywhere_is_no_key(report: bytes) -> None:
    for cut in range(1, len(report)):
        keys, rest = decode(report[:cut])
        assert keys == [], (cut, keys)
        more, rest = decode(rest + report[cut:] + b"s")
        assert more == [Key.SORT] and rest == b"", (cut, more)


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_a_report_cut_short_for_good_is_no_key(report: bytes) -> None:
    for cut in range(2, len(report)):
        _, rest = decode(report[:cut])
        assert Key.QUIT not in flush(rest), cut


def test_an_endless_string_is_dropped() -> None:
    keys, rest = decode(b"\x1bP" + b"q" * (MAX_STRING + 10))
    assert (keys, rest) == ([], b"")


def test_a_click_at_column_81_does_not_quit_the_watch(tmp_path: Path) -> None:
    (tmp_path / "run.jsonl").write_text(healthy(3.0))
    term = Pty(["watch", "run.jsonl", "--table"], tmp_path, cols=100, rows=30)
    try:
        term.settled(lambda s: any("1 run" in row for row in s), "the table")
        os.write(term.master, b"".join(REPORTS.values()) + b"?")
        # The key after the reports is read after them: once it shows, they were decoded.
        term.settled(lambda s: any("q quit" in row for row in s), "the help")
        assert term.popen.poll() is None, "a report quit the watch"
        assert term.finish() == 0
    finally:
        term.close()
