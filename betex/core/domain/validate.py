"""Value checks of commands against the engine's state: a command that fails one gets a typed
`Reject` and changes nothing.

The fields' types are the parser's promise (`core/protocol/parse`, architecture.md §1); what is
checked here is what only the domain knows: the ladder, stake bounds, id ranges, that a runner
belongs to its market, name and reference lengths.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from betex.core.domain import commands as C
from betex.core.domain.ladder import TICK_INDEX, fmt_odds
from betex.core.domain.market import Market
from betex.core.domain.results import Reject
from betex.core.domain.types import (
    U32_MAX,
    BookType,
    MarketKind,
    MarketModel,
    MarketPhase,
    MarketState,
    RejectCode,
)

R = RejectCode
MAX_NAME: Final = 200
MAX_CLIENT_REF: Final = 32
MAX_RUNNERS: Final = 1000
MAX_CROSS_RUNNERS: Final = 100  # CROSS_MATCHED: a ring step is O(N) in N-digit integers
MAX_BET_DELAY_MS: Final = 60_000  # in-play bet delay (delay.py); Betfair uses 1–10 s
MAX_LIABILITY: Final = 2**53  # cents; keeps every amount inside msgpack's and JSON's exact integer range

_BACK: Final = "BACK"
_LAY: Final = "LAY"
_BUY: Final = "BUY"
_SELL: Final = "SELL"
_LAPSE: Final = "LAPSE"
_PERSIST: Final = "PERSIST"
_GTC: Final = "GTC"
_FILL_OR_KILL: Final = "FILL_OR_KILL"
_OPEN: Final = "OPEN"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    min_stake: int = 100  # cents
    max_stake: int = 100_000_000  # cents
    duplicate_window_ns: int = 60_000_000_000


class RecentRefs:
    """The client_refs each account used within the duplicate window (DUPLICATE rejects).

    `last` maps (account, ref) to when it was last used; `queue` holds (ts, account, ref) oldest
    first, so entries leave once the window has passed them. Both are engine state (dumped)."""

    __slots__ = ("window_ns", "last", "queue")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self.last: dict[tuple[int, str], int] = {}
        self.queue: deque[tuple[int, int, str]] = deque()

    def is_duplicate(self, account: int, ref: str, now: int) -> bool:
        seen = self.last.get((account, ref))
        return seen is not None and now - seen < self.window_ns

    def remember(self, account: int, ref: str, ts: int) -> None:
        q = self.queue
        last = self.last
        cutoff = ts - self.window_ns
        while q and q[0][0] <= cutoff:
            old_ts, acct, old_ref = q.popleft()
            if last.get((acct, old_ref)) == old_ts:
                del last[(acct, old_ref)]
        last[(account, ref)] = ts
        q.append((ts, account, ref))


def _uint(x: int, hi: int = U32_MAX) -> bool:
    return 0 < x <= hi


def _runner_id(x: int) -> bool:
    """A u32 runner id (0 allowed)."""
    return 0 <= x <= U32_MAX


def labels_of(runners: tuple[int, ...], labels: tuple[str, ...]) -> tuple[str, ...] | None:
    """The runners' labels ("Runner <id>" when none are given); None if they do not fit."""
    if not labels:
        return tuple(f"Runner {r}" for r in runners)
    if len(labels) != len(runners) or not all(len(x) <= MAX_NAME for x in labels):
        return None
    return labels


def check_create_market(c: C.CreateMarket) -> tuple[str, ...] | Reject:
    """The new market's runner labels, or why it cannot be created."""
    if not 0 < len(c.name) <= MAX_NAME:
        return Reject(R.BAD_REQUEST, f"name must be 1..{MAX_NAME} characters")
    if c.market_model not in tuple(MarketModel):
        return Reject(R.BAD_REQUEST, f"unknown market_model {c.market_model!r}")
    if c.market_model == MarketModel.EXCHANGE_ODDS:
        if c.book_type not in tuple(BookType):
            return Reject(
                R.BAD_REQUEST,
                "book_type TWO_RUNNER, MULTI_RUNNER or CROSS_MATCHED is required for EXCHANGE_ODDS",
            )
    elif c.book_type is not None:
        return Reject(R.BAD_REQUEST, "BINARY_YES markets take no book_type")
    if c.market_kind not in tuple(MarketKind):
        return Reject(R.BAD_REQUEST, f"unknown market_kind {c.market_kind!r}")
    if c.market_state not in (_OPEN, MarketState.SUSPENDED):
        return Reject(R.INVALID_TRANSITION, "a market starts OPEN or SUSPENDED")
    if c.market_phase != MarketPhase.PRE and not (
        c.market_phase == MarketPhase.IN_PLAY and c.market_kind == MarketKind.IN_PLAY_CAPABLE
    ):
        return Reject(R.INVALID_TRANSITION, "a market starts PRE (or IN_PLAY if IN_PLAY_CAPABLE)")
    runners = c.runner_ids
    if not all(_runner_id(r) for r in runners):
        return Reject(R.INVALID_RUNNER, "runner_ids must be a list of u32")
    if len(set(runners)) != len(runners):
        return Reject(R.INVALID_RUNNER, "runner_ids must be unique")
    n = len(runners)
    if c.market_model == MarketModel.BINARY_YES and n != 1:
        return Reject(R.INVALID_RUNNER, "a BINARY_YES market has exactly one runner (YES)")
    if c.book_type == BookType.TWO_RUNNER and n != 2:
        return Reject(R.INVALID_RUNNER, "a TWO_RUNNER market has exactly two runners")
    if c.book_type == BookType.MULTI_RUNNER and not 2 <= n <= MAX_RUNNERS:
        return Reject(R.INVALID_RUNNER, f"a MULTI_RUNNER market has 2..{MAX_RUNNERS} runners")
    if c.book_type == BookType.CROSS_MATCHED and not 2 <= n <= MAX_CROSS_RUNNERS:
        return Reject(R.INVALID_RUNNER, f"a CROSS_MATCHED market has 2..{MAX_CROSS_RUNNERS} runners")
    if not 0 <= c.commission_bps <= 10_000:
        return Reject(R.BAD_REQUEST, "commission_bps must be 0..10000")
    if not 0 <= c.bet_delay_ms <= MAX_BET_DELAY_MS:
        return Reject(R.BAD_REQUEST, f"bet_delay_ms must be 0..{MAX_BET_DELAY_MS}")
    labels = labels_of(runners, c.runner_labels)
    if labels is None:
        return Reject(R.BAD_REQUEST, "runner_labels must be strings, one per runner")
    return labels


def check_add_runners(m: Market, c: C.AddRunners) -> tuple[str, ...] | Reject:
    """The added runners' labels, or why they cannot be added to `m`."""
    if m.book_type != BookType.MULTI_RUNNER:
        return Reject(R.INVALID_MARKET, "runners can only be added to MULTI_RUNNER markets")
    if m.state not in (_OPEN, MarketState.SUSPENDED):
        return Reject(R.INVALID_TRANSITION, f"cannot add runners to a {m.state} market")
    runners = c.runner_ids
    if not runners or not all(_runner_id(r) for r in runners):
        return Reject(R.INVALID_RUNNER, "runner_ids must be a non-empty list of u32")
    if len(set(runners)) != len(runners) or any(r in m.books for r in runners):
        return Reject(R.INVALID_RUNNER, "runner_ids must be new and unique")
    if len(m.runner_ids) + len(runners) > MAX_RUNNERS:
        return Reject(R.INVALID_RUNNER, f"at most {MAX_RUNNERS} runners")
    labels = labels_of(runners, c.runner_labels)
    if labels is None:
        return Reject(R.BAD_REQUEST, "runner_labels must be strings, one per runner")
    return labels


def check_winners(m: Market, winners: tuple[int, ...]) -> Reject | None:
    if len(set(winners)) != len(winners):
        return Reject(R.INVALID_RUNNER, "winner_runner_ids must be a list of distinct runner ids")
    if any(w not in m.books for w in winners):
        return Reject(
            R.INVALID_RUNNER, f"winner_runner_ids {list(winners)} are not all runners of the market"
        )
    if any(w in m.removed for w in winners):  # REMOVE_RUNNER
        return Reject(R.INVALID_RUNNER, f"winner_runner_ids {list(winners)} include a removed runner")
    if not m.is_binary and not winners:
        return Reject(R.INVALID_RUNNER, "an EXCHANGE_ODDS market needs at least one winner")
    return None


def trades_to_void(m: Market, c: C.VoidTrades) -> list[int] | Reject:
    """The ids of the trades VOID_TRADES names that are not void yet, ascending."""
    if m.state not in (_OPEN, MarketState.SUSPENDED, MarketState.HALTED, MarketState.CLOSED):
        return Reject(R.INVALID_TRANSITION, f"cannot void trades of a {m.state} market")
    ids = c.trade_ids
    after_ts = c.after_ts
    if after_ts is not None:
        if ids:
            return Reject(R.BAD_REQUEST, "give either trade_ids or an integer after_ts")
        chosen = [t for t, ev in m.trades.items() if ev.ts > after_ts]
    else:
        if not ids:
            return Reject(R.BAD_REQUEST, "give either trade_ids or after_ts")
        unknown = [t for t in ids if t not in m.trades]
        if unknown:
            return Reject(R.INVALID_ORDER, f"unknown trade ids {unknown[:5]} in market {m.market_id}")
        chosen = list(dict.fromkeys(ids))
    return sorted(t for t in chosen if t not in m.voided_trades)


def check_account(account_id: int) -> Reject | None:
    if not _uint(account_id):
        return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0")
    return None


def check_cancel_all(m: Market, c: C.CancelAll) -> Reject | None:
    """CANCEL_ALL's account and optional filters (a runner of the market, a side of its model)."""
    if not _uint(c.account_id):
        return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0")
    if c.runner_id is not None and c.runner_id not in m.books:
        return Reject(R.INVALID_RUNNER, f"runner {c.runner_id!r} is not in market {m.market_id}")
    side = c.side
    if side is not None and side not in ((_BUY, _SELL) if m.is_binary else (_BACK, _LAY)):
        return Reject(R.INVALID_SIDE, f"side {side!r} is not a side of market {m.market_id}")
    return None


def check_limit(c: C.SetAccountLimit) -> Reject | None:
    if not _uint(c.account_id):
        return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0")
    if not 0 <= c.max_liability <= MAX_LIABILITY:
        return Reject(R.INVALID_SIZE, "max_liability must be ≥ 0 (0 removes the limit)")
    return None


def check_order(m: Market, c: C.PlaceOrder, cfg: EngineConfig) -> Reject | None:
    """Every field of a PLACE_ORDER against its market and the configured stake bounds."""
    if not _uint(c.account_id):
        return Reject(R.BAD_REQUEST, "account_id must be a u32 > 0 (0 is the house)")
    if c.runner_id not in m.books:
        return Reject(R.INVALID_RUNNER, f"runner {c.runner_id!r} is not in market {m.market_id}")
    if m.removed and c.runner_id in m.removed:  # REMOVE_RUNNER
        return Reject(R.INVALID_RUNNER, f"runner {c.runner_id} was removed from market {m.market_id}")
    side = c.side
    if m.is_binary:
        if side != _BUY and side != _SELL:
            return Reject(R.INVALID_SIDE, f"side must be BUY or SELL in a BINARY_YES market, not {side!r}")
    elif side != _BACK and side != _LAY:
        return Reject(R.INVALID_SIDE, f"side must be BACK or LAY, not {side!r}")
    bad = check_price(m, c.price)
    if bad:
        return bad
    size = c.size
    if m.is_binary:
        if not 1 <= size <= cfg.max_stake // 100:
            return Reject(
                R.INVALID_SIZE, f"quantity must be a whole number of shares 1..{cfg.max_stake // 100}"
            )
    elif not cfg.min_stake <= size <= cfg.max_stake:
        return Reject(
            R.INVALID_SIZE,
            f"size must be between {cfg.min_stake / 100:.2f} and {cfg.max_stake / 100:.2f}",
        )
    if c.persistence != _LAPSE and c.persistence != _PERSIST:
        return Reject(R.BAD_REQUEST, f"persistence must be LAPSE or PERSIST, not {c.persistence!r}")
    if c.time_in_force != _GTC and c.time_in_force != _FILL_OR_KILL:
        return Reject(R.BAD_REQUEST, f"time_in_force must be GTC or FILL_OR_KILL, not {c.time_in_force!r}")
    if not 0 <= c.min_fill_size <= size:
        return Reject(R.INVALID_SIZE, "min_fill_size must be between 0 and the order size")
    if len(c.client_ref) > MAX_CLIENT_REF:
        return Reject(R.BAD_REQUEST, f"client_ref must be a string of at most {MAX_CLIENT_REF} characters")
    return None


def check_price(m: Market, price: int) -> Reject | None:
    """A price on the ladder (odds hundredths), or 1..9999 bps in a BINARY_YES market."""
    if m.is_binary:
        if not 1 <= price <= 9999:
            return Reject(R.INVALID_ODDS, f"{price!r} is not a price in basis points 1..9999")
    elif price not in TICK_INDEX:
        return Reject(R.INVALID_ODDS, f"{fmt_odds(price)} is not on the price ladder")
    return None


def fmt_size(m: Market, size: int) -> str:
    return str(size) if m.is_binary else f"{size / 100:.2f}"
