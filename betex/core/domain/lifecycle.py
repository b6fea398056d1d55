"""A market's life in the engine: creation, runners, state transitions, settlement and voids.

The admin side of the engine, apart from matching: each command is checked against the
lifecycle table (`market.transition`), then emitted as events through `Engine._emit`; the
appliers below are the only code that changes a market's definition or state. A settled or
voided market is retired to a `Tombstone` (see `retire`). Functions of the engine rather than
methods, so that `engine.py` stays about orders and matching.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from betex.core.domain import commands as C
from betex.core.domain import delay, validate
from betex.core.domain.book.levels import Order
from betex.core.domain.engine_api import EngineCore
from betex.core.domain.events import (
    MarketCreated,
    MarketSettled,
    MarketStateChanged,
    MarketVoided,
    OrderCancelled,
    RunnersAdded,
    TradesVoided,
)
from betex.core.domain.market import Market, Tombstone, transition
from betex.core.domain.results import Ack, MarketResult, Reject, Result
from betex.core.domain.types import CancelReason, MarketState, RejectCode

R = RejectCode
_LAPSED: Final = "LAPSED"


def create_market(eng: EngineCore, c: C.CreateMarket) -> Result:
    labels = validate.check_create_market(c)
    if isinstance(labels, Reject):
        return labels
    runners = c.runner_ids
    mid = eng.next_market_id
    eng._emit(
        MarketCreated(
            eng.seq + 1,
            eng.ts,
            mid,
            c.name,
            str(c.market_model),
            c.book_type and str(c.book_type),
            str(c.market_kind),
            str(c.market_state),
            str(c.market_phase),
            tuple(runners),
            labels,
            c.commission_bps,
        )
    )
    delay.set_delay(eng, mid, c.bet_delay_ms)
    m = eng.markets[mid]
    return MarketResult(mid, m.state, m.phase, m.version, created=True)


def late_transition(
    eng: EngineCore, market_id: int, command: str, target: str | None = None
) -> Reject | None:
    """The reject a lifecycle command gets on a settled or voided market: the one the live
    market in its final state would give (INVALID_TRANSITION, or BAD_REQUEST for an unknown
    target state); None if the market is not a tombstone."""
    t = eng.tombstones.get(market_id)
    if t is None:
        return None
    decided = transition(t, command, target)
    if isinstance(decided, Reject):
        return decided
    raise AssertionError(f"{command} allowed from final state {t.state}")  # a lifecycle bug


def add_runners(eng: EngineCore, c: C.AddRunners) -> Result:
    m = eng._market(c.market_id, R.INVALID_TRANSITION)
    if isinstance(m, Reject):
        return m
    labels = validate.check_add_runners(m, c)
    if isinstance(labels, Reject):
        return labels
    runners = c.runner_ids
    eng._emit(RunnersAdded(eng.seq + 1, eng.ts, m.market_id, tuple(runners), labels))
    return MarketResult(m.market_id, m.state, m.phase, m.version)


def change_state(eng: EngineCore, c: Any, command: str, target: str | None = None) -> Result:
    """SET_MARKET_STATE, AWAIT_LIVE, GO_LIVE, CLOSE and VOID: the transition table decides, and
    the orders the new state does not keep are cancelled (closed, voided) or lapsed (in play)."""
    late = late_transition(eng, c.market_id, command, target)
    if late is not None:
        return late
    m = eng._market(c.market_id)
    if isinstance(m, Reject):
        return m
    decided = transition(m, command, target)
    if isinstance(decided, Reject):
        return decided
    if command == "VOID_MARKET":
        if m.delayed:  # any transition changes the version: delayed orders are voided
            delay.void_market(eng, m)
        cancel_resting(eng, m, lambda o: True, CancelReason.MARKET_VOIDED)
        eng._emit(MarketVoided(eng.seq + 1, eng.ts, m.market_id))
    else:
        eng._emit(
            MarketStateChanged(eng.seq + 1, eng.ts, m.market_id, decided.state, decided.phase, m.version + 1)
        )
        if m.delayed:  # as above
            delay.void_market(eng, m)
        if decided.cancel_all:
            cancel_resting(eng, m, lambda o: True, CancelReason.MARKET_CLOSED)
        elif decided.lapse:
            cancel_resting(eng, m, lambda o: not o.persist, _LAPSED)
    return MarketResult(m.market_id, m.state, m.phase, m.version)


def cancel_resting(eng: EngineCore, m: Market, which: Callable[[Order], bool], reason: str) -> int:
    victims = [o for o in m.live_orders() if which(o)]
    for o in victims:
        eng._emit(OrderCancelled(eng.seq + 1, eng.ts, m.market_id, o.order_id, o.remaining, reason))
    return len(victims)


def settle(eng: EngineCore, c: C.SettleMarket) -> Result:
    late = late_transition(eng, c.market_id, "SETTLE_MARKET")
    if late is not None:
        return late
    m = eng._market(c.market_id)
    if isinstance(m, Reject):
        return m
    decided = transition(m, "SETTLE_MARKET")
    if isinstance(decided, Reject):
        return decided
    winners = c.winner_runner_ids
    bad = validate.check_winners(m, winners)
    if bad:
        return bad
    eng._emit(MarketSettled(eng.seq + 1, eng.ts, m.market_id, tuple(sorted(winners))))
    return MarketResult(m.market_id, m.state, m.phase, m.version)


def void_trades(eng: EngineCore, c: C.VoidTrades) -> Result:
    m = eng._market(c.market_id, R.INVALID_TRANSITION)
    if isinstance(m, Reject):
        return m
    chosen = validate.trades_to_void(m, c)
    if isinstance(chosen, Reject):
        return chosen
    if chosen:
        eng._emit(TradesVoided(eng.seq + 1, eng.ts, m.market_id, tuple(chosen)))
    return Ack({"voided": len(chosen)})


# ---------------------------------------------------------------------- appliers


def on_market_created(eng: EngineCore, e: MarketCreated) -> None:
    eng.markets[e.market_id] = Market(
        e.market_id,
        e.name,
        e.market_model,
        e.book_type,
        e.market_kind,
        e.market_state,
        e.market_phase,
        list(e.runner_ids),
        list(e.runner_labels),
        e.commission_bps,
    )
    eng.next_market_id = e.market_id + 1


def on_runners_added(eng: EngineCore, e: RunnersAdded) -> None:
    eng.markets[e.market_id].add_runners(e.runner_ids, e.runner_labels)


def on_state_changed(eng: EngineCore, e: MarketStateChanged) -> None:
    m = eng.markets[e.market_id]
    m.state = e.market_state
    m.phase = e.market_phase
    m.version = e.version


def on_trades_voided(eng: EngineCore, e: TradesVoided) -> None:
    void_trades_of(eng, eng.markets[e.market_id], e.trade_ids)


def void_trades_of(eng: EngineCore, m: Market, trade_ids: tuple[int, ...]) -> None:
    """Void matched trades of `m` (TRADES_VOIDED, or a runner removal's voids): both orders'
    matched size goes to voided, and limited accounts' exposure loses the trades' legs."""
    limits = eng.limits
    for tid in trade_ids:
        t = m.trades[tid]
        m.voided_trades.add(tid)
        for oid, size in ((t.taker_order_id, t.taker_size), (t.maker_order_id, t.maker_size)):
            o = eng.orders[oid]
            o.matched -= size
            o.voided += size
        if limits:
            eng.risk.legs(m.market_id, t.legs, -1)


def on_settled(eng: EngineCore, e: MarketSettled) -> None:
    m = eng.markets[e.market_id]
    m.state = MarketState.SETTLED
    m.winners = e.winner_runner_ids
    m.version += 1
    retire(eng, m)


def on_market_voided(eng: EngineCore, e: MarketVoided) -> None:
    m = eng.markets[e.market_id]
    m.state = MarketState.VOIDED
    m.version += 1
    retire(eng, m)


def retire(eng: EngineCore, m: Market) -> None:
    """A settled or voided market leaves the engine: a `Tombstone` (id, final state, phase,
    kind, version) answers late commands; its orders, trades, books and exposures are dropped
    (the history store keeps them). Live state stays bounded by the open markets."""
    mid = m.market_id
    del eng.markets[mid]
    eng.tombstones[mid] = Tombstone(mid, m.state, m.phase, m.kind, m.version)
    for oid in [oid for oid, o in eng.orders.items() if o.market_id == mid]:
        del eng.orders[oid]
    eng.risk.forget_market(mid)
