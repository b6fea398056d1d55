"""What bots see: prices as integer ladder indices, sizes as integer units, one view per snapshot.

Both market models map onto one index space so that strategies are written once:
- EXCHANGE_ODDS: index i is `TICKS[i]` (odds hundredths, 0..349); sizes are cents of stake.
- BINARY_YES: index i is `i + 1` bps (0..9998); sizes are whole shares.
In both, *bid-side* orders (LAY / BUY) rest below a fair index and *ask-side* orders (BACK /
SELL) rest above it: a bid at i matches resting asks at ≤ i, an ask at i matches resting bids
at ≥ i (domain.md §4). For odds, a higher index means a lower probability; for binary, higher.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from betex.core.domain.ladder import BPS_ONE, MAX_BPS, MIN_BPS, TICK_INDEX, TICKS

from ..messages import BinaryBook, ExchangeBook, Level, Snapshot

NO_OUTCOME = -1
"""Outcome key for "NO won" in a binary market (its only runner is YES)."""


class PriceModel:
    """Unit conversions and payoffs for one market model (see module docstring)."""

    name: str
    bid_side: str
    ask_side: str
    n_ticks: int
    min_size: int
    """Smallest order size in units (1.00 of stake, or one share)."""

    def to_wire_price(self, idx: int) -> float | int:
        raise NotImplementedError

    def from_wire_price(self, price: float) -> int | None:
        raise NotImplementedError

    def to_wire_size(self, units: int) -> float | int:
        raise NotImplementedError

    def from_wire_size(self, size: float) -> int:
        raise NotImplementedError

    def prob_to_index(self, prob: float) -> float:
        """The fractional index of fair price for a win probability (clamped to the ladder)."""
        raise NotImplementedError

    def index_to_prob(self, idx: float) -> float:
        raise NotImplementedError

    def is_bid(self, side: str) -> bool:
        return side == self.bid_side

    def clamp(self, idx: int) -> int:
        return 0 if idx < 0 else self.n_ticks - 1 if idx >= self.n_ticks else idx

    def outcomes(self, runner_ids: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def payoff(self, side: str, idx: int, size: int, runner_wins: bool) -> float:
        """P&L in cents of a fully matched order on a runner if that runner wins (or not)."""
        raise NotImplementedError


class OddsModel(PriceModel):
    name = "EXCHANGE_ODDS"
    bid_side = "LAY"
    ask_side = "BACK"
    n_ticks = len(TICKS)
    min_size = 100

    def to_wire_price(self, idx: int) -> float:
        return TICKS[idx] / 100

    def from_wire_price(self, price: float) -> int | None:
        return TICK_INDEX.get(round(price * 100))

    def to_wire_size(self, units: int) -> float:
        return units / 100

    def from_wire_size(self, size: float) -> int:
        return round(size * 100)

    def prob_to_index(self, prob: float) -> float:
        h = 100.0 / min(max(prob, 1e-3), 0.999)
        if h <= TICKS[0]:
            return 0.0
        if h >= TICKS[-1]:
            return float(len(TICKS) - 1)
        i = bisect_right(TICKS, h) - 1
        lo, hi = TICKS[i], TICKS[i + 1]
        return i + (h - lo) / (hi - lo)

    def index_to_prob(self, idx: float) -> float:
        i = min(max(int(idx), 0), len(TICKS) - 1)
        if i == len(TICKS) - 1:
            return 100.0 / TICKS[i]
        frac = idx - i
        return 100.0 / (TICKS[i] + frac * (TICKS[i + 1] - TICKS[i]))

    def outcomes(self, runner_ids: tuple[int, ...]) -> tuple[int, ...]:
        return runner_ids

    def payoff(self, side: str, idx: int, size: int, runner_wins: bool) -> float:
        win = size * (TICKS[idx] - 100) / 100 if runner_wins else -float(size)
        return win if side == "BACK" else -win


class BinaryModel(PriceModel):
    name = "BINARY_YES"
    bid_side = "BUY"
    ask_side = "SELL"
    n_ticks = MAX_BPS - MIN_BPS + 1
    min_size = 1

    def to_wire_price(self, idx: int) -> int:
        return idx + MIN_BPS

    def from_wire_price(self, price: float) -> int | None:
        bps = round(price)
        return bps - MIN_BPS if MIN_BPS <= bps <= MAX_BPS else None

    def to_wire_size(self, units: int) -> int:
        return units

    def from_wire_size(self, size: float) -> int:
        return round(size)

    def prob_to_index(self, prob: float) -> float:
        return min(max(prob * BPS_ONE - MIN_BPS, 0.0), float(self.n_ticks - 1))

    def index_to_prob(self, idx: float) -> float:
        return (idx + MIN_BPS) / BPS_ONE

    def outcomes(self, runner_ids: tuple[int, ...]) -> tuple[int, ...]:
        return (*runner_ids, NO_OUTCOME)

    def payoff(self, side: str, idx: int, size: int, runner_wins: bool) -> float:
        bps = idx + MIN_BPS
        # one share pays 1.00 = 100 cents; the buyer paid bps/10000 of it
        win = size * (BPS_ONE - bps) / 100 if runner_wins else -size * bps / 100
        return win if side == "BUY" else -win


ODDS = OddsModel()
BINARY = BinaryModel()


def model_for(market_model: str) -> PriceModel:
    return BINARY if market_model == "BINARY_YES" else ODDS


@dataclass(frozen=True, slots=True)
class RunnerBook:
    """Resting depth of one runner: `bids` best (highest index) first, `asks` best (lowest) first."""

    runner_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    last_traded: int | None = None

    @property
    def best_bid(self) -> int | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0][0] if self.asks else None

    def size_at(self, bid: bool, idx: int) -> int:
        for i, s in self.bids if bid else self.asks:
            if i == idx:
                return s
        return 0


@dataclass(frozen=True, slots=True)
class BookView:
    """A snapshot in bot units. `seq` identifies it: bots re-plan only when it changes."""

    market_id: int
    seq: int
    version: int
    market_state: str
    model: PriceModel
    runners: tuple[RunnerBook, ...]
    removed: frozenset[int] = frozenset()
    """Runners the snapshot shows as REMOVED (non-runners): they take no orders and cannot win."""

    @property
    def is_open(self) -> bool:
        return self.market_state == "OPEN"

    def runner(self, runner_id: int) -> RunnerBook | None:
        for r in self.runners:
            if r.runner_id == runner_id:
                return r
        return None

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> BookView:
        model = model_for(snap.market_model)
        ltp = {
            r.runner_id: model.from_wire_price(r.last_traded_price) if r.last_traded_price else None
            for r in snap.runners
        }

        def levels(rows: tuple[Level, ...]) -> tuple[tuple[int, int], ...]:
            out = []
            for lv in rows:
                i = model.from_wire_price(lv.price)
                if i is not None:
                    out.append((i, model.from_wire_size(lv.size)))
            return tuple(out)

        book = snap.book
        if isinstance(book, BinaryBook):
            rid = snap.runners[0].runner_id if snap.runners else 1
            runners: tuple[RunnerBook, ...] = (
                RunnerBook(rid, levels(book.bids), levels(book.asks), ltp.get(rid)),
            )
        elif isinstance(book, ExchangeBook):
            # resting lays are what a backer can take (available_to_back): the bid side
            runners = tuple(
                RunnerBook(
                    r.runner_id, levels(r.available_to_back), levels(r.available_to_lay), ltp.get(r.runner_id)
                )
                for r in book.runners
            )
            missing = [r.runner_id for r in snap.runners if book.ladder(r.runner_id) is None]
            runners += tuple(RunnerBook(rid, (), (), ltp.get(rid)) for rid in missing)
        else:
            runners = tuple(RunnerBook(r.runner_id, (), (), ltp.get(r.runner_id)) for r in snap.runners)
        removed = frozenset(r.runner_id for r in snap.runners if r.removed)
        if removed:
            runners = tuple(r for r in runners if r.runner_id not in removed)
        return cls(snap.market_id, snap.seq, snap.version, snap.market_state, model, runners, removed)


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The market bots trade: its id, model, runners and the shared prior win probabilities.

    `runner_ids` are the runners active when the bots started; a runner removed later is
    noticed by each bot from its views (`Bot.runner_ids`, `Bot.priors`), not here.
    """

    market_id: int
    model: PriceModel
    runner_ids: tuple[int, ...]
    priors: dict[int, float]

    @classmethod
    def from_snapshot(cls, snap: Snapshot, priors: dict[int, float] | None = None) -> MarketSpec:
        """The market of `snap`, without its removed runners; `priors` (which may name them) are
        renormalised over the active ones."""
        runner_ids = tuple(r.runner_id for r in snap.runners if not r.removed)
        model = model_for(snap.market_model)
        if priors is None:
            return cls(snap.market_id, model, runner_ids, even_priors(runner_ids))
        if model is ODDS and len(runner_ids) < len(snap.runners):
            priors = renormalise(priors, runner_ids)
        return cls(snap.market_id, model, runner_ids, priors)


def even_priors(runner_ids: tuple[int, ...]) -> dict[int, float]:
    if len(runner_ids) <= 1:
        return {r: 0.5 for r in runner_ids}
    return {r: 1.0 / len(runner_ids) for r in runner_ids}


def renormalise(probs: dict[int, float], runner_ids: tuple[int, ...]) -> dict[int, float]:
    """`probs` restricted to `runner_ids` and scaled to sum to 1 (one winner among them): what a
    runner removal does to win probabilities. Even over them if they have no mass at all."""
    total = sum(probs.get(r, 0.0) for r in runner_ids)
    if total <= 0:
        return even_priors(runner_ids)
    return {r: probs.get(r, 0.0) / total for r in runner_ids}


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
