"""The TUI's pure parts: `UiState` bookkeeping, metrics rates and sticky percentiles, flags."""

from __future__ import annotations

from betex.client import messages as m
from betex.client.tui.config import TuiConfig, config_from_flags, split_bots
from betex.client.tui.metrics import MetricsTracker, percentile_from_buckets
from betex.client.tui.session import url_depth
from betex.client.tui.state import (
    ConnView,
    Focus,
    MarketsUpdate,
    OrderRow,
    OrdersUpdate,
    TradeRow,
    TradesUpdate,
    UiState,
)

ACCOUNT = 7


def cid(account: int, n: int) -> int:
    return (account << 32) | n


def snap(market_id: int = 1, state: str = "OPEN", runners: int = 3) -> m.Snapshot:
    return m.Snapshot(
        market_id,
        f"m{market_id}",
        "EXCHANGE_ODDS",
        "MULTI_RUNNER",
        "IN_PLAY_CAPABLE",
        state,
        "PRE",
        1,
        10,
        0,
        0.0,
        tuple(m.RunnerInfo(i, f"r{i}") for i in range(1, runners + 1)),
        m.ExchangeBook(()),
    )


def test_first_snapshot_selects_its_market_and_marks_panes_dirty() -> None:
    st = UiState(account_id=ACCOUNT)
    st.take_dirty()
    st.apply(snap(4))
    assert st.selected_market == 4 and st.cursor_market == 4
    assert st.runner_ids == (1, 2, 3) and st.selected_runner == 1
    assert {"ladder", "markets"} <= st.take_dirty()
    assert st.take_dirty() == set()


def test_reply_to_a_tracked_command_becomes_a_notice_and_selects_a_created_market() -> None:
    st = UiState(account_id=ACCOUNT)
    st.track(cid(0, 5), "create soccer")
    st.apply(m.MarketCreated(cid(0, 5), 9, snap(9)))
    assert st.selected_market == 9 and 9 in st.markets
    assert st.notices[-1].text == "create soccer: market 9 created" and st.notices[-1].level == "ok"
    assert not st.pending

    st.track(cid(0, 6), "close #9")
    st.apply(m.Ack(cid(0, 6), False, m.ErrorInfo("INVALID_TRANSITION", "already closed")))
    assert st.notices[-1].level == "error" and "INVALID_TRANSITION" in st.notices[-1].text


def test_without_acks_commands_are_noted_as_sent_and_not_awaited() -> None:
    st = UiState(account_id=ACCOUNT, no_ack=True)
    st.track(cid(0, 1), "suspend #1")
    assert not st.pending and st.notices[-1].text == "suspend #1: sent (no ack)"


def test_order_responses_track_my_orders_and_rejects_are_logged() -> None:
    st = UiState(account_id=ACCOUNT)
    st.apply(snap(1))
    st.track(cid(ACCOUNT, 1), "back r1")
    st.apply(
        m.OrderResponse(cid(ACCOUNT, 1), "ACCEPTED", 42, 1, 1, "BACK", 2.5, 10.0, 4.0, 6.0),
    )
    (o,) = st.order_list
    assert (o.order_id, o.size_matched, o.size_remaining, o.is_open) == (42, 4.0, 6.0, True)
    assert "accepted #42, matched 4" in st.notices[-1].text

    st.apply(m.OrderResponse(cid(ACCOUNT, 2), "CANCELLED", 42, 1, 1, "BACK", 2.5, 10.0, 4.0, 0.0))
    assert not st.order_list[0].is_open

    st.track(cid(ACCOUNT, 3), "lay r2")
    st.apply(m.OrderResponse(cid(ACCOUNT, 3), "REJECTED", error=m.ErrorInfo("INVALID_ODDS", "2.51")))
    assert st.notices[-1].level == "error" and "INVALID_ODDS" in st.notices[-1].text
    # someone else's order response (another account) is not mine
    st.apply(m.OrderResponse(cid(1001, 1), "ACCEPTED", 50, 1, 1, "LAY", 2.5, 5.0, 0.0, 5.0))
    assert 50 not in st.orders


def test_polled_orders_replace_the_markets_rows_but_keep_fresher_open_replies() -> None:
    st = UiState(account_id=ACCOUNT)
    st.apply(snap(1))
    st.apply(m.OrderResponse(cid(ACCOUNT, 1), "ACCEPTED", 43, 1, 1, "LAY", 3.0, 5.0, 0.0, 5.0))
    polled = (OrderRow(42, 1, 1, "BACK", 2.5, 10.0, 10.0, 0.0, "EXECUTION_COMPLETE"),)
    st.apply(OrdersUpdate(1, polled))
    assert [o.order_id for o in st.order_list] == [43, 42]  # open first
    st.apply(OrdersUpdate(2, (OrderRow(99, 2, 1, "BACK", 2.0, 1.0, 0.0, 1.0),)))
    assert 99 not in st.orders  # not the selected market: ignored


def test_trades_and_markets_updates() -> None:
    st = UiState(account_id=ACCOUNT)
    st.apply(snap(1))
    st.apply(TradesUpdate(1, (TradeRow(1, 1, 2.5, 4.0),)))
    assert len(st.trades) == 1
    st.apply(TradesUpdate(2, (TradeRow(2, 1, 2.5, 4.0),)))
    assert st.trades[0].trade_id == 1
    st.apply(MarketsUpdate((m.MarketInfo(1, "m1", "SUSPENDED", "PRE"), m.MarketInfo(2, "m2", "OPEN", "PRE"))))
    assert st.markets[1].market_state == "SUSPENDED" and st.market_ids == [1, 2]
    st.apply(m.MarketUpdated(None, 2, "CLOSED", "PRE", 3))
    assert st.markets[2].market_state == "CLOSED"


def test_navigation_moves_the_cursor_of_the_focused_pane_and_clamps() -> None:
    st = UiState(account_id=ACCOUNT)
    st.apply(snap(1))
    st.apply(snap(2))
    st.move_cursor(5)
    assert st.cursor_market == 2
    assert st.select_market(st.cursor_market) and st.selected_market == 2
    assert not st.select_market(2)
    st.cycle_focus()
    assert st.focus is Focus.RUNNERS
    st.move_cursor(1)
    st.move_cursor(10)
    assert st.selected_runner == 3
    st.cycle_focus(-2)
    assert st.focus is Focus.ORDERS


def test_connection_changes_are_logged_once_and_clear_pending() -> None:
    st = UiState(account_id=ACCOUNT)
    st.apply(ConnView("CONNECTING"))
    assert not st.notices
    st.apply(ConnView("CONNECTED", "ws://x/ws_ctl"))
    st.track(cid(0, 1), "settle #1")
    st.apply(ConnView("RECONNECTING", "ws://x/ws_ctl", last_error="server closed"))
    st.apply(ConnView("RECONNECTING", "ws://x/ws_ctl", failed_attempts=3, next_retry_s=0.8))
    assert [n.level for n in st.notices][-1] == "error" and "connection lost" in st.notices[-1].text
    assert not st.pending
    st.apply(ConnView("CONNECTED", "ws://x/ws_ctl", reconnects=1))
    assert st.notices[-1].text == "connected to ws://x/ws_ctl (reconnect 1)"


def metrics_body(cmds: int, events: int, buckets: list[list[int]]) -> dict[str, object]:
    return {
        "seq": events,
        "commands_total": cmds,
        "events_total": events,
        "rejects_total": {"INVALID_ODDS": 1},
        "stage_latency": {"engine": {"count": sum(n for _, n in buckets), "buckets": buckets}},
    }


def test_metrics_rates_over_the_window_and_sticky_stage_percentiles() -> None:
    tr = MetricsTracker(window_s=2.0)
    v = tr.update(metrics_body(0, 0, []), 10.0)
    assert v.commands_per_s == 0.0 and v.stages[0].p50_ns == 0
    v = tr.update(metrics_body(100, 300, [[1000, 90], [5000, 10]]), 11.0)
    assert v.commands_per_s == 100.0 and v.events_per_s == 300.0
    assert (v.stages[0].p50_ns, v.stages[0].p99_ns, v.stages[0].samples) == (1000, 5000, 100)
    # the next poll's delta is all slow: the estimate follows the delta, not the lifetime
    v = tr.update(metrics_body(200, 600, [[1000, 90], [5000, 10], [80000, 50]]), 12.0)
    assert (v.stages[0].p50_ns, v.stages[0].p99_ns) == (80000, 80000)
    assert v.commands_per_s == 100.0 and v.window_s == 2.0
    # nothing new: sticky, and the rate window slides (samples older than 2 s drop out)
    v = tr.update(metrics_body(200, 600, [[1000, 90], [5000, 10], [80000, 50]]), 14.0)
    assert (v.stages[0].p50_ns, v.stages[0].p99_ns) == (80000, 80000)
    assert v.commands_per_s == 0.0
    # a server restart (counters went back) resets the baseline instead of going negative
    v = tr.update(metrics_body(5, 10, [[2000, 3]]), 15.0)
    assert v.commands_per_s == 0.0 and v.stages[0].p50_ns == 2000


def test_percentile_from_buckets() -> None:
    rows = [(10, 50), (20, 49), (30, 1)]
    assert percentile_from_buckets(rows, 0.5) == 10
    assert percentile_from_buckets(rows, 0.99) == 20
    assert percentile_from_buckets(rows, 1.0) == 30
    assert percentile_from_buckets([], 0.5) == 0


def test_bot_flags() -> None:
    assert split_bots(5) == {"mm": 2, "noise": 2, "informed": 1}
    assert split_bots(0) == {"mm": 0, "noise": 0, "informed": 0}
    cfg = config_from_flags()
    assert not cfg.autostart_bots and cfg.bot_counts == {"mm": 2, "noise": 2, "informed": 1}
    cfg = config_from_flags(bots=4, informed_bots=3)
    assert cfg.autostart_bots and cfg.bot_counts == {"mm": 2, "noise": 1, "informed": 3}
    assert not config_from_flags(bots=0).autostart_bots
    assert config_from_flags(mm_bots=3).bot_counts == {"mm": 3, "noise": 2, "informed": 1}
    assert config_from_flags(high_throughput=True).bot_rate > TuiConfig().bot_rate
    assert url_depth("ws://h:1/ws_ctl?depth=25") == 25 and url_depth("ws://h:1") is None


def test_without_acks_a_created_market_is_selected_when_the_list_shows_it() -> None:
    st = UiState(account_id=ACCOUNT, no_ack=True)
    st.apply(MarketsUpdate((m.MarketInfo(1, "old", "OPEN", "PRE"),)))
    st.select_market(1)
    st.awaiting_create = True
    st.apply(MarketsUpdate((m.MarketInfo(1, "old", "OPEN", "PRE"), m.MarketInfo(2, "new", "OPEN", "PRE"))))
    assert st.selected_market == 2 and not st.awaiting_create


def test_a_delayed_order_shows_delayed_and_stays_cancellable_until_it_enters_the_book() -> None:
    """In-play bet delay: the reply's DELAYED is the order's outcome (not OPEN), it counts as
    open (the cancel key works on it), and the polled EXECUTABLE row replaces it once in the book."""
    st = UiState(account_id=ACCOUNT)
    st.apply(snap(1))
    st.track(cid(ACCOUNT, 1), "back r1")
    st.apply(m.OrderResponse(cid(ACCOUNT, 1), "DELAYED", 44, 1, 1, "BACK", 3.0, 20.0, 0.0, 20.0))
    (o,) = st.order_list
    assert (o.status, o.outcome, o.is_open) == ("DELAYED", "DELAYED", True)
    assert "delayed #44" in st.notices[-1].text
    st.apply(OrdersUpdate(1, (OrderRow(44, 1, 1, "BACK", 3.0, 20.0, 0.0, 20.0, "EXECUTABLE"),)))
    assert (st.orders[44].outcome, st.orders[44].is_open) == ("OPEN", True)
