"""Oracle: the TWO_RUNNER planner exactly as it was before cross.py (commit 8dc7a8f), kept verbatim
so a differential test proves the shared ring planner reproduces it step for step."""

from __future__ import annotations

from collections.abc import Iterator

from betex.core.domain.book.levels import Order, PriceLevels, RunnerBook
from betex.core.domain.book.multi_runner import Step, direct_legs
from betex.core.domain.events import Leg
from betex.core.domain.types import HOUSE_ACCOUNT

# Candidate: (effective odds numerator, denominator — in hundredths —, maker, implied)
_Cand = tuple[int, int, Order, bool]


def _direct(opp: PriceLevels, is_back: bool, limit: int) -> Iterator[_Cand]:
    for price, level in opp.descending() if is_back else opp.ascending():
        if (price < limit) if is_back else (price > limit):
            return
        for o in level.live():
            yield price, 1, o, False


def _implied(opp_other: PriceLevels, is_back: bool, limit: int) -> Iterator[_Cand]:
    # back A ← backs on B, ascending b (higher effective odds first);
    # lay A ← lays on B, descending b (lower effective odds first).
    for b, level in opp_other.ascending() if is_back else opp_other.descending():
        d = b - 100
        if (100 * b < limit * d) if is_back else (100 * b > limit * d):
            return
        for o in level.live():
            yield 100 * b, d, o, True


def _merge(a: Iterator[_Cand], b: Iterator[_Cand], is_back: bool) -> Iterator[_Cand]:
    """Merge two priority-ordered candidate streams by effective odds, then order id."""
    x = next(a, None)
    y = next(b, None)
    while x is not None and y is not None:
        lhs = x[0] * y[1]
        rhs = y[0] * x[1]
        if lhs == rhs:
            take_x = x[2].order_id < y[2].order_id
        else:
            take_x = (lhs > rhs) if is_back else (lhs < rhs)
        if take_x:
            yield x
            x = next(a, None)
        else:
            yield y
            y = next(b, None)
    while x is not None:
        yield x
        x = next(a, None)
    while y is not None:
        yield y
        y = next(b, None)


def _can_cross(book_a: RunnerBook, book_b: RunnerBook, is_back: bool, limit: int) -> bool:
    """O(1): does the best direct or the best implied candidate reach the limit?"""
    if is_back:
        direct, other = book_a.lays.prices, book_b.backs.prices
        if direct and direct[-1] >= limit:
            return True
        return bool(other) and 100 * other[0] >= limit * (other[0] - 100)
    direct, other = book_a.backs.prices, book_b.lays.prices
    if direct and direct[0] <= limit:
        return True
    return bool(other) and 100 * other[-1] <= limit * (other[-1] - 100)


def implied_back_legs(
    taker: int, maker: int, runner_a: int, runner_b: int, b: int, y: int
) -> tuple[int, tuple[Leg, ...], int]:
    """Back A (taker) against back B at b with maker stake y: (taker stake, legs, house)."""
    num = y * (b - 100)
    x_t = num // 100
    x_c = -(-num // 100)
    house = x_c - x_t
    legs: tuple[Leg, ...] = (Leg(taker, runner_a, y, x_t), Leg(maker, runner_b, x_c, y))
    if house:
        legs += (Leg(HOUSE_ACCOUNT, runner_b, -house, 0),)
    return x_t, legs, house


def implied_lay_legs(
    taker: int, maker: int, runner_a: int, runner_b: int, b: int, t: int
) -> tuple[int, tuple[Leg, ...], int]:
    """Lay A (taker) against lay B at b with maker stake t: (taker size, legs, house)."""
    num = t * (b - 100)
    s_f = num // 100
    s_c = -(-num // 100)
    house = s_c - s_f
    legs: tuple[Leg, ...] = (Leg(taker, runner_a, -t, -s_c), Leg(maker, runner_b, -s_f, -t))
    if house:
        legs += (Leg(HOUSE_ACCOUNT, runner_b, -house, 0),)
    return s_c, legs, house


def plan_two_runner(
    book_a: RunnerBook,
    book_b: RunnerBook,
    is_back: bool,
    runner_a: int,
    runner_b: int,
    limit: int,
    account: int,
    amount: int,
) -> tuple[list[Step], int]:
    """Fills an order on runner A would get, direct and implied, in priority order."""
    if not _can_cross(book_a, book_b, is_back, limit):
        return [], 0  # the common passive case: no generators needed
    if is_back:
        cands = _merge(_direct(book_a.lays, True, limit), _implied(book_b.backs, True, limit), True)
    else:
        cands = _merge(_direct(book_a.backs, False, limit), _implied(book_b.lays, False, limit), False)
    steps: list[Step] = []
    rem = amount
    for num, den, maker, implied in cands:
        mrem = maker.remaining
        if maker.account_id == account:
            steps.append((maker, 0, mrem, (), 0, False, maker.runner_id))
            continue
        if not implied:
            m = rem if rem < mrem else mrem
            if is_back:
                legs, house = direct_legs(account, maker.account_id, runner_a, num, m)
            else:
                legs, house = direct_legs(maker.account_id, account, runner_a, num, m)
            steps.append((maker, m, m, legs, house, False, runner_a))
            rem -= m
        else:
            # A maker may absorb the taker in several rounded fills: after the first, the
            # taker's rounding leftover can still fund a whole cent against the same maker.
            d = den
            left = mrem
            while True:
                k = rem * 100 // d
                mk = left if left < k else k
                if mk * d < 100:
                    break  # dust: less than one cent on the taker's side
                if is_back:
                    tk, legs, house = implied_back_legs(
                        account, maker.account_id, runner_a, runner_b, maker.price, mk
                    )
                else:
                    tk, legs, house = implied_lay_legs(
                        account, maker.account_id, runner_a, runner_b, maker.price, mk
                    )
                steps.append((maker, tk, mk, legs, house, True, runner_b))
                rem -= tk
                left -= mk
                if not rem or not left:
                    break
        if not rem:
            break
    return steps, amount - rem
