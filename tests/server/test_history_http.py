"""`/orders`, `/completed_orders` and `/trades` served from the history store: cursor pages
cover every row exactly once, and a client sees its order as soon as it has the reply."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from tests.conftest import ServerProcess
from tests.server.wsclient import Client


def _pages(server: ServerProcess, path: str, key: str, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        body = server.get_json(url)
        pages.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_cursor_pages_cover_every_row_once_and_orders_are_readable_at_once(
    betex_server: ServerProcess,
) -> None:
    async def go() -> tuple[int, list[int]]:
        cl = await Client.connect(betex_server.ws_url + "/ws_ctl")
        kind, created = await cl.call(
            "CREATE_MARKET",
            {
                "name": "pages",
                "market_model": "EXCHANGE_ODDS",
                "book_type": "MULTI_RUNNER",
                "runner_ids": [1, 2],
            },
        )
        market = created["market_id"]
        ids = []
        for i in range(23):
            kind, reply = await cl.call(
                "PLACE_ORDER",
                {"market_id": market, "runner_id": 1, "side": "BACK" if i % 2 else "LAY",
                 "price": 2.0, "size": 2.0, "account_id": 50 + i % 3},
            )  # fmt: skip
            assert kind == "ORDER_RESPONSE", reply
            ids.append(reply["order_id"])
            # read-your-writes: the order is there as soon as the reply is
            mine = betex_server.get_json(f"/orders?market_id={market}&account_id={50 + i % 3}&limit=1")
            assert mine["orders"][0]["order_id"] == reply["order_id"]
        await cl.close()
        return market, ids

    market, ids = asyncio.run(go())
    pages = _pages(betex_server, f"/orders?market_id={market}", "orders", 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [o["order_id"] for p in pages for o in p] == sorted(ids, reverse=True)
    whole = betex_server.get_json(f"/orders?market_id={market}&limit=100")
    assert [o for p in pages for o in p] == whole["orders"] and whole["next_cursor"] is None
    trades = _pages(betex_server, f"/trades?market_id={market}", "trades", 4)
    flat = [t["trade_id"] for p in trades for t in p]
    assert len(flat) == len(set(flat)) and flat == sorted(flat, reverse=True) and len(flat) >= 10
    done = _pages(betex_server, f"/completed_orders?market_id={market}", "orders", 3)
    assert sum(len(p) for p in done) == sum(o["status"] == "EXECUTION_COMPLETE" for o in whole["orders"])
    status, body = betex_server.get("/orders?cursor=bogus")
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    trade_cursor = betex_server.get_json(f"/trades?market_id={market}&limit=1")["next_cursor"]
    status, body = betex_server.get(f"/orders?cursor={urllib.parse.quote(trade_cursor)}")
    assert status == 400, body
