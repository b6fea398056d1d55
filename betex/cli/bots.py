"""`betex bots` (not built yet)."""

from __future__ import annotations

import typer

from betex.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("bots")
    def _cmd() -> None:
        """Not built yet."""
        fail("betex bots is not built yet")
