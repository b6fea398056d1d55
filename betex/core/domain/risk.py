"""Per-account, per-market exposure from trade legs (domain.md §5), kept incrementally, and the
engine's liability book (`RiskBook`) that enforces `max_liability`.

For an account, with W_r / L_r the summed `win` / `lose` of its legs on runner r:
``ifWin_r = W_r - Σ_{s≠r} L_s = W_r + L_r - ΣL``. Updating is O(1) per leg; a worst case is
O(runners). BINARY_YES markets have two outcomes: the YES runner and `NO_OUTCOME`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from betex.core.domain.book import binary, multi_runner
from betex.core.domain.book.levels import Order
from betex.core.domain.events import Leg
from betex.core.domain.market import Market
from betex.core.domain.results import Reject
from betex.core.domain.types import HOUSE_ACCOUNT, NO_OUTCOME, MarketState, RejectCode


class Exposure:
    """Summed legs of one account in one market."""

    __slots__ = ("win", "lose", "total_lose")

    def __init__(self) -> None:
        self.win: dict[int, int] = {}
        self.lose: dict[int, int] = {}
        self.total_lose = 0

    def add(self, runner_id: int, win: int, lose: int, sign: int = 1) -> None:
        """Add (sign=1) or remove (sign=-1) one leg."""
        w = self.win
        lo = self.lose
        w[runner_id] = w.get(runner_id, 0) + sign * win
        lo[runner_id] = lo.get(runner_id, 0) + sign * lose
        self.total_lose += sign * lose

    def if_win(self, runner_id: int) -> int:
        """P&L if `runner_id` wins (NO_OUTCOME: if none of the runners wins, i.e. binary NO)."""
        if runner_id == NO_OUTCOME:
            return -self.total_lose
        return self.win.get(runner_id, 0) + self.lose.get(runner_id, 0) - self.total_lose

    def outcomes(self, outcomes: Iterable[int]) -> dict[int, int]:
        return {r: self.if_win(r) for r in outcomes}

    def worst_case(self, outcomes: Iterable[int]) -> int:
        return min((self.if_win(r) for r in outcomes), default=0)

    def is_empty(self) -> bool:
        return self.total_lose == 0 and not any(self.win.values())

    def copy(self) -> Exposure:
        e = Exposure()
        e.win = dict(self.win)
        e.lose = dict(self.lose)
        e.total_lose = self.total_lose
        return e


def settle_pnl(
    exposure: Exposure, winners: Sequence[int], legs_by_runner: dict[int, list[tuple[int, int]]]
) -> int:
    """Settled P&L of one account.

    One winner: exactly ``if_win``. A dead heat of k winners divides a winning leg's payout
    (stake + winnings) by k, rounded up (in the participant's favour, as trade rounding is); the
    house account's settled P&L is minus the sum of everyone else's, so the market sums to zero.
    """
    if len(winners) == 1:
        return exposure.if_win(winners[0])
    if not winners:
        return exposure.if_win(NO_OUTCOME)
    k = len(winners)
    winset = set(winners)
    pnl = 0
    for runner_id, legs in legs_by_runner.items():
        for win, lose in legs:
            if runner_id in winset:
                pnl += -((-(win + lose)) // k) - lose
            else:
                pnl -= lose
    return pnl


def commissions(gross: dict[int, int], bps: int) -> dict[int, int]:
    """Commission per account at settlement (domain.md §7): each account other than the house with
    positive net winnings `g` pays ``bps × g // 10000`` (rounded down to the cent); the house's
    entry is minus their sum (it receives it). Accounts that pay nothing are left out, so the
    net P&L ``gross − commission`` still sums to zero over the market."""
    out: dict[int, int] = {}
    if not bps:
        return out
    total = 0
    for a, g in gross.items():
        if a != HOUSE_ACCOUNT and g > 0:
            c = bps * g // 10000
            if c:
                out[a] = c
                total += c
    if total:
        out[HOUSE_ACCOUNT] = -total
    return out


def unmatched_leg(m: Market, side: str, price: int, remaining: int) -> tuple[int, int]:
    """An unmatched order's (win, lose) as if fully matched at its limit."""
    if m.is_binary:
        return binary.unmatched_leg(side == "BUY", price, remaining)
    return multi_runner.unmatched_leg(side == "BACK", price, remaining)


def outcomes(m: Market) -> list[int]:
    """The outcomes a market settles on: its runners (not the removed ones), or YES and NO for
    BINARY_YES."""
    if m.is_binary:
        return [m.runner_ids[0], NO_OUTCOME]
    return [r for r in m.runner_ids if r not in m.removed]


class RiskBook:
    """The accounts with a `max_liability` and their exposure, per open market: matched legs plus
    every resting (or delayed, delay.py) order as if matched at its limit. Only accounts with a
    limit are tracked, so unlimited flow pays nothing for it. Derived state: rebuilt from the
    markets on load."""

    __slots__ = ("limits", "expo")

    def __init__(self) -> None:
        self.limits: dict[int, int] = {}  # account → max_liability (cents)
        self.expo: dict[tuple[int, int], Exposure] = {}  # (market, account) → exposure

    def exposure(self, market_id: int, account_id: int) -> Exposure | None:
        return self.expo.get((market_id, account_id))

    def check(
        self, m: Market, account: int, side: str, runner_id: int, price: int, size: int, limit: int
    ) -> Reject | None:
        """Would a new order of `size` at `price` take the account's worst case past `limit`?"""
        e = self.expo.get((m.market_id, account)) or Exposure()
        win, lose = unmatched_leg(m, side, price, size)
        worst = min(e.if_win(r) + (win if r == runner_id else -lose) for r in outcomes(m))
        scale = 100 if m.is_binary else 1  # binary amounts are in 1/10000, limits in cents
        if worst < -limit * scale:
            return Reject(
                RejectCode.LIABILITY_EXCEEDED,
                f"worst case {worst / (100 * scale):.2f} would exceed max_liability {limit / 100:.2f}",
            )
        return None

    def rebuild(self, account: int, markets: dict[int, Market]) -> None:
        """The account's exposure on every open market, from its trades and resting orders."""
        for key in [k for k in self.expo if k[1] == account]:
            del self.expo[key]
        for mid, m in markets.items():
            if m.state in (MarketState.SETTLED, MarketState.VOIDED):
                continue
            e = Exposure()
            for tid, ev in m.trades.items():
                if tid not in m.voided_trades:
                    for leg in ev.legs:
                        if leg.account_id == account:
                            e.add(leg.runner_id, leg.win, leg.lose)
            for o in (*m.live_orders(), *m.delayed.values()):  # delayed orders reserve too
                if o.account_id == account:
                    win, lose = unmatched_leg(m, o.side, o.price, o.remaining)
                    e.add(o.runner_id, win, lose)
            self.expo[(mid, account)] = e

    def order_moved(self, m: Market, o: Order, before: int) -> None:
        """Move an order's unmatched leg from `before` remaining to its current remaining."""
        key = (o.market_id, o.account_id)
        e = self.expo.get(key)
        if e is None:
            e = self.expo[key] = Exposure()
        w0, l0 = unmatched_leg(m, o.side, o.price, before)
        w1, l1 = unmatched_leg(m, o.side, o.price, o.remaining)
        e.add(o.runner_id, w1 - w0, l1 - l0)

    def legs(self, market_id: int, legs: tuple[Leg, ...], sign: int) -> None:
        """Add (sign 1) or remove (sign -1) a trade's legs of accounts with a limit."""
        limits = self.limits
        for leg in legs:
            if leg.account_id in limits:
                key = (market_id, leg.account_id)
                e = self.expo.get(key)
                if e is None:
                    e = self.expo[key] = Exposure()
                e.add(leg.runner_id, leg.win, leg.lose, sign)

    def set_limit(self, account: int, max_liability: int, markets: dict[int, Market]) -> None:
        if max_liability:
            self.limits[account] = max_liability
            self.rebuild(account, markets)
        else:
            self.limits.pop(account, None)
            for key in [k for k in self.expo if k[1] == account]:
                del self.expo[key]

    def forget_market(self, market_id: int) -> None:
        for key in [k for k in self.expo if k[0] == market_id]:
            del self.expo[key]
