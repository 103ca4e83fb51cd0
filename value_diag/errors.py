"""Errors that end a command with one line on stderr and exit code 2."""

from __future__ import annotations


class ReadError(Exception):
    """The input cannot be read; the message names it and says why."""
