"""A metric nobody logged is never a number, through the real console script: absent or
null it is a dash (null in JSON) and judges nothing; a line that omits it keeps the value
an earlier line of the run reported, shown with its age; a run that reported no value
metric at all is no data, and a gate never passes on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke


def write(tmp_path: Path, *records: dict[str, Any]) -> str:
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def once(path: str, *args: str) -> tuple[int, str]:
    proc = invoke(["once", path, *args])
    assert not proc.stderr or b"Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.decode("utf-8")


def json_frame(path: str, *args: str) -> dict[str, Any]:
    code, text = once(path, "-f", "json", *args)
    assert code in (0, 1), text
    frame: dict[str, Any] = json.loads(text)
    return frame


@pytest.mark.parametrize(
    "record",
    [
        {"step": 1, "bellman_error": 12.0, "td_error_mean": 0.5},
        {"step": 1, "bellman_error": 12.0, "td_error_mean": 0.5, "v_return_correlation": None},
        {"tamiyo": {"value_function": {"bellman_error": 12.0, "td_error_mean": 0.5}}},
    ],
    ids=["absent", "null", "snapshot"],
)
def test_a_metric_absent_or_null_is_a_dash_and_fires_nothing(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    path = write(tmp_path, record)
    code, text = once(path, "--fail-on", "critical")
    assert code == 0, text
    assert text.splitlines()[1] == "V-Corr    —         Bellman   12", text
    assert "0.00" not in text
    obj = json_frame(path)
    assert obj["value_function"]["v_return_correlation"] == {"value": None, "level": "no_data"}
    assert obj["value_function"]["bellman_error"]["value"] == 12.0
    assert obj["status"] == "ok"


def test_a_line_that_omits_a_metric_keeps_the_earlier_report_with_its_age(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        {"step": 1, "v_return_correlation": 0.9, "bellman_error": 1.0, "td_error_mean": 0.1},
        {"step": 2, "bellman_error": 2.0},
    )
    code, text = once(path, "--fail-on", "critical")
    assert code == 0, text
    assert text.splitlines()[1].startswith("V-Corr    0.9↗ "), text
    assert "V-Corr, TD Mean: last reported 1 update ago" in text
    vf = json_frame(path)["value_function"]
    assert vf["v_return_correlation"] == {"value": 0.9, "level": "ok", "updates_ago": 1}
    assert "updates_ago" not in vf["bellman_error"]
    assert vf["td_error_std"]["value"] is None


def test_a_critical_value_an_earlier_line_reported_still_fires(tmp_path: Path) -> None:
    """Known is known: the newest report of a metric is judged until a line replaces it."""
    path = write(
        tmp_path,
        {"step": 1, "v_return_correlation": 0.1, "bellman_error": 1.0},
        {"step": 2, "bellman_error": 1.0},
    )
    code, text = once(path, "--fail-on", "critical")
    assert code == 1, text
    assert "critical: V-Corr" in text.splitlines()[0]


def test_a_new_run_forgets_what_the_old_one_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"step": 1, "v_return_correlation": 0.1, "bellman_error": 1.0},
        {"event_type": "TRAINING_STARTED", "data": {}},
        {"step": 1, "bellman_error": 1.0},
    )
    code, text = once(path, "--fail-on", "critical")
    assert code == 0, text
    assert json_frame(path)["value_function"]["v_return_correlation"]["value"] is None


def test_every_format_agrees_on_a_metric_never_reported(tmp_path: Path) -> None:
    path = write(tmp_path, {"step": 1, "bellman_error": 12.0, "td_error_mean": 0.5})
    for args, dash in ((("--compare",), "—"), (("--compare", "--ascii"), "-")):
        code, table = once(path, *args)
        assert code == 0, table
        row = next(ln for ln in table.splitlines() if path in ln).split()
        assert row[1] == "ok" and row[4] == dash, row  # run, status, (why: none), age, step
    code, markdown = once(path, "-f", "markdown")
    assert "| V-Corr | — | no data |" in markdown
    code, github = once(path, "-f", "github")
    assert code == 0 and github.startswith("::notice "), github
    assert "0.00" not in github


@pytest.mark.parametrize(
    "record",
    [
        {"compile_enabled": True, "compile_backend": "inductor"},
        {"explained_variance": 0.9},
        {"td_error_std": 1.0},
    ],
    ids=["compile", "critic-only", "info-only"],
)
def test_a_run_with_nothing_judged_is_no_data_and_fails_a_gate(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    path = write(tmp_path, record)
    for fail_on in ("warning", "critical"):
        code, text = once(path, "--fail-on", fail_on)
        assert code == 3, text
    assert json_frame_any(path)["status"] == "no_data"


def json_frame_any(path: str) -> dict[str, Any]:
    code, text = once(path, "-f", "json")
    assert code == 3, text
    frame: dict[str, Any] = json.loads(text)
    return frame
