"""Typed records for ServerMsgs and builders for ClientMsgs (protocol.md), in wire units.

Records keep the wire's units (odds as decimals like 2.52, money as 10.5, binary prices as bps
and sizes as shares) so a UI can show them as they are; bots convert to integer ticks in
`betex.client.bots.book`. Parsing is lenient about unknown or missing optional fields so that
a newer server does not break an older client; an unknown message type becomes `UnknownMsg`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

# --- ServerMsg records -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A reject: `code` is one of domain.md §6 (RejectCode values)."""

    code: str
    message: str = ""


class Level(NamedTuple):
    """One ladder level; `implied` is the part of `size` that is implied liquidity."""

    price: float
    size: float
    implied: float = 0.0


@dataclass(frozen=True, slots=True)
class RunnerLadder:
    """An odds runner's depth: `available_to_back` best (highest) first, `available_to_lay` best (lowest) first."""

    runner_id: int
    available_to_back: tuple[Level, ...]
    available_to_lay: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class ExchangeBook:
    runners: tuple[RunnerLadder, ...]

    def ladder(self, runner_id: int) -> RunnerLadder | None:
        """The ladder of one runner, None if the book has no such runner."""
        for r in self.runners:
            if r.runner_id == runner_id:
                return r
        return None


@dataclass(frozen=True, slots=True)
class BinaryBook:
    """YES-contract depth in bps: `bids` best (highest) first, `asks` best (lowest) first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class RunnerInfo:
    runner_id: int
    label: str
    last_traded_price: float | None = None
    traded_volume: float = 0.0
    status: str = "ACTIVE"  # or REMOVED: a non-runner (REMOVE_RUNNER)
    reduction_factor: float | None = None  # percent, when REMOVED

    @property
    def removed(self) -> bool:
        """A non-runner (REMOVE_RUNNER): it takes no orders and cannot win."""
        return self.status == "REMOVED"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The newest view of one market. `received_ns` is the client's wall clock at receipt."""

    market_id: int
    name: str
    market_model: str
    book_type: str | None
    market_kind: str
    market_state: str
    market_phase: str
    version: int
    seq: int
    ts: int
    total_matched: float
    runners: tuple[RunnerInfo, ...]
    book: ExchangeBook | BinaryBook | None
    received_ns: int = 0

    @property
    def runner_ids(self) -> tuple[int, ...]:
        """The market's runner ids, in snapshot order."""
        return tuple(r.runner_id for r in self.runners)

    @property
    def age_ms(self) -> float:
        """Time between the engine timestamp of the state shown and its receipt here."""
        return max(0.0, (self.received_ns - self.ts) / 1e6) if self.ts and self.received_ns else 0.0


@dataclass(frozen=True, slots=True)
class Status:
    seq: int
    markets: int
    ts: int


@dataclass(frozen=True, slots=True)
class Ack:
    """ACK: `ok`, or the reject in `error`; `detail` carries counts, a seq or ids (e.g.
    `cancelled` for CANCEL_ALL, `seq` for SUBSCRIBE_ORDERS, `account_id` for CREATE_ACCOUNT,
    `key` for ISSUE_KEY)."""

    correlation_id: int | None
    ok: bool
    error: ErrorInfo | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Fill(NamedTuple):
    """One fill of an order. `price` is the resting order's price; `effective_odds` (odds
    markets) is the odds this order actually got, which differs from `price` for an implied
    fill (e.g. backing runner 1 against a back on runner 2); None in binary markets."""

    trade_id: int
    price: float
    size: float
    implied: bool = False
    effective_odds: float | None = None


class OrderResponse(NamedTuple):
    """The order after a PLACE/CANCEL/REPLACE. `error` is set for rejects (status REJECTED).

    A NamedTuple rather than a frozen dataclass: it is built once per reply on the hot path.
    """

    correlation_id: int | None
    status: str
    order_id: int | None = None
    market_id: int | None = None
    runner_id: int | None = None
    side: str | None = None
    price: float | None = None
    size: float = 0.0
    size_matched: float = 0.0
    size_remaining: float = 0.0
    fills: tuple[Fill, ...] = ()
    replacement_order_id: int | None = None
    error: ErrorInfo | None = None

    @property
    def rejected(self) -> bool:
        """True for a REJECTED response (`error` holds the code and message)."""
        return self.error is not None or self.status == "REJECTED"


@dataclass(frozen=True, slots=True)
class OrdersResponse:
    """The reply to PLACE_ORDERS / CANCEL_ORDERS / REPLACE_ORDERS: one result per instruction."""

    correlation_id: int | None
    results: tuple[OrderResponse, ...]


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One change to one of your orders (SUBSCRIBE_ORDERS), in commit order. `fill` is set on
    a fill, `reason` when size left the order otherwise (USER, LAPSED, MARKET_VOIDED, …)."""

    seq: int
    account_id: int
    order_id: int
    market_id: int
    runner_id: int
    side: str
    status: str
    size_matched: float
    size_remaining: float
    fill: Fill | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AccountSettled:
    """Your P&L in a market when it settles (`kind` SETTLED) or is voided (VOIDED, zeros)."""

    seq: int
    account_id: int
    market_id: int
    gross: float
    commission: float
    net: float
    kind: str = "SETTLED"


@dataclass(frozen=True, slots=True)
class MarketInfo:
    market_id: int
    name: str
    market_state: str
    market_phase: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketCreated:
    correlation_id: int | None
    market_id: int
    snapshot: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class MarketUpdated:
    correlation_id: int | None
    market_id: int
    market_state: str
    market_phase: str
    version: int


@dataclass(frozen=True, slots=True)
class MarketList:
    correlation_id: int | None
    markets: tuple[MarketInfo, ...]


@dataclass(frozen=True, slots=True)
class ServerError:
    """`{"ERROR": ...}`: a malformed message (BAD_REQUEST) or another connection-level error."""

    code: str
    message: str
    correlation_id: int | None = None


@dataclass(frozen=True, slots=True)
class UnknownMsg:
    kind: str
    body: Any


ServerMsg = (
    Snapshot
    | Status
    | Ack
    | OrderResponse
    | MarketCreated
    | MarketUpdated
    | MarketList
    | ServerError
    | OrdersResponse
    | OrderUpdate
    | AccountSettled
    | UnknownMsg
)
Reply = Ack | OrderResponse | MarketCreated | MarketUpdated | MarketList | ServerError | OrdersResponse
"""Messages that answer one command (they carry its correlation_id)."""


# --- parsing ---------------------------------------------------------------------------------


def _error(v: Any) -> ErrorInfo | None:
    if not isinstance(v, dict):
        return None
    return ErrorInfo(str(v.get("code", "")), str(v.get("message", "")))


def _levels(rows: Any) -> tuple[Level, ...]:
    if not rows:
        return ()
    return tuple(Level(r["price"], r["size"], r.get("implied") or 0.0) for r in rows)


def parse_snapshot(b: dict[str, Any], received_ns: int | None = None) -> Snapshot:
    """A SNAPSHOT body (also the `/snapshot` HTTP body) as a `Snapshot`."""
    book_raw = b.get("book") or {}
    data = book_raw.get("data") or {}
    book: ExchangeBook | BinaryBook | None
    if book_raw.get("kind") == "BINARY":
        book = BinaryBook(_levels(data.get("bids")), _levels(data.get("asks")))
    elif book_raw.get("kind") == "EXCHANGE":
        book = ExchangeBook(
            tuple(
                RunnerLadder(
                    r["runner_id"], _levels(r.get("available_to_back")), _levels(r.get("available_to_lay"))
                )
                for r in data.get("runners") or ()
            )
        )
    else:
        book = None
    runners = tuple(
        RunnerInfo(
            r["runner_id"],
            str(r.get("label", r["runner_id"])),
            r.get("last_traded_price"),
            r.get("traded_volume") or 0.0,
            str(r.get("status") or "ACTIVE"),
            r.get("reduction_factor"),
        )
        for r in b.get("runners") or ()
    )
    return Snapshot(
        market_id=b["market_id"],
        name=b.get("name", ""),
        market_model=b.get("market_model", ""),
        book_type=b.get("book_type"),
        market_kind=b.get("market_kind", ""),
        market_state=b.get("market_state", ""),
        market_phase=b.get("market_phase", ""),
        version=b.get("version", 0),
        seq=b.get("seq", 0),
        ts=b.get("ts", 0),
        total_matched=b.get("total_matched") or 0.0,
        runners=runners,
        book=book,
        received_ns=time.time_ns() if received_ns is None else received_ns,
    )


def _order_response(b: dict[str, Any]) -> OrderResponse:
    fills = b.get("fills")
    return OrderResponse(
        correlation_id=b.get("correlation_id"),
        status=b.get("status", ""),
        order_id=b.get("order_id"),
        market_id=b.get("market_id"),
        runner_id=b.get("runner_id"),
        side=b.get("side"),
        price=b.get("price"),
        size=b.get("size") or 0.0,
        size_matched=b.get("size_matched") or 0.0,
        size_remaining=b.get("size_remaining") or 0.0,
        fills=tuple(_fill(f) for f in fills) if fills else (),
        replacement_order_id=b.get("replacement_order_id"),
        error=_error(b.get("error")),
    )


def _fill(f: dict[str, Any]) -> Fill:
    return Fill(f["trade_id"], f["price"], f["size"], bool(f.get("implied")), f.get("effective_odds"))


def _order_update(b: dict[str, Any]) -> OrderUpdate:
    fill = b.get("fill")
    return OrderUpdate(
        seq=b["seq"],
        account_id=b.get("account_id", 0),
        order_id=b["order_id"],
        market_id=b["market_id"],
        runner_id=b["runner_id"],
        side=b.get("side", ""),
        status=b.get("status", ""),
        size_matched=b.get("size_matched") or 0.0,
        size_remaining=b.get("size_remaining") or 0.0,
        fill=_fill(fill) if fill else None,
        reason=b.get("reason"),
    )


def parse_market_info(m: dict[str, Any]) -> MarketInfo:
    """One MARKET_LIST row; fields beyond the basic four go to `extra`."""
    known = ("market_id", "name", "market_state", "market_phase")
    return MarketInfo(
        m["market_id"],
        m.get("name", ""),
        m.get("market_state", ""),
        m.get("market_phase", ""),
        {k: v for k, v in m.items() if k not in known},
    )


def parse_market_list(b: dict[str, Any]) -> MarketList:
    """A MARKET_LIST body (or GET /markets)."""
    return MarketList(b.get("correlation_id"), tuple(parse_market_info(m) for m in b.get("markets") or ()))


def parse_server_msg(raw: bytes | str) -> ServerMsg:
    """One ServerMsg from its JSON text. Raises ValueError on JSON that is not a ServerMsg."""
    obj = orjson.loads(raw)
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError("a ServerMsg is an object with exactly one key")
    ((kind, b),) = obj.items()
    if kind == "ORDER_RESPONSE":
        return _order_response(b)
    if kind == "SNAPSHOT":
        return parse_snapshot(b)
    if kind == "STATUS":
        return Status(b.get("seq", 0), b.get("markets", 0), b.get("ts", 0))
    if kind == "ACK":
        return Ack(b.get("correlation_id"), bool(b.get("ok")), _error(b.get("error")), b.get("detail") or {})
    if kind == "MARKET_CREATED":
        snap = b.get("snapshot")
        return MarketCreated(
            b.get("correlation_id"),
            b["market_id"],
            parse_snapshot(snap) if snap and "market_id" in snap else None,
        )
    if kind == "MARKET_UPDATED":
        return MarketUpdated(
            b.get("correlation_id"),
            b["market_id"],
            b.get("market_state", ""),
            b.get("market_phase", ""),
            b.get("version", 0),
        )
    if kind == "MARKET_LIST":
        return parse_market_list(b)
    if kind == "ORDER_UPDATE":
        return _order_update(b)
    if kind == "ORDERS_RESPONSE":
        return OrdersResponse(
            b.get("correlation_id"), tuple(_order_response(r) for r in b.get("results") or ())
        )
    if kind == "ACCOUNT_SETTLED":
        return AccountSettled(
            b["seq"], b.get("account_id", 0), b["market_id"], b.get("gross", 0.0), b.get("commission", 0.0), b.get("net", 0.0),
            b.get("kind", "SETTLED"),
        )  # fmt: skip
    if kind == "ERROR":
        return ServerError(str(b.get("code", "")), str(b.get("message", "")), b.get("correlation_id"))
    return UnknownMsg(kind, b)


# --- ClientMsg builders ----------------------------------------------------------------------
# Each returns the message as a dict ready for `orjson.dumps`; optional fields left at None are
# omitted so the server applies its defaults.


def _msg(kind: str, **fields: Any) -> dict[str, Any]:
    return {kind: {k: v for k, v in fields.items() if v is not None}}


def create_market(
    name: str,
    market_model: str,
    runner_ids: list[int],
    runner_labels: list[str] | None = None,
    *,
    book_type: str | None = None,
    market_kind: str = "PRE_ONLY",
    market_state: str = "OPEN",
    market_phase: str = "PRE",
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """CREATE_MARKET (admin): a market with these runners, OPEN and PRE by default."""
    return _msg(
        "CREATE_MARKET",
        name=name,
        market_model=market_model,
        book_type=book_type,
        market_kind=market_kind,
        market_state=market_state,
        market_phase=market_phase,
        runner_ids=list(runner_ids),
        runner_labels=list(runner_labels) if runner_labels is not None else None,
        correlation_id=correlation_id,
    )


def add_runners(
    market_id: int,
    runner_ids: list[int],
    runner_labels: list[str] | None = None,
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """ADD_RUNNERS (admin, MULTI_RUNNER markets)."""
    return _msg(
        "ADD_RUNNERS",
        market_id=market_id,
        runner_ids=list(runner_ids),
        runner_labels=runner_labels,
        correlation_id=correlation_id,
    )


def list_markets(correlation_id: int | None = None) -> dict[str, Any]:
    """LIST_MARKETS: answered with MARKET_LIST."""
    return _msg("LIST_MARKETS", correlation_id=correlation_id)


def subscribe(market_id: int, depth: int | None = None, correlation_id: int | None = None) -> dict[str, Any]:
    """SUBSCRIBE {market_id}: switch the connection's main snapshot stream."""
    return _msg("SUBSCRIBE", market_id=market_id, depth=depth, correlation_id=correlation_id)


def subscribe_markets(
    market_ids: list[int], depth: int | None = None, correlation_id: int | None = None
) -> dict[str, Any]:
    """SUBSCRIBE {market_ids}: add markets to the connection's stream."""
    return _msg("SUBSCRIBE", market_ids=list(market_ids), depth=depth, correlation_id=correlation_id)


def unsubscribe(market_ids: list[int], correlation_id: int | None = None) -> dict[str, Any]:
    """UNSUBSCRIBE: stop streaming these markets."""
    return _msg("UNSUBSCRIBE", market_ids=list(market_ids), correlation_id=correlation_id)


def subscribe_orders(
    account_id: int, from_seq: int | None = None, correlation_id: int | None = None
) -> dict[str, Any]:
    """SUBSCRIBE_ORDERS: the account's order changes (replayed after `from_seq` if given)."""
    return _msg("SUBSCRIBE_ORDERS", account_id=account_id, from_seq=from_seq, correlation_id=correlation_id)


def order_batch(
    kind: str,
    market_id: int,
    instructions: list[dict[str, Any]],
    account_id: int | None = None,
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """PLACE_ORDERS, CANCEL_ORDERS or REPLACE_ORDERS with 1–200 instruction bodies (no market_id)."""
    return _msg(
        kind,
        market_id=market_id,
        account_id=account_id,
        instructions=instructions,
        correlation_id=correlation_id,
    )


def place_order(
    market_id: int,
    runner_id: int,
    side: str,
    price: float | int,
    size: float | int,
    account_id: int,
    *,
    persistence: str | None = None,
    time_in_force: str | None = None,
    min_fill_size: float | int | None = None,
    client_ref: str | None = None,
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """PLACE_ORDER in wire units: odds 2.52 / money 10.5, or bps 4500 / whole shares."""
    return _msg(
        "PLACE_ORDER",
        market_id=market_id,
        runner_id=runner_id,
        side=str(side),
        price=price,
        size=size,
        account_id=account_id,
        persistence=None if persistence is None else str(persistence),
        time_in_force=None if time_in_force is None else str(time_in_force),
        min_fill_size=min_fill_size,
        client_ref=client_ref,
        correlation_id=correlation_id,
    )


def cancel_order(
    market_id: int,
    order_id: int,
    account_id: int,
    size_reduction: float | int | None = None,
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """CANCEL_ORDER: all that remains, or `size_reduction` of it."""
    return _msg(
        "CANCEL_ORDER",
        market_id=market_id,
        order_id=order_id,
        account_id=account_id,
        size_reduction=size_reduction,
        correlation_id=correlation_id,
    )


def cancel_all(market_id: int, account_id: int, correlation_id: int | None = None) -> dict[str, Any]:
    """CANCEL_ALL: every unmatched order of the account in the market."""
    return _msg("CANCEL_ALL", market_id=market_id, account_id=account_id, correlation_id=correlation_id)


def replace_order(
    market_id: int, order_id: int, account_id: int, new_price: float | int, correlation_id: int | None = None
) -> dict[str, Any]:
    """REPLACE_ORDER: move the remaining size to `new_price` (a new order id)."""
    return _msg(
        "REPLACE_ORDER",
        market_id=market_id,
        order_id=order_id,
        account_id=account_id,
        new_price=new_price,
        correlation_id=correlation_id,
    )


def set_market_state(market_id: int, market_state: str, correlation_id: int | None = None) -> dict[str, Any]:
    """SET_MARKET_STATE (admin): OPEN or SUSPENDED."""
    return _msg(
        "SET_MARKET_STATE", market_id=market_id, market_state=str(market_state), correlation_id=correlation_id
    )


def market_command(kind: str, market_id: int, correlation_id: int | None = None) -> dict[str, Any]:
    """AWAIT_LIVE_MARKET, GO_LIVE_MARKET, CLOSE_MARKET or VOID_MARKET."""
    return _msg(kind, market_id=market_id, correlation_id=correlation_id)


def settle_market(
    market_id: int, winner_runner_ids: list[int], correlation_id: int | None = None
) -> dict[str, Any]:
    """SETTLE_MARKET (admin): settle a CLOSED market with these winners."""
    return _msg(
        "SETTLE_MARKET",
        market_id=market_id,
        winner_runner_ids=list(winner_runner_ids),
        correlation_id=correlation_id,
    )


def void_trades(
    market_id: int,
    trade_ids: list[int] | None = None,
    after_ts: int | None = None,
    correlation_id: int | None = None,
) -> dict[str, Any]:
    """VOID_TRADES (admin): these trade ids, or every trade after `after_ts` (ns)."""
    return _msg(
        "VOID_TRADES",
        market_id=market_id,
        trade_ids=list(trade_ids) if trade_ids is not None else None,
        after_ts=after_ts,
        correlation_id=correlation_id,
    )


def correlation_id_of(msg: dict[str, Any]) -> int | None:
    """The correlation_id inside a ClientMsg dict built above."""
    ((_, body),) = msg.items()
    cid = body.get("correlation_id")
    return cid if isinstance(cid, int) else None
