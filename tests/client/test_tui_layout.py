"""The TUI's pure layout and lifecycle rules: `layout.plan`, `lifecycle.refusal`, order outcomes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from betex.client import messages as m
from betex.client.tui.layout import MIN_HEIGHT, MIN_WIDTH, plan
from betex.client.tui.lifecycle import MarketLife, refusal, valid_actions
from betex.client.tui.state import Focus, MarketRow, OrderRow, UiState
from betex.client.tui.views import market_window, render_ladder, render_orders, window


@pytest.mark.parametrize(("w", "h"), [(79, 24), (80, 23), (40, 10)])
def test_below_the_minimum_is_too_small(w: int, h: int) -> None:
    assert plan(w, h).too_small


@pytest.mark.parametrize(("w", "h"), [(80, 24), (100, 30), (132, 40), (200, 50), (300, 90)])
def test_every_supported_size_adds_up(w: int, h: int) -> None:
    lay = plan(w, h)
    assert not lay.too_small
    assert lay.left_width + lay.right_width + lay.center_width == w
    # the ladder fits its levels, and shows three runners (two lines each) plus its header
    assert lay.center_width >= 4 + 25 + 16 * lay.ladder_levels
    assert lay.ladder_lines >= 1 + 1 + 2 * 3
    assert lay.lower_height >= 7 and lay.log_lines >= 2
    assert 2 + lay.log_height + lay.lower_height + lay.ladder_lines + 2 == h


def test_panes_collapse_in_the_stated_order() -> None:
    small, mid, large = plan(MIN_WIDTH, MIN_HEIGHT), plan(132, 40), plan(200, 50)
    assert (small.show_right, small.show_trades, small.ladder_levels, small.show_keys) == (
        False,
        False,
        2,
        False,
    )
    assert (mid.show_right, mid.show_trades, mid.ladder_levels) == (False, True, 3)
    assert (large.show_right, large.show_trades, large.ladder_levels, large.show_keys) == (
        True,
        True,
        3,
        True,
    )


def test_lifecycle_refusals_name_the_next_step() -> None:
    pre = MarketLife("OPEN", "PRE")
    assert refusal("golive", pre) == "go live needs AWAITING_LIVE: press a first"
    assert refusal("settle", pre) == "settle needs CLOSED: press c first"
    assert set(valid_actions(pre)) == {"suspend", "await", "close", "void", "order"}
    awaiting = MarketLife("SUSPENDED", "AWAITING_LIVE")
    assert set(valid_actions(awaiting)) == {"suspend", "golive", "close", "void"}
    assert refusal("await", awaiting) == "already AWAITING_LIVE: press g to go live"
    pre_only = MarketLife("OPEN", "PRE", in_play_capable=False)
    assert "await" not in valid_actions(pre_only) and "golive" not in valid_actions(pre_only)
    closed = MarketLife("CLOSED", "IN_PLAY")
    assert set(valid_actions(closed)) == {"settle", "void"}
    assert refusal("order", closed) == "market is CLOSED: no more trading; press w to settle"
    assert valid_actions(MarketLife("SETTLED", "IN_PLAY")) == ()
    assert valid_actions(MarketLife("VOIDED", "PRE")) == ()


def test_a_server_lifecycle_reject_gets_the_hint_too() -> None:
    """The state moved under us (another operator): the server's INVALID_TRANSITION names the
    next step from the state as known when the reply arrives."""
    st = UiState(account_id=1)
    st.markets[1] = MarketRow(1, "m", "OPEN", "PRE")
    st.selected_market = 1
    st.track(5, "go live #1", "GO_LIVE_MARKET")
    st.apply(m.Ack(5, False, m.ErrorInfo("INVALID_TRANSITION", "GO_LIVE_MARKET not allowed from OPEN/PRE")))
    assert st.notices[-1].text == (
        "go live #1: INVALID_TRANSITION GO_LIVE_MARKET not allowed from OPEN/PRE"
        " — go live needs AWAITING_LIVE: press a first"
    )


@pytest.mark.parametrize(
    ("row", "outcome"),
    [
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 0.0, 10.0), "OPEN"),
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 4.0, 6.0), "PARTIAL"),
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 10.0, 0.0, "EXECUTION_COMPLETE"), "FILLED"),
        (
            OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 0.0, 0.0, "EXECUTION_COMPLETE", size_cancelled=10.0),
            "CANCELLED",
        ),
        (
            OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 3.0, 0.0, "EXECUTION_COMPLETE", size_cancelled=7.0),
            "CANCELLED",
        ),
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 0.0, 0.0, "EXECUTION_COMPLETE", size_lapsed=10.0), "LAPSED"),
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 0.0, 0.0, "EXECUTION_COMPLETE", size_voided=10.0), "VOIDED"),
        (OrderRow(1, 1, 1, "BACK", 2.0, 10.0, 0.0, 0.0, "CANCELLED"), "CANCELLED"),
    ],
)
def test_order_outcomes_name_what_happened(row: OrderRow, outcome: str) -> None:
    assert row.outcome == outcome


def test_nothing_is_refused_while_a_market_command_awaits_its_reply() -> None:
    """`a` then `g` typed fast: the go-live goes to the server, which sees the await-live first."""
    st = UiState(account_id=1)
    st.markets[1] = MarketRow(1, "m", "OPEN", "PRE")
    st.selected_market = 1
    assert st.refusal("golive") == "go live needs AWAITING_LIVE: press a first"
    st.track(5, "await live #1", "AWAIT_LIVE_MARKET")
    assert st.refusal("golive") is None
    st.apply(m.MarketUpdated(5, 1, "SUSPENDED", "AWAITING_LIVE", 2))
    assert not st.pending_actions and st.refusal("golive") is None and st.refusal("await") is not None


def test_the_market_list_scrolls_to_keep_the_cursor_in_view() -> None:
    st = UiState(account_id=1)
    for mid in range(1, 21):
        st.markets[mid] = MarketRow(mid, f"m{mid}", "OPEN", "PRE")
    st.resize(80, 24)
    st.focus = Focus.MARKETS
    shown = market_window(st)
    assert shown[0] == 1 and 3 <= len(shown) < 20
    st.move_cursor(19)
    assert market_window(st)[-1] == 20
    st.move_cursor(-10)
    assert 10 in market_window(st)
    st.resize(200, 80)
    assert market_window(st) == list(range(1, 21))


def text_of(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_window_keeps_the_cursor_in_view() -> None:
    items = list(range(10))
    assert window(items, 0, 4) == [0, 1, 2, 3]
    assert window(items, 9, 4) == [6, 7, 8, 9]
    assert window(items, 5, 4) == [3, 4, 5, 6]
    assert window(items, 5, 20) == items


def test_ladder_and_orders_scroll_to_the_cursor_at_80x24() -> None:
    runners = tuple(m.RunnerInfo(i, f"Runner{i}") for i in range(1, 9))
    snap = m.Snapshot(
        1,
        "race",
        "EXCHANGE_ODDS",
        "MULTI_RUNNER",
        "PRE_ONLY",
        "OPEN",
        "PRE",
        1,
        1,
        0,
        0.0,
        runners,
        m.ExchangeBook(()),
    )
    st = UiState(account_id=1)
    st.apply(snap)
    st.resize(80, 24)
    assert "Runner1" in text_of(render_ladder(st), 60) and "Runner8" not in text_of(render_ladder(st), 60)
    st.focus = Focus.RUNNERS
    st.move_cursor(7)
    text = text_of(render_ladder(st), 60)
    assert "Runner8" in text and "Runner1" not in text
    st.orders = {i: OrderRow(i, 1, 1, "BACK", 2.0, 1.0, 0.0, 1.0) for i in range(1, 13)}
    st.focus = Focus.ORDERS
    st.move_cursor(11)
    assert st.selected_order is not None
    assert f" {st.selected_order.order_id} " in text_of(render_orders(st), 60)


def test_a_removed_runner_shows_as_removed_with_its_factor_and_no_ladder() -> None:
    """REMOVE_RUNNER: the ladder keeps the runner's row, marked REMOVED with its reduction factor."""
    body = {
        "market_id": 1, "name": "race", "market_model": "EXCHANGE_ODDS", "book_type": "CROSS_MATCHED",
        "market_kind": "PRE_ONLY", "market_state": "OPEN", "market_phase": "PRE", "version": 2,
        "seq": 9, "ts": 1, "total_matched": 0.0,
        "runners": [
            {"runner_id": 1, "label": "Arrow", "traded_volume": 0.0, "status": "ACTIVE"},
            {"runner_id": 3, "label": "Comet", "traded_volume": 0.0, "status": "REMOVED", "reduction_factor": 20.0},
        ],
        "book": {"kind": "EXCHANGE", "data": {"runners": [
            {"runner_id": 1, "available_to_back": [{"price": 2.5, "size": 4.0, "implied": 0.0}], "available_to_lay": []},
            {"runner_id": 3, "available_to_back": [], "available_to_lay": []},
        ]}},
    }  # fmt: skip
    snap = m.parse_snapshot(body, received_ns=1)
    assert [(r.label, r.removed, r.reduction_factor) for r in snap.runners] == [
        ("Arrow", False, None),
        ("Comet", True, 20.0),
    ]
    st = UiState(account_id=1)
    st.apply(snap)
    st.resize(100, 30)
    text = text_of(render_ladder(st), 90)
    assert "REMOVED 20%" in text and "removed" in text and "id 1" in text and "id 3" not in text
