"""BINARY_YES books: one YES contract priced in basis points, quantity in whole shares.

A buy at p takes resting sells at ≤ p (lowest first), a sell takes buys at ≥ p (highest
first). Amounts are exact in 1/10000 units (bps × shares), so no rounding and no house leg:
the buyer pays p per share and receives 10000 if YES wins; the seller the reverse.
"""

from __future__ import annotations

from betex.core.domain.book.levels import PriceLevels
from betex.core.domain.book.multi_runner import Step
from betex.core.domain.events import Leg
from betex.core.domain.ladder import BPS_ONE


def binary_legs(buyer: int, seller: int, runner_id: int, price: int, q: int) -> tuple[Leg, ...]:
    win = q * (BPS_ONE - price)
    lose = q * price
    return (Leg(buyer, runner_id, win, lose), Leg(seller, runner_id, -win, -lose))


def plan_binary(
    opposite: PriceLevels, is_buy: bool, runner_id: int, limit: int, account: int, amount: int
) -> tuple[list[Step], int]:
    steps: list[Step] = []
    prices = opposite.prices
    if not prices:
        return steps, 0
    if is_buy:
        if prices[0] > limit:
            return steps, 0
        levels = opposite.ascending()
    else:
        if prices[-1] < limit:
            return steps, 0
        levels = opposite.descending()
    rem = amount
    for price, level in levels:
        if (price > limit) if is_buy else (price < limit):
            break
        for maker in level.orders:
            mrem = maker.remaining
            if not mrem:
                continue
            if maker.account_id == account:
                steps.append((maker, 0, mrem, (), 0, False, runner_id))
                continue
            q = rem if rem < mrem else mrem
            if is_buy:
                legs = binary_legs(account, maker.account_id, runner_id, price, q)
            else:
                legs = binary_legs(maker.account_id, account, runner_id, price, q)
            steps.append((maker, q, q, legs, 0, False, runner_id))
            rem -= q
            if not rem:
                return steps, amount
    return steps, amount - rem


def unmatched_leg(is_buy: bool, price: int, remaining: int) -> tuple[int, int]:
    win = remaining * (BPS_ONE - price)
    lose = remaining * price
    return (win, lose) if is_buy else (-win, -lose)
