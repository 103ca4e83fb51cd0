"""ingest/foreign/reading.Converted: a growing foreign file folded as its whole would be."""

from __future__ import annotations

import json
from pathlib import Path

from needs import need
from trainer_logs import SB3_CSV

from value_diag.ingest.foreign.detect import Format
from value_diag.ingest.foreign.reading import FIRST_READ, HEAD, Converted, format_of, head_of
from value_diag.ingest.foreign.tfevents import split_records


def test_rows_appended_are_folded_once_each() -> None:
    rows = SB3_CSV.encode()
    cut = rows.index(b"870")  # the last row not written yet
    growing = Converted(Format.SB3_CSV, recent=20)
    growing.update(rows[:cut], 1.0)
    grown = growing.update(rows[: cut + 5], 2.0)  # half a row: waits
    assert grown.whole.records == 1
    grown = growing.update(rows, 3.0)
    whole = Converted(Format.SB3_CSV, recent=20).update(rows, 3.0)
    assert (grown.whole.records, grown.whole.critic, growing.refolds) == (2, (0.5, *[None] * 4), 0)
    assert grown.whole.step == whole.whole.step


def test_a_step_whose_tags_arrive_in_two_reads_is_folded_again(tmp_path: Path) -> None:
    """A line already folded that reads differently now (its step gained a tag) makes the
    file fold again from its first line: the state is the whole file's."""
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(tmp_path))
    writer.add_scalar("critic/vf_explained_var", 0.5, 1)
    writer.add_scalar("critic/values/mean", 1.25, 1)
    writer.close()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    data = path.read_bytes()
    first = split_records(data).records
    cut = len(data) - (len(first[-1]) + 16)  # without the last record (values/mean)
    growing = Converted(Format.TFEVENTS, recent=20)
    assert growing.update(data[:cut], 1.0).whole.critic == (0.5, None, None, None, None)
    grown = growing.update(data, 2.0)
    assert growing.refolds == 1
    assert grown.whole.critic == (0.5, 1.25, None, None, None)
    assert grown == Converted(Format.TFEVENTS, recent=20).update(data, 2.0)


def test_a_jsonl_file_is_told_by_its_first_line_alone(tmp_path: Path) -> None:
    """Telling a .jsonl file's format reads its first line, not HEAD bytes of every run
    file; a first line longer than the first block is read whole all the same."""
    ours = tmp_path / "ours.jsonl"
    ours.write_bytes(b'{"step": 1}\n' + b"x" * (2 * HEAD))
    with ours.open("rb") as f:
        assert head_of(f.fileno()) == b'{"step": 1}\n'
    data = {f"critic/k{i}": 0.5 for i in range(400)} | {"critic/vf_explained_var": 0.5}
    verl = tmp_path / "exp.jsonl"
    first = json.dumps({"step": 1, "data": data}).encode() + b"\n"
    assert FIRST_READ < len(first) < HEAD
    verl.write_bytes(first + first)
    with verl.open("rb") as f:
        assert head_of(f.fileno()) == first
    assert format_of(str(verl)) is Format.VERL_FILE
    assert format_of(str(ours)) is None
