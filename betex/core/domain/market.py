"""A market: its definition, lifecycle (state × phase, with `version`) and its runners' books.

Lifecycle (domain.md §2); every transition not listed is INVALID_TRANSITION:
- SET_MARKET_STATE SUSPENDED: OPEN → SUSPENDED (lapses LAPSE orders when IN_PLAY).
- SET_MARKET_STATE OPEN: SUSPENDED → OPEN, phase PRE or IN_PLAY (AWAITING_LIVE needs GO_LIVE).
- SET_MARKET_STATE HALTED: OPEN|SUSPENDED → HALTED (nothing lapses; domain.md §7).
- SET_MARKET_STATE SUSPENDED: HALTED → SUSPENDED too (lapses LAPSE orders when IN_PLAY, as above).
- SET_MARKET_STATE OPEN: HALTED → OPEN too (not while AWAITING_LIVE).
- SET_MARKET_STATE CLOSED / CLOSE_MARKET: OPEN|SUSPENDED|HALTED → CLOSED, unmatched cancelled.
- AWAIT_LIVE_MARKET: IN_PLAY_CAPABLE, phase PRE, OPEN|SUSPENDED → AWAITING_LIVE + SUSPENDED.
- GO_LIVE_MARKET: AWAITING_LIVE → IN_PLAY + OPEN, LAPSE orders lapsed.
- SETTLE_MARKET: CLOSED → SETTLED. VOID_MARKET: OPEN|SUSPENDED|HALTED|CLOSED → VOIDED.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from betex.core.domain.book import binary, multi_runner
from betex.core.domain.book.cross import plan_cross
from betex.core.domain.book.depth import depth_view, implied_book
from betex.core.domain.book.levels import Order, RunnerBook
from betex.core.domain.book.two_runner import plan_two_runner
from betex.core.domain.book.walk import Step
from betex.core.domain.events import TradeMatched
from betex.core.domain.results import Reject
from betex.core.domain.types import BookType, MarketKind, MarketModel, MarketPhase, MarketState, RejectCode

S = MarketState
P = MarketPhase

LIVE_STATES = (S.OPEN, S.SUSPENDED)
PRE_SETTLEMENT_STATES = (S.OPEN, S.SUSPENDED, S.HALTED, S.CLOSED)


class Market:
    __slots__ = (
        "market_id",
        "name",
        "model",
        "book_type",
        "kind",
        "state",
        "phase",
        "version",
        "runner_ids",
        "runner_labels",
        "books",
        "by_account",
        "trades",
        "voided_trades",
        "winners",
        "is_binary",
        "is_two_runner",
        "is_cross",
        "commission_bps",
        "cross_others",
        "removed",
        "original_prices",
        "bet_delay_ms",
        "delayed",
    )

    def __init__(
        self,
        market_id: int,
        name: str,
        model: str,
        book_type: str | None,
        kind: str,
        state: str,
        phase: str,
        runner_ids: list[int],
        runner_labels: list[str],
        commission_bps: int = 0,
    ) -> None:
        self.market_id = market_id
        self.name = name
        self.model = model
        self.book_type = book_type
        self.kind = kind
        self.state = state
        self.phase = phase
        self.version = 1
        self.runner_ids = runner_ids
        self.runner_labels = runner_labels
        self.books: dict[int, RunnerBook] = {r: RunnerBook() for r in runner_ids}
        # account → its resting orders as an insertion-ordered set, oldest first (derived from the
        # books; CANCEL_ALL is O(own)). Keyed by the Order itself: an int key would be one more
        # boxed int per resting order in the compiled build.
        self.by_account: dict[int, dict[Order, None]] = {}
        self.trades: dict[int, TradeMatched] = {}
        self.voided_trades: set[int] = set()
        self.winners: tuple[int, ...] = ()
        self.is_binary = model == MarketModel.BINARY_YES
        self.is_two_runner = book_type == BookType.TWO_RUNNER
        self.is_cross = book_type == BookType.CROSS_MATCHED  # ring matching over N runners (book/cross.py)
        self.commission_bps = commission_bps  # charged at settlement by the read model (domain.md §7)
        # CROSS_MATCHED: runner → its ring partners ((runner, book) of every other runner, in market
        # order) and their books alone, built once per runner (derived; reset with `books`)
        self.cross_others: dict[int, tuple[list[tuple[int, RunnerBook]], list[RunnerBook]]] = {}
        # runner removal (removal.py): removed runner → its reduction factor (hundredths of a
        # percent), and a reduced trade's original price (its `price` is the reduced one)
        self.removed: dict[int, int] = {}
        self.original_prices: dict[int, int] = {}
        # In-play bet delay (delay.py): the delay (BET_DELAY_SET), and the orders accepted under it
        # that have not entered the book yet, order id → order, oldest first
        self.bet_delay_ms = 0
        self.delayed: dict[int, Order] = {}

    def add_runners(self, runner_ids: tuple[int, ...], labels: tuple[str, ...]) -> None:
        for r, label in zip(runner_ids, labels, strict=True):
            self.runner_ids.append(r)
            self.runner_labels.append(label)
            self.books[r] = RunnerBook()
        self.cross_others = {}

    def live_orders(self) -> Iterator[Order]:
        """Every resting order, runner by runner, backs then lays, in price-time order."""
        for r in self.runner_ids:
            book = self.books[r]
            yield from book.backs.live_orders()
            yield from book.lays.live_orders()

    def other_runner(self, runner_id: int) -> int:
        a, b = self.runner_ids
        return b if runner_id == a else a

    def depth(self, depth: int) -> dict[str, Any]:
        """Ladder view in engine units (see `book.depth.depth_view`)."""
        sides = {
            r: (
                {p: lv.total for p, lv in b.backs.levels.items()},
                {p: lv.total for p, lv in b.lays.levels.items()},
            )
            for r, b in self.books.items()
        }
        return depth_view(
            self.is_binary, implied_book(self.book_type), self.runner_ids, sides, depth, self.removed
        )

    def plan(self, side: str, runner_id: int, price: int, account: int, size: int) -> tuple[list[Step], int]:
        """The fills an order would get in this market's book type, without touching the books."""
        book = self.books[runner_id]
        if self.is_binary:
            is_buy = side == "BUY"
            return binary.plan_binary(
                book.lays if is_buy else book.backs, is_buy, runner_id, price, account, size
            )
        is_back = side == "BACK"
        if self.is_two_runner:
            other = self.other_runner(runner_id)
            return plan_two_runner(book, self.books[other], is_back, runner_id, other, price, account, size)
        if self.is_cross:  # CROSS_MATCHED: rings over every other runner, in market order
            partners = self.cross_others.get(runner_id)
            if partners is None:
                removed = self.removed  # a removed runner is in no ring
                others = [(r, self.books[r]) for r in self.runner_ids if r != runner_id and r not in removed]
                partners = self.cross_others[runner_id] = (others, [b for _, b in others])
            return plan_cross(book, runner_id, partners[0], is_back, price, account, size, partners[1])
        return multi_runner.plan_direct(
            book.lays if is_back else book.backs, is_back, runner_id, price, account, size
        )


class Tombstone(NamedTuple):
    """What the engine keeps of a SETTLED or VOIDED market: enough to reject late commands the way
    the live market would have (`transition` reads state, phase and kind), nothing of its books."""

    market_id: int
    state: str
    phase: str
    kind: str
    version: int


class Transition(NamedTuple):
    """An allowed lifecycle move. `lapse`: cancel unmatched LAPSE orders (reason LAPSED);
    `cancel_all`: cancel every unmatched order (the market closes or is voided)."""

    state: str
    phase: str
    lapse: bool
    cancel_all: bool


def transition(market: Market | Tombstone, command: str, target: str | None = None) -> Transition | Reject:
    """Decide a lifecycle command: the move, or the reject. Pure: the caller emits the events."""
    state, phase = market.state, market.phase
    bad = Reject(RejectCode.INVALID_TRANSITION, f"{command} not allowed from {state}/{phase}")
    if command == "SET_MARKET_STATE":
        if target == S.HALTED and state in LIVE_STATES:  # an emergency stop: nothing lapses
            return Transition(S.HALTED, phase, False, False)
        if target == S.SUSPENDED and state in (S.OPEN, S.HALTED):
            return Transition(S.SUSPENDED, phase, phase == P.IN_PLAY, False)
        if target == S.OPEN and state in (S.SUSPENDED, S.HALTED) and phase != P.AWAITING_LIVE:
            return Transition(S.OPEN, phase, False, False)
        if target == S.CLOSED and state in (S.OPEN, S.SUSPENDED, S.HALTED):
            return Transition(S.CLOSED, phase, False, True)
        if target not in tuple(S):
            return Reject(RejectCode.BAD_REQUEST, f"unknown market_state {target!r}")
        return Reject(RejectCode.INVALID_TRANSITION, f"cannot set {target} from {state}/{phase}")
    if command == "AWAIT_LIVE_MARKET":
        if market.kind == MarketKind.IN_PLAY_CAPABLE and phase == P.PRE and state in LIVE_STATES:
            return Transition(S.SUSPENDED, P.AWAITING_LIVE, False, False)
        if market.kind != MarketKind.IN_PLAY_CAPABLE:
            return Reject(RejectCode.INVALID_TRANSITION, "market is PRE_ONLY and cannot go in play")
        return bad
    if command == "GO_LIVE_MARKET":
        if phase == P.AWAITING_LIVE and state == S.SUSPENDED:
            return Transition(S.OPEN, P.IN_PLAY, True, False)
        return bad
    if command == "CLOSE_MARKET":
        if state in (S.OPEN, S.SUSPENDED, S.HALTED):
            return Transition(S.CLOSED, phase, False, True)
        return bad
    if command == "SETTLE_MARKET":
        if state == S.CLOSED:
            return Transition(S.SETTLED, phase, False, False)
        return bad
    if command == "VOID_MARKET":
        if state in PRE_SETTLEMENT_STATES:
            return Transition(S.VOIDED, phase, False, True)
        return bad
    raise ValueError(f"unknown lifecycle command {command}")
