"""`betex order place|cancel|replace|list`: trading from the shell, over the protocol (logic in
`betex.client.shell`)."""

from __future__ import annotations

from typing import Annotated

import typer

from betex.cli.common import JsonOption
from betex.cli.examples import epilog
from betex.cli.remote import DEFAULT_URL, AccountOption, AdminOption, KeyOption, UrlOption, run, show, target
from betex.core.errors import UsageError

MarketOpt = Annotated[int, typer.Option("--market", min=1, metavar="ID", help="The market.")]
OrderOpt = Annotated[int, typer.Option("--order", min=1, metavar="OID", help="The order.")]
_ORDER_COLS = (
    "order_id", "runner_id", "account_id", "side", "price", "size", "size_matched", "size_remaining",
    "avg_price_matched", "status",
)  # fmt: skip


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Place, cancel, replace and list orders on a running server.",
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=epilog("order"),
    )
    app.add_typer(group, name="order")

    @group.command("place", epilog=epilog("order place"))
    def _place(
        market: MarketOpt,
        runner: Annotated[int, typer.Option("--runner", min=0, metavar="R", help="The runner.")],
        side: Annotated[str, typer.Option("--side", metavar="SIDE", help="BACK, LAY, BUY or SELL.")],
        price: Annotated[float, typer.Option("--price", metavar="P", help="Decimal odds, or bps.")],
        size: Annotated[float, typer.Option("--size", metavar="S", help="Stake, or shares.")],
        account: AccountOption = None,
        persist: Annotated[
            bool, typer.Option("--persist", help="Keep the order when the market turns in play.")
        ] = False,
        fok: Annotated[bool, typer.Option("--fok", help="Fill or kill.")] = False,
        min_fill: Annotated[
            float | None, typer.Option("--min-fill", metavar="S", help="With --fok: the least to fill.")
        ] = None,
        client_ref: Annotated[
            str | None, typer.Option("--client-ref", metavar="X", help="Your reference.")
        ] = None,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Place an order; prints the order after matching (its fills with their effective odds)."""
        from betex.client import shell

        if min_fill is not None and not fok:
            raise UsageError("--min-fill needs --fok")
        coro = shell.order_place(
            target(url, key, admin_token), market, runner, side.upper(), price, size, account,
            persist=persist, fok=fok, min_fill=min_fill, client_ref=client_ref,
        )  # fmt: skip
        show(run(coro, json_out), json_out)

    @group.command("cancel", epilog=epilog("order cancel"))
    def _cancel(
        market: MarketOpt,
        order: OrderOpt,
        reduce: Annotated[
            float | None, typer.Option("--reduce", metavar="S", help="Cancel only this much.")
        ] = None,
        account: AccountOption = None,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Cancel what remains of an order (or --reduce it)."""
        from betex.client import shell

        coro = shell.order_cancel(target(url, key, admin_token), market, order, account, reduce)
        show(run(coro, json_out), json_out)

    @group.command("replace", epilog=epilog("order replace"))
    def _replace(
        market: MarketOpt,
        order: OrderOpt,
        price: Annotated[float, typer.Option("--price", metavar="P", help="The new price.")],
        account: AccountOption = None,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """Move an order's remaining size to a new price (a new order id)."""
        from betex.client import shell

        coro = shell.order_replace(target(url, key, admin_token), market, order, account, price)
        show(run(coro, json_out), json_out)

    @group.command("list", epilog=epilog("order list"))
    def _list(
        market: Annotated[
            int | None, typer.Option("--market", min=1, metavar="ID", help="The market.")
        ] = None,
        account: Annotated[
            int | None, typer.Option("--account", min=0, metavar="ID", help="One account.")
        ] = None,
        status: Annotated[str | None, typer.Option("--status", metavar="S", help="open or complete.")] = None,
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
        admin_token: AdminOption = None,
        json_out: JsonOption = False,
    ) -> None:
        """List orders, newest first (every page of GET /orders)."""
        from betex.client import shell

        rows = run(shell.order_list(target(url, key, admin_token), market, account, status), json_out)
        show(rows if json_out else [{c: r[c] for c in _ORDER_COLS} for r in rows], json_out)
