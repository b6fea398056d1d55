"""`UiState`: everything the TUI shows, in one place, changed only by `apply_*` and navigation.

The network side never touches widgets: it posts messages carrying server messages, connection
views, metrics, polled trades/orders and bot counters; the app applies each to the one
`UiState` and re-renders. Every method here is pure in-memory bookkeeping (no I/O, no clock),
so a test can build any screen from a fixed state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .. import messages as m
from ..bots.orders import account_of
from ..records import RiskRow
from .layout import Layout, plan
from .lifecycle import COMMAND_ACTION, MarketLife, refusal
from .metrics import MetricsView


class Focus(StrEnum):
    MARKETS = "markets"
    RUNNERS = "runners"
    ORDERS = "orders"


FOCUS_CYCLE: tuple[Focus, ...] = (Focus.MARKETS, Focus.RUNNERS, Focus.ORDERS)
PANES: tuple[str, ...] = (
    "status",
    "keys",
    "markets",
    "ladder",
    "trades",
    "orders",
    "pnl",
    "bots",
    "metrics",
    "notices",
    "footer",
)
"""Ids of the main screen's panes, which `UiState` marks dirty as it changes."""
PANE_OF_FOCUS = {Focus.MARKETS: "markets", Focus.RUNNERS: "ladder", Focus.ORDERS: "orders"}
OPEN_ORDER = "EXECUTABLE"
DELAYED_ORDER = "DELAYED"  # in-play bet delay: accepted, enters the book after the delay


@dataclass(frozen=True, slots=True)
class ConnView:
    """A copy of the client's `ConnectionStatus` at one moment."""

    state: str = "DISCONNECTED"
    url: str = ""
    seq: int = 0
    lag_ms: float = 0.0
    reconnects: int = 0
    failed_attempts: int = 0
    next_retry_s: float = 0.0
    last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self.state == "CONNECTED"


@dataclass(frozen=True, slots=True)
class MarketRow:
    market_id: int
    name: str
    market_state: str
    market_phase: str
    market_model: str = ""


@dataclass(frozen=True, slots=True)
class TradeRow:
    trade_id: int
    runner_id: int
    price: float
    size: float
    implied: bool = False
    voided: bool = False
    ts: int = 0
    taker_account: int | None = None
    maker_account: int | None = None

    @classmethod
    def from_wire(cls, t: dict[str, Any]) -> TradeRow:
        return cls(
            int(t.get("trade_id", 0)),
            int(t.get("runner_id", 0)),
            float(t.get("price", 0.0)),
            float(t.get("size", 0.0)),
            bool(t.get("implied")),
            bool(t.get("voided")),
            int(t.get("ts") or 0),
            t.get("taker_account"),
            t.get("maker_account"),
        )


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: int
    market_id: int
    runner_id: int
    side: str
    price: float
    size: float
    size_matched: float = 0.0
    size_remaining: float = 0.0
    status: str = OPEN_ORDER
    size_cancelled: float = 0.0
    size_lapsed: float = 0.0
    size_voided: float = 0.0

    @property
    def is_open(self) -> bool:
        """Open or delayed, with something left: it can still be cancelled."""
        return (self.status == OPEN_ORDER or self.status == DELAYED_ORDER) and self.size_remaining > 0

    @property
    def outcome(self) -> str:
        """What happened to the order, in one word: OPEN or PARTIAL (part matched, rest open)
        while it rests; then VOIDED, LAPSED, CANCELLED (the rest after any matched part, which
        the matched column shows), FILLED, or the server's status as is. DELAYED while an
        in-play bet delay holds it out of the book."""
        if self.is_open and self.status == DELAYED_ORDER:
            return DELAYED_ORDER
        if self.is_open:
            return "PARTIAL" if self.size_matched > 0 else "OPEN"
        if self.size_voided > 0:
            return "VOIDED"
        if self.size_lapsed > 0:
            return "LAPSED"
        if self.size_cancelled > 0 or self.status == "CANCELLED":
            return "CANCELLED"
        if self.size > 0 and self.size_matched >= self.size:
            return "FILLED"
        return {"EXECUTION_COMPLETE": "DONE"}.get(self.status, self.status)

    @classmethod
    def from_wire(cls, o: dict[str, Any]) -> OrderRow:
        return cls(
            int(o.get("order_id", 0)),
            int(o.get("market_id", 0)),
            int(o.get("runner_id", 0)),
            str(o.get("side", "")),
            float(o.get("price", 0.0)),
            float(o.get("size", 0.0)),
            float(o.get("size_matched") or 0.0),
            float(o.get("size_remaining") or 0.0),
            str(o.get("status", OPEN_ORDER)),
            float(o.get("size_cancelled") or 0.0),
            float(o.get("size_lapsed") or 0.0),
            float(o.get("size_voided") or 0.0),
        )


@dataclass(frozen=True, slots=True)
class BotRow:
    name: str
    kind: str
    account_id: int
    sent: int = 0
    acked: int = 0
    rejected: int = 0
    trades: int = 0
    volume: float = 0.0
    inflight: int = 0


@dataclass(frozen=True, slots=True)
class BotsView:
    rows: tuple[BotRow, ...] = ()
    running: bool = False
    queued: int = 0
    """Bot commands waiting in the droppable channel."""
    dropped: int = 0
    """Bot commands discarded unsent (pause, disconnect or a full channel)."""
    market_id: int | None = None


@dataclass(frozen=True, slots=True)
class RiskView:
    """My account's `/risk` row for one market (money in currency units)."""

    market_id: int
    if_win: tuple[tuple[int, float], ...] = ()
    """(runner_id, P&L if that runner wins), matched bets only."""
    worst_case: float = 0.0
    worst_case_with_unmatched: float = 0.0
    matched_volume: float = 0.0
    open_orders: int = 0
    settled_pnl: float | None = None
    """Gross settled P&L; `commission` is what was paid on it (the house's: minus what it got)."""
    commission: float = 0.0

    @classmethod
    def from_row(cls, market_id: int, row: RiskRow | None) -> RiskView:
        """From the client's typed `/risk` row (None: no position in the market yet)."""
        if row is None:
            return cls(market_id)
        return cls(
            market_id,
            tuple(row.if_win.items()),
            row.worst_case,
            row.worst_case_with_unmatched,
            row.matched_volume,
            row.open_orders,
            row.settled_pnl,
        )

    @classmethod
    def from_wire(cls, market_id: int, row: dict[str, Any] | None) -> RiskView:
        """A `/risk` row (None: the account has no position in the market yet)."""
        if row is None:
            return cls(market_id)
        settled = row.get("settled_pnl")
        return cls(
            market_id,
            tuple((int(w["runner_id"]), float(w["pnl"])) for w in row.get("if_win") or ()),
            float(row.get("worst_case") or 0.0),
            float(row.get("worst_case_with_unmatched") or 0.0),
            float(row.get("matched_volume") or 0.0),
            int(row.get("open_orders") or 0),
            None if settled is None else float(settled),
            float(row.get("commission") or 0.0),
        )


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    level: str = "info"
    """info, ok or error."""


@dataclass(frozen=True, slots=True)
class AccountBound:
    """The server bound the connection to this account (its API key's): manual orders, my
    orders and my P&L are this account's from now on."""

    account_id: int


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    status: m.Status
    conn: ConnView


@dataclass(frozen=True, slots=True)
class MarketsUpdate:
    markets: tuple[m.MarketInfo, ...]


@dataclass(frozen=True, slots=True)
class TradesUpdate:
    market_id: int
    trades: tuple[TradeRow, ...]


@dataclass(frozen=True, slots=True)
class OrdersUpdate:
    market_id: int
    orders: tuple[OrderRow, ...]


Update = (
    m.Snapshot
    | m.Status
    | m.Ack
    | m.OrderResponse
    | m.MarketCreated
    | m.MarketUpdated
    | m.MarketList
    | m.ServerError
    | m.OrdersResponse
    | m.OrderUpdate
    | m.AccountSettled
    | m.UnknownMsg
    | StatusUpdate
    | ConnView
    | MetricsView
    | MarketsUpdate
    | TradesUpdate
    | OrdersUpdate
    | RiskView
    | BotsView
    | Notice
    | AccountBound
)
"""Everything the network side can tell the UI; `UiState.apply` takes any of them."""


@dataclass(slots=True)
class UiState:
    account_id: int = 1
    no_ack: bool = False
    url: str = ""
    conn: ConnView = field(default_factory=ConnView)
    server_markets: int = 0
    markets: dict[int, MarketRow] = field(default_factory=dict)
    market_cursor: int = 0
    selected_market: int | None = None
    snapshots: dict[int, m.Snapshot] = field(default_factory=dict)
    runner_cursor: int = 0
    trades: tuple[TradeRow, ...] = ()
    orders: dict[int, OrderRow] = field(default_factory=dict)
    order_cursor: int = 0
    bots: BotsView = field(default_factory=BotsView)
    metrics: MetricsView | None = None
    risk: RiskView | None = None
    """My P&L in the selected market (polled `/risk`)."""
    layout: Layout = field(default_factory=Layout)
    """The terminal's layout (see `resize`); views read ladder levels and sizes from it."""
    notices: deque[Notice] = field(default_factory=lambda: deque(maxlen=5))
    pending: dict[int, str] = field(default_factory=dict)
    """User commands awaiting a reply: correlation_id → what to call it in a notice."""
    pending_actions: dict[int, str] = field(default_factory=dict)
    """Market commands awaiting a reply: correlation_id → lifecycle action (for hints)."""
    focus: Focus = Focus.MARKETS
    awaiting_create: bool = False
    """A market was created without acks: select the next new market the list shows."""
    version: int = 0
    """Bumped on every change."""
    dirty: set[str] = field(default_factory=lambda: set(PANES))
    """Panes to re-render (see `take_dirty`)."""

    # --- derived views -------------------------------------------------------------------------

    @property
    def market_ids(self) -> list[int]:
        return sorted(self.markets)

    @property
    def cursor_market(self) -> int | None:
        ids = self.market_ids
        return ids[min(self.market_cursor, len(ids) - 1)] if ids else None

    @property
    def snapshot(self) -> m.Snapshot | None:
        return None if self.selected_market is None else self.snapshots.get(self.selected_market)

    @property
    def is_binary(self) -> bool:
        snap = self.snapshot
        return snap is not None and snap.market_model == "BINARY_YES"

    @property
    def runner_ids(self) -> tuple[int, ...]:
        snap = self.snapshot
        return snap.runner_ids if snap is not None else ()

    @property
    def selected_runner(self) -> int | None:
        ids = self.runner_ids
        return ids[min(self.runner_cursor, len(ids) - 1)] if ids else None

    @property
    def market_life(self) -> MarketLife | None:
        """The selected market's lifecycle position, as far as this app knows it."""
        mid = self.selected_market
        row = self.markets.get(mid) if mid is not None else None
        if row is None:
            return None
        snap = self.snapshot
        capable = snap is None or not snap.market_kind or snap.market_kind == "IN_PLAY_CAPABLE"
        return MarketLife(row.market_state, row.market_phase, capable)

    def refusal(self, action: str) -> str | None:
        """Why `action` cannot work on the selected market now (None: go ahead). While a market
        command of ours awaits its reply the state is in flux (`a` then `g` typed fast): nothing
        is refused then, the server judges."""
        life = self.market_life
        if life is None:
            return "select or create a market first (1/2/3 create)"
        if self.pending_actions:
            return None
        return refusal(action, life)

    def runner_label(self, runner_id: int) -> str:
        snap = self.snapshot
        if snap is not None:
            for r in snap.runners:
                if r.runner_id == runner_id:
                    return r.label
        return str(runner_id)

    @property
    def order_list(self) -> list[OrderRow]:
        """My orders in the selected market: open ones first, newest first within each group."""
        rows = [o for o in self.orders.values() if o.market_id == self.selected_market]
        return sorted(rows, key=lambda o: (not o.is_open, -o.order_id))

    @property
    def selected_order(self) -> OrderRow | None:
        rows = self.order_list
        return rows[min(self.order_cursor, len(rows) - 1)] if rows else None

    # --- changes ---------------------------------------------------------------------------------

    def _changed(self, *panes: str) -> None:
        """Record a change to `panes` (all of them when none is named)."""
        self.version += 1
        self.dirty.update(panes or PANES)

    def take_dirty(self) -> set[str]:
        """The panes changed since the last call (the renderer's to-do list)."""
        out, self.dirty = self.dirty, set()
        return out

    def resize(self, width: int, height: int) -> None:
        """The terminal is now `width`×`height`: re-plan the layout and redraw everything."""
        layout = plan(width, height)
        if layout != self.layout:
            self.layout = layout
            self._changed()

    def note(self, text: str, level: str = "info") -> None:
        self.notices.append(Notice(text, level))
        self._changed("notices")

    def track(self, correlation_id: int | None, label: str, command: str | None = None) -> None:
        """Remember a user command so its reply becomes a notice (with acks on); `command` (a
        market command type) lets a lifecycle reject name the next valid step."""
        if correlation_id is not None and not self.no_ack:
            self.pending[correlation_id] = label
            action = COMMAND_ACTION.get(command or "")
            if action is not None:
                self.pending_actions[correlation_id] = action
        self.note(f"{label}: sent" + (" (no ack)" if self.no_ack else ""))

    def apply(self, u: Update) -> None:
        """Apply one message from the network side."""
        if isinstance(u, StatusUpdate):
            self.apply_status(u.status, u.conn)
        elif isinstance(u, ConnView):
            self.apply_conn(u)
        elif isinstance(u, MetricsView):
            self.apply_metrics(u)
        elif isinstance(u, MarketsUpdate):
            self.apply_markets(u.markets)
        elif isinstance(u, TradesUpdate):
            self.apply_trades(u.market_id, u.trades)
        elif isinstance(u, OrdersUpdate):
            self.apply_orders(u.market_id, u.orders)
        elif isinstance(u, RiskView):
            self.apply_risk(u)
        elif isinstance(u, BotsView):
            self.apply_bots(u)
        elif isinstance(u, Notice):
            self.note(u.text, u.level)
        elif isinstance(u, AccountBound):
            self.apply_account(u.account_id)
        else:
            self.apply_server_msg(u)

    def apply_account(self, account_id: int) -> None:
        if account_id != self.account_id:
            self.account_id = account_id
            self.orders.clear()
            self._changed("status", "orders", "pnl", "footer")

    def apply_conn(self, conn: ConnView) -> None:
        if conn.connected and not self.conn.connected:
            self.note(
                f"connected to {conn.url}" + (f" (reconnect {conn.reconnects})" if conn.reconnects else ""),
                "ok",
            )
        elif self.conn.connected and not conn.connected:
            self.note(f"connection lost ({conn.last_error or conn.state.lower()}); reconnecting", "error")
            self.pending.clear()
            self.pending_actions.clear()
        self.conn = conn
        self._changed("status")

    def apply_status(self, status: m.Status, conn: ConnView) -> None:
        self.server_markets = status.markets
        self.conn = conn
        self._changed("status")

    def apply_server_msg(self, msg: m.ServerMsg) -> None:
        if isinstance(msg, m.Snapshot):
            self.apply_snapshot(msg)
        elif isinstance(msg, m.OrderResponse):
            self.apply_order_response(msg)
        elif isinstance(msg, m.MarketCreated):
            self.apply_market_created(msg)
        elif isinstance(msg, m.MarketUpdated):
            self.apply_market_updated(msg)
        elif isinstance(msg, m.MarketList):
            self.apply_markets(msg.markets)
        elif isinstance(msg, m.Ack):
            self.apply_ack(msg)
        elif isinstance(msg, m.ServerError):
            self.apply_error(msg)
        elif isinstance(msg, m.AccountSettled):
            self.note(f"market {msg.market_id} {msg.kind.lower()}: net P&L {msg.net:+.2f}", "ok")

    def apply_snapshot(self, snap: m.Snapshot) -> None:
        self.snapshots[snap.market_id] = snap
        self.markets[snap.market_id] = MarketRow(
            snap.market_id, snap.name, snap.market_state, snap.market_phase, snap.market_model
        )
        if self.selected_market is None:
            self.selected_market = snap.market_id
            self.market_cursor = self.market_ids.index(snap.market_id)
        self._changed("ladder", "markets", "footer", "pnl")

    def apply_markets(self, markets: tuple[m.MarketInfo, ...] | list[m.MarketInfo]) -> None:
        """The full market list (from MARKET_LIST or `/markets`); keeps what snapshots know better."""
        cursor_id = self.cursor_market
        rows = {}
        for mi in markets:
            old = self.markets.get(mi.market_id)
            model = str(mi.extra.get("market_model") or (old.market_model if old else ""))
            rows[mi.market_id] = MarketRow(mi.market_id, mi.name, mi.market_state, mi.market_phase, model)
        for mid in self.snapshots:
            # a poll that started before a market was created must not hide it
            if mid not in rows and mid in self.markets:
                rows[mid] = self.markets[mid]
        if rows == self.markets:
            return
        fresh = sorted(set(rows) - set(self.markets))
        self.markets = rows
        if fresh and self.awaiting_create:
            self.awaiting_create = False
            self.select_market(fresh[-1])
        if cursor_id in rows:
            self.market_cursor = self.market_ids.index(cursor_id)
        self._changed("markets", "footer")

    def apply_market_created(self, msg: m.MarketCreated) -> None:
        label = self.pending.pop(msg.correlation_id, None) if msg.correlation_id is not None else None
        snap = msg.snapshot
        if snap is not None:
            self.snapshots.setdefault(snap.market_id, snap)
            self.markets[snap.market_id] = MarketRow(
                snap.market_id, snap.name, snap.market_state, snap.market_phase, snap.market_model
            )
        elif msg.market_id not in self.markets:
            self.markets[msg.market_id] = MarketRow(msg.market_id, f"market {msg.market_id}", "OPEN", "PRE")
        if label is not None:
            self.note(f"{label}: market {msg.market_id} created", "ok")
            self.select_market(msg.market_id)
        self._changed("markets", "ladder")

    def apply_market_updated(self, msg: m.MarketUpdated) -> None:
        old = self.markets.get(msg.market_id)
        if old is not None:
            self.markets[msg.market_id] = MarketRow(
                old.market_id, old.name, msg.market_state, msg.market_phase, old.market_model
            )
        label = self.pending.pop(msg.correlation_id, None) if msg.correlation_id is not None else None
        if label is not None:
            self.note(f"{label}: ok → {msg.market_state}/{msg.market_phase}", "ok")
        if msg.correlation_id is not None:
            self.pending_actions.pop(msg.correlation_id, None)
        self._changed("markets", "ladder", "footer")

    def apply_ack(self, msg: m.Ack) -> None:
        cid = msg.correlation_id
        label = self.pending.pop(cid, None) if cid is not None else None
        action = self.pending_actions.pop(cid, None) if cid is not None else None
        if label is None:
            return
        if msg.ok:
            self.note(f"{label}: ok", "ok")
        else:
            err = msg.error or m.ErrorInfo("REJECTED")
            self.note(f"{label}: {err.code} {err.message}".rstrip() + self._hint(err.code, action), "error")

    def apply_error(self, msg: m.ServerError) -> None:
        cid = msg.correlation_id
        label = self.pending.pop(cid, None) if cid is not None else None
        action = self.pending_actions.pop(cid, None) if cid is not None else None
        text = f"{label or 'server'}: {msg.code} {msg.message}".rstrip()
        self.note(text + self._hint(msg.code, action), "error")

    def _hint(self, code: str, action: str | None) -> str:
        """For a lifecycle reject: what to press instead, from the market's state as known now."""
        if code != "INVALID_TRANSITION" or action is None:
            return ""
        why = self.refusal(action)
        return f" — {why}" if why else ""

    def apply_order_response(self, msg: m.OrderResponse) -> None:
        cid = msg.correlation_id
        label = self.pending.pop(cid, None) if cid is not None else None
        if msg.rejected:
            err = msg.error or m.ErrorInfo("REJECTED")
            self.note(f"{label or 'order'}: {err.code} {err.message}".rstrip(), "error")
            return
        mine = cid is not None and account_of(cid) == self.account_id
        if msg.order_id is not None and (mine or msg.order_id in self.orders):
            old = self.orders.get(msg.order_id)
            self.orders[msg.order_id] = OrderRow(
                msg.order_id,
                msg.market_id if msg.market_id is not None else (old.market_id if old else 0),
                msg.runner_id if msg.runner_id is not None else (old.runner_id if old else 0),
                msg.side or (old.side if old else ""),
                msg.price if msg.price is not None else (old.price if old else 0.0),
                msg.size or (old.size if old else 0.0),
                msg.size_matched,
                msg.size_remaining,
                OPEN_ORDER
                if msg.size_remaining > 0 and msg.status in ("ACCEPTED", "EXECUTABLE")
                else msg.status,
            )
        if label is not None:
            filled = f", matched {msg.size_matched:g}" if msg.size_matched else ""
            oid = f" #{msg.order_id}" if msg.order_id is not None else ""
            self.note(f"{label}: {msg.status.lower()}{oid}{filled}", "ok")
        self._changed("orders")

    def apply_trades(self, market_id: int, trades: tuple[TradeRow, ...]) -> None:
        if market_id == self.selected_market and trades != self.trades:
            self.trades = trades
            self._changed("trades")

    def apply_orders(self, market_id: int, orders: tuple[OrderRow, ...]) -> None:
        """Polled `/orders` for my account in `market_id` (authoritative: passive fills show here)."""
        if market_id != self.selected_market:
            return
        fresh = {o.order_id: o for o in orders}
        merged = {oid: o for oid, o in self.orders.items() if o.market_id != market_id}
        # keep rows the poll has not caught up with yet (a reply newer than the poll)
        for oid, o in self.orders.items():
            if o.market_id == market_id and oid not in fresh and o.is_open:
                merged[oid] = o
        merged.update(fresh)
        if merged != self.orders:
            self.orders = merged
            self._clamp_order_cursor()
            self._changed("orders")

    def apply_risk(self, view: RiskView) -> None:
        if view.market_id == self.selected_market and view != self.risk:
            self.risk = view
            self._changed("pnl", "markets")  # the markets pane gets the lines the P&L leaves

    def apply_bots(self, view: BotsView) -> None:
        if view != self.bots:
            self.bots = view
            self._changed("bots", "status")

    def apply_metrics(self, view: MetricsView) -> None:
        self.metrics = view
        self._changed("metrics")

    # --- navigation ------------------------------------------------------------------------------

    def cycle_focus(self, step: int = 1) -> None:
        i = FOCUS_CYCLE.index(self.focus)
        self.focus = FOCUS_CYCLE[(i + step) % len(FOCUS_CYCLE)]
        self._changed("markets", "ladder", "orders")

    def move_cursor(self, delta: int) -> None:
        if self.focus is Focus.MARKETS:
            n = len(self.markets)
            self.market_cursor = max(0, min(n - 1, self.market_cursor + delta)) if n else 0
        elif self.focus is Focus.RUNNERS:
            n = len(self.runner_ids)
            self.runner_cursor = max(0, min(n - 1, self.runner_cursor + delta)) if n else 0
        else:
            n = len(self.order_list)
            self.order_cursor = max(0, min(n - 1, self.order_cursor + delta)) if n else 0
        self._changed(PANE_OF_FOCUS[self.focus])

    def select_market(self, market_id: int | None) -> bool:
        """Show `market_id`; True if that changed the selection (the app then re-subscribes)."""
        if market_id is None or market_id == self.selected_market:
            return False
        self.selected_market = market_id
        if market_id in self.markets:
            self.market_cursor = self.market_ids.index(market_id)
        self.runner_cursor = 0
        self.order_cursor = 0
        self.trades = ()
        self.risk = None
        self._changed()
        return True

    def _clamp_order_cursor(self) -> None:
        n = len(self.order_list)
        self.order_cursor = max(0, min(self.order_cursor, n - 1))
