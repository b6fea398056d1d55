"""A deliberately naive reference matcher, written from domain.md §1, §3 and §4 (not from the engine).

It keeps every order in one flat list and, for each incoming order, repeatedly sorts *all* resting
orders that could match it and takes the best one, until the order is filled or nothing crossing
is left. Slow and obvious on purpose: the property tests compare the engine against it.

Scope: one market in `OPEN` state, `PLACE_ORDER` (GTC and FILL_OR_KILL with `min_fill_size`),
`CANCEL_ORDER` (with `size_reduction`), `CANCEL_ALL` and `REPLACE_ORDER`. Book kinds:
`MULTI_RUNNER` and `BINARY_YES` (direct matching only) and `TWO_RUNNER` (direct + implied).

Rounding, as documented for the engine (book/multi_runner.py, book/two_runner.py, book/binary.py):
- direct odds trade of backer's stake m at price q: the backer wins ⌈m(q−1)⌉, the layer pays
  ⌊m(q−1)⌋, the house account 0 pays the difference (≤ 1 cent) if the runner wins;
- implied back A (taker) vs back B at b (maker stake y): the exact amount x = y(b−1) must not
  exceed the taker's remaining stake; the taker stakes ⌊x⌋ and wins y, the maker stakes y and wins
  ⌈x⌉, the house pays ⌈x⌉−⌊x⌋ if B wins;
- implied lay A (taker, backer's stake s) vs lay B at b (maker stake t): s = t(b−1) ≤ the taker's
  remaining; the taker's liability is t and it wins ⌈s⌉ (its matched size), the maker's liability
  is ⌊s⌋ and it wins t, the house pays ⌈s⌉−⌊s⌋ if B wins;
- an implied candidate whose amounts round to less than one cent on either side is skipped (dust);
- binary: exact in 1/10000 units, buyer pays p per share and receives 10000 if YES.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

HOUSE = 0
BPS_ONE = 10000

# domain.md §1, the classic ladder: (from, to, step) in hundredths.
_SPEC_BANDS = (
    (101, 200, 1),
    (200, 300, 2),
    (300, 400, 5),
    (400, 600, 10),
    (600, 1000, 20),
    (1000, 2000, 50),
    (2000, 3000, 100),
    (3000, 5000, 200),
    (5000, 10000, 500),
    (10000, 100000, 1000),
)


def spec_ladder() -> list[int]:
    prices = {101}
    for lo, hi, step in _SPEC_BANDS:
        prices.update(range(lo, hi + 1, step))
    return sorted(prices)


LADDER = frozenset(spec_ladder())


@dataclass
class RefOrder:
    order_id: int
    account: int
    runner: int
    side: str
    price: int
    size: int
    persist: bool = False
    matched: int = 0
    remaining: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class RefTrade:
    maker: int
    taker: int
    price: int
    taker_size: int
    maker_size: int
    implied: bool
    legs: tuple[tuple[int, int, int, int], ...]  # sorted (account, runner, win, lose)


# Observable happenings, in order: ("ACCEPT", order_id), ("TRADE", RefTrade),
# ("CANCEL", order_id, size, reason). A command answers ("OK", happenings) or ("REJECT", code).


@dataclass
class ReferenceMatcher:
    kind: str  # "MULTI_RUNNER" | "TWO_RUNNER" | "BINARY_YES"
    runners: tuple[int, ...]
    min_stake: int = 100
    max_stake: int = 100_000_000
    orders: dict[int, RefOrder] = field(default_factory=dict)
    next_id: int = 1

    # ----------------------------------------------------------------- commands

    def place(
        self,
        account: int,
        runner: int,
        side: str,
        price: int,
        size: int,
        persist: bool = False,
        fok: bool = False,
        min_fill: int = 0,
    ) -> tuple[str, object]:
        bad = self._validate(runner, side, price, size)
        if bad:
            return ("REJECT", bad)
        if fok:
            fillable = self._match(account, runner, side, price, size, dry=True)
            if fillable < (min_fill or size):
                return ("REJECT", "FOK_NOT_FILLED")
        out: list[tuple[object, ...]] = []
        o = self._accept(account, runner, side, price, size, persist, out)
        if fok and o.remaining:
            self._cancel(o, o.remaining, "FOK_UNFILLED", out)
        return ("OK", out)

    def cancel(self, order_id: int, account: int, reduction: int = 0) -> tuple[str, object]:
        o = self.orders.get(order_id)
        if o is None:
            return ("REJECT", "INVALID_ORDER")
        if o.account != account:
            return ("REJECT", "NOT_OWNER")
        if o.remaining == 0:
            return ("REJECT", "INVALID_ORDER")
        amount = o.remaining if reduction == 0 else min(reduction, o.remaining)
        out: list[tuple[object, ...]] = []
        self._cancel(o, amount, "USER", out)
        return ("OK", out)

    def cancel_all(self, account: int) -> tuple[str, object]:
        out: list[tuple[object, ...]] = []
        for o in sorted(self.orders.values(), key=lambda o: o.order_id):
            if o.account == account and o.remaining:
                self._cancel(o, o.remaining, "USER", out)
        return ("OK", out)

    def replace(self, order_id: int, account: int, new_price: int) -> tuple[str, object]:
        o = self.orders.get(order_id)
        if o is None:
            return ("REJECT", "INVALID_ORDER")
        if o.account != account:
            return ("REJECT", "NOT_OWNER")
        if o.remaining == 0:
            return ("REJECT", "INVALID_ORDER")
        if not self._price_ok(new_price):
            return ("REJECT", "INVALID_ODDS")
        out: list[tuple[object, ...]] = []
        amount = o.remaining
        self._cancel(o, amount, "REPLACED", out)
        self._accept(o.account, o.runner, o.side, new_price, amount, o.persist, out)
        return ("OK", out)

    # ----------------------------------------------------------------- matching

    def _accept(
        self,
        account: int,
        runner: int,
        side: str,
        price: int,
        size: int,
        persist: bool,
        out: list[tuple[object, ...]],
    ) -> RefOrder:
        o = RefOrder(self.next_id, account, runner, side, price, size, persist, remaining=size)
        self.next_id += 1
        self.orders[o.order_id] = o
        out.append(("ACCEPT", o.order_id))
        self._match(account, runner, side, price, size, dry=False, taker=o, out=out)
        return o

    def _match(
        self,
        account: int,
        runner: int,
        side: str,
        price: int,
        size: int,
        dry: bool,
        taker: RefOrder | None = None,
        out: list[tuple[object, ...]] | None = None,
    ) -> int:
        """Fill against the book. dry=True: only count what would fill (nothing changes)."""
        rem = size
        used: dict[int, int] = {}  # dry run: maker id -> amount taken so far
        while rem > 0:
            chosen = None
            for _key, m, implied in self._candidates(runner, side, price):
                mrem = m.remaining - used.get(m.order_id, 0)
                if mrem <= 0:
                    continue
                if m.account == account:
                    if not dry:
                        assert out is not None
                        self._cancel(m, m.remaining, "SELF_TRADE", out)
                    else:
                        used[m.order_id] = m.remaining
                    continue
                amounts = self._amounts(side, m, implied, rem, mrem)
                if amounts is None:
                    continue  # implied dust
                chosen = (m, implied, amounts)
                break
            if chosen is None:
                break
            m, implied, (t_size, m_size, legs) = chosen
            rem -= t_size
            if dry:
                used[m.order_id] = used.get(m.order_id, 0) + m_size
                continue
            assert taker is not None and out is not None
            taker.remaining -= t_size
            taker.matched += t_size
            m.remaining -= m_size
            m.matched += m_size
            full_legs = tuple(sorted((a if a != "T" else taker.account, r, w, lo) for a, r, w, lo in legs))
            out.append(
                ("TRADE", RefTrade(m.order_id, taker.order_id, m.price, t_size, m_size, implied, full_legs))
            )
        return size - rem

    def _candidates(
        self, runner: int, side: str, price: int
    ) -> list[tuple[tuple[object, ...], RefOrder, bool]]:
        """Every resting order the taker could match, best first: taker's odds, then time."""
        cands: list[tuple[tuple[object, ...], RefOrder, bool]] = []
        limit = Fraction(price, 100)
        for o in self.orders.values():
            if not o.remaining:
                continue
            if self.kind == "BINARY_YES":
                if side == "BUY" and o.side == "SELL" and o.price <= price:
                    cands.append(((o.price, o.order_id), o, False))
                elif side == "SELL" and o.side == "BUY" and o.price >= price:
                    cands.append(((-o.price, o.order_id), o, False))
                continue
            if o.runner == runner:
                q = Fraction(o.price, 100)
                if side == "BACK" and o.side == "LAY" and q >= limit:
                    cands.append(((-q, o.order_id), o, False))
                elif side == "LAY" and o.side == "BACK" and q <= limit:
                    cands.append(((q, o.order_id), o, False))
            elif self.kind == "TWO_RUNNER" and o.side == side:
                b = Fraction(o.price, 100)
                eff = b / (b - 1)  # the taker's odds: backing A = laying B at b
                # back A matches backs on B with 1/p + 1/b >= 1; lay A matches lays on B with <= 1
                if side == "BACK" and 1 / limit + 1 / b >= 1:
                    cands.append(((-eff, o.order_id), o, True))
                elif side == "LAY" and 1 / limit + 1 / b <= 1:
                    cands.append(((eff, o.order_id), o, True))
        cands.sort(key=lambda c: c[0])
        return cands

    def _amounts(
        self, side: str, m: RefOrder, implied: bool, rem: int, mrem: int
    ) -> tuple[int, int, tuple[tuple[object, int, int, int], ...]] | None:
        """(taker size, maker size, legs with "T" for the taker's account), or None for dust."""
        if self.kind == "BINARY_YES":
            q = min(rem, mrem)
            p = m.price
            buyer, seller = ("T", m.account) if side == "BUY" else (m.account, "T")
            return (
                q,
                q,
                ((buyer, m.runner, q * (BPS_ONE - p), q * p), (seller, m.runner, -q * (BPS_ONE - p), -q * p)),
            )
        if not implied:
            stake = min(rem, mrem)
            exact = Fraction(stake * (m.price - 100), 100)
            win, pay = _ceil(exact), _floor(exact)
            backer, layer = ("T", m.account) if side == "BACK" else (m.account, "T")
            legs: list[tuple[object, int, int, int]] = [
                (backer, m.runner, win, stake),
                (layer, m.runner, -pay, -stake),
            ]
            if win != pay:
                legs.append((HOUSE, m.runner, -(win - pay), 0))
            return stake, stake, tuple(legs)
        b1 = Fraction(m.price - 100, 100)  # b − 1
        # largest maker stake whose exact counter-amount fits in the taker's remaining
        y = min(mrem, _floor(Fraction(rem) / b1))
        exact = y * b1
        lo, hi = _floor(exact), _ceil(exact)
        if y < 1 or lo < 1:
            return None
        taker_runner = next(r for r in self.runners if r != m.runner)
        if side == "BACK":
            legs = [("T", taker_runner, y, lo), (m.account, m.runner, hi, y)]
            taker_size = lo
        else:
            legs = [("T", taker_runner, -y, -hi), (m.account, m.runner, -lo, -y)]
            taker_size = hi
        if hi != lo:
            legs.append((HOUSE, m.runner, -(hi - lo), 0))
        return taker_size, y, tuple(legs)

    # ----------------------------------------------------------------- helpers

    def _cancel(self, o: RefOrder, amount: int, reason: str, out: list[tuple[object, ...]]) -> None:
        o.remaining -= amount
        o.cancelled += amount
        out.append(("CANCEL", o.order_id, amount, reason))

    def _price_ok(self, price: int) -> bool:
        if self.kind == "BINARY_YES":
            return 1 <= price <= 9999
        return price in LADDER

    def _validate(self, runner: int, side: str, price: int, size: int) -> str | None:
        if runner not in self.runners:
            return "INVALID_RUNNER"
        sides = ("BUY", "SELL") if self.kind == "BINARY_YES" else ("BACK", "LAY")
        if side not in sides:
            return "INVALID_SIDE"
        if not self._price_ok(price):
            return "INVALID_ODDS"
        if self.kind == "BINARY_YES":
            if not 1 <= size <= self.max_stake // 100:
                return "INVALID_SIZE"
        elif not self.min_stake <= size <= self.max_stake:
            return "INVALID_SIZE"
        return None


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)
