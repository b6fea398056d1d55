"""The price-time walk shared by direct matching (`multi_runner.py`) and binary books (`binary.py`).

A taker walks the opposite side from its best price towards its limit, FIFO within a price, and
each resting order it meets becomes one `Step`. A step against the taker's own order is a
self-trade-prevention step (`taker_size == 0`): the engine cancels that maker's remainder and
the walk goes on. Planning never mutates the book; the engine emits the steps as events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

from betex.core.domain.book.levels import Order, PriceLevels
from betex.core.domain.events import Leg

# legs(first, second, runner_id, price, amount) -> (legs, house): `first` is the backer (or buyer).
LegsOf = Callable[[int, int, int, int, int], tuple[tuple[Leg, ...], int]]


class Step(NamedTuple):
    """One fill (or self-trade cancel) of a plan; `implied` steps come from the TWO_RUNNER merge."""

    maker: Order
    taker_size: int  # 0: self-trade prevention, cancel the maker's remainder
    maker_size: int
    legs: tuple[Leg, ...]
    house: int
    implied: bool
    maker_runner_id: int


# A NamedTuple's own __new__ is interpreted Python; tuple.__new__ builds the same value directly.
new_tuple: Final = tuple.__new__
_STEP: Final = Step
_LEG: Final = Leg


NO_STEPS: Final[list[Step]] = []
"""The plan of an order that crosses nothing. Shared: callers only read a plan, never change it."""


def leg(account_id: int, runner_id: int, win: int, lose: int) -> Leg:
    """`Leg(...)`, built the fast way."""
    result: Leg = new_tuple(_LEG, (account_id, runner_id, win, lose))
    return result


def step(
    maker: Order,
    taker_size: int,
    maker_size: int,
    legs: tuple[Leg, ...],
    house: int,
    implied: bool,
    runner: int,
) -> Step:
    """`Step(...)`, built the fast way."""
    result: Step = new_tuple(_STEP, (maker, taker_size, maker_size, legs, house, implied, runner))
    return result


def walk(
    opposite: PriceLevels,
    descending: bool,
    taker_first: bool,
    runner_id: int,
    limit: int,
    account: int,
    amount: int,
    legs_of: LegsOf,
) -> tuple[list[Step], int]:
    """Fills a taker of `amount` at `limit` would get against `opposite` (no mutation).

    `descending`: take the highest prices first and stop below `limit` (a back taking lays, a
    sell taking buys); otherwise lowest first, stopping above it. `taker_first`: the taker is
    the backer/buyer, the first account `legs_of` takes. Returns (steps, fillable amount).
    """
    prices = opposite.prices
    if not prices or ((prices[-1] < limit) if descending else (prices[0] > limit)):
        return NO_STEPS, 0  # the common passive case allocates nothing
    steps: list[Step] = []
    levels = opposite.levels
    rem = amount
    for price in reversed(prices) if descending else prices:
        if (price < limit) if descending else (price > limit):
            break
        for maker in levels[price].orders:
            mrem = maker.remaining
            if not mrem:
                continue
            maker_account = maker.account_id
            if maker_account == account:
                steps.append(step(maker, 0, mrem, (), 0, False, runner_id))
                continue
            q = rem if rem < mrem else mrem
            if taker_first:
                legs, house = legs_of(account, maker_account, runner_id, price, q)
            else:
                legs, house = legs_of(maker_account, account, runner_id, price, q)
            steps.append(step(maker, q, q, legs, house, False, runner_id))
            rem -= q
            if not rem:
                return steps, amount
    return steps, amount - rem
