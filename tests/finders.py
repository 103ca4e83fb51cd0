"""The finders the finder tests compare: the built C extension, the same C built with the
portable vector loop where a compiler is at hand, the needles, and the bytes.find reference.

Importing this module skips the importing test module when the C extension is not built.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from value_diag.ingest.finder import quoted
from value_diag.ingest.parse import KNOWN_NAMES

compiled = pytest.importorskip("value_diag.ingest._finder", reason="the C extension is not built")

NEEDLES = quoted(KNOWN_NAMES)
SOURCE = Path(compiled.__file__).parent / "_finder.c"


def build_portable(out: Path) -> ModuleType | None:
    """The extension built with the vector-extension loop (aarch64's) on this machine.

    None where no C compiler or source is at hand (the byte-identical answers of the
    other loops are still checked).
    """
    cc = shutil.which(sysconfig.get_config_var("CC").split()[0] or "cc") or shutil.which("cc")
    if cc is None or not SOURCE.exists():
        return None
    target = out / f"_finder{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    flags = ["-O2", "-shared", "-fPIC", "-DVALUE_DIAG_PORTABLE_VECTORS", f"-I{include}"]
    subprocess.run(
        [cc, *flags, str(SOURCE), "-o", str(target)],
        check=True,
        capture_output=True,
    )
    spec = importlib.util.spec_from_file_location("_finder", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def portable() -> ModuleType | None:
    """The portable build, made once per process when a test first asks for it (not at
    import: every test process collects the modules that use it)."""
    return build_portable(Path(tempfile.mkdtemp(prefix="value-diag-finder-")))


def reference(data: bytes, pos: int, end: int, needles: tuple[bytes, ...]) -> int:
    """The leftmost needle wholly inside data[pos:end], by bytes.find (re's clamping)."""
    pos, end = max(pos, 0), max(min(end, len(data)), 0)
    hits = [data.find(n, pos, end) for n in needles]
    return min((h for h in hits if h >= 0), default=-1)
