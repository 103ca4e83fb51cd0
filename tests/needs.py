"""Optional libraries and tools for the tests that need them: skipped without them (a
library, except in CI)."""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

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
    whatever its mode); a skip where setpriv, needed to drop root, is missing."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is needed to drop root, which ignores file and folder modes")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
