"""A deliberately naive reference for CROSS_MATCHED markets, written from domain.md §4 and §7 and
the rules docs/engine.md states (not from book/cross.py).

It keeps every order in one flat list and, for each incoming order, repeatedly enumerates *every*
candidate: each crossing resting order on the taker's runner (direct), and each combination of one
resting order per other runner (a ring, by itertools.product), with exact Fraction arithmetic. It
takes the best by (taker's effective odds, time, runner-order ids), fills it, and starts over.

Rules (docs/engine.md "CROSS_MATCHED"):
- a back ring on A: one resting back at the best (lowest) price of every other runner (lays: the
  highest), odds e = 1/(1 − Σ 1/b_j) if Σ 1/b_j < 1, else the taker's limit p (makers share
  the surplus: y_j = f·P/b_j with f = (1 − 1/p)/Σ 1/b_j); lay rings need Σ 1/l_j < 1
  ≥ the taker's limit; a lay ring: resting lays, e ≤ the limit. A direct order's odds are its
  price. Higher odds first for a backer, lower for a layer; then time (a ring's time is its newest
  order); then, among rings, the earliest order on each runner in market order.
- a ring holding an order of the taker's account: that order (the first in market order) is
  cancelled (SELF_TRADE) and the search starts over.
- stakes: anchor = the ring's order at the lowest price (first in market order on a tie); k =
  the largest whole number of cents with k ≤ its remaining, each other maker's rounded amount
  (⌊y_j⌋ for backs, ⌈y_j⌉ for lays, y_j = k·b_a/b_j) ≤ its remaining and the taker's exact
  x = P/e ≤ its remaining; pot P = k·b_a/100 (divided by f when capped).
- dust: k < 1, x < 1, some y_j < 1, or (more than one maker) ⌊x⌋ below the number of makers. Then
  the maker whose remaining gives the smallest bound on k (first in market order; the anchor if
  the taker's bound is smaller than every maker's) is left out for the rest of this placement.
- rounding, in each participant's favour: back — maker j stakes ⌊y_j⌋ and wins ⌈P − y_j⌉, the
  taker stakes ⌊x⌋ and wins ⌈Σ y_j⌉; lay — maker j wins ⌈y_j⌉ and pays ⌊P − y_j⌋, the taker's
  matched size is ⌈x⌉, it pays ⌊Σ y_j⌋. The house pays whatever makes each outcome sum to zero.
- one trade per maker; the trade's P&L: the maker's bet on runner j against the taker, the house
  paying the residue on runner j; the first trade also carries the house's top-up of the taker if
  A wins. The taker's size is split 1 + (T − n)·size_j // Σ sizes, the rest to the first trade.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

HOUSE = 0


@dataclass
class XOrder:
    order_id: int
    account: int
    runner: int
    side: str
    price: int
    size: int
    remaining: int


@dataclass
class XTrade:
    maker_order_id: int
    taker_size: int
    maker_size: int
    pnl: dict[tuple[int, int], int]  # (account, outcome) → P&L of this trade


class CrossReference:
    def __init__(self, runners: tuple[int, ...]) -> None:
        self.runners = runners
        self.orders: dict[int, XOrder] = {}
        self.next_id = 1

    def resting(self) -> list[XOrder]:
        return [o for o in self.orders.values() if o.remaining > 0]

    def cancel(self, order_id: int) -> None:
        self.orders[order_id].remaining = 0

    def place(
        self, runner: int, side: str, price: int, size: int, account: int
    ) -> tuple[list[XTrade], list[int]]:
        """Returns (trades, self-trade-cancelled order ids)."""
        taker = XOrder(self.next_id, account, runner, side, price, size, size)
        self.next_id += 1
        trades: list[XTrade] = []
        stp: list[int] = []
        left_out: set[int] = set()
        back = side == "BACK"
        while taker.remaining:
            best = self._best(taker, left_out)
            if best is None:
                break
            kind, makers = best
            own = [o for o in makers if o.account == account]
            if own:
                stp.append(own[0].order_id)
                own[0].remaining = 0
                continue
            if kind == "direct":
                (o,) = makers
                m = min(taker.remaining, o.remaining)
                win = ceil(Fraction(m * (o.price - 100), 100))
                pay = floor(Fraction(m * (o.price - 100), 100))
                pnl: dict[tuple[int, int], int] = {}
                backer, layer = (account, o.account) if back else (o.account, account)
                for r in self.runners:
                    _add(pnl, backer, r, win if r == runner else -m)
                    _add(pnl, layer, r, -pay if r == runner else m)
                    _add(pnl, HOUSE, r, -(win - pay) if r == runner else 0)
                trades.append(XTrade(o.order_id, m, m, pnl))
                o.remaining -= m
                taker.remaining -= m
                continue
            got = self._ring(taker, makers, back, left_out)
            trades.extend(got)
        self.orders[taker.order_id] = taker
        return trades, stp

    def _best(self, taker: XOrder, left_out: set[int]) -> tuple[str, list[XOrder]] | None:
        back = taker.side == "BACK"
        live = [o for o in self.resting() if o.order_id not in left_out]
        cands: list[tuple[Fraction, int, tuple[int, ...], str, list[XOrder]]] = []
        for o in live:
            if o.runner == taker.runner and o.side != taker.side:
                if (o.price >= taker.price) if back else (o.price <= taker.price):
                    cands.append((Fraction(o.price, 100), o.order_id, (o.order_id,), "direct", [o]))
        pools = []
        for r in self.runners:
            if r != taker.runner:
                pool = [o for o in live if o.runner == r and o.side == taker.side]
                best = (min if back else max)((o.price for o in pool), default=0)
                pools.append([o for o in pool if o.price == best])  # b_j: the best price (§7)
        for combo in itertools.product(*pools):
            s = sum(Fraction(100, o.price) for o in combo)
            if s >= 1 and not back:
                continue
            e = 1 / (1 - s) if s < 1 else Fraction(taker.price, 100)
            if (e >= Fraction(taker.price, 100)) if back else (e <= Fraction(taker.price, 100)):
                ids = tuple(o.order_id for o in combo)
                cands.append((e, max(ids), ids, "ring", list(combo)))
        if not cands:
            return None
        cands.sort(key=lambda c: ((-c[0]) if back else c[0], c[1], c[2]))
        return cands[0][3], cands[0][4]

    def _ring(self, taker: XOrder, makers: list[XOrder], back: bool, left_out: set[int]) -> list[XTrade]:
        n = len(makers)
        b = [Fraction(o.price, 100) for o in makers]
        s = sum(1 / bj for bj in b)
        # makers get y_j = f·P/b_j; f = 1 unless capped (Σ ≥ 1: taker odds its limit, makers share the rest)
        e = 1 / (1 - s) if s < 1 else Fraction(taker.price, 100)
        f = Fraction(1) if s < 1 else (1 - 1 / e) / s
        anchor = b.index(min(b))  # the lowest price, first in market order on a tie
        bounds = []
        for j, o in enumerate(makers):
            if j == anchor:
                bounds.append(o.remaining)
            elif back:  # ⌊y_j⌋ ≤ remaining  ⟺  y_j < remaining + 1
                bounds.append(ceil((o.remaining + 1) * b[j] / b[anchor]) - 1)
            else:  # ⌈u_j⌉ ≤ remaining  ⟺  u_j ≤ remaining
                bounds.append(floor(o.remaining * b[j] / b[anchor]))
        k = min(bounds)
        taker_bound = floor(taker.remaining * e * f / b[anchor])  # x = P/e with P = k·b_a/f
        if taker_bound < k:
            k, skip = taker_bound, anchor
        else:
            skip = bounds.index(k)
        pot = k * b[anchor] / f
        y = [f * pot / bj for bj in b]
        x = pot - sum(y)
        if k < 1 or x < 1 or min(y) < 1 or (n > 1 and floor(x) < n):
            left_out.add(makers[skip].order_id)
            return []
        a = taker.runner
        rids = [o.runner for o in makers]
        out: list[XTrade] = []
        if back:
            stakes = [floor(v) for v in y]
            wins = [ceil(pot - v) for v in y]
            t = floor(x)
            top_up = ceil(sum(y)) - sum(stakes)
            sizes = _split(t, stakes)
            for j, o in enumerate(makers):
                pnl: dict[tuple[int, int], int] = {}
                taker_if_j = -(t + sum(stakes) - stakes[j])  # what the taker pays if j wins
                for r in self.runners:
                    _add(pnl, o.account, r, wins[j] if r == rids[j] else -stakes[j])
                    _add(pnl, taker.account, r, taker_if_j if r == rids[j] else stakes[j])
                    _add(pnl, HOUSE, r, -(wins[j] + taker_if_j) if r == rids[j] else 0)
                    if j == 0 and r == a:
                        _add(pnl, taker.account, r, top_up)
                        _add(pnl, HOUSE, r, -top_up)
                out.append(XTrade(o.order_id, sizes[j], stakes[j], pnl))
                o.remaining -= stakes[j]
            taker.remaining -= t
        else:
            wins_u = [ceil(v) for v in y]
            pays = [floor(pot - v) for v in y]
            ts = ceil(x)
            liability = floor(sum(y))
            top_up = sum(wins_u) - liability
            sizes = _split(ts, wins_u)
            for j, o in enumerate(makers):
                pnl = {}
                taker_if_j = ts + sum(wins_u) - wins_u[j]  # what the taker receives if j wins
                for r in self.runners:
                    _add(pnl, o.account, r, -pays[j] if r == rids[j] else wins_u[j])
                    _add(pnl, taker.account, r, taker_if_j if r == rids[j] else -wins_u[j])
                    _add(pnl, HOUSE, r, -(taker_if_j - pays[j]) if r == rids[j] else 0)
                    if j == 0 and r == a:
                        _add(pnl, taker.account, r, top_up)
                        _add(pnl, HOUSE, r, -top_up)
                out.append(XTrade(o.order_id, sizes[j], wins_u[j], pnl))
                o.remaining -= wins_u[j]
            taker.remaining -= ts
        return out


def _split(total: int, weights: list[int]) -> list[int]:
    n = len(weights)
    if n == 1:
        return [total]
    parts = [1 + (total - n) * w // sum(weights) for w in weights]
    parts[0] += total - sum(parts)
    return parts


def _add(pnl: dict[tuple[int, int], int], account: int, outcome: int, amount: int) -> None:
    if amount:
        pnl[(account, outcome)] = pnl.get((account, outcome), 0) + amount
