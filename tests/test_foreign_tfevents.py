"""TensorBoard event files to flat lines: written by torch's SummaryWriter and by real SB3 runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from needs import need
from trainer_logs import sb3_ppo

from value_diag.ingest.foreign.sb3_csv import read_progress_csv
from value_diag.ingest.foreign.tfevents import (
    masked_crc32c,
    read_events,
    scalars,
    split_records,
)


def _event_bytes(folder: Path) -> bytes:
    (path,) = folder.glob("events.out.tfevents.*")
    return path.read_bytes()


def _cleanrl_file(folder: Path, new_style: bool = False) -> bytes:
    """An event file with CleanRL's tags, as its ppo.py writes them after each update."""
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(folder))
    for update in (1, 2, 3):
        step = 128 * update
        writer.add_scalar("charts/learning_rate", 2.5e-4, step, new_style=new_style)
        writer.add_scalar("losses/value_loss", 8.0 / 2**update, step, new_style=new_style)
        writer.add_scalar("losses/explained_variance", 0.25 * update, step, new_style=new_style)
    writer.close()
    return _event_bytes(folder)


@pytest.mark.parametrize("new_style", [False, True])
def test_cleanrl_tags_at_their_step(tmp_path: Path, new_style: bool) -> None:
    lines = read_events(_cleanrl_file(tmp_path, new_style))
    assert lines == [
        {"step": 128, "value_loss": 4.0, "explained_variance": 0.25},
        {"step": 256, "value_loss": 2.0, "explained_variance": 0.5},
        {"step": 384, "value_loss": 1.0, "explained_variance": 0.75},
    ]


def test_a_record_being_written_waits(tmp_path: Path) -> None:
    data = _cleanrl_file(tmp_path)
    whole = split_records(data)
    assert whole.used == len(data) and whole.error is None
    cut = split_records(data[:-3])
    assert cut.records == whole.records[:-1] and cut.error is None
    # The last record (step 384's explained variance) is cut: its line has the rest.
    assert read_events(data[:-3])[-1] == {"step": 384, "value_loss": 1.0}


def test_a_damaged_length_stops_reading(tmp_path: Path) -> None:
    data = bytearray(_cleanrl_file(tmp_path))
    first = split_records(bytes(data)).records[0]
    at = 12 + len(first) + 4  # the second record's length
    data[at] ^= 0xFF
    framed = split_records(bytes(data))
    assert len(framed.records) == 1 and framed.error is not None


def test_the_checksum_is_crc32c_masked() -> None:
    # CRC-32C's check value (of "123456789") is 0xE3069283; TFRecord masks it. A real
    # file's lengths pass the check (test_a_record_being_written_waits: no error).
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _sb3_run(tmp_path: Path) -> tuple[list[tuple[int, float]], bytes, str]:
    """A short SB3 PPO on CartPole logging to CSV and TensorBoard; the explained variance
    SB3 computed per rollout, the event file and progress.csv."""
    seen = sb3_ppo(tmp_path, ["csv", "tensorboard"], rollouts=4, seed=1)
    return seen, _event_bytes(tmp_path), (tmp_path / "progress.csv").read_text()


def test_sb3_lag_corrected(tmp_path: Path) -> None:
    seen, data, csv_text = _sb3_run(tmp_path)
    lines = read_events(data)
    ev = [(line["step"], line["explained_variance"]) for line in lines if len(line) > 1]
    # TensorBoard keeps float32: SB3's values to its precision, at the rollout's step.
    assert [step for step, _ in ev] == [step for step, _ in seen[:-1]]
    assert [value for _, value in ev] == pytest.approx([value for _, value in seen[:-1]])
    assert [s for s, _ in ev] == [line["step"] for line in read_progress_csv(csv_text)]
    assert read_events(data, rollout_steps=64) == lines


def test_other_tags_are_not_lines(tmp_path: Path) -> None:
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(tmp_path))
    writer.add_scalar("charts/episodic_return", 20.0, 5)
    writer.close()
    data = _event_bytes(tmp_path)
    assert scalars(split_records(data).records) == [("charts/episodic_return", 5, 20.0)]
    assert read_events(data) == []


def test_without_tensorboard_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.event_pb2", None)
    with pytest.raises(ImportError, match=r"value-diag\[tensorboard\]"):
        read_events(b"")
