"""`betex market create|list|state|go-live|close|settle|void|remove-runner`: market admin from
the shell, over the protocol (logic in `betex.client.shell`)."""

from __future__ import annotations

from typing import Annotated

import typer

from betex.cli.common import JsonOption
from betex.cli.examples import epilog
from betex.cli.plain import WordsCommand
from betex.cli.remote import DEFAULT_URL, AdminOption, KeyOption, UrlOption, run, show, target
from betex.core.errors import UsageError

MarketArg = Annotated[int, typer.Argument(metavar="MARKET_ID", help="The market.")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Create, list and run markets on a running server (admin commands need --admin-token).",
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=epilog("market"),
    )
    app.add_typer(group, name="market")

    @group.command("create", epilog=epilog("market create"))
    def _create(
        preset: Annotated[
            str | None, typer.Option("--preset", metavar="NAME", help="soccer, tennis or binary.")
        ] = None,
        name: Annotated[str | None, typer.Option("--name", metavar="NAME", help="Market name.")] = None,
        model: Annotated[
            str | None, typer.Option("--model", metavar="MODEL", help="EXCHANGE_ODDS or BINARY_YES.")
        ] = None,
        book_type: Annotated[
            str | None, typer.Option("--book-type", metavar="TYPE", help="Book type (odds markets).")
        ] = None,
        kind: Annotated[
            str | None, typer.Option("--kind", metavar="KIND", help="PRE_ONLY or IN_PLAY_CAPABLE.")
        ] = None,
        runner: Annotated[
            list[str] | None,
            typer.Option("--runner", metavar="ID:LABEL", help="A runner (repeat), e.g. 1:Home."),
        ] = None,
        bet_delay_ms: Annotated[
            int,
            typer.Option(
                "--bet-delay-ms",
                metavar="MS",
                min=0,
                max=60_000,
                help="In-play bet delay: placements wait this long before entering the book.",
            ),
        ] = 0,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Create a market from a preset (the TUI's and bots') or from a model and runners."""
        from betex.client import shell

        try:
            spec = shell.create_spec(preset, name, model, book_type, kind, runner or [], bet_delay_ms)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        show(run(shell.market_create(target(url, key, admin_token), spec), json_out), json_out)

    @group.command("list", epilog=epilog("market list"))
    def _list(url: UrlOption = DEFAULT_URL, key: KeyOption = None, json_out: JsonOption = False) -> None:
        """List every market: id, name, state, phase, volume."""
        from betex.client import shell

        rows = run(shell.market_list(target(url, key, None)), json_out)
        cols = ("market_id", "name", "market_model", "market_state", "market_phase", "total_matched")
        show([{c: r.get(c) for c in cols} for r in rows] if not json_out else rows, json_out)

    @group.command("state", cls=WordsCommand, epilog=epilog("market state"))
    def _state(
        market_id: MarketArg,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """One market's state, phase, version and runners (exit 6 if unknown)."""
        from betex.client import shell

        show(run(shell.market_state(target(url, key, None), market_id), json_out), json_out)

    def _admin(command: str, kind: str, summary: str) -> None:
        @group.command(command, cls=WordsCommand, epilog=epilog(f"market {command}"), help=summary)
        def _cmd(
            market_id: MarketArg,
            url: UrlOption = DEFAULT_URL,
            key: KeyOption = None,
            admin_token: AdminOption = None,
            json_out: JsonOption = False,
        ) -> None:
            from betex.client import shell

            t = target(url, key, admin_token)
            coro = (
                shell.market_go_live(t, market_id) if kind == "" else shell.market_command(t, kind, market_id)
            )
            show(run(coro, json_out), json_out)

    _admin("go-live", "", "Turn a market in play (AWAIT_LIVE_MARKET, then GO_LIVE_MARKET).")
    _admin("close", "CLOSE_MARKET", "Close a market: trading stops, unmatched orders are cancelled.")
    _admin("void", "VOID_MARKET", "Void a market: every trade is voided, P&L 0.")

    @group.command("settle", cls=WordsCommand, epilog=epilog("market settle"))
    def _settle(
        market_id: MarketArg,
        winner: Annotated[
            list[int],
            typer.Option("--winner", metavar="RUNNER", help="A winning runner (repeat: dead heat)."),
        ],
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Settle a closed market with its winner(s)."""
        from betex.client import shell

        coro = shell.market_command(
            target(url, key, admin_token), "SETTLE_MARKET", market_id, winner_runner_ids=winner
        )
        show(run(coro, json_out), json_out)

    @group.command("remove-runner", cls=WordsCommand, epilog=epilog("market remove-runner"))
    def _remove_runner(
        market_id: MarketArg,
        runner: Annotated[int, typer.Option("--runner", metavar="RUNNER", help="The runner to remove.")],
        factor: Annotated[
            float,
            typer.Option(
                "--factor",
                metavar="PERCENT",
                help="Reduction factor in percent, 0 to 100 with at most 2 decimals (e.g. 12.5).",
            ),
        ],
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Remove a runner (a non-runner, REMOVE_RUNNER).

        Every unmatched order in the market is cancelled, matched bets on the runner are voided and the other runners' matched prices are reduced by the factor (price × (1 − factor/100), at least 1.01). Prints the market's new version. A reject (a BINARY_YES market, fewer than three active runners, an unknown runner, a bad factor) exits 6 with its code.
        """
        from betex.client import shell

        coro = shell.market_command(
            target(url, key, admin_token),
            "REMOVE_RUNNER",
            market_id,
            runner_id=runner,
            reduction_factor=factor,
        )
        show(run(coro, json_out), json_out)
