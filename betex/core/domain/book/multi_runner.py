"""Direct matching (every EXCHANGE_ODDS book; the whole of MULTI_RUNNER) and its rounding.

A back at limit P takes resting lays at Q ≥ P, highest first; a lay takes resting backs at
Q ≤ P, lowest first; FIFO within a price; fills at the resting price. Size is the backer's
stake m; the layer's liability m·(Q−1) is generally fractional in cents, so the backer's
winnings round UP, the layer's payment rounds DOWN, and the house account (0) pays the
difference (≤ 1 cent) if the runner wins: nobody is filled worse than their limit and every
outcome still sums to zero.
"""

from __future__ import annotations

from betex.core.domain.book.levels import PriceLevels
from betex.core.domain.book.walk import Step, leg, walk
from betex.core.domain.events import Leg
from betex.core.domain.types import HOUSE_ACCOUNT


def direct_legs(backer: int, layer: int, runner_id: int, price: int, m: int) -> tuple[tuple[Leg, ...], int]:
    num = m * (price - 100)
    pay = num // 100
    win = -(-num // 100)
    house = win - pay
    if house:
        return (
            leg(backer, runner_id, win, m),
            leg(layer, runner_id, -pay, -m),
            leg(HOUSE_ACCOUNT, runner_id, -house, 0),
        ), house
    return (leg(backer, runner_id, win, m), leg(layer, runner_id, -pay, -m)), 0


def plan_direct(
    opposite: PriceLevels, is_back: bool, runner_id: int, limit: int, account: int, amount: int
) -> tuple[list[Step], int]:
    """Fills a back (is_back) or lay taker of `amount` would get against `opposite` (no mutation):
    a back takes lays highest first, a lay takes backs lowest first."""
    return walk(opposite, is_back, is_back, runner_id, limit, account, amount, direct_legs)


def unmatched_leg(is_back: bool, price: int, remaining: int) -> tuple[int, int]:
    """An unmatched order as if fully matched at its limit (conservative rounding)."""
    num = remaining * (price - 100)
    if is_back:
        return num // 100, remaining
    return num // -100, -remaining  # -(ceil(num/100)) : a layer's liability rounds up
