"""REMOVE_RUNNER end to end over `/ws_ctl` against a real `betex serve`: the docs/engine.md worked
example (a 4-runner CROSS_MATCHED race, a ring, Comet removed at 20 %) checked to the cent over
/risk, the snapshot's runner status, /trades' original prices, the order stream's RUNNER_REMOVED
updates, typed rejects, `wal inspect`, and the same state after a restart (WAL replay)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import betex
from tests.conftest import ServerProcess
from tests.server.conftest import Validator
from tests.server.test_ws_ctl import admin, create, market_body, place, pnl, risk_by_account
from tests.server.wsclient import Client

ARGS = ("--durability", "async", "--snapshot-interval-ms", "50")


def _updates(cl: Client) -> list[dict[str, Any]]:
    return [m["ORDER_UPDATE"] for m in cl.uncorrelated if "ORDER_UPDATE" in m]


async def _worked_example(cl: Client) -> int:
    """docs/engine.md, "Runner removal": the trades before the removal."""
    m = await create(
        cl, market_body("race", "CROSS_MATCHED", [1, 2, 3, 4], ["Arrow", "Blaze", "Comet", "Dusk"])
    )
    for runner, side, price, size, account in (
        (1, "LAY", 3.0, 10.0, 2),
        (1, "BACK", 3.0, 10.0, 1),
        (2, "BACK", 4.0, 20.0, 3),
        (2, "LAY", 4.0, 20.0, 4),
        (3, "BACK", 5.0, 8.0, 5),
        (3, "LAY", 5.0, 8.0, 1),
        (1, "BACK", 2.5, 8.0, 6),
        (2, "BACK", 4.0, 5.0, 7),
        (3, "BACK", 5.0, 4.0, 8),
    ):
        reply = await place(cl, m, runner, side, price, size, account)
        assert reply["status"] == "ACCEPTED", reply
    ring = await place(cl, m, 4, "BACK", 6.0, 3.0, 9)
    assert ring["size_matched"] == 3.0 and [f["effective_odds"] for f in ring["fills"]] == [6.6667] * 3
    rest = await place(cl, m, 4, "LAY", 8.0, 5.0, 10)
    assert rest["size_remaining"] == 5.0
    return m


async def test_worked_example_over_ws_ctl_to_the_cent_then_replayed_after_a_restart(
    data_dir: Path,
    server_factory: Callable[..., ServerProcess],
    server_msg_validator: Validator | None,
) -> None:
    server = server_factory(data_dir, *ARGS)
    cl = await Client.connect(server.ws_url + "/ws_ctl", server_msg_validator)
    watcher = await Client.connect(server.ws_url + "/ws_ctl", server_msg_validator)
    try:
        m = await _worked_example(cl)
        for account in (8, 9, 10):
            kind, ack = await watcher.call("SUBSCRIBE_ORDERS", {"account_id": account})
            assert kind == "ACK" and ack["ok"], ack
        before = risk_by_account(server, m)
        assert pnl(before[9]) == {1: -3.0, 2: -3.0, 3: -3.0, 4: 17.0}

        removed = await admin(cl, "REMOVE_RUNNER", market_id=m, runner_id=3, reduction_factor=20)
        assert (removed["market_state"], removed["version"]) == ("OPEN", 2)

        # the order stream: 10's lay cancelled, 8's ring leg voided, 9's ring re-priced / voided
        await watcher.wait_for(lambda: len(_updates(watcher)) >= 5, 5.0)
        by_account: dict[int, list[dict[str, Any]]] = {}
        for u in _updates(watcher):
            by_account.setdefault(u["account_id"], []).append(u)
        assert [(u["reason"], u["size_remaining"]) for u in by_account[10]] == [("RUNNER_REMOVED", 0.0)]
        assert [(u["reason"], u["size_matched"], "fill" in u) for u in by_account[8]] == [
            ("RUNNER_REMOVED", 0.0, False)
        ]
        nine = by_account[9]
        assert all(u["reason"] == "RUNNER_REMOVED" for u in nine)
        assert [u["reduced"]["price"] for u in nine if "reduced" in u] == [2.0, 3.2]
        assert [u["size_matched"] for u in nine if "reduced" not in u] == [2.3]  # its Comet leg voided

        snap = server.get_json(f"/snapshot?market_id={m}")
        assert [(r["runner_id"], r["status"], r.get("reduction_factor")) for r in snap["runners"]] == [
            (1, "ACTIVE", None),
            (2, "ACTIVE", None),
            (3, "REMOVED", 20.0),
            (4, "ACTIVE", None),
        ]
        ladders = {r["runner_id"]: r for r in snap["book"]["data"]["runners"]}
        assert ladders[3]["available_to_back"] == [] == ladders[3]["available_to_lay"]
        trades = {t["trade_id"]: t for t in server.get_json(f"/trades?market_id={m}")["trades"]}
        assert {tid: (t["price"], t.get("original_price"), t["voided"]) for tid, t in trades.items()} == {
            1: (2.4, 3.0, False),
            2: (3.2, 4.0, False),
            3: (5.0, None, True),
            4: (2.0, 2.5, False),
            5: (3.2, 4.0, False),
            6: (5.0, None, True),
        }
        after = risk_by_account(server, m)
        want = {  # docs/engine.md, the table after the removal (Arrow, Blaze, Dusk)
            1: (14.0, -10.0, -10.0),
            2: (-14.0, 10.0, 10.0),
            3: (-20.0, 44.0, -20.0),
            4: (20.0, -44.0, 20.0),
            6: (8.0, -8.0, -8.0),
            7: (-5.0, 11.0, -5.0),
            9: (-3.0, -3.0, 13.0),
        }
        for account, (arrow, blaze, dusk) in want.items():
            assert pnl(after[account]) == {1: arrow, 2: blaze, 4: dusk}, account
        for account in (5, 8, 10):
            assert set(pnl(after[account]).values()) == {0.0}

        # typed rejects
        refused = await place(cl, m, 3, "BACK", 5.0, 2.0, 1)
        assert refused["status"] == "REJECTED" and refused["error"]["code"] == "INVALID_RUNNER"
        kind, again = await cl.call("REMOVE_RUNNER", {"market_id": m, "runner_id": 3, "reduction_factor": 5})
        assert kind == "ACK" and not again["ok"] and again["error"]["code"] == "INVALID_RUNNER"
        kind, bad = await cl.call(
            "REMOVE_RUNNER", {"market_id": m, "runner_id": 4, "reduction_factor": 100.5}
        )
        assert kind == "ERROR" and bad["code"] == "BAD_REQUEST"
        binary = await create(cl, market_body("yes", None, [1], ["YES"]))
        kind, nope = await cl.call(
            "REMOVE_RUNNER", {"market_id": binary, "runner_id": 1, "reduction_factor": 0}
        )
        assert kind == "ACK" and nope["error"]["code"] == "INVALID_TRANSITION"

        await admin(cl, "CLOSE_MARKET", market_id=m)
        kind, winner = await cl.call("SETTLE_MARKET", {"market_id": m, "winner_runner_ids": [3]})
        assert kind == "ACK" and winner["error"]["code"] == "INVALID_RUNNER"
        await admin(cl, "SETTLE_MARKET", market_id=m, winner_runner_ids=[1])
        settled = {a: r["settled_pnl"] for a, r in risk_by_account(server, m).items()}
        assert {a: v for a, v in settled.items() if v} == {
            1: 14.0,
            2: -14.0,
            3: -20.0,
            4: 20.0,
            6: 8.0,
            7: -5.0,
            9: -3.0,
        }
        assert round(sum(settled.values()), 2) == 0
        risk_then = server.get_json(f"/risk?market_id={m}")["risk"]
        trades_then = server.get_json(f"/trades?market_id={m}")["trades"]
    finally:
        await cl.close()
        await watcher.close()
    cl.check()
    watcher.check()
    assert server.stop() == 0

    # `wal inspect` shows the removal: the factor in percent and each re-priced trade
    table = betex("wal", "inspect", "--data-dir", str(data_dir), "--type", "RUNNER_REMOVED")
    assert table.code == 0, table.err
    assert "reduction_factor=20.00%" in table.out and "reduced=1:3.00→2.40,2:4.00→3.20" in table.out
    lines = betex("wal", "inspect", "--data-dir", str(data_dir), "--type", "RUNNER_REMOVED", "--json")
    (event,) = [json.loads(line) for line in lines.out.splitlines()]
    assert (event["runner_id"], event["reduction_factor"], event["voided"]) == (3, 2000, [3, 6])
    assert [(r["trade_id"], r["original_price"], r["price"]) for r in event["reduced"]] == [
        (1, 300, 240),
        (2, 400, 320),
        (4, 250, 200),
        (5, 400, 320),
    ]
    verify = betex("wal", "inspect", "--data-dir", str(data_dir), "--verify")
    assert verify.code == 0, verify.err
    offline = betex("snapshot", "--data-dir", str(data_dir), "--market-id", str(m), "--json")  # from the WAL
    assert offline.code == 0, offline.err
    runners = json.loads(offline.out)["runners"]
    assert [(r["label"], r["status"]) for r in runners][2] == ("Comet", "REMOVED")

    # a restart recovers the same state (snapshot + WAL replay) and the same read model
    again = server_factory(data_dir, *ARGS)
    assert again.get_json(f"/risk?market_id={m}")["risk"] == risk_then
    assert again.get_json(f"/trades?market_id={m}")["trades"] == trades_then


@pytest.mark.parametrize("book_type", ["MULTI_RUNNER", "CROSS_MATCHED"])
async def test_two_active_runners_left_refuse_a_further_removal(
    betex_server: ServerProcess, server_msg_validator: Validator | None, book_type: str
) -> None:
    cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
    try:
        m = await create(cl, market_body("three", book_type, [1, 2, 3], ["A", "B", "C"]))
        await place(cl, m, 1, "BACK", 2.0, 10.0, 1)
        await admin(cl, "REMOVE_RUNNER", market_id=m, runner_id=2, reduction_factor=33.33)
        kind, ack = await cl.call("REMOVE_RUNNER", {"market_id": m, "runner_id": 1, "reduction_factor": 0})
        assert kind == "ACK" and ack["error"]["code"] == "INVALID_TRANSITION"
        orders = betex_server.get_json(f"/orders?market_id={m}")["orders"]
        assert [(o["size_cancelled"], o["status"]) for o in orders] == [(10.0, "EXECUTION_COMPLETE")]
        listed = {row["market_id"]: row for row in betex_server.get_json("/markets")["markets"]}
        assert [(r["runner_id"], r["status"]) for r in listed[m]["runners"]] == [
            (1, "ACTIVE"),
            (2, "REMOVED"),
            (3, "ACTIVE"),
        ]
    finally:
        await cl.close()
    cl.check()
