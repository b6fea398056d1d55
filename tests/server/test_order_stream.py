"""The order stream (SUBSCRIBE_ORDERS → ORDER_UPDATE / ACCOUNT_SETTLED), batch instructions
(PLACE_ORDERS …) and several markets per connection, against a real `betex serve`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import ServerProcess, start_server
from tests.server.conftest import Validator
from tests.server.wsclient import Client

ARGS = ("--durability", "async", "--snapshot-interval-ms", "50")


async def _market(cl: Client, runners: tuple[int, ...] = (1, 2, 3)) -> int:
    kind, reply = await cl.call(
        "CREATE_MARKET",
        {"name": "stream", "market_model": "EXCHANGE_ODDS", "book_type": "MULTI_RUNNER",
         "runner_ids": list(runners)},
    )  # fmt: skip
    assert kind == "MARKET_CREATED", reply
    return int(reply["market_id"])


async def _place(
    cl: Client, market: int, account: int, side: str, price: float, size: float
) -> dict[str, Any]:
    kind, reply = await cl.call(
        "PLACE_ORDER",
        {"market_id": market, "runner_id": 1, "side": side, "price": price, "size": size,
         "account_id": account, "persistence": "PERSIST"},
    )  # fmt: skip
    assert kind == "ORDER_RESPONSE" and reply["status"] == "ACCEPTED", reply
    return reply


def _updates(cl: Client) -> list[dict[str, Any]]:
    return [m["ORDER_UPDATE"] for m in cl.uncorrelated if "ORDER_UPDATE" in m]


async def _settle_quiet(cl: Client, n: int, timeout: float = 5.0) -> None:
    """Wait until the client holds `n` ORDER_UPDATEs, then a little more to catch any extra."""
    await cl.wait_for(lambda: len(_updates(cl)) >= n, timeout)
    await asyncio.sleep(0.3)


def test_a_resting_order_filled_by_another_account_gives_one_update_with_the_fill(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        trader = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        other = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        market = await _market(other)
        kind, ack = await trader.call("SUBSCRIBE_ORDERS", {"account_id": 101})
        assert kind == "ACK" and ack["ok"], ack
        placed = await _place(trader, market, 101, "BACK", 2.5, 10.0)
        await _settle_quiet(trader, 1)
        taker = await _place(other, market, 102, "LAY", 2.5, 4.0)
        await _settle_quiet(trader, 2)
        updates = _updates(trader)
        assert len(updates) == 2, updates
        first, fill = updates
        assert first["order_id"] == placed["order_id"] and "fill" not in first
        assert first["status"] == "EXECUTABLE" and first["size_remaining"] == 10.0
        assert fill["order_id"] == placed["order_id"]
        assert fill["fill"] == {
            "trade_id": taker["fills"][0]["trade_id"], "price": 2.5, "effective_odds": 2.5,
            "size": 4.0, "implied": False,
        }  # fmt: skip
        assert fill["size_matched"] == 4.0 and fill["size_remaining"] == 6.0
        assert fill["seq"] > first["seq"]
        assert not [u for u in _updates(other)], "account 102 did not subscribe"
        trader.check()
        await trader.close()
        await other.close()

    asyncio.run(go())


async def _activity(cl: Client, market: int, account: int) -> None:
    """Three changes to `account`'s orders: a place, a fill by another account, a cancel."""
    mine = await _place(cl, market, account, "BACK", 3.0, 5.0)
    await _place(cl, market, account + 1, "LAY", 3.0, 2.0)
    kind, reply = await cl.call(
        "CANCEL_ORDER", {"market_id": market, "order_id": mine["order_id"], "account_id": account}
    )
    assert kind == "ORDER_RESPONSE" and reply["status"] == "CANCELLED", reply


def test_reconnect_with_from_seq_gets_exactly_the_missed_updates_across_a_restart(
    tmp_path: Path, server_msg_validator: Validator | None
) -> None:
    data = tmp_path / "data"
    server = start_server(data, *ARGS)
    try:

        async def before() -> tuple[int, int, list[dict[str, Any]]]:
            cl = await Client.connect(server.ws_url + "/ws_ctl")
            market = await _market(cl)
            await cl.call("SUBSCRIBE_ORDERS", {"account_id": 7})
            await _activity(cl, market, 7)
            await _settle_quiet(cl, 3)
            seen = _updates(cl)
            await cl.close()
            # missed while disconnected
            cl2 = await Client.connect(server.ws_url + "/ws_ctl")
            await _activity(cl2, market, 7)
            await cl2.close()
            return market, seen[-1]["seq"], seen

        market, last_seq, seen = asyncio.run(before())
        assert len(seen) == 3
        assert [u.get("reason") for u in seen] == [None, None, "USER"]

        async def resume(srv: ServerProcess, from_seq: int, expect: int) -> list[dict[str, Any]]:
            cl = await Client.connect(srv.ws_url + "/ws_ctl", server_msg_validator)
            kind, ack = await cl.call("SUBSCRIBE_ORDERS", {"account_id": 7, "from_seq": from_seq})
            assert kind == "ACK" and ack["ok"], ack
            await _settle_quiet(cl, expect)
            got = _updates(cl)
            cl.check()
            await cl.close()
            return got

        missed = asyncio.run(resume(server, last_seq, 3))
        assert len(missed) == 3, missed
        assert all(u["seq"] > last_seq for u in missed)
        assert [u["seq"] for u in missed] == sorted(u["seq"] for u in missed)
        assert server.stop() == 0

        server = start_server(data, *ARGS)
        again = asyncio.run(resume(server, last_seq, 3))
        assert again == missed
        everything = asyncio.run(resume(server, 0, 6))
        assert everything == seen + missed

        async def live_after_replay() -> None:
            cl = await Client.connect(server.ws_url + "/ws_ctl", server_msg_validator)
            await cl.call("SUBSCRIBE_ORDERS", {"account_id": 7, "from_seq": missed[-1]["seq"]})
            await _activity(cl, market, 7)
            await _settle_quiet(cl, 3)
            assert len(_updates(cl)) == 3
            kind, reply = await cl.call("CLOSE_MARKET", {"market_id": market})
            assert kind == "MARKET_UPDATED", reply
            kind, reply = await cl.call("SETTLE_MARKET", {"market_id": market, "winner_runner_ids": [1]})
            assert kind == "MARKET_UPDATED", reply
            await cl.wait_for(lambda: any("ACCOUNT_SETTLED" in m for m in cl.uncorrelated))
            (settled,) = [m["ACCOUNT_SETTLED"] for m in cl.uncorrelated if "ACCOUNT_SETTLED" in m]
            # account 7 backed 2.0 of its orders at 3.0 three times, each matched 2.0: wins 3 × 4.0
            assert settled["market_id"] == market and settled["gross"] == 12.0
            assert settled["net"] == settled["gross"] - settled["commission"]
            cl.check()
            await cl.close()

        asyncio.run(live_after_replay())
    finally:
        server.stop()


def test_place_orders_of_200_returns_200_results_in_order(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        market = await _market(cl)
        prices = [round(2.0 + 0.02 * (i % 50), 2) for i in range(200)]
        instructions: list[dict[str, Any]] = [
            {"runner_id": 1 + i % 3, "side": "BACK", "price": p, "size": 2.0, "client_ref": f"r{i}"}
            for i, p in enumerate(prices)
        ]
        instructions[17]["price"] = 2.51  # off the ladder: rejected in its place, others unaffected
        kind, reply = await cl.call(
            "PLACE_ORDERS", {"market_id": market, "account_id": 9, "instructions": instructions}
        )
        assert kind == "ORDERS_RESPONSE", reply
        results = reply["results"]
        assert len(results) == 200
        for i, r in enumerate(results):
            if i == 17:
                assert r["status"] == "REJECTED" and r["error"]["code"] == "INVALID_ODDS", r
            else:
                assert r["status"] == "ACCEPTED" and r["price"] == prices[i], (i, r)
                assert r["runner_id"] == 1 + i % 3
        ids = [r["order_id"] for r in results if r["status"] == "ACCEPTED"]
        assert ids == sorted(ids)
        kind, reply = await cl.call(
            "CANCEL_ORDERS",
            {"market_id": market, "account_id": 9,
             "instructions": [{"order_id": ids[0]}, {"order_id": 10**12}, {"order_id": ids[1], "size_reduction": 1.0}]},
        )  # fmt: skip
        assert kind == "ORDERS_RESPONSE", reply
        assert [r["status"] for r in reply["results"]] == ["CANCELLED", "REJECTED", "CANCELLED"]
        kind, reply = await cl.call(
            "REPLACE_ORDERS",
            {"market_id": market, "account_id": 9, "instructions": [{"order_id": ids[2], "new_price": 3.0}]},
        )
        assert kind == "ORDERS_RESPONSE" and reply["results"][0]["status"] == "REPLACED", reply
        kind, reply = await cl.call("PLACE_ORDERS", {"market_id": market, "instructions": []})
        assert kind == "ERROR" and reply["code"] == "BAD_REQUEST"
        cl.check()
        await cl.close()

    asyncio.run(go())


def test_one_connection_streams_several_markets_and_unsubscribes(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        admin = await Client.connect(betex_server.ws_url + "/ws_ctl")
        a, b, c = await _market(admin), await _market(admin), await _market(admin)
        cl = await Client.connect(betex_server.ws_url + "/ws", server_msg_validator)
        kind, ack = await cl.call("SUBSCRIBE", {"market_ids": [a, b], "depth": 3})
        assert kind == "ACK" and ack["ok"], ack
        await cl.wait_for(lambda: {s["market_id"] for s in cl.snapshots} >= {a, b})
        await _place(admin, a, 1, "BACK", 2.0, 3.0)
        await _place(admin, b, 1, "BACK", 4.0, 3.0)
        await _place(admin, c, 1, "BACK", 5.0, 3.0)

        def best(m: int) -> list[Any]:
            snaps = [s for s in cl.snapshots if s["market_id"] == m]
            return snaps[-1]["book"]["data"]["runners"][0]["available_to_lay"] if snaps else []

        await cl.wait_for(lambda: bool(best(a)) and bool(best(b)))
        assert best(a)[0]["price"] == 2.0 and best(b)[0]["price"] == 4.0
        assert c not in {s["market_id"] for s in cl.snapshots}
        kind, ack = await cl.call("UNSUBSCRIBE", {"market_ids": [a]})
        assert kind == "ACK" and ack["ok"]
        n_a = len([s for s in cl.snapshots if s["market_id"] == a])
        await _place(admin, a, 1, "BACK", 2.02, 3.0)
        await _place(admin, b, 1, "BACK", 4.1, 3.0)
        await cl.wait_for(lambda: best(b)[0]["size"] == 3.0 and len(best(b)) == 2)
        await asyncio.sleep(0.2)
        assert len([s for s in cl.snapshots if s["market_id"] == a]) == n_a
        kind, err = await cl.call("SUBSCRIBE", {"market_ids": [c, 10**9]})
        assert kind == "ERROR" and err["code"] == "INVALID_MARKET"
        kind, ack = await cl.call("SUBSCRIBE", {"market_id": c})  # the old form still works
        assert kind == "ACK" and ack["ok"]
        await cl.wait_for(lambda: c in {s["market_id"] for s in cl.snapshots})
        cl.check()
        await cl.close()
        await admin.close()

    asyncio.run(go())


def test_binary_market_updates_are_in_bps_and_shares_and_settle_in_money(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        kind, created = await cl.call(
            "CREATE_MARKET", {"name": "yes/no", "market_model": "BINARY_YES", "runner_ids": [1]}
        )
        assert kind == "MARKET_CREATED", created
        market = created["market_id"]
        await cl.call("SUBSCRIBE_ORDERS", {"account_id": 201, "from_seq": 0})
        for side, account in (("BUY", 201), ("SELL", 202)):
            kind, reply = await cl.call(
                "PLACE_ORDER",
                {
                    "market_id": market,
                    "runner_id": 1,
                    "side": side,
                    "price": 4500,
                    "size": 10,
                    "account_id": account,
                },
            )
            assert reply["status"] == "ACCEPTED", reply
        await cl.call("CLOSE_MARKET", {"market_id": market})
        await cl.call("SETTLE_MARKET", {"market_id": market, "winner_runner_ids": [1]})
        await cl.wait_for(lambda: any("ACCOUNT_SETTLED" in m for m in cl.uncorrelated))
        mine = [u for u in _updates(cl) if u["market_id"] == market]
        fill = next(u["fill"] for u in mine if "fill" in u)
        assert fill["price"] == 4500 and fill["size"] == 10 and "effective_odds" not in fill
        (settled,) = [m["ACCOUNT_SETTLED"] for m in cl.uncorrelated if "ACCOUNT_SETTLED" in m]
        assert settled["gross"] == 5.5  # bought 10 YES at 45.00 %, YES won: 10 × 0.55
        cl.check()
        await cl.close()

    asyncio.run(go())
