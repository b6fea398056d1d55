"""Runner removal (a non-runner, domain.md §7): deciding REMOVE_RUNNER and re-pricing the trades.

The engine (`engine.py`) only dispatches here: `remove_runner` handles the command and
`on_runner_removed` applies the event (functions of the engine, typed against the `EngineCore`
protocol, as the engine's other parts are). Inside:
- `check`: whether the market and runner allow a removal (typed rejects, nothing changes);
- `plan`: which matched trades are voided and what the others become (pure, from the market);
- `apply`: the market's part of a RUNNER_REMOVED, shared by the live path and replay.

Rules (the choices the spec leaves open are in docs/engine.md, "Runner removal"):
- The factor is integer hundredths of a percent, f ∈ 0..10000. A trade's price q (hundredths)
  becomes ``max(101, round_half_up(q × (10000 − f) / 10000))``: an integer on the hundredth
  grid, not necessarily a ladder tick, the same for both sides of the trade. A later removal
  reduces the price in force, so factors compound (each step rounded).
- A trade is a bet between two accounts on one runner: a direct trade on the taker's runner, a
  ring (implied) trade on its maker's runner at the maker's price, the taker on the other side.
  A trade with either runner removed (the maker's bet, or the taker's bet of the ring) is voided
  as a whole; the house takes no position, so nobody is left holding the other half.
- A reduced trade's legs are those of a direct trade at the reduced price (`direct_legs`): the
  backer wins ⌈m·(q'−1)⌉, the layer pays ⌊m·(q'−1)⌋, the house the residue (≤ 1 cent). Every
  trade stays zero-sum for every outcome, so the market does. A price the factor leaves as it
  was (f = 0, or already at 1.01) leaves the trade, ring legs included, untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

from betex.core.domain import delay, lifecycle
from betex.core.domain.book.levels import Order
from betex.core.domain.book.multi_runner import direct_legs
from betex.core.domain.commands import RemoveRunner
from betex.core.domain.engine_api import EngineCore
from betex.core.domain.events import Leg, OrderCancelled, ReducedTrade, RunnerRemoved, TradeMatched
from betex.core.domain.market import PRE_SETTLEMENT_STATES, Market
from betex.core.domain.results import MarketResult, Reject, Result
from betex.core.domain.types import CancelReason, RejectCode

R = RejectCode

FACTOR_SCALE = 10000
"""Reduction factors are in hundredths of a percent: 100.00 % is 10000."""
MIN_ODDS = 101
"""The floor of a reduced price: 1.01, the bottom of the ladder."""
MIN_ACTIVE = 3
"""A removal needs at least this many active runners (so that two remain)."""


def reduced_price(price: int, factor: int) -> int:
    """`price` (hundredths) reduced by `factor` (hundredths of a percent), rounded half up to the
    hundredth and floored at 1.01."""
    return max(MIN_ODDS, (price * (FACTOR_SCALE - factor) + FACTOR_SCALE // 2) // FACTOR_SCALE)


def active_runners(m: Market) -> list[int]:
    """The market's runners that are not removed, in market order."""
    removed = m.removed
    return [r for r in m.runner_ids if r not in removed] if removed else list(m.runner_ids)


def check(m: Market, c: RemoveRunner) -> Reject | None:
    """Why REMOVE_RUNNER cannot apply to the live market `m`, or None."""
    if m.is_binary:
        return Reject(R.INVALID_TRANSITION, "runners cannot be removed from a BINARY_YES market")
    if m.state not in PRE_SETTLEMENT_STATES:
        return Reject(R.INVALID_TRANSITION, f"REMOVE_RUNNER not allowed from {m.state}/{m.phase}")
    if c.runner_id not in m.books:
        return Reject(R.INVALID_RUNNER, f"runner {c.runner_id!r} is not in market {m.market_id}")
    if c.runner_id in m.removed:
        return Reject(R.INVALID_RUNNER, f"runner {c.runner_id} is already removed")
    f = c.reduction_factor
    if type(f) is not int or not 0 <= f <= FACTOR_SCALE:
        return Reject(R.BAD_REQUEST, "reduction_factor must be a percentage 0..100 with at most 2 decimals")
    active = len(active_runners(m))
    if active < MIN_ACTIVE:
        return Reject(
            R.INVALID_TRANSITION,
            f"REMOVE_RUNNER needs at least {MIN_ACTIVE} active runners; market {m.market_id} has {active}",
        )
    return None


def _legs(t: TradeMatched, price: int, taker_backs: bool) -> tuple[tuple[Leg, ...], int]:
    """The legs of trade `t` at `price`: a direct bet on its runner between its two accounts."""
    if not t.implied:  # the taker backs or lays the runner against the maker
        if taker_backs:
            return direct_legs(t.taker_account, t.maker_account, t.runner_id, price, t.taker_size)
        return direct_legs(t.maker_account, t.taker_account, t.runner_id, price, t.taker_size)
    # A ring trade: the maker backs (or lays) its own runner at its price for maker_size, and the
    # taker of a back ring lays it (a lay ring's taker backs it): book/cross.py.
    if taker_backs:
        return direct_legs(t.maker_account, t.taker_account, t.maker_runner_id, price, t.maker_size)
    return direct_legs(t.taker_account, t.maker_account, t.maker_runner_id, price, t.maker_size)


def plan(
    m: Market, runner_id: int, factor: int, orders: Mapping[int, Order]
) -> tuple[tuple[int, ...], tuple[ReducedTrade, ...]]:
    """The trades a removal voids (a bet on `runner_id`) and the ones it re-prices, by trade id.
    `orders` gives each trade's taker order (its side). Pure: nothing changes."""
    voided: list[int] = []
    reduced: list[ReducedTrade] = []
    original = m.original_prices
    for tid in sorted(m.trades):
        if tid in m.voided_trades:
            continue
        t = m.trades[tid]
        if t.runner_id == runner_id or t.maker_runner_id == runner_id:
            voided.append(tid)
            continue
        price = reduced_price(t.price, factor)
        if price == t.price:
            continue
        legs, house = _legs(t, price, orders[t.taker_order_id].side == "BACK")
        reduced.append(ReducedTrade(tid, original.get(tid, t.price), price, legs, house))
    return tuple(voided), tuple(reduced)


def apply(m: Market, e: RunnerRemoved) -> list[tuple[tuple[Leg, ...], tuple[Leg, ...]]]:
    """Apply a RUNNER_REMOVED to `m` (after its voids): the runner's status, the market's version,
    the reduced trades. Returns each reduced trade's (old legs, new legs) for the risk book."""
    m.removed[e.runner_id] = e.reduction_factor
    m.version = e.version
    m.cross_others = {}  # ring partners are the active runners only
    moved: list[tuple[tuple[Leg, ...], tuple[Leg, ...]]] = []
    for r in e.reduced:
        old = m.trades[r.trade_id]
        m.original_prices[r.trade_id] = r.original_price
        m.trades[r.trade_id] = old._replace(price=r.price, legs=r.legs, house=r.house)
        moved.append((old.legs, r.legs))
    return moved


# ---------------------------------------------------------------- the engine's hooks


def remove_runner(eng: EngineCore, c: RemoveRunner) -> Result:
    """REMOVE_RUNNER: every unmatched order of the market cancelled (ORDER_CANCELLED, reason
    RUNNER_REMOVED), then one RUNNER_REMOVED with the voided and the re-priced trades."""
    m = eng._market(c.market_id, R.INVALID_TRANSITION)
    if isinstance(m, Reject):
        return m
    bad = check(m, c)
    if bad:
        return bad
    voided, reduced = plan(m, c.runner_id, c.reduction_factor, eng.orders)
    reason = CancelReason.RUNNER_REMOVED
    if m.delayed:  # the version changes: delayed orders are voided (DELAY_VOIDED), as on any transition
        delay.void_market(eng, m)
    for o in list(m.live_orders()):
        eng._emit(OrderCancelled(eng.seq + 1, eng.ts, m.market_id, o.order_id, o.remaining, reason))
    eng._emit(RunnerRemoved(eng.seq + 1, eng.ts, m.market_id, c.runner_id, c.reduction_factor,
                            m.version + 1, voided, reduced))  # fmt: skip
    return MarketResult(m.market_id, m.state, m.phase, m.version)


def on_runner_removed(eng: EngineCore, e: RunnerRemoved) -> None:
    """Apply a RUNNER_REMOVED: its voids (the state change a TRADES_VOIDED makes), then the
    market's part (`apply`); accounts with a liability limit swap each re-priced trade's legs."""
    m = eng.markets[e.market_id]
    limits = eng.limits
    lifecycle.void_trades_of(eng, m, e.voided)
    for old, new in apply(m, e):
        if limits:
            eng.risk.legs(e.market_id, old, -1)
            eng.risk.legs(e.market_id, new, 1)
