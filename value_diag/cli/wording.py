"""Usage errors in value-diag's words: the parser's English read and said again, and
watch's ``--poll`` without SECONDS and once's ``--chart`` without METRIC given their
defaults before the parser sees them.

Every usage error, the parser's or a command's, is said one way: the usage line of the
command it is about, then ``value-diag: error: ...``.
"""

from __future__ import annotations

import os
import re

from value_diag.cli.help import (
    BadOptionUsage,
    Context,
    Group,
    MissingParameter,
    NoSuchOption,
    ParserError,
    TyperOption,
    label,
)
from value_diag.cli.options import DEFAULT_POLL_S, UsageError
from value_diag.environment import PROG


def command_name(args: list[str]) -> str | None:
    """The command in a command line: its first word that is not an option."""
    end = args.index("--") if "--" in args else len(args)
    return next((a for a in args[:end] if not a.startswith("-")), None)


def bare_chart(args: list[str]) -> list[str]:
    """Gives once's `--chart` written without METRIC the value "all" (click has no optional
    values): the word after --chart is METRIC only when it names a chart, so that
    `once --chart run.jsonl` charts every metric of run.jsonl. `--chart=METRIC` always names
    one (and an unknown name is refused then)."""
    if command_name(args) != "once" or "--chart" not in args:
        return args
    from value_diag.render.chartview import ALL, names_a_chart

    out = list(args)
    end = out.index("--") if "--" in out else len(out)
    for i in reversed(range(end)):
        if out[i] != "--chart":
            continue
        after = out[i + 1] if i + 1 < end else None
        if after is None or not names_a_chart(after):
            out.insert(i + 1, ALL)
    return out


def bare_poll(args: list[str]) -> list[str]:
    """Gives watch's `--poll` written without SECONDS its default (click has no optional values).

    The word after --poll is SECONDS if it is a number, and a file if it names one that
    exists (or is - or an option); anything else is refused rather than followed as a
    file that may appear one day (`--poll 0,5`, `--poll abc`).
    """
    if command_name(args) != "watch":
        return args
    out = list(args)
    end = out.index("--") if "--" in out else len(out)
    for i in reversed(range(end)):
        if out[i] != "--poll":
            continue
        after = out[i + 1] if i + 1 < end else None
        if after is not None:
            try:
                float(after)
                continue
            except ValueError:
                pass
        if after is None or after.startswith("-") or os.path.lexists(after):
            out.insert(i + 1, str(DEFAULT_POLL_S))
        elif re.fullmatch(r"[\d.,eE+-]*\d[\d.,eE+-]*", after):
            raise UsageError(f"--poll takes SECONDS as a number such as 0.5, not {after!r}")
        else:
            raise UsageError(
                f"--poll {after!r}: not a number of seconds, nor an existing file (to wait"
                f" for a file not there yet, give SECONDS: --poll {DEFAULT_POLL_S} {after})"
            )
    return out


def _given(args: list[str], names: list[str]) -> str | None:
    """The value last given to an option on the command line, as typed."""
    value = None
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            value = args[i + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
    return value


def message(exc: ParserError, root: Group, args: list[str]) -> str:
    """A usage error of the parser, in value-diag's words."""
    here = exc.ctx.command.name if exc.ctx is not None else command_name(args)
    if isinstance(exc, NoSuchOption):
        opt = exc.option_name
        owners = [
            name
            for name, cmd in root.commands.items()
            if name != here and any(opt in p.opts for p in cmd.params)
        ]
        if owners and here in root.commands:
            return f"{opt} is an option of {' and '.join(owners)}, not of {here}"
        close = f" (did you mean {exc.possibilities[0]}?)" if exc.possibilities else ""
        return f"no such option {opt}{close}"
    if isinstance(exc, BadOptionUsage):
        verb = "needs a value" if "requires" in exc.message else "takes no value"
        return f"{exc.option_name} {verb}"
    param = getattr(exc, "param", None)
    if isinstance(exc, MissingParameter) and param is not None:
        return f"missing {label(param).strip('[]').removesuffix('...')}"
    if isinstance(param, TyperOption):
        opt = max(param.opts, key=len)
        given = _given(args, param.opts)
        said = f", not {given!r}" if given is not None else ""
        bounds = [x for x in (param.min, param.max) if x is not None]
        if bounds:
            kind = "a number" if isinstance(bounds[0], float) else "a whole number"
            lo, hi = (f"{x:g}" if isinstance(x, float) else str(x) for x in (param.min, param.max))
            if param.max is None:
                return f"{opt} must be {kind} of at least {lo}{said}"
            if param.min is None:
                return f"{opt} must be {kind} of at most {hi}{said}"
            return f"{opt} must be {kind} from {lo} to {hi}{said}"
        return f"invalid value for {opt}{said}: {exc.message}"
    extra = re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", exc.message)
    if extra:
        return f"unexpected argument{'s' * (' ' in extra[1])}: {extra[1]}"
    return exc.message[:1].lower() + exc.message[1:].rstrip(".")


def usage(root: Group, exc: ParserError | None, args: list[str]) -> str:
    """The usage line of the command the error is about (of value-diag when it is unclear)."""
    ctx = exc.ctx if exc is not None else None
    if ctx is None:
        ctx = Context(root, info_name=PROG)
        name = command_name(args)
        if name is not None and name in root.commands:
            ctx = Context(root.commands[name], info_name=name, parent=ctx)
    return ctx.get_usage()
