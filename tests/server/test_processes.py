"""The process split with real processes: `betex serve --gateways N` runs one engine process and
N gateway processes. Read-your-writes, SIGTERM drain, kill -9 of the engine or of a gateway,
and a no_ack flood larger than the ring (back-pressure, never loss)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.conftest import ServerProcess, betex_cmd
from tests.server.wsclient import Client

MARKET = {
    "name": "procs",
    "market_model": "EXCHANGE_ODDS",
    "market_kind": "IN_PLAY_CAPABLE",
    "market_state": "OPEN",
    "market_phase": "PRE",
    "runner_ids": [1, 2, 3],
    "book_type": "MULTI_RUNNER",
}


def order(market_id: int, account: int, price: float = 3.0, **extra: Any) -> dict[str, Any]:
    return {
        "market_id": market_id,
        "runner_id": 1,
        "side": "BACK",
        "price": price,
        "size": 2.0,
        "account_id": account,
        **extra,
    }


def pids(server: ServerProcess) -> tuple[int, list[int]]:
    """(engine pid, gateway pids) from the supervisor's latest "ready" line."""
    deadline = time.monotonic() + 30
    while not (m := re.findall(r"ready \(engine pid (\d+), gateway pids ([\d ]+)\)", server.log())):
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    engine, gws = m[-1]
    return int(engine), [int(p) for p in gws.split()]


def engine_pid(server: ServerProcess) -> int:
    return pids(server)[0]


async def create_market(url: str) -> int:
    cl = await Client.connect(url + "/ws_ctl")
    try:
        kind, reply = await cl.call("CREATE_MARKET", dict(MARKET))
        assert kind == "MARKET_CREATED", reply
        return int(reply["market_id"])
    finally:
        await cl.close()


def wait_health(server: ServerProcess, status: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if server.get("/health", timeout=1.0)[0] == status:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"/health never answered {status}:\n{server.log()}")


def test_read_your_writes_on_one_gateway(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """With one gateway every GET lands where the reply came from: no retry, no slack. /orders
    reads the history store: a query waits for its writer (another process) to catch up."""
    server = server_factory(data_dir, "--gateways", "1")

    async def run() -> None:
        market = await create_market(server.ws_url)
        cl = await Client.connect(server.ws_url + "/ws_ctl")
        try:
            for i in range(60):
                kind, reply = await cl.call(
                    "PLACE_ORDER", order(market, 9, price=round(2.0 + (i % 50) * 0.02, 2))
                )
                assert kind == "ORDER_RESPONSE" and "order_id" in reply, reply
                body = await asyncio.to_thread(server.get_json, f"/orders?market_id={market}&limit=1000")
                assert reply["order_id"] in {o["order_id"] for o in body["orders"]}
        finally:
            await cl.close()

    asyncio.run(run())
    assert server.stop() == 0


def test_sigterm_drains_every_process_and_exits_0(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--gateways", "2", "--durability", "async")
    pids(server)  # both gateways up
    n = 600

    async def run() -> tuple[set[int], int]:
        market = await create_market(server.ws_url)
        cl = await Client.connect(server.ws_url + "/ws_ctl")
        for i in range(n):
            await cl.send_raw(
                json.dumps(
                    {
                        "PLACE_ORDER": {
                            **order(market, 2, price=round(2.0 + (i % 50) * 0.02, 2)),
                            "correlation_id": i + 1,
                        }
                    }
                )
            )
        server.proc.send_signal(signal.SIGTERM)  # while replies are still coming
        await cl.wait_for(
            lambda: (
                len([m for m in cl.messages if "ORDER_RESPONSE" in m or "ERROR" in m]) >= n
                or cl.close_code is not None
            ),
            30,
        )
        acked = {
            m["ORDER_RESPONSE"]["order_id"] for m in cl.messages if "order_id" in m.get("ORDER_RESPONSE", {})
        }
        await cl.close()
        return acked, market

    acked, market = asyncio.run(run())
    assert server.proc.wait(30) == 0, server.log()
    log = server.log()
    assert "betex engine: stopped cleanly" in log and log.count("stopped cleanly") >= 4, log
    again = server_factory(data_dir, "--gateways", "1", "--durability", "async")
    stored = {o["order_id"] for o in again.get_json(f"/orders?market_id={market}&limit=10000")["orders"]}
    assert acked <= stored  # every acknowledged order is durable


def test_kill_9_of_the_engine_under_acked_load_loses_nothing_acknowledged(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--gateways", "1")
    first_engine = engine_pid(server)

    async def run() -> tuple[set[int], int, int]:
        market = await create_market(server.ws_url)
        cl = await Client.connect(server.ws_url + "/ws_ctl")
        acked: set[int] = set()
        overloaded = 0
        killed_at = None
        try:
            i = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                i += 1
                kind, reply = await cl.call(
                    "PLACE_ORDER", order(market, 3, price=round(2.0 + (i % 50) * 0.02, 2))
                )
                if kind == "ORDER_RESPONSE" and "order_id" in reply:
                    acked.add(reply["order_id"])
                else:
                    assert reply.get("error", {}).get("code") == "OVERLOADED", reply
                    overloaded += 1
                    await asyncio.sleep(0.01)
                if i == 200:
                    os.kill(first_engine, signal.SIGKILL)
                    killed_at = i
                if killed_at and overloaded and len(acked) > killed_at + 50:
                    break  # the engine is back and orders are acknowledged again
        finally:
            await cl.close()
        return acked, market, overloaded

    acked, market, overloaded = asyncio.run(run())
    assert overloaded > 0, "the gateway should answer OVERLOADED while the engine is away"
    assert f"engine (pid {first_engine}) exited with status -9; restarting it" in server.log()
    wait_health(server, 200)
    stored = {o["order_id"] for o in server.get_json(f"/orders?market_id={market}&limit=10000")["orders"]}
    assert acked <= stored
    assert server.stop() == 0


def test_kill_9_of_a_gateway_leaves_the_other_gateways_clients_alone(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--gateways", "2", "--durability", "async")
    _engine, gateways = pids(server)

    async def run() -> None:
        market = await create_market(server.ws_url)
        by_pid: dict[int, Client] = {}
        extra: list[Client] = []
        for _ in range(60):
            cl = await Client.connect(server.ws_url + "/ws_ctl")
            pid = int(cl.ws.response.headers["X-Betex-Pid"])  # type: ignore[union-attr]
            if pid in by_pid:
                extra.append(cl)
            else:
                by_pid[pid] = cl
            if len(by_pid) == 2:
                break
        assert sorted(by_pid) == sorted(gateways), "the kernel never spread connections over both"
        victim, survivor = gateways[0], gateways[1]
        os.kill(victim, signal.SIGKILL)
        await by_pid[victim].wait_for(lambda: by_pid[victim].close_code is not None, 10)
        for i in range(50):  # the other gateway's client is unaffected
            kind, reply = await by_pid[survivor].call(
                "PLACE_ORDER", order(market, 4, price=round(2.0 + (i % 50) * 0.02, 2))
            )
            assert kind == "ORDER_RESPONSE" and "order_id" in reply, reply
        for cl in [by_pid[survivor], *extra]:
            await cl.close()

    asyncio.run(run())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(re.findall(r"gateway \d \(pid \d+\) exited", server.log())) < 1:
        time.sleep(0.05)
    assert "restarting it" in server.log()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.log().count("betex gateway 0: ready") < 2:
        time.sleep(0.05)
    assert server.log().count("betex gateway 0: ready") == 2, server.log()
    wait_health(server, 200)
    assert server.stop() == 0


@pytest.mark.parametrize("gateways", ["1", "0"])
def test_a_no_ack_flood_larger_than_the_ring_is_slowed_never_dropped(
    data_dir: Path, server_factory: Callable[..., ServerProcess], gateways: str
) -> None:
    """Split: the gateway's window and queues push back. One process (`--gateways 0`): a no_ack
    command that meets the full ring is held and its client paused until the engine has room."""
    server = server_factory(
        data_dir, "--gateways", gateways, "--durability", "async", "--ring-size", "256", "--window", "128"
    )
    n = 20_000

    async def run() -> int:
        market = await create_market(server.ws_url)
        frames = [
            json.dumps({"PLACE_ORDER": order(0, 1 + i % 50, price=round(2.0 + (i % 50) * 0.02, 2))}).replace(
                '"market_id": 0', f'"market_id": {market}'
            )
            for i in range(n)
        ]
        async with connect(server.ws_url + "/ws_ctl?no_ack=1", max_size=None) as ws:
            for f in frames:
                await ws.send(f)  # returns as TCP takes it: the gateway pushes back when the engine is behind
            deadline = time.monotonic() + 120
            done = 0
            while time.monotonic() < deadline:
                done = (await asyncio.to_thread(server.get_json, "/metrics"))["commands_total"] - before
                if done >= n + 1:
                    break
                await asyncio.sleep(0.1)
        return done

    before = server.get_json("/metrics")["commands_total"]
    done = asyncio.run(run())
    assert done == n + 1, f"{done - 1} of {n} no_ack commands executed\n{server.log()[-3000:]}"
    assert server.get_json("/metrics")["rejects_total"].get("OVERLOADED", 0) == 0
    assert server.stop() == 0


def test_the_window_counts_instructions_so_a_batched_flood_gets_no_larger_share(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """A PLACE_ORDERS of 100 is one item on the channel but 100 of the gateway's window: with
    `--window 128` the engine never has more than one such batch of this client in flight, so
    each engine batch holds at most 100 of its instructions. (Counted per item, 128 batches of
    100 could be in flight at once: the window would not bound a quiet client's wait at all.)"""
    server = server_factory(data_dir, "--gateways", "1", "--durability", "async", "--window", "128")
    groups, size = 60, 100

    async def run() -> None:
        market = await create_market(server.ws_url)
        frames = [
            json.dumps(
                {"PLACE_ORDERS": {"market_id": market, "instructions": [
                    {k: v for k, v in order(market, 1 + (g * size + i) % 50,
                                            price=round(2.0 + i % 50 * 0.02, 2)).items() if k != "market_id"}
                    for i in range(size)
                ]}}
            )
            for g in range(groups)
        ]  # fmt: skip
        async with connect(server.ws_url + "/ws_ctl?no_ack=1", max_size=None) as ws:
            for f in frames:
                await ws.send(f)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                m = await asyncio.to_thread(server.get_json, "/metrics")
                if m["commands_total"] - before["commands_total"] >= groups * size + 1:
                    break
                await asyncio.sleep(0.05)

    before = server.get_json("/metrics")
    asyncio.run(run())
    after = server.get_json("/metrics")
    commands = after["commands_total"] - before["commands_total"]
    batches = after["batches_total"] - before["batches_total"]
    assert commands == groups * size + 1, server.log()[-2000:]
    # the market's creation is one batch; every group is then a batch of its own
    assert batches >= groups + 1, f"{commands} commands in {batches} engine batches"
    assert server.stop() == 0


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            betex_cmd(*args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _port_of(log: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if ": ready" in text and (m := re.search(r"listening on http://[\d.]+:(\d+)", text)):
            return int(m.group(1))
        assert proc.poll() is None, text
        time.sleep(0.05)
    raise TimeoutError(log.read_text(errors="replace"))


def test_a_second_gateway_serves_batches_history_keys_and_the_order_stream(data_dir: Path) -> None:
    """Composed by hand (`betex engine`, `betex history-writer`, two gateways): through gateway 1,
    PLACE_ORDERS is one engine batch, /orders shows the orders at once (read-your-writes
    through the store the history writer keeps), SUBSCRIBE_ORDERS pushes them live, and an API
    key issued through gateway 0 is known to gateway 1 (hello, then the stream)."""
    procs: list[subprocess.Popen[bytes]] = []
    common = ["--data-dir", str(data_dir), "--admin-token", "t0k"]
    try:
        procs.append(
            _spawn(
                ["engine", "--data-dir", str(data_dir), "--durability", "async"], data_dir.parent / "e.log"
            )
        )
        procs.append(_spawn(["history-writer", "--data-dir", str(data_dir)], data_dir.parent / "h.log"))
        logs = [data_dir.parent / f"g{i}.log" for i in range(2)]
        for i, log in enumerate(logs):
            procs.append(
                _spawn(["gateway", *common, "--port", "0", "--index", str(i), "--auth", "keys"], log)
            )
        ports = [_port_of(log, p) for log, p in zip(logs, procs[2:], strict=True)]
        url0, url1 = (f"ws://127.0.0.1:{p}/ws_ctl" for p in ports)
        admin_headers = {"Authorization": "Bearer t0k"}

        async def run() -> None:
            admin0 = await Client.connect(url0, headers=admin_headers)
            kind, reply = await admin0.call("CREATE_MARKET", dict(MARKET))
            assert kind == "MARKET_CREATED", reply
            market = reply["market_id"]
            kind, reply = await admin0.call("CREATE_ACCOUNT", {"name": "split"})
            assert kind == "ACK", reply
            kind, reply = await admin0.call("ISSUE_KEY", {"account_id": reply["detail"]["account_id"]})
            assert kind == "ACK", reply
            key = reply["detail"]["key"]
            await admin0.close()
            trader = await Client.connect(url1, headers={"Authorization": f"Bearer {key}"})
            kind, reply = await trader.call("SUBSCRIBE_ORDERS", {"from_seq": 0})
            assert kind == "ACK", reply
            instructions = [
                {"runner_id": 1, "side": "BACK", "price": round(2.0 + 0.02 * i, 2), "size": 2.0}
                for i in range(20)
            ]
            kind, reply = await trader.call(
                "PLACE_ORDERS", {"market_id": market, "instructions": instructions}
            )
            assert kind == "ORDERS_RESPONSE", reply
            ids = [r["order_id"] for r in reply["results"]]
            assert len(ids) == 20 and all(r["status"] == "ACCEPTED" for r in reply["results"]), reply
            status, body = await asyncio.to_thread(
                _get, ports[1], f"/orders?market_id={market}&limit=100", {"Authorization": f"Bearer {key}"}
            )
            assert status == 200 and {o["order_id"] for o in body["orders"]} == set(ids), body
            await trader.wait_for(
                lambda: len([m for m in trader.uncorrelated if "ORDER_UPDATE" in m]) >= 20, 10
            )
            pushed = [m["ORDER_UPDATE"]["order_id"] for m in trader.uncorrelated if "ORDER_UPDATE" in m]
            assert pushed == ids, pushed
            await trader.close()

        asyncio.run(run())
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(30) for p in reversed(procs)]
    assert codes == [0, 0, 0, 0]


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


def test_history_writer_priority_lowers_only_its_own_process(data_dir: Path, tmp_path: Path) -> None:
    """`--priority low` is nice 10, `idle` SCHED_IDLE; the default leaves it as it was started."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    for flag, check in (
        ([], lambda pid: os.getpriority(os.PRIO_PROCESS, pid) == base),
        (["--priority", "low"], lambda pid: os.getpriority(os.PRIO_PROCESS, pid) == min(19, base + 10)),
        (["--priority", "idle"], lambda pid: os.sched_getscheduler(pid) == os.SCHED_IDLE),
    ):
        log = tmp_path / f"history-{len(flag)}-{flag[-1] if flag else 'default'}.log"
        proc = _spawn(["history-writer", "--data-dir", str(data_dir), *flag], log)
        try:
            lock = data_dir / "history.lock"  # its pid is written there once it has started
            deadline = time.monotonic() + 30
            while not (lock.exists() and lock.read_text().strip() == str(proc.pid)):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            assert check(proc.pid), (flag, log.read_text())
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()
