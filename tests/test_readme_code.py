"""Every Python block in the README runs as it is written, so no snippet can rot.

Each block runs in a fresh interpreter in an empty directory. A block that imports
stable_baselines3, torch, torchrl or verl needs them: skipped without them, except in CI.
When a block leaves a run.jsonl behind, `value-diag once` must read it whole.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_env, invoke
from markdown_it import MarkdownIt
from needs import need

OPTIONAL = {
    "stable_baselines3": ("gymnasium", "torch", "stable_baselines3"),
    "torch": ("torch",),
    "torchrl": ("gymnasium", "torch", "tensordict", "torchrl"),
    "ray": ("gymnasium", "torch", "ray.rllib"),
    "verl": ("torch", "verl"),
}
"""A top-level import of the key makes a block need these modules."""


def python_blocks() -> list[tuple[int, str]]:
    """(line number in the README, code) of every ```python block."""
    tokens = MarkdownIt("commonmark").parse((ROOT / "README.md").read_text(encoding="utf-8"))
    return [
        (t.map[0] + 1 if t.map else 0, t.content)
        for t in tokens
        if t.type == "fence" and t.info.strip().lower() in ("python", "py")
    ]


BLOCKS = python_blocks()


def test_the_readme_has_python_blocks_to_run() -> None:
    """The parser finds the blocks: the feeding loop and the Stable-Baselines3 callback."""
    assert len(BLOCKS) >= 2
    assert any("ValueDiagnosticsCallback" in code for _, code in BLOCKS)


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_the_block_runs(line: int, code: str, tmp_path: Path) -> None:
    for module, needed in OPTIONAL.items():
        if re.search(rf"^\s*(from|import)\s+{module}\b", code, flags=re.M):
            for name in needed:
                need(name)
    script = tmp_path / f"readme_{line}.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        env=clean_env(OMP_NUM_THREADS="1"),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"README.md:{line}\n{proc.stderr.decode()}"
    run = tmp_path / "run.jsonl"
    if run.exists():
        once = invoke(["once", str(run), "--format", "json"])
        assert once.returncode == 0, once.stderr.decode()
        frame = json.loads(once.stdout)
        assert frame["records"] > 0 and frame["bad_lines"] == 0, frame["last_error"]
