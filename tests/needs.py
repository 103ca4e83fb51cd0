"""Optional libraries and tools for the tests that need them: skipped without them (a
library, except in CI)."""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

import pytest


def in_ci() -> bool:
    """Whether the CI variable is set (CI=true), as in .ci/run on a CI machine."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(module: str) -> ModuleType:
    """The module, or a skip where it is not installed; in CI, where it must be, a failure.

    .ci/run installs stable-baselines3, gymnasium and a CPU build of torch, so a test that
    skips there would hide that it never ran.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if in_ci():
            pytest.fail(f"{module} must be installed in CI (.ci/run installs it): {exc}")
        pytest.skip(f"{module} is not installed")


def as_nobody() -> list[str]:
    """A prefix running a command as an unprivileged user (root reads any file or folder,
    whatever its mode); nothing when not root."""
    if os.geteuid() != 0:
        return []
    return as_user(NOBODY)


NOBODY: Final = 65534


def as_user(uid: int) -> list[str]:
    """A prefix running a command as ``uid`` (setpriv, from root); a skip where that cannot
    be done: no setpriv, or this Python cannot run as that user (an interpreter, or its
    shared library, under root's own home, as pyenv's are)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to drop root, which ignores file and folder modes")
    prefix = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    if not _runs_as(tuple(prefix)):
        pytest.skip(f"{sys.executable} cannot be run by user {uid}")
    return prefix


@functools.cache
def _runs_as(prefix: tuple[str, ...]) -> bool:
    """Whether this interpreter starts under ``prefix``."""
    probe = [*prefix, sys.executable, "-c", ""]
    return subprocess.run(probe, capture_output=True, timeout=60, check=False).returncode == 0


def refusals(hidden: Sequence[str], module: str, names: Sequence[str], calls: Sequence[str]) -> str:
    """What each of ``calls`` (expressions over ``names``, imported from ``module``) prints
    when it raises ImportError, in a fresh interpreter where none of ``hidden`` can be
    imported: an integration must import without its library and say what it needs."""
    code = "".join(
        [
            "import sys\n",
            f"for name in {tuple(hidden)!r}:\n",
            "    sys.modules[name] = None  # import now raises ImportError\n",
            f"from {module} import {', '.join(names)}\n",
            f"for call in ({''.join(f'lambda: {c}, ' for c in calls)}):\n",
            "    try:\n",
            "        call()\n",
            "    except ImportError as exc:\n",
            "        print(exc)\n",
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, env=dict(os.environ)
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()
