"""The `betex` command: one Typer app, one module per command group.

Start-up budget (operations.md §6: `betex --help` ≤ 0.3 s): registering the commands imports only
Typer and the small `betex.cli.*` modules; each command imports the server, client, TUI, aiohttp,
Textual or rich inside its own body. `tests/cli/test_startup.py` checks it, `bench/cli.py` times it.
Help is Click's plain layout (`rich_markup_mode=None`): conventional, greppable, and no rich import.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from betex import __version__, build_label
from betex.cli.common import BetexGroup, debug_requested, report
from betex.cli.examples import epilog
from betex.cli.plain import PlainErrorsGroup


class RootGroup(PlainErrorsGroup, BetexGroup):
    """The root `betex` group: plain words for bad values, then one exception → exit-code map."""


app = typer.Typer(
    name="betex",
    cls=RootGroup,
    epilog=epilog(""),
    help="A betting-exchange toolkit: engine, WAL, projection, server, TUI and bots.\n\n"
    "Every command has --help and a man page (man/betex-COMMAND.1); commands that print data take --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=True,
)


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
    del debug  # read back by `BetexGroup` (betex.cli.common) from ctx.params when a command fails


def _register() -> None:
    from betex.cli import account, bots, market, order, projection, replay, serve, snapshot, tui, wal

    for module in (serve, wal, replay, snapshot, projection, market, order, account, bots, tui):
        module.register(app)


_register()


def main() -> None:
    """Console entry point. Commands' errors are mapped by `BetexGroup`; this catches what is
    raised outside any command (one line and exit 1 unless --debug)."""
    try:
        app(prog_name="betex")
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
        if debug_requested():
            raise
        sys.exit(report(exc))
