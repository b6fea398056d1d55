"""What the engine's parts (`lifecycle`, `accounts`) see of the engine: a protocol.

The parts are functions of the engine; typing them against this protocol rather than `Engine`
keeps the imports one-way (engine → parts), as `state.EngineState` does for the dump.
"""

from __future__ import annotations

from typing import Any, Protocol

from betex.core.domain.book.levels import Order
from betex.core.domain.delaybook import DelayBook
from betex.core.domain.events import Event
from betex.core.domain.market import Market
from betex.core.domain.results import OrderResult, Reject
from betex.core.domain.state import EngineState
from betex.core.domain.types import RejectCode


class EngineCore(EngineState, Protocol):
    limits: dict[int, int]
    delayed: DelayBook

    def _emit(self, event: Event) -> None:
        """Record and apply an event built with ``seq = self.seq + 1``."""

    def _emit_cancel(self, market_id: int, order_id: int, size: int, reason: str) -> None:
        """`_emit` of an ORDER_CANCELLED (the hot path's shortcut)."""

    def _match(self, m: Market, taker: Order, steps: list[Any], fok: bool) -> OrderResult:
        """Emit the trades of a planned order; the reply's fills."""

    def _market(self, market_id: int, late: RejectCode = RejectCode.MARKET_NOT_OPEN) -> Market | Reject:
        """The live market, or the reject for a settled, voided or unknown one."""
