"""The single-writer matching engine: commands in, events out, state changed only by events.

Every mutation goes through `apply(event)`: `execute(cmd)` validates, plans the matching
without touching state, then emits events, each applied as it is emitted. A fresh engine fed
the same events with `apply` therefore reaches the same state, byte for byte (`dump()`).

Runtime protocol: ``begin_batch(ts)``, ``execute(cmd)`` per command (returns a Result, never
raises on bad input), ``end_batch(n)`` → the batch's events ending in BATCH_PROCESSED, or no
events at all for a batch that changed nothing (every command rejected): then neither the seq
nor the engine time moves, so the state hash does not change when nothing did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, cast

from betex.core.domain import accounts, cancels, delay, lifecycle, removal, state, validate
from betex.core.domain import commands as C
from betex.core.domain.book.levels import Order
from betex.core.domain.book.walk import Step
from betex.core.domain.delaybook import DelayBook
from betex.core.domain.events import (
    AccountCreated,
    AccountLimitSet,
    BatchProcessed,
    BetDelaySet,
    Event,
    KeyIssued,
    KeyRevoked,
    MarketCreated,
    MarketSettled,
    MarketStateChanged,
    MarketVoided,
    OrderAccepted,
    OrderCancelled,
    OrderDelayed,
    OrderMatured,
    RunnerRemoved,
    RunnersAdded,
    Tick,
    TradeMatched,
    TradesVoided,
)
from betex.core.domain.market import Market, Tombstone
from betex.core.domain.results import Fill, OrderResult, Reject, Result, order_result
from betex.core.domain.risk import Exposure, RiskBook
from betex.core.domain.types import CancelReason, MarketState, RejectCode
from betex.core.domain.validate import EngineConfig as EngineConfig
from betex.core.errors import DataDamaged

R = RejectCode

# Plain strings for the hot paths: StrEnum member access costs ~35 ns each in CPython 3.11.
_LAPSE: Final = "LAPSE"
_PERSIST: Final = "PERSIST"
_FILL_OR_KILL: Final = "FILL_OR_KILL"
_OPEN: Final = "OPEN"
_HALTED: Final = "HALTED"
_IN_PLAY: Final = "IN_PLAY"
_LAPSED: Final = "LAPSED"

_USER: Final = "USER"  # CancelReason values, as plain strings (equal, and encoded alike)
_SELF_TRADE: Final = "SELF_TRADE"
_FOK_UNFILLED: Final = "FOK_UNFILLED"

_new: Final = tuple.__new__  # builds a NamedTuple without its keyword-argument __new__ (hot path)
# Classes the hot path names, as Final statics (a compiled module's globals are dict lookups).
_PLACE: Final = C.PlaceOrder
_CANCEL: Final = C.CancelOrder
_ACCEPTED: Final = OrderAccepted
_CANCELLED: Final = OrderCancelled
_TRADE: Final = TradeMatched
_FILL: Final = Fill
_ORDER_RESULT: Final = OrderResult


class SeqGap(DataDamaged, ValueError):
    """Replay was handed an event whose seq does not follow the engine's: the log has a hole."""


class Engine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.seq = 0
        self.ts = 0
        self.markets: dict[int, Market] = {}  # the live markets: not SETTLED, not VOIDED
        self.tombstones: dict[int, Tombstone] = {}  # the SETTLED and VOIDED ones (see lifecycle.retire)
        self.orders: dict[int, Order] = {}
        self.next_market_id = 1
        self.next_order_id = 1
        self.next_trade_id = 1
        self.risk = RiskBook()
        self.limits = self.risk.limits  # account → max_liability (the risk book's own dict)
        self.refs = validate.RecentRefs(self.config.duplicate_window_ns)
        self.accounts: dict[int, str] = {}
        """Accounts made by CREATE_ACCOUNT: id → name (open mode also trades under other ids)."""
        self.next_account_id = 1
        self.keys: dict[int, tuple[int, str, bool]] = {}
        """API keys: key_id → (account_id, sha256 hex of the key, revoked)."""
        self.next_key_id = 1
        self.delayed = DelayBook()
        """In-play delayed orders not yet in the book (delay.py)."""
        self._batch: list[Event] = []
        self._ts_before = 0
        """Engine time before `begin_batch`, restored by an `end_batch` with nothing to record."""
        self._seq_before = 0
        """Seq at `begin_batch`: unchanged at `end_batch` means the batch emitted nothing."""
        self._handlers: dict[type, Callable[[Any], Result]] = {
            C.CreateMarket: lambda c: lifecycle.create_market(self, c),
            C.AddRunners: lambda c: lifecycle.add_runners(self, c),
            C.PlaceOrder: self._place,
            C.CancelOrder: self._cancel,
            C.CancelAll: lambda c: cancels.cancel_all(self, c),
            C.ReplaceOrder: self._replace,
            C.SetMarketState: lambda c: lifecycle.change_state(self, c, "SET_MARKET_STATE", c.market_state),
            C.AwaitLiveMarket: lambda c: lifecycle.change_state(self, c, "AWAIT_LIVE_MARKET"),
            C.GoLiveMarket: lambda c: lifecycle.change_state(self, c, "GO_LIVE_MARKET"),
            C.CloseMarket: lambda c: lifecycle.change_state(self, c, "CLOSE_MARKET"),
            C.VoidMarket: lambda c: lifecycle.change_state(self, c, "VOID_MARKET"),
            C.SettleMarket: lambda c: lifecycle.settle(self, c),
            C.VoidTrades: lambda c: lifecycle.void_trades(self, c),
            C.SetAccountLimit: lambda c: accounts.set_limit(self, c),
            C.ReduceOrder: lambda c: cancels.reduce_order(self, c),
            C.CreateAccount: lambda c: accounts.create_account(self, c),
            C.IssueKey: lambda c: accounts.issue_key(self, c),
            C.RevokeKey: lambda c: accounts.revoke_key(self, c),
            C.RemoveRunner: lambda c: removal.remove_runner(self, c),  # runner removal
        }
        self._appliers: dict[type, Callable[[Any], None]] = {
            MarketCreated: lambda e: lifecycle.on_market_created(self, e),
            RunnersAdded: lambda e: lifecycle.on_runners_added(self, e),
            MarketStateChanged: lambda e: lifecycle.on_state_changed(self, e),
            OrderAccepted: self._on_accepted,
            OrderCancelled: self._on_cancelled,
            TradeMatched: self._on_trade,
            TradesVoided: lambda e: lifecycle.on_trades_voided(self, e),
            MarketSettled: lambda e: lifecycle.on_settled(self, e),
            MarketVoided: lambda e: lifecycle.on_market_voided(self, e),
            AccountLimitSet: lambda e: accounts.on_limit(self, e),
            BatchProcessed: self._on_batch,
            AccountCreated: lambda e: accounts.on_account_created(self, e),
            KeyIssued: lambda e: accounts.on_key_issued(self, e),
            KeyRevoked: lambda e: accounts.on_key_revoked(self, e),
            RunnerRemoved: lambda e: removal.on_runner_removed(self, e),  # runner removal
            # in-play bet delay (delay.py)
            BetDelaySet: lambda e: delay.on_bet_delay_set(self, e),
            OrderDelayed: lambda e: delay.on_delayed(self, e),
            OrderMatured: lambda e: delay.on_matured(self, e),
            Tick: self._on_batch,
        }

    # ------------------------------------------------------------------ runtime protocol

    def begin_batch(self, ts: int) -> None:
        """Engine time for the batch: one clock read, recorded in every event it produces."""
        self._ts_before = self.ts
        self._seq_before = self.seq
        self.ts = ts
        if self.delayed.entries:  # delayed orders due by now enter the book first (delay.py)
            delay.mature(self)

    def execute(self, cmd: object) -> Result:
        t = type(cmd)
        if t is _PLACE:  # the hot commands skip the dispatch table
            return self._place(cast(C.PlaceOrder, cmd))
        if t is _CANCEL:
            return self._cancel(cast(C.CancelOrder, cmd))
        handler = self._handlers.get(t)
        if handler is None:
            return Reject(R.BAD_REQUEST, f"unknown command {type(cmd).__name__}")
        return handler(cmd)

    def end_batch(self, commands: int) -> list[Event]:
        if self.seq == self._seq_before:  # nothing changed: no marker, the last event's time stays
            self.ts = self._ts_before
            return []
        self._emit(BatchProcessed(self.seq + 1, self.ts, 0, commands))
        batch = self._batch
        self._batch = []
        return batch

    def take_events(self) -> list[Event]:
        """The events emitted since the last call, without a batch marker (for in-process use)."""
        batch = self._batch
        self._batch = []
        return batch

    def apply(self, event: Event) -> None:
        """Replay one event. Seq must be contiguous."""
        if event.seq != self.seq + 1:
            raise SeqGap(f"event seq {event.seq} does not follow {self.seq}")
        self.seq = event.seq
        self.ts = event.ts
        self._appliers[type(event)](event)

    def apply_all(self, events: Iterable[Event]) -> None:
        """Replay events in order: `apply` for each, in one loop (recovery's hot path)."""
        appliers = self._appliers
        for event in events:
            seq = event.seq
            if seq != self.seq + 1:
                raise SeqGap(f"event seq {seq} does not follow {self.seq}")
            self.seq = seq
            self.ts = event.ts
            appliers[type(event)](event)

    def _emit(self, event: Event) -> None:
        """Record and apply an event built with ``seq = self.seq + 1`` (the live path)."""
        self._batch.append(event)
        self.seq = event.seq
        self._appliers[type(event)](event)

    def _emit_cancel(self, market_id: int, order_id: int, size: int, reason: str) -> None:
        """`_emit` of an ORDER_CANCELLED, without the dispatch (hot path)."""
        self.seq = seq = self.seq + 1
        ev: OrderCancelled = _new(_CANCELLED, (seq, self.ts, market_id, order_id, size, reason))
        self._batch.append(ev)
        self._on_cancelled(ev)

    # ------------------------------------------------------------------ markets

    def _market(self, market_id: int, late: RejectCode = R.MARKET_NOT_OPEN) -> Market | Reject:
        """The live market, or the reject: `late` (with the final state) for a settled or voided
        market, INVALID_MARKET for an id never created."""
        m = self.markets.get(market_id)
        if m is None:
            t = self.tombstones.get(market_id)
            if t is not None:
                return Reject(late, f"market {market_id} is {t.state}")
            return Reject(R.INVALID_MARKET, f"unknown market {market_id!r}")
        return m

    # ------------------------------------------------------------------ orders

    def _open_market(self, market_id: int) -> Market | Reject:
        m = self._market(market_id)
        if isinstance(m, Reject):
            return m
        if m.state != _OPEN:
            if m.state == MarketState.SUSPENDED:
                return Reject(R.MARKET_SUSPENDED, f"market {m.market_id} is suspended")
            if m.state == _HALTED:
                return Reject(R.MARKET_HALTED, f"market {m.market_id} is halted")
            return Reject(R.MARKET_NOT_OPEN, f"market {m.market_id} is {m.state}")
        return m

    def _place(self, c: C.PlaceOrder) -> Result:
        m = self.markets.get(c.market_id)
        if m is None or m.state != _OPEN:
            return self._open_market(c.market_id)  # type: ignore[return-value]  # the reject
        bad = validate.check_order(m, c, self.config)
        if bad:
            return bad
        guard = c.market_version
        if guard and m.version > guard:
            return Reject(R.VERSION_MISMATCH, f"market {m.market_id} is at version {m.version}, not {guard}")
        ref = c.client_ref
        if ref:
            if self.refs.is_duplicate(c.account_id, ref, self.ts):
                return Reject(R.DUPLICATE, f"client_ref {ref!r} was used in the last 60 s")
        return self._place_checked(m, c, 0)

    def _place_checked(self, m: Market, c: C.PlaceOrder, replaces: int) -> OrderResult | Reject:
        if m.bet_delay_ms and m.phase == _IN_PLAY:
            return delay.accept(self, m, c, replaces)
        side, runner_id, price, size, account = c.side, c.runner_id, c.price, c.size, c.account_id
        steps, fillable = m.plan(side, runner_id, price, account, size)
        fok = c.time_in_force == _FILL_OR_KILL
        if fok and fillable < (c.min_fill_size or size):
            wanted = c.min_fill_size or size
            return Reject(
                R.FOK_NOT_FILLED,
                f"only {validate.fmt_size(m, fillable)} of {validate.fmt_size(m, wanted)} can be matched",
            )
        limit = self.limits.get(account)
        if limit:
            bad = self.risk.check(m, account, side, runner_id, price, size, limit)
            if bad:
                return bad
        oid = self.next_order_id
        ts = self.ts
        mid = m.market_id
        accepted: OrderAccepted = _new(
            _ACCEPTED,
            (self.seq + 1, ts, mid, oid, account, runner_id, side, price, size,
             c.persistence, c.time_in_force, c.client_ref, replaces),
        )  # fmt: skip
        self._batch.append(accepted)
        self.seq += 1
        taker = self._accept(oid, account, mid, runner_id, side, price, size, c.persistence == _PERSIST,
                             c.client_ref, ts)  # fmt: skip
        if not steps:  # the common passive case
            result: OrderResult = _new(
                _ORDER_RESULT, ("ACCEPTED", oid, mid, runner_id, side, price, size, 0, size, 0, (), 0, None)
            )
            return result
        return self._match(m, taker, steps, fok)

    def _match(self, m: Market, taker: Order, steps: list[Step], fok: bool) -> OrderResult:
        """Emit the trades (and self-trade cancels) of a planned order; the reply's fills.

        A ring fill's `effective_odds` is the taker's own odds on its runner A over the whole
        ring (one trade per other runner, N − 1 consecutive implied steps): with W the taker's
        P&L if A wins over the ring's legs and S its stake over the ring's trades, the odds are
        ``1 + |W| / S`` (a back wins W > 0, a lay risks −W), shown on each of the ring's fills."""
        oid, account, mid, runner_id = taker.order_id, taker.account_id, m.market_id, taker.runner_id
        ts = self.ts
        fills: list[Fill] = []
        binary_market = m.is_binary
        batch = self._batch
        ring_n = len(m.runner_ids) - len(m.removed) - 1  # trades per ring fill (active runners)
        ring_w = ring_s = 0  # the taker's P&L if A wins, and stake, over the ring so far
        ring_at = len(fills)  # index of the ring's first fill
        for maker, taker_size, maker_size, legs, house, implied, maker_runner in steps:
            if not taker_size:
                self._emit_cancel(mid, maker.order_id, maker.remaining, _SELF_TRADE)
                continue
            tid = self.next_trade_id
            self.seq = seq = self.seq + 1
            mprice = maker.price
            trade: TradeMatched = _new(
                _TRADE,
                (seq, ts, mid, tid, runner_id, oid, account, taker_size, maker.order_id,
                 maker.account_id, maker_size, maker_runner, mprice, implied, legs, house),
            )  # fmt: skip
            batch.append(trade)
            self._trade(m, trade, taker, maker, taker_size, maker_size)  # `_on_trade`, orders in hand
            if binary_market:
                eff = float(mprice)
            elif implied:
                if not ring_s:
                    ring_at = len(fills)
                for leg in legs:
                    if leg.account_id == account:
                        ring_w += leg.win if leg.runner_id == runner_id else -leg.lose
                ring_s += taker_size
                if len(fills) + 1 - ring_at < ring_n:
                    fills.append(_new(_FILL, (tid, mprice, taker_size, implied, 0.0)))
                    continue
                eff = round(1 + abs(ring_w) / ring_s, 4)
                for i in range(ring_at, len(fills)):
                    f = fills[i]  # `_replace(effective_odds=eff)`, without its interpreted code
                    fills[i] = _new(_FILL, (f.trade_id, f.price, f.size, f.implied, eff))
                ring_w = ring_s = 0
            else:
                eff = mprice / 100
            fills.append(_new(_FILL, (tid, mprice, taker_size, implied, eff)))
        if fok and taker.remaining:
            self._emit_cancel(mid, oid, taker.remaining, _FOK_UNFILLED)
        return order_result("ACCEPTED", taker, tuple(fills))

    def _owned_live_order(self, market_id: int, order_id: int, account_id: int) -> Order | Reject:
        """The live order `order_id` of `account_id` in `market_id` (its market is
        `self.markets[o.market_id]`; no (market, order) pair is built on the hot path)."""
        m = self._market(market_id)
        if isinstance(m, Reject):
            return m
        if m.state == _HALTED:
            return Reject(R.MARKET_HALTED, f"market {m.market_id} is halted")
        o = self.orders.get(order_id)
        if o is None or o.market_id != m.market_id:
            return Reject(R.INVALID_ORDER, f"unknown order {order_id!r} in market {m.market_id}")
        if account_id != o.account_id:
            return Reject(R.NOT_OWNER, f"order {o.order_id} belongs to another account")
        if not o.remaining:
            return Reject(R.INVALID_ORDER, f"order {o.order_id} is EXECUTION_COMPLETE")
        return o

    def _cancel(self, c: C.CancelOrder) -> Result:
        o = self._owned_live_order(c.market_id, c.order_id, c.account_id)
        if isinstance(o, Reject):
            return o
        red = c.size_reduction
        if red < 0:
            return Reject(R.INVALID_SIZE, "size_reduction must be a positive amount")
        amount = o.remaining if not red or red > o.remaining else red
        self._emit_cancel(o.market_id, o.order_id, amount, _USER)
        return order_result("CANCELLED", o)

    def _replace(self, c: C.ReplaceOrder) -> Result:
        o = self._owned_live_order(c.market_id, c.order_id, c.account_id)
        if isinstance(o, Reject):
            return o
        m = self.markets[o.market_id]
        m_open = self._open_market(m.market_id)
        if isinstance(m_open, Reject):
            return m_open
        bad = validate.check_price(m, c.new_price)
        if bad:
            return bad
        amount = o.remaining
        self._emit(
            OrderCancelled(self.seq + 1, self.ts, m.market_id, o.order_id, amount, CancelReason.REPLACED)
        )
        new = C.PlaceOrder(
            m.market_id,
            o.runner_id,
            o.side,
            c.new_price,
            amount,
            o.account_id,
            _PERSIST if o.persist else _LAPSE,
        )
        placed = self._place_checked(m, new, o.order_id)
        if isinstance(placed, Reject):
            return Reject(
                R.CANCELLED_NOT_PLACED,
                f"order {o.order_id} cancelled; replacement rejected: {placed.code}: {placed.message}",
            )
        old = order_result("REPLACED", o)
        return old._replace(replacement_order_id=placed.order_id, replacement=placed, fills=placed.fills)

    # ------------------------------------------------------------------ risk

    def exposure(self, market_id: int, account_id: int) -> Exposure | None:
        """Matched + unmatched-at-limit exposure, kept only for accounts with a limit."""
        return self.risk.exposure(market_id, account_id)

    # ------------------------------------------------------------------ appliers

    def _on_accepted(self, e: OrderAccepted) -> None:
        self._accept(e.order_id, e.account_id, e.market_id, e.runner_id, e.side, e.price, e.size,
                     e.persistence == _PERSIST, e.client_ref, e.ts)  # fmt: skip

    def _accept(
        self, oid: int, account: int, mid: int, runner: int, side: str, price: int, size: int,
        persist: bool, ref: str, ts: int,
    ) -> Order:  # fmt: skip
        """Apply an ORDER_ACCEPTED from its fields (the live path has them in hand)."""
        o = Order(oid, account, mid, runner, side, price, size, persist, ref, ts)
        self.orders[oid] = o
        self.next_order_id = oid + 1
        m = self.markets[mid]
        book = m.books[runner]
        (book.backs if side == "BACK" or side == "BUY" else book.lays).add(o)
        own = m.by_account.get(account)
        if own is None:
            own = m.by_account[account] = {}
        own[o] = None
        if ref:
            self.refs.remember(account, ref, ts)
        if account in self.limits:
            self.risk.order_moved(m, o, 0)
        return o

    def _take(self, o: Order, amount: int) -> None:
        self._take_in(self.markets[o.market_id], o, amount)

    def _take_in(self, m: Market, o: Order, amount: int) -> None:
        """`_take` with the order's market in hand."""
        before = o.remaining
        o.remaining = remaining = before - amount
        book = m.books[o.runner_id]
        side = o.side
        (book.backs if side == "BACK" or side == "BUY" else book.lays).reduce(o, amount)
        if not remaining:
            own = m.by_account[o.account_id]
            del own[o]
            if not own:
                del m.by_account[o.account_id]
        if o.account_id in self.limits:
            self.risk.order_moved(m, o, before)

    def _on_cancelled(self, e: OrderCancelled) -> None:
        o = self.orders[e.order_id]
        if e.reason == _LAPSED:
            o.lapsed += e.size
        else:
            o.cancelled += e.size
        if self.delayed.entries and e.order_id in self.delayed.entries:
            delay.take(self, o, e.size)  # not in the book yet
            return
        self._take(o, e.size)

    def _on_trade(self, e: TradeMatched) -> None:
        orders = self.orders
        self._trade(self.markets[e.market_id], e, orders[e.taker_order_id], orders[e.maker_order_id],
                    e.taker_size, e.maker_size)  # fmt: skip

    def _trade(self, m: Market, e: TradeMatched, taker: Order, maker: Order, taker_size: int,
               maker_size: int) -> None:  # fmt: skip
        """Apply a TRADE_MATCHED whose market and orders are in hand (`_match` has them: no
        lookups by id on the hot path)."""
        taker.matched += taker_size
        maker.matched += maker_size
        self._take_in(m, taker, taker_size)
        self._take_in(m, maker, maker_size)
        m.trades[e.trade_id] = e
        self.next_trade_id = e.trade_id + 1
        if self.limits:
            self.risk.legs(m.market_id, e.legs, 1)

    def _on_batch(self, e: BatchProcessed) -> None:
        pass

    # ------------------------------------------------------------------ views

    def depth(self, market_id: int, depth: int = 10) -> dict[str, Any] | None:
        """Ladder view in engine units (see `book.depth.depth_view`); None for an unknown market."""
        m = self.markets.get(market_id)
        return None if m is None else m.depth(depth)

    # ------------------------------------------------------------------ snapshots and hashing

    def dump(self) -> bytes:
        """Canonical msgpack encoding of the whole state (see `state.dump`)."""
        return state.dump(self)

    @classmethod
    def load(cls, data: bytes, config: EngineConfig | None = None) -> Engine:
        eng = cls(config)
        state.restore(eng, data)
        return eng

    def state_hash(self) -> str:
        return state.state_hash(self)
