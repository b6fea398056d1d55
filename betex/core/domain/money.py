"""Money as integer minor units (cents); conversion to and from the wire's JSON numbers.

Binary markets account in 1/10000 units (basis-point shares) so that a price in bps times a
whole number of shares is exact; `UNIT_SCALE` says which scale a market's amounts use.
"""

from __future__ import annotations

from typing import Final

from betex.core.domain.ladder import _scaled

CENTS: Final = 100
BPS_UNITS: Final = 10000
DEFAULT_MIN_STAKE: Final = 100  # 1.00
DEFAULT_MAX_STAKE: Final = 100_000_000  # 1,000,000.00


def cents_from_wire(value: object) -> int | None:
    """A positive JSON number with at most 2 decimals, as cents; None if it is not one."""
    c = _scaled(value, CENTS)
    if c is None or c <= 0:
        return None
    return c


def whole_from_wire(value: object) -> int | None:
    """A positive whole number (binary share quantity); 10.0 is accepted as 10."""
    c = _scaled(value, 1)
    if c is None or c <= 0:
        return None
    return c


def to_wire(amount: int, scale: int = CENTS) -> float:
    """Integer minor units to a JSON number (10.5, not 10.50 — the wire carries numbers)."""
    return amount / scale if scale != 1 else float(amount)


def fmt_money(amount: int, scale: int = CENTS) -> str:
    if scale == CENTS:
        return f"{amount / 100:.2f}"
    return f"{amount / scale:g}"


def ceil_div(a: int, b: int) -> int:
    return -((-a) // b)
