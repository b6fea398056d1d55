"""Ring (cross) matching on N runners: the shared planner of TWO_RUNNER and CROSS_MATCHED books.

domain.md §4 and §7. Backing A at p can be funded by resting backs on every other runner (a
complete book): with b_j the best (lowest) back on runner j, the implied odds offered to the
backer of A are e = 1 / (1 − Σ 1/b_j) and the ring matches when e ≥ p. Laying A is funded by
resting lays on every other runner, best = highest, e = 1 / (1 − Σ 1/l_j), matching when e ≤ p.
When the makers' Σ 1/b_j ≥ 1 (they alone over-fund the pot; never for N = 2) e is no price:
the backer gets its own limit odds and the makers share the surplus in proportion (each better
than its own price). A lay ring needs Σ 1/l_j < 1.

Priority: the best direct order on A and the ring of every other runner's best order (FIFO
within its best level) compete by the taker's effective odds, then by time; a ring's time is its
newest participant's order id (the ring exists since that order arrived).

Stakes (one ring fill, prices in hundredths, amounts in cents, computed exactly):
- the pot P is k · b_0 where k, the stake of the *anchor* maker (the ring's maker at the lowest
  price, first in market order on a tie), is the largest whole number of cents that every
  participant's remaining size allows: maker j stakes y_j = P / b_j (rounded: ⌊y_j⌋ for a back,
  ⌈u_j⌉ for a lay, ≤ its remaining), the taker stakes x = P − Σ y_j = P / e ≤ its remaining. Whoever wins, the pot pays them: y_j · b_j = x · e = P.
- For a lay ring read "backer's stake" for stake: maker j lays j for u_j = P / l_j, the taker
  lays A for s = P / e, and its liability if A wins is Σ u_j.
- Rounding, each participant in its own favour: a backer stakes ⌊y⌋ and wins ⌈P − y⌉; a layer
  wins ⌈u⌉ and pays ⌊P − u⌋ (the taker: wins ⌈s⌉, pays ⌊Σ u_j⌋). For every outcome the house
  account 0 pays the residue, ≥ 0 and < 1 cent per participant, inside the trade events.
- Dust: a ring fill where some participant's exact amount is under one cent, or (N > 2) the
  taker's rounded amount is under one cent per maker, is not made; the plan skips the maker
  whose remaining size limits the ring (the anchor when the taker limits it) and goes on.

Events: one TradeMatched per maker of the fill. Each trade is zero-sum on every outcome by itself
(so voiding any subset keeps every outcome summing to zero): the taker's share of trade j is the
opposite of maker j's bet on runner j (backing A = laying every other runner at its price), plus,
in the first trade, the house top-up of the taker's win if A wins. With one maker (N = 2) the
taker's leg is written on A — the same P&L — which is exactly the TWO_RUNNER event of old.
The taker's matched size is split over the trades in proportion to the makers' sizes, at least one
cent each (the dust rule guarantees it), so taker_size 0 still only ever means self-trade.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from math import floor, gcd

from betex.core.domain.book.levels import Order, PriceLevels, RunnerBook
from betex.core.domain.book.multi_runner import direct_legs
from betex.core.domain.book.walk import Step, leg
from betex.core.domain.book.walk import step as make_step
from betex.core.domain.events import Leg
from betex.core.domain.types import HOUSE_ACCOUNT

# The planners take lists, not Sequences: compiled, `xs[j]` on a list is an array read, on a Sequence
# a generic __getitem__ call with a boxed index.
CAP_ODDS = 1000  # the top of the ladder: where snapshots show a ring whose Σ 1/b_j ≥ 1


def ring_odds(prices: list[int]) -> tuple[int, int]:
    """Implied odds of a ring at `prices` (hundredths) as the ratio d0/g, d0 = Π b_j and
    g = d0 · (1 − Σ 100/b_j); g ≤ 0 when Σ 1/b_j ≥ 1."""
    d0 = 1
    for b in prices:
        d0 *= b
    g = d0
    for b in prices:
        g -= 100 * (d0 // b)
    return d0, g


def ring_price(prices: list[int], is_back: bool, limit: int) -> tuple[int, int] | None:
    """The taker's effective odds from a ring, as a ratio (odds, not hundredths); None if there
    is none. A back ring whose makers' Σ 1/b_j ≥ 1 would fund any odds: the backer gets its own
    limit and the makers share the surplus. A lay ring needs Σ 1/l_j < 1."""
    d0, g = ring_odds(prices)
    if g > 0:
        return d0, g
    return (limit, 100) if is_back else None


def ring_reaches(d0: int, g: int, is_back: bool, limit: int) -> bool:
    """Does a ring with effective odds d0/g (g > 0) satisfy a taker's limit (hundredths)?"""
    return 100 * d0 >= limit * g if is_back else 100 * d0 <= limit * g


class _Live:
    """The live orders of one side in price-time priority, best price first: what a generator
    over the levels would yield, as a native object (cheaper to make and to step, compiled).
    The book must not change while it is read (planning mutates nothing)."""

    __slots__ = ("by_price", "prices", "ascending", "k", "it")

    def __init__(self, levels: PriceLevels, ascending: bool) -> None:
        self.by_price = levels.levels
        self.prices = levels.prices
        self.ascending = ascending
        self.k = 0  # levels entered so far, from the best end
        self.it: Iterator[Order] | None = None  # the current level's queue

    def next(self) -> Order | None:
        """The next live order, or None when the side is exhausted."""
        while True:
            it = self.it
            if it is not None:
                for o in it:
                    if o.remaining:
                        return o
            prices = self.prices
            k = self.k
            n = len(prices)
            if k >= n:
                self.it = None
                return None
            self.k = k + 1
            self.it = iter(self.by_price[prices[k] if self.ascending else prices[n - 1 - k]].orders)


def can_cross(book_a: RunnerBook, others: list[RunnerBook], is_back: bool, limit: int) -> bool:
    """O(N): does the best direct order or the best ring reach the taker's limit?"""
    if is_back:
        direct = book_a.lays.prices
        if direct and direct[-1] >= limit:
            return True
        best = []
        for book in others:
            ps = book.backs.prices
            if not ps:
                return False
            best.append(ps[0])
    else:
        direct = book_a.backs.prices
        if direct and direct[0] <= limit:
            return True
        best = []
        for book in others:
            ps = book.lays.prices
            if not ps:
                return False
            best.append(ps[-1])
    odds = ring_price(best, is_back, limit)
    return odds is not None and ring_reaches(odds[0], odds[1], is_back, limit)


def ring_fill(
    prices: list[int], lefts: list[int], rem: int, is_back: bool, limit: int
) -> tuple[int, int, list[int], int] | tuple[int, int]:
    """Size one ring fill: (k, den, maker amounts y_j·den, pot·den) — or, for dust,
    (-1, index of the maker to skip), or (-2, the anchor's index) when the taker's remaining is
    what limits the ring (then every ring at these prices is dust for this taker). `lefts` are the makers' remaining sizes, `rem` the taker's.

    The anchor is the maker at the lowest price (the largest stake; first in market order on a
    tie): its stake k is whole cents, so every other maker's stake moves by at most one cent per
    step of k and a maker that limits the ring is used up — a back maker stakes ⌊y_j⌋ ≤ its
    remaining, a lay maker ⌈u_j⌉ ≤ its remaining — rather than left with a remnant.
    Makers get y_j = f·P/b_j, f = 1 unless the ring is capped (Σ 1/b_j ≥ 1: the taker gets its
    limit odds p and f = (1 − 1/p) / Σ 1/b_j < 1 gives every maker better than its price)."""
    n = len(prices)
    a = 0
    for j in range(1, n):
        if prices[j] < prices[a]:
            a = j
    b0 = prices[a]
    k = -1
    lim = a
    for j in range(n):  # the first maker in market order with the smallest bound limits the ring
        if j == a:
            kj = lefts[a]
        elif is_back:
            kj = ((lefts[j] + 1) * prices[j] - 1) // b0
        else:
            kj = lefts[j] * prices[j] // b0
        if k < 0 or kj < k:
            k, lim = kj, j
    d0, g = ring_odds(prices)
    if g > 0:
        kt = rem * 100 * d0 // (b0 * g)
        if kt < k:
            k, lim = kt, a
        den = 100 * d0
        pot = k * b0 * d0
        ys = [100 * k * b0 * (d0 // b) for b in prices]
        x = k * b0 * g
    else:  # capped: exact in Fractions (rare)
        f = (1 - Fraction(100, limit)) / sum(Fraction(100, b) for b in prices)
        kt = floor(rem * f * limit / b0)  # x = P/p ≤ rem with P = k·b_0/f
        if kt < k:
            k, lim = kt, a
        pot_f = k * Fraction(b0, 100) / f
        ys_f = [f * pot_f * 100 / b for b in prices]
        den = pot_f.denominator
        for y in ys_f:
            den = den * y.denominator // gcd(den, y.denominator)
        pot = int(pot_f * den)
        ys = [int(y * den) for y in ys_f]
        x = pot - sum(ys)
    if k < 1 or x < den or min(ys) < den or (n > 1 and x // den < n):
        return (-2 if k == kt else -1), lim
    return k, den, ys, pot


def plan_cross(
    book_a: RunnerBook,
    runner_a: int,
    others: list[tuple[int, RunnerBook]],
    is_back: bool,
    limit: int,
    account: int,
    amount: int,
    other_books: list[RunnerBook] | None = None,
) -> tuple[list[Step], int]:
    """Fills an order on runner A would get, direct and by rings over `others` (every other
    runner, in market order), in priority order. Reads the books, mutates nothing.
    `other_books`: the books of `others` alone, if the caller keeps them (saves a list)."""
    if not can_cross(
        book_a, other_books if other_books is not None else [b for _, b in others], is_back, limit
    ):
        return [], 0  # the common passive case
    direct_it = _Live(book_a.lays if is_back else book_a.backs, not is_back)
    d = direct_it.next()
    ring_its = [_Live(b.backs if is_back else b.lays, is_back) for _, b in others]
    fronts = [it.next() for it in ring_its]
    rids = [r for r, _ in others]
    used: dict[int, int] = {}
    steps: list[Step] = []
    rem = amount
    ring: tuple[int, int] | None = None
    prices: list[int] = []
    dirty = True  # the fronts changed: recompute the ring's odds
    while rem:
        if d is not None and ((d.price < limit) if is_back else (d.price > limit)):
            d = None
        if dirty:
            dirty = False
            ring = None
            if None not in fronts:
                prices = [o.price for o in fronts]  # type: ignore[union-attr]
                odds = ring_price(prices, is_back, limit)
                if odds is not None and ring_reaches(odds[0], odds[1], is_back, limit):
                    ring = odds
        if ring is None:
            if d is None:
                break
            take_direct = True
        elif d is None:
            take_direct = False
        else:
            lhs = d.price * ring[1]
            rhs = 100 * ring[0]
            if lhs == rhs:
                take_direct = d.order_id < max(o.order_id for o in fronts)  # type: ignore[union-attr]
            else:
                take_direct = (lhs > rhs) if is_back else (lhs < rhs)
        if take_direct:
            maker = d
            assert maker is not None
            d = direct_it.next()
            mrem = maker.remaining
            if maker.account_id == account:
                steps.append(make_step(maker, 0, mrem, (), 0, False, maker.runner_id))
                continue
            m = rem if rem < mrem else mrem
            if is_back:
                legs, house = direct_legs(account, maker.account_id, runner_a, maker.price, m)
            else:
                legs, house = direct_legs(maker.account_id, account, runner_a, maker.price, m)
            steps.append(make_step(maker, m, m, legs, house, False, runner_a))
            rem -= m
            continue
        assert ring is not None
        makers: list[Order] = fronts  # type: ignore[assignment]
        dirty = True
        own = -1
        for j, o in enumerate(makers):
            if o.account_id == account:
                own = j
                break
        if own >= 0:
            o = makers[own]
            steps.append(make_step(o, 0, o.remaining, (), 0, False, o.runner_id))
            fronts[own] = ring_its[own].next()
            continue
        lefts = [o.remaining - used.get(o.order_id, 0) if used else o.remaining for o in makers]
        sized = ring_fill(prices, lefts, rem, is_back, limit)
        if len(sized) == 2:
            skip = sized[1]
            nxt = ring_its[skip].next()
            if sized[0] == -2:  # the taker limits: every order at this level is dust as well
                p = prices[skip]
                while nxt is not None and nxt.price == p and nxt.account_id != account:
                    nxt = ring_its[skip].next()
            fronts[skip] = nxt
            continue
        _, den, ys, pot = sized
        if is_back:  # a direct call each (not through a variable): a native call when compiled
            ring_steps, taken = _back_ring(account, runner_a, rids, makers, den, ys, pot)
        else:
            ring_steps, taken = _lay_ring(account, runner_a, rids, makers, den, ys, pot)
        steps.extend(ring_steps)
        rem -= taken
        dirty = False  # unless a maker is used up, the ring stands at the same prices
        for j, step in enumerate(ring_steps):
            o = makers[j]
            u = used.get(o.order_id, 0) + step[2]
            used[o.order_id] = u
            if u == o.remaining:
                fronts[j] = ring_its[j].next()
                dirty = True
    return steps, amount - rem


def _split(total: int, weights: list[int]) -> list[int]:
    """`total` over len(weights) trades in proportion to `weights`, each ≥ 1, the rest to the first."""
    n = len(weights)
    if n == 1:
        return [total]
    sw = sum(weights)
    parts = [1 + (total - n) * w // sw for w in weights]
    parts[0] += total - sum(parts)
    return parts


def _with_house(
    taker_leg: Leg, maker_leg: Leg, rb: int, house: int, runner_a: int, top_up: int
) -> tuple[Leg, ...]:
    """The legs of a one-maker ring fill (N = 2): taker's and maker's, then the house's residue on
    the maker's runner B and its top-up on A, each only when not zero. Built as one tuple."""
    if house:
        h = leg(HOUSE_ACCOUNT, rb, -house, 0)
        if top_up:
            return (taker_leg, maker_leg, h, leg(HOUSE_ACCOUNT, runner_a, -top_up, 0))
        return (taker_leg, maker_leg, h)
    if top_up:
        return (taker_leg, maker_leg, leg(HOUSE_ACCOUNT, runner_a, -top_up, 0))
    return (taker_leg, maker_leg)


def _ring_legs(
    taker_leg: Leg, maker_leg: Leg, rj: int, house: int, taker: int, runner_a: int, top_up: int
) -> tuple[Leg, ...]:
    """The legs of trade j of an N > 2 ring fill: taker's and maker's on runner j, the house's
    residue on j when not zero, then (the first trade only, `top_up` ≠ 0) the taker's top-up on A
    and the house's payment of it. Built as one tuple."""
    if house:
        h = leg(HOUSE_ACCOUNT, rj, -house, 0)
        if top_up:
            return (
                taker_leg,
                maker_leg,
                h,
                leg(taker, runner_a, top_up, 0),
                leg(HOUSE_ACCOUNT, runner_a, -top_up, 0),
            )
        return (taker_leg, maker_leg, h)
    if top_up:
        return (
            taker_leg,
            maker_leg,
            leg(taker, runner_a, top_up, 0),
            leg(HOUSE_ACCOUNT, runner_a, -top_up, 0),
        )
    return (taker_leg, maker_leg)


def _back_ring(
    taker: int,
    runner_a: int,
    rids: list[int],
    makers: list[Order],
    den: int,
    ys: list[int],
    pot: int,
) -> tuple[list[Step], int]:
    """Legs of one back ring fill: makers back runner j staking ⌊y_j⌋, winning ⌈P − y_j⌉."""
    n = len(ys)
    x = pot - sum(ys)
    stakes = [y // den for y in ys]
    t = x // den
    win = -(-(pot - x) // den)
    sum_s = sum(stakes)
    top_up = win - sum_s
    wins = [-(-(pot - y) // den) for y in ys]
    houses = [wins[j] - t - (sum_s - stakes[j]) for j in range(n)]
    if n == 1:
        rb = rids[0]
        legs = _with_house(
            leg(taker, runner_a, win, t), leg(makers[0].account_id, rb, wins[0], stakes[0]),
            rb, houses[0], runner_a, top_up,
        )  # fmt: skip
        return [make_step(makers[0], t, stakes[0], legs, houses[0] + top_up, True, rb)], t
    sizes = _split(t, stakes)
    steps: list[Step] = []
    for j in range(n):
        rj, h = rids[j], houses[j]
        legs = _ring_legs(
            leg(taker, rj, -(wins[j] - h), -stakes[j]), leg(makers[j].account_id, rj, wins[j], stakes[j]),
            rj, h, taker, runner_a, top_up if j == 0 else 0,
        )  # fmt: skip
        if j == 0:
            h += top_up
        steps.append(make_step(makers[j], sizes[j], stakes[j], legs, h, True, rj))
    return steps, t


def _lay_ring(
    taker: int,
    runner_a: int,
    rids: list[int],
    makers: list[Order],
    den: int,
    us: list[int],
    pot: int,
) -> tuple[list[Step], int]:
    """Legs of one lay ring fill: makers lay runner j winning ⌈u_j⌉, paying ⌊P − u_j⌋."""
    n = len(us)
    s = pot - sum(us)
    sizes_u = [-(-u // den) for u in us]
    pays = [(pot - u) // den for u in us]
    ts = -(-s // den)
    liability = (pot - s) // den
    sum_u = sum(sizes_u)
    top_up = sum_u - liability
    houses = [ts + (sum_u - sizes_u[j]) - pays[j] for j in range(n)]
    if n == 1:
        rb = rids[0]
        legs = _with_house(
            leg(taker, runner_a, -liability, -ts), leg(makers[0].account_id, rb, -pays[0], -sizes_u[0]),
            rb, houses[0], runner_a, top_up,
        )  # fmt: skip
        return [make_step(makers[0], ts, sizes_u[0], legs, houses[0] + top_up, True, rb)], ts
    sizes = _split(ts, sizes_u)
    steps: list[Step] = []
    for j in range(n):
        rj, h = rids[j], houses[j]
        legs = _ring_legs(
            leg(taker, rj, pays[j] + h, sizes_u[j]), leg(makers[j].account_id, rj, -pays[j], -sizes_u[j]),
            rj, h, taker, runner_a, top_up if j == 0 else 0,
        )  # fmt: skip
        if j == 0:
            h += top_up
        steps.append(make_step(makers[j], sizes[j], sizes_u[j], legs, h, True, rj))
    return steps, ts
