"""`betex serve`: parse flags into a `ServerConfig` and hand over to `betex.server.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from betex.cli.common import DataDirOption, default_data_dir
from betex.core.domain.money import cents_from_wire
from betex.core.errors import UsageError
from betex.server.config import WAIT_STRATEGIES, ServerConfig


def _stake(flag: str, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} must be an amount like 1.00 (got {text!r})") from None
    cents = cents_from_wire(value)
    if cents is None:
        raise UsageError(f"{flag} must be a positive amount with at most 2 decimals (got {text!r})")
    return cents


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def _cmd(
        host: Annotated[
            str, typer.Option(help="Interface to listen on (loopback by default).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port (0 picks a free one and prints it).")] = 3000,
        data_dir: DataDirOption = default_data_dir(),
        ring_size: Annotated[int, typer.Option(help="Ingress ring slots; a power of two.")] = 16384,
        wait_strategy: Annotated[
            str, typer.Option(help=f"Engine wait strategy: {', '.join(WAIT_STRATEGIES)}.")
        ] = "blocking-wait",
        max_batch: Annotated[int, typer.Option(help="Most commands the engine drains per batch.")] = 4096,
        durability: Annotated[
            str, typer.Option(help="sync (fsync per commit) or async (no fsync).")
        ] = "sync",
        snapshot_every: Annotated[
            int, typer.Option(help="Write an engine snapshot every N events.")
        ] = 1_000_000,
        snapshot_interval_ms: Annotated[
            int, typer.Option(help="How often changed markets are pushed to WebSocket subscribers.")
        ] = 200,
        admin_token: Annotated[
            str | None, typer.Option(help="Require this bearer token for market admin commands.")
        ] = None,
        min_stake: Annotated[str, typer.Option(help="Smallest accepted stake.")] = "1.00",
        max_stake: Annotated[str, typer.Option(help="Largest accepted stake.")] = "1000000.00",
        log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    ) -> None:
        """Run the engine, WAL and projection behind the HTTP + WebSocket API."""
        from betex.server.run import run  # deferred: aiohttp/uvloop load only for `serve`

        config = ServerConfig(
            host=host,
            port=port,
            data_dir=Path(data_dir),
            ring_size=ring_size,
            wait_strategy=wait_strategy,
            max_batch=max_batch,
            durability=durability,
            snapshot_every=snapshot_every,
            snapshot_interval_ms=snapshot_interval_ms,
            admin_token=admin_token,
            min_stake=_stake("--min-stake", min_stake),
            max_stake=_stake("--max-stake", max_stake),
            log_level=log_level.lower(),
        ).validate()
        # ConfigError (exit 2), WalLocked (3), DataDamaged (4), ... rise to `betex.cli.common`
        code = run(config)
        raise typer.Exit(code)
