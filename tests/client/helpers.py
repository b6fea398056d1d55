"""Builders for pure-logic client tests: snapshots in wire form and a scripted reply source."""

from __future__ import annotations

from typing import Any

from betex.client import messages as m
from betex.client.bots import Cancel, CancelAll, Command, Place, Replace
from betex.client.bots.book import PriceModel


def odds_snapshot(
    seq: int,
    ladders: dict[int, tuple[list[tuple[float, float]], list[tuple[float, float]]]],
    *,
    market_id: int = 1,
    state: str = "OPEN",
    book_type: str = "MULTI_RUNNER",
    removed: tuple[int, ...] = (),
) -> m.Snapshot:
    """`ladders[runner] = (available_to_back, available_to_lay)` as (price, size) rows; `removed`
    runners are shown as REMOVED (a 25 % reduction factor) with no ladder."""
    body: dict[str, Any] = {
        "market_id": market_id,
        "name": "t",
        "market_model": "EXCHANGE_ODDS",
        "book_type": book_type,
        "market_kind": "PRE_ONLY",
        "market_state": state,
        "market_phase": "PRE",
        "version": 1,
        "seq": seq,
        "ts": 1,
        "total_matched": 0.0,
        "runners": [
            {"runner_id": r, "label": str(r), "traded_volume": 0.0}
            | ({"status": "REMOVED", "reduction_factor": 25.0} if r in removed else {})
            for r in sorted({*ladders, *removed})
        ],
        "book": {
            "kind": "EXCHANGE",
            "data": {
                "runners": [
                    {
                        "runner_id": r,
                        "available_to_back": [{"price": p, "size": s, "implied": 0.0} for p, s in atb],
                        "available_to_lay": [{"price": p, "size": s, "implied": 0.0} for p, s in atl],
                    }
                    for r, (atb, atl) in ladders.items()
                    if r not in removed
                ]
            },
        },
    }
    return m.parse_snapshot(body, received_ns=1)


def binary_snapshot(
    seq: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], *, market_id: int = 1
) -> m.Snapshot:
    body = {
        "market_id": market_id,
        "name": "b",
        "market_model": "BINARY_YES",
        "market_kind": "PRE_ONLY",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "version": 1,
        "seq": seq,
        "ts": 1,
        "total_matched": 0.0,
        "runners": [{"runner_id": 1, "label": "YES"}],
        "book": {
            "kind": "BINARY",
            "data": {
                "bids": [{"price": p, "size": s} for p, s in bids],
                "asks": [{"price": p, "size": s} for p, s in asks],
            },
        },
    }
    return m.parse_snapshot(body, received_ns=1)


class ScriptedReplies:
    """Answers bot commands the way the protocol says, without matching: every order rests.

    It stands in for the server only where the logic under test is the bot's own.
    """

    def __init__(self, model: PriceModel, market_id: int = 1, place_status: str = "ACCEPTED") -> None:
        self.model = model
        self.place_status = place_status
        """ACCEPTED, or DELAYED to answer placements as held by an in-play bet delay."""
        self.market_id = market_id
        self.next_order_id = 1
        self.orders: dict[int, Place] = {}

    def reply(self, corr: int, cmd: Command) -> m.Reply:
        model = self.model
        if type(cmd) is Place:
            oid = self.next_order_id
            self.next_order_id += 1
            self.orders[oid] = cmd
            size = model.to_wire_size(cmd.size)
            return m.OrderResponse(
                corr, self.place_status, oid, self.market_id, cmd.runner_id, cmd.side,
                model.to_wire_price(cmd.idx), size, 0.0, size,
            )  # fmt: skip
        if type(cmd) is Cancel:
            p = self.orders.pop(cmd.order_id, None)
            if p is None:
                return m.OrderResponse(corr, "REJECTED", error=m.ErrorInfo("INVALID_ORDER", "unknown order"))
            return m.OrderResponse(
                corr, "CANCELLED", cmd.order_id, self.market_id, p.runner_id, p.side,
                model.to_wire_price(p.idx), model.to_wire_size(p.size), 0.0, 0.0,
            )  # fmt: skip
        if type(cmd) is Replace:
            p = self.orders.pop(cmd.order_id, None)
            if p is None:
                return m.OrderResponse(corr, "REJECTED", error=m.ErrorInfo("INVALID_ORDER", "unknown order"))
            oid = self.next_order_id
            self.next_order_id += 1
            self.orders[oid] = p._replace(idx=cmd.new_idx)
            return m.OrderResponse(
                corr, "REPLACED", cmd.order_id, self.market_id, p.runner_id, p.side,
                model.to_wire_price(p.idx), model.to_wire_size(p.size), 0.0, 0.0,
                replacement_order_id=oid,
            )  # fmt: skip
        assert type(cmd) is CancelAll
        self.orders.clear()
        return m.Ack(corr, True)
