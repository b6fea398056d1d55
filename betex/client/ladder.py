"""Price-ladder helpers for strategies: the next tick up or down, and snapping a price onto
the ladder, in wire units (decimal odds such as 2.52; binary prices in bps, 1..9999).

The odds ladder is Betfair's (1.01 … 1000, tick size growing with the price); the engine
refuses an off-ladder price with INVALID_ODDS, so snap before you send.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from betex.core.domain.ladder import MAX_BPS, MIN_BPS, TICK_INDEX, TICKS

MIN_ODDS = TICKS[0] / 100
MAX_ODDS = TICKS[-1] / 100


def _hundredths(price: float) -> int:
    return round(price * 100)


def on_ladder(price: float) -> bool:
    """True when `price` (decimal odds) is a ladder price."""
    h = _hundredths(price)
    return abs(h - price * 100) < 1e-6 and h in TICK_INDEX


def tick_up(price: float, n: int = 1) -> float | None:
    """The odds `n` ticks above `price` (snapped down onto the ladder first); None past 1000."""
    return tick_down(price, -n)


def tick_down(price: float, n: int = 1) -> float | None:
    """The odds `n` ticks below `price` (snapped up onto the ladder first); None below 1.01."""
    start = snap(price, "up" if n > 0 else "down")
    if start is None:
        return None
    i = TICK_INDEX[_hundredths(start)] - n
    return TICKS[i] / 100 if 0 <= i < len(TICKS) else None


def snap(price: float, direction: str = "nearest") -> float | None:
    """`price` moved onto the odds ladder: "nearest" (ties go down), "down" (the highest
    ladder price ≤ price) or "up" (the lowest ≥ price). None outside 1.01..1000 for "down"/"up"
    when there is no such price; "nearest" clamps to the ends."""
    if not math.isfinite(price):
        return None
    x = price * 100
    lo_i = bisect_right(TICKS, x + 1e-9) - 1
    hi_i = bisect_left(TICKS, x - 1e-9)
    lo = TICKS[lo_i] if lo_i >= 0 else None
    hi = TICKS[hi_i] if hi_i < len(TICKS) else None
    if direction == "down":
        return None if lo is None else lo / 100
    if direction == "up":
        return None if hi is None else hi / 100
    if direction != "nearest":
        raise ValueError(f"direction must be nearest, down or up, not {direction!r}")
    if lo is None:
        return TICKS[0] / 100
    if hi is None:
        return TICKS[-1] / 100
    return (lo if x - lo <= hi - x else hi) / 100


def snap_bps(price: float) -> int:
    """A binary price onto its 1 bp ladder (rounded, clamped to 1..9999)."""
    return min(MAX_BPS, max(MIN_BPS, round(price)))


def fmt_price(price: float | None, binary: bool = False) -> str:
    """A wire price as people read it (the TUI's ladder, `betex snapshot`): odds 2.10, 15.5, 110;
    binary basis points as a whole number; "-" for none."""
    if price is None:
        return "-"
    if binary:
        return f"{int(round(price))}"
    if price < 10:
        return f"{price:.2f}"
    if price < 100 and price != int(price):
        return f"{price:.1f}"
    return f"{price:.0f}"
