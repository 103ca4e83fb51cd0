"""Help that reads like git's or ruff's, and the one home of Typer's internals.

Typer's public API declares commands; drawing their help our way takes its vendored
click (``typer._click``) and ``typer.core``, and reading option values without building a
Pydantic validator for each takes ``typer._coercion``: none carries a stability promise.
They are imported here and nowhere else: the parser's classes the other modules need are named
below, so that a Typer release that moves them breaks this file only (and pyproject.toml
bounds typer to the majors tested; tests/test_cli_typer.py fails on any other).
"""

from __future__ import annotations

import difflib
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import typer
from typer._click import Command as ClickCommand
from typer._click import HelpFormatter
from typer._click.exceptions import BadOptionUsage, BadParameter, MissingParameter, NoSuchOption
from typer._click.exceptions import UsageError as ParserError
from typer._coercion import RuntimeParam
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption, _TyperParameter

if TYPE_CHECKING:
    from typer._click import Context as ClickContext
    from typer._click import Parameter

TYPER_TESTED: Final = ("0.29",)
"""The Typer series this module was tested with (a 0.x minor is a major: it may break
what is used here). pyproject.toml's bound says the same; tests/test_cli_typer.py fails
when another is installed, so that a new one is looked at before it is allowed."""

__all__ = [
    "TYPER_TESTED",
    "BadOptionUsage",
    "Command",
    "Context",
    "Group",
    "MissingParameter",
    "NoSuchOption",
    "ParserError",
    "TyperArgument",
    "TyperOption",
    "label",
    "root_of",
]


class _Formatter(HelpFormatter):
    """Help wrapped at spaces only, so `value-diag` and `esper-lite` are never split."""

    def write_text(self, text: str) -> None:
        """Paragraphs filled to the width; a paragraph opening with \\b is kept as written."""
        indent = " " * self.current_indent
        for paragraph in text.split("\n\n"):
            if paragraph.startswith("\b"):
                lines = paragraph.splitlines()[1:]
                self.write("".join(f"{indent}{line}\n" for line in lines))
            else:
                self.write("\n".join(_wrap(paragraph, self.width, indent)) + "\n")
            self.write("\n")
        if self.buffer and self.buffer[-1] == "\n":
            self.buffer.pop()

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        """Two columns; a term too long for the first puts its text on the next line."""
        first = min(max((len(term) for term, _ in rows), default=0), col_max) + col_spacing
        pad = " " * (self.current_indent + first)
        width = max(self.width - self.current_indent - first, 20)
        for term, text in rows:
            self.write(" " * self.current_indent + term)
            lines = [line.replace(NBSP, " ") for line in _wrap(text, width)]
            if not lines:
                self.write("\n")
                continue
            self.write(" " * (first - len(term)) if len(term) < first else "\n" + pad)
            self.write(f"\n{pad}".join(lines) + "\n")


NBSP = "\xa0"
"""Joins words the help keeps on one line ("[default: 60]"); a space once wrapped."""


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(
        re.sub(r"[ \t\n]+", " ", text),
        width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


class Context(typer.Context):
    """A context whose help is drawn by ``_Formatter``."""

    formatter_class = _Formatter


def label(param: Parameter) -> str:
    """An argument as the usage line names it: PATH..., OUT, [FILE]."""
    name = param.metavar or (param.name or "").upper()
    name += "..." if param.nargs == -1 else ""
    return name if param.required else f"[{name}]"


def _rows(params: list[Parameter]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(arguments, options) as help rows: names and metavar, then the help and its default."""
    args: list[tuple[str, str]] = []
    opts: list[tuple[str, str]] = []
    for p in params:
        if isinstance(p, TyperArgument) and not p.hidden:
            args.append((label(p).strip("[]"), p.help or ""))
        elif isinstance(p, TyperOption) and not p.hidden:
            names = ", ".join(sorted(p.opts, key=lambda o: o.startswith("--")))
            term = names if p.is_flag else f"{names} {p.metavar or 'VALUE'}"
            text = p.help or ""
            if p.show_default is not False and not p.is_flag and p.default is not None:
                text += f"  [default:{NBSP}{p.default}]"
            opts.append((term, text))
    return args, opts


def _format_params(params: list[Parameter], formatter: HelpFormatter) -> None:
    args, opts = _rows(params)
    for title, rows in (("Arguments", args), ("Options", opts)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


KEYS: Final = "{keys}"
"""Where an epilog says the live view's keys: filled from tui/bindings.py's table when the
help is shown, so that a command that shows none does not load it."""


def _format_epilog(epilog: str | None, formatter: HelpFormatter) -> None:
    """The epilog as written, unindented: its headings line up with Options and Commands."""
    if epilog:
        if KEYS in epilog:
            from value_diag.tui.bindings import sentence

            epilog = epilog.replace(KEYS, sentence())
        formatter.write_paragraph()
        formatter.write_text(textwrap.dedent(epilog).strip("\n"))


_WHOLE: Final = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMBER: Final = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", re.ASCII)


@dataclass(frozen=True)
class _Plain(RuntimeParam):
    """Typer's coercion of a value for the types value-diag's parameters have (a flag, text,
    a list of texts, a whole number or a number within the declared bounds), without building a
    Pydantic validator for each (about 40 % of a command's start-up). Numbers are written
    in ASCII digits and are finite; the parser's error names the option and its bounds
    (cli/wording.py)."""

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: ClickContext) -> Any:
        kind = self.annotation
        if kind is bool and not isinstance(value, bool):
            raise BadParameter(f"{value!r} is not a flag's value", ctx=ctx, param=param)
        number = _read(value, kind) if isinstance(value, str) and kind in (int, float) else value
        if number is None:
            raise BadParameter(f"{value!r} is not {_kind(kind)}", ctx=ctx, param=param)
        if isinstance(number, tuple):
            return list(number)
        info = self.parameter_info
        if isinstance(number, float) and not math.isfinite(number):
            raise BadParameter(f"{value!r} is not finite", ctx=ctx, param=param)
        if (info.min is not None and number < info.min) or (
            info.max is not None and number > info.max
        ):
            raise BadParameter(f"{value!r} is out of bounds", ctx=ctx, param=param)
        return number

    @classmethod
    def of(cls, param: Parameter) -> _Plain | None:
        """The plain coercion of ``param``, or None for a type it does not know."""
        if not isinstance(param, _TyperParameter):
            return None
        found = param.type_descriptor
        plain = found.annotation in (bool, str, int, float) or found.annotation == list[str]
        if not plain or found.is_choice or found.is_file or found.parameter_info.parser:
            return None
        return cls(parameter_info=found.parameter_info, annotation=found.annotation)


def _read(text: str, kind: type[int] | type[float]) -> int | float | None:
    """The number ``text`` writes, or None (Python reads no more than 4,300 digits)."""
    if not (_WHOLE if kind is int else _NUMBER).fullmatch(text):
        return None
    try:
        return kind(text)
    except ValueError:
        return None


def _kind(annotation: Any) -> str:
    return "a whole number" if annotation is int else "a number"


def _plainly(params: list[Parameter]) -> None:
    """Gives each of ``params`` whose type is plain the coercion of ``_Plain``."""
    for param in params:
        plain = _Plain.of(param)
        if plain is not None:
            assert isinstance(param, _TyperParameter)
            param._runtime_param = plain


class _Plainly(ClickCommand):
    """A command whose parameters, --help included, take the plain coercion."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plainly(self.params)

    def get_help_option(self, ctx: ClickContext) -> TyperOption | None:
        option = super().get_help_option(ctx)
        _plainly([] if option is None else [option])
        return option


class Command(_Plainly, TyperCommand):
    """A command whose usage says PATH... and whose options carry no type labels."""

    context_class = Context

    def collect_usage_pieces(self, ctx: ClickContext) -> list[str]:
        return ["[OPTIONS]", *(label(p) for p in self.params if isinstance(p, TyperArgument))]

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_params(self.get_params(ctx), formatter)

    def format_epilog(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_epilog(self.epilog, formatter)


class Group(_Plainly, TyperGroup):
    """The top level: every command's whole first line, and a plain "no such command"."""

    context_class = Context

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_params(self.get_params(ctx), formatter)
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name, cmd in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        _format_epilog(self.epilog, formatter)

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        name = args[0]
        if name not in self.commands and not name.startswith("-"):
            close = difflib.get_close_matches(name, list(self.commands), n=1)
            hint = f"did you mean {close[0]}?" if close else f"one of {', '.join(self.commands)}"
            ctx.fail(f"no such command {name!r} ({hint})")
        return super().resolve_command(ctx, args)


def root_of(app: typer.Typer) -> Group:
    """The parser of ``app`` (a Typer made with ``cls=Group``)."""
    root = typer.main.get_command(app)
    assert isinstance(root, Group)
    return root
