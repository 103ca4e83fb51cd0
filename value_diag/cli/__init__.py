"""The command line: ``main(argv, env)`` runs it against an Environment and returns the
exit code; usage errors are said one way (cli/wording.py).

cli/commands.py declares the commands, cli/options.py the options they share,
cli/help.py draws the help (and is the one module using Typer's internals), and
cli/running.py turns a command's failures into one line and an exit code.
"""

from __future__ import annotations

from value_diag.cli import wording
from value_diag.cli.commands import app
from value_diag.cli.help import ParserError, root_of
from value_diag.cli.options import UsageError
from value_diag.cli.running import CURRENT
from value_diag.environment import PROG, Environment

__all__ = ["USAGE_ERROR", "app", "main"]

USAGE_ERROR = 2
"""Exit code of a usage error (ExitCode.ERROR, without importing the health table)."""


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Runs the command line (``sys.argv[1:]`` by default) against ``env`` (the process's
    own by default); returns the process exit code.

    Every usage error, the parser's or a command's, is said the same way: the usage line
    of the command, then `value-diag: error: ...`, and exit code 2.
    """
    import sys

    if env is None:
        env = Environment.from_process()
    args = list(sys.argv[1:] if argv is None else argv)
    root = root_of(app)
    token = CURRENT.set(env)
    try:
        with env.bound():  # the parser writes its help to sys.stdout itself
            code = root.main(
                args=wording.bare_chart(wording.bare_poll(args)),
                prog_name=PROG,
                standalone_mode=False,
            )
    except ParserError as exc:
        if exc.ctx is not None and not args:  # no command at all: the whole help
            env.stderr.write(exc.ctx.get_help() + "\n")
            return USAGE_ERROR
        _refuse(env, wording.usage(root, exc, args), wording.message(exc, root, args))
        return USAGE_ERROR
    except UsageError as exc:
        _refuse(env, wording.usage(root, None, args), str(exc))
        return USAGE_ERROR
    finally:
        CURRENT.reset(token)
    return code if isinstance(code, int) else 0


def _refuse(env: Environment, usage: str, message: str) -> None:
    """A usage error: the usage line, then the error in value-diag's voice."""
    from value_diag.render.sanitize import clean

    env.stderr.write(usage + "\n")
    env.say(clean(message, limit=None), "error")
