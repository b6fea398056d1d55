"""A scripted `/ws_ctl` session against a real server, checked to the cent over HTTP.

One server for the module; each test creates its own market(s), so ids come from replies.
Worked numbers: a back of stake m at odds q wins m·(q−1) and loses m; a lay is the mirror.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.server.conftest import Validator
from tests.server.wsclient import Client


def market_body(
    name: str, book_type: str | None, runners: list[int], labels: list[str], **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "market_model": "EXCHANGE_ODDS" if book_type else "BINARY_YES",
        "market_kind": "IN_PLAY_CAPABLE",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "runner_ids": runners,
        "runner_labels": labels,
    }
    if book_type:
        body["book_type"] = book_type
    body.update(kw)
    return body


async def create(cl: Client, body: dict[str, Any]) -> int:
    kind, reply = await cl.call("CREATE_MARKET", body)
    assert kind == "MARKET_CREATED", reply
    assert reply["snapshot"]["market_id"] == reply["market_id"]
    assert reply["snapshot"]["market_state"] == body["market_state"]
    return int(reply["market_id"])


async def place(
    cl: Client, market_id: int, runner: int, side: str, price: float, size: float, account: int, **kw: Any
) -> dict[str, Any]:
    body = {
        "market_id": market_id,
        "runner_id": runner,
        "side": side,
        "price": price,
        "size": size,
        "account_id": account,
    }
    body.update(kw)
    kind, reply = await cl.call("PLACE_ORDER", body)
    assert kind == "ORDER_RESPONSE", reply
    return reply


async def admin(cl: Client, kind: str, **body: Any) -> dict[str, Any]:
    rtype, reply = await cl.call(kind, body)
    assert rtype == "MARKET_UPDATED", (kind, reply)
    return reply


def pnl(risk_row: dict[str, Any]) -> dict[int, float]:
    return {r["runner_id"]: r["pnl"] for r in risk_row["if_win"]}


def risk_by_account(server: ServerProcess, market_id: int) -> dict[int, dict[str, Any]]:
    body = server.get_json(f"/risk?market_id={market_id}")
    return {row["account_id"]: row for row in body["risk"]}


def book(snapshot: dict[str, Any], runner_id: int) -> dict[str, Any]:
    for r in snapshot["book"]["data"]["runners"]:
        if r["runner_id"] == runner_id:
            return r
    raise KeyError(runner_id)


async def test_multi_runner_place_cancel_replace_fok_settle(
    betex_server: ServerProcess, client: Client
) -> None:
    cl = client
    m = await create(
        cl, market_body("Arsenal v Chelsea", "MULTI_RUNNER", [1, 2, 3], ["Home", "Draw", "Away"])
    )

    back = await place(cl, m, 1, "BACK", 2.5, 10.0, 7, client_ref="b1")
    assert (back["status"], back["size_matched"], back["size_remaining"], back["fills"]) == (
        "ACCEPTED",
        0.0,
        10.0,
        [],
    )

    lay = await place(cl, m, 1, "LAY", 2.5, 4.0, 8)
    assert lay["size_matched"] == 4.0 and lay["size_remaining"] == 0.0
    assert [(f["price"], f["size"], f["implied"]) for f in lay["fills"]] == [(2.5, 4.0, False)]

    resting_lay = await place(cl, m, 1, "LAY", 2.4, 5.0, 8)  # a lay at 2.4 cannot take a back at 2.5
    assert resting_lay["size_remaining"] == 5.0

    snap = betex_server.get_json(f"/snapshot?market_id={m}&depth=5")
    r1 = book(snap, 1)
    assert [(lv["price"], lv["size"]) for lv in r1["available_to_back"]] == [(2.4, 5.0)]
    assert [(lv["price"], lv["size"]) for lv in r1["available_to_lay"]] == [(2.5, 6.0)]
    assert book(snap, 2)["available_to_back"] == []

    kind, cancel = await cl.call(
        "CANCEL_ORDER", {"market_id": m, "order_id": back["order_id"], "account_id": 7, "size_reduction": 2.0}
    )
    assert kind == "ORDER_RESPONSE"
    assert (cancel["status"], cancel["size_matched"], cancel["size_remaining"], cancel["size_cancelled"]) == (
        "CANCELLED",
        4.0,
        4.0,
        2.0,
    )

    kind, stranger = await cl.call(
        "CANCEL_ORDER", {"market_id": m, "order_id": back["order_id"], "account_id": 9}
    )
    assert stranger["status"] == "REJECTED" and stranger["error"]["code"] == "NOT_OWNER"

    kind, replaced = await cl.call(
        "REPLACE_ORDER",
        {"market_id": m, "order_id": resting_lay["order_id"], "account_id": 8, "new_price": 2.5},
    )
    assert kind == "ORDER_RESPONSE" and replaced["status"] == "REPLACED"
    new_id = replaced["replacement_order_id"]
    assert new_id > resting_lay["order_id"]

    fok_short = await place(cl, m, 1, "BACK", 2.5, 3.0, 9, time_in_force="FILL_OR_KILL")
    assert fok_short["status"] == "REJECTED" and fok_short["error"]["code"] == "FOK_NOT_FILLED"
    fok = await place(cl, m, 1, "BACK", 2.5, 1.0, 9, time_in_force="FILL_OR_KILL")
    assert fok["size_matched"] == 1.0 and [f["price"] for f in fok["fills"]] == [2.5]

    bad = await place(cl, m, 1, "BACK", 2.51, 1.0, 9)
    assert bad["status"] == "REJECTED" and bad["error"]["code"] == "INVALID_ODDS"

    # Account 7 backed 8 @ 2.5 (4 + 4 after the partial cancel); account 8 laid 9 @ 2.5; account 9 backed 1.
    risk = risk_by_account(betex_server, m)
    assert pnl(risk[7]) == {1: 12.0, 2: -8.0, 3: -8.0}
    assert pnl(risk[8]) == {1: -13.5, 2: 9.0, 3: 9.0}
    assert pnl(risk[9]) == {1: 1.5, 2: -1.0, 3: -1.0}
    assert (risk[7]["worst_case"], risk[8]["worst_case"], risk[9]["worst_case"]) == (-8.0, -13.5, -1.0)
    assert (risk[7]["matched_volume"], risk[8]["matched_volume"]) == (8.0, 9.0)
    assert all(row["open_orders"] == 0 for row in risk.values())

    orders = {o["order_id"]: o for o in betex_server.get_json(f"/orders?market_id={m}")["orders"]}
    first = orders[back["order_id"]]
    assert (first["size"], first["size_matched"], first["size_cancelled"], first["size_remaining"]) == (
        10.0,
        8.0,
        2.0,
        0.0,
    )
    assert first["avg_price_matched"] == 2.5 and first["status"] == "EXECUTION_COMPLETE"
    old = orders[resting_lay["order_id"]]
    assert (old["size_cancelled"], old["size_matched"]) == (5.0, 0.0)
    new = orders[new_id]
    assert (new["price"], new["size"], new["size_matched"], new["size_remaining"]) == (2.5, 5.0, 5.0, 0.0)
    for o in orders.values():
        parts = (
            o["size_matched"]
            + o["size_remaining"]
            + o["size_cancelled"]
            + o["size_lapsed"]
            + o["size_voided"]
        )
        assert parts == pytest.approx(o["size"])
    assert list(orders) == sorted(orders, reverse=True)  # newest first

    by_string = betex_server.get_json(f"/orders?market_id={m}&account_id=%227%22")["orders"]
    by_number = betex_server.get_json(f"/orders?market_id={m}&account_id=7")["orders"]
    assert by_string == by_number and [o["order_id"] for o in by_number] == [back["order_id"]]

    trades = betex_server.get_json(f"/trades?market_id={m}")["trades"]
    assert [(t["price"], t["size"], t["implied"], t["voided"]) for t in trades] == [
        (2.5, 1.0, False, False),
        (2.5, 4.0, False, False),
        (2.5, 4.0, False, False),
    ]

    assert (await admin(cl, "CLOSE_MARKET", market_id=m))["market_state"] == "CLOSED"
    settled = await admin(cl, "SETTLE_MARKET", market_id=m, winner_runner_ids=[1])
    assert settled["market_state"] == "SETTLED"
    risk = risk_by_account(betex_server, m)
    assert {a: row["settled_pnl"] for a, row in risk.items() if a} == {7: 12.0, 8: -13.5, 9: 1.5}
    assert sum(row["settled_pnl"] for row in risk.values()) == 0

    completed = betex_server.get_json(f"/completed_orders?market_id={m}")["orders"]
    assert {o["order_id"] for o in completed} == set(orders) - {fok_short.get("order_id")}


async def test_two_runner_implied_and_direct_matching_lapse_at_go_live(
    betex_server: ServerProcess, client: Client
) -> None:
    cl = client
    m = await create(cl, market_body("A v B", "TWO_RUNNER", [1, 2], ["A", "B"]))

    await place(cl, m, 2, "BACK", 2.0, 10.0, 21)
    # Backing B at 2.0 is laying A at 2.0: A shows 10.00 to back at 2.0, all of it implied.
    snap = betex_server.get_json(f"/snapshot?market_id={m}")
    assert book(snap, 1)["available_to_back"] == [{"price": 2.0, "size": 10.0, "implied": 10.0}]
    assert book(snap, 2)["available_to_lay"] == [{"price": 2.0, "size": 10.0, "implied": 0.0}]

    implied = await place(cl, m, 1, "BACK", 2.0, 10.0, 22)
    assert implied["size_matched"] == 10.0
    assert [(f["price"], f["size"], f["implied"]) for f in implied["fills"]] == [(2.0, 10.0, True)]

    await place(cl, m, 1, "LAY", 3.0, 5.0, 23)
    direct = await place(cl, m, 1, "BACK", 3.0, 5.0, 24)
    assert [(f["price"], f["size"], f["implied"]) for f in direct["fills"]] == [(3.0, 5.0, False)]

    lapsing = await place(cl, m, 1, "BACK", 5.0, 2.0, 25, persistence="LAPSE")
    persisting = await place(cl, m, 2, "LAY", 1.5, 3.0, 26, persistence="PERSIST")
    assert lapsing["size_remaining"] == 2.0 and persisting["size_remaining"] == 3.0

    awaiting = await admin(cl, "AWAIT_LIVE_MARKET", market_id=m)
    assert (awaiting["market_state"], awaiting["market_phase"], awaiting["version"]) == (
        "SUSPENDED",
        "AWAITING_LIVE",
        2,
    )
    suspended = await place(cl, m, 1, "BACK", 2.0, 1.0, 25)
    assert suspended["error"]["code"] == "MARKET_SUSPENDED"
    live = await admin(cl, "GO_LIVE_MARKET", market_id=m)
    assert (live["market_state"], live["market_phase"], live["version"]) == ("OPEN", "IN_PLAY", 3)

    open_orders = betex_server.get_json(f"/orders?market_id={m}&status=open")["orders"]
    assert [o["order_id"] for o in open_orders] == [persisting["order_id"]]
    lapsed = betex_server.get_json(f"/orders?market_id={m}&account_id=25")["orders"]
    assert [(o["size_lapsed"], o["size_remaining"], o["status"]) for o in lapsed] == [
        (2.0, 0.0, "EXECUTION_COMPLETE")
    ]

    risk = risk_by_account(betex_server, m)
    assert pnl(risk[21]) == {1: -10.0, 2: 10.0}
    assert pnl(risk[22]) == {1: 10.0, 2: -10.0}
    assert pnl(risk[23]) == {1: -10.0, 2: 5.0}
    assert pnl(risk[24]) == {1: 10.0, 2: -5.0}
    # Account 26's unmatched lay of 3 @ 1.5 on B would lose 1.50 if B wins, win 3 if A wins.
    assert risk[26]["worst_case"] == 0.0 and risk[26]["worst_case_with_unmatched"] == -1.5
    assert risk[26]["open_orders"] == 1

    trades = betex_server.get_json(f"/trades?market_id={m}")["trades"]
    assert [(t["price"], t["size"], t["implied"]) for t in trades] == [(3.0, 5.0, False), (2.0, 10.0, True)]

    assert (await admin(cl, "CLOSE_MARKET", market_id=m))["market_state"] == "CLOSED"
    closed = betex_server.get_json(f"/orders?market_id={m}&account_id=26")["orders"]
    assert [(o["size_cancelled"], o["size_remaining"]) for o in closed] == [(3.0, 0.0)]
    await admin(cl, "SETTLE_MARKET", market_id=m, winner_runner_ids=[2])
    risk = risk_by_account(betex_server, m)
    assert {a: row["settled_pnl"] for a, row in risk.items() if row["settled_pnl"]} == {
        21: 10.0,
        22: -10.0,
        23: 5.0,
        24: -5.0,
    }
    snap = betex_server.get_json(f"/snapshot?market_id={m}")
    assert (snap["market_state"], snap["winner_runner_ids"]) == ("SETTLED", [2])


async def test_binary_yes_match_void_and_settle(betex_server: ServerProcess, client: Client) -> None:
    cl = client
    m = await create(cl, market_body("Will it rain?", None, [1], ["YES"]))

    await place(cl, m, 1, "BUY", 4500, 100, 31)
    sell = await place(cl, m, 1, "SELL", 4400, 50, 32)
    assert [(f["price"], f["size"]) for f in sell["fills"]] == [(4500, 50)]  # at the resting price
    voidable = await place(cl, m, 1, "SELL", 4500, 10, 33)
    trade_id = voidable["fills"][0]["trade_id"]

    snap = betex_server.get_json(f"/snapshot?market_id={m}")
    assert snap["book"] == {"kind": "BINARY", "data": {"bids": [{"price": 4500, "size": 40}], "asks": []}}

    rtype, ack = await cl.call("VOID_TRADES", {"market_id": m, "trade_ids": [trade_id]})
    assert rtype == "ACK" and ack["ok"] is True
    trades = betex_server.get_json(f"/trades?market_id={m}")["trades"]
    assert [(t["trade_id"] == trade_id, t["voided"]) for t in trades] == [(True, True), (False, False)]

    # Buyer of 50 at 0.45: +27.50 if YES, −22.50 if NO; the voided 10 count for nobody.
    risk = risk_by_account(betex_server, m)
    yes, no = 1, -1
    assert pnl(risk[31])[yes] == 27.5 and pnl(risk[31])[no] == -22.5
    assert pnl(risk[32])[yes] == -27.5 and pnl(risk[32])[no] == 22.5
    assert pnl(risk[33])[yes] == 0.0 and pnl(risk[33])[no] == 0.0
    orders = {o["account_id"]: o for o in betex_server.get_json(f"/orders?market_id={m}")["orders"]}
    assert (orders[31]["size_matched"], orders[31]["size_voided"], orders[31]["size_remaining"]) == (
        50,
        10,
        40,
    )

    await admin(cl, "CLOSE_MARKET", market_id=m)
    await admin(cl, "SETTLE_MARKET", market_id=m, winner_runner_ids=[1])
    risk = risk_by_account(betex_server, m)
    assert (risk[31]["settled_pnl"], risk[32]["settled_pnl"], risk[33]["settled_pnl"]) == (27.5, -27.5, 0.0)


async def test_list_markets_and_subscribe_follow_earlier_commands(
    betex_server: ServerProcess, client: Client
) -> None:
    cl = client
    # Sent without waiting: LIST_MARKETS must still see the market created before it.
    await cl.send_raw(
        json.dumps(
            {"CREATE_MARKET": market_body("Pipelined", "MULTI_RUNNER", [1, 2], ["X", "Y"], correlation_id=77)}
        )
    )
    rtype, listing = await cl.call("LIST_MARKETS", {})
    assert rtype == "MARKET_LIST"
    (created,) = [msg["MARKET_CREATED"] for msg in cl.uncorrelated if "MARKET_CREATED" in msg]
    assert created["correlation_id"] == 77
    market_id = created["market_id"]
    assert market_id in [row["market_id"] for row in listing["markets"]]

    rtype, ack = await cl.call("SUBSCRIBE", {"market_id": market_id, "depth": 3})
    assert rtype == "ACK" and ack["ok"]
    await cl.wait_for(lambda: any(s["market_id"] == market_id for s in cl.snapshots))
    n = len(cl.snapshots)
    await place(cl, market_id, 1, "BACK", 3.0, 2.0, 41)
    await cl.wait_for(lambda: len(cl.snapshots) > n)
    latest = cl.snapshots[-1]
    assert book(latest, 1)["available_to_lay"] == [{"price": 3.0, "size": 2.0, "implied": 0.0}]
    await cl.wait_for(lambda: bool(cl.statuses), timeout=3)
    assert cl.statuses[-1]["markets"] >= 1

    rtype, err = await cl.call("SUBSCRIBE", {"market_id": 999_999})
    assert rtype == "ERROR" and err["code"] == "INVALID_MARKET"


async def test_read_only_stream_sends_snapshots_only_on_change_and_status(
    betex_server: ServerProcess, client: Client, server_msg_validator: Validator | None
) -> None:
    m = await create(client, market_body("Stream", "MULTI_RUNNER", [1, 2], ["X", "Y"]))
    watcher = await Client.connect(f"{betex_server.ws_url}/ws?market_id={m}&depth=2", server_msg_validator)
    try:
        await watcher.wait_for(lambda: len(watcher.snapshots) >= 1)
        await asyncio.sleep(0.3)  # six ticks with nothing changed: no new snapshot
        assert len(watcher.snapshots) == 1
        orders = [  # a pipelined burst lands between two ticks: conflated into a few snapshots
            {"market_id": m, "runner_id": 2, "side": "LAY", "price": 4.0, "size": 1.0 + i, "account_id": 42}
            for i in range(20)
        ]
        replies = await asyncio.gather(*(client.call("PLACE_ORDER", o) for o in orders))
        assert all(body["status"] == "ACCEPTED" for _, body in replies)
        await watcher.wait_for(
            lambda: (
                book(watcher.snapshots[-1], 2)["available_to_back"]
                == [{"price": 4.0, "size": 210.0, "implied": 0.0}]
            )
        )
        await asyncio.sleep(0.2)
        assert book(watcher.snapshots[-1], 2)["available_to_back"] == [
            {"price": 4.0, "size": 210.0, "implied": 0.0}
        ]
        assert len(watcher.snapshots) < 20
        await watcher.wait_for(lambda: bool(watcher.statuses), timeout=3)
        rtype, err = await watcher.call(
            "PLACE_ORDER",
            {"market_id": m, "runner_id": 1, "side": "BACK", "price": 2.0, "size": 1.0, "account_id": 1},
        )
        assert rtype == "ERROR" and err["code"] == "BAD_REQUEST"
    finally:
        await watcher.close()
    watcher.check()


async def test_no_ack_is_fire_and_forget_but_rejects_are_counted(
    betex_server: ServerProcess, client: Client
) -> None:
    m = await create(client, market_body("Throughput", "MULTI_RUNNER", [1, 2], ["X", "Y"]))
    before = betex_server.get_json("/metrics")
    quiet = await Client.connect(f"{betex_server.ws_url}/ws_ctl?no_ack=1")
    try:
        for i in range(50):
            price = 2.0 if i % 5 else 2.01  # every fifth is off the ladder
            order = {
                "market_id": m,
                "runner_id": 1,
                "side": "BACK",
                "price": price,
                "size": 1.0,
                "account_id": 51,
            }
            await quiet.send_raw(json.dumps({"PLACE_ORDER": {**order, "correlation_id": i + 1}}))
        rtype, _ = await client.call("LIST_MARKETS", {})  # a barrier through another connection

        def done() -> bool:
            return betex_server.get_json("/metrics")["commands_total"] >= before["commands_total"] + 50

        for _ in range(100):
            if done():
                break
            await asyncio.sleep(0.05)
        after = betex_server.get_json("/metrics")
        assert after["commands_total"] - before["commands_total"] >= 50
        assert (
            after["rejects_total"].get("INVALID_ODDS", 0) - before["rejects_total"].get("INVALID_ODDS", 0)
            == 10
        )
        assert [msg for msg in quiet.messages if "SNAPSHOT" not in msg and "STATUS" not in msg] == []
    finally:
        await quiet.close()
    open_orders = betex_server.get_json(f"/orders?market_id={m}&account_id=51&limit=1000")["orders"]
    assert len(open_orders) == 40


async def test_malformed_message_gets_error_and_connection_stays_open(client: Client) -> None:
    await client.send_raw("{not json")
    err = await client.next_uncorrelated()
    assert err["ERROR"]["code"] == "BAD_REQUEST"
    rtype, body = await client.call("LIST_MARKETS", {})
    assert rtype == "MARKET_LIST"


async def test_oversize_frame_closes_with_1009(betex_server: ServerProcess) -> None:
    cl = await Client.connect(betex_server.ws_url + "/ws_ctl")
    await cl.send_raw('{"LIST_MARKETS": {"pad": "' + "x" * (64 * 1024) + '"}}')
    await cl.wait_for(lambda: cl.close_code is not None)
    assert cl.close_code == 1009
    assert betex_server.get("/health")[0] == 200


def test_http_errors_are_typed_json(betex_server: ServerProcess) -> None:
    for path, status in [
        ("/snapshot?market_id=abc", 400),
        ("/snapshot?market_id=1&depth=351", 400),
        ("/snapshot?market_id=999999", 404),
        ("/orders?status=maybe", 400),
        ("/orders?limit=-1", 400),
        ("/risk?account_id=x", 400),
        ("/trades?market_id=1e999", 400),
        ("/metrics?format=xml", 400),
        ("/no/such/path", 404),
    ]:
        got, body = betex_server.get(path)
        assert got == status, (path, body)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert "Traceback" not in body["error"]["message"]


def test_metrics_json_and_prometheus(betex_server: ServerProcess) -> None:
    m = betex_server.get_json("/metrics")
    for key in (
        "seq",
        "commands_total",
        "events_total",
        "rejects_total",
        "ring",
        "wal",
        "stage_latency",
        "projection",
        "connections",
    ):
        assert key in m
    assert m["ring"]["size"] == 16384 and m["ring"]["wait_strategy"] == "blocking-wait"
    assert set(m["wal"]) >= {"bytes", "commits", "events", "fsync_p50_ns", "fsync_p99_ns"}
    assert set(m["stage_latency"]) >= {"ingress_to_engine", "engine", "wal_commit", "projection"}
    assert all(isinstance(b, list) and len(b) == 2 for b in m["stage_latency"]["engine"]["buckets"])
    assert m["projection"]["lag_events"] >= 0
    status, text = betex_server.get("/metrics?format=prometheus")
    assert status == 200 and "# TYPE betex_commands_total counter" in text
    assert 'betex_stage_latency_seconds_bucket{le="+Inf",stage="engine"}' in text
    counts = betex_server.get_json("/debug/live_counts")
    assert counts["markets"] >= 0 and "orders" in counts


def test_http_bodies_match_the_schema(betex_server: ServerProcess) -> None:
    """Runs after the scenario tests above, so every table has rows of every market type."""
    from tests.server.conftest import make_validator

    if make_validator("ServerMsg") is None:
        pytest.skip("protocol schema not present")
    checks = {
        "/health": "HealthResponse",
        "/snapshot": "SnapshotResponse",
        "/snapshot?market_id=3&depth=350": "SnapshotResponse",
        "/markets": "MarketsResponse",
        "/orders?limit=10000": "OrdersResponse",
        "/orders?status=open": "OrdersResponse",
        "/completed_orders": "OrdersResponse",
        "/trades?limit=10000": "TradesResponse",
        "/risk": "RiskResponse",
        "/risk?market_id=1&account_id=7": "RiskResponse",
        "/debug/live_counts": "LiveCountsResponse",
        "/metrics": "MetricsResponse",
        "/snapshot?market_id=abc": "HttpError",
        "/snapshot?market_id=999999": "HttpError",
        "/nope": "HttpError",
    }
    for path, definition in checks.items():
        validate = make_validator(definition)
        assert validate is not None
        _, body = betex_server.get(path)
        validate(body)


async def test_read_only_stream_without_market_id_follows_the_lowest_market(
    betex_server: ServerProcess, client: Client, server_msg_validator: Validator | None
) -> None:
    await create(client, market_body("Any", "MULTI_RUNNER", [1, 2], ["X", "Y"]))
    lowest = betex_server.get_json("/markets")["markets"][0]["market_id"]
    watcher = await Client.connect(f"{betex_server.ws_url}/ws?depth=1", server_msg_validator)
    try:
        await watcher.wait_for(lambda: bool(watcher.snapshots))
        assert watcher.snapshots[0]["market_id"] == lowest
        assert all(
            len(r["available_to_back"]) <= 1 for r in watcher.snapshots[0]["book"]["data"].get("runners", [])
        )
    finally:
        await watcher.close()
    watcher.check()


def test_bad_websocket_query_is_refused_before_the_upgrade(betex_server: ServerProcess) -> None:
    for path in ("/ws_ctl?depth=0", "/ws_ctl?depth=351", "/ws?market_id=-1", "/ws_ctl?no_ack=maybe"):
        status, body = betex_server.get(path)
        assert status == 400 and body["error"]["code"] == "BAD_REQUEST", (path, body)
