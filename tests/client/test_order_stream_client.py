"""`BetexClient.subscribe_orders` against a real server: typed updates, and after the server
restarts the client resumes from the last seq it saw, with nothing missed and nothing twice."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from betex.client import Backoff, BetexClient, BinaryBook, OrderUpdate
from tests.conftest import start_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_client_resumes_its_order_stream_across_a_server_restart(tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "data"
    args = ("--durability", "async", "--port", str(port))
    server = start_server(data, *args)
    url = f"ws://127.0.0.1:{port}"
    try:

        async def go() -> None:
            nonlocal server
            updates: list[OrderUpdate] = []
            async with BetexClient(url, backoff=Backoff(initial=0.05, maximum=0.2)) as me:
                me.on_order_update(updates.append)
                async with BetexClient(url, reconnect=False) as other:
                    market = await other.create_market("soccer")
                await me.subscribe_orders(7)
                placed = [
                    await me.place(market, 1, "BACK", 3.0, 5, 7, persistence="PERSIST") for _ in range(2)
                ]
                await _until(lambda: len(updates) == 2)
                server.stop()
                server = start_server(data, *args)
                async with BetexClient(url, reconnect=False) as other:  # maybe before `me` is back
                    reply = await other.place(market, 1, "LAY", 3.0, 7, 8)
                await _until(lambda: len(updates) == 4)
                await asyncio.sleep(0.3)
                assert len(updates) == 4, updates  # the two fills, once each
                fills = updates[2:]
                assert [u.order_id for u in fills] == [p.order_id for p in placed]  # type: ignore[union-attr]
                assert [u.fill.size for u in fills if u.fill] == [5.0, 2.0]
                assert {u.fill.trade_id for u in fills if u.fill} == {f.trade_id for f in reply.fills}  # type: ignore[union-attr]
                assert me.order_seqs[7] == fills[-1].seq
                assert me.status.reconnects == 1

        asyncio.run(go())
    finally:
        server.stop()


async def _until(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_one_client_follows_several_markets(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--durability", "async", "--snapshot-interval-ms", "50")
    try:

        async def go() -> None:
            async with BetexClient(server.ws_url) as c:
                a, b = await c.create_market("soccer"), await c.create_market("binary")
                await c.subscribe_markets([a, b], depth=3)
                await c.wait_snapshot(a)
                await c.wait_snapshot(b)
                await c.place(b, 1, "BUY", 4500, 10, 3)
                snap = await c.wait_snapshot(
                    b,
                    lambda s: (
                        isinstance(s.book, BinaryBook) and bool(s.book.bids) and s.book.bids[0].price == 4500
                    ),
                )
                assert snap.market_id == b and c.extra_markets == {a, b}
                await c.unsubscribe([a])
                assert c.extra_markets == {b}

        asyncio.run(go())
    finally:
        server.stop()
