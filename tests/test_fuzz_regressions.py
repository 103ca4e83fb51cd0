"""Inputs the fuzzer (fuzz/fuzz_lines.py) once failed on, replayed through its invariants."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from value_diag.ingest.fold import fold
from value_diag.state import FoldState

ROOT = Path(__file__).resolve().parent.parent
INPUTS = sorted((Path(__file__).resolve().parent / "fuzz_inputs").iterdir())


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_lines", ROOT / "fuzz" / "fuzz_lines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_fuzz_input_holds_every_invariant(path: Path) -> None:
    harness().check(path.read_bytes())


def test_history_keeps_its_length_when_folded_one_record_at_a_time() -> None:
    # fold-history-one-by-one: apply() cut the history to one record whenever it held
    # fewer than history_len, so `watch --trend` never had more than one point.
    state = FoldState(history_len=3)
    for i in range(4):
        state = fold(state, [(i + 1, b'{"bellman_error": %d}' % i)], 0.0)
        assert [h[3] for h in state.history] == [float(j) for j in range(max(0, i - 2), i + 1)]
