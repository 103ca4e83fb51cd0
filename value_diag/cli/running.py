"""Running a command's body against the Environment of the command line, and every
expected failure said as one line with its exit code, in one place."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, NoReturn

import typer

from value_diag import startup
from value_diag.environment import Environment

if TYPE_CHECKING:
    from value_diag.exitcodes import ExitCode

CURRENT: ContextVar[Environment] = ContextVar("CURRENT")
"""The Environment of the command line being run (set by ``cli.main`` around the parser,
which calls the commands with their options only)."""


def current() -> Environment:
    """The Environment of the command line being run (the process's, when the parser is
    called other than through ``cli.main``)."""
    env = CURRENT.get(None)
    return env if env is not None else Environment.of_process()


def run(command: Callable[[Environment], ExitCode]) -> NoReturn:
    """Runs a command body and exits with its code; expected failures become one line.

    Start-up ends here: the collector, paused by the console script, is on for the body.
    """
    startup.resume()
    from value_diag.config import ConfigError
    from value_diag.errors import ReadError
    from value_diag.exitcodes import ExitCode
    from value_diag.render.sanitize import clean

    env = current()
    try:
        code = command(env)
        env.stdout.flush()
    except (ReadError, ConfigError) as exc:
        # Not cut to a length: the reason comes last, after a path of any length.
        env.say(clean(str(exc), limit=None), "error")
        code = ExitCode.ERROR
    except BrokenPipeError:  # stdout's reader left (stderr cannot raise: see streams.py)
        from value_diag.render.terminal import silence_stdout

        silence_stdout()
        code = ExitCode.OK
    except OSError as exc:  # a file error with no message of ours: say which file, and why
        # Files are read and exports written with their own messages: what is left is stdout.
        where = exc.filename or "<stdout>"
        reason = exc.strerror or str(exc)
        env.say(clean(f"cannot write {where}: {reason}", limit=None), "error")
        code = ExitCode.ERROR
    except MemoryError:  # each line is bounded; this is a machine already out of memory
        env.say("out of memory", "error")
        code = ExitCode.ERROR
    raise typer.Exit(int(code))
