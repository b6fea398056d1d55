"""The single-writer matching engine: commands in, events out, state changed only by events.

Every mutation goes through `apply(event)`: `execute(cmd)` validates, plans the matching
without touching state, then emits events, each applied as it is emitted. A fresh engine fed
the same events with `apply` therefore reaches the same state, byte for byte (`dump()`).

Runtime protocol: ``begin_batch(ts)``, ``execute(cmd)`` per command (returns a Result, never
raises on bad input), ``end_batch(n)`` → the batch's events ending in BATCH_PROCESSED.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgpack

from betex.core.domain import commands as C
from betex.core.domain.book import binary, multi_runner
from betex.core.domain.book.cross import plan_cross  # CROSS_MATCHED
from betex.core.domain.book.depth import depth_view, implied_book
from betex.core.domain.book.levels import Order, RunnerBook
from betex.core.domain.book.multi_runner import Step
from betex.core.domain.book.two_runner import plan_two_runner
from betex.core.domain.events import (
    AccountLimitSet,
    BatchProcessed,
    Event,
    Leg,
    MarketCreated,
    MarketSettled,
    MarketStateChanged,
    MarketVoided,
    OrderAccepted,
    OrderCancelled,
    RunnersAdded,
    TradeMatched,
    TradesVoided,
)
from betex.core.domain.ladder import TICK_INDEX, fmt_odds
from betex.core.domain.market import Market, transition
from betex.core.domain.results import Ack, Fill, MarketResult, OrderResult, Reject, Result
from betex.core.domain.risk import Exposure
from betex.core.domain.types import (
    NO_OUTCOME,
    U32_MAX,
    BookType,
    CancelReason,
    MarketKind,
    MarketModel,
    MarketPhase,
    MarketState,
    RejectCode,
)

R = RejectCode
DUMP_VERSION = 1
MAX_NAME = 200
MAX_CLIENT_REF = 32
MAX_RUNNERS = 1000
MAX_CROSS_RUNNERS = 100  # CROSS_MATCHED: a ring step is O(N) in N-digit integers
MAX_LIABILITY = 2**53  # cents; keeps every amount inside msgpack's and JSON's exact integer range


@dataclass(frozen=True, slots=True)
class EngineConfig:
    min_stake: int = 100  # cents
    max_stake: int = 100_000_000  # cents
    duplicate_window_ns: int = 60_000_000_000


# Plain strings for the hot paths: StrEnum member access costs ~35 ns each in CPython 3.11.
_BACK = "BACK"
_LAY = "LAY"
_BUY = "BUY"
_SELL = "SELL"
_LAPSE = "LAPSE"
_PERSIST = "PERSIST"
_GTC = "GTC"
_FILL_OR_KILL = "FILL_OR_KILL"
_OPEN = "OPEN"
_LAPSED = "LAPSED"

_new = tuple.__new__  # builds a NamedTuple without its keyword-argument __new__ (hot path)


class SeqGap(ValueError):
    """Replay was handed an event whose seq does not follow the engine's: the log has a hole."""


def _uint(x: object, hi: int = U32_MAX) -> bool:
    return type(x) is int and 0 < x <= hi


def _runner_id(x: object) -> bool:
    """A u32 runner id (0 allowed); `type is int` so that 1.0 and True are not ids."""
    return type(x) is int and 0 <= x <= U32_MAX


class Engine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.seq = 0
        self.ts = 0
        self.markets: dict[int, Market] = {}
        self.orders: dict[int, Order] = {}
        self.next_market_id = 1
        self.next_order_id = 1
        self.next_trade_id = 1
        self.limits: dict[int, int] = {}
        self._refs: dict[tuple[int, str], int] = {}
        self._ref_queue: deque[tuple[int, int, str]] = deque()
        self._expo: dict[tuple[int, int], Exposure] = {}
        self._batch: list[Event] = []
        self._handlers: dict[type, Callable[[Any], Result]] = {
            C.CreateMarket: self._create_market,
            C.AddRunners: self._add_runners,
            C.PlaceOrder: self._place,
            C.CancelOrder: self._cancel,
            C.CancelAll: self._cancel_all,
            C.ReplaceOrder: self._replace,
            C.SetMarketState: lambda c: self._lifecycle(c, "SET_MARKET_STATE", c.market_state),
            C.AwaitLiveMarket: lambda c: self._lifecycle(c, "AWAIT_LIVE_MARKET"),
            C.GoLiveMarket: lambda c: self._lifecycle(c, "GO_LIVE_MARKET"),
            C.CloseMarket: lambda c: self._lifecycle(c, "CLOSE_MARKET"),
            C.VoidMarket: lambda c: self._lifecycle(c, "VOID_MARKET"),
            C.SettleMarket: self._settle,
            C.VoidTrades: self._void_trades,
            C.SetAccountLimit: self._set_limit,
        }
        self._appliers: dict[type, Callable[[Any], None]] = {
            MarketCreated: self._on_market_created,
            RunnersAdded: self._on_runners_added,
            MarketStateChanged: self._on_state_changed,
            OrderAccepted: self._on_accepted,
            OrderCancelled: self._on_cancelled,
            TradeMatched: self._on_trade,
            TradesVoided: self._on_trades_voided,
            MarketSettled: self._on_settled,
            MarketVoided: self._on_market_voided,
            AccountLimitSet: self._on_limit,
            BatchProcessed: self._on_batch,
        }

    # ------------------------------------------------------------------ runtime protocol

    def begin_batch(self, ts: int) -> None:
        """Engine time for the batch: one clock read, recorded in every event it produces."""
        self.ts = ts

    def execute(self, cmd: object) -> Result:
        handler = self._handlers.get(type(cmd))
        if handler is None:
            return Reject(R.BAD_REQUEST, f"unknown command {type(cmd).__name__}")
        return handler(cmd)

    def end_batch(self, commands: int) -> list[Event]:
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

    def _emit(self, event: Event) -> None:
        """Record and apply an event built with ``seq = self.seq + 1`` (the live path)."""
        self._batch.append(event)
        self.seq = event.seq
        self._appliers[type(event)](event)

    # ------------------------------------------------------------------ markets

    def _create_market(self, c: C.CreateMarket) -> Result:
        if not isinstance(c.name, str) or not 0 < len(c.name) <= MAX_NAME:
            return Reject(R.BAD_REQUEST, f"name must be 1..{MAX_NAME} characters")
        if c.market_model not in tuple(MarketModel):
            return Reject(R.BAD_REQUEST, f"unknown market_model {c.market_model!r}")
        if c.market_model == MarketModel.EXCHANGE_ODDS:
            if c.book_type not in tuple(BookType):
                return Reject(
                    R.BAD_REQUEST,
                    "book_type TWO_RUNNER, MULTI_RUNNER or CROSS_MATCHED is required for EXCHANGE_ODDS",
                )
        elif c.book_type is not None:
            return Reject(R.BAD_REQUEST, "BINARY_YES markets take no book_type")
        if c.market_kind not in tuple(MarketKind):
            return Reject(R.BAD_REQUEST, f"unknown market_kind {c.market_kind!r}")
        if c.market_state not in (_OPEN, MarketState.SUSPENDED):
            return Reject(R.INVALID_TRANSITION, "a market starts OPEN or SUSPENDED")
        if c.market_phase != MarketPhase.PRE and not (
            c.market_phase == MarketPhase.IN_PLAY and c.market_kind == MarketKind.IN_PLAY_CAPABLE
        ):
            return Reject(R.INVALID_TRANSITION, "a market starts PRE (or IN_PLAY if IN_PLAY_CAPABLE)")
        runners = c.runner_ids
        if not isinstance(runners, (tuple, list)) or not all(_runner_id(r) for r in runners):
            return Reject(R.INVALID_RUNNER, "runner_ids must be a list of u32")
        if len(set(runners)) != len(runners):
            return Reject(R.INVALID_RUNNER, "runner_ids must be unique")
        n = len(runners)
        if c.market_model == MarketModel.BINARY_YES and n != 1:
            return Reject(R.INVALID_RUNNER, "a BINARY_YES market has exactly one runner (YES)")
        if c.book_type == BookType.TWO_RUNNER and n != 2:
            return Reject(R.INVALID_RUNNER, "a TWO_RUNNER market has exactly two runners")
        if c.book_type == BookType.MULTI_RUNNER and not 2 <= n <= MAX_RUNNERS:
            return Reject(R.INVALID_RUNNER, f"a MULTI_RUNNER market has 2..{MAX_RUNNERS} runners")
        if c.book_type == BookType.CROSS_MATCHED and not 2 <= n <= MAX_CROSS_RUNNERS:  # CROSS_MATCHED
            return Reject(R.INVALID_RUNNER, f"a CROSS_MATCHED market has 2..{MAX_CROSS_RUNNERS} runners")
        labels = self._labels(runners, c.runner_labels)
        if labels is None:
            return Reject(R.BAD_REQUEST, "runner_labels must be strings, one per runner")
        mid = self.next_market_id
        self._emit(
            MarketCreated(
                self.seq + 1,
                self.ts,
                mid,
                c.name,
                str(c.market_model),
                c.book_type and str(c.book_type),
                str(c.market_kind),
                str(c.market_state),
                str(c.market_phase),
                tuple(runners),
                labels,
            )
        )
        m = self.markets[mid]
        return MarketResult(mid, m.state, m.phase, m.version, created=True)

    @staticmethod
    def _labels(runners: Iterable[int], labels: object) -> tuple[str, ...] | None:
        runners = tuple(runners)
        if labels is None or labels == () or labels == []:
            return tuple(f"Runner {r}" for r in runners)
        if (
            not isinstance(labels, (tuple, list))
            or len(labels) != len(runners)
            or not all(isinstance(x, str) and len(x) <= MAX_NAME for x in labels)
        ):
            return None
        return tuple(labels)

    def _market(self, market_id: object) -> Market | Reject:
        m = self.markets.get(market_id) if type(market_id) is int else None
        if m is None:
            return Reject(R.INVALID_MARKET, f"unknown market {market_id!r}")
        return m

    def _add_runners(self, c: C.AddRunners) -> Result:
        m = self._market(c.market_id)
        if isinstance(m, Reject):
            return m
        if m.book_type != BookType.MULTI_RUNNER:
            return Reject(R.INVALID_MARKET, "runners can only be added to MULTI_RUNNER markets")
        if m.state not in (_OPEN, MarketState.SUSPENDED):
            return Reject(R.INVALID_TRANSITION, f"cannot add runners to a {m.state} market")
        runners = c.runner_ids
        if not isinstance(runners, (tuple, list)) or not runners or not all(_runner_id(r) for r in runners):
            return Reject(R.INVALID_RUNNER, "runner_ids must be a non-empty list of u32")
        if len(set(runners)) != len(runners) or any(r in m.books for r in runners):
            return Reject(R.INVALID_RUNNER, "runner_ids must be new and unique")
        if len(m.runner_ids) + len(runners) > MAX_RUNNERS:
            return Reject(R.INVALID_RUNNER, f"at most {MAX_RUNNERS} runners")
        labels = self._labels(runners, c.runner_labels)
        if labels is None:
            return Reject(R.BAD_REQUEST, "runner_labels must be strings, one per runner")
        self._emit(RunnersAdded(self.seq + 1, self.ts, m.market_id, tuple(runners), labels))
        return MarketResult(m.market_id, m.state, m.phase, m.version)

    def _lifecycle(self, c: Any, command: str, target: str | None = None) -> Result:
        m = self._market(c.market_id)
        if isinstance(m, Reject):
            return m
        decided = transition(m, command, target)
        if len(decided) == 2:
            return Reject(decided[0], decided[1])
        state, phase, lapse, cancel_all = decided
        if command == "VOID_MARKET":
            self._cancel_resting(m, lambda o: True, CancelReason.MARKET_VOIDED)
            self._emit(MarketVoided(self.seq + 1, self.ts, m.market_id))
        else:
            self._emit(MarketStateChanged(self.seq + 1, self.ts, m.market_id, state, phase, m.version + 1))
            if cancel_all:
                self._cancel_resting(m, lambda o: True, CancelReason.MARKET_CLOSED)
            elif lapse:
                self._cancel_resting(m, lambda o: not o.persist, _LAPSED)
        return MarketResult(m.market_id, m.state, m.phase, m.version)

    def _cancel_resting(self, m: Market, which: Callable[[Order], bool], reason: str) -> int:
        victims = [o for o in m.live_orders() if which(o)]
        for o in victims:
            self._emit(OrderCancelled(self.seq + 1, self.ts, m.market_id, o.order_id, o.remaining, reason))
        return len(victims)

    def _settle(self, c: C.SettleMarket) -> Result:
        m = self._market(c.market_id)
        if isinstance(m, Reject):
            return m
        decided = transition(m, "SETTLE_MARKET")
        if len(decided) == 2:
            return Reject(decided[0], decided[1])
        winners = c.winner_runner_ids
        if (
            not isinstance(winners, (tuple, list))
            or not all(type(w) is int for w in winners)
            or len(set(winners)) != len(winners)
        ):
            return Reject(R.INVALID_RUNNER, "winner_runner_ids must be a list of distinct runner ids")
        if any(type(w) is not int or w not in m.books for w in winners):
            return Reject(
                R.INVALID_RUNNER, f"winner_runner_ids {list(winners)} are not all runners of the market"
            )
        if not m.is_binary and not winners:
            return Reject(R.INVALID_RUNNER, "an EXCHANGE_ODDS market needs at least one winner")
        self._emit(MarketSettled(self.seq + 1, self.ts, m.market_id, tuple(sorted(winners))))
        return MarketResult(m.market_id, m.state, m.phase, m.version)

    def _void_trades(self, c: C.VoidTrades) -> Result:
        m = self._market(c.market_id)
        if isinstance(m, Reject):
            return m
        if m.state not in (_OPEN, MarketState.SUSPENDED, MarketState.CLOSED):
            return Reject(R.INVALID_TRANSITION, f"cannot void trades of a {m.state} market")
        ids = c.trade_ids
        if c.after_ts is not None:
            if ids or type(c.after_ts) is not int:
                return Reject(R.BAD_REQUEST, "give either trade_ids or an integer after_ts")
            chosen = [t for t, ev in m.trades.items() if ev.ts > c.after_ts]
        else:
            if not isinstance(ids, (tuple, list)) or not ids:
                return Reject(R.BAD_REQUEST, "give either trade_ids or after_ts")
            unknown = [t for t in ids if type(t) is not int or t not in m.trades]
            if unknown:
                return Reject(R.INVALID_ORDER, f"unknown trade ids {unknown[:5]} in market {m.market_id}")
            chosen = list(dict.fromkeys(ids))
        chosen = sorted(t for t in chosen if t not in m.voided_trades)
        if chosen:
            self._emit(TradesVoided(self.seq + 1, self.ts, m.market_id, tuple(chosen)))
        return Ack({"voided": len(chosen)})

    def _set_limit(self, c: C.SetAccountLimit) -> Result:
        if not _uint(c.account_id):
            return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0")
        if type(c.max_liability) is not int or not 0 <= c.max_liability <= MAX_LIABILITY:
            return Reject(R.INVALID_SIZE, "max_liability must be ≥ 0 (0 removes the limit)")
        self._emit(AccountLimitSet(self.seq + 1, self.ts, 0, c.account_id, c.max_liability))
        return Ack()

    # ------------------------------------------------------------------ orders

    def _check_order(self, m: Market, c: C.PlaceOrder) -> Reject | None:
        """Field checks shared by PLACE_ORDER (everything) and REPLACE_ORDER (price only)."""
        if not _uint(c.account_id):
            return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0 (0 is the house)")
        if type(c.runner_id) is not int or c.runner_id not in m.books:
            return Reject(R.INVALID_RUNNER, f"runner {c.runner_id!r} is not in market {m.market_id}")
        side = c.side
        if m.is_binary:
            if side != _BUY and side != _SELL:
                return Reject(
                    R.INVALID_SIDE, f"side must be BUY or SELL in a BINARY_YES market, not {side!r}"
                )
        elif side != _BACK and side != _LAY:
            return Reject(R.INVALID_SIDE, f"side must be BACK or LAY, not {side!r}")
        bad = self._check_price(m, c.price)
        if bad:
            return bad
        size = c.size
        cfg = self.config
        if m.is_binary:
            if type(size) is not int or not 1 <= size <= cfg.max_stake // 100:
                return Reject(
                    R.INVALID_SIZE, f"quantity must be a whole number of shares 1..{cfg.max_stake // 100}"
                )
        elif type(size) is not int or not cfg.min_stake <= size <= cfg.max_stake:
            return Reject(
                R.INVALID_SIZE,
                f"size must be between {cfg.min_stake / 100:.2f} and {cfg.max_stake / 100:.2f}",
            )
        if c.persistence != _LAPSE and c.persistence != _PERSIST:
            return Reject(R.BAD_REQUEST, f"persistence must be LAPSE or PERSIST, not {c.persistence!r}")
        if c.time_in_force != _GTC and c.time_in_force != _FILL_OR_KILL:
            return Reject(
                R.BAD_REQUEST, f"time_in_force must be GTC or FILL_OR_KILL, not {c.time_in_force!r}"
            )
        if type(c.min_fill_size) is not int or not 0 <= c.min_fill_size <= size:
            return Reject(R.INVALID_SIZE, "min_fill_size must be between 0 and the order size")
        if not isinstance(c.client_ref, str) or len(c.client_ref) > MAX_CLIENT_REF:
            return Reject(
                R.BAD_REQUEST, f"client_ref must be a string of at most {MAX_CLIENT_REF} characters"
            )
        return None

    @staticmethod
    def _check_price(m: Market, price: object) -> Reject | None:
        if m.is_binary:
            if type(price) is not int or not 1 <= price <= 9999:
                return Reject(R.INVALID_ODDS, f"{price!r} is not a price in basis points 1..9999")
        elif type(price) is not int or price not in TICK_INDEX:
            shown = fmt_odds(price) if type(price) is int else repr(price)
            return Reject(R.INVALID_ODDS, f"{shown} is not on the price ladder")
        return None

    def _open_market(self, market_id: object) -> Market | Reject:
        m = self._market(market_id)
        if isinstance(m, Reject):
            return m
        if m.state != _OPEN:
            if m.state == MarketState.SUSPENDED:
                return Reject(R.MARKET_SUSPENDED, f"market {m.market_id} is suspended")
            return Reject(R.MARKET_NOT_OPEN, f"market {m.market_id} is {m.state}")
        return m

    def _place(self, c: C.PlaceOrder) -> Result:
        m = self.markets.get(c.market_id) if type(c.market_id) is int else None
        if m is None or m.state != _OPEN:
            return self._open_market(c.market_id)  # type: ignore[return-value]  # the reject
        bad = self._check_order(m, c)
        if bad:
            return bad
        ref = c.client_ref
        if ref:
            seen = self._refs.get((c.account_id, ref))
            if seen is not None and self.ts - seen < self.config.duplicate_window_ns:
                return Reject(R.DUPLICATE, f"client_ref {ref!r} was used in the last 60 s")
        return self._place_checked(m, c, 0)

    def _plan(
        self, m: Market, side: str, runner_id: int, price: int, account: int, size: int
    ) -> tuple[list[Step], int]:
        book = m.books[runner_id]
        if m.is_binary:
            is_buy = side == _BUY
            return binary.plan_binary(
                book.lays if is_buy else book.backs, is_buy, runner_id, price, account, size
            )
        is_back = side == _BACK
        if m.is_two_runner:
            other = m.other_runner(runner_id)
            return plan_two_runner(book, m.books[other], is_back, runner_id, other, price, account, size)
        if m.is_cross:  # CROSS_MATCHED: rings over every other runner, in market order
            others = [(r, m.books[r]) for r in m.runner_ids if r != runner_id]
            return plan_cross(book, runner_id, others, is_back, price, account, size)
        return multi_runner.plan_direct(
            book.lays if is_back else book.backs, is_back, runner_id, price, account, size
        )

    def _place_checked(self, m: Market, c: C.PlaceOrder, replaces: int) -> OrderResult | Reject:
        side, runner_id, price, size, account = c.side, c.runner_id, c.price, c.size, c.account_id
        steps, fillable = self._plan(m, side, runner_id, price, account, size)
        fok = c.time_in_force == _FILL_OR_KILL
        if fok and fillable < (c.min_fill_size or size):
            wanted = c.min_fill_size or size
            return Reject(
                R.FOK_NOT_FILLED,
                f"only {self._fmt_size(m, fillable)} of {self._fmt_size(m, wanted)} can be matched",
            )
        limit = self.limits.get(account)
        if limit:
            bad = self._check_liability(m, account, side, runner_id, price, size, limit)
            if bad:
                return bad
        oid = self.next_order_id
        ts = self.ts
        mid = m.market_id
        accepted = _new(
            OrderAccepted,
            (self.seq + 1, ts, mid, oid, account, runner_id, side, price, size,
             c.persistence, c.time_in_force, c.client_ref, replaces),
        )  # fmt: skip
        self._batch.append(accepted)
        self.seq += 1
        self._on_accepted(accepted)
        taker = self.orders[oid]
        if not steps:  # the common passive case
            return _new(
                OrderResult, ("ACCEPTED", oid, mid, runner_id, side, price, size, 0, size, 0, (), 0, None)
            )
        fills: list[Fill] = []
        binary_market = m.is_binary
        emit = self._emit
        for maker, taker_size, maker_size, legs, house, implied, maker_runner in steps:
            if not taker_size:
                emit(
                    OrderCancelled(
                        self.seq + 1, ts, mid, maker.order_id, maker.remaining, CancelReason.SELF_TRADE
                    )
                )
                continue
            tid = self.next_trade_id
            mprice = maker.price
            emit(
                _new(
                    TradeMatched,
                    (self.seq + 1, ts, mid, tid, runner_id, oid, account, taker_size, maker.order_id,
                     maker.account_id, maker_size, maker_runner, mprice, implied, legs, house),
                )
            )  # fmt: skip
            if binary_market:
                eff = float(mprice)
            elif implied:
                leg = legs[0]
                eff = round(1 + leg.win / leg.lose, 4)
            else:
                eff = mprice / 100
            fills.append(Fill(tid, mprice, taker_size, implied, eff))
        if fok and taker.remaining:
            emit(OrderCancelled(self.seq + 1, ts, mid, oid, taker.remaining, CancelReason.FOK_UNFILLED))
        return self._order_result("ACCEPTED", taker, tuple(fills))

    @staticmethod
    def _fmt_size(m: Market, size: int) -> str:
        return str(size) if m.is_binary else f"{size / 100:.2f}"

    @staticmethod
    def _order_result(status: str, o: Order, fills: tuple[Fill, ...] = ()) -> OrderResult:
        return OrderResult(
            status,
            o.order_id,
            o.market_id,
            o.runner_id,
            o.side,
            o.price,
            o.size,
            o.matched,
            o.remaining,
            o.cancelled + o.lapsed,
            fills,
        )

    def _owned_live_order(
        self, market_id: object, order_id: object, account_id: object
    ) -> tuple[Market, Order] | Reject:
        m = self._market(market_id)
        if isinstance(m, Reject):
            return m
        o = self.orders.get(order_id) if type(order_id) is int else None
        if o is None or o.market_id != m.market_id:
            return Reject(R.INVALID_ORDER, f"unknown order {order_id!r} in market {m.market_id}")
        if type(account_id) is not int or account_id != o.account_id:
            return Reject(R.NOT_OWNER, f"order {o.order_id} belongs to another account")
        if not o.remaining:
            return Reject(R.INVALID_ORDER, f"order {o.order_id} is EXECUTION_COMPLETE")
        return m, o

    def _cancel(self, c: C.CancelOrder) -> Result:
        found = self._owned_live_order(c.market_id, c.order_id, c.account_id)
        if isinstance(found, Reject):
            return found
        m, o = found
        red = c.size_reduction
        if red is None:
            red = 0
        if type(red) is not int or red < 0:
            return Reject(R.INVALID_SIZE, "size_reduction must be a positive amount")
        amount = o.remaining if not red or red > o.remaining else red
        self._emit(OrderCancelled(self.seq + 1, self.ts, m.market_id, o.order_id, amount, CancelReason.USER))
        return self._order_result("CANCELLED", o)

    def _cancel_all(self, c: C.CancelAll) -> Result:
        m = self._market(c.market_id)
        if isinstance(m, Reject):
            return m
        if not _uint(c.account_id):
            return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0")
        victims = list(m.by_account.get(c.account_id, {}).values())  # oldest first
        for o in victims:
            self._emit(
                OrderCancelled(self.seq + 1, self.ts, m.market_id, o.order_id, o.remaining, CancelReason.USER)
            )
        return Ack({"cancelled": len(victims)})

    def _replace(self, c: C.ReplaceOrder) -> Result:
        found = self._owned_live_order(c.market_id, c.order_id, c.account_id)
        if isinstance(found, Reject):
            return found
        m, o = found
        m_open = self._open_market(m.market_id)
        if isinstance(m_open, Reject):
            return m_open
        bad = self._check_price(m, c.new_price)
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
        old = self._order_result("REPLACED", o)
        return old._replace(replacement_order_id=placed.order_id, replacement=placed, fills=placed.fills)

    # ------------------------------------------------------------------ risk

    def _unmatched_leg(self, m: Market, side: str, price: int, remaining: int) -> tuple[int, int]:
        if m.is_binary:
            return binary.unmatched_leg(side == _BUY, price, remaining)
        return multi_runner.unmatched_leg(side == _BACK, price, remaining)

    def outcomes(self, m: Market) -> list[int]:
        return [m.runner_ids[0], NO_OUTCOME] if m.is_binary else list(m.runner_ids)

    def _check_liability(
        self, m: Market, account: int, side: str, runner_id: int, price: int, size: int, limit: int
    ) -> Reject | None:
        e = self._expo.get((m.market_id, account)) or Exposure()
        win, lose = self._unmatched_leg(m, side, price, size)
        worst = min(e.if_win(r) + (win if r == runner_id else -lose) for r in self.outcomes(m))
        scale = 100 if m.is_binary else 1  # binary amounts are in 1/10000, limits in cents
        if worst < -limit * scale:
            return Reject(
                R.LIABILITY_EXCEEDED,
                f"worst case {worst / (100 * scale):.2f} would exceed max_liability {limit / 100:.2f}",
            )
        return None

    def exposure(self, market_id: int, account_id: int) -> Exposure | None:
        """Matched + unmatched-at-limit exposure, kept only for accounts with a limit."""
        return self._expo.get((market_id, account_id))

    def _rebuild_exposure(self, account: int) -> None:
        for key in [k for k in self._expo if k[1] == account]:
            del self._expo[key]
        for mid, m in self.markets.items():
            if m.state in (MarketState.SETTLED, MarketState.VOIDED):
                continue
            e = Exposure()
            for tid, ev in m.trades.items():
                if tid not in m.voided_trades:
                    for leg in ev.legs:
                        if leg.account_id == account:
                            e.add(leg.runner_id, leg.win, leg.lose)
            for o in m.live_orders():
                if o.account_id == account:
                    e.add(o.runner_id, *self._unmatched_leg(m, o.side, o.price, o.remaining))
            self._expo[(mid, account)] = e

    def _expo_order(self, o: Order, before: int) -> None:
        """Move an order's unmatched leg from `before` remaining to its current remaining."""
        e = self._expo.get((o.market_id, o.account_id))
        if e is None:
            e = self._expo[(o.market_id, o.account_id)] = Exposure()
        m = self.markets[o.market_id]
        w0, l0 = self._unmatched_leg(m, o.side, o.price, before)
        w1, l1 = self._unmatched_leg(m, o.side, o.price, o.remaining)
        e.add(o.runner_id, w1 - w0, l1 - l0)

    def _expo_legs(self, market_id: int, legs: tuple[Leg, ...], sign: int) -> None:
        limits = self.limits
        for leg in legs:
            if leg.account_id in limits:
                key = (market_id, leg.account_id)
                e = self._expo.get(key)
                if e is None:
                    e = self._expo[key] = Exposure()
                e.add(leg.runner_id, leg.win, leg.lose, sign)

    # ------------------------------------------------------------------ appliers

    def _on_market_created(self, e: MarketCreated) -> None:
        self.markets[e.market_id] = Market(
            e.market_id,
            e.name,
            e.market_model,
            e.book_type,
            e.market_kind,
            e.market_state,
            e.market_phase,
            list(e.runner_ids),
            list(e.runner_labels),
        )
        self.next_market_id = e.market_id + 1

    def _on_runners_added(self, e: RunnersAdded) -> None:
        self.markets[e.market_id].add_runners(e.runner_ids, e.runner_labels)

    def _on_state_changed(self, e: MarketStateChanged) -> None:
        m = self.markets[e.market_id]
        m.state = e.market_state
        m.phase = e.market_phase
        m.version = e.version

    def _on_accepted(self, e: OrderAccepted) -> None:
        o = Order(
            e.order_id,
            e.account_id,
            e.market_id,
            e.runner_id,
            e.side,
            e.price,
            e.size,
            e.persistence == _PERSIST,
            e.client_ref,
        )
        self.orders[e.order_id] = o
        self.next_order_id = e.order_id + 1
        m = self.markets[e.market_id]
        book = m.books[e.runner_id]
        side = e.side
        (book.backs if side == "BACK" or side == "BUY" else book.lays).add(o)
        own = m.by_account.get(e.account_id)
        if own is None:
            own = m.by_account[e.account_id] = {}
        own[e.order_id] = o
        if e.client_ref:
            self._remember_ref(e.account_id, e.client_ref, e.ts)
        if e.account_id in self.limits:
            self._expo_order(o, 0)

    def _remember_ref(self, account: int, ref: str, ts: int) -> None:
        q = self._ref_queue
        refs = self._refs
        cutoff = ts - self.config.duplicate_window_ns
        while q and q[0][0] <= cutoff:
            old_ts, acct, old_ref = q.popleft()
            if refs.get((acct, old_ref)) == old_ts:
                del refs[(acct, old_ref)]
        refs[(account, ref)] = ts
        q.append((ts, account, ref))

    def _take(self, o: Order, amount: int) -> None:
        before = o.remaining
        o.remaining = remaining = before - amount
        m = self.markets[o.market_id]
        book = m.books[o.runner_id]
        side = o.side
        (book.backs if side == "BACK" or side == "BUY" else book.lays).reduce(o, amount)
        if not remaining:
            own = m.by_account[o.account_id]
            del own[o.order_id]
            if not own:
                del m.by_account[o.account_id]
        if o.account_id in self.limits:
            self._expo_order(o, before)

    def _on_cancelled(self, e: OrderCancelled) -> None:
        o = self.orders[e.order_id]
        if e.reason == _LAPSED:
            o.lapsed += e.size
        else:
            o.cancelled += e.size
        self._take(o, e.size)

    def _on_trade(self, e: TradeMatched) -> None:
        orders = self.orders
        taker = orders[e.taker_order_id]
        maker = orders[e.maker_order_id]
        taker.matched += e.taker_size
        maker.matched += e.maker_size
        self._take(taker, e.taker_size)
        self._take(maker, e.maker_size)
        self.markets[e.market_id].trades[e.trade_id] = e
        self.next_trade_id = e.trade_id + 1
        if self.limits:
            self._expo_legs(e.market_id, e.legs, 1)

    def _on_trades_voided(self, e: TradesVoided) -> None:
        m = self.markets[e.market_id]
        for tid in e.trade_ids:
            t = m.trades[tid]
            m.voided_trades.add(tid)
            for oid, size in ((t.taker_order_id, t.taker_size), (t.maker_order_id, t.maker_size)):
                o = self.orders[oid]
                o.matched -= size
                o.voided += size
            if self.limits:
                self._expo_legs(e.market_id, t.legs, -1)

    def _on_settled(self, e: MarketSettled) -> None:
        m = self.markets[e.market_id]
        m.state = MarketState.SETTLED
        m.winners = e.winner_runner_ids
        m.version += 1
        self._purge(m)

    def _on_market_voided(self, e: MarketVoided) -> None:
        m = self.markets[e.market_id]
        m.state = MarketState.VOIDED
        m.version += 1
        self._purge(m)

    def _purge(self, m: Market) -> None:
        """A settled or voided market keeps its definition; its orders and trades leave the engine
        (the projection keeps the history)."""
        mid = m.market_id
        for oid in [oid for oid, o in self.orders.items() if o.market_id == mid]:
            del self.orders[oid]
        m.trades.clear()
        m.voided_trades.clear()
        m.books = {r: RunnerBook() for r in m.runner_ids}
        m.by_account = {}
        for key in [k for k in self._expo if k[0] == mid]:
            del self._expo[key]

    def _on_limit(self, e: AccountLimitSet) -> None:
        if e.max_liability:
            self.limits[e.account_id] = e.max_liability
            self._rebuild_exposure(e.account_id)
        else:
            self.limits.pop(e.account_id, None)
            for key in [k for k in self._expo if k[1] == e.account_id]:
                del self._expo[key]

    def _on_batch(self, e: BatchProcessed) -> None:
        pass

    # ------------------------------------------------------------------ views

    def depth(self, market_id: int, depth: int = 10) -> dict[str, Any] | None:
        """Ladder view in engine units (see `book.depth.depth_view`); None for an unknown market."""
        m = self.markets.get(market_id)
        if m is None:
            return None
        sides = {
            r: (
                {p: lv.total for p, lv in b.backs.levels.items()},
                {p: lv.total for p, lv in b.lays.levels.items()},
            )
            for r, b in m.books.items()
        }
        return depth_view(m.is_binary, implied_book(m.book_type), m.runner_ids, sides, depth)

    # ------------------------------------------------------------------ snapshots and hashing

    def dump(self) -> bytes:
        """Canonical msgpack encoding of the whole state (deterministic: same state, same bytes)."""
        markets = []
        for mid in sorted(self.markets):
            m = self.markets[mid]
            books = [(r, m.books[r].backs.dump(), m.books[r].lays.dump()) for r in m.runner_ids]
            trades = [tuple(m.trades[t]) for t in sorted(m.trades)]
            markets.append(
                (
                    mid,
                    m.name,
                    m.model,
                    m.book_type,
                    m.kind,
                    m.state,
                    m.phase,
                    m.version,
                    m.runner_ids,
                    m.runner_labels,
                    m.winners,
                    books,
                    trades,
                    sorted(m.voided_trades),
                )
            )
        state = (
            DUMP_VERSION,
            self.seq,
            self.ts,
            self.next_market_id,
            self.next_order_id,
            self.next_trade_id,
            markets,
            [self.orders[o].to_row() for o in sorted(self.orders)],
            sorted((ts, a, r) for (a, r), ts in self._refs.items()),
            sorted(self.limits.items()),
        )
        out: bytes = msgpack.packb(state)
        return out

    @classmethod
    def load(cls, data: bytes, config: EngineConfig | None = None) -> Engine:
        state = msgpack.unpackb(data, use_list=False, strict_map_key=False)
        version, seq, ts, next_mid, next_oid, next_tid, markets, orders, refs, limits = state
        if version != DUMP_VERSION:
            raise ValueError(f"engine snapshot version {version}, expected {DUMP_VERSION}")
        eng = cls(config)
        eng.seq, eng.ts = seq, ts
        eng.next_market_id, eng.next_order_id, eng.next_trade_id = next_mid, next_oid, next_tid
        for row in orders:
            o = Order.from_row(row)
            eng.orders[o.order_id] = o
        for mid, name, model, bt, kind, st, ph, ver, rids, labels, winners, books, trades, voided in markets:
            m = Market(mid, name, model, bt, kind, st, ph, list(rids), list(labels))
            m.version = ver
            m.winners = tuple(winners)
            for r, backs, lays in books:
                for side, levels in ((m.books[r].backs, backs), (m.books[r].lays, lays)):
                    for _price, ids in levels:
                        for oid in ids:
                            side.add(eng.orders[oid])
            for t in trades:
                ev = TradeMatched._make((*t[:14], tuple(Leg(*leg) for leg in t[14]), t[15]))
                m.trades[ev.trade_id] = ev
            m.voided_trades = set(voided)
            eng.markets[mid] = m
        for oid in sorted(eng.orders):  # the per-account index, oldest first, as live
            o = eng.orders[oid]
            if o.remaining:
                eng.markets[o.market_id].by_account.setdefault(o.account_id, {})[oid] = o
        for ts_, a, r in refs:
            eng._refs[(a, r)] = ts_
            eng._ref_queue.append((ts_, a, r))
        for a, lim in limits:
            eng.limits[a] = lim
            eng._rebuild_exposure(a)
        return eng

    def state_hash(self) -> str:
        return hashlib.sha256(self.dump()).hexdigest()
