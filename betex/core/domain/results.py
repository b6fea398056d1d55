"""What the engine answers to a command: a value, never an exception (style: errors as values)."""

from __future__ import annotations

from typing import Final, NamedTuple

from betex.core.domain.book.levels import Order
from betex.core.domain.types import RejectCode


class Reject(NamedTuple):
    code: RejectCode
    message: str


class Fill(NamedTuple):
    trade_id: int
    price: int  # the resting order's price (odds hundredths or bps)
    size: int  # the taker's matched size (cents, or shares)
    implied: bool
    effective_odds: float  # the taker's odds for this fill (= price/100 when direct)


class OrderResult(NamedTuple):
    """Answer to PLACE/CANCEL/REPLACE: the order after the command."""

    status: str  # ACCEPTED | CANCELLED | REPLACED
    order_id: int
    market_id: int
    runner_id: int
    side: str
    price: int
    size: int
    size_matched: int
    size_remaining: int
    size_cancelled: int
    fills: tuple[Fill, ...] = ()
    replacement_order_id: int = 0
    replacement: OrderResult | None = None


class MarketResult(NamedTuple):
    """Answer to market admin commands: the market after the change."""

    market_id: int
    market_state: str
    market_phase: str
    version: int
    created: bool = False


class Ack(NamedTuple):
    """Answer to commands with nothing more to say (cancel-all, void trades, limits)."""

    detail: dict[str, int] | None = None


Result = Reject | OrderResult | MarketResult | Ack


def order_result(status: str, o: Order, fills: tuple[Fill, ...] = ()) -> OrderResult:
    """The answer about order `o` as it stands now."""
    result: OrderResult = _new(
        _ORDER_RESULT,
        (status, o.order_id, o.market_id, o.runner_id, o.side, o.price, o.size, o.matched, o.remaining,
         o.cancelled + o.lapsed, fills, 0, None),
    )  # fmt: skip
    return result


# A NamedTuple's own __new__ is interpreted Python; tuple.__new__ builds the same value directly.
_new: Final = tuple.__new__
_ORDER_RESULT: Final = OrderResult
