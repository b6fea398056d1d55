"""Domain enums. Each is a StrEnum whose values are the wire strings (domain.md, protocol.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class MarketModel(StrEnum):
    EXCHANGE_ODDS = "EXCHANGE_ODDS"
    BINARY_YES = "BINARY_YES"


class BookType(StrEnum):
    TWO_RUNNER = "TWO_RUNNER"
    MULTI_RUNNER = "MULTI_RUNNER"
    CROSS_MATCHED = "CROSS_MATCHED"


class MarketKind(StrEnum):
    PRE_ONLY = "PRE_ONLY"
    IN_PLAY_CAPABLE = "IN_PLAY_CAPABLE"


class MarketState(StrEnum):
    OPEN = "OPEN"
    SUSPENDED = "SUSPENDED"
    CLOSED = "CLOSED"
    SETTLED = "SETTLED"
    VOIDED = "VOIDED"
    HALTED = "HALTED"  # emergency stop: placements, cancels and replaces all rejected (domain.md §7)


class MarketPhase(StrEnum):
    PRE = "PRE"
    AWAITING_LIVE = "AWAITING_LIVE"
    IN_PLAY = "IN_PLAY"


class RunnerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"  # a non-runner (REMOVE_RUNNER)


class Side(StrEnum):
    BACK = "BACK"
    LAY = "LAY"
    BUY = "BUY"
    SELL = "SELL"


class Persistence(StrEnum):
    LAPSE = "LAPSE"
    PERSIST = "PERSIST"


class TimeInForce(StrEnum):
    GTC = "GTC"
    FILL_OR_KILL = "FILL_OR_KILL"


class OrderStatus(StrEnum):
    EXECUTABLE = "EXECUTABLE"
    EXECUTION_COMPLETE = "EXECUTION_COMPLETE"
    DELAYED = "DELAYED"  # accepted during an in-play bet delay, not in the book yet (delay.py)


class CancelReason(StrEnum):
    USER = "USER"
    LAPSED = "LAPSED"
    SELF_TRADE = "SELF_TRADE"
    MARKET_CLOSED = "MARKET_CLOSED"
    MARKET_VOIDED = "MARKET_VOIDED"
    FOK_UNFILLED = "FOK_UNFILLED"
    REPLACED = "REPLACED"
    RUNNER_REMOVED = "RUNNER_REMOVED"
    DELAY_VOIDED = "DELAY_VOIDED"


class RejectCode(StrEnum):
    INVALID_ODDS = "INVALID_ODDS"
    INVALID_SIZE = "INVALID_SIZE"
    INVALID_SIDE = "INVALID_SIDE"
    INVALID_MARKET = "INVALID_MARKET"
    INVALID_RUNNER = "INVALID_RUNNER"
    INVALID_ORDER = "INVALID_ORDER"
    NOT_OWNER = "NOT_OWNER"
    MARKET_SUSPENDED = "MARKET_SUSPENDED"
    MARKET_NOT_OPEN = "MARKET_NOT_OPEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    FOK_NOT_FILLED = "FOK_NOT_FILLED"
    LIABILITY_EXCEEDED = "LIABILITY_EXCEEDED"
    DUPLICATE = "DUPLICATE"
    CANCELLED_NOT_PLACED = "CANCELLED_NOT_PLACED"
    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    OVERLOADED = "OVERLOADED"
    MARKET_HALTED = "MARKET_HALTED"
    CONDITION_FAILED = "CONDITION_FAILED"
    VERSION_MISMATCH = "VERSION_MISMATCH"
    RATE_LIMITED = "RATE_LIMITED"


HOUSE_ACCOUNT: Final = 0
"""Books rounding residue so that every outcome's P&L over all accounts sums to exactly 0."""

NO_OUTCOME: Final = -1
"""Outcome key for "NO won" in a BINARY_YES market (its only runner is YES)."""

U32_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1
