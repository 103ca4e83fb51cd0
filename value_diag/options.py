"""Choices the command line offers, shared by the commands and the renderers."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


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
