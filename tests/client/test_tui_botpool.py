"""The TUI's bot channel: pausing or switching markets drops queued bot commands cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from betex.client import BetexClient
from betex.client import messages as m
from betex.client.bots import BookView
from betex.client.tui.botpool import BotPool, is_bot_account
from betex.client.tui.config import TuiConfig


def soccer(market_id: int) -> m.Snapshot:
    return m.Snapshot(
        market_id,
        "Home v Away",
        "EXCHANGE_ODDS",
        "MULTI_RUNNER",
        "IN_PLAY_CAPABLE",
        "OPEN",
        "PRE",
        1,
        5,
        0,
        0.0,
        (m.RunnerInfo(1, "Home"), m.RunnerInfo(2, "Draw"), m.RunnerInfo(3, "Away")),
        m.ExchangeBook(()),
    )


def make_pool(sent: list[dict[str, Any]]) -> tuple[BetexClient, BotPool]:
    client = BetexClient("ws://127.0.0.1:9")  # never connected: the pool is driven by hand
    client.snapshots[1] = soccer(1)
    client.snapshots[2] = soccer(2)
    pool = BotPool(client, TuiConfig(mm_bots=1, noise_bots=1, informed_bots=0), sent.append, asyncio.Event())
    pool.retarget(1)
    assert pool.step(0.0) == 0  # builds the bots, issues nothing while disconnected
    return client, pool


async def test_pausing_drops_queued_bot_commands_and_bots_forget_them() -> None:
    sent: list[dict[str, Any]] = []
    client, pool = make_pool(sent)
    assert [b.kind for b in pool.bots] == ["mm", "noise"]
    maker = pool.bots[0]
    view = BookView.from_snapshot(client.snapshots[1])
    for _ in range(4):
        issued = maker.issue(view)
        assert issued is not None
        pool.queue.put_nowait((maker, issued[0], b"{}"))
    assert maker.inflight == 4
    pool.start()
    assert pool.pause() == 4
    assert pool.queue.empty() and maker.inflight == 0 and pool.dropped == 4
    v = pool.view()
    assert not v.running and v.dropped == 4 and v.queued == 0 and v.market_id == 1


async def test_switching_market_cancels_the_old_bots_orders_on_the_user_channel() -> None:
    sent: list[dict[str, Any]] = []
    client, pool = make_pool(sent)
    maker = pool.bots[0]
    maker.issue(BookView.from_snapshot(client.snapshots[1]))
    pool.retarget(2)
    assert sent == [m.cancel_all(1, maker.account_id)]  # only bots that sent something
    pool.step(0.0)
    assert pool.spec is not None and pool.spec.market_id == 2 and len(pool.bots) == 2
    pool.add("informed")
    assert [b.account_id for b in pool.bots] == [1001, 2001, 3001]
    assert pool.remove("noise") and not pool.remove("noise")
    assert pool.counts == {"mm": 1, "noise": 0, "informed": 1}


def test_bot_accounts_are_recognised_by_range() -> None:
    assert is_bot_account(1001) and is_bot_account(3999)
    assert not is_bot_account(1) and not is_bot_account(7)
