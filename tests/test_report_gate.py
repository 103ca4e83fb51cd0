"""`value-diag report --fail-on`: the page first, then the gate, as once's."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES, invoke


@pytest.mark.parametrize(
    "gate",
    [
        ["--fail-on", "critical"],
        ["--fail-on", "warning"],
        ["--fail-on", "never"],
        ["--fail-on", "critical", "--fail-count", "2"],
        ["--fail-on", "critical", "--fail-count", "3"],
        ["--fail-on", "warning", "--warmup", "0", "--persist", "1"],
    ],
    ids=" ".join,
)
def test_the_exit_code_and_the_reasons_are_once_s(gate: list[str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    once = invoke(["once", str(SAMPLES), *gate])
    report = invoke(["report", str(SAMPLES), "-o", str(page), *gate])
    assert report.returncode == once.returncode
    said = [line for line in report.stderr.decode().splitlines() if "wrote" not in line]
    assert sorted(said) == sorted(once.stderr.decode().splitlines())
    assert page.stat().st_size > 10_000  # the page is written whatever the verdict


def test_a_failing_sweep_still_writes_its_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    proc = invoke(["report", str(SAMPLES), "-o", str(page), "--fail-on", "critical"])
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "reached critical (--fail-on critical)" in err
    assert err.index("wrote") < err.index("reached critical")  # the page, then the verdict
    assert "collapse" in page.read_text(encoding="utf-8")


def test_fail_count_needs_fail_on(tmp_path: Path) -> None:
    proc = invoke(["report", str(SAMPLES), "-o", str(tmp_path / "r.html"), "--fail-count", "2"])
    assert proc.returncode == 2
    assert "--fail-count needs --fail-on" in proc.stderr.decode()
    assert not (tmp_path / "r.html").exists()
