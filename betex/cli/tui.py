"""`betex tui`: the live trading terminal (logic in `betex.client.tui`)."""

from __future__ import annotations

from typing import Annotated

import typer

from betex.cli.examples import epilog

DEFAULT_TUI_URL = "ws://127.0.0.1:3000/ws_ctl?depth=10"
"""Equal to `betex.client.tui.config.DEFAULT_TUI_URL` (a test says so), repeated here so that
registering the command does not import the client package (aiohttp) or Textual."""
_BOTS = "Embedded bots (giving any count starts them once a market is selected)."


def register(app: typer.Typer) -> None:
    @app.command("tui", epilog=epilog("tui"))
    def _cmd(
        url: Annotated[
            str,
            typer.Option("--url", metavar="URL", help="Server control URL (ws://host:port/ws_ctl?depth=N)."),
        ] = (DEFAULT_TUI_URL),
        no_ack: Annotated[
            bool, typer.Option("--no-ack", help="Append no_ack=1: no per-command replies.")
        ] = False,
        high_throughput: Annotated[
            bool,
            typer.Option("--high-throughput", help="Faster bots (5000 cmd/s) and larger client buffers."),
        ] = False,
        bots: Annotated[
            int | None,
            typer.Option("--bots", min=0, metavar="N", help=f"Total bots, dealt over the kinds. {_BOTS}"),
        ] = None,
        mm_bots: Annotated[
            int | None, typer.Option("--mm-bots", min=0, metavar="N", help="Market makers.")
        ] = None,
        noise_bots: Annotated[
            int | None, typer.Option("--noise-bots", min=0, metavar="N", help="Noise traders.")
        ] = None,
        informed_bots: Annotated[
            int | None, typer.Option("--informed-bots", min=0, metavar="N", help="Informed traders.")
        ] = None,
        account: Annotated[
            int | None,
            typer.Option(
                "--account",
                min=1,
                metavar="ID",
                help="Account for manual orders (default 1; with --key the key's account).",
            ),
        ] = None,
        seed: Annotated[
            int, typer.Option("--seed", metavar="N", help="Seed for the bots' random choices.")
        ] = 1,
        token: Annotated[
            str | None,
            typer.Option(
                "--token",
                envvar="BETEX_ADMIN_TOKEN",
                metavar="TOKEN",
                help="Admin token for market commands.",
            ),
        ] = None,
        key: Annotated[
            str | None,
            typer.Option(
                "--key",
                envvar="BETEX_KEY",
                metavar="KEY",
                help="API key (serve --auth keys): manual orders trade as its account, which the server reports.",
            ),
        ] = None,
    ) -> None:
        """Live trading terminal: markets, ladder, trades, orders, bots, metrics and controls (? for keys)."""
        from betex.client.tui import BetexTui
        from betex.client.tui.config import config_from_flags

        cfg = config_from_flags(
            url,
            no_ack=no_ack,
            high_throughput=high_throughput,
            bots=bots,
            mm_bots=mm_bots,
            noise_bots=noise_bots,
            informed_bots=informed_bots,
            account_id=account,
            seed=seed,
            token=token,
            key=key,
        )
        BetexTui(cfg).run()
