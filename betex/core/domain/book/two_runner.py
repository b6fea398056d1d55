"""TWO_RUNNER books: direct matching plus implied matching across the two runners — the N = 2
case of the ring planner in `cross.py`.

Backing A at p is laying B at p/(p−1). So a back on A also takes resting backs on B at odds
b with 1/p + 1/b ≥ 1 (taker's effective odds e = b/(b−1) ≥ p), and a lay on A takes resting
lays on B with 1/p + 1/b ≤ 1. Direct and implied candidates compete by the taker's effective
odds, then by time (order id). Implied fills are at the resting order's price b.

Rounding (amounts are computed exactly, then rounded to cents in the participants' favour,
the house paying the residue of at most 1 cent):
- back A (taker, stake x) vs back B at b (maker, stake y): x = y·(b−1). The taker stakes
  ⌊x⌋ and wins y; the maker stakes y and wins ⌈x⌉; the house pays ⌈x⌉−⌊x⌋ if B wins.
- lay A (taker, backer's stake s) vs lay B at b (maker, stake t): s = t·(b−1). The taker's
  liability is t and it wins ⌈s⌉; the maker's liability is ⌊s⌋ and it wins t; the house pays
  ⌈s⌉−⌊s⌋ if B wins.
A candidate whose exact amounts round to less than one cent on either side ("dust") is
skipped, so a crossed pair of orders can remain only when one side cannot fund one cent.
These are exactly the ring rules of `cross.py` with one maker (the anchor, whose stake is whole
cents); tests/core/oracle_two_runner.py keeps the former standalone planner, and a differential
test proves the two plan identical steps.
"""

from __future__ import annotations

from betex.core.domain.book.cross import plan_cross
from betex.core.domain.book.levels import RunnerBook
from betex.core.domain.book.walk import Step


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
    return plan_cross(book_a, runner_a, [(runner_b, book_b)], is_back, limit, account, amount)
