"""Ladder views from per-price totals — shared by the engine and the projection.

Both keep, per runner, the resting size at each price of each side; this renders what a client
sees, including implied ("virtual") liquidity on TWO_RUNNER and CROSS_MATCHED books:
- two runners: a resting back on B at b offers backers of A the odds b/(b−1), shown at the
  highest ladder tick not above it; a resting lay on B at b offers layers of A b/(b−1), shown at
  the lowest tick not below it. The size is the A-side stake it can absorb, floored to the unit.
- N runners: the rings the planner (book/cross.py) would fill, walked level by level: the best
  back level of every other runner gives backers of A the odds 1/(1 − Σ 1/b_j) (the best lay
  levels give layers 1/(1 − Σ 1/l_j)) for as much A-side stake as its smallest level allows;
  that level is used up and the walk goes on with the next. Ticks are snapped in the taker's
  favour as above; a back ring whose Σ 1/b_j ≥ 1 shows at 1000 (the planner's cap), a lay ring
  whose Σ 1/l_j ≥ 1 ends the walk.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from fractions import Fraction
from typing import Any

from betex.core.domain.book.cross import CAP_ODDS, ring_odds
from betex.core.domain.ladder import ceil_tick_ratio, floor_tick_ratio

Totals = Mapping[int, int]  # price → resting size
Sides = tuple[Totals, Totals]  # (backs: resting BACK/BUY, lays: resting LAY/SELL)


def implied_book(book_type: str | None) -> bool:
    """Does a book of this type match (and so show) implied liquidity?"""
    return book_type == "TWO_RUNNER" or book_type == "CROSS_MATCHED"


def depth_view(
    is_binary: bool,
    implied: bool,
    runner_ids: Sequence[int],
    sides: Mapping[int, Sides],
    depth: int,
    removed: Collection[int] = (),
) -> dict[str, Any]:
    """EXCHANGE: per runner ``(runner_id, available_to_back, available_to_lay)`` with levels
    ``(price, size, implied_size)`` — to back: resting lays plus implied, highest first; to lay:
    resting backs plus implied, lowest first. BINARY: ``bids``/``asks`` as ``(bps, qty)``.
    `removed` runners (REMOVE_RUNNER) are listed with empty ladders and are in no ring."""
    if is_binary:
        backs, lays = sides[runner_ids[0]]
        bids = sorted(backs.items(), reverse=True)[:depth]
        asks = sorted(lays.items())[:depth]
        return {"kind": "BINARY", "bids": bids, "asks": asks}
    runners = []
    if removed:  # the active runners' ladders, with the removed ones in place, empty
        active = [r for r in runner_ids if r not in removed]
        rows = {row[0]: row for row in depth_view(False, implied, active, sides, depth)["runners"]}
        empty: list[tuple[int, int, int]] = []
        runners = [rows.get(r) or (r, empty, empty) for r in runner_ids]
        return {"kind": "EXCHANGE", "runners": runners}
    for r in runner_ids:
        backs, lays = sides[r]
        atb: dict[int, list[int]] = {p: [t, 0] for p, t in lays.items()}
        atl: dict[int, list[int]] = {p: [t, 0] for p, t in backs.items()}
        if implied and len(runner_ids) == 2:
            other_backs, other_lays = sides[runner_ids[1] if r == runner_ids[0] else runner_ids[0]]
            _add_implied(atb, other_backs, floor_tick_ratio)  # back r ← back other at b
            _add_implied(atl, other_lays, ceil_tick_ratio)  # lay r ← lay other at b
        elif implied:
            others = [sides[x] for x in runner_ids if x != r]
            _add_rings(atb, [sorted(o[0].items()) for o in others], floor_tick_ratio, depth)
            _add_rings(atl, [sorted(o[1].items(), reverse=True) for o in others], ceil_tick_ratio, depth)
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


def _add_rings(
    levels: dict[int, list[int]], others: list[list[tuple[int, int]]], to_tick: Any, depth: int
) -> None:
    """Walk the rings over `others` (each runner's levels, best first), adding up to `depth`
    implied levels: a ring at prices b_j absorbs P·(1 − Σ 1/b_j) of A-side stake, where the pot P
    is the largest every level's remaining total T_j allows (P ≤ T_j·b_j)."""
    if not all(others):
        return
    pos = [0] * len(others)
    left = [Fraction(lv[0][1]) for lv in others]
    for _ in range(depth * len(others)):
        prices = [lv[i][0] for lv, i in zip(others, pos, strict=True)]
        d0, g = ring_odds(prices)
        f = Fraction(1)
        if g <= 0:  # capped (book/cross.py): backers get CAP_ODDS, makers share the surplus
            if to_tick is not floor_tick_ratio:
                return  # a lay ring needs Σ 1/l < 1
            f = (1 - Fraction(1, CAP_ODDS)) / sum(Fraction(100, b) for b in prices)
            d0, g = CAP_ODDS, 1
        pot = min(t * b / 100 / f for t, b in zip(left, prices, strict=True))
        tick = to_tick(d0, g)
        size = int(pot * g / d0)
        if tick is not None and size > 0:
            slot = levels.setdefault(tick, [0, 0])
            slot[0] += size
            slot[1] += size
        for j, b in enumerate(prices):
            left[j] -= f * pot * 100 / b
            if left[j] <= 0:
                pos[j] += 1
                if pos[j] == len(others[j]):
                    return
                left[j] = Fraction(others[j][pos[j]][1])
