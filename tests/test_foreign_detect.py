"""Telling the foreign formats apart by name and first line."""

from __future__ import annotations

import pytest

from value_diag.ingest.foreign.detect import Format, detect


@pytest.mark.parametrize(
    ("path", "head", "expected"),
    [
        ("runs/ppo/progress.csv", b"time/fps,time/iterations\n", Format.SB3_CSV),
        ("runs/a/events.out.tfevents.1796608808.vm.21328.0", b"\x18\0", Format.TFEVENTS),
        ("ray_results/ppo/PPO_CartPole-v1_0/result.json", b"{", Format.RAY_TUNE),
        ("p/exp.jsonl", b'{"step": 1, "data": {"critic/values/mean": 1}}\n', Format.VERL_FILE),
        # value-diag's own lines, an esper-lite event, a line still being written: not verl's
        ("run.jsonl", b'{"step": 1, "explained_variance": 0.5}\n', None),
        ("events.jsonl", b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {}}\n', None),
        ("exp.jsonl", b'{"step": 1, "data": {"critic/vf', None),
        ("exp.jsonl", b'{"step": 1, "data": [1]}\n', None),
        ("exp.jsonl", b"not json\n", None),
        ("notes.csv", b"a,b\n", None),
    ],
)
def test_detect(path: str, head: bytes, expected: Format | None) -> None:
    assert detect(path, head) is expected
