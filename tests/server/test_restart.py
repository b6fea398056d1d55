"""Restart on the same data dir gives the same answers: from `projection.snap` (+ WAL tail), and
from the WAL alone once the projection snapshot is gone, including after a `kill -9`."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ServerProcess
from tests.server.wsclient import Client

ARGS = ("--durability", "async", "--snapshot-every", "25")


async def _trade(server: ServerProcess, tag: int) -> list[int]:
    """Create one market of each type with resting orders, trades, a cancel and a state change."""
    cl = await Client.connect(server.ws_url + "/ws_ctl")
    try:
        markets = []
        for name, model, book_type, runners in (
            ("multi", "EXCHANGE_ODDS", "MULTI_RUNNER", [1, 2, 3]),
            ("two", "EXCHANGE_ODDS", "TWO_RUNNER", [1, 2]),
            ("binary", "BINARY_YES", None, [1]),
        ):
            body: dict[str, Any] = {
                "name": f"{name}-{tag}",
                "market_model": model,
                "market_kind": "IN_PLAY_CAPABLE",
                "market_state": "OPEN",
                "market_phase": "PRE",
                "runner_ids": runners,
            }
            if book_type:
                body["book_type"] = book_type
            kind, reply = await cl.call("CREATE_MARKET", body)
            assert kind == "MARKET_CREATED", reply
            markets.append(reply["market_id"])
        multi, two, binary = markets
        orders = [
            (multi, 1, "BACK", 3.0, 20.0, 1),
            (multi, 1, "LAY", 3.0, 5.0, 2),
            (multi, 2, "LAY", 4.5, 7.5, 3),
            (multi, 3, "BACK", 10.0, 2.0, 1),
            (two, 2, "BACK", 1.5, 12.0, 4),
            (two, 1, "BACK", 3.0, 6.0, 5),  # 1/3 + 1/1.5 = 1: implied match
            (two, 1, "LAY", 1.2, 3.0, 6),
            (binary, 1, "BUY", 6000, 30, 7),
            (binary, 1, "SELL", 5900, 10, 8),
            (binary, 1, "SELL", 7000, 5, 8),
        ]
        ids = []
        for market, runner, side, price, size, account in orders:
            kind, reply = await cl.call(
                "PLACE_ORDER",
                {
                    "market_id": market,
                    "runner_id": runner,
                    "side": side,
                    "price": price,
                    "size": size,
                    "account_id": account,
                },
            )
            assert kind == "ORDER_RESPONSE" and reply["status"] == "ACCEPTED", reply
            ids.append(reply["order_id"])
        kind, reply = await cl.call("CANCEL_ORDER", {"market_id": multi, "order_id": ids[2], "account_id": 3})
        assert reply["status"] == "CANCELLED"
        kind, reply = await cl.call("SET_MARKET_STATE", {"market_id": two, "market_state": "SUSPENDED"})
        assert kind == "MARKET_UPDATED"
        return markets
    finally:
        await cl.close()


def views(server: ServerProcess, markets: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in markets:
        out[f"snapshot {m}"] = server.get_json(f"/snapshot?market_id={m}&depth=350")
        out[f"risk {m}"] = server.get_json(f"/risk?market_id={m}")
    out["orders"] = server.get_json("/orders?limit=1000")
    out["completed"] = server.get_json("/completed_orders?limit=1000")
    out["trades"] = server.get_json("/trades?limit=1000")
    out["markets"] = server.get_json("/markets")
    out["counts"] = server.get_json("/debug/live_counts")
    return out


def test_restart_serves_identical_state_from_projection_snapshot_and_from_wal(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    first = server_factory(data_dir, *ARGS)
    markets = asyncio.run(_trade(first, 1))
    before = views(first, markets)
    assert first.stop() == 0
    assert (data_dir / "projection.snap").exists()
    assert list((data_dir / "snapshots").iterdir()), "an engine snapshot every 25 events"

    second = server_factory(data_dir, *ARGS)
    assert "projection from projection.snap" in second.log()
    assert views(second, markets) == before
    assert second.stop() == 0

    (data_dir / "projection.snap").unlink()
    third = server_factory(data_dir, *ARGS)
    assert "projection rebuilt from the WAL" in third.log()
    assert views(third, markets) == before
    assert third.get_json("/health")["seq"] == before["counts"]["seq"]


def test_after_kill_9_a_stale_projection_snapshot_is_caught_up_from_the_wal(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    args = ("--durability", "async", "--snapshot-every", "1000000")  # no save while serving
    first = server_factory(data_dir, *args)
    markets = asyncio.run(_trade(first, 1))
    assert first.stop() == 0  # projection.snap at this seq

    second = server_factory(data_dir, *args)
    markets += asyncio.run(_trade(second, 2))
    before = views(second, markets)
    second.kill()  # no projection.snap for the second session's events

    third = server_factory(data_dir, *args)
    log = third.log()
    assert "projection from projection.snap" in log and "0 events replayed" not in log.split("projection")[1]
    assert views(third, markets) == before


def test_a_serving_server_saves_projection_snap_every_n_events_so_kill_9_replays_a_short_tail(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    first = server_factory(data_dir, *ARGS)  # --snapshot-every 25
    markets = asyncio.run(_trade(first, 1))
    seq = first.get_json("/health")["seq"]
    assert seq > 25
    path = data_dir / "projection.snap"
    deadline = time.monotonic() + 15
    while not path.exists() and time.monotonic() < deadline:  # the saver ticks once a second
        time.sleep(0.1)
    assert path.exists(), "no projection.snap written while serving"
    before = views(first, markets)
    first.kill()  # no clean stop: only the periodic save is on disk

    second = server_factory(data_dir, *ARGS)
    log = second.log()
    saved = int(log.split("projection from projection.snap at seq ")[1].split()[0].rstrip(";,"))
    assert seq - 25 <= saved <= seq, (saved, seq)
    assert views(second, markets) == before


def _write_wal(data_dir: Path, orders: int) -> int:
    """A WAL of one market and `orders` resting backs, written through the real engine + journal."""
    from betex.core.domain import commands as c
    from betex.core.domain.engine import Engine
    from betex.core.durability.journal import Journal

    engine = Engine()
    journal = Journal.open_writer(data_dir, "async")
    try:
        engine.begin_batch(1)
        engine.execute(
            c.CreateMarket(
                "m", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2), ("a", "b")
            )
        )
        journal.append(engine.end_batch(1))
        for start in range(0, orders, 4096):
            engine.begin_batch(2 + start)
            n = min(4096, orders - start)
            for k in range(start, start + n):
                engine.execute(c.PlaceOrder(1, 1 + k % 2, "BACK", 200 + (k % 50) * 2, 100, 1 + k % 100))
            journal.append(engine.end_batch(n))
        return engine.seq
    finally:
        journal.close()


def test_health_is_503_while_recovering_then_ok(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    seq = _write_wal(data_dir, 30_000)
    server = server_factory(data_dir, *ARGS, wait=False)
    statuses: list[tuple[int, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.port == 0:
            for line in server.log().splitlines():
                if "listening on http://" in line:
                    server.port = int(line.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1])
            time.sleep(0.01)
            continue
        try:
            statuses.append(server.get("/health", timeout=2))
        except OSError:
            pass
        if statuses and statuses[-1][0] == 200:
            break
        time.sleep(0.02)
    assert statuses[0][0] == 503 and statuses[0][1]["status"] == "recovering", statuses[0]
    assert server.get("/markets")[0] in (200, 503)
    statuses[-1][1].pop("disk_free_bytes")
    assert statuses[-1] == (200, {"status": "ok", "seq": seq, "wal": "ok"})
    assert f"{seq} events replayed" in server.log()


async def _pipeline_then_sigterm(server: ServerProcess, n: int) -> tuple[list[dict[str, Any]], int | None]:
    cl = await Client.connect(server.ws_url + "/ws_ctl")
    kind, created = await cl.call(
        "CREATE_MARKET",
        {"name": "shutdown", "market_model": "EXCHANGE_ODDS", "book_type": "MULTI_RUNNER",
         "market_kind": "PRE_ONLY", "market_state": "OPEN", "market_phase": "PRE", "runner_ids": [1, 2]},
    )  # fmt: skip
    assert kind == "MARKET_CREATED"
    for i in range(n):
        order = {"market_id": created["market_id"], "runner_id": 1, "side": "BACK", "price": 3.0,
                 "size": 2.0, "account_id": 1, "correlation_id": 100 + i}  # fmt: skip
        await cl.send_raw(json.dumps({"PLACE_ORDER": order}))
    server.proc.send_signal(signal.SIGTERM)
    await cl.wait_for(lambda: cl.close_code is not None, timeout=20)
    replies = [m["ORDER_RESPONSE"] for m in cl.uncorrelated if "ORDER_RESPONSE" in m]
    return replies, cl.close_code


def test_sigterm_answers_what_it_accepted_then_closes_1001(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, *ARGS)
    replies, close_code = asyncio.run(_pipeline_then_sigterm(server, 300))
    assert server.proc.wait(20) == 0
    assert close_code == 1001
    accepted = {r["order_id"] for r in replies if r["status"] == "ACCEPTED"}
    refused = [r for r in replies if r["status"] == "REJECTED"]
    assert all(r["error"]["code"] == "OVERLOADED" for r in refused)
    assert len(accepted) + len(refused) == 300  # every command got an answer before the close

    again = server_factory(data_dir, *ARGS)
    stored = {o["order_id"] for o in again.get_json("/orders?limit=10000")["orders"]}
    assert stored == accepted  # acknowledged == durable, nothing more, nothing less
