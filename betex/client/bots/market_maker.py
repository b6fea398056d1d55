"""Market maker: quotes both sides over several ladder levels around a fair price.

Fair per runner is the mid of the book's best bid/ask (the prior when the book is empty), so
the maker follows price discovery by others (e.g. an informed trader sweeping one side).
Quotes sit at `fair ± (half_spread + level·spacing)`; when fair moves by `requote_ticks` a quote
is moved with REPLACE (acks on) or the whole ladder is re-laid with CANCEL_ALL + PLACEs (no_ack,
where order ids are unknown). A quote whose price level shows less size than we believe we
rest there has been (partly) filled: we cancel it, learn `size_matched` from the reply, and
quote afresh. A quote answered DELAYED (in-play bet delay) is not in the book until it
matures: it is exempt from that check until its level shows it, and ages
`DELAYED_AGE_FACTOR` times slower. Placements that would take the worst case with unmatched orders below
`-max_liability` are skipped, so the maker stops adding risk on a side but still quotes the
other one.

A removed runner (seen in a view, or refused with INVALID_RUNNER): its quotes are forgotten, the fair prices of the others are
renormalised so that their probabilities sum to 1 again, and the whole ladder is re-laid (the
removal cancelled every unmatched order). A quote on an active runner that the previous view
showed resting whole is taken out of the exposure; one that may have been partly filled stays
counted as fully matched (we are not told), which errs on the safe side.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .. import messages as m
from .base import Bot
from .book import BookView, MarketSpec, renormalise
from .orders import Cancel, CancelAll, Command, Place, Replace

PENDING = 0
LIVE = 1
DELAYED_AGE_FACTOR = 4
"""A DELAYED quote that its level never shows is cancelled after this many times `max_age_views`."""


@dataclass(slots=True)
class Quote:
    runner_id: int
    side: str
    level: int
    idx: int
    size: int
    state: int = PENDING
    order_id: int | None = None
    views: int = 0
    """New views seen since the quote went live; deficit checks wait for 2 (snapshot lag)."""
    cancel: bool = False
    delayed: bool = False
    """Answered DELAYED: held by the in-play bet delay, not in the book until its level shows it."""


Slot = tuple[int, str, int]


class MarketMaker(Bot):
    kind = "mm"
    max_burst = 12

    def __init__(
        self,
        account_id: int,
        market: MarketSpec,
        seed: int,
        *,
        acks: bool = True,
        max_liability: float | None = 1000.0,
        levels: int = 3,
        half_spread: int | None = None,
        spacing: int | None = None,
        requote_ticks: int | None = None,
        size_range: tuple[int, int] | None = None,
        max_age_views: int = 25,
    ) -> None:
        super().__init__(account_id, market, seed, acks=acks, max_liability=max_liability)
        binary = self.model.name == "BINARY_YES"
        self.levels = levels
        self.half_spread = half_spread if half_spread is not None else (20 if binary else 1)
        self.spacing = spacing if spacing is not None else (20 if binary else 1)
        self.requote_ticks = requote_ticks if requote_ticks is not None else (10 if binary else 1)
        self.size_range = size_range or ((10, 100) if binary else (500, 5000))
        self.max_age_views = max_age_views
        self.fair: dict[int, int] = {
            r: round(self.model.prob_to_index(market.priors.get(r, 0.5))) for r in market.runner_ids
        }
        self.quotes: dict[Slot, Quote] = {}
        self._plan: deque[Slot | None] = deque()
        """Slots to act on, in order; None stands for a CANCEL_ALL (no_ack re-lay)."""
        self._last_seq: int | None = None
        self._acting: Quote | None = None
        self._by_corr: dict[int, Quote] = {}
        self._dirty = False
        self._generation_views = 0
        self._need_cancel_all = False
        self._delays = False
        """A placement was answered DELAYED: the market is in play with a bet delay (for good:
        a market never leaves play), so replacements are delayed too (their reply says REPLACED)."""
        self._seen_view: BookView | None = None
        """The last view `decide` saw (the one before a view that shows a removal)."""

    # --- planning --------------------------------------------------------------------------------

    def desired(self, runner_id: int, side: str, level: int) -> int | None:
        off = self.half_spread + level * self.spacing
        idx = self.fair[runner_id] + (-off if self.model.is_bid(side) else off)
        return idx if 0 <= idx < self.model.n_ticks else None

    def _update_fair(self, view: BookView) -> dict[int, int]:
        moves: dict[int, int] = {}
        if not self.removed <= view.removed:
            return moves  # a view from before a removal we learnt of from a reject: old prices
        for r in self.runner_ids:
            rb = view.runner(r)
            old = self.fair[r]
            if rb is None:
                continue
            bb, ba = rb.best_bid, rb.best_ask
            if bb is not None and ba is not None:
                if bb >= ba:
                    continue
                mid = (bb + ba) / 2
            elif bb is not None:
                mid = bb + self.half_spread
            elif ba is not None:
                mid = ba - self.half_spread
            else:
                continue
            self.fair[r] = self.model.clamp(round(mid))
            moves[r] = self.fair[r] - old
        return moves

    def _flag_fills(self, view: BookView) -> None:
        """Mark for cancel quotes whose level shows less size than we rest there, or too old ones."""
        mature: dict[tuple[int, bool, int], list[Quote]] = {}
        for q in self.quotes.values():
            if q.state != LIVE:
                continue
            if q.delayed:
                rb = view.runner(q.runner_id)
                if rb is None or rb.size_at(self.model.is_bid(q.side), q.idx) < q.size:
                    # not matured yet (or filled the moment it did: then a long wait ends it)
                    q.views += 1
                    q.cancel = q.cancel or q.views > DELAYED_AGE_FACTOR * self.max_age_views
                    continue
                q.delayed, q.views = False, 0  # matured: it rests now
            q.views += 1
            if q.views >= 2:
                mature.setdefault((q.runner_id, self.model.is_bid(q.side), q.idx), []).append(q)
            if q.views > self.max_age_views:
                q.cancel = True
        for (r, bid, idx), qs in mature.items():
            rb = view.runner(r)
            book = rb.size_at(bid, idx) if rb is not None else 0
            if book < sum(q.size for q in qs):
                max(qs, key=lambda q: q.views).cancel = True

    def _replan(self, view: BookView) -> None:
        moves = self._update_fair(view)
        self._plan.clear()
        if not self.acks:
            self._replan_no_ack(view, moves)
            return
        self._flag_fills(view)
        for r in self.runner_ids:
            bid, ask = self.model.bid_side, self.model.ask_side
            # move the side that the new fair runs into first, so we never cross our own quotes
            sides = (ask, bid) if moves.get(r, 0) > 0 else (bid, ask)
            for side in sides:
                for level in range(self.levels):
                    self._plan.append((r, side, level))

    def _replan_no_ack(self, view: BookView, moves: dict[int, int]) -> None:
        self._generation_views += 1
        live = [q for q in self.quotes.values()]
        stale = any(abs(d) >= self.requote_ticks for d in moves.values())
        stale = stale or self._generation_views > self.max_age_views
        if live and not stale and self._generation_views >= 2:
            by_level: dict[tuple[int, bool, int], int] = {}
            for q in live:
                k = (q.runner_id, self.model.is_bid(q.side), q.idx)
                by_level[k] = by_level.get(k, 0) + q.size
            for (r, bid, idx), size in by_level.items():
                rb = view.runner(r)
                if rb is None or rb.size_at(bid, idx) < size:
                    stale = True
                    break
        if live and not stale:
            return
        if live:
            self._plan.append(None)
        for r in self.runner_ids:
            for side in (self.model.bid_side, self.model.ask_side):
                for level in range(self.levels):
                    self._plan.append((r, side, level))

    # --- deciding --------------------------------------------------------------------------------

    def decide(self, view: BookView | None) -> Command | None:
        if view is not None:
            self._seen_view = view
        if view is None or not view.is_open:
            return None
        if self._need_cancel_all:
            self._need_cancel_all = False
            self._acting = None
            return CancelAll()
        if view.seq != self._last_seq:
            self._last_seq = view.seq
            self._replan(view)
        elif self._dirty and not self._plan and self.acks:
            self._dirty = False
            for r in self.runner_ids:
                for side in (self.model.bid_side, self.model.ask_side):
                    for level in range(self.levels):
                        self._plan.append((r, side, level))
        while self._plan:
            slot = self._plan.popleft()
            cmd = self._act(slot)
            if cmd is not None:
                return cmd
        return None

    def _act(self, slot: Slot | None) -> Command | None:
        if slot is None:
            self.quotes.clear()
            self.exposure.reset()
            self._generation_views = 0
            self._acting = None
            return CancelAll()
        r, side, level = slot
        if r in self.removed:
            return None
        want = self.desired(r, side, level)
        q = self.quotes.get(slot)
        if q is None:
            if want is None:
                return None
            lo, hi = self.size_range
            unit = self.model.min_size
            size = self.rng.randint(lo // unit, hi // unit) * (2 + level) // 2 * unit
            if not self.within_limit(r, side, want, size):
                return None
            q = Quote(r, side, level, want, size, state=PENDING if self.acks else LIVE)
            self.quotes[slot] = q
            self.exposure.add(r, side, want, size)
            self._acting = q
            return Place(r, side, want, size)
        if q.state != LIVE or not self.acks or q.order_id is None:
            return None
        if q.cancel or want is None:
            q.state = PENDING
            self._acting = q
            return Cancel(q.order_id)
        if abs(q.idx - want) >= self.requote_ticks:
            self.exposure.add(r, side, q.idx, q.size, -1)
            ok = self.within_limit(r, side, want, q.size)
            self.exposure.add(r, side, q.idx, q.size)
            if not ok:
                return None
            q.state = PENDING
            self._acting = q
            return Replace(q.order_id, want)
        return None

    def on_issued(self, corr: int, cmd: Command) -> None:
        if self._acting is not None and self.acks:
            self._by_corr[corr] = self._acting
        self._acting = None

    # --- replies ---------------------------------------------------------------------------------

    def _drop(self, q: Quote) -> None:
        slot = (q.runner_id, q.side, q.level)
        if self.quotes.get(slot) is q:
            del self.quotes[slot]
        self._dirty = True

    def handle_reply(self, corr: int, cmd: Command, reply: m.Reply, err: m.ErrorInfo | None) -> None:
        q = self._by_corr.pop(corr, None)
        if q is None:
            return
        resp = reply if isinstance(reply, m.OrderResponse) else None
        matched = self.model.from_wire_size(resp.size_matched) if resp is not None else 0
        if type(cmd) is Place:
            if err is not None or resp is None or resp.order_id is None:
                self.exposure.add(q.runner_id, q.side, q.idx, q.size, -1)
                self._drop(q)
            elif resp.size_remaining > 0:
                q.order_id, q.state, q.views = resp.order_id, LIVE, 0
                q.delayed = resp.status == "DELAYED"
                self._delays = self._delays or q.delayed
            else:
                # filled (or cancelled by self-trade prevention) at once: only the match counts
                self.exposure.add(q.runner_id, q.side, q.idx, q.size - matched, -1)
                self._drop(q)
        elif type(cmd) is Cancel:
            if err is None and resp is not None:
                self.exposure.add(q.runner_id, q.side, q.idx, q.size - matched, -1)
            # a rejected cancel means the order was complete already: fully matched, as counted
            self._drop(q)
        elif type(cmd) is Replace:
            self._replaced(q, cmd, resp, err, matched)

    def _replaced(
        self, q: Quote, cmd: Replace, resp: m.OrderResponse | None, err: m.ErrorInfo | None, matched: int
    ) -> None:
        cancelled = resp is not None and resp.order_id is not None and resp.status not in ("REJECTED", "")
        if resp is None or resp.replacement_order_id is None:
            if cancelled:
                self.exposure.add(q.runner_id, q.side, q.idx, q.size - matched, -1)
            self._drop(q)
            return
        moved = q.size - matched
        self.exposure.add(q.runner_id, q.side, q.idx, moved, -1)
        self.exposure.add(q.runner_id, q.side, cmd.new_idx, moved)
        q.order_id, q.idx, q.size, q.state, q.views, q.cancel = (
            resp.replacement_order_id,
            cmd.new_idx,
            moved,
            LIVE,
            0,
            False,
        )
        # in play with a bet delay, the replacement is delayed again (docs/engine.md)
        q.delayed = self._delays
        if moved <= 0:
            self._drop(q)

    def on_runner_removed(self, runner_id: int, view: BookView | None) -> None:
        model = self.model
        probs = {r: model.index_to_prob(i) for r, i in self.fair.items()}
        del self.fair[runner_id]
        for r, p in renormalise(probs, self.runner_ids).items():
            self.fair[r] = model.clamp(round(model.prob_to_index(p)))
        self._plan.clear()
        self._last_seq = None
        self._dirty = False
        if not self.acks:
            # as after our own CANCEL_ALL: nothing rests, `/risk` has the matched part
            self.quotes.clear()
            self.exposure.reset()
            self._generation_views = 0
            return
        prev = self._seen_view
        for slot, q in list(self.quotes.items()):
            if q.runner_id == runner_id:
                del self.quotes[slot]  # void, matched or not: `exposure` drops the runner
                continue
            if q.state != LIVE:
                continue  # its reply is on the way and settles it
            del self.quotes[slot]
            rb = prev.runner(q.runner_id) if prev is not None else None
            if not q.delayed and q.views >= 2 and rb is not None:
                if rb.size_at(model.is_bid(q.side), q.idx) >= q.size:
                    self.exposure.add(q.runner_id, q.side, q.idx, q.size, -1)
            elif q.delayed:
                self.exposure.add(q.runner_id, q.side, q.idx, q.size, -1)  # never in the book

    def handle_lost(self, lost: list[tuple[int, Command]]) -> None:
        # order ids of in-flight commands are unknown now: start clean with a CANCEL_ALL
        self.quotes.clear()
        self._by_corr.clear()
        self.exposure.reset()
        self._plan.clear()
        self._need_cancel_all = True
        self._last_seq = None

    def on_risk(self, if_win_cents: dict[int, float]) -> None:
        if not self.acks:
            self.exposure.base = dict(if_win_cents)
