"""Fail-stop: when the WAL cannot be written the engine stops, nothing unwritten is acknowledged,
the server keeps serving reads, `/health` says failed, and SIGTERM shuts it down with status 1."""

from __future__ import annotations

import asyncio
import resource
import signal
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ServerProcess
from tests.server.wsclient import Client

LIMIT = 512 * 1024


def _cap_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


async def _fill_until_refused(server: ServerProcess) -> tuple[int, dict[str, object]]:
    cl = await Client.connect(server.ws_url + "/ws_ctl")
    try:
        kind, created = await cl.call(
            "CREATE_MARKET",
            {"name": "full disk", "market_model": "EXCHANGE_ODDS", "book_type": "MULTI_RUNNER",
             "market_kind": "PRE_ONLY", "market_state": "OPEN", "market_phase": "PRE", "runner_ids": [1, 2]},
        )  # fmt: skip
        assert kind == "MARKET_CREATED"
        accepted = 0
        for i in range(100_000):
            order = {"market_id": created["market_id"], "runner_id": 1 + i % 2, "side": "BACK",
                     "price": 3.0, "size": 2.0, "account_id": 1 + i % 50, "client_ref": f"r{i}-" + "x" * 25}  # fmt: skip
            kind, reply = await cl.call("PLACE_ORDER", order)
            if reply.get("status") != "ACCEPTED":
                return accepted, reply
            accepted += 1
        raise AssertionError("the WAL never filled up")
    finally:
        await cl.close()


def test_wal_write_failure_stops_the_engine_but_not_the_reads(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--durability", "async", preexec_fn=_cap_file_size)
    accepted, refusal = asyncio.run(_fill_until_refused(server))

    assert accepted > 100
    assert refusal["status"] == "REJECTED" and refusal["error"]["code"] == "OVERLOADED"  # type: ignore[index]
    status, health = server.get("/health")
    assert status == 503 and health["status"] == "failed" and health["wal"] == "failed"
    orders = server.get_json("/orders?limit=10000")["orders"]
    assert len(orders) == accepted  # every acknowledged order is in the read model, nothing more
    assert "fail-stop" in server.log() or "engine stopped" in server.log()
    assert server.stop() == 1
    assert "error: the engine had stopped (fail-stop)" in server.log()
