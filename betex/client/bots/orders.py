"""Bot commands (in bot units), correlation ids, counters and the exposure book-keeping."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .. import messages as m
from .book import PriceModel

ACCOUNT_SHIFT = 32
SEQ_MASK = (1 << ACCOUNT_SHIFT) - 1


def correlation_id(account_id: int, seq: int) -> int:
    """`(account_id << 32) | seq` (domain.md §1), so a reply names the bot that sent the command."""
    return (account_id << ACCOUNT_SHIFT) | (seq & SEQ_MASK)


def account_of(correlation_id: int) -> int:
    return correlation_id >> ACCOUNT_SHIFT


def seq_of(correlation_id: int) -> int:
    return correlation_id & SEQ_MASK


class Place(NamedTuple):
    runner_id: int
    side: str
    idx: int
    size: int
    time_in_force: str = "GTC"
    persistence: str = "LAPSE"
    min_fill_size: int = 0


class Cancel(NamedTuple):
    order_id: int
    size_reduction: int = 0


class Replace(NamedTuple):
    order_id: int
    new_idx: int


class CancelAll(NamedTuple):
    pass


Command = Place | Cancel | Replace | CancelAll


def to_wire(cmd: Command, market_id: int, account_id: int, model: PriceModel, corr: int) -> dict[str, Any]:
    """The ClientMsg for a bot command, in wire units (odds decimals / money, or bps / shares)."""
    if type(cmd) is Place:
        return m.place_order(
            market_id,
            cmd.runner_id,
            cmd.side,
            model.to_wire_price(cmd.idx),
            model.to_wire_size(cmd.size),
            account_id,
            persistence=None if cmd.persistence == "LAPSE" else cmd.persistence,
            time_in_force=None if cmd.time_in_force == "GTC" else cmd.time_in_force,
            min_fill_size=model.to_wire_size(cmd.min_fill_size) if cmd.min_fill_size else None,
            correlation_id=corr,
        )
    if type(cmd) is Cancel:
        red = model.to_wire_size(cmd.size_reduction) if cmd.size_reduction else None
        return m.cancel_order(market_id, cmd.order_id, account_id, red, corr)
    if type(cmd) is Replace:
        return m.replace_order(market_id, cmd.order_id, account_id, model.to_wire_price(cmd.new_idx), corr)
    return m.cancel_all(market_id, account_id, corr)


@dataclass(slots=True)
class BotStats:
    """Per-bot counters; `trades`/`volume` count fills where this bot was the aggressor.

    Passive fills (someone hit our resting order) are not reported to us by the protocol;
    the server's view of both comes from `/risk` (`matched_volume`, `pnl`) after a run.
    """

    sent: int = 0
    places: int = 0
    cancels: int = 0
    replaces: int = 0
    cancel_alls: int = 0
    acked: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    accepted_orders: int = 0
    """Orders the engine created for us (accepted placements plus replacement orders)."""
    trades: int = 0
    volume: float = 0.0
    unanswered: int = 0
    risk: dict[str, Any] | None = None
    """The server's `/risk` entry for this account, fetched after a run."""

    def count_sent(self, cmd: Command) -> None:
        self.sent += 1
        t = type(cmd)
        if t is Place:
            self.places += 1
        elif t is Cancel:
            self.cancels += 1
        elif t is Replace:
            self.replaces += 1
        else:
            self.cancel_alls += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "places": self.places,
            "cancels": self.cancels,
            "replaces": self.replaces,
            "cancel_alls": self.cancel_alls,
            "acked": self.acked,
            "rejected": dict(sorted(self.rejected.items())),
            "accepted_orders": self.accepted_orders,
            "trades": self.trades,
            "volume": round(self.volume, 2),
            "unanswered": self.unanswered,
            "risk": self.risk,
        }


class Exposure:
    """If-win P&L per outcome (cents) over the orders a bot counts, each taken as fully matched.

    Counting every live order at its limit is `worst_case_with_unmatched` (domain.md §5); it
    does not change when a resting order is filled at its own price, so a bot can keep it exact
    without being told about passive fills.

    It also keeps, per runner, the sum of its orders' payoffs if that runner wins and if it
    loses, so that `drop_runner` can take out a removed runner: its bets are void (matched or
    not) and it is no longer an outcome. Orders on a dropped runner are ignored from then on.
    """

    __slots__ = ("model", "if_win", "base", "_win", "_lose")

    def __init__(self, model: PriceModel, runner_ids: tuple[int, ...]) -> None:
        self.model = model
        self.if_win: dict[int, float] = {o: 0.0 for o in model.outcomes(runner_ids)}
        self.base: dict[int, float] = {}
        """Matched if-win reported by the server (`/risk`), used when we cannot track fills."""
        self._win: dict[int, float] = {r: 0.0 for r in runner_ids}
        self._lose: dict[int, float] = {r: 0.0 for r in runner_ids}

    def _deltas(self, runner_id: int, side: str, idx: int, size: int) -> dict[int, float]:
        win = self.model.payoff(side, idx, size, True)
        lose = self.model.payoff(side, idx, size, False)
        return {o: (win if o == runner_id else lose) for o in self.if_win}

    def add(self, runner_id: int, side: str, idx: int, size: int, sign: int = 1) -> None:
        if runner_id not in self._win:
            return
        win = sign * self.model.payoff(side, idx, size, True)
        lose = sign * self.model.payoff(side, idx, size, False)
        self._win[runner_id] += win
        self._lose[runner_id] += lose
        for o in self.if_win:
            self.if_win[o] += win if o == runner_id else lose

    def drop_runner(self, runner_id: int) -> None:
        """A runner was removed: its bets are void and it can no longer win."""
        if runner_id not in self._win:
            return
        del self._win[runner_id]
        lose = self._lose.pop(runner_id)
        self.if_win.pop(runner_id, None)
        self.base.pop(runner_id, None)
        for o in self.if_win:
            self.if_win[o] -= lose

    def worst(self) -> float:
        return min(v + self.base.get(o, 0.0) for o, v in self.if_win.items())

    def worst_with(self, runner_id: int, side: str, idx: int, size: int) -> float:
        """The worst case if this order were added (and fully matched at its limit)."""
        if runner_id not in self._win:
            return self.worst()
        d = self._deltas(runner_id, side, idx, size)
        return min(v + d[o] + self.base.get(o, 0.0) for o, v in self.if_win.items())

    def reset(self) -> None:
        for o in self.if_win:
            self.if_win[o] = 0.0
        for r in self._win:
            self._win[r] = self._lose[r] = 0.0
