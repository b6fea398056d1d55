"""Events: what the engine decided, in the order it decided it. The WAL stores exactly these.

Every event is a NamedTuple whose first three fields are `seq`, `ts` (engine time, unix ns) and
`market_id` (0 for engine-wide events). The positional tuple *is* the WAL's msgpack payload
(`betex.core.durability.codec`), so the encoding is stable as long as fields are only ever
appended (bump the codec's `SCHEMA_VERSION` otherwise).

A trade carries its money as `legs`: ``(account_id, runner_id, win, lose)`` means "if runner
wins, the account gains `win`; if it loses, the account loses `lose`" (a lay has both negative).
Legs of one trade always balance, house residue included, so P&L sums to 0 for every outcome.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Leg(NamedTuple):
    account_id: int
    runner_id: int
    win: int
    lose: int


class MarketCreated(NamedTuple):
    seq: int
    ts: int
    market_id: int
    name: str
    market_model: str
    book_type: str | None
    market_kind: str
    market_state: str
    market_phase: str
    runner_ids: tuple[int, ...]
    runner_labels: tuple[str, ...]
    commission_bps: int = 0  # appended (an older WAL's record has none: 0)


class RunnersAdded(NamedTuple):
    seq: int
    ts: int
    market_id: int
    runner_ids: tuple[int, ...]
    runner_labels: tuple[str, ...]


class MarketStateChanged(NamedTuple):
    seq: int
    ts: int
    market_id: int
    market_state: str
    market_phase: str
    version: int


class OrderAccepted(NamedTuple):
    seq: int
    ts: int
    market_id: int
    order_id: int
    account_id: int
    runner_id: int
    side: str
    price: int
    size: int
    persistence: str
    time_in_force: str
    client_ref: str
    replaces: int  # the order this one replaced (REPLACE_ORDER), else 0


class OrderCancelled(NamedTuple):
    seq: int
    ts: int
    market_id: int
    order_id: int
    size: int  # how much of the remaining size this removed
    reason: str  # CancelReason; LAPSED goes to size_lapsed, everything else to size_cancelled


class TradeMatched(NamedTuple):
    seq: int
    ts: int
    market_id: int
    trade_id: int
    runner_id: int  # the taker's runner
    taker_order_id: int
    taker_account: int
    taker_size: int
    maker_order_id: int
    maker_account: int
    maker_size: int
    maker_runner_id: int  # differs from runner_id for implied matches
    price: int  # the resting (maker) order's price
    implied: bool
    legs: tuple[Leg, ...]
    house: int  # rounding residue booked to the house account (≥ 0), also present as a leg


class TradesVoided(NamedTuple):
    seq: int
    ts: int
    market_id: int
    trade_ids: tuple[int, ...]


class MarketSettled(NamedTuple):
    seq: int
    ts: int
    market_id: int
    winner_runner_ids: tuple[int, ...]


class MarketVoided(NamedTuple):
    seq: int
    ts: int
    market_id: int


class AccountLimitSet(NamedTuple):
    seq: int
    ts: int
    market_id: int
    account_id: int
    max_liability: int  # cents; 0 = no limit


class BatchProcessed(NamedTuple):
    seq: int
    ts: int
    market_id: int
    commands: int  # commands drained in this batch


class AccountCreated(NamedTuple):
    seq: int
    ts: int
    market_id: int  # 0: engine-wide
    account_id: int
    name: str


class KeyIssued(NamedTuple):
    seq: int
    ts: int
    market_id: int  # 0: engine-wide
    key_id: int
    account_id: int
    key_hash: str  # sha256 of the key, hex; the key itself is never recorded


class KeyRevoked(NamedTuple):
    seq: int
    ts: int
    market_id: int  # 0: engine-wide
    key_id: int
    account_id: int


# ---------------------------------------------------------------- runner removal (REMOVE_RUNNER)
# One block, apart from the other rules' events, so that parallel branches merge cleanly.


class ReducedTrade(NamedTuple):
    """A matched trade on a remaining runner after a removal: its new terms (domain.md §7)."""

    trade_id: int
    original_price: int  # the price it matched at (before any removal)
    price: int  # the reduced price now in force (compounded over successive removals)
    legs: tuple[Leg, ...]  # the trade's legs at `price`: they replace the trade's legs
    house: int  # rounding residue booked to the house at `price` (≥ 0), also present as a leg


class RunnerRemoved(NamedTuple):
    """REMOVE_RUNNER: the runner is REMOVED, the `voided` trades (a bet on it) are void, the
    `reduced` trades take their new price and legs, and the market is at `version`. The market's
    unmatched orders were cancelled just before (ORDER_CANCELLED, reason RUNNER_REMOVED)."""

    seq: int
    ts: int
    market_id: int
    runner_id: int
    reduction_factor: int  # hundredths of a percent, 0..10000 (12.5 % is 1250)
    version: int
    voided: tuple[int, ...]  # trade ids, ascending
    reduced: tuple[ReducedTrade, ...]  # ascending trade id


# ---------------------------------------------------------------- end of runner removal


# --- in-play bet delay (domain.md §7; betex/core/domain/delay.py) -----------------------------


class BetDelaySet(NamedTuple):
    """The market's in-play bet delay, right after its MARKET_CREATED when CREATE_MARKET gave a
    `bet_delay_ms` above 0 (a separate event, so MARKET_CREATED keeps its shape)."""

    seq: int
    ts: int
    market_id: int
    bet_delay_ms: int


class OrderDelayed(NamedTuple):
    """A placement accepted during an in-play bet delay: the order exists (status DELAYED, its
    liability reserved) but is not in the book until an ORDER_MATURED at or after `due_ts`."""

    seq: int
    ts: int
    market_id: int
    order_id: int
    account_id: int
    runner_id: int
    side: str
    price: int
    size: int
    persistence: str
    time_in_force: str
    client_ref: str
    replaces: int  # the order this one replaced (REPLACE_ORDER), else 0
    min_fill_size: int  # FILL_OR_KILL: decided when the order matures (0 = its whole size)
    due_ts: int  # engine time (unix ns) from which it may enter the book: ts + bet_delay_ms
    version: int  # the market's version at acceptance: any change before maturing voids it


class OrderMatured(NamedTuple):
    """A delayed order enters the book (it then matches as a taker: TRADE_MATCHED follow)."""

    seq: int
    ts: int
    market_id: int
    order_id: int


class Tick(NamedTuple):
    """Engine time reached the due time of delayed orders: the events that follow in the batch
    (ORDER_MATURED, trades, DELAY_VOIDED or FOK_UNFILLED cancels) were caused by the clock, not
    by a command. Written by the runtime's periodic tick or by any batch that finds orders due."""

    seq: int
    ts: int
    market_id: int  # 0: engine-wide


Event = (
    MarketCreated
    | RunnersAdded
    | MarketStateChanged
    | OrderAccepted
    | OrderCancelled
    | TradeMatched
    | TradesVoided
    | MarketSettled
    | MarketVoided
    | AccountLimitSet
    | BatchProcessed
    | AccountCreated
    | KeyIssued
    | KeyRevoked
    | RunnerRemoved  # runner removal
    | BetDelaySet
    | OrderDelayed
    | OrderMatured
    | Tick
)

TYPE_NAMES: dict[type[Any], str] = {
    MarketCreated: "MARKET_CREATED",
    RunnersAdded: "RUNNERS_ADDED",
    MarketStateChanged: "MARKET_STATE_CHANGED",
    OrderAccepted: "ORDER_ACCEPTED",
    OrderCancelled: "ORDER_CANCELLED",
    TradeMatched: "TRADE_MATCHED",
    TradesVoided: "TRADES_VOIDED",
    MarketSettled: "MARKET_SETTLED",
    MarketVoided: "MARKET_VOIDED",
    AccountLimitSet: "ACCOUNT_LIMIT_SET",
    BatchProcessed: "BATCH_PROCESSED",
    AccountCreated: "ACCOUNT_CREATED",
    KeyIssued: "KEY_ISSUED",
    KeyRevoked: "KEY_REVOKED",
    RunnerRemoved: "RUNNER_REMOVED",  # runner removal
    BetDelaySet: "BET_DELAY_SET",
    OrderDelayed: "ORDER_DELAYED",
    OrderMatured: "ORDER_MATURED",
    Tick: "TICK",
}
TYPE_BY_NAME: dict[str, type[Any]] = {name: cls for cls, name in TYPE_NAMES.items()}


def taker_value(e: TradeMatched) -> int:
    """The taker's fill size × its own price on its runner A (hundredths, or bps when binary).

    Direct: the resting price. Implied (a ring fill of N − 1 trades, one per other runner): with
    W the taker's P&L if A wins over this trade's legs, 100 × (size ± W) — + for a back (W > 0),
    − for a lay (W < 0). Summed over a ring this is its stake S × 100 × (1 + |ΣW| / S): the
    taker's real odds, whatever N. The side is read from the legs: a back taker's leg on A has
    lose > 0 and its legs on the other runners lose < 0 (a lay's the opposite)."""
    if not e.implied:
        return e.taker_size * e.price
    w = 0
    taker, runner = e.taker_account, e.runner_id
    is_back = True
    seen = False
    for leg in e.legs:
        if leg.account_id == taker:
            if leg.runner_id == runner:
                w += leg.win
                if not seen and leg.lose:
                    is_back, seen = leg.lose > 0, True
            else:
                w -= leg.lose
                if not seen and leg.lose:
                    is_back, seen = leg.lose < 0, True
    return 100 * e.taker_size + 100 * (w if is_back else -w)


def type_name(event: Event) -> str:
    return TYPE_NAMES[type(event)]


def to_dict(event: Event) -> dict[str, Any]:
    """A JSON-friendly view (for `wal inspect --json`): engine units, type name included."""
    d: dict[str, Any] = {"type": type_name(event)}
    d.update(event._asdict())
    if isinstance(event, TradeMatched):
        d["legs"] = [leg._asdict() for leg in event.legs]
    elif isinstance(event, RunnerRemoved):  # runner removal
        d["voided"] = list(event.voided)
        d["reduced"] = [{**r._asdict(), "legs": [leg._asdict() for leg in r.legs]} for r in event.reduced]
    return d
