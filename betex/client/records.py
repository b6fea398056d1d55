"""Typed records for the HTTP read API (`/orders`, `/trades`, `/risk`), in wire units.

`BetexHttp` returns these instead of raw dicts, so a strategy reads `row.size_matched`, not
`row["size_matched"]`, and a typo is a type error. Unknown fields a newer server adds are
ignored; every field protocol.md documents is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a history query: pass `next_cursor` back as `cursor` until it is None."""

    items: tuple[T, ...]
    next_cursor: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as `/orders` shows it (sizes in money, or shares in binary markets)."""

    order_id: int
    market_id: int
    runner_id: int
    account_id: int
    side: str
    price: float
    size: float
    size_matched: float
    size_remaining: float
    size_cancelled: float
    size_lapsed: float
    size_voided: float
    avg_price_matched: float | None
    status: str
    persistence: str
    time_in_force: str
    client_ref: str
    replaces: int | None
    placed_ts: int
    updated_ts: int

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> OrderRow:
        """From one element of `/orders`' `orders`."""
        return cls(**{f: d.get(f) for f in cls.__dataclass_fields__})  # type: ignore[arg-type]

    @property
    def open(self) -> bool:
        """Something is still unmatched (status EXECUTABLE, or DELAYED: held by an in-play bet
        delay, it enters the book later)."""
        return self.status == "EXECUTABLE" or self.status == "DELAYED"


@dataclass(frozen=True, slots=True)
class TradeRow:
    """A trade as `/trades` shows it; `price` is the resting order's, `effective_odds` the taker's."""

    trade_id: int
    market_id: int
    runner_id: int
    maker_runner_id: int
    price: float
    size: float
    maker_size: float
    implied: bool
    taker_order_id: int
    maker_order_id: int
    taker_account: int
    maker_account: int
    house: float
    ts: int
    voided: bool
    effective_odds: float | None = None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> TradeRow:
        """From one element of `/trades`' `trades`."""
        return cls(**{f: d.get(f) for f in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One account in one market (`/risk`): P&L per outcome over matched bets, worst cases,
    and `settled_pnl` once the market has settled."""

    market_id: int
    account_id: int
    if_win: dict[int, float]
    """Runner id → P&L if that runner wins (binary: the outcome id)."""
    worst_case: float
    worst_case_with_unmatched: float
    matched_volume: float
    open_orders: int
    max_liability: float | None
    settled_pnl: float | None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> RiskRow:
        """From one element of `/risk`'s `risk`."""
        raw = d.get("if_win") or []
        if_win = {int(e["runner_id"]): float(e["pnl"]) for e in raw} if isinstance(raw, list) else {}
        return cls(
            market_id=d["market_id"],
            account_id=d["account_id"],
            if_win=if_win,
            worst_case=d.get("worst_case") or 0.0,
            worst_case_with_unmatched=d.get("worst_case_with_unmatched") or 0.0,
            matched_volume=d.get("matched_volume") or 0.0,
            open_orders=d.get("open_orders") or 0,
            max_liability=d.get("max_liability"),
            settled_pnl=d.get("settled_pnl"),
        )
