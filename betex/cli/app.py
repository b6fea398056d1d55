"""The `betex` command: one Typer app, one module per command group."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from betex import __version__, build_label

app = typer.Typer(
    name="betex",
    help="betex — a betting-exchange toolkit: engine, WAL, projection, server, TUI and bots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_DEBUG = False


def _version(value: bool) -> None:
    if value:
        print(f"betex {__version__} ({build_label()} domain)")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
) -> None:
    global _DEBUG
    _DEBUG = debug


def _register() -> None:
    from betex.cli import bots, projection, replay, serve, snapshot, tui, wal

    for module in (serve, wal, replay, snapshot, projection, bots, tui):
        module.register(app)


_register()


def main() -> None:
    """Console entry point: unexpected errors become one line and exit 1 unless --debug."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # `betex wal inspect | head`: the reader left; leave quietly (as the Python docs advise,
        # point stdout at devnull so the interpreter's final flush does not raise again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence, re-raised with --debug
        if _DEBUG or "--debug" in sys.argv:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
