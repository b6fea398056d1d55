"""Fixtures for the operator toolkit: a real WAL written by a real engine + journal, a way to
run `betex` as a subprocess, and a small order driver for live servers."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.durability.journal import Journal
from betex.core.durability.snapshot import save as save_snapshot

REPO = Path(__file__).resolve().parents[2]
SEC = 1_000_000_000


@dataclass
class Result:
    code: int
    out: str
    err: str


def betex(*args: str) -> Result:
    """Run the `betex` CLI in-process (fast); the data dirs it reads are written by real writers."""
    from typer.testing import CliRunner

    from betex.cli.app import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def betex_proc(*args: str, timeout: float = 60.0) -> Result:
    """Run `python -m betex ARGS` as a separate process, through the real entry point."""
    proc = subprocess.run(
        [sys.executable, "-m", "betex", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_wal(data_dir: Path, rounds: int = 60, snapshot_at: int | None = None) -> Engine:
    """A WAL from a real engine: two markets (multi-runner and binary), resting orders, trades,
    cancels, a state change; one journal commit per batch of a few commands."""
    engine = Engine()
    ts = 1_700_000_000 * SEC
    with Journal.open_writer(data_dir, durability="async") as journal:

        def batch(*cmds: object) -> None:
            nonlocal ts
            ts += SEC // 100
            engine.begin_batch(ts)
            for cmd in cmds:
                engine.execute(cmd)
            journal.append(engine.end_batch(len(cmds)))
            if (
                snapshot_at is not None
                and engine.seq >= snapshot_at
                and not list((data_dir / "snapshots").glob("*.snap"))
            ):
                save_snapshot(engine, data_dir / "snapshots")

        batch(
            C.CreateMarket(
                "Home v Away",
                "EXCHANGE_ODDS",
                "MULTI_RUNNER",
                "IN_PLAY_CAPABLE",
                "OPEN",
                "PRE",
                (1, 2, 3),
                ("Home", "Draw", "Away"),
            ),
            C.CreateMarket("Will it?", "BINARY_YES", None, "PRE_ONLY", "OPEN", "PRE", (1,), ("YES",)),
        )
        for i in range(rounds):
            runner = 1 + i % 3
            price = 200 + (i % 5) * 10
            batch(
                C.PlaceOrder(1, runner, "BACK", price, 1000 + i, 10 + i % 4),
                C.PlaceOrder(1, runner, "LAY", price, 500, 20 + i % 3),
                C.PlaceOrder(2, 1, "BUY", 5000 + (i % 4) * 100, 10, 30),
                C.PlaceOrder(2, 1, "SELL", 5100, 4, 31),
            )
            if i % 7 == 3:
                batch(C.CancelAll(1, 10 + i % 4))
        batch(C.SetMarketState(1, "SUSPENDED"))
    return engine


@pytest.fixture(scope="module")
def wal_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only data dir with a real WAL (module-scoped: tests must not modify it)."""
    data = tmp_path_factory.mktemp("wal") / "data"
    write_wal(data)
    return data


@pytest.fixture
def wal_copy(wal_data: Path, tmp_path: Path) -> Path:
    """A private copy of `wal_data` a test may damage or write into."""
    dest = tmp_path / "copy"
    shutil.copytree(wal_data, dest, ignore=shutil.ignore_patterns("lock.mdb", "writer.lock"))
    return dest


async def _place_orders(url: str, n: int, market_id: int | None) -> tuple[int, list[int]]:
    from betex.client.connection import BetexClient
    from betex.client.messages import OrderResponse

    async with BetexClient(url, reconnect=False) as client:
        if market_id is None:
            market_id = await client.create_market("soccer")
        ids = []
        for i in range(n):
            side = "BACK" if i % 2 else "LAY"
            reply = await client.place(market_id, 1 + i % 3, side, 2.0 + (i % 4) / 10, 5.0, 100 + i % 5)
            assert isinstance(reply, OrderResponse) and reply.order_id is not None, reply
            ids.append(reply.order_id)
        return market_id, ids


def place_orders(url: str, n: int = 20, market_id: int | None = None) -> tuple[int, list[int]]:
    """Create a soccer market (unless given) and place `n` acked orders; (market_id, order ids)."""
    return asyncio.run(_place_orders(url, n, market_id))


@pytest.fixture
def tmp_data(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
