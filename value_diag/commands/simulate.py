"""`value-diag simulate`: a synthetic run written to a file, and said on stderr as it goes."""

from __future__ import annotations

import time
from typing import Final

from value_diag.environment import Environment
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.producer import simulate
from value_diag.producer.simulate import Existing, SimOptions
from value_diag.render.sanitize import clean

COUNT_LIMIT: Final = 64 << 20
"""Bytes of a refused file whose lines are counted for the message; past this, its size."""


def run_simulate(
    path: str,
    options: SimOptions,
    existing: Existing,
    quiet: bool,
    env: Environment | None = None,
) -> ExitCode:
    """Writes the run to ``path``; says what, on stderr, before the first line and at the end.

    A paced run lasts a while (60 updates half a second apart: 30 s): the first line says
    so, and the last what the file holds, whether the run ended or Ctrl-C stopped it.
    ``env``: where that is said (the process's stderr by default).

    Raises:
        ReadError: ``path`` is not empty and ``existing`` is KEEP, or it cannot be written.
    """
    say = (env or Environment.of_process()).say
    name = clean(path, limit=None)
    updates = records = 0

    def batch(written: int) -> None:
        nonlocal updates, records
        updates += 1
        records = written
        if updates == 1 and not quiet:  # the file is open and the first update in it
            say(_opening(name, options, existing))

    started = time.monotonic()
    try:
        simulate.run(path, options, on_batch=batch, existing=existing)
    except simulate.NotEmpty as exc:
        raise ReadError(
            f"{name} already holds {_amount(path, exc.size)}: add --force to overwrite it,"
            " or --append to write after it"
        ) from None
    except OSError as exc:
        raise ReadError(f"cannot write {name}: {exc.strerror or type(exc).__name__}") from None
    except KeyboardInterrupt:
        if not quiet:
            say(f"stopped after {updates} of {options.updates} updates: {_held(name, records)}")
        return ExitCode.OK
    if not quiet:
        say(f"done in {time.monotonic() - started:.1f} s: {_held(name, records)}")
    return ExitCode.OK


def _opening(name: str, options: SimOptions, existing: Existing) -> str:
    run = f"a simulated {options.scenario} run"
    what = {
        Existing.KEEP: f"writing {run} to {name}",
        Existing.OVERWRITE: f"overwriting {name} with {run}",
        Existing.APPEND: f"appending {run} to {name}",
    }[existing]
    if options.interval > 0:
        total = options.interval * (options.updates - 1)
        pace = f"one every {options.interval:g} s, about {_duration(total)}; Ctrl-C stops it"
    else:
        pace = "as fast as they can be written"
    return f"{what}: {options.updates} updates, {pace}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _held(name: str, records: int) -> str:
    return f"{records} record{'s' * (records != 1)} written to {name}"


def _amount(path: str, size: int) -> str:
    """What a file holds, as its owner counts it: lines, or its size when it is large."""
    if size > COUNT_LIMIT:
        return f"{size / (1 << 20):.0f} MiB"
    try:
        with open(path, "rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return f"{size} bytes"
    return f"{lines} line{'s' * (lines != 1)}" if lines else f"{size} bytes"
