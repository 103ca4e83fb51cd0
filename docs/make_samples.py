"""Regenerates the README's sample frames from the real console script.

Each sample in README.md is a fenced block right after a marker comment that names the
command which prints it::

    <!-- sample: COLUMNS=80 value-diag once sample_logs/ --compare | prompt keep=4 -->

Before the ``|``: the command, after optional ``NAME=VALUE`` settings of its environment
(``COLUMNS`` the width of a pipe, or of the terminal with ``pty``). After it, options:

- ``prompt``: the block starts with ``$ `` and the command, as typed;
- ``pty``: run on a pseudo-terminal (COLUMNS x 30), the escape codes taken out, as a
  terminal shows it; else in a pipe;
- ``from=TEXT``: start at the first line holding TEXT;
- ``keep=N``: keep N lines, then ``...`` if there were more;
- ``also=TEXT``: after the ``...``, the lines holding TEXT;
- ``tail=N``: after the ``...``, the last N lines;
- ``config=TOML``: a value-diag.toml with that text (``;`` for a new line) in the folder.

Every command runs in a fresh folder holding a copy of ``sample_logs/`` whose files were
last written three hours ago, so that ages read the same from one run to the next; a path
into that folder is shown as ``./``. The exit code does not matter (a critical sample
exits 1).

Run from anywhere, with value-diag installed::

    python docs/make_samples.py           # rewrites the samples in README.md
    python docs/make_samples.py --check   # exits 1 if one of them is not what the tool prints
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.text import Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too

from docs.make_pictures import (
    DROPPED_VARS,
    ROOT,
    console_script,
    run_on_terminal,
)

README: Final = ROOT / "README.md"
SAMPLE_LOGS: Final = ROOT / "sample_logs"
MARKER: Final = re.compile(
    r"<!-- sample: (?P<spec>.*?) -->\n```(?P<lang>[^\n]*)\n(?P<body>.*?)```", re.S
)
AGE_S: Final = 3 * 3600
"""How long ago the copied sample logs were last written: ages read "3h00m" for a minute."""
ROWS: Final = 30
TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class Sample:
    """A marker's command and options."""

    env: dict[str, str]
    args: list[str]
    prompt: bool = False
    pty: bool = False
    start: str | None = None
    keep: int | None = None
    also: str | None = None
    tail: int | None = None
    config: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Sample:
        command, _bar, options = spec.partition(" | ")
        words = shlex.split(command)
        env = {}
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            name, _eq, value = words.pop(0).partition("=")
            env[name] = value
        if not words or words[0] != "value-diag":
            raise ValueError(f"a sample's command runs value-diag: {spec}")
        opts = dict(o.partition("=")[::2] for o in shlex.split(options))
        return cls(
            env=env,
            args=words[1:],
            prompt="prompt" in opts,
            pty="pty" in opts,
            start=opts.get("from") or None,
            keep=int(opts["keep"]) if opts.get("keep") else None,
            also=opts.get("also") or None,
            tail=int(opts["tail"]) if opts.get("tail") else None,
            config=opts["config"].replace(";", "\n") if opts.get("config") else None,
        )

    @property
    def typed(self) -> str:
        """The command as a person types it."""
        env = [f"{k}={v}" for k, v in self.env.items()]
        return shlex.join([*env, "value-diag", *self.args]).replace("'", "")


def output(sample: Sample) -> str:
    """What the command prints, in a fresh folder of sample logs written AGE_S ago."""
    with tempfile.TemporaryDirectory(prefix="value-diag-samples-") as tmp:
        cwd = Path(tmp)
        logs = cwd / "sample_logs"
        shutil.copytree(SAMPLE_LOGS, logs, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        then = time.time() - AGE_S
        for path in logs.rglob("*"):
            os.utime(path, (then, then))
        if sample.config is not None:
            (cwd / "value-diag.toml").write_text(sample.config + "\n", encoding="utf-8")
        columns = int(sample.env.get("COLUMNS", "80"))
        if sample.pty:
            ansi = run_on_terminal(
                [*console_script(), *sample.args], cwd, columns, ROWS, check=False
            )
            return _relative(Text.from_ansi(ansi).plain, cwd)
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARS}
        env.update(LANG="C.UTF-8", **sample.env)
        proc = subprocess.run(
            [*console_script(), *sample.args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{sample.typed} exited {proc.returncode}: {proc.stderr!r}")
        return _relative(proc.stdout.decode("utf-8"), cwd)


def _relative(text: str, cwd: Path) -> str:
    """Output with the temporary folder's paths as a reader in it would see them ("./")."""
    return text.replace(f"{cwd}{os.sep}", f".{os.sep}")


def block(sample: Sample) -> str:
    """The sample's block body: its output cut as its options say."""
    lines = [line.rstrip() for line in output(sample).rstrip("\n").split("\n")]
    if sample.start is not None:
        lines = lines[next(i for i, line in enumerate(lines) if sample.start in line) :]
    if sample.keep is not None and len(lines) > sample.keep:
        rest = lines[sample.keep :]
        lines = [*lines[: sample.keep], "..."]
        if sample.also is not None:
            lines += [line for line in rest if sample.also in line]
        if sample.tail is not None:
            lines += rest[-sample.tail :]
    if sample.prompt:
        lines.insert(0, f"$ {sample.typed}")
    return "\n".join(lines) + "\n"


def regenerate(text: str) -> str:
    """README text with every sample block as the tool prints it now."""

    def redo(match: re.Match[str]) -> str:
        body = block(Sample.parse(match["spec"]))
        return f"<!-- sample: {match['spec']} -->\n```{match['lang']}\n{body}```"

    return MARKER.sub(redo, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    options = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = regenerate(text)
    if options.check:
        if new != text:
            print("README.md: a sample is not what the tool prints; run docs/make_samples.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    print(f"{README}: {len(MARKER.findall(text))} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
