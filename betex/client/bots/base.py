"""The bot contract: a seeded state machine from (views, replies) to commands, with no I/O.

A driver (`BotRunner`, the TUI, a test) calls `issue(view)` whenever the bot may send a command
and `on_reply(corr, reply)` for each reply addressed to it. Given the same seed, the same
sequence of views and the same replies, a bot issues exactly the same commands: its only
source of randomness is its own `random.Random`, and it never reads a clock.

Market states a bot meets (domain.md §7): it sends nothing unless the view says OPEN (SUSPENDED,
HALTED, CLOSED…), so a halt costs at most the commands already in flight. A runner the view
shows as REMOVED leaves `runner_ids` and `priors` (renormalised over the others) the first
time the bot sees it, before it decides anything — or as soon as a placement on it is refused
with INVALID_RUNNER, if that comes first — and `on_runner_removed` lets the strategy forget its
orders (the removal cancelled every unmatched order of the market). A placement
answered DELAYED (in-play bet delay) is an accepted, open order, not an error.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from .. import messages as m
from .book import BookView, MarketSpec, renormalise
from .orders import BotStats, Command, Exposure, Place, Replace, correlation_id


def reply_error(reply: m.Reply) -> m.ErrorInfo | None:
    """The reject carried by a reply, if any."""
    if isinstance(reply, m.ServerError):
        return m.ErrorInfo(reply.code, reply.message)
    if isinstance(reply, m.OrderResponse):
        if reply.error is not None:
            return reply.error
        return m.ErrorInfo("REJECTED", "") if reply.status == "REJECTED" else None
    if isinstance(reply, m.Ack) and not reply.ok:
        return reply.error or m.ErrorInfo("REJECTED", "")
    return None


class Bot:
    """Base class: correlation ids, counters, exposure and reply routing."""

    kind: ClassVar[str] = "bot"
    max_burst: ClassVar[int] = 1
    """How many commands a lock-step driver lets this bot send per step."""

    def __init__(
        self,
        account_id: int,
        market: MarketSpec,
        seed: int,
        *,
        acks: bool = True,
        max_liability: float | None = None,
    ) -> None:
        self.account_id = account_id
        self.market = market
        self.model = market.model
        self.acks = acks
        self.rng = random.Random(f"{self.kind}:{seed}:{account_id}")
        self.stats = BotStats()
        self.exposure = Exposure(market.model, market.runner_ids)
        self.runner_ids: tuple[int, ...] = market.runner_ids
        """The runners this bot trades: the market's, less any it has seen removed."""
        self.priors: dict[int, float] = dict(market.priors)
        """Prior win probabilities over `runner_ids` (renormalised after a removal)."""
        self.removed: set[int] = set()
        self._view: BookView | None = None
        self.max_liability_cents = None if max_liability is None else max_liability * 100
        self._seq = 0
        self._inflight: dict[int, Command] = {}

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.account_id}"

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def issue(self, view: BookView | None) -> tuple[int, Command] | None:
        """The next command and its correlation id, or None if the bot has nothing to do now."""
        if view is not None:
            self._view = view
            if view.removed and not view.removed <= self.removed:
                self._runners_removed(view)
        cmd = self.decide(view)
        if cmd is None:
            return None
        self._seq += 1
        corr = correlation_id(self.account_id, self._seq)
        self.stats.count_sent(cmd)
        if self.acks:
            self._inflight[corr] = cmd
        self.on_issued(corr, cmd)
        return corr, cmd

    def on_reply(self, corr: int, reply: m.Reply) -> None:
        cmd = self._inflight.pop(corr, None)
        if cmd is None:
            return
        err = reply_error(reply)
        st = self.stats
        if err is not None:
            st.rejected[err.code] += 1
        else:
            st.acked += 1
        if isinstance(reply, m.OrderResponse):
            if reply.fills:
                st.trades += len(reply.fills)
                st.volume += sum(f.size for f in reply.fills)
            if err is None and type(cmd) is Place and reply.order_id is not None:
                st.accepted_orders += 1
            if type(cmd) is Replace and reply.replacement_order_id is not None:
                st.accepted_orders += 1
        self.handle_reply(corr, cmd, reply, err)
        if err is not None and err.code == "INVALID_RUNNER" and type(cmd) is Place:
            # the runner was removed and our snapshot has not shown it yet: stop now
            self._remove_runner(cmd.runner_id, self._view)

    def _runners_removed(self, view: BookView) -> None:
        for r in sorted(view.removed - self.removed):
            self._remove_runner(r, view)

    def _remove_runner(self, runner_id: int, view: BookView | None) -> None:
        self.removed.add(runner_id)
        if runner_id not in self.runner_ids or len(self.runner_ids) <= 1:
            return
        self.runner_ids = tuple(x for x in self.runner_ids if x != runner_id)
        self.priors = renormalise(self.priors, self.runner_ids)
        self.on_runner_removed(runner_id, view)
        self.exposure.drop_runner(runner_id)

    def on_disconnect(self) -> None:
        """The connection dropped: replies to in-flight commands will never come."""
        lost = list(self._inflight.items())
        self._inflight.clear()
        self.stats.unanswered += len(lost)
        self.handle_lost(lost)

    def within_limit(self, runner_id: int, side: str, idx: int, size: int) -> bool:
        lim = self.max_liability_cents
        return lim is None or self.exposure.worst_with(runner_id, side, idx, size) >= -lim

    def on_risk(self, if_win_cents: dict[int, float]) -> None:
        """Matched if-win per outcome from `/risk`; only used where replies are not available."""

    # --- strategy hooks ------------------------------------------------------------------------

    def decide(self, view: BookView | None) -> Command | None:
        raise NotImplementedError

    def on_issued(self, corr: int, cmd: Command) -> None:
        """Called after `decide` returned `cmd` and it got `corr`."""

    def on_runner_removed(self, runner_id: int, view: BookView | None) -> None:
        """`runner_id` was removed (`runner_ids` and `priors` already exclude it; `exposure` drops
        it right after this). Every unmatched order of the market was cancelled with it. `view`
        is the newest view the bot has seen (it may not show the removal yet)."""

    def handle_reply(self, corr: int, cmd: Command, reply: m.Reply, err: m.ErrorInfo | None) -> None:
        """Strategy-specific book-keeping for the reply to `cmd`."""

    def handle_lost(self, lost: list[tuple[int, Command]]) -> None:
        """Strategy-specific recovery after a disconnect."""

    def describe(self) -> dict[str, Any]:
        return {"bot": self.name, "kind": self.kind, "account_id": self.account_id, **self.stats.to_json()}
