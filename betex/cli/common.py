"""Shared CLI plumbing: exit codes (operations.md §4), data-dir option, one-line errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WAL_LOCKED = 3
EXIT_WAL_DAMAGED = 4
EXIT_UNREACHABLE = 5

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
