"""The Betfair "classic" odds ladder: 350 ticks from 1.01 to 1000, held as integer hundredths.

Odds never travel as floats inside the engine: 2.5 is 250. A price off the ladder is an error,
never rounded silently.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Final, cast

# (band start, band end, increment), all in hundredths.
_BANDS: tuple[tuple[int, int, int], ...] = (
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


def _build() -> tuple[int, ...]:
    ticks = [101]
    for start, end, inc in _BANDS:
        p = max(start, ticks[-1])
        while p < end:
            p += inc
            ticks.append(p)
    return tuple(ticks)


TICKS: Final[tuple[int, ...]] = _build()
"""Every ladder price in hundredths, ascending. ``len(TICKS) == 350``."""

TICK_INDEX: Final[dict[int, int]] = {p: i for i, p in enumerate(TICKS)}
MIN_ODDS = TICKS[0]
MAX_ODDS = TICKS[-1]

# Binary markets: probability in basis points on a 1 bp tick.
MIN_BPS: Final = 1
MAX_BPS: Final = 9999
BPS_ONE: Final = 10000


def is_valid_odds(hundredths: int) -> bool:
    return hundredths in TICK_INDEX


def is_valid_bps(bps: int) -> bool:
    return MIN_BPS <= bps <= MAX_BPS


def tick_index(hundredths: int) -> int:
    """Index of a ladder price; raises KeyError if the price is off the ladder."""
    return TICK_INDEX[hundredths]


def next_tick(hundredths: int, n: int = 1) -> int | None:
    """The price ``n`` ticks above (or below, for negative n); None past either end."""
    i = TICK_INDEX[hundredths] + n
    return TICKS[i] if 0 <= i < len(TICKS) else None


def prev_tick(hundredths: int, n: int = 1) -> int | None:
    return next_tick(hundredths, -n)


def ticks_between(a: int, b: int) -> int:
    """Signed number of ticks from ``a`` to ``b``."""
    return TICK_INDEX[b] - TICK_INDEX[a]


def floor_tick_ratio(num: int, den: int) -> int | None:
    """Highest ladder price ≤ num/den (odds as an exact ratio); None if below the ladder."""
    # p/100 <= num/den  <=>  p*den <= num*100 ; TICKS is sorted so bisect on the exact bound.
    i = bisect_right(TICKS, (num * 100) // den) - 1
    return TICKS[i] if i >= 0 else None


def ceil_tick_ratio(num: int, den: int) -> int | None:
    """Lowest ladder price ≥ num/den; None if above the ladder."""
    bound = -((-num * 100) // den)  # ceil(num*100/den)
    i = bisect_left(TICKS, bound)
    return TICKS[i] if i < len(TICKS) else None


def odds_from_wire(value: object) -> int | None:
    """Decimal odds from JSON to hundredths; None if not a number with ≤ 2 decimals."""
    return _scaled(value, 100)


_INF: Final = float("inf")


def _scaled(value: object, scale: int) -> int | None:
    """`value × scale` as an int when it is (within float noise) whole; None for anything else.

    Exact types only: JSON gives int and float, and a bool must not pass as 1.
    """
    t = type(value)
    if t is int:
        return cast(int, value) * scale
    if t is not float:
        return None
    f = cast(float, value)
    if f != f or f == _INF or f == -_INF:
        return None
    scaled = f * scale
    r = round(scaled)
    a = scaled if scaled >= 0 else -scaled
    if abs(scaled - r) > 1e-6 * (a if a > 1.0 else 1.0):
        return None
    return r


def fmt_odds(hundredths: int) -> str:
    return f"{hundredths / 100:g}"
