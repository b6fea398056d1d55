"""domain.md §7 in-play bet delay end to end over `/ws_ctl` against a real `betex serve`: a delayed
order matures with no other traffic (the server's tick), a suspension or any version change voids
it (DELAY_VOIDED, with the market_version guard), and a `kill -9` with a delayed order pending
restarts to the same deterministic outcome."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, ServerProcess, betex_cmd
from tests.server.conftest import Validator
from tests.server.test_ws_ctl import admin, create, market_body, place
from tests.server.wsclient import Client


def _updates(cl: Client) -> list[dict[str, Any]]:
    return [m["ORDER_UPDATE"] for m in cl.uncorrelated if "ORDER_UPDATE" in m]


def _in_play(name: str, delay_ms: int) -> dict[str, Any]:
    return market_body(
        name, "MULTI_RUNNER", [1, 2], ["A", "B"], market_phase="IN_PLAY", bet_delay_ms=delay_ms
    )


def _orders(server: ServerProcess, account: int) -> dict[int, dict[str, Any]]:
    return {o["order_id"]: o for o in server.get_json(f"/orders?account_id={account}")["orders"]}


def _betex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(betex_cmd(*args), cwd=REPO, capture_output=True, text=True, timeout=60)


def _wal(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    r = _betex("wal", "inspect", "--data-dir", str(data_dir), "--json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_a_delayed_order_matures_without_other_traffic(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        try:
            m = await create(cl, _in_play("delay-matures", 400))
            assert {r["market_id"]: r for r in betex_server.get_json("/markets")["markets"]}[m][
                "bet_delay_ms"
            ] == 400
            kind, ack = await cl.call("SUBSCRIBE_ORDERS", {"account_id": 301})
            assert kind == "ACK" and ack["ok"], ack
            lay = await place(cl, m, 1, "LAY", 3.0, 10.0, 302)
            back = await place(cl, m, 1, "BACK", 3.0, 10.0, 301)
            assert (lay["status"], back["status"]) == ("DELAYED", "DELAYED")
            assert back["size_remaining"] == 10.0 and back["fills"] == []
            assert _orders(betex_server, 301)[back["order_id"]]["status"] == "DELAYED"
            book = betex_server.get_json(f"/snapshot?market_id={m}")["book"]["data"]["runners"]
            assert all(not r["available_to_back"] and not r["available_to_lay"] for r in book), book
            # nothing more is sent: the server's tick matures both and they match
            await cl.wait_for(lambda: len(_updates(cl)) >= 3, 10)
            await asyncio.sleep(0.3)
            ups = [(u["order_id"], u["status"], u["size_remaining"], "fill" in u) for u in _updates(cl)]
            assert ups == [
                (back["order_id"], "DELAYED", 10.0, False),
                (back["order_id"], "EXECUTABLE", 10.0, False),
                (back["order_id"], "EXECUTION_COMPLETE", 0.0, True),
            ], ups
            done = _orders(betex_server, 301)[back["order_id"]]
            assert (done["status"], done["size_matched"], done["avg_price_matched"]) == (
                "EXECUTION_COMPLETE",
                10.0,
                3.0,
            )
            cl.check()
        finally:
            await cl.close()

    asyncio.run(go())
    ticks = _wal(betex_server.data_dir, "--type", "TICK,ORDER_DELAYED,ORDER_MATURED")
    delayed = [e for e in ticks if e["type"] == "ORDER_DELAYED"][-2:]
    mine = [e for e in ticks if e["type"] in ("TICK", "ORDER_MATURED") and e["seq"] > delayed[0]["seq"]]
    assert [e["type"] for e in mine][:2] == ["TICK", "ORDER_MATURED"]
    assert mine[0]["ts"] >= delayed[0]["due_ts"]  # engine time, not before the delay is over
    r = _betex("wal", "inspect", "--data-dir", str(betex_server.data_dir), "--type", "TICK")
    assert r.returncode == 0 and any(line.split()[2:4] == ["TICK", "0"] for line in r.stdout.splitlines()[1:])


def test_suspension_and_a_version_change_void_delayed_orders(
    betex_server: ServerProcess, server_msg_validator: Validator | None
) -> None:
    async def go() -> None:
        cl = await Client.connect(betex_server.ws_url + "/ws_ctl", server_msg_validator)
        try:
            m = await create(cl, _in_play("delay-voided", 5000))
            kind, ack = await cl.call("SUBSCRIBE_ORDERS", {"account_id": 311})
            assert kind == "ACK" and ack["ok"], ack
            version = betex_server.get_json(f"/snapshot?market_id={m}")["version"]
            a = await place(cl, m, 1, "BACK", 3.0, 10.0, 311, market_version=version)
            assert a["status"] == "DELAYED"
            await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="SUSPENDED")
            await cl.wait_for(lambda: any(u.get("reason") for u in _updates(cl)), 5)
            voided = [u for u in _updates(cl) if u.get("reason")]
            assert [(u["order_id"], u["status"], u["reason"]) for u in voided] == [
                (a["order_id"], "EXECUTION_COMPLETE", "DELAY_VOIDED")
            ]
            row = _orders(betex_server, 311)[a["order_id"]]
            assert (row["status"], row["size_cancelled"], row["size_matched"]) == (
                "EXECUTION_COMPLETE",
                10.0,
                0.0,
            )

            # reopened: the version moved on, so the old picture is refused; a delayed order
            # on the new version is voided by the next version change (a halt) as well
            await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="OPEN")
            stale = await place(cl, m, 1, "BACK", 3.0, 10.0, 311, market_version=version)
            assert stale["status"] == "REJECTED" and stale["error"]["code"] == "VERSION_MISMATCH"
            now = betex_server.get_json(f"/snapshot?market_id={m}")["version"]
            b = await place(cl, m, 2, "LAY", 2.0, 4.0, 311, market_version=now)
            assert b["status"] == "DELAYED"
            await admin(cl, "SET_MARKET_STATE", market_id=m, market_state="HALTED")
            await cl.wait_for(lambda: len([u for u in _updates(cl) if u.get("reason")]) >= 2, 5)
            last = [u for u in _updates(cl) if u.get("reason")][-1]
            assert (last["order_id"], last["reason"]) == (b["order_id"], "DELAY_VOIDED")
            risk = {r["account_id"]: r for r in betex_server.get_json(f"/risk?market_id={m}")["risk"]}
            assert risk[311]["open_orders"] == 0 and risk[311]["worst_case_with_unmatched"] == 0
            cl.check()
        finally:
            await cl.close()

    asyncio.run(go())


def test_kill_9_with_a_delayed_order_pending_restarts_deterministically(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    delay_s = 6.0
    first = server_factory(data_dir, "--durability", "sync")

    async def before(server: ServerProcess) -> tuple[int, int, int]:
        cl = await Client.connect(server.ws_url + "/ws_ctl")
        try:
            m = await create(cl, _in_play("delay-restart", int(delay_s * 1000)))
            lay = await place(cl, m, 1, "LAY", 2.5, 20.0, 322)
            back = await place(cl, m, 1, "BACK", 2.5, 8.0, 321)
            assert (lay["status"], back["status"]) == ("DELAYED", "DELAYED")
            return m, lay["order_id"], back["order_id"]
        finally:
            await cl.close()

    accepted = time.monotonic()
    m, lay_id, back_id = asyncio.run(before(first))
    first.kill()  # SIGKILL with both orders pending: no clean shutdown, no projection.snap
    wal = _wal(data_dir)
    assert [e["type"] for e in wal if e["type"] in ("ORDER_DELAYED", "ORDER_MATURED")] == [
        "ORDER_DELAYED"
    ] * 2

    second = server_factory(data_dir, "--durability", "sync")
    if time.monotonic() - accepted < delay_s - 1:  # restarted before the orders were due
        assert _orders(second, 321)[back_id]["status"] == "DELAYED"
    deadline = time.monotonic() + delay_s + 20
    while _orders(second, 321)[back_id]["status"] != "EXECUTION_COMPLETE":
        assert time.monotonic() < deadline, "the delayed orders never matured after the restart"
        time.sleep(0.1)
    lay = _orders(second, 322)[lay_id]
    assert (lay["status"], lay["size_matched"], lay["size_remaining"]) == ("EXECUTABLE", 8.0, 12.0)
    assert second.stop() == 0
    wal = _wal(data_dir)
    due = {e["order_id"]: e["due_ts"] for e in wal if e["type"] == "ORDER_DELAYED"}
    matured = [e for e in wal if e["type"] in ("TICK", "ORDER_MATURED", "TRADE_MATCHED")]
    assert [e["type"] for e in matured] in (
        ["TICK", "ORDER_MATURED", "ORDER_MATURED", "TRADE_MATCHED"],
        ["TICK", "ORDER_MATURED", "TICK", "ORDER_MATURED", "TRADE_MATCHED"],
    ), matured
    assert all(e["ts"] >= due[e["order_id"]] for e in matured if e["type"] == "ORDER_MATURED")
    assert matured[-1]["ts"] >= max(due.values())  # the trade: once both are in the book
    # replay follows the WAL: from the snapshot or from seq 1, the same state as the server had
    replays = []
    for extra in ((), ("--no-snapshot",)):
        r = _betex("replay", "--data-dir", str(data_dir), "--json", *extra)
        assert r.returncode == 0, r.stderr
        replays.append(json.loads(r.stdout)["state_hash"])
    assert replays[0] == replays[1]
    third = server_factory(data_dir, "--durability", "sync")
    assert _orders(third, 321)[back_id]["status"] == "EXECUTION_COMPLETE"
    assert third.get_json(f"/snapshot?market_id={m}")["version"] == 1


def test_with_the_engine_in_its_own_process_delayed_orders_mature_the_same(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """`serve --gateways 1`: the tick runs in the engine process, and the gateway's `/orders`
    sees DELAYED, then the fill, as in one process (the split has no order stream yet)."""
    server = server_factory(data_dir, "--gateways", "1", "--durability", "async")

    async def go() -> int:
        cl = await Client.connect(server.ws_url + "/ws_ctl")
        try:
            m = await create(cl, _in_play("delay-split", 1500))
            await place(cl, m, 2, "BACK", 4.0, 6.0, 332)
            lay = await place(cl, m, 2, "LAY", 4.0, 6.0, 331)
            assert lay["status"] == "DELAYED"
            return int(lay["order_id"])
        finally:
            await cl.close()

    oid = asyncio.run(go())
    assert _orders(server, 331)[oid]["status"] == "DELAYED"  # read-your-writes, 1.5 s early
    deadline = time.monotonic() + 10
    while (row := _orders(server, 331)[oid])["status"] != "EXECUTION_COMPLETE":
        assert time.monotonic() < deadline, row
        time.sleep(0.05)
    assert (row["size_matched"], row["avg_price_matched"]) == (6.0, 4.0)
