"""A 20-line strategy: quote runner 1, react to fills from the order stream, print the P&L.

usage: python examples/strategy.py [ws://127.0.0.1:3000] [ACCOUNT]
"""

import asyncio
import sys

from betex.client import AccountSettled, BetexClient, OrderUpdate, tick_down


async def main(url: str = "ws://127.0.0.1:3000", account: int = 1) -> None:
    async with BetexClient(url) as c:
        market = await c.create_market("soccer")  # needs the admin token if the server has one
        await c.subscribe(market)
        await c.subscribe_orders(int(account))
        events: asyncio.Queue[OrderUpdate | AccountSettled] = asyncio.Queue()
        c.on_order_update(events.put_nowait)
        c.on_settled(events.put_nowait)
        quotes = [{"runner_id": 1, "side": "BACK", "price": 2.5, "size": 10},
                  {"runner_id": 1, "side": "LAY", "price": tick_down(2.5), "size": 10}]  # fmt: skip
        print("quoted", [r.order_id for r in (await c.place_orders(market, int(account), quotes)).results])
        await c.place(market, 1, "LAY", 2.5, 4, account_id=int(account) + 1)  # someone hits our back
        while not isinstance(u := await events.get(), AccountSettled):
            if isinstance(u, OrderUpdate) and u.fill:
                print(f"filled {u.fill.size} at {u.fill.effective_odds} on order {u.order_id}")
                await c.close_market(market)
                await c.settle(market, [1])
        print(f"settled market {u.market_id}: net P&L {u.net:+.2f}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))  # type: ignore[arg-type]
