"""BINARY_YES books: one YES contract priced in basis points, quantity in whole shares.

A buy at p takes resting sells at ≤ p (lowest first), a sell takes buys at ≥ p (highest
first). Amounts are exact in 1/10000 units (bps × shares), so no rounding and no house leg:
the buyer pays p per share and receives 10000 if YES wins; the seller the reverse.
"""

from __future__ import annotations

from betex.core.domain.book.levels import PriceLevels
from betex.core.domain.book.walk import Step, leg, walk
from betex.core.domain.events import Leg
from betex.core.domain.ladder import BPS_ONE


def binary_legs(buyer: int, seller: int, runner_id: int, price: int, q: int) -> tuple[Leg, ...]:
    win = q * (BPS_ONE - price)
    lose = q * price
    return (leg(buyer, runner_id, win, lose), leg(seller, runner_id, -win, -lose))


def _legs_and_house(
    buyer: int, seller: int, runner_id: int, price: int, q: int
) -> tuple[tuple[Leg, ...], int]:
    return binary_legs(buyer, seller, runner_id, price, q), 0


def plan_binary(
    opposite: PriceLevels, is_buy: bool, runner_id: int, limit: int, account: int, amount: int
) -> tuple[list[Step], int]:
    """A buy takes sells lowest first, a sell takes buys highest first (no mutation)."""
    return walk(opposite, not is_buy, is_buy, runner_id, limit, account, amount, _legs_and_house)


def unmatched_leg(is_buy: bool, price: int, remaining: int) -> tuple[int, int]:
    win = remaining * (BPS_ONE - price)
    lose = remaining * price
    return (win, lose) if is_buy else (-win, -lose)
