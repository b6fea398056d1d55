"""`betex tui` driven headless with Textual's Pilot against a real `betex serve`.

Each test presses keys like a user would and waits for the server's answer to show up in the
app's `UiState` and on screen; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from betex.client import BetexClient
from betex.client import messages as m
from betex.client.tui import BetexTui, TuiConfig
from betex.client.tui.screens import HelpScreen, OrderScreen, SettleScreen
from betex.client.tui.state import Focus
from tests.conftest import ServerProcess

SIZE = (160, 48)


def tui_config(server: ServerProcess, **kw: Any) -> TuiConfig:
    opts: dict[str, Any] = {
        "url": f"{server.ws_url}/ws_ctl?depth=10",
        "poll_interval": 0.2,
        "mm_bots": 1,
        "noise_bots": 1,
        "informed_bots": 1,
    }
    opts.update(kw)
    return TuiConfig(**opts)


async def until(pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until `pred()` is truthy (or fail after `timeout` s)."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            app = pilot.app
            notes = list(app.state.notices) if hasattr(app, "state") else []
            raise AssertionError(f"timed out waiting for {what or pred}; notices: {notes}")
        await pilot.pause(0.05)


def screen_text(app: BetexTui) -> str:
    """What the terminal shows right now, as plain text."""
    app.render_state()
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_trading_session_from_the_keyboard(betex_server: ServerProcess) -> None:
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)

        # the control pane: create the soccer preset; it appears in the list and gets selected
        await pilot.press("1")
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market created")
        (mid,) = set(st.markets) - known
        assert st.selected_market == mid
        assert [r.label for r in st.snapshot.runners] == ["Home", "Draw", "Away"]  # type: ignore[union-attr]
        assert "Home v Away" in screen_text(app)

        # help screen lists the keys
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        # manual order: back Home at 50.0 for 12 — far from any bot's price, so it rests
        await pilot.press("b")
        assert isinstance(app.screen, OrderScreen)
        assert app.screen.query_one("#runner", Input).value == "1"
        await pilot.press(*"50", "tab", *"12", "enter")
        assert not isinstance(app.screen, OrderScreen)
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="order accepted")
        (order,) = st.order_list
        assert (order.runner_id, order.side, order.price, order.size) == (1, "BACK", 50.0, 12.0)

        def rests() -> bool:
            snap = st.snapshot
            ladder = snap.book.ladder(1) if snap is not None else None  # type: ignore[union-attr]
            return ladder is not None and any(
                lv.price == 50.0 and lv.size == 12.0 for lv in ladder.available_to_lay
            )

        await until(pilot, rests, what="order resting on the ladder")
        text = screen_text(app)
        assert "50" in text and "12.00" in text
        assert f"{order.order_id}" in text  # my orders pane

        # bots: start, see their counters and the server's rates move, then pause
        await pilot.press("p")
        await until(
            pilot,
            lambda: sum(r.sent for r in st.bots.rows) >= 20 and sum(r.acked for r in st.bots.rows) >= 10,
            what="bots trading",
        )
        assert st.bots.running and st.bots.market_id == mid
        assert {r.kind for r in st.bots.rows} == {"mm", "noise", "informed"}
        await until(pilot, lambda: st.metrics is not None and st.metrics.commands_per_s > 0, what="rates")
        await pilot.press("n")  # one more noise trader
        assert sum(r.kind == "noise" for r in st.bots.rows) == 2
        await pilot.press("N")
        assert sum(r.kind == "noise" for r in st.bots.rows) == 1
        await pilot.press("p")
        assert not st.bots.running and st.bots.queued == 0
        assert "PAUSED" in screen_text(app)

        # in play: await live, go live (my LAPSE order lapses), close, settle Home
        await pilot.press("a")
        await until(pilot, lambda: st.markets[mid].market_phase == "AWAITING_LIVE", what="awaiting live")
        await pilot.press("g")
        await until(
            pilot,
            lambda: st.markets[mid].market_phase == "IN_PLAY" and st.markets[mid].market_state == "OPEN",
            what="in play",
        )
        await until(pilot, lambda: not st.orders[order.order_id].is_open, what="order lapsed at go-live")
        await pilot.press("c")
        await until(pilot, lambda: st.markets[mid].market_state == "CLOSED", what="closed")
        await pilot.press("w")
        assert isinstance(app.screen, SettleScreen)
        await pilot.press("1")
        await until(pilot, lambda: st.markets[mid].market_state == "SETTLED", what="settled")
        assert any("settle" in n.text and n.level == "ok" for n in st.notices)
        assert "SETTLED" in screen_text(app)


async def test_cancel_selected_order_and_reject_is_shown(betex_server: ServerProcess) -> None:
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)
        await pilot.press("2")  # the two-runner preset
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market")
        assert st.snapshot is not None and st.snapshot.book_type == "TWO_RUNNER"

        await pilot.press("l", *"1.5", "enter")  # lay runner 1 at 1.5 for the default 10
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="lay accepted")
        # an off-ladder price comes back as a reject in the log
        await pilot.press("b", *"2.51", "enter")
        await until(pilot, lambda: any("INVALID_ODDS" in n.text for n in st.notices), what="reject shown")

        await pilot.press("tab", "tab")
        assert st.focus is Focus.ORDERS
        await pilot.press("x")
        await until(pilot, lambda: not any(o.is_open for o in st.order_list), what="cancelled")
        assert st.order_list[0].status != "EXECUTABLE"


async def test_binary_market_shows_bids_and_asks(betex_server: ServerProcess) -> None:
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)
        await pilot.press("3")
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market")
        assert st.is_binary
        await pilot.press("b", *"4500", "tab", *"7", "enter")  # buy 7 YES at 4500 bps

        def bid_rests() -> bool:
            book = st.snapshot.book if st.snapshot else None
            return book is not None and any(lv.price == 4500 and lv.size == 7 for lv in book.bids)  # type: ignore[union-attr]

        await until(pilot, bid_rests, what="bid on the book")
        text = screen_text(app)
        assert "bid bps" in text and "4500" in text and "45.00%" in text
        await pilot.press("c")
        await until(pilot, lambda: st.markets[st.selected_market].market_state == "CLOSED", what="closed")  # type: ignore[index]
        await pilot.press("w", "n")  # NO won
        await until(pilot, lambda: st.markets[st.selected_market].market_state == "SETTLED", what="settled")  # type: ignore[index]


async def test_no_ack_mode_follows_the_server_by_polling(betex_server: ServerProcess) -> None:
    app = BetexTui(tui_config(betex_server, no_ack=True))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        assert "no_ack=1" in st.conn.url
        known = {mi["market_id"] for mi in betex_server.get_json("/markets")["markets"]}
        await pilot.press("1")
        assert st.notices[-1].text.endswith("sent (no ack)")
        # no MARKET_CREATED reply: the new market is picked up from the polled list
        await until(
            pilot, lambda: st.selected_market not in known and st.snapshot is not None, what="new market"
        )
        await pilot.press("b", *"50", "enter")
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="order seen via /orders")
        assert st.order_list[0].price == 50.0


async def test_reconnects_after_a_server_restart(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data = tmp_path / "restart-data"
    server = server_factory(data, "--durability", "async", "--snapshot-interval-ms", "50")
    port = server.port
    app = BetexTui(tui_config(server))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        await pilot.press("1")
        await until(pilot, lambda: st.snapshot is not None, what="market")
        mid = st.selected_market
        seq_before = st.conn.seq

        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        await until(pilot, lambda: not st.conn.connected, what="disconnect noticed")
        assert st.conn.state in ("RECONNECTING", "DISCONNECTED")
        assert "RECONNECTING" in screen_text(app) or "DISCONNECTED" in screen_text(app)
        assert any("connection lost" in n.text for n in st.notices)
        await pilot.press("1")  # a command while down is refused, not queued
        assert any("not connected" in n.text for n in st.notices)

        def restart() -> ServerProcess:
            return server_factory(
                data, "--durability", "async", "--snapshot-interval-ms", "50", "--port", str(port)
            )

        again = await asyncio.get_running_loop().run_in_executor(None, restart)
        assert again.port == port
        await until(pilot, lambda: st.conn.connected, timeout=15.0, what="reconnected")
        assert st.conn.reconnects >= 1
        # the market survived the restart (recovered from the WAL) and streams again
        await until(pilot, lambda: mid in st.markets and st.conn.seq >= seq_before, what="recovered")
        t_before = st.snapshots[mid].received_ns  # type: ignore[index]
        await pilot.press("s")  # suspend works over the new connection
        await until(pilot, lambda: st.markets[mid].market_state == "SUSPENDED", what="suspended")  # type: ignore[index]
        await until(pilot, lambda: st.snapshots[mid].received_ns > t_before, what="fresh snapshot")  # type: ignore[index]
        assert "CONNECTED" in screen_text(app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_starts_before_the_server_and_connects_when_it_comes_up(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    port = free_port()
    app = BetexTui(TuiConfig(url=f"ws://127.0.0.1:{port}/ws_ctl?depth=10", poll_interval=0.2))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.failed_attempts > 0, what="failed attempts shown")
        assert not st.conn.connected and "attempt" in screen_text(app)
        assert st.metrics is not None and st.metrics.error is not None  # /metrics unreachable

        def start() -> ServerProcess:
            return server_factory(tmp_path / "late", "--durability", "async", "--port", str(port))

        await asyncio.get_running_loop().run_in_executor(None, start)
        await until(pilot, lambda: st.conn.connected, timeout=15.0, what="connected")
        await until(pilot, lambda: st.metrics is not None and st.metrics.error is None, what="metrics")
        assert "CONNECTED" in screen_text(app)


def footer(app: BetexTui) -> str:
    """The key bar, the screen's last line."""
    return screen_text(app).splitlines()[-1]


async def test_lifecycle_keys_follow_the_market_and_refusals_name_the_next_step(
    betex_server: ServerProcess,
) -> None:
    """At 80x24: the footer offers only the lifecycle keys valid now; an impossible one is refused
    locally, naming the key to press first; after settling the P&L pane shows the settled P&L."""
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=(80, 24)) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)
        await pilot.press("1")
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market")
        mid = st.selected_market
        assert mid is not None
        keys = footer(app)
        assert "a await live" in keys and "c close" in keys
        assert "g go live" not in keys and "w settle" not in keys

        # g in pre-play and w before close: refused here, with the next step; nothing is sent
        await pilot.press("g")
        assert st.notices[-1].text == "go live: go live needs AWAITING_LIVE: press a first"
        await pilot.press("w")
        assert not isinstance(app.screen, SettleScreen)
        assert st.notices[-1].text == "settle: settle needs CLOSED: press c first"
        assert not st.pending
        assert betex_server.get_json(f"/snapshot?market_id={mid}")["market_phase"] == "PRE"

        # back Home 12 @ 50 from the ticket; another account lays it, so account 1 has a position
        await pilot.press("b", *"50", "tab", *"12", "enter")
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="back accepted")
        async with BetexClient(betex_server.ws_url) as other:
            reply = await other.request(m.place_order(mid, 1, "LAY", 50.0, 12.0, 2))
        assert isinstance(reply, m.OrderResponse) and reply.size_matched == 12.0
        await until(pilot, lambda: st.risk is not None and dict(st.risk.if_win).get(1) == 588.0, what="P&L")
        await until(pilot, lambda: st.order_list[0].outcome == "FILLED", what="filled order")
        assert "FILLED" in screen_text(app)

        await pilot.press("a")
        await until(pilot, lambda: st.markets[mid].market_phase == "AWAITING_LIVE", what="awaiting")
        keys = footer(app)
        assert "g go live" in keys and "a await live" not in keys and "b/l" not in keys
        await pilot.press("b")  # suspended while awaiting live: no ticket, a reason instead
        assert not isinstance(app.screen, OrderScreen)
        assert "press s to resume (or g to go live)" in st.notices[-1].text
        await pilot.press("g")
        await until(pilot, lambda: st.markets[mid].market_phase == "IN_PLAY", what="in play")
        await pilot.press("c")
        await until(pilot, lambda: st.markets[mid].market_state == "CLOSED", what="closed")
        keys = footer(app)
        assert "w settle" in keys and "c close" not in keys and "g go live" not in keys
        await pilot.press("w")
        assert isinstance(app.screen, SettleScreen)
        await pilot.press("1")  # Home won
        await until(pilot, lambda: st.risk is not None and st.risk.settled_pnl is not None, what="settled")
        assert st.risk is not None and st.risk.settled_pnl == 588.0
        text = screen_text(app)
        assert "settled" in text and "+588.00" in text
        assert "v void" not in footer(app)


async def test_ticket_keys_typed_in_a_burst_land_in_their_fields(betex_server: ServerProcess) -> None:
    """Keys arriving together (as from a fast typist or a paste) after tab go to the new field;
    space ticks the persist box and enter on it places the order, as PERSIST."""
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=(80, 24)) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)
        await pilot.press("1")
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market")
        await pilot.press("b")
        assert isinstance(app.screen, OrderScreen)
        for key in ("5", "0", "tab", "1", "2", "tab", "space", "enter"):
            app.post_message(events.Key(key, {"tab": None, "space": " ", "enter": "\r"}.get(key, key)))
        await until(pilot, lambda: not isinstance(app.screen, OrderScreen), what="ticket placed")
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="order accepted")
        (order,) = st.order_list
        assert (order.price, order.size) == (50.0, 12.0)
        mid = st.selected_market
        rows = betex_server.get_json(f"/orders?market_id={mid}&account_id=1")["orders"]
        assert [(o["price"], o["size"], o["persistence"]) for o in rows] == [(50.0, 12.0, "PERSIST")]


async def test_below_the_minimum_size_only_the_notice_shows(betex_server: ServerProcess) -> None:
    app = BetexTui(tui_config(betex_server))
    async with app.run_test(size=(70, 20)) as pilot:
        await until(pilot, lambda: app.state.conn.connected, what="connected")
        text = screen_text(app)
        assert "terminal too small: 70×20" in text and "at least 80×24" in text
        assert "ladder" not in text
        # the Resize reaches the screen after the app has forwarded it, and the panes show only
        # after the screen's next layout pass: wait for that, not for a fixed time
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: "too small" not in screen_text(app), what="the panes after the resize")
        text = screen_text(app)
        assert "too small" not in text and "ladder" in text and "my orders" in text


SIZES = {"80x24": (80, 24), "100x30": (100, 30), "132x40": (132, 40), "200x50": (200, 50)}


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
async def test_the_screen_fits_each_terminal_size(betex_server: ServerProcess, size: str) -> None:
    """Live, with bots trading: every runner with its ltp and traded volume, my orders, the P&L,
    the log and the keys are on screen at each size; trades from 100 columns, bots and metrics
    from 140 (layout.py's collapse order)."""
    w, h = SIZES[size]
    app = BetexTui(tui_config(betex_server, autostart_bots=True))
    async with app.run_test(size=(w, h)) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected, what="connected")
        known = set(st.markets)
        await pilot.press("1")
        await until(pilot, lambda: set(st.markets) - known and st.snapshot is not None, what="market")
        await until(pilot, lambda: st.risk is not None and st.trades, what="risk and trades polled")
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == h and all(len(line) <= w for line in lines)
        for word in ("Home", "Draw", "Away", "ltp", "traded", "my orders", "my P&L", "if wins", "log"):
            assert word in text, word
        assert "a await live" in lines[-1] and "g go live" not in lines[-1]
        assert ("recent trades" in text) == (w >= 100)
        assert ("metrics" in text and "bots" in text.split("\n", 1)[1]) == (w >= 140)
        assert "too small" not in text
