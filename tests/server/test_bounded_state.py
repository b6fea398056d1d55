"""Bounded live state over the wire: settled markets leave the server's memory (the history
store still serves them), and a clean stop leaves nothing for the next start to replay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ServerProcess
from tests.server.test_restart import _trade
from tests.server.wsclient import Client

ARGS = ("--durability", "async")


async def _settle_all(server: ServerProcess, markets: list[int]) -> None:
    cl = await Client.connect(server.ws_url + "/ws_ctl")
    try:
        for m in markets:
            kind, reply = await cl.call("CLOSE_MARKET", {"market_id": m})
            assert kind == "MARKET_UPDATED", reply
            kind, reply = await cl.call("SETTLE_MARKET", {"market_id": m, "winner_runner_ids": [1]})
            assert kind == "MARKET_UPDATED" and reply["market_state"] == "SETTLED", reply
    finally:
        await cl.close()


def test_settled_markets_leave_memory_and_stay_readable_from_history(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, *ARGS)
    markets = asyncio.run(_trade(server, 1))
    orders = server.get_json("/orders?limit=1000")
    trades = server.get_json("/trades?limit=1000")
    assert server.get_json("/debug/live_counts")["orders"] == len(orders["orders"]) == 10
    asyncio.run(_settle_all(server, markets))

    counts = server.get_json("/debug/live_counts")
    gone = (
        "orders",
        "open_orders",
        "completed_orders",
        "trades",
        "voided_trades",
        "risk_entries",
        "depth_levels",
    )
    assert {k: counts[k] for k in gone} == dict.fromkeys(gone, 0), counts
    assert counts["markets"] == 3  # each keeps its definition and final state (MARKET_LIST)
    after = server.get_json("/orders?limit=1000")
    assert [o["order_id"] for o in after["orders"]] == [o["order_id"] for o in orders["orders"]]
    assert all(o["status"] == "EXECUTION_COMPLETE" for o in after["orders"])
    assert server.get_json("/trades?limit=1000")["trades"] == trades["trades"]
    assert server.stop() == 0


def test_a_clean_stop_snapshots_the_engine_so_the_next_start_replays_nothing(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    first = server_factory(data_dir, *ARGS)  # --snapshot-every 1M: no periodic snapshot here
    asyncio.run(_trade(first, 1))
    seq = first.get_json("/health")["seq"]
    assert first.stop() == 0
    assert [p.name.split("-")[1] for p in (data_dir / "snapshots").iterdir()] == [f"{seq:020d}"]

    second = server_factory(data_dir, *ARGS)
    assert f"recovered seq {seq}: 0 events replayed (snapshot at seq {seq})" in second.log()
    assert second.stop() == 0
