"""Bad-argument messages in plain words, not in the wording of the validation library.

Typer validates option values with pydantic and passes its message through (`Input should be
a valid integer, unable to parse string as an integer`, `Value error, 'football' is not one of
…`). `PlainErrorsGroup`, the root command's class, rewrites a `BadParameter` on its way out from
the structured error pydantic attached, so every command says `--limit must be a whole number
(got 'abc')` without each one repeating a check. Exit status stays 2 (usage).
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

_NOT_ONE_OF = re.compile(r"^(?:Value error, )?(?P<value>.+?) is not one of (?P<choices>.+?)\.?$")


def plain_message(error: dict[str, Any]) -> str | None:
    """One pydantic error (`ValidationError.errors()[0]`) as plain words; None if not ours to say."""
    kind = error.get("type", "")
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"must be a whole number (got {got!r})"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"must be a number (got {got!r})"
    if kind == "bool_parsing":
        return f"must be true or false (got {got!r})"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)} (got {got})"
    match = _NOT_ONE_OF.match(str(error.get("msg", "")))
    if match:
        choices = match["choices"].replace("'", "")
        return f"must be one of {choices} (got {match['value']})"
    return None


def rewrite(exc: click.exceptions.BadParameter) -> None:
    """Replace `exc`'s message in place when its cause is a pydantic error we can say plainly."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return
    try:
        first = errors()[0]
    except (IndexError, TypeError):
        return
    plain = plain_message(first)
    if plain is not None:
        exc.message = plain


class PlainErrorsGroup(TyperGroup):
    """The root `betex` group: a usage error of any subcommand leaves as one plain line on stderr
    (operations.md §4: errors are one line), naming where the help is, with exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:
            if isinstance(exc, click.exceptions.BadParameter):
                rewrite(exc)
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr, flush=True)
            raise typer.Exit(2) from None


class WordsCommand(TyperCommand):
    """A command with positional arguments shown as words: `betex wal backup [OPTIONS] DEST`,
    `DEST  New data dir …`, where Typer would print `{DEST}` and `DEST <path>`."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [piece.replace("{", "").replace("}", "") for piece in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((param.metavar or (param.name or "").upper(), record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
