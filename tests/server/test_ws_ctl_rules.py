"""domain.md §7 rules end to end over `/ws_ctl` against a real server: HALTED, CANCEL_ALL filters,
REDUCE_ORDER, the market_version guard, commission (checked to the cent over /risk) and a
CROSS_MATCHED ring fill with the taker's real odds."""

from __future__ import annotations

import pytest

from tests.conftest import ServerProcess
from tests.server.test_ws_ctl import admin, create, market_body, place, risk_by_account
from tests.server.wsclient import Client


async def test_halted_refuses_everything_until_an_admin_reopens(
    betex_server: ServerProcess, client: Client
) -> None:
    cl = client
    m = await create(cl, market_body("halt", "CROSS_MATCHED", [1, 2, 3], ["H", "D", "A"]))
    back = await place(cl, m, 1, "BACK", 3.0, 10.0, 7)
    halted = await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="HALTED")
    assert halted["market_state"] == "HALTED"
    refused = await place(cl, m, 1, "LAY", 3.0, 5.0, 8)
    assert refused["status"] == "REJECTED" and refused["error"]["code"] == "MARKET_HALTED"
    kind, cancel = await cl.call(
        "CANCEL_ORDER", {"market_id": m, "order_id": back["order_id"], "account_id": 7}
    )
    assert kind == "ORDER_RESPONSE" and cancel["error"]["code"] == "MARKET_HALTED"
    kind, ack = await cl.call("CANCEL_ALL", {"market_id": m, "account_id": 7})
    assert kind == "ACK" and not ack["ok"] and ack["error"]["code"] == "MARKET_HALTED"
    snap = betex_server.get_json(f"/snapshot?market_id={m}&depth=3")
    assert snap["market_state"] == "HALTED"
    reopened = await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="OPEN")
    assert reopened["market_state"] == "OPEN"
    lay = await place(cl, m, 1, "LAY", 3.0, 5.0, 8)  # the back kept its place
    assert lay["size_matched"] == 5.0


async def test_cancel_all_filters_reduce_order_and_version_guard(
    betex_server: ServerProcess, client: Client
) -> None:
    cl = client
    m = await create(cl, market_body("filters", "MULTI_RUNNER", [1, 2], ["A", "B"]))
    b1 = await place(cl, m, 1, "BACK", 3.0, 10.0, 7)
    await place(cl, m, 1, "LAY", 2.0, 10.0, 7)
    await place(cl, m, 2, "BACK", 3.0, 10.0, 7)
    kind, ack = await cl.call("CANCEL_ALL", {"market_id": m, "account_id": 7, "runner_id": 1, "side": "LAY"})
    assert (kind, ack["ok"], ack["detail"]) == ("ACK", True, {"cancelled": 1})
    kind, ack = await cl.call("CANCEL_ALL", {"market_id": m, "account_id": 7, "runner_id": 2})
    assert ack["detail"] == {"cancelled": 1}

    body = {"market_id": m, "order_id": b1["order_id"], "account_id": 7}
    kind, failed = await cl.call("REDUCE_ORDER", {**body, "expected_remaining": 9.0, "new_remaining": 4.0})
    assert kind == "ORDER_RESPONSE" and failed["error"]["code"] == "CONDITION_FAILED"
    kind, reduced = await cl.call("REDUCE_ORDER", {**body, "expected_remaining": 10.0, "new_remaining": 4.0})
    assert (reduced["status"], reduced["size_remaining"], reduced["size_cancelled"]) == (
        "CANCELLED",
        4.0,
        6.0,
    )

    version = betex_server.get_json(f"/snapshot?market_id={m}")["version"]
    ok = await place(cl, m, 2, "LAY", 3.0, 2.0, 8, market_version=version)
    assert ok["status"] == "ACCEPTED"
    await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="SUSPENDED")
    await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="OPEN")
    stale = await place(cl, m, 2, "LAY", 3.0, 2.0, 8, market_version=version)
    assert stale["status"] == "REJECTED" and stale["error"]["code"] == "VERSION_MISMATCH"


async def test_commission_and_ring_odds_to_the_cent(betex_server: ServerProcess, client: Client) -> None:
    """docs/engine.md worked examples: a back ring (taker odds 2.6858) and 3.33 % commission."""
    cl = client
    m = await create(cl, market_body("ring", "CROSS_MATCHED", [1, 2, 3], ["H", "D", "A"], commission_bps=333))
    await place(cl, m, 2, "BACK", 3.0, 10.0, 1)
    await place(cl, m, 3, "BACK", 3.4, 10.0, 2)
    taker = await place(cl, m, 1, "BACK", 2.2, 20.0, 3)
    assert taker["size_matched"] == 11.17
    assert [f["effective_odds"] for f in taker["fills"]] == [2.6858, 2.6858]
    orders = {o["order_id"]: o for o in betex_server.get_json(f"/orders?market_id={m}")["orders"]}
    assert orders[taker["order_id"]]["avg_price_matched"] == pytest.approx(2.6858, abs=1e-4)
    kind, _ = await cl.call("CANCEL_ALL", {"market_id": m, "account_id": 3})
    await admin(cl, "CLOSE_MARKET", market_id=m)
    await admin(cl, "SETTLE_MARKET", market_id=m, winner_runner_ids=[1])
    risk = risk_by_account(betex_server, m)
    got = {a: (r["settled_pnl"], r["commission"], r["net_pnl"]) for a, r in risk.items()}
    # gross if runner 1 wins: taker +18.83, makers −10.00 and −8.82, house −0.01
    assert got == {
        0: (-0.01, -0.62, 0.61),  # receives 3.33 % of 18.83 = 0.627 → 0.62
        1: (-10.0, 0.0, -10.0),
        2: (-8.82, 0.0, -8.82),
        3: (18.83, 0.62, 18.21),
    }
    assert round(sum(net for _g, _c, net in got.values()), 2) == 0
