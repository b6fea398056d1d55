"""Ladder views from per-price totals — shared by the engine and the projection.

Both keep, per runner, the resting size at each price of each side; this renders what a client
sees, including TWO_RUNNER implied ("virtual") liquidity: a resting back on B at b offers backers
of A the odds b/(b−1), shown at the highest ladder tick not above it; a resting lay on B at b
offers layers of A b/(b−1), shown at the lowest tick not below it. The size is the A-side stake
it can absorb, floored to the unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from betex.core.domain.ladder import ceil_tick_ratio, floor_tick_ratio

Totals = Mapping[int, int]  # price → resting size
Sides = tuple[Totals, Totals]  # (backs: resting BACK/BUY, lays: resting LAY/SELL)


def depth_view(
    is_binary: bool, is_two_runner: bool, runner_ids: Sequence[int], sides: Mapping[int, Sides], depth: int
) -> dict[str, Any]:
    """EXCHANGE: per runner ``(runner_id, available_to_back, available_to_lay)`` with levels
    ``(price, size, implied_size)`` — to back: resting lays plus implied, highest first; to lay:
    resting backs plus implied, lowest first. BINARY: ``bids``/``asks`` as ``(bps, qty)``."""
    if is_binary:
        backs, lays = sides[runner_ids[0]]
        bids = sorted(backs.items(), reverse=True)[:depth]
        asks = sorted(lays.items())[:depth]
        return {"kind": "BINARY", "bids": bids, "asks": asks}
    runners = []
    for r in runner_ids:
        backs, lays = sides[r]
        atb: dict[int, list[int]] = {p: [t, 0] for p, t in lays.items()}
        atl: dict[int, list[int]] = {p: [t, 0] for p, t in backs.items()}
        if is_two_runner:
            other_backs, other_lays = sides[runner_ids[1] if r == runner_ids[0] else runner_ids[0]]
            _add_implied(atb, other_backs, floor_tick_ratio)  # back r ← back other at b
            _add_implied(atl, other_lays, ceil_tick_ratio)  # lay r ← lay other at b
        back_side = [(p, s[0], s[1]) for p, s in sorted(atb.items(), reverse=True)][:depth]
        lay_side = [(p, s[0], s[1]) for p, s in sorted(atl.items())][:depth]
        runners.append((r, back_side, lay_side))
    return {"kind": "EXCHANGE", "runners": runners}


def _add_implied(levels: dict[int, list[int]], other: Totals, to_tick: Any) -> None:
    for b, total in other.items():
        tick = to_tick(b, b - 100)
        size = total * (b - 100) // 100
        if tick is not None and size > 0:
            slot = levels.setdefault(tick, [0, 0])
            slot[0] += size
            slot[1] += size
