"""Noise trader: small random orders near the touch, sometimes crossing it, some cancels.

It trades the runners it has not seen removed, pricing an empty book from the (renormalised)
priors; a removal forgets its open orders (the engine cancelled them all). An order answered
DELAYED (in-play bet delay) is open but not in the book: it is not taken for filled while its
level is empty, until the level has shown it once.
"""

from __future__ import annotations

from .. import messages as m
from .base import Bot
from .book import BookView, MarketSpec
from .orders import Cancel, CancelAll, Command, Place


class NoiseTrader(Bot):
    kind = "noise"
    max_burst = 1

    def __init__(
        self,
        account_id: int,
        market: MarketSpec,
        seed: int,
        *,
        acks: bool = True,
        max_liability: float | None = None,
        cancel_prob: float = 0.25,
        cross_prob: float = 0.15,
        max_open: int = 20,
        size_range: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(account_id, market, seed, acks=acks, max_liability=max_liability)
        binary = self.model.name == "BINARY_YES"
        self.cancel_prob = cancel_prob
        self.cross_prob = cross_prob
        self.max_open = max_open
        self.size_range = size_range or ((1, 20) if binary else (200, 2000))
        self.step = 5 if binary else 1
        """Price offsets near the touch are multiples of this many indices."""
        self.open: dict[int, tuple[int, bool, int, int]] = {}
        """Our resting orders as last reported: order_id → (runner, is_bid, idx, remaining units)."""
        self.delayed: set[int] = set()
        """Open orders answered DELAYED whose level has not shown them yet."""

    def decide(self, view: BookView | None) -> Command | None:
        if view is None or not view.is_open:
            return None
        rng = self.rng
        if self.acks and self.open and (len(self.open) >= self.max_open or rng.random() < self.cancel_prob):
            return self._cancel(view)
        if not self.acks and rng.random() < 0.02:
            return CancelAll()
        runner_id = self.runner_ids[rng.randrange(len(self.runner_ids))]
        bid = rng.random() < 0.5
        side = self.model.bid_side if bid else self.model.ask_side
        idx = self._price(view, runner_id, bid)
        lo, hi = self.size_range
        unit = self.model.min_size
        size = rng.randint(lo // unit, hi // unit) * unit
        if not self.within_limit(runner_id, side, idx, size):
            return None
        return Place(runner_id, side, idx, size)

    def _cancel(self, view: BookView) -> Cancel:
        forced = len(self.open) >= self.max_open
        # orders whose price level is empty in the view were filled: forget them (if the view
        # merely lags, the order just rests on uncancelled; it is never double-counted)
        for oid in [o for o, (r, bid, idx, _) in self.open.items() if self._level_empty(view, r, bid, idx)]:
            if oid in self.delayed:
                continue
            if len(self.open) > 1:
                del self.open[oid]
        if self.delayed:
            self.delayed -= {o for o in self.delayed if not self._level_empty(view, *self.open[o][:3])}
        ids = list(self.open)
        oid = ids[0] if forced else ids[self.rng.randrange(len(ids))]
        r, bid, idx, remaining = self.open.pop(oid)
        self.delayed.discard(oid)
        unit = self.model.min_size
        if not forced and remaining >= 2 * unit and self.rng.random() < 0.3:
            reduction = remaining // 2 // unit * unit
            self.open[oid] = (r, bid, idx, remaining - reduction)
            return Cancel(oid, reduction)
        return Cancel(oid)

    def _price(self, view: BookView, runner_id: int, bid: bool) -> int:
        rng, step = self.rng, self.step
        rb = view.runner(runner_id)
        fair = round(self.model.prob_to_index(self.priors.get(runner_id, 0.5)))
        bb = rb.best_bid if rb is not None else None
        ba = rb.best_ask if rb is not None else None
        if bb is None:
            bb = (ba if ba is not None else fair) - step
        if ba is None:
            ba = bb + 2 * step
        cross = rng.random() < self.cross_prob
        if bid:
            idx = ba if cross else min(bb + step * rng.choice((-2, -1, -1, 0, 0, 1)), ba - 1)
        else:
            idx = bb if cross else max(ba + step * rng.choice((2, 1, 1, 0, 0, -1)), bb + 1)
        return self.model.clamp(idx)

    @staticmethod
    def _level_empty(view: BookView, runner_id: int, bid: bool, idx: int) -> bool:
        rb = view.runner(runner_id)
        return rb is not None and rb.size_at(bid, idx) == 0

    def handle_reply(self, corr: int, cmd: Command, reply: m.Reply, err: m.ErrorInfo | None) -> None:
        if not isinstance(reply, m.OrderResponse) or err is not None or reply.order_id is None:
            if type(cmd) is Cancel:
                self.open.pop(cmd.order_id, None)
                self.delayed.discard(cmd.order_id)
            return
        remaining = self.model.from_wire_size(reply.size_remaining)
        if remaining <= 0 or reply.status in ("CANCELLED", "REPLACED"):
            self.open.pop(reply.order_id, None)
            self.delayed.discard(reply.order_id)
        elif type(cmd) is Place:
            if cmd.runner_id in self.removed:
                return  # accepted before the removal, which cancelled it
            self.open[reply.order_id] = (cmd.runner_id, self.model.is_bid(cmd.side), cmd.idx, remaining)
            if reply.status == "DELAYED":
                self.delayed.add(reply.order_id)
        elif reply.order_id in self.open:
            r, bid, idx, _ = self.open[reply.order_id]
            self.open[reply.order_id] = (r, bid, idx, remaining)

    def on_runner_removed(self, runner_id: int, view: BookView | None) -> None:
        self.open.clear()
        self.delayed.clear()

    def handle_lost(self, lost: list[tuple[int, Command]]) -> None:
        self.open.clear()
        self.delayed.clear()
