"""Bots against a real `betex serve` through the market states of domain.md §7: a runner removed
with `betex market remove-runner` while market makers and noise bots trade a CROSS_MATCHED soccer
market, a HALTED market, and an in-play bet delay (placements answered DELAYED)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from betex.client import BetexClient, BetexHttp
from betex.client import messages as m
from betex.client.bots import Bot, MarketMaker, MarketSpec, make_bots, make_priors
from betex.client.bots.runner import BotRunner
from betex.client.presets import preset_message
from tests.conftest import REPO, ServerProcess

TOKEN = "states-admin-token"
ARGS = ("--durability", "async", "--snapshot-interval-ms", "50", "--admin-token", TOKEN)
REMOVED = 2
"""The Draw of the soccer preset (Home 1, Draw 2, Away 3)."""


@dataclass
class Run:
    server: ServerProcess
    admin: BetexClient
    http: BetexHttp
    client: BetexClient
    runner: BotRunner
    market_id: int
    statuses: Counter[str]
    """Order reply statuses the bots received (ACCEPTED, DELAYED, CANCELLED, …)."""

    def rejected(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for b in self.runner.bots:
            total.update(b.stats.rejected)
        return total

    def sent(self) -> int:
        return sum(b.stats.sent for b in self.runner.bots)

    async def server_rejects(self) -> Counter[str]:
        return Counter((await self.http.metrics())["rejects_total"])

    async def trades(self) -> list[dict[str, Any]]:
        body = await self.http.get("/trades", limit=10_000, market_id=self.market_id)
        rows = list(body["trades"])
        assert len(rows) < 10_000, "more rows than one page: shorten the run"
        return rows


@asynccontextmanager
async def running_bots(
    server: ServerProcess, create: str | dict[str, Any], *, mm: int = 2, noise: int = 3, rate: float = 300.0
) -> AsyncIterator[Run]:
    """Market makers and noise bots trading a fresh market (a preset, or a CREATE_MARKET message
    sent by the admin) until the end of the block; the run is stopped and drained on the way out."""
    admin = BetexClient(server.ws_url, token=TOKEN, reconnect=False)
    await admin.connect()
    http = BetexHttp(server.ws_url)
    await http.__aenter__()
    if isinstance(create, str):
        market_id = await admin.create_market(create)
    else:
        created = await admin.request(create)
        assert isinstance(created, m.MarketCreated), created
        market_id = created.market_id
    client = BetexClient(server.ws_url, market_id=market_id, depth=10)
    await client.connect()
    snap = await client.wait_snapshot(market_id)
    spec = MarketSpec.from_snapshot(snap, make_priors(snap.runner_ids, seed=7))
    runner = BotRunner(client, spec, make_bots(spec, mm=mm, noise=noise, seed=7), rate=rate, http=http)
    statuses: Counter[str] = Counter()
    off = client.on(m.OrderResponse, lambda r: statuses.update((r.status,)))
    task = asyncio.get_running_loop().create_task(runner.run())
    try:
        yield Run(server, admin, http, client, runner, market_id, statuses)
    finally:
        off()
        runner.stop()
        await asyncio.wait_for(task, 15)
        runner.detach()
        await client.close()
        await http.__aexit__(None, None, None)
        await admin.close()


async def betex_async(*args: str) -> dict[str, Any]:
    """`python -m betex ARGS --json` as a real process, without blocking the bots' event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "betex", *args, "--json",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (proc.returncode, out, err)
    body: dict[str, Any] = json.loads(out)
    return body


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.05)


def book_overround(snap: m.Snapshot, runner_ids: tuple[int, ...]) -> float:
    """Σ 1/mid over `runner_ids` of the best back and lay prices: ~1 for a book priced as one
    winner among those runners."""
    book = snap.book
    assert isinstance(book, m.ExchangeBook)
    total = 0.0
    for r in runner_ids:
        ladder = book.ladder(r)
        assert ladder is not None and ladder.available_to_back and ladder.available_to_lay, r
        mid = (ladder.available_to_back[0].price + ladder.available_to_lay[0].price) / 2
        total += 1 / mid
    return total


def makers(bots: list[Bot]) -> list[MarketMaker]:
    return [b for b in bots if isinstance(b, MarketMaker)]


async def test_bots_stop_trading_a_removed_runner_and_reprice_the_others(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, *ARGS)
    async with running_bots(server, "soccer") as run:
        await asyncio.sleep(2.0)
        # INVALID_ORDER is the usual churn: a cancel of a quote that was filled meanwhile
        assert run.runner.sent > 200 and set(run.rejected()) <= {"INVALID_ORDER"}, run.rejected()
        before = await run.client.wait_snapshot(run.market_id, lambda s: s.seq > 0)
        assert before.book_type == "CROSS_MATCHED"
        first_trades = len(await run.trades())
        assert first_trades > 0

        url = ("--url", server.ws_url, "--admin-token", TOKEN)
        removed = await betex_async(
            "market", "remove-runner", str(run.market_id), "--runner", str(REMOVED), "--factor", "25", *url
        )
        assert removed["market_state"] == "OPEN"
        # every bot notices from the snapshots it already receives; then a settling time for
        # the commands that were in flight when it did
        await until(lambda: all(REMOVED in b.removed for b in run.runner.bots))
        await asyncio.sleep(0.5)
        bots_settled, server_settled = run.rejected(), await run.server_rejects()
        sent_settled = run.sent()
        last_trade = max(t["trade_id"] for t in await run.trades())
        await asyncio.sleep(2.5)
        bots_end, server_end = run.rejected(), await run.server_rejects()
        snap = await run.client.wait_snapshot(run.market_id, lambda s: s.seq > before.seq)
        trades = await run.trades()
        bots = run.runner.bots

        assert [r.removed for r in snap.runners] == [False, True, False]
        for b in bots:
            assert b.runner_ids == (1, 3) and set(b.priors) == {1, 3}, b.name
            assert sum(b.priors.values()) == pytest.approx(1.0)
            assert REMOVED not in b.exposure.if_win, b.name
        # no order on the removed runner after the settling time: no INVALID_RUNNER, on the
        # bots' counters nor on the server's
        assert bots_end["INVALID_RUNNER"] == bots_settled["INVALID_RUNNER"], (bots_settled, bots_end)
        assert server_end["INVALID_RUNNER"] == server_settled["INVALID_RUNNER"], (server_settled, server_end)
        # the others keep trading
        assert run.sent() > sent_settled + 300
        later = [t for t in trades if t["trade_id"] > last_trade]
        assert {t["runner_id"] for t in later} == {1, 3}, Counter(t["runner_id"] for t in later)
        # the makers price Home v Away as the whole market again
        for mm in makers(bots):
            fair = sum(mm.model.index_to_prob(mm.fair[r]) for r in mm.runner_ids)
            assert fair == pytest.approx(1.0, abs=0.1), (mm.name, mm.fair)
            assert REMOVED not in mm.fair and all(q.runner_id != REMOVED for q in mm.quotes.values())
        assert book_overround(snap, (1, 3)) == pytest.approx(1.0, abs=0.1)
        assert book_overround(before, (1, 3)) < 0.85  # before: the Draw had its share


async def test_bots_send_nothing_while_halted_and_resume_after(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, *ARGS)
    async with running_bots(server, "soccer") as run:
        await asyncio.sleep(1.5)
        open_rejects = run.rejected()
        reply = await run.admin.set_state(run.market_id, "HALTED")
        assert isinstance(reply, m.MarketUpdated), reply
        await run.client.wait_snapshot(run.market_id, lambda s: s.market_state == "HALTED")
        await asyncio.sleep(0.3)  # the replies to what was in flight
        halted_sent, halted_rejects = run.sent(), run.rejected()
        await asyncio.sleep(1.5)
        assert run.sent() == halted_sent  # nothing sent while halted
        assert run.rejected() == halted_rejects
        # what was in flight when the halt was seen, at most: no flood of rejects
        assert 0 < halted_rejects["MARKET_HALTED"] < 50 or halted_rejects == open_rejects, halted_rejects
        assert set(halted_rejects - open_rejects) <= {"MARKET_HALTED", "INVALID_ORDER"}, halted_rejects

        reply = await run.admin.set_state(run.market_id, "OPEN")
        assert isinstance(reply, m.MarketUpdated), reply
        await asyncio.sleep(1.0)
        assert run.sent() > halted_sent + 100
        assert run.rejected()["MARKET_HALTED"] == halted_rejects["MARKET_HALTED"]


async def test_delayed_placements_are_open_orders_not_errors(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, *ARGS)
    create = preset_message("soccer")
    create["CREATE_MARKET"]["bet_delay_ms"] = 300
    async with running_bots(server, create) as run:
        await asyncio.sleep(1.0)  # pre-play: no delay
        assert isinstance(await run.admin.await_live(run.market_id), m.MarketUpdated)
        assert isinstance(await run.admin.go_live(run.market_id), m.MarketUpdated)
        await run.client.wait_snapshot(run.market_id, lambda s: s.market_phase == "IN_PLAY")
        accepted = sum(b.stats.accepted_orders for b in run.runner.bots)
        await asyncio.sleep(3.0)
        bots = run.runner.bots
        # going live suspends the market for a moment: what was in flight then is refused
        rejected = run.rejected()
        assert set(rejected) <= {"INVALID_ORDER", "MARKET_SUSPENDED"}, rejected
        assert rejected["MARKET_SUSPENDED"] < 50, rejected
        assert sum(b.stats.accepted_orders for b in bots) > accepted + 50
        # the makers' delayed quotes matured and rest in the book
        snap = await run.client.wait_snapshot(run.market_id, lambda s: s.market_phase == "IN_PLAY")
        assert book_overround(snap, (1, 2, 3)) == pytest.approx(1.0, abs=0.15)
        for mm in makers(bots):
            assert any(not q.delayed and q.order_id is not None for q in mm.quotes.values()), mm.name
        assert run.statuses["DELAYED"] > 50, run.statuses
