"""In-play bet delay (domain.md §7): delayed orders, their maturing, and their voiding.

A market created with `bet_delay_ms` > 0 (event BET_DELAY_SET) delays every placement made
while it is IN_PLAY. The placement is checked as any other (price, size, liability, version
guard, duplicate ref) and accepted at once: ORDER_DELAYED, reply status DELAYED, with an order
id. The order then exists (it can be cancelled, reduced or replaced; CANCEL_ALL sees it) and
its liability is reserved (`RiskBook` counts it as if it rested at its limit), but it is not in
the book: nobody can match it, and it is not in the depth.

It matures at the first batch whose engine time is at least `due_ts` (acceptance time + delay):
the batch starts with a TICK, then for each due order, oldest due first (ties by order id):
- if the market is no longer OPEN, or its version differs from the one at acceptance: the order
  is cancelled, reason DELAY_VOIDED (a safety net: the lifecycle voids them eagerly, below);
- a FILL_OR_KILL order that cannot fill `min_fill_size` (or all of it) now: cancelled,
  reason FOK_UNFILLED (it was accepted, so it is not rejected as FOK_NOT_FILLED would be);
- otherwise ORDER_MATURED puts it at the back of its price level and it matches as a taker
  would have at that moment (TRADE_MATCHED, self-trade and FOK cancels as for a placement).

Any lifecycle transition of the market (suspend, halt, close, void, go live: anything that
changes its `version`) cancels its delayed orders, reason DELAY_VOIDED, right after its
MARKET_STATE_CHANGED (before the MARKET_VOIDED of a void).

Determinism: the clock only decides *when* the engine looks (`Engine.begin_batch`); what it
decides is written as events, so a replay follows the WAL and never reads the clock. The
runtime wakes the engine when the next order is due (`DelayBook.next_due`), so delayed orders
mature without other traffic.
"""

from __future__ import annotations

from typing import Final

from betex.core.domain import commands as C
from betex.core.domain.book.levels import Order
from betex.core.domain.delaybook import Delayed
from betex.core.domain.engine_api import EngineCore
from betex.core.domain.events import BetDelaySet, OrderDelayed, OrderMatured, Tick
from betex.core.domain.market import Market
from betex.core.domain.results import OrderResult, Reject, order_result

NS_PER_MS: Final = 1_000_000
DELAYED: Final = "DELAYED"
"""The status of an accepted order that has not entered the book yet (replies, /orders, updates)."""

_OPEN: Final = "OPEN"
_FILL_OR_KILL: Final = "FILL_OR_KILL"
_DELAY_VOIDED: Final = "DELAY_VOIDED"
_FOK_UNFILLED: Final = "FOK_UNFILLED"
_PERSIST: Final = "PERSIST"


# ---------------------------------------------------------------------------------- commands


def set_delay(eng: EngineCore, market_id: int, bet_delay_ms: int) -> None:
    """After a MARKET_CREATED: record its delay (nothing for 0, so such a stream is unchanged)."""
    if bet_delay_ms:
        eng._emit(BetDelaySet(eng.seq + 1, eng.ts, market_id, bet_delay_ms))


def accept(eng: EngineCore, m: Market, c: C.PlaceOrder, replaces: int) -> OrderResult | Reject:
    """A checked placement in a delayed market, in play: reserve its liability and accept it
    as DELAYED (no matching now; FILL_OR_KILL is decided when it matures)."""
    limit = eng.limits.get(c.account_id)
    if limit:
        bad = eng.risk.check(m, c.account_id, c.side, c.runner_id, c.price, c.size, limit)
        if bad:
            return bad
    ts = eng.ts
    oid = eng.next_order_id
    eng._emit(
        OrderDelayed(
            eng.seq + 1, ts, m.market_id, oid, c.account_id, c.runner_id, c.side, c.price,
            c.size, c.persistence, c.time_in_force, c.client_ref, replaces, c.min_fill_size,
            ts + m.bet_delay_ms * NS_PER_MS, m.version,
        )
    )  # fmt: skip
    return order_result(DELAYED, m.delayed[oid])


def void_market(eng: EngineCore, m: Market) -> None:
    """Cancel the market's delayed orders (DELAY_VOIDED): its state or version is changing."""
    for o in list(m.delayed.values()):
        eng._emit_cancel(m.market_id, o.order_id, o.remaining, _DELAY_VOIDED)


def mature(eng: EngineCore) -> None:
    """At the start of a batch: the TICK and the fate of every delayed order now due."""
    due = eng.delayed.pop_due(eng.ts)
    if not due:
        return
    eng._emit(Tick(eng.seq + 1, eng.ts, 0))
    markets = eng.markets
    for d in due:
        o = d.order
        mid = o.market_id
        m = markets[mid]
        remaining = o.remaining
        if m.state != _OPEN or m.version != d.version:
            eng._emit_cancel(mid, o.order_id, remaining, _DELAY_VOIDED)
            continue
        steps, fillable = m.plan(o.side, o.runner_id, o.price, o.account_id, remaining)
        fok = d.time_in_force == _FILL_OR_KILL
        if fok and fillable < min(d.min_fill_size or remaining, remaining):
            eng._emit_cancel(mid, o.order_id, remaining, _FOK_UNFILLED)
            continue
        eng._emit(OrderMatured(eng.seq + 1, eng.ts, mid, o.order_id))
        if steps:
            eng._match(m, o, steps, fok)
        elif fok and o.remaining:
            eng._emit_cancel(mid, o.order_id, o.remaining, _FOK_UNFILLED)


# ---------------------------------------------------------------------------------- appliers


def on_bet_delay_set(eng: EngineCore, e: BetDelaySet) -> None:
    eng.markets[e.market_id].bet_delay_ms = e.bet_delay_ms


def on_delayed(eng: EngineCore, e: OrderDelayed) -> None:
    """The order exists, owned and reserved, but outside the book."""
    o = Order(e.order_id, e.account_id, e.market_id, e.runner_id, e.side, e.price, e.size,
              e.persistence == _PERSIST, e.client_ref, e.ts)  # fmt: skip
    eng.orders[o.order_id] = o
    eng.next_order_id = o.order_id + 1
    m = eng.markets[e.market_id]
    m.delayed[o.order_id] = o
    own = m.by_account.get(o.account_id)
    if own is None:
        own = m.by_account[o.account_id] = {}
    own[o] = None
    if o.client_ref:
        eng.refs.remember(o.account_id, o.client_ref, e.ts)
    if o.account_id in eng.limits:
        eng.risk.order_moved(m, o, 0)
    eng.delayed.add(Delayed(o, e.due_ts, e.version, e.time_in_force, e.min_fill_size))


def on_matured(eng: EngineCore, e: OrderMatured) -> None:
    """The order leaves the delay and joins the back of its price level (its reservation stays:
    it is the same order at the same limit)."""
    eng.delayed.entries.pop(e.order_id)
    m = eng.markets[e.market_id]
    o = m.delayed.pop(e.order_id)
    book = m.books[o.runner_id]
    (book.backs if o.side == "BACK" or o.side == "BUY" else book.lays).add(o)


def take(eng: EngineCore, o: Order, amount: int) -> None:
    """`amount` of a delayed order was cancelled (its counters are already updated): as
    `Engine._take`, without the book it is not in yet."""
    before = o.remaining
    o.remaining = before - amount
    m = eng.markets[o.market_id]
    if not o.remaining:
        own = m.by_account[o.account_id]
        del own[o]
        if not own:
            del m.by_account[o.account_id]
        del m.delayed[o.order_id]
        del eng.delayed.entries[o.order_id]
    if o.account_id in eng.limits:
        eng.risk.order_moved(m, o, before)
