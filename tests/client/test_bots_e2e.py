"""Bots and client against a real `betex serve`: counters agree with the server's read model,
lock-step runs reproduce, the client survives a restart, and the CLI's contract holds."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from betex.client import BetexClient, BetexHttp, ConnState, OrderResponse
from betex.client.bots import MarketSpec, make_bots, make_priors
from betex.client.bots.runner import BotRunner
from betex.client.loadgen import LoadConfig, run_load
from tests.conftest import REPO, ServerProcess, betex_cmd


async def _all(http: BetexHttp, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    rows = list((await http.get(path, limit=10_000, **params))[key])
    assert len(rows) < 10_000, "more rows than one page: shorten the run"
    return rows


@pytest.mark.parametrize("preset", ["soccer", "tennis", "binary"])
async def test_each_bot_kind_trades_and_its_counters_match_the_server(
    betex_server: ServerProcess, preset: str
) -> None:
    async with BetexHttp(betex_server.ws_url) as http:
        before = await http.metrics()
        cfg = LoadConfig(url=betex_server.ws_url, create=preset, duration=1.5, rate=800, seed=3)
        s = await run_load(cfg)
        after = await http.metrics()
        mid = s.market_id
        trades = await _all(http, "/trades", "trades", market_id=mid)
        open_orders = await _all(http, "/orders", "orders", market_id=mid, status="open")
        completed = await _all(http, "/completed_orders", "orders", market_id=mid)

    assert s.commands_sent == pytest.approx(1200, rel=0.05)
    assert s.acked + sum(s.rejected.values()) == s.commands_sent and s.lost == 0
    # every command was answered, and the server counted the same rejects
    server_rejects = Counter(after["rejects_total"]) - Counter(before["rejects_total"])
    assert dict(server_rejects) == s.rejected
    # the aggressor of every trade is one of our bots, and the counts agree trade by trade
    assert s.trades == len(trades) > 0
    assert s.volume == pytest.approx(sum(t["size"] for t in trades))
    by_kind: dict[str, float] = Counter()
    for b in s.bots:
        acct = b["account_id"]
        taken = [t for t in trades if t["taker_account"] == acct]
        assert b["trades"] == len(taken), b["bot"]
        assert b["volume"] == pytest.approx(sum(t["size"] for t in taken)), b["bot"]
        mine = [o for o in open_orders + completed if o["account_id"] == acct]
        assert b["accepted_orders"] == len(mine) == len({o["order_id"] for o in mine}), b["bot"]
        risk = b["risk"]
        assert risk is not None and risk["account_id"] == acct
        by_kind[b["kind"]] += risk["matched_volume"]
        assert b["sent"] == b["places"] + b["cancels"] + b["replaces"] + b["cancel_alls"]
    assert set(by_kind) == {"mm", "noise", "informed"} and all(v > 0 for v in by_kind.values()), by_kind


async def _lockstep_orders(server: ServerProcess, seed: int) -> list[tuple[Any, ...]]:
    cfg = LoadConfig(
        url=server.ws_url, create="tennis", mm_bots=1, noise_bots=2, informed_bots=1, seed=seed, steps=25
    )
    s = await run_load(cfg)
    assert s.lost == 0 and s.commands_sent > 50
    async with BetexHttp(server.ws_url) as http:
        orders = await _all(http, "/orders", "orders", market_id=s.market_id)
    keys = (
        "order_id",
        "account_id",
        "runner_id",
        "side",
        "price",
        "size",
        "size_matched",
        "size_cancelled",
        "status",
    )
    return sorted(tuple(o[k] for k in keys) for o in orders)


async def test_same_seed_on_a_fresh_server_reproduces_the_same_orders(
    server_factory: Any, tmp_path: Path
) -> None:
    a = server_factory(tmp_path / "a", "--durability", "async")
    b = server_factory(tmp_path / "b", "--durability", "async")
    first, second = await asyncio.gather(_lockstep_orders(a, 11), _lockstep_orders(b, 11))
    assert first == second
    assert any(o[6] > 0 for o in first), "some orders traded"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(pred: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_client_and_bots_reconnect_after_the_server_restarts(
    server_factory: Any, tmp_path: Path
) -> None:
    port = _free_port()
    data = tmp_path / "data"
    server = server_factory(data, "--port", str(port), "--durability", "async")
    client = BetexClient(server.ws_url, depth=5)
    states: list[ConnState] = []
    client.on_connection(lambda st: states.append(st.state))
    await client.connect()
    mid = await client.create_market("binary")
    await client.subscribe(mid, 5)
    snap = await client.wait_snapshot(mid)
    spec = MarketSpec.from_snapshot(snap, make_priors(snap.runner_ids, 1, binary=True))
    runner = BotRunner(client, spec, make_bots(spec, mm=1, noise=1, seed=1), rate=300)
    task = asyncio.create_task(runner.run(duration=60.0))
    await _until(lambda: runner.sent > 100, 10, "bots to send")
    server.stop()
    await _until(lambda: client.status.state is ConnState.RECONNECTING, 5, "the client to notice")
    server_factory(data, "--port", str(port), "--durability", "async")
    await client.wait_connected(20.0)
    sent_at_reconnect = runner.sent
    # re-subscribed: the market's snapshots flow again, and commands are answered
    t_back = time.time_ns()
    fresh = await client.wait_snapshot(mid, lambda s: s.received_ns > t_back, timeout=10.0)
    assert fresh.market_id == mid
    reply = await client.place(mid, 1, "BUY", 100, 1, 42)
    assert isinstance(reply, OrderResponse) and reply.status == "ACCEPTED"
    await _until(lambda: runner.sent > sent_at_reconnect + 100, 20, "bots to resume")
    runner.stop()
    await task
    assert client.status.reconnects == 1 and ConnState.RECONNECTING in states
    totals = runner.totals()
    assert (
        totals["acked"] + sum(totals["rejected"].values()) + runner.lost + runner.send_errors >= runner.sent
    )
    await client.close()
    assert client.status.state is ConnState.CLOSED


def _run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(betex_cmd("bots", *args), cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _check_shape(d: dict[str, Any]) -> None:
    for key in ("commands_sent", "acked", "trades"):
        assert isinstance(d[key], int) and d[key] >= 0, key
    assert isinstance(d["rejected"], dict) and all(isinstance(v, int) for v in d["rejected"].values())
    assert isinstance(d["volume"], int | float) and isinstance(d["commands_per_s"], int | float)
    lat = d["ack_latency_ms"]
    assert set(lat) >= {"p50", "p99", "p999", "max"}
    assert lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"]


def test_cli_json_summary_is_the_last_line(betex_server: ServerProcess) -> None:
    r = _run_cli(
        "--url", betex_server.ws_url, "--create", "soccer", "--duration", "1", "--rate", "500", "--json"
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.strip().splitlines()[-1])
    _check_shape(d)
    assert d["commands_sent"] == pytest.approx(500, rel=0.05)
    assert d["acked"] + sum(d["rejected"].values()) == d["commands_sent"]
    assert d["ack_latency_ms"]["max"] > 0 and d["no_ack"] is False
    r = _run_cli("--url", betex_server.ws_url, "--market-id", str(d["market_id"]), "--no-ack", "--duration", "1",
                 "--rate", "2000", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    n = json.loads(r.stdout.strip().splitlines()[-1])
    _check_shape(n)
    assert n["no_ack"] is True and n["commands_sent"] == pytest.approx(2000, rel=0.05)
    assert n["acked"] + sum(n["rejected"].values()) == n["commands_sent"]


def test_cli_ctrl_c_stops_cleanly_and_still_summarises(betex_server: ServerProcess) -> None:
    proc = subprocess.Popen(
        betex_cmd("bots", "--url", betex_server.ws_url, "--create", "binary", "--duration", "60", "--json"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = betex_server.get_json("/metrics")["commands_total"]
    end = time.monotonic() + 30
    while betex_server.get_json("/metrics")["commands_total"] < base + 200:  # the bots are trading
        assert proc.poll() is None and time.monotonic() < end, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    d = json.loads(out.strip().splitlines()[-1])
    _check_shape(d)
    assert 0 < d["duration_s"] < 10 and d["commands_sent"] > 0


def test_cli_unreachable_server_exits_5_with_one_line() -> None:
    r = _run_cli("--url", f"ws://127.0.0.1:{_free_port()}", "--duration", "1", timeout=30)
    assert r.returncode == 5
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr


def test_cli_rejects_market_id_with_create() -> None:
    r = _run_cli("--market-id", "1", "--create", "soccer")
    assert r.returncode == 2 and r.stderr.startswith("error: ")
