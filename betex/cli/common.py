"""Shared CLI plumbing: exit codes (operations.md §4), data-dir option, one-line errors.

Commands do not catch exceptions to pick an exit status: they let them rise, and `BetexGroup`
(the root command's class) maps them here, in one place, by their branch of the tree in
`betex.core.errors`. An error is one line on stderr; `--debug` re-raises it with its traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from betex.core.errors import (
    BetexError,
    DataDamaged,
    Rejected,
    Unreachable,
    UsageError,
    WalError,
    WalLocked,
    WalNotFound,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WAL_LOCKED = 3
EXIT_WAL_DAMAGED = 4
EXIT_UNREACHABLE = 5
EXIT_REJECTED = 6

EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (WalLocked, EXIT_WAL_LOCKED),
    (DataDamaged, EXIT_WAL_DAMAGED),
    (Unreachable, EXIT_UNREACHABLE),
    (Rejected, EXIT_REJECTED),
    (UsageError, EXIT_USAGE),
    (BetexError, EXIT_ERROR),
)
"""Branch of the exception tree → exit status; the first match wins (most specific first).
Anything outside the tree is a bug: exit 1, with its type name in the message."""

DEFAULT_DATA_DIR = "./betex-data"


def default_data_dir() -> Path:
    return Path(os.environ.get("BETEX_DATA_DIR", DEFAULT_DATA_DIR))


DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="BETEX_DATA_DIR",
        metavar="DIR",
        help="Data directory holding wal/, snapshots/ and projection.snap.",
        show_default=True,
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One line on stderr, then exit with `code` (no traceback unless --debug)."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def exit_code(exc: BaseException) -> int:
    """The exit status for `exc` (operations.md §4)."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            if cls is Rejected and getattr(exc, "code", None) is None:
                continue  # no reject code: an unexpected reply, not a typed reject
            return code
    return EXIT_ERROR


def error_line(exc: BaseException) -> str:
    """The one line an operator reads for `exc` (without the ``error: `` prefix)."""
    if isinstance(exc, DataDamaged):
        what = "WAL" if isinstance(exc, WalError) else "data"
        return f"{what} damaged: {exc}"
    if isinstance(exc, WalNotFound):
        return f"{exc} (is --data-dir right?)"
    if isinstance(exc, BetexError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def debug_requested(ctx: Any = None) -> bool:
    """True when the root command got ``--debug`` (or it is anywhere on the command line)."""
    return bool(ctx is not None and ctx.find_root().params.get("debug")) or "--debug" in sys.argv


def report(exc: BaseException) -> int:
    """Print `exc` as one line on stderr; its exit status."""
    print(f"error: {error_line(exc)}", file=sys.stderr, flush=True)
    return exit_code(exc)


class BetexGroup(TyperGroup):
    """The root command: every subcommand runs inside its `invoke`, so this is where exceptions
    become exit statuses (click's own usage errors and exits pass through untouched)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context (a private module)
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:
            raise  # `| head`: the entry point leaves quietly
        except Exception as exc:
            if debug_requested(ctx):
                raise
            raise typer.Exit(report(exc)) from None
