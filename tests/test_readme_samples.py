"""Every sample frame in the README is what the current build prints for the command the
marker beside it names (docs/make_samples.py regenerates them), through the console script."""

from __future__ import annotations

import re

import pytest

from docs.make_samples import MARKER, README, Sample, block

TEXT = README.read_text(encoding="utf-8")
SAMPLES = list(MARKER.finditer(TEXT))


def test_the_readme_has_its_samples() -> None:
    specs = [m["spec"] for m in SAMPLES]
    assert len(specs) >= 8, specs
    assert any(" | pty" in s for s in specs), "the bordered panel a terminal shows"


@pytest.mark.parametrize("match", SAMPLES, ids=[m["spec"].split(" | ")[0] for m in SAMPLES])
def test_a_sample_is_what_the_tool_prints(match: re.Match[str]) -> None:
    assert match["body"] == block(Sample.parse(match["spec"])), "run python docs/make_samples.py"
