"""The read model: everything the HTTP and WebSocket APIs serve, built only from WAL events.

`apply_batch` is on the hot path (it sees every event the engine emits), so it only updates
counters and small records; depth views, risk tables and wire dicts are built on query.
Book depth is kept as resting size per (runner, side, price), updated by the same events, and
rendered by `book.depth.depth_view` — the function `Engine.depth` uses — so the ladder a client
sees is exactly the engine's (a property test compares them) without re-running the engine on
every event.

Live only (`retire_final=True`, what a server whose history store serves settled markets
wants): a SETTLED or VOIDED market keeps its `MarketView` (definition, final state, totals), and
its orders, trades, books and risk rows leave memory, as in the engine; settled figures are then
the history store's. `retire_final=False` keeps every market's history in memory (the offline
tools and the wire views built before the history store served them).

Query results are in engine units (odds hundredths or bps, cents or shares); the wire views
(SNAPSHOT, /orders, /trades, /risk) are rendered from them by `core.protocol.render`. Queries are not thread-safe against
`apply_batch`: call both from one thread (the server's event loop).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgpack

from betex.core.domain.book import binary as binary_book
from betex.core.domain.book import multi_runner
from betex.core.domain.book.depth import Sides, depth_view, implied_book
from betex.core.domain.engine import EngineConfig
from betex.core.domain.events import (
    AccountCreated,
    AccountLimitSet,
    BatchProcessed,
    BetDelaySet,
    Event,
    KeyIssued,
    KeyRevoked,
    Leg,
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
    taker_value,
)
from betex.core.domain.risk import Exposure, commissions, settle_pnl
from betex.core.domain.types import (
    HOUSE_ACCOUNT,
    NO_OUTCOME,
    CancelReason,
    MarketModel,
    MarketState,
    Side,
)
from betex.core.errors import SnapshotDamaged

PROJECTION_SCHEMA = 3  # 3: + retire_final; 2: depth from the projection's own level totals
"""Bump when the dump layout changes; an older `projection.snap` is then rebuilt from the WAL
(schema 2 is still read: it is schema 3 with `retire_final` False)."""
READABLE_SCHEMAS = (2, 3)
_MAGIC = "betex-projection"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
DEFAULT_DEPTH = 10
MAX_DEPTH = 350

_BINARY = MarketModel.BINARY_YES.value
_LAPSED = CancelReason.LAPSED.value
_FINAL_STATES = (MarketState.SETTLED.value, MarketState.VOIDED.value)


class OrderView:
    """One order's lifecycle. `value` is Σ fill size × fill price (odds hundredths or bps) over
    non-voided fills, so `value / matched` is the average matched price, exactly."""

    __slots__ = (
        "order_id",
        "market_id",
        "account_id",
        "runner_id",
        "side",
        "price",
        "size",
        "matched",
        "cancelled",
        "lapsed",
        "voided",
        "value",
        "persistence",
        "time_in_force",
        "client_ref",
        "replaces",
        "placed_ts",
        "updated_ts",
    )

    def __init__(self, e: OrderAccepted | OrderDelayed) -> None:
        self.order_id = e.order_id
        self.market_id = e.market_id
        self.account_id = e.account_id
        self.runner_id = e.runner_id
        self.side = e.side
        self.price = e.price
        self.size = e.size
        self.matched = 0
        self.cancelled = 0
        self.lapsed = 0
        self.voided = 0
        self.value = 0
        self.persistence = e.persistence
        self.time_in_force = e.time_in_force
        self.client_ref = e.client_ref
        self.replaces = e.replaces
        self.placed_ts = e.ts
        self.updated_ts = e.ts

    @property
    def remaining(self) -> int:
        return self.size - self.matched - self.cancelled - self.lapsed - self.voided

    def row(self) -> list[Any]:
        return [
            self.order_id,
            self.market_id,
            self.account_id,
            self.runner_id,
            self.side,
            self.price,
            self.size,
            self.matched,
            self.cancelled,
            self.lapsed,
            self.voided,
            self.value,
            self.persistence,
            self.time_in_force,
            self.client_ref,
            self.replaces,
            self.placed_ts,
            self.updated_ts,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> OrderView:
        o = cls.__new__(cls)
        (
            o.order_id,
            o.market_id,
            o.account_id,
            o.runner_id,
            o.side,
            o.price,
            o.size,
            o.matched,
            o.cancelled,
            o.lapsed,
            o.voided,
            o.value,
            o.persistence,
            o.time_in_force,
            o.client_ref,
            o.replaces,
            o.placed_ts,
            o.updated_ts,
        ) = row
        return o


class MarketView:
    """A market's definition, lifecycle and traded totals (volume in backer's stake / shares)."""

    __slots__ = (
        "market_id",
        "name",
        "model",
        "book_type",
        "kind",
        "state",
        "phase",
        "version",
        "runner_ids",
        "runner_labels",
        "ltp",
        "volume",
        "total_matched",
        "winners",
        "created_ts",
        "last_seq",
        "last_ts",
        "trade_ids",
        "commission_bps",
        "removed",
        "original_prices",
        "bet_delay_ms",
    )

    def __init__(self, e: MarketCreated) -> None:
        self.market_id = e.market_id
        self.name = e.name
        self.model = e.market_model
        self.book_type = e.book_type
        self.kind = e.market_kind
        self.state = e.market_state
        self.phase = e.market_phase
        self.version = 1
        self.runner_ids = list(e.runner_ids)
        self.runner_labels = list(e.runner_labels)
        self.ltp: dict[int, int] = {}
        self.volume: dict[int, int] = {}
        self.total_matched = 0
        self.winners: tuple[int, ...] | None = None
        self.created_ts = e.ts
        self.last_seq = e.seq
        self.last_ts = e.ts
        self.trade_ids: list[int] = []
        self.commission_bps = e.commission_bps
        self.removed: dict[int, int] = {}  # REMOVE_RUNNER: runner → reduction factor (1/100 %)
        self.original_prices: dict[int, int] = {}  # a reduced trade's price before any removal
        self.bet_delay_ms = 0  # in-play bet delay (BET_DELAY_SET)

    def outcomes(self) -> list[int]:
        """Runners whose win decides P&L (not the removed ones); a binary market's outcomes are
        YES and NO."""
        if self.model == _BINARY:
            return [self.runner_ids[0], NO_OUTCOME]
        return [r for r in self.runner_ids if r not in self.removed]

    def row(self) -> list[Any]:
        return [
            self.market_id,
            self.name,
            self.model,
            self.book_type,
            self.kind,
            self.state,
            self.phase,
            self.version,
            self.runner_ids,
            self.runner_labels,
            sorted(self.ltp.items()),
            sorted(self.volume.items()),
            self.total_matched,
            self.winners,
            self.created_ts,
            self.last_seq,
            self.last_ts,
            self.trade_ids,
            self.commission_bps,
            sorted(self.removed.items()),
            sorted(self.original_prices.items()),
            self.bet_delay_ms,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> MarketView:
        m = cls.__new__(cls)
        m.commission_bps = 0  # a snapshot from before commission has no such column
        m.removed, m.original_prices = {}, {}  # nor one from before runner removal these
        m.bet_delay_ms = 0  # nor one from before the bet delay
        for name, value in zip(cls.__slots__, row, strict=False):
            setattr(m, name, value)
        m.removed = dict(m.removed)
        m.original_prices = dict(m.original_prices)
        m.ltp = dict(m.ltp)
        m.volume = dict(m.volume)
        m.winners = None if m.winners is None else tuple(m.winners)
        return m


class AccountRisk:
    """One account in one market: matched exposure, matched volume and its open orders."""

    __slots__ = ("exposure", "matched_volume", "open", "settled_pnl", "commission")

    def __init__(self) -> None:
        self.exposure = Exposure()
        self.matched_volume = 0
        self.open: dict[int, OrderView] = {}
        self.settled_pnl: int | None = None  # gross; the net is settled_pnl − commission
        self.commission = 0  # paid at settlement (the house's is minus what it received)


class Projection:
    """Read model over the event stream; `dump()` of a rebuild equals the live one's."""

    def __init__(self, config: EngineConfig | None = None, retire_final: bool = False) -> None:
        self.retire_final = retire_final
        # market → runner → (backs, lays): resting size per price, from the events
        self.books: dict[int, dict[int, tuple[dict[int, int], dict[int, int]]]] = {}
        self.seq = 0
        self.ts = 0
        self.markets: dict[int, MarketView] = {}
        self.order_table: dict[int, OrderView] = {}
        self.by_account: dict[int, list[int]] = {}
        self.by_market: dict[int, list[int]] = {}
        self.open_orders: dict[int, OrderView] = {}
        self.completed: list[int] = []
        self.trade_table: dict[int, TradeMatched] = {}
        self.voided: set[int] = set()
        self.risk_table: dict[int, dict[int, AccountRisk]] = {}
        self.limits: dict[int, int] = {}
        self.delayed: set[int] = set()
        """In-play bet delay: open orders accepted as DELAYED, not in the book yet."""
        self._appliers: dict[type, Any] = {
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
            BatchProcessed: None,
            AccountCreated: None,  # accounts and keys: the server's auth table (betex.server.auth)
            KeyIssued: None,
            KeyRevoked: None,
            RunnerRemoved: self._on_runner_removed,  # runner removal
            # in-play bet delay
            BetDelaySet: self._on_bet_delay_set,
            OrderDelayed: self._on_delayed,
            OrderMatured: self._on_matured,
            Tick: None,
        }

    # ------------------------------------------------------------------ applying events

    def apply_batch(self, events: Iterable[Event]) -> None:
        """Apply committed events in order. Raises ValueError on a seq gap (a bug upstream)."""
        appliers = self._appliers
        markets = self.markets
        for event in events:
            if event.seq != self.seq + 1:
                raise ValueError(f"projection at seq {self.seq} cannot apply event seq {event.seq}")
            self.seq = event.seq
            self.ts = event.ts
            fn = appliers[type(event)]
            if fn is not None:
                fn(event)
                m = markets.get(event.market_id)
                if m is not None:
                    m.last_seq = event.seq
                    m.last_ts = event.ts

    def apply(self, event: Event) -> None:
        self.apply_batch((event,))

    def _account(self, market_id: int, account_id: int) -> AccountRisk:
        accounts = self.risk_table.get(market_id)
        if accounts is None:
            accounts = self.risk_table[market_id] = {}
        r = accounts.get(account_id)
        if r is None:
            r = accounts[account_id] = AccountRisk()
        return r

    def _on_market_created(self, e: MarketCreated) -> None:
        self.markets[e.market_id] = MarketView(e)
        self.books[e.market_id] = {r: ({}, {}) for r in e.runner_ids}

    def _rest(self, o: OrderView, amount: int) -> None:
        """Resting size at the order's price moves by `amount` (negative: it left the book)."""
        backs, lays = self.books[o.market_id][o.runner_id]
        side = backs if o.side == "BACK" or o.side == "BUY" else lays
        total = side.get(o.price, 0) + amount
        if total:
            side[o.price] = total
        else:
            del side[o.price]

    def _on_runners_added(self, e: RunnersAdded) -> None:
        book = self.books[e.market_id]
        for r in e.runner_ids:
            book[r] = ({}, {})
        m = self.markets[e.market_id]
        m.runner_ids.extend(e.runner_ids)
        m.runner_labels.extend(e.runner_labels)

    def _on_state_changed(self, e: MarketStateChanged) -> None:
        m = self.markets[e.market_id]
        m.state = e.market_state
        m.phase = e.market_phase
        m.version = e.version

    def _on_accepted(self, e: OrderAccepted | OrderDelayed) -> None:
        o = OrderView(e)
        oid = e.order_id
        self.order_table[oid] = o
        self.open_orders[oid] = o
        by = self.by_account.get(e.account_id)
        if by is None:
            by = self.by_account[e.account_id] = []
        by.append(oid)
        by = self.by_market.get(e.market_id)
        if by is None:
            by = self.by_market[e.market_id] = []
        by.append(oid)
        self._account(e.market_id, e.account_id).open[oid] = o
        if type(e) is OrderDelayed:
            self.delayed.add(oid)  # not in the book until ORDER_MATURED
        else:
            self._rest(o, e.size)

    # --- in-play bet delay ----------------------------------------------------------------

    def _on_bet_delay_set(self, e: BetDelaySet) -> None:
        self.markets[e.market_id].bet_delay_ms = e.bet_delay_ms

    def _on_delayed(self, e: OrderDelayed) -> None:
        self._on_accepted(e)

    def _on_matured(self, e: OrderMatured) -> None:
        self.delayed.discard(e.order_id)
        o = self.order_table[e.order_id]
        o.updated_ts = e.ts
        self._rest(o, o.remaining)

    def is_delayed(self, order_id: int) -> bool:
        return order_id in self.delayed

    def _complete_if_done(self, o: OrderView) -> None:
        if o.size == o.matched + o.cancelled + o.lapsed + o.voided and o.order_id in self.open_orders:
            del self.open_orders[o.order_id]
            del self.risk_table[o.market_id][o.account_id].open[o.order_id]
            self.completed.append(o.order_id)

    def _on_cancelled(self, e: OrderCancelled) -> None:
        o = self.order_table[e.order_id]
        if e.reason == _LAPSED:
            o.lapsed += e.size
        else:
            o.cancelled += e.size
        o.updated_ts = e.ts
        if e.order_id in self.delayed:  # never rested
            if not o.remaining:
                self.delayed.discard(e.order_id)
        else:
            self._rest(o, -e.size)
        self._complete_if_done(o)

    @staticmethod
    def _taker_value(e: TradeMatched) -> int:
        """The taker's size × its own price (`events.taker_value`): `value / matched` is the
        taker's average matched odds, a ring fill's included."""
        return taker_value(e)

    def _on_trade(self, e: TradeMatched) -> None:
        orders = self.order_table
        taker = orders[e.taker_order_id]
        maker = orders[e.maker_order_id]
        taker.matched += e.taker_size
        taker.value += self._taker_value(e)
        taker.updated_ts = e.ts
        maker.matched += e.maker_size
        maker.value += e.maker_size * e.price
        maker.updated_ts = e.ts
        self._rest(taker, -e.taker_size)
        self._rest(maker, -e.maker_size)
        self._complete_if_done(taker)
        self._complete_if_done(maker)
        self.trade_table[e.trade_id] = e
        mid = e.market_id
        m = self.markets[mid]
        m.trade_ids.append(e.trade_id)
        self._book_trade(m, e, 1)

    def _book_trade(self, m: MarketView, e: TradeMatched, sign: int) -> None:
        """Add (sign 1) or remove (sign -1, voiding) a trade's volume and legs."""
        mid = m.market_id
        volume = m.volume
        r = e.runner_id
        volume[r] = volume.get(r, 0) + sign * e.taker_size
        total = e.taker_size
        if e.implied:
            mr = e.maker_runner_id
            volume[mr] = volume.get(mr, 0) + sign * e.maker_size
            total += e.maker_size
            if sign > 0:
                m.ltp[mr] = e.price
        elif sign > 0:
            m.ltp[r] = e.price
        m.total_matched += sign * total
        accounts = self.risk_table[mid]  # both orders' accounts exist since their acceptance
        accounts[e.taker_account].matched_volume += sign * e.taker_size
        accounts[e.maker_account].matched_volume += sign * e.maker_size
        for leg in e.legs:
            ar = accounts.get(leg.account_id)
            if ar is None:  # the house, on its first residue in this market
                ar = accounts[leg.account_id] = AccountRisk()
            ar.exposure.add(leg.runner_id, leg.win, leg.lose, sign)

    def _void_trade(self, e: TradeMatched) -> None:
        if e.trade_id in self.voided:
            return
        self.voided.add(e.trade_id)
        taker = self.order_table[e.taker_order_id]
        maker = self.order_table[e.maker_order_id]
        taker.matched -= e.taker_size
        taker.voided += e.taker_size
        taker.value -= self._taker_value(e)
        maker.matched -= e.maker_size
        maker.voided += e.maker_size
        maker.value -= e.maker_size * e.price
        self._book_trade(self.markets[e.market_id], e, -1)

    def _on_trades_voided(self, e: TradesVoided) -> None:
        trades = self.trade_table
        for tid in e.trade_ids:
            self._void_trade(trades[tid])

    # ---------------------------------------------------------------- runner removal

    def _on_runner_removed(self, e: RunnerRemoved) -> None:
        """The runner is REMOVED; its trades are void; each reduced trade's legs replace its old
        ones in the exposures, and its orders' matched value follows the new price."""
        m = self.markets[e.market_id]
        trades = self.trade_table
        for tid in e.voided:
            self._void_trade(trades[tid])
        accounts = self.risk_table.get(e.market_id, {})  # none before the market's first order
        orders = self.order_table
        for r in e.reduced:
            old = trades[r.trade_id]
            new = trades[r.trade_id] = old._replace(price=r.price, legs=r.legs, house=r.house)
            m.original_prices[r.trade_id] = r.original_price
            taker = orders[old.taker_order_id]
            taker.value += self._taker_value(new) - self._taker_value(old)
            orders[old.maker_order_id].value += old.maker_size * (r.price - old.price)
            for sign, legs in ((-1, old.legs), (1, r.legs)):
                for leg in legs:
                    ar = accounts.get(leg.account_id)
                    if ar is None:  # the house, on its first residue in this market
                        ar = accounts[leg.account_id] = AccountRisk()
                    ar.exposure.add(leg.runner_id, leg.win, leg.lose, sign)
        m.removed[e.runner_id] = e.reduction_factor
        m.version = e.version

    def _on_settled(self, e: MarketSettled) -> None:
        m = self.markets[e.market_id]
        m.state = MarketState.SETTLED.value
        m.version += 1
        m.winners = tuple(e.winner_runner_ids)
        if self.retire_final:
            self._retire(m)
        else:
            self._settle(m)

    def _settle(self, m: MarketView) -> None:
        """Final P&L per account; the house takes minus everyone else's so the market sums to 0."""
        winners = m.winners or ()
        accounts = self.risk_table.get(m.market_id, {})
        legs: dict[int, dict[int, list[tuple[int, int]]]] = {}
        if len(winners) > 1:  # a dead heat splits payouts per leg
            for tid in m.trade_ids:
                if tid in self.voided:
                    continue
                for leg in self.trade_table[tid].legs:
                    by_runner = legs.setdefault(leg.account_id, {})
                    by_runner.setdefault(leg.runner_id, []).append((leg.win, leg.lose))
        total = 0
        for account_id, r in accounts.items():
            if account_id != HOUSE_ACCOUNT:
                r.settled_pnl = settle_pnl(r.exposure, winners, legs.get(account_id, {}))
                total += r.settled_pnl
        if total or HOUSE_ACCOUNT in accounts:
            self._account(m.market_id, HOUSE_ACCOUNT).settled_pnl = -total
        gross = {a: r.settled_pnl for a, r in accounts.items() if r.settled_pnl is not None}
        for a, c in commissions(gross, m.commission_bps).items():
            self._account(m.market_id, a).commission = c
            if a == HOUSE_ACCOUNT and self.risk_table[m.market_id][a].settled_pnl is None:
                self.risk_table[m.market_id][a].settled_pnl = 0

    def _on_market_voided(self, e: MarketVoided) -> None:
        m = self.markets[e.market_id]
        m.state = MarketState.VOIDED.value
        m.version += 1
        trades = self.trade_table
        for tid in m.trade_ids:
            self._void_trade(trades[tid])
        for r in self.risk_table.get(m.market_id, {}).values():
            r.settled_pnl = 0
        if self.retire_final:
            self._retire(m)

    def _retire(self, m: MarketView) -> None:
        """Drop a SETTLED or VOIDED market's orders, trades, book and risk rows (live only): its
        `MarketView` stays for MARKET_LIST and SNAPSHOT. O(its orders + live completed orders)."""
        mid = m.market_id
        del self.books[mid]  # `depth` shows an empty ladder (an empty one kept was ~0.8 KB per market)
        self.risk_table.pop(mid, None)
        gone = set(self.by_market.pop(mid, ()))
        accounts = set()
        for oid in gone:
            o = self.order_table.pop(oid)
            self.open_orders.pop(oid, None)
            accounts.add(o.account_id)
        for a in accounts:
            kept = [i for i in self.by_account[a] if i not in gone]
            if kept:
                self.by_account[a] = kept
            else:
                del self.by_account[a]
        if gone:
            self.completed = [i for i in self.completed if i not in gone]
        for tid in m.trade_ids:
            del self.trade_table[tid]
            self.voided.discard(tid)
        m.trade_ids = []

    def _on_limit(self, e: AccountLimitSet) -> None:
        if e.max_liability:
            self.limits[e.account_id] = e.max_liability
        else:
            self.limits.pop(e.account_id, None)

    # ------------------------------------------------------------------ small lookups

    def model_of(self, market_id: int) -> str | None:
        """The market's model (for `core.protocol.parse.parse_client_msg`), None if the market is unknown."""
        m = self.markets.get(market_id)
        return None if m is None else m.model

    def default_market_id(self) -> int | None:
        """The lowest market id (the default for `/snapshot` and `/risk`), None if no markets."""
        return min(self.markets) if self.markets else None

    def change_counter(self, market_id: int) -> int | None:
        """Seq of the last event that touched the market: changes iff its snapshot may have.
        None for an unknown market."""
        m = self.markets.get(market_id)
        return None if m is None else m.last_seq

    def market_count(self) -> int:
        return len(self.markets)

    # ------------------------------------------------------------------ views

    def depth(self, market_id: int, depth: int = DEFAULT_DEPTH) -> dict[str, Any] | None:
        """The ladder in engine units — equal to `Engine.depth` for the same events."""
        m = self.markets.get(market_id)
        if m is None:
            return None
        sides: Mapping[int, Sides] | None = self.books.get(market_id)
        if sides is None:  # a retired market: nothing rests
            sides = {r: ({}, {}) for r in m.runner_ids}
        return depth_view(
            m.model == _BINARY, implied_book(m.book_type), m.runner_ids, sides, depth, m.removed
        )

    def snapshot_view(
        self, market_id: int, depth: int = DEFAULT_DEPTH
    ) -> tuple[MarketView, dict[str, Any]] | None:
        """The market and its ladder (engine units) for a SNAPSHOT, `depth` clamped to
        1..MAX_DEPTH; None for an unknown market. `core.protocol.render.snapshot` renders it."""
        m = self.markets.get(market_id)
        if m is None:
            return None
        depth = max(1, min(int(depth), MAX_DEPTH))
        view = self.depth(market_id, depth)
        if view is None:  # unreachable while the replica sees every event: keep the shape
            view = (
                {"kind": "BINARY", "bids": [], "asks": []}
                if m.model == _BINARY
                else {"kind": "EXCHANGE", "runners": []}
            )
        return m, view

    def market_views(self) -> list[MarketView]:
        """Every market, by id (the `markets` of MARKET_LIST and of GET /markets)."""
        return [self.markets[mid] for mid in sorted(self.markets)]

    def model_of_order(self, o: OrderView) -> str:
        return self.markets[o.market_id].model

    @staticmethod
    def _limit(limit: int | None) -> int:
        if limit is None:
            return DEFAULT_LIMIT
        if limit < 1:
            raise ValueError("limit must be ≥ 1")
        return min(limit, MAX_LIMIT)

    def _candidates(
        self, market_id: int | None, account_id: int | None, status: str | None
    ) -> Iterator[OrderView]:
        """Orders newest first, narrowed by the cheapest index that applies."""
        orders = self.order_table
        if status == "open":
            source: Iterable[OrderView] = reversed(self.open_orders.values())
            if account_id is not None and market_id is not None:
                accounts = self.risk_table.get(market_id, {})
                r = accounts.get(account_id)
                source = reversed(r.open.values()) if r is not None else ()
        elif account_id is not None:
            source = (orders[i] for i in reversed(self.by_account.get(account_id, ())))
        elif market_id is not None:
            source = (orders[i] for i in reversed(self.by_market.get(market_id, ())))
        else:
            source = reversed(orders.values())
        for o in source:
            if market_id is not None and o.market_id != market_id:
                continue
            if account_id is not None and o.account_id != account_id:
                continue
            if status == "complete" and o.order_id in self.open_orders:
                continue
            yield o

    def select_orders(
        self,
        market_id: int | None = None,
        account_id: int | str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[OrderView]:
        """Orders newest first (by order id). `status`: open | complete (or EXECUTABLE |
        EXECUTION_COMPLETE); ValueError on anything else."""
        status = _status(status)
        acct = _account_id(account_id)
        n = self._limit(limit)
        out = []
        for o in self._candidates(market_id, acct, status):
            out.append(o)
            if len(out) >= n:
                break
        return out

    def select_completed(
        self, market_id: int | None = None, account_id: int | str | None = None, limit: int | None = None
    ) -> list[OrderView]:
        """EXECUTION_COMPLETE orders, most recently completed first."""
        acct = _account_id(account_id)
        n = self._limit(limit)
        out = []
        orders = self.order_table
        for oid in reversed(self.completed):
            o = orders[oid]
            if market_id is not None and o.market_id != market_id:
                continue
            if acct is not None and o.account_id != acct:
                continue
            out.append(o)
            if len(out) >= n:
                break
        return out

    def select_trades(self, market_id: int | None = None, limit: int | None = None) -> list[TradeMatched]:
        """Trades newest first (`is_voided` tells the voided ones)."""
        n = self._limit(limit)
        if market_id is None:
            ids: Iterable[int] = reversed(self.trade_table.keys())
        else:
            m = self.markets.get(market_id)
            ids = reversed(m.trade_ids) if m is not None else ()
        out = []
        trades = self.trade_table
        for tid in ids:
            out.append(trades[tid])
            if len(out) >= n:
                break
        return out

    def is_voided(self, trade_id: int) -> bool:
        return trade_id in self.voided

    def taker_value(self, t: TradeMatched) -> int:
        """Σ size × price of the taker's side of a trade (engine units), for effective odds."""
        return self._taker_value(t)

    def risk_figures(self, m: MarketView, r: AccountRisk) -> tuple[dict[int, int], dict[int, int]]:
        """(if_win, if_win with unmatched) per outcome, in minor units. Unmatched orders count as
        fully matched at their limits, rounded against the account as the engine's liability
        check does."""
        outcomes = m.outcomes()
        e = r.exposure
        if_win = {o: e.if_win(o) for o in outcomes}
        with_unmatched = dict(if_win)
        binary = m.model == _BINARY
        for o in r.open.values():
            remaining = o.remaining
            if binary:
                win, lose = binary_book.unmatched_leg(o.side == Side.BUY, o.price, remaining)
            else:
                win, lose = multi_runner.unmatched_leg(o.side == Side.BACK, o.price, remaining)
            for outcome in outcomes:
                with_unmatched[outcome] += win if outcome == o.runner_id else -lose
        return if_win, with_unmatched

    def risk_rows(
        self, market_id: int | None = None, account_id: int | str | None = None
    ) -> list[tuple[MarketView, int, AccountRisk]] | None:
        """One row per (market, account), by market then account (house 0 included). None
        when `market_id` names no market."""
        acct = _account_id(account_id)
        if market_id is not None:
            if market_id not in self.markets:
                return None
            market_ids = [market_id]
        else:
            market_ids = sorted(self.risk_table)
        rows = []
        for mid in market_ids:
            m = self.markets[mid]
            accounts = self.risk_table.get(mid, {})
            for a in sorted(accounts) if acct is None else ([acct] if acct in accounts else []):
                rows.append((m, a, accounts[a]))
        return rows

    def live_counts(self) -> dict[str, int]:
        """Sizes of the in-memory tables (GET /debug/live_counts)."""
        return {
            "seq": self.seq,
            "markets": len(self.markets),
            "orders": len(self.order_table),
            "open_orders": len(self.open_orders),
            "completed_orders": len(self.completed),
            "trades": len(self.trade_table),
            "voided_trades": len(self.voided),
            "accounts": len(self.by_account),
            "risk_entries": sum(len(a) for a in self.risk_table.values()),
            "account_limits": len(self.limits),
            "depth_levels": sum(len(b) + len(la) for book in self.books.values() for b, la in book.values()),
        }

    # ------------------------------------------------------------------ persistence

    def dump(self) -> bytes:
        """Canonical msgpack of the whole projection: equal states give equal bytes.

        This is the ``projection.snap`` format; `betex.core.ops.recovery` writes and reads the
        file (durably, with the cyclic GC paused, which this layer does not decide)."""
        risk_rows = [
            (
                mid,
                [
                    (
                        a,
                        sorted(r.exposure.win.items()),
                        sorted(r.exposure.lose.items()),
                        r.exposure.total_lose,
                        r.matched_volume,
                        r.settled_pnl,
                        r.commission,
                    )
                    for a, r in sorted(accounts.items())
                ],
            )
            for mid, accounts in sorted(self.risk_table.items())
        ]
        state = (
            self.seq,
            self.ts,
            [self.markets[mid].row() for mid in sorted(self.markets)],
            [o.row() for o in self.order_table.values()],
            [tuple(t) for t in self.trade_table.values()],
            sorted(self.voided),
            self.completed,
            risk_rows,
            sorted(self.limits.items()),
            self.retire_final,
            sorted(self.delayed),
        )
        payload: bytes = msgpack.packb(state)
        out: bytes = msgpack.packb((_MAGIC, PROJECTION_SCHEMA, self.seq, zlib.crc32(payload), payload))
        return out

    @classmethod
    def load(cls, data: bytes, config: EngineConfig | None = None) -> Projection:
        """Inverse of `dump`; `SnapshotDamaged` (a `DataDamaged` and a `ValueError`) if the bytes
        are damaged or of another schema."""
        try:
            magic, schema, seq, crc, payload = msgpack.unpackb(data, use_list=False)
        except Exception as exc:
            raise SnapshotDamaged(f"not a projection snapshot: {exc}") from exc
        if magic != _MAGIC:
            raise SnapshotDamaged("not a projection snapshot")
        if schema not in READABLE_SCHEMAS:
            raise SnapshotDamaged(f"projection schema {schema}, expected one of {READABLE_SCHEMAS}")
        if not isinstance(payload, bytes) or zlib.crc32(payload) != crc:
            raise SnapshotDamaged("projection snapshot CRC mismatch")
        try:
            state = msgpack.unpackb(payload, use_list=True, strict_map_key=False)
            return cls._from_state(state, config)
        except Exception as exc:  # a CRC-valid payload of the wrong shape: report, never half-load
            raise SnapshotDamaged(f"damaged projection snapshot: {exc!r}") from exc

    @classmethod
    def _from_state(cls, state: list[Any], config: EngineConfig | None) -> Projection:
        seq, ts, markets, orders, trades, voided, completed, risk_rows, limits = state[:9]
        p = cls(config, bool(state[9]) if len(state) > 9 else False)
        p.seq, p.ts = seq, ts
        for row in markets:
            m = MarketView.from_row(row)
            p.markets[m.market_id] = m
            if not (p.retire_final and m.state in _FINAL_STATES):
                p.books[m.market_id] = {r: ({}, {}) for r in m.runner_ids}
        for mid, accounts in risk_rows:  # before the orders: their open sets go into these rows
            table = p.risk_table[mid] = {}
            for a, win, lose, total_lose, volume, settled, *rest in accounts:
                r = table[a] = AccountRisk()
                r.commission = rest[0] if rest else 0
                r.exposure.win = dict(win)
                r.exposure.lose = dict(lose)
                r.exposure.total_lose = total_lose
                r.matched_volume = volume
                r.settled_pnl = settled
        p.delayed = delayed = set(state[10]) if len(state) > 10 else set()
        order_table = p.order_table
        by_account = p.by_account
        by_market = p.by_market
        open_orders = p.open_orders
        books = p.books
        account = p._account
        from_row = OrderView.from_row
        for row in orders:  # id order = queue order: the resting totals rebuild exactly
            o = from_row(row)
            oid = o.order_id
            order_table[oid] = o
            by_account.setdefault(o.account_id, []).append(oid)
            by_market.setdefault(o.market_id, []).append(oid)
            remaining = o.size - o.matched - o.cancelled - o.lapsed - o.voided
            if remaining:  # one pass: what `_rest` and `_on_accepted` keep for a resting order
                if oid not in delayed:  # a delayed order is open but not in the book yet
                    backs, lays = books[o.market_id][o.runner_id]
                    side = backs if o.side == "BACK" or o.side == "BUY" else lays
                    side[o.price] = side.get(o.price, 0) + remaining
                open_orders[oid] = o
                account(o.market_id, o.account_id).open[oid] = o
        new = tuple.__new__
        trade_table = p.trade_table
        for row in trades:
            row[14] = tuple([new(Leg, leg) for leg in row[14]])
            t = new(TradeMatched, row)
            trade_table[t.trade_id] = t
        p.voided = set(voided)
        p.completed = list(completed)
        p.limits = dict(limits)
        return p


def _status(status: str | None) -> str | None:
    if status is None or status == "":
        return None
    s = status.lower()
    if s in ("open", "executable"):
        return "open"
    if s in ("complete", "execution_complete"):
        return "complete"
    raise ValueError(f"status must be open or complete, not {status!r}")


def _account_id(account_id: int | str | None) -> int | None:
    """Account filters arrive as numbers or strings ("7", "7.0")."""
    if account_id is None or isinstance(account_id, int):
        return account_id
    text = str(account_id).strip().strip('"')
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit():
        raise ValueError(f"account_id must be an integer, not {account_id!r}")
    return int(text)
