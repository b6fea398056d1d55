"""`BetexTui`: the Textual app. Keys become commands; network updates become `UiState` changes.

Data flow: the `Session` posts `NetUpdate` messages → `on_net_update` applies them to the one
`UiState` → a 15 Hz timer re-renders the panes when the state's version moved. Keys act on
the state (navigation) or queue commands on the session's user channel. Offline (no session),
the app renders whatever state it was given: that is how the snapshot test pins the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from .. import messages as m
from ..presets import preset_message
from .config import TuiConfig
from .layout import Layout
from .lifecycle import COMMAND_ACTION
from .screens import HelpScreen, OrderScreen, OrderTicket, SettleScreen, TicketDefaults
from .session import Session
from .state import Focus, UiState, Update
from .views import render_too_small, side_names
from .widgets import KeyBar, Pane, StatusBar, main_panes

CREATE_PRESETS = {"soccer": "soccer (Home/Draw/Away)", "tennis": "two-runner", "binary": "binary"}


class NetUpdate(Message):
    """One update from the network side (a server message, metrics, a poll result, …)."""

    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "app.cycle_focus(1)", "focus", show=False),
        Binding("shift+tab", "app.cycle_focus(-1)", "focus", show=False),
        Binding("up,k", "app.cursor(-1)", "up", show=False),
        Binding("down,j", "app.cursor(1)", "down", show=False),
        Binding("enter", "app.select", "select", show=False),
        Binding("r", "app.refresh_markets", "refresh", show=False),
        Binding("1", "app.create('soccer')", "soccer"),
        Binding("2", "app.create('tennis')", "2-runner", show=False),
        Binding("3", "app.create('binary')", "binary", show=False),
        Binding("s", "app.suspend_resume", "susp/resume"),
        Binding("a", "app.market('AWAIT_LIVE_MARKET')", "await", show=False),
        Binding("g", "app.market('GO_LIVE_MARKET')", "go live"),
        Binding("c", "app.market('CLOSE_MARKET')", "close", show=False),
        Binding("w", "app.settle", "settle"),
        Binding("v", "app.market('VOID_MARKET')", "void", show=False),
        Binding("b", "app.order(0)", "back/buy"),
        Binding("l", "app.order(1)", "lay/sell"),
        Binding("x", "app.cancel_order", "cancel"),
        Binding("X", "app.cancel_all", "cancel all", show=False),
        Binding("p", "app.toggle_bots", "bots"),
        Binding("m", "app.bot('mm', 1)", "+mm", show=False),
        Binding("M", "app.bot('mm', -1)", "-mm", show=False),
        Binding("n", "app.bot('noise', 1)", "+noise", show=False),
        Binding("N", "app.bot('noise', -1)", "-noise", show=False),
        Binding("i", "app.bot('informed', 1)", "+informed", show=False),
        Binding("I", "app.bot('informed', -1)", "-informed", show=False),
        Binding("question_mark", "app.help", "help"),
        Binding("q", "app.quit", "quit"),
    ]

    def compose(self) -> ComposeResult:
        panes = {p.id: p for p in main_panes()}
        yield StatusBar("", id="status")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield panes["markets"]
                yield panes["pnl"]
                yield panes["keys"]
            with Vertical(id="center"):
                yield panes["ladder"]
                with Horizontal(id="lower"):
                    yield panes["trades"]
                    yield panes["orders"]
            with Vertical(id="right"):
                yield panes["bots"]
                yield panes["metrics"]
        yield panes["notices"]
        yield KeyBar("", id="footer")
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        app = self.app
        if isinstance(app, BetexTui):
            app.state.resize(self.size.width, self.size.height)
            self.apply_layout(app.state.layout)
            self.call_after_refresh(app.render_state)

    def on_resize(self, event: events.Resize) -> None:
        app = self.app
        if isinstance(app, BetexTui):
            app.state.resize(event.size.width, event.size.height)
            self.apply_layout(app.state.layout)
            app.render_state()

    def apply_layout(self, lay: Layout) -> None:
        """Show, hide and size the panes as `lay` (layout.plan) says; no decisions here."""
        small = lay.too_small
        for wid in ("#status", "#body", "#notices", "#footer"):
            self.query_one(wid).display = not small
        notice = self.query_one("#too-small", Static)
        notice.display = small
        if small:
            notice.update(render_too_small(lay.width, lay.height))
            return
        self.query_one("#left").styles.width = lay.left_width
        right = self.query_one("#right")
        right.display = lay.show_right
        if lay.show_right:
            right.styles.width = lay.right_width
        self.query_one("#keys").display = lay.show_keys
        self.query_one("#trades").display = lay.show_trades
        self.query_one("#lower").styles.height = lay.lower_height
        self.query_one("#notices").styles.height = lay.log_height


class BetexTui(App[None]):
    CSS_PATH = Path(__file__).with_name("tui.tcss")
    TITLE = "betex"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self, cfg: TuiConfig | None = None, *, state: UiState | None = None, offline: bool = False
    ) -> None:
        super().__init__()
        self.cfg = cfg or TuiConfig()
        self.state = state or UiState(
            account_id=self.cfg.account_id or 1, no_ack=self.cfg.no_ack, url=self.cfg.url
        )
        self.offline = offline
        self.session: Session | None = None
        self._bots_started = False

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    def on_mount(self) -> None:
        self.set_interval(1 / 15, self.render_state)
        if self.offline:
            return
        self.session = Session(self.cfg, lambda u: self.post_message(NetUpdate(u)))
        self.run_worker(self.session.run(), name="net", group="net", exit_on_error=True)

    # --- state → screen --------------------------------------------------------------------------

    def render_state(self) -> None:
        """Re-render the panes whose part of the state changed since the last call."""
        screen = self.screen_stack[0] if self.screen_stack else None
        if not isinstance(screen, MainScreen) or not screen.is_mounted or not self.state.dirty:
            return
        dirty = self.state.take_dirty()
        for pane in screen.query(Pane):
            if pane.id in dirty:
                pane.show(self.state)
        # query, not query_one: at exit the screen's children go one by one under a live timer
        if "status" in dirty:
            for bar in screen.query(StatusBar):
                bar.show(self.state)
        if "footer" in dirty or "orders" in dirty or "bots" in dirty:
            for keys in screen.query(KeyBar):
                keys.show(self.state)

    def on_net_update(self, message: NetUpdate) -> None:
        self.state.apply(message.update)
        self._reconcile()

    def _reconcile(self) -> None:
        """Make the session follow the state: the stream and the bots follow the selected market."""
        s, st = self.session, self.state
        if s is None:
            return
        if st.selected_market is not None and st.selected_market != s.market_id:
            s.subscribe(st.selected_market)
        if self.cfg.autostart_bots and not self._bots_started and st.selected_market is not None:
            self._bots_started = True
            s.pool.start()
            st.apply(s.pool.view())

    def changed(self) -> None:
        """After a key changed the state: reconcile and render now (no need to wait a tick)."""
        self._reconcile()
        self.render_state()

    # --- commands --------------------------------------------------------------------------------

    def send(self, msg: dict[str, Any], label: str, account_id: int = 0) -> None:
        if self.session is None:
            self.state.note(f"{label}: offline", "error")
            return
        cid = self.session.command(msg, account_id)
        if cid is None:
            self.state.note(f"{label}: not connected, not sent", "error")
        else:
            self.state.track(cid, label, next(iter(msg), None))

    def _market(self, action: str | None = None, label: str = "") -> int | None:
        """The selected market if `action` can work on it now; else None, with a notice saying
        why and what to press instead (refused here, nothing is sent)."""
        mid = self.state.selected_market
        if mid is None:
            self.state.note("select or create a market first (1/2/3 create)", "error")
            return None
        why = self.state.refusal(action) if action is not None else None
        if why is not None:
            self.state.note(f"{label or action}: {why}", "error")
            return None
        return mid

    # --- actions ---------------------------------------------------------------------------------

    def action_cycle_focus(self, step: int) -> None:
        self.state.cycle_focus(step)
        self.changed()

    def action_cursor(self, delta: int) -> None:
        self.state.move_cursor(delta)
        self.changed()

    def action_select(self) -> None:
        """Enter: show the market under the cursor (the other panes select by moving)."""
        st = self.state
        if st.focus is Focus.MARKETS:
            st.select_market(st.cursor_market)
        self.changed()

    def action_refresh_markets(self) -> None:
        if self.session is not None:
            self.session.refresh()

    def action_create(self, preset: str) -> None:
        self.send(preset_message(preset), f"create {CREATE_PRESETS.get(preset, preset)}")
        if self.cfg.no_ack:
            self.state.awaiting_create = True
            if self.session is not None:
                self.session.poll_now.set()
        self.changed()

    def action_market(self, kind: str) -> None:
        label = kind.removesuffix("_MARKET").replace("_", " ").lower()
        mid = self._market(COMMAND_ACTION.get(kind), label)
        if mid is not None:
            self.send(m.market_command(kind, mid), f"{label} #{mid}")
        self.changed()

    def action_suspend_resume(self) -> None:
        mid = self._market("suspend", "suspend/resume")
        if mid is not None:
            row = self.state.markets.get(mid)
            resume = row is not None and row.market_state in ("SUSPENDED", "HALTED")
            target = "OPEN" if resume else "SUSPENDED"
            verb = "resume" if target == "OPEN" else "suspend"
            self.send(m.set_market_state(mid, target), f"{verb} #{mid}")
        self.changed()

    def action_settle(self) -> None:
        mid = self._market("settle", "settle")
        snap = self.state.snapshot
        if mid is None or snap is None:
            self.changed()
            return
        runners = tuple(
            (r.runner_id, r.label) for r in snap.runners if not r.removed
        )  # a non-runner cannot win

        def done(winners: list[int] | None) -> None:
            if winners is not None:
                names = ", ".join(self.state.runner_label(w) for w in winners) or "NO"
                self.send(m.settle_market(mid, winners), f"settle #{mid} ({names} won)")
            self.changed()

        self.push_screen(SettleScreen(mid, runners, self.state.is_binary), done)

    def action_order(self, which: int) -> None:
        st = self.state
        mid, snap, rid = st.selected_market, st.snapshot, st.selected_runner
        if mid is None or snap is None or rid is None:
            st.note("select a market (and a runner) first", "error")
            self.changed()
            return
        side = side_names(st.is_binary)[which]
        why = st.refusal("order")
        if why is None and any(r.runner_id == rid and r.removed for r in snap.runners):
            why = f"{st.runner_label(rid)} was removed (a non-runner): choose another runner"
        if why is not None:
            st.note(f"{side.lower()}: {why}", "error")
            self.changed()
            return
        defaults = TicketDefaults(
            mid,
            tuple((r.runner_id, r.label) for r in snap.runners if not r.removed),
            rid,
            side,
            default_price(snap, rid, which == 0),
            10.0,
            st.is_binary,
        )
        self.push_screen(OrderScreen(defaults), self._place)

    def _place(self, t: OrderTicket | None) -> None:
        if t is not None:
            acct = self.state.account_id
            msg = m.place_order(
                t.market_id,
                t.runner_id,
                t.side,
                t.price,
                t.size,
                acct,
                persistence="PERSIST" if t.persist else None,
            )
            label = f"{t.side.lower()} {self.state.runner_label(t.runner_id)} {t.size:g} @ {t.price:g}"
            self.send(msg, label, acct)
        self.changed()

    def action_cancel_order(self) -> None:
        o = self.state.selected_order
        if o is None or not o.is_open:
            self.state.note("no open order selected (tab to 'my orders')", "error")
        else:
            acct = self.state.account_id
            self.send(m.cancel_order(o.market_id, o.order_id, acct), f"cancel #{o.order_id}", acct)
        self.changed()

    def action_cancel_all(self) -> None:
        mid = self._market()
        if mid is not None:
            acct = self.state.account_id
            self.send(m.cancel_all(mid, acct), f"cancel all mine in #{mid}", acct)
        self.changed()

    def action_toggle_bots(self) -> None:
        s = self.session
        if s is None:
            return
        if s.pool.running:
            dropped = s.pool.pause()
            self.state.note(f"bots paused ({dropped} queued commands dropped)")
        else:
            if self.state.selected_market is None:
                self.state.note("bots start once a market is selected", "error")
            s.pool.start()
            self._bots_started = True
            self.state.note("bots running")
        self.state.apply(s.pool.view())
        self.changed()

    def action_bot(self, kind: str, delta: int) -> None:
        s = self.session
        if s is None:
            return
        if delta > 0:
            s.pool.add(kind)
        elif not s.pool.remove(kind):
            self.state.note(f"no {kind} bot to remove", "error")
        self.state.apply(s.pool.view())
        self.changed()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def default_price(snap: m.Snapshot, runner_id: int, bid_side: bool) -> float:
    """A ticket's starting price: the best price on the side being taken, else the last traded,
    else a neutral one (2.0 odds, 5000 bps)."""
    book = snap.book
    if isinstance(book, m.BinaryBook):
        levels = book.asks if bid_side else book.bids
    elif isinstance(book, m.ExchangeBook):
        ladder = book.ladder(runner_id)
        levels = () if ladder is None else (ladder.available_to_back if bid_side else ladder.available_to_lay)
    else:
        levels = ()
    if levels:
        return levels[0].price
    for r in snap.runners:
        if r.runner_id == runner_id and r.last_traded_price:
            return r.last_traded_price
    return 5000 if snap.market_model == "BINARY_YES" else 2.0
