"""`betex replay` (not built yet)."""

from __future__ import annotations

import typer

from betex.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def _cmd() -> None:
        """Not built yet."""
        fail("betex replay is not built yet")
