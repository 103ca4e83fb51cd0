"""Choices the command line offers, shared by the commands and the renderers."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final


class Format(StrEnum):
    """What a frame is printed as."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    MARKDOWN = "markdown"


class ColorMode(StrEnum):
    """When to colour: on a terminal only, always, or never."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


HISTORY_LEN = 60
"""Value records kept for --trend by default."""
MAX_WARMUP: Final = 1_000_000
"""Most updates --warmup may hold a gate back for."""
MAX_PERSIST: Final = 50
"""Most updates in a row --persist may ask for: each run keeps that many for the gate."""
CHART_UPDATES: Final = 10_000
"""Updates of each run read for its charts (`once --chart`, `report`): the newest, when a
run has more. About 0.7 KB each while a file is read, then sampled to MAX_POINTS."""
KEPT_UPDATES: Final = MAX_PERSIST
"""Value records each run keeps (FoldState.recent) for --fail-on's gate: its persistence,
and its warm-up's end while a run has made no more than these."""


DURATION_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
"""The units a duration is written in (a bare number is seconds)."""
_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", re.IGNORECASE)


def parse_duration(text: str) -> float | None:
    """Seconds in "90s", "10m", "2h", "1.5d" or "45"; None for anything else (or zero)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    seconds = float(match[1]) * DURATION_UNITS[match[2].lower() or "s"]
    return seconds if seconds > 0 else None
