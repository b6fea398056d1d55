"""Informed trader: knows a drifting "true" probability per runner and sweeps mispriced books.

The truth is a random walk in log-odds, one step per decision (never per wall-clock tick, so
it stays deterministic). When the best resting price on one side is at least `edge` indices
better than the truth, the trader sweeps it with a FILL_OR_KILL order limited at `truth ∓ edge`
(min fill: one unit), so it takes what is there and never rests. Answered DELAYED (in-play
bet delay), the order is decided when it matures and we are not told how: its whole size stays
counted in the exposure.

A removed runner (seen in a view) leaves the truth; the others' true probabilities are
renormalised to sum to 1 (one of them wins now).
"""

from __future__ import annotations

import math

from .. import messages as m
from .base import Bot
from .book import BookView, MarketSpec, logit, renormalise, sigmoid
from .orders import Command, Place


class InformedTrader(Bot):
    kind = "informed"
    max_burst = 1

    def __init__(
        self,
        account_id: int,
        market: MarketSpec,
        seed: int,
        *,
        acks: bool = True,
        max_liability: float | None = 2000.0,
        activity: float = 0.3,
        edge: float | None = None,
        drift: float = 0.03,
        start_shift: float = 0.3,
        max_size: int | None = None,
    ) -> None:
        super().__init__(account_id, market, seed, acks=acks, max_liability=max_liability)
        binary = self.model.name == "BINARY_YES"
        self.activity = activity
        self.edge = edge if edge is not None else (60.0 if binary else 2.0)
        self.drift = drift
        self.max_size = max_size or (200 if binary else 10000)
        self.truth: dict[int, float] = {
            r: logit(market.priors.get(r, 0.5)) + self.rng.gauss(0.0, start_shift) for r in market.runner_ids
        }
        self._limit: dict[int, Place] = {}

    def true_prob(self, runner_id: int) -> float:
        return sigmoid(self.truth[runner_id])

    def true_index(self, runner_id: int) -> float:
        return self.model.prob_to_index(self.true_prob(runner_id))

    def decide(self, view: BookView | None) -> Command | None:
        rng = self.rng
        for r in self.runner_ids:
            self.truth[r] += rng.gauss(0.0, self.drift)
        if view is None or not view.is_open or rng.random() >= self.activity:
            return None
        best: tuple[float, Place] | None = None
        for r in self.runner_ids:
            rb = view.runner(r)
            if rb is None:
                continue
            t = self.true_index(r)
            ba, bb = rb.best_ask, rb.best_bid
            if ba is not None and ba <= t - self.edge:
                limit = self.model.clamp(math.floor(t - self.edge))
                avail = sum(s for i, s in rb.asks if i <= limit)
                cand = (t - ba, Place(r, self.model.bid_side, limit, avail))
                best = cand if best is None or cand[0] > best[0] else best
            if bb is not None and bb >= t + self.edge:
                limit = self.model.clamp(math.ceil(t + self.edge))
                avail = sum(s for i, s in rb.bids if i >= limit)
                cand = (bb - t, Place(r, self.model.ask_side, limit, avail))
                best = cand if best is None or cand[0] > best[0] else best
        if best is None:
            return None
        p = best[1]
        unit = self.model.min_size
        size = max(unit, min(p.size, self.max_size) // unit * unit)
        while not self.within_limit(p.runner_id, p.side, p.idx, size):
            size = size // 2 // unit * unit
            if size < unit:
                return None
        return Place(p.runner_id, p.side, p.idx, size, time_in_force="FILL_OR_KILL", min_fill_size=unit)

    def on_issued(self, corr: int, cmd: Command) -> None:
        if type(cmd) is Place:
            self.exposure.add(cmd.runner_id, cmd.side, cmd.idx, cmd.size)
            if self.acks:
                self._limit[corr] = cmd

    def handle_reply(self, corr: int, cmd: Command, reply: m.Reply, err: m.ErrorInfo | None) -> None:
        p = self._limit.pop(corr, None)
        if p is None:
            return
        matched = self.model.from_wire_size(reply.size_matched) if isinstance(reply, m.OrderResponse) else 0
        if err is not None:
            matched = 0
        elif isinstance(reply, m.OrderResponse) and reply.status == "DELAYED":
            return  # it may fill up to its size when it matures
        # FILL_OR_KILL never rests: only the matched part stays at risk
        self.exposure.add(p.runner_id, p.side, p.idx, p.size - matched, -1)

    def on_runner_removed(self, runner_id: int, view: BookView | None) -> None:
        probs = {r: sigmoid(t) for r, t in self.truth.items()}
        self.truth = {r: logit(p) for r, p in renormalise(probs, self.runner_ids).items()}

    def handle_lost(self, lost: list[tuple[int, Command]]) -> None:
        for corr, _ in lost:
            self._limit.pop(corr, None)

    def on_risk(self, if_win_cents: dict[int, float]) -> None:
        if not self.acks:
            self.exposure.base = dict(if_win_cents)
            self.exposure.reset()
