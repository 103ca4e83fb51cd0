"""`value-diag report` over what trainers already log: the page says, under its table and
under each such run's panel, what the format cannot give and the hook that would, as
escaped text, through the real console script."""

from __future__ import annotations

import html
import re
from pathlib import Path

from conftest import run_cli
from reports import Page
from trainer_logs import OURS, SB3_CSV, SB3_CSV_SAID

HOSTILE = "PPO_<i>x</i>"
"""A run folder whose name is markup: shown as text, never as markup."""


def _limits(markup: str) -> list[str]:
    """The text of the page's paragraphs of what trainers' logs cannot give."""
    found = re.findall(r'<p class="help limits">(.*?)</p>', markup, re.S)
    return [html.unescape(p) for p in found]


def test_the_report_says_what_a_trainers_log_cannot_give(tmp_path: Path) -> None:
    for seed in ("PPO_1", HOSTILE):
        (tmp_path / "runs" / seed).mkdir(parents=True)
        (tmp_path / "runs" / seed / "progress.csv").write_text(SB3_CSV)
    (tmp_path / "runs" / "ours.jsonl").write_bytes(OURS)
    proc = run_cli(["report", "runs", "-o", "report.html"], cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr.decode()  # the CSV runs: nothing judged
    markup = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert HOSTILE not in markup  # the name is escaped wherever it is shown
    assert _limits(markup) == [f"PPO_1, {HOSTILE}: {SB3_CSV_SAID}"]
    page = Page(markup)
    by_name = dict(zip(page.headings, page.panels, strict=True))
    assert set(by_name) == {"PPO_1", HOSTILE, "ours.jsonl"}
    for name in ("PPO_1", HOSTILE):
        assert by_name[name].splitlines()[-1] == SB3_CSV_SAID
    assert "cannot give" not in by_name["ours.jsonl"]  # value-diag's own lines
