"""`betex snapshot` command group (not built yet)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="snapshot commands (not built yet).", no_args_is_help=True)
    app.add_typer(group, name="snapshot")
