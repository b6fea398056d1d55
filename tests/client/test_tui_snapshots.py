"""Snapshot tests of `betex tui` screens rendered from a fixed `UiState` (no network, no clock).

Update the baselines after an intended change with
`pytest tests/client/test_tui_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest

from betex.client import messages as m
from betex.client.tui import BetexTui, TuiConfig
from betex.client.tui.metrics import MetricsView, StageLatency
from betex.client.tui.state import (
    BotRow,
    BotsView,
    ConnView,
    Focus,
    MarketRow,
    Notice,
    OrderRow,
    RiskView,
    TradeRow,
    UiState,
)

SIZE = (160, 48)
SIZES = {"80x24": (80, 24), "100x30": (100, 30), "132x40": (132, 40), "200x50": (200, 50)}
"""The terminal sizes issue 16 names: the smallest supported, two common ones and a large one."""
TS = 1_732_406_400_000_000_000  # 2024-11-24 00:00:00 UTC
URL = "ws://127.0.0.1:3000/ws_ctl?depth=10"


def L(price: float, size: float, implied: float = 0.0) -> m.Level:
    return m.Level(price, size, implied)


def snapshot(market_id: int, **kw: Any) -> m.Snapshot:
    base: dict[str, Any] = {
        "market_id": market_id,
        "name": "Arsenal v Chelsea",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "MULTI_RUNNER",
        "market_kind": "IN_PLAY_CAPABLE",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "version": 3,
        "seq": 1042,
        "ts": TS,
        "total_matched": 1520.0,
        "runners": (),
        "book": None,
        "received_ns": TS,
    }
    base.update(kw)
    return m.Snapshot(**base)


SOCCER = snapshot(
    1,
    runners=(
        m.RunnerInfo(1, "Home", 2.52, 800.0),
        m.RunnerInfo(2, "Draw", 3.4, 420.0),
        m.RunnerInfo(3, "Away", None, 0.0),
    ),
    book=m.ExchangeBook(
        (
            m.RunnerLadder(
                1,
                (L(2.5, 40.0), L(2.48, 125.5), L(2.46, 300.0), L(2.44, 12.0)),
                (L(2.54, 25.0), L(2.56, 80.0), L(2.6, 1500.0)),
            ),
            m.RunnerLadder(2, (L(3.35, 60.0), L(3.3, 10.0)), (L(3.45, 45.0),)),
            m.RunnerLadder(3, (), (L(4.1, 20.0), L(4.2, 33.0))),
        )
    ),
)

TENNIS = snapshot(
    2,
    name="Player A v Player B",
    book_type="TWO_RUNNER",
    market_kind="PRE_ONLY",
    version=1,
    total_matched=64.0,
    runners=(m.RunnerInfo(1, "Player A", 1.8, 64.0), m.RunnerInfo(2, "Player B", None, 0.0)),
    book=m.ExchangeBook(
        (
            m.RunnerLadder(1, (L(1.8, 30.0, 10.0),), (L(1.82, 50.0),)),
            m.RunnerLadder(2, (L(2.2, 41.66),), (L(2.24, 12.5, 12.5),)),
        )
    ),
)

BINARY = snapshot(
    3,
    name="Will it rain tomorrow?",
    market_model="BINARY_YES",
    book_type=None,
    market_kind="PRE_ONLY",
    version=1,
    total_matched=150.0,
    runners=(m.RunnerInfo(1, "YES", 4550, 150.0),),
    book=m.BinaryBook((L(4500, 100), L(4400, 20)), (L(4600, 50), L(4650, 5), L(4800, 300))),
)


def fixed_state(selected: m.Snapshot, focus: Focus = Focus.MARKETS) -> UiState:
    st = UiState(account_id=1, url=URL)
    st.conn = ConnView("CONNECTED", URL, 1042, 0.4)
    st.server_markets = 3
    for snap in (SOCCER, TENNIS, BINARY):
        st.markets[snap.market_id] = MarketRow(
            snap.market_id, snap.name, snap.market_state, snap.market_phase, snap.market_model
        )
        st.snapshots[snap.market_id] = snap
    st.markets[2] = MarketRow(2, TENNIS.name, "SUSPENDED", "PRE", "EXCHANGE_ODDS")
    st.select_market(selected.market_id)
    st.focus = focus
    mid = selected.market_id
    binary = selected.market_model == "BINARY_YES"
    st.trades = tuple(
        TradeRow(
            100 - i,
            (i % len(selected.runners)) + 1,
            p,
            s,
            implied=i == 2,
            voided=i == 4,
            ts=TS + i * 1_250_000_000,
        )
        for i, (p, s) in enumerate(
            [(4550, 10), (4500, 5), (4600, 40), (4550, 1), (4400, 2)]
            if binary
            else [(2.52, 10.0), (3.4, 4.5), (2.5, 120.0), (2.52, 7.25), (3.45, 2.0)]
        )
    )
    st.orders = {
        o.order_id: o
        for o in (
            OrderRow(41, mid, 1, "BUY" if binary else "BACK", 4500 if binary else 2.6, 10.0, 0.0, 10.0),
            OrderRow(
                40,
                mid,
                1,
                "SELL" if binary else "LAY",
                4800 if binary else 2.44,
                12.0,
                12.0,
                0.0,
                "EXECUTION_COMPLETE",
            ),
            OrderRow(
                39,
                mid,
                1,
                "BUY" if binary else "BACK",
                4400 if binary else 2.5,
                8.0,
                3.0,
                0.0,
                "EXECUTION_COMPLETE",
                size_cancelled=5.0,
            ),
            OrderRow(
                38,
                mid,
                1 if binary else 2,
                "BUY" if binary else "BACK",
                4300 if binary else 3.5,
                6.0,
                2.0,
                4.0,
            ),
            OrderRow(
                37,
                mid,
                1,
                "BUY" if binary else "BACK",
                4200 if binary else 3.0,
                5.0,
                0.0,
                0.0,
                "EXECUTION_COMPLETE",
                size_lapsed=5.0,
            ),
        )
    }
    st.risk = RiskView(
        mid,
        tuple((r.runner_id, pnl) for r, pnl in zip(selected.runners, (17.6, -12.0, -8.0), strict=False))
        + (((-1, -10.0),) if binary else ()),
        worst_case=-12.0,
        worst_case_with_unmatched=-30.0,
        matched_volume=15.0,
        open_orders=2,
    )
    st.bots = BotsView(
        (
            BotRow("mm-1001", "mm", 1001, 1200, 1188, 12, 40, 1520.5),
            BotRow("noise-2001", "noise", 2001, 640, 630, 10, 55, 480.0),
            BotRow("informed-3001", "informed", 3001, 35, 35, 0, 21, 910.0),
        ),
        running=True,
        queued=3,
        dropped=17,
        market_id=mid,
    )
    st.metrics = MetricsView(
        events_per_s=2450.0,
        commands_per_s=1210.0,
        rejects_per_s=1.5,
        seq=1042,
        commands_total=50_000,
        events_total=99_000,
        rejects_total=120,
        ring_depth=2,
        ring_size=16384,
        wait_strategy="blocking-wait",
        projection_lag=0,
        connections=2,
        wal_bytes=3_400_000,
        durability="sync",
        stages=(
            StageLatency("ingress_to_engine", 20_480, 163_840, 500),
            StageLatency("engine", 49_152, 98_304, 120),
            StageLatency("wal_commit", 81_920, 1_310_720, 120),
            StageLatency("handlers", 16_384, 40_960, 120),
            StageLatency("projection", 49_152, 229_376, 120),
        ),
        window_s=5.0,
    )
    st.notices.extend(
        [
            Notice(f"connected to {URL}", "ok"),
            Notice("create soccer (Home/Draw/Away): market 1 created", "ok"),
            Notice("back Home 10 @ 2.6: accepted #41", "ok"),
            Notice("lay Home 5 @ 2.51: INVALID_ODDS 2.51 is not on the price ladder", "error"),
            Notice("bots running"),
        ]
    )
    return st


def app_for(state: UiState) -> BetexTui:
    return BetexTui(TuiConfig(url=URL), state=state, offline=True)


def test_main_screen_soccer_market(snap_compare: Any) -> None:
    assert snap_compare(app_for(fixed_state(SOCCER)), terminal_size=SIZE)


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_main_screen_fits_the_terminal(snap_compare: Any, size: str) -> None:
    """80x24 up: every runner, my orders, the P&L and the log show; the rest collapses in
    layout.py's order (right column, then trades, then ladder levels)."""
    assert snap_compare(app_for(fixed_state(SOCCER)), terminal_size=SIZES[size])


def test_below_the_minimum_says_the_terminal_is_too_small(snap_compare: Any) -> None:
    assert snap_compare(app_for(fixed_state(SOCCER)), terminal_size=(79, 23))


def test_settled_market_shows_settled_pnl_and_only_valid_keys(snap_compare: Any) -> None:
    st = fixed_state(SOCCER)
    st.markets[1] = MarketRow(1, SOCCER.name, "SETTLED", "IN_PLAY", "EXCHANGE_ODDS")
    st.snapshots[1] = snapshot(
        1, market_state="SETTLED", market_phase="IN_PLAY", runners=SOCCER.runners, book=SOCCER.book
    )
    assert st.risk is not None
    st.risk = RiskView(1, st.risk.if_win, -12.0, -12.0, 15.0, 0, settled_pnl=17.6)
    assert snap_compare(app_for(st), terminal_size=SIZES["100x30"])


def test_order_ticket_persist_box(snap_compare: Any) -> None:
    """The ticket at 80x24 after tab to the persist box and space: it reads PERSIST, ticked."""
    assert snap_compare(
        app_for(fixed_state(SOCCER, Focus.RUNNERS)),
        press=["b", "tab", "tab", "space"],
        terminal_size=SIZES["80x24"],
    )


def test_two_runner_market_marks_implied_liquidity(snap_compare: Any) -> None:
    assert snap_compare(app_for(fixed_state(TENNIS, Focus.ORDERS)), terminal_size=SIZE)


def test_binary_market_shows_bids_and_asks(snap_compare: Any) -> None:
    assert snap_compare(app_for(fixed_state(BINARY, Focus.RUNNERS)), terminal_size=SIZE)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(app_for(fixed_state(SOCCER)), press=["question_mark"], terminal_size=SIZE)


def test_help_screen_scrolls_at_80x24(snap_compare: Any) -> None:
    """The help fits 80 columns and scrolls: after ↓×12 the trade and bot keys are in view."""
    keys = ["question_mark", *["down"] * 12]
    assert snap_compare(app_for(fixed_state(SOCCER)), press=keys, terminal_size=SIZES["80x24"])
