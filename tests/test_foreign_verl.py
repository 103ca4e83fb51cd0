"""verl's JSON-lines file logger to flat lines, the file written by verl's own FileLogger."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from needs import need

from value_diag.ingest.foreign.verl_file import read_verl_jsonl

STEP_1 = {
    "critic/vf_explained_var": 0.5,
    "critic/values/mean": 1.25,
    "critic/values/max": 3.0,
    "critic/values/min": -1.0,
    "critic/returns/mean": 1.5,
    "critic/returns/max": 4.0,
    "critic/returns/min": -2.0,
    "actor/pg_loss": 0.1,
}
# A step with no valid token: verl logs NaN for the critic's values, which orjson writes null.
STEP_2 = {**STEP_1, "critic/vf_explained_var": math.nan, "critic/values/mean": math.nan}


def _verl_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    tracking = need("verl.utils.tracking")
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    logger = tracking.FileLogger("project", "experiment")
    logger.log(STEP_1, step=1)
    logger.log({"actor/pg_loss": 0.2}, step=2)  # no critic: no line
    logger.log(STEP_2, step=3)
    logger.finish()
    return path.read_bytes()


def test_verl_file_logger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = read_verl_jsonl(_verl_file(tmp_path / "run.jsonl", monkeypatch))
    full = {
        "explained_variance": 0.5,
        "value_mean": 1.25,
        "value_max": 3.0,
        "value_min": -1.0,
        "return_mean": 1.5,
        "return_max": 4.0,
        "return_min": -2.0,
    }
    assert lines[0] == {"step": 1, **full}
    # verl's NaN reached the file as null: absent, not invented.
    rest = {k: v for k, v in full.items() if k not in ("explained_variance", "value_mean")}
    assert lines[1] == {"step": 3, **rest}
    assert len(lines) == 2


def test_a_line_being_written_waits() -> None:
    text = b'{"step": 1, "data": {"critic/vf_explained_var": 0.5}}\n{"step": 2, "data": {"cr'
    assert read_verl_jsonl(text) == [{"step": 1, "explained_variance": 0.5}]


@pytest.mark.parametrize(
    "text",
    [
        b"not json\n",
        b"[1, 2]\n",
        b'{"data": {"critic/vf_explained_var": 0.5}}\n',  # no step
        b'{"step": 1.5, "data": {"critic/vf_explained_var": 0.5}}\n',
        b'{"step": 1, "data": [0.5]}\n',
        b'{"step": 1, "data": {"critic/vf_explained_var": "0.5"}}\n',
        b'{"step": 1, "data": {"critic/vf_explained_var": true}}\n',
    ],
)
def test_not_a_record(text: bytes) -> None:
    assert read_verl_jsonl(text) == []
