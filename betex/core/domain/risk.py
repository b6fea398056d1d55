"""Per-account, per-market exposure from trade legs (domain.md §5), kept incrementally.

For an account, with W_r / L_r the summed `win` / `lose` of its legs on runner r:
``ifWin_r = W_r - Σ_{s≠r} L_s = W_r + L_r - ΣL``. Updating is O(1) per leg; a worst case is
O(runners). BINARY_YES markets have two outcomes: the YES runner and `NO_OUTCOME`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from betex.core.domain.types import NO_OUTCOME


class Exposure:
    """Summed legs of one account in one market."""

    __slots__ = ("win", "lose", "total_lose")

    def __init__(self) -> None:
        self.win: dict[int, int] = {}
        self.lose: dict[int, int] = {}
        self.total_lose = 0

    def add(self, runner_id: int, win: int, lose: int, sign: int = 1) -> None:
        """Add (sign=1) or remove (sign=-1) one leg."""
        w = self.win
        lo = self.lose
        w[runner_id] = w.get(runner_id, 0) + sign * win
        lo[runner_id] = lo.get(runner_id, 0) + sign * lose
        self.total_lose += sign * lose

    def if_win(self, runner_id: int) -> int:
        """P&L if `runner_id` wins (NO_OUTCOME: if none of the runners wins, i.e. binary NO)."""
        if runner_id == NO_OUTCOME:
            return -self.total_lose
        return self.win.get(runner_id, 0) + self.lose.get(runner_id, 0) - self.total_lose

    def outcomes(self, outcomes: Iterable[int]) -> dict[int, int]:
        return {r: self.if_win(r) for r in outcomes}

    def worst_case(self, outcomes: Iterable[int]) -> int:
        return min((self.if_win(r) for r in outcomes), default=0)

    def is_empty(self) -> bool:
        return self.total_lose == 0 and not any(self.win.values())

    def copy(self) -> Exposure:
        e = Exposure()
        e.win = dict(self.win)
        e.lose = dict(self.lose)
        e.total_lose = self.total_lose
        return e


def settle_pnl(
    exposure: Exposure, winners: Sequence[int], legs_by_runner: dict[int, list[tuple[int, int]]]
) -> int:
    """Settled P&L of one account.

    One winner: exactly ``if_win``. A dead heat of k winners divides a winning leg's payout
    (stake + winnings) by k, rounded up (in the participant's favour, as trade rounding is); the
    house account's settled P&L is minus the sum of everyone else's, so the market sums to zero.
    """
    if len(winners) == 1:
        return exposure.if_win(winners[0])
    if not winners:
        return exposure.if_win(NO_OUTCOME)
    k = len(winners)
    winset = set(winners)
    pnl = 0
    for runner_id, legs in legs_by_runner.items():
        for win, lose in legs:
            if runner_id in winset:
                pnl += -((-(win + lose)) // k) - lose
            else:
                pnl -= lose
    return pnl
