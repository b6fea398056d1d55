"""Parse: one ClientMsg (wire JSON) to a typed request in engine units, or a typed reject.

This is the only place the wire's types are checked (architecture.md §1, "parse once, at the
edge"): every command that leaves `parse_client_msg` has exactly its declared field types (an
int is an int, never a bool or a float) and ids within their ranges, so the domain can trust its
input and be compiled. Value checks (ladder membership, stake bounds, ownership) stay in the
domain. Pure: no I/O, and it never raises.

Prices and sizes depend on the market model, which a ClientMsg does not carry: an odds market
takes decimal odds and money, a BINARY_YES market integer bps and whole shares. The caller passes
`model_of(market_id)` (the server uses its projection); a price-bearing message for a market the
lookup does not know is refused with INVALID_MARKET rather than guessed, so a lagging lookup can
cause a spurious reject but never a mispriced order. Without a lookup, odds units are assumed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import orjson

from betex.core.domain import commands as c
from betex.core.domain.money import CENTS
from betex.core.domain.types import (
    U32_MAX,
    U64_MAX,
    BookType,
    MarketKind,
    MarketModel,
    MarketPhase,
    MarketState,
    Persistence,
    RejectCode,
    Side,
    TimeInForce,
)

MAX_MESSAGE_BYTES = 64 * 1024
"""Larger messages close the connection (1009); the parser refuses them too."""
DEFAULT_DEPTH = 10
MAX_DEPTH = 350
MAX_CLIENT_REF = 32
MAX_NAME = 200
MAX_LABEL = 100
MAX_BET_DELAY_MS = 60_000  # as the engine's (domain/validate.py): a larger one is BAD_REQUEST here
MAX_IDS = 10_000
"""Bound on list fields (runner ids, trade ids) so one message cannot ask for unbounded work."""
# Plain strings on the parse path: StrEnum member access costs ~35 ns (and .value more) in 3.11.
_BINARY = "BINARY_YES"
_EXCHANGE = "EXCHANGE_ODDS"
_LAPSE = "LAPSE"
_GTC = "GTC"


class ListMarkets(NamedTuple):
    """LIST_MARKETS: answered by the server from the projection, never reaches the engine."""

    correlation_id: int = 0


class Subscribe(NamedTuple):
    """SUBSCRIBE: `{market_id}` switches this connection's snapshot stream to that market (as
    it always did); `{market_ids}` adds those markets to the ones it streams. `depth` levels."""

    market_id: int
    depth: int = DEFAULT_DEPTH
    correlation_id: int = 0
    market_ids: tuple[int, ...] = ()
    """Non-empty for the `market_ids` form (`market_id` is then its first id)."""


class Unsubscribe(NamedTuple):
    """UNSUBSCRIBE: stop streaming these markets on this connection."""

    market_ids: tuple[int, ...]
    correlation_id: int = 0


class SubscribeOrders(NamedTuple):
    """SUBSCRIBE_ORDERS: stream the account's order changes; replay those after `from_seq`
    first when it is given (None: live from now)."""

    account_id: int
    from_seq: int | None = None
    correlation_id: int = 0


MAX_INSTRUCTIONS = 200
"""Instructions per PLACE_ORDERS / CANCEL_ORDERS / REPLACE_ORDERS (Betfair's bound)."""


class OrderBatch(NamedTuple):
    """PLACE_ORDERS, CANCEL_ORDERS or REPLACE_ORDERS: instructions run in order in one engine
    batch, each on its own. An instruction the parser refuses stays in its place as a
    `WireError` (its result is REJECTED), so results line up with instructions."""

    msg_type: str
    market_id: int
    instructions: tuple[c.Command | WireError, ...]
    correlation_id: int = 0


ClientRequest = c.Command | ListMarkets | Subscribe | Unsubscribe | SubscribeOrders | OrderBatch


class WireError(NamedTuple):
    """A ClientMsg refused before reaching the engine.

    `msg_type` is the ClientMsg type when it could be read ("" otherwise) so the reply can take
    the shape the client waits for (see `render_wire_error`); `correlation_id` is None when the
    message had no readable one.
    """

    code: RejectCode
    message: str
    correlation_id: int | None = None
    msg_type: str = ""


ModelOf = Callable[[int], str | None]


class _Bad(Exception):
    """Internal short-cut out of a parse; never escapes `parse_client_msg`."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_BAD = RejectCode.BAD_REQUEST

_SIDES = frozenset(Side)
_PERSISTENCE = frozenset(Persistence)
_TIF = frozenset(TimeInForce)
_MODELS = frozenset(MarketModel)
_BOOK_TYPES = frozenset(BookType)
_KINDS = frozenset(MarketKind)
_STATES = frozenset(MarketState)
_PHASES = frozenset(MarketPhase)


# --- field readers -------------------------------------------------------------------------


def _uint(body: Mapping[str, Any], name: str, limit: int) -> int:
    v = body.get(name)
    if v is None:
        raise _Bad(_BAD, f"missing field {name!r}")
    if type(v) is not int or v < 0 or v > limit:
        raise _Bad(_BAD, f"{name!r} must be an integer in 0..{limit}")
    return v


def _account(body: Mapping[str, Any]) -> int:
    """An account id: 1..2^32-1 (0 is the house and cannot trade or be limited)."""
    v = _uint(body, "account_id", U32_MAX)
    if v == 0:
        raise _Bad(_BAD, "'account_id' must be in 1..4294967295 (0 is the house)")
    return v


SESSION_ACCOUNT = 0
"""`account_id` of an order command that omitted it: the server puts the connection's account
there (keys mode), or refuses it as a missing field (open mode)."""


def _trader(body: Mapping[str, Any]) -> int:
    """The `account_id` of an order command: optional (the session's account in keys mode)."""
    if body.get("account_id") is None:
        return SESSION_ACCOUNT
    v = _uint(body, "account_id", U32_MAX)
    if v == 0:
        raise _Bad(_BAD, "'account_id' must be in 1..4294967295 (0 is the house)")
    return v


def _opt_uint(body: Mapping[str, Any], name: str, limit: int, default: int) -> int:
    if body.get(name) is None:
        return default
    return _uint(body, name, limit)


def _str(body: Mapping[str, Any], name: str, max_len: int, default: str | None = None) -> str:
    v = body.get(name)
    if v is None:
        if default is None:
            raise _Bad(_BAD, f"missing field {name!r}")
        return default
    if not isinstance(v, str):
        raise _Bad(_BAD, f"{name!r} must be a string")
    if len(v) > max_len:
        raise _Bad(_BAD, f"{name!r} longer than {max_len} characters")
    return v


def _enum(body: Mapping[str, Any], name: str, allowed: frozenset[str], default: str | None = None) -> str:
    v = body.get(name)
    if v is None:
        if default is None:
            raise _Bad(_BAD, f"missing field {name!r}")
        return default
    if not isinstance(v, str) or v not in allowed:
        raise _Bad(_BAD, f"{name!r} must be one of {', '.join(sorted(allowed))}")
    return str(v)


def _uint_list(body: Mapping[str, Any], name: str, limit: int, required: bool = True) -> tuple[int, ...]:
    v = body.get(name)
    if v is None:
        if required:
            raise _Bad(_BAD, f"missing field {name!r}")
        return ()
    if not isinstance(v, list) or len(v) > MAX_IDS:
        raise _Bad(_BAD, f"{name!r} must be a list of at most {MAX_IDS} integers")
    for x in v:
        if type(x) is not int or x < 0 or x > limit:
            raise _Bad(_BAD, f"{name!r} must hold integers in 0..{limit}")
    return tuple(v)


def _str_list(body: Mapping[str, Any], name: str, max_len: int) -> tuple[str, ...] | None:
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > MAX_IDS:
        raise _Bad(_BAD, f"{name!r} must be a list of strings")
    for x in v:
        if not isinstance(x, str) or len(x) > max_len:
            raise _Bad(_BAD, f"{name!r} must hold strings of at most {max_len} characters")
    return tuple(v)


def _show(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


_WIRE_BOUND = 10**13
"""Largest magnitude a wire price or amount may have (far above any valid odds, stake or bps).

It keeps every converted value well inside the engine's signed 64-bit range and every float
exactly convertible (|x × 100| < 2**53), so the conversions below are exact and cannot overflow
(a float near 1.8e306 used to reach `round(inf)`)."""


def scaled_from_wire(value: object, scale: int) -> int | None:
    """`value × scale` as an int when `value` is a JSON number with at most log10(scale)
    decimals and magnitude ≤ `_WIRE_BOUND`; None for anything else. Never raises.

    Exact types only (a bool is not 1). For a float, `round(value × scale) / scale == value`
    holds exactly when `value` is the double nearest some n / scale, i.e. when the JSON text had
    at most that many decimals; NaN and ±Infinity fail the bound check.
    """
    t = type(value)
    if t is int:
        v: int = value  # type: ignore[assignment]
        return v * scale if -_WIRE_BOUND <= v <= _WIRE_BOUND else None
    if t is not float:
        return None
    x: float = value  # type: ignore[assignment]
    if not -_WIRE_BOUND <= x <= _WIRE_BOUND:  # also NaN
        return None
    n = round(x * scale)
    return n if n / scale == x else None


def price_from_wire(model: str, value: object) -> int | None:
    """A wire price in engine units: odds → hundredths (≤ 2 decimals), binary → whole bps.

    Positive, or None. Only the form is checked here; ladder membership and the 1..9999 bps
    range are the engine's (it answers INVALID_ODDS).
    """
    p = scaled_from_wire(value, 1 if model == _BINARY else 100)
    return p if p is not None and p > 0 else None


def size_from_wire(model: str, value: object) -> int | None:
    """A wire size in engine units: odds → cents (≤ 2 decimals), binary → whole shares.

    Positive, or None (zero, -0.0 and negatives are not sizes)."""
    amount = scaled_from_wire(value, 1 if model == _BINARY else CENTS)
    return amount if amount is not None and amount > 0 else None


def _price(body: Mapping[str, Any], name: str, model: str) -> int:
    if body.get(name) is None:
        raise _Bad(_BAD, f"missing field {name!r}")
    p = price_from_wire(model, body[name])
    if p is None:
        unit = "a whole number of bps" if model == _BINARY else "decimal odds with ≤ 2 decimals"
        raise _Bad(RejectCode.INVALID_ODDS, f"{name!r} must be {unit}, got {_show(body[name])}")
    return p


def _size(body: Mapping[str, Any], name: str, model: str, required: bool) -> int:
    if body.get(name) is None:
        if required:
            raise _Bad(_BAD, f"missing field {name!r}")
        return 0
    s = size_from_wire(model, body[name])
    if s is None:
        unit = (
            "a positive whole number of shares" if model == _BINARY else "a positive amount with ≤ 2 decimals"
        )
        raise _Bad(RejectCode.INVALID_SIZE, f"{name!r} must be {unit}, got {_show(body[name])}")
    return s


def _model(body: Mapping[str, Any], model_of: ModelOf | None) -> tuple[int, str]:
    market_id = _uint(body, "market_id", U64_MAX)
    if model_of is None:
        return market_id, _EXCHANGE
    model = model_of(market_id)
    if model is None:
        raise _Bad(RejectCode.INVALID_MARKET, f"unknown market {market_id}")
    return market_id, model


# --- one parser per message type -----------------------------------------------------------


def _create_market(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.CreateMarket:
    runner_ids = _uint_list(b, "runner_ids", U32_MAX)
    labels = _str_list(b, "runner_labels", MAX_LABEL)
    if labels is None:
        labels = ()  # the engine names them "Runner <id>"
    elif len(labels) != len(runner_ids):
        raise _Bad(_BAD, "'runner_labels' must have one label per runner id")
    book_type = b.get("book_type")
    name = _str(b, "name", MAX_NAME)
    if not name:
        raise _Bad(_BAD, "'name' must not be empty")
    return c.CreateMarket(
        name=name,
        market_model=_enum(b, "market_model", _MODELS),
        book_type=None if book_type is None else _enum(b, "book_type", _BOOK_TYPES),
        market_kind=_enum(b, "market_kind", _KINDS, MarketKind.IN_PLAY_CAPABLE.value),
        market_state=_enum(b, "market_state", _STATES, MarketState.OPEN.value),
        market_phase=_enum(b, "market_phase", _PHASES, MarketPhase.PRE.value),
        runner_ids=runner_ids,
        runner_labels=labels,
        correlation_id=cid,
        commission_bps=_opt_uint(b, "commission_bps", 10_000, 0),
        bet_delay_ms=_opt_uint(b, "bet_delay_ms", MAX_BET_DELAY_MS, 0),  # in-play bet delay (§7)
    )


def _add_runners(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.AddRunners:
    market_id = _uint(b, "market_id", U64_MAX)
    runner_ids = _uint_list(b, "runner_ids", U32_MAX)
    labels = _str_list(b, "runner_labels", MAX_LABEL)
    if labels is None:
        labels = ()  # the engine names them "Runner <id>"
    elif len(labels) != len(runner_ids):
        raise _Bad(_BAD, "'runner_labels' must have one label per runner id")
    return c.AddRunners(market_id, runner_ids, labels, cid)


def _list_markets(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> ListMarkets:
    return ListMarkets(cid)


def _subscribe(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> Subscribe:
    depth = _opt_uint(b, "depth", MAX_DEPTH, DEFAULT_DEPTH)
    if depth < 1:
        raise _Bad(_BAD, f"'depth' must be in 1..{MAX_DEPTH}")
    has_one, has_many = b.get("market_id") is not None, b.get("market_ids") is not None
    if has_one == has_many:
        raise _Bad(_BAD, "SUBSCRIBE needs exactly one of 'market_id' or 'market_ids'")
    if has_one:
        return Subscribe(_uint(b, "market_id", U64_MAX), depth, cid)
    ids = _uint_list(b, "market_ids", U64_MAX)
    if not ids:
        raise _Bad(_BAD, "'market_ids' must not be empty")
    ids = tuple(dict.fromkeys(ids))
    return Subscribe(ids[0], depth, cid, ids)


def _unsubscribe(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> Unsubscribe:
    return Unsubscribe(tuple(dict.fromkeys(_uint_list(b, "market_ids", U64_MAX))), cid)


def _subscribe_orders(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> SubscribeOrders:
    from_seq = None if b.get("from_seq") is None else _uint(b, "from_seq", U64_MAX)
    return SubscribeOrders(_trader(b), from_seq, cid)


def _order_batch(msg_type: str, single: str) -> Callable[[Mapping[str, Any], int, ModelOf | None], Any]:
    """The parser of a batch message whose instructions are `single` bodies without market_id."""

    def parse(b: Mapping[str, Any], cid: int, model_of: ModelOf | None) -> OrderBatch:
        market_id = _uint(b, "market_id", U64_MAX)
        if b.get("account_id") is not None:
            _account(b)  # a bad default account is the whole message's fault
        raw = b.get("instructions")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_INSTRUCTIONS:
            raise _Bad(_BAD, f"'instructions' must be a list of 1..{MAX_INSTRUCTIONS} objects")
        inner, fields = _PARSERS[single]
        out: list[c.Command | WireError] = []
        for item in raw:
            if not isinstance(item, dict):
                out.append(WireError(_BAD, "an instruction must be an object", cid, single))
                continue
            unknown = [k for k in item if k not in fields or k == "market_id"]
            if unknown:
                out.append(
                    WireError(_BAD, f"unknown field {unknown[0][:40]!r} in an instruction", cid, single)
                )
                continue
            body = {"account_id": b.get("account_id"), **item, "market_id": market_id}
            try:
                out.append(inner(body, cid, model_of))  # type: ignore[arg-type]
            except _Bad as bad:
                out.append(WireError(bad.code, bad.message, cid, single))
        return OrderBatch(msg_type, market_id, tuple(out), cid)

    return parse


def _place_order(b: Mapping[str, Any], cid: int, model_of: ModelOf | None) -> c.PlaceOrder:
    side = b.get("side")
    if side is None:
        raise _Bad(_BAD, "missing field 'side'")
    if not isinstance(side, str) or side not in _SIDES:
        raise _Bad(RejectCode.INVALID_SIDE, f"'side' must be BACK, LAY, BUY or SELL, got {_show(side)}")
    market_id, model = _model(b, model_of)
    return c.PlaceOrder(
        market_id=market_id,
        runner_id=_uint(b, "runner_id", U32_MAX),
        side=str(side),
        price=_price(b, "price", model),
        size=_size(b, "size", model, True),
        account_id=_trader(b),
        persistence=_enum(b, "persistence", _PERSISTENCE, _LAPSE),
        time_in_force=_enum(b, "time_in_force", _TIF, _GTC),
        min_fill_size=_size(b, "min_fill_size", model, False),
        client_ref=_str(b, "client_ref", MAX_CLIENT_REF, ""),
        correlation_id=cid,
        market_version=_opt_uint(b, "market_version", U64_MAX, 0),
    )


def _cancel_order(b: Mapping[str, Any], cid: int, model_of: ModelOf | None) -> c.CancelOrder:
    if b.get("size_reduction") is None:
        market_id, model = _uint(b, "market_id", U64_MAX), _EXCHANGE
    else:
        market_id, model = _model(b, model_of)
    return c.CancelOrder(
        market_id=market_id,
        order_id=_uint(b, "order_id", U64_MAX),
        account_id=_trader(b),
        size_reduction=_size(b, "size_reduction", model, False),
        correlation_id=cid,
    )


def _cancel_all(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.CancelAll:
    side = b.get("side")
    if side is not None and (not isinstance(side, str) or side not in _SIDES):
        raise _Bad(RejectCode.INVALID_SIDE, f"'side' must be BACK, LAY, BUY or SELL, got {_show(side)}")
    return c.CancelAll(
        _uint(b, "market_id", U64_MAX),
        _trader(b),
        cid,
        None if b.get("runner_id") is None else _uint(b, "runner_id", U32_MAX),
        None if side is None else str(side),
        None if b.get("placed_before_ts") is None else _uint(b, "placed_before_ts", U64_MAX),
    )


def _remaining(body: Mapping[str, Any], name: str, model: str) -> int:
    """A remaining size: as `_size`, but 0 is allowed (REDUCE_ORDER to nothing cancels)."""
    v = body.get(name)
    if v is None:
        raise _Bad(_BAD, f"missing field {name!r}")
    if v == 0 and (type(v) is int or (type(v) is float and math.copysign(1.0, v) > 0)):
        return 0  # 0 and 0.0 alike (protocol.md: "may be 0"); -0.0 is a size's sign error
    return _size(body, name, model, True)


def _reduce_order(b: Mapping[str, Any], cid: int, model_of: ModelOf | None) -> c.ReduceOrder:
    market_id, model = _model(b, model_of)
    return c.ReduceOrder(
        market_id=market_id,
        order_id=_uint(b, "order_id", U64_MAX),
        account_id=_trader(b),
        expected_remaining=_remaining(b, "expected_remaining", model),
        new_remaining=_remaining(b, "new_remaining", model),
        correlation_id=cid,
    )


def _replace_order(b: Mapping[str, Any], cid: int, model_of: ModelOf | None) -> c.ReplaceOrder:
    market_id, model = _model(b, model_of)
    return c.ReplaceOrder(
        market_id=market_id,
        order_id=_uint(b, "order_id", U64_MAX),
        account_id=_trader(b),
        new_price=_price(b, "new_price", model),
        correlation_id=cid,
    )


def _set_market_state(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.SetMarketState:
    return c.SetMarketState(_uint(b, "market_id", U64_MAX), _enum(b, "market_state", _STATES), cid)


def _market_only(cls: Any) -> Callable[[Mapping[str, Any], int, ModelOf | None], Any]:
    def parse(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> Any:
        return cls(_uint(b, "market_id", U64_MAX), cid)

    return parse


def _settle_market(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.SettleMarket:
    return c.SettleMarket(_uint(b, "market_id", U64_MAX), _uint_list(b, "winner_runner_ids", U32_MAX), cid)


def _void_trades(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.VoidTrades:
    market_id = _uint(b, "market_id", U64_MAX)
    has_ids = b.get("trade_ids") is not None
    has_ts = b.get("after_ts") is not None
    if has_ids == has_ts:
        raise _Bad(_BAD, "VOID_TRADES needs exactly one of 'trade_ids' or 'after_ts'")
    if has_ids:
        return c.VoidTrades(market_id, _uint_list(b, "trade_ids", U64_MAX), None, cid)
    return c.VoidTrades(market_id, (), _uint(b, "after_ts", U64_MAX), cid)


def _set_account_limit(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.SetAccountLimit:
    account_id = _account(b)
    if b.get("max_liability") is None:
        raise _Bad(_BAD, "missing field 'max_liability'")
    v = b["max_liability"]
    cents = 0 if type(v) is int and v == 0 else size_from_wire(_EXCHANGE, v)
    if cents is None:
        raise _Bad(RejectCode.INVALID_SIZE, f"'max_liability' must be ≥ 0 with ≤ 2 decimals, got {_show(v)}")
    return c.SetAccountLimit(account_id, cents, cid)


def _create_account(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.CreateAccount:
    return c.CreateAccount(_str(b, "name", MAX_NAME, ""), cid)


def _issue_key(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.IssueKey:
    # The server draws the key and fills in its hash; a client never sends one.
    return c.IssueKey(_account(b), "", cid)


def _revoke_key(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.RevokeKey:
    return c.RevokeKey(_uint(b, "key_id", U64_MAX), cid)


# ---------------------------------------------------------------- runner removal (REMOVE_RUNNER)


def _remove_runner(b: Mapping[str, Any], cid: int, _m: ModelOf | None) -> c.RemoveRunner:
    """REMOVE_RUNNER: `reduction_factor` is a percentage 0..100 with at most 2 decimals, kept as
    hundredths of a percent (12.5 → 1250)."""
    market_id = _uint(b, "market_id", U64_MAX)
    runner_id = _uint(b, "runner_id", U32_MAX)
    if b.get("reduction_factor") is None:
        raise _Bad(_BAD, "missing field 'reduction_factor'")
    factor = scaled_from_wire(b["reduction_factor"], 100)
    if factor is None or not 0 <= factor <= 10000:
        raise _Bad(
            _BAD,
            "'reduction_factor' must be a percentage 0..100 with at most 2 decimals, "
            f"got {_show(b['reduction_factor'])}",
        )
    return c.RemoveRunner(market_id, runner_id, factor, cid)


# ---------------------------------------------------------------- end of runner removal

_Parser = Callable[[Mapping[str, Any], int, ModelOf | None], ClientRequest]

_PARSERS: dict[str, tuple[_Parser, frozenset[str]]] = {
    "CREATE_MARKET": (
        _create_market,
        frozenset(
            {
                "name",
                "market_model",
                "book_type",
                "market_kind",
                "market_state",
                "market_phase",
                "runner_ids",
                "runner_labels",
                "commission_bps",
                "bet_delay_ms",
            }
        ),
    ),
    "ADD_RUNNERS": (_add_runners, frozenset({"market_id", "runner_ids", "runner_labels"})),
    "LIST_MARKETS": (_list_markets, frozenset()),
    "SUBSCRIBE": (_subscribe, frozenset({"market_id", "market_ids", "depth"})),
    "UNSUBSCRIBE": (_unsubscribe, frozenset({"market_ids"})),
    "SUBSCRIBE_ORDERS": (_subscribe_orders, frozenset({"account_id", "from_seq"})),
    "PLACE_ORDER": (
        _place_order,
        frozenset(
            {
                "market_id",
                "runner_id",
                "side",
                "price",
                "size",
                "account_id",
                "persistence",
                "time_in_force",
                "min_fill_size",
                "client_ref",
                "market_version",
            }
        ),
    ),
    "CANCEL_ORDER": (_cancel_order, frozenset({"market_id", "order_id", "account_id", "size_reduction"})),
    "CANCEL_ALL": (
        _cancel_all,
        frozenset({"market_id", "account_id", "runner_id", "side", "placed_before_ts"}),
    ),
    "REPLACE_ORDER": (_replace_order, frozenset({"market_id", "order_id", "account_id", "new_price"})),
    "SET_MARKET_STATE": (_set_market_state, frozenset({"market_id", "market_state"})),
    "AWAIT_LIVE_MARKET": (_market_only(c.AwaitLiveMarket), frozenset({"market_id"})),
    "GO_LIVE_MARKET": (_market_only(c.GoLiveMarket), frozenset({"market_id"})),
    "CLOSE_MARKET": (_market_only(c.CloseMarket), frozenset({"market_id"})),
    "VOID_MARKET": (_market_only(c.VoidMarket), frozenset({"market_id"})),
    "SETTLE_MARKET": (_settle_market, frozenset({"market_id", "winner_runner_ids"})),
    "VOID_TRADES": (_void_trades, frozenset({"market_id", "trade_ids", "after_ts"})),
    "SET_ACCOUNT_LIMIT": (_set_account_limit, frozenset({"account_id", "max_liability"})),
    "REDUCE_ORDER": (
        _reduce_order,
        frozenset({"market_id", "order_id", "account_id", "expected_remaining", "new_remaining"}),
    ),
    "CREATE_ACCOUNT": (_create_account, frozenset({"name"})),
    "ISSUE_KEY": (_issue_key, frozenset({"account_id"})),
    "REVOKE_KEY": (_revoke_key, frozenset({"key_id"})),
}
_BATCH_FIELDS = frozenset({"market_id", "account_id", "instructions"})
_PARSERS["PLACE_ORDERS"] = (_order_batch("PLACE_ORDERS", "PLACE_ORDER"), _BATCH_FIELDS)
_PARSERS["CANCEL_ORDERS"] = (_order_batch("CANCEL_ORDERS", "CANCEL_ORDER"), _BATCH_FIELDS)
_PARSERS["REPLACE_ORDERS"] = (_order_batch("REPLACE_ORDERS", "REPLACE_ORDER"), _BATCH_FIELDS)
_PARSERS["REMOVE_RUNNER"] = (_remove_runner, frozenset({"market_id", "runner_id", "reduction_factor"}))

CLIENT_MSG_TYPES: tuple[str, ...] = tuple(_PARSERS)
"""Every ClientMsg type the parser knows, in protocol order."""

MSG_TYPE_OF: dict[type, str] = {
    c.CreateMarket: "CREATE_MARKET",
    c.AddRunners: "ADD_RUNNERS",
    ListMarkets: "LIST_MARKETS",
    Subscribe: "SUBSCRIBE",
    Unsubscribe: "UNSUBSCRIBE",
    SubscribeOrders: "SUBSCRIBE_ORDERS",
    c.PlaceOrder: "PLACE_ORDER",
    c.CancelOrder: "CANCEL_ORDER",
    c.CancelAll: "CANCEL_ALL",
    c.ReplaceOrder: "REPLACE_ORDER",
    c.SetMarketState: "SET_MARKET_STATE",
    c.AwaitLiveMarket: "AWAIT_LIVE_MARKET",
    c.GoLiveMarket: "GO_LIVE_MARKET",
    c.CloseMarket: "CLOSE_MARKET",
    c.VoidMarket: "VOID_MARKET",
    c.SettleMarket: "SETTLE_MARKET",
    c.VoidTrades: "VOID_TRADES",
    c.SetAccountLimit: "SET_ACCOUNT_LIMIT",
    c.ReduceOrder: "REDUCE_ORDER",
    c.CreateAccount: "CREATE_ACCOUNT",
    c.IssueKey: "ISSUE_KEY",
    c.RevokeKey: "REVOKE_KEY",
    c.RemoveRunner: "REMOVE_RUNNER",  # runner removal
}


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _big_int(text: str) -> int | float:
    # An integer literal too long for any field: a float infinity fails every range check.
    return int(text) if len(text) <= 24 else math.inf


def _lenient_loads(raw: bytes | str) -> Any:
    """The slow path for text orjson refuses: NaN, ±Infinity and numbers beyond a double (what
    Python's `json.dumps` writes for such floats) become floats, so the field that holds them gets
    its typed reject (INVALID_SIZE, INVALID_ODDS, BAD_REQUEST) instead of a bare "invalid JSON".
    None when the text is not JSON even so, or holds a string that is not valid Unicode."""
    try:
        # UTF-8 only, as orjson: json.loads(bytes) would also take UTF-16/32 by their BOM.
        text = raw.decode() if isinstance(raw, bytes) else raw
        msg = json.loads(text, parse_constant=_NON_FINITE.__getitem__, parse_int=_big_int)
    except (ValueError, RecursionError, TypeError, KeyError):  # UnicodeDecodeError is a ValueError
        return None
    return msg if _valid_text(msg) else None


def _valid_text(v: Any) -> bool:
    """No lone surrogates anywhere (orjson would refuse to write such a string back)."""
    if isinstance(v, str):
        try:
            v.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(v, dict):
        return all(_valid_text(k) and _valid_text(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_valid_text(x) for x in v)
    return True


def parse_client_msg(raw: bytes | str, model_of: ModelOf | None = None) -> ClientRequest | WireError:
    """One ClientMsg (JSON text) to a request in engine units, or a `WireError`. Never raises.

    Unknown fields, wrong JSON types and out-of-range ids are BAD_REQUEST; a malformed price is
    INVALID_ODDS, a malformed size INVALID_SIZE, an unknown side INVALID_SIDE. Optional fields
    may be omitted or null. A missing `correlation_id` is 0.
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        return WireError(_BAD, f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        msg = _lenient_loads(raw)
        if msg is None:
            return WireError(_BAD, f"invalid JSON: {exc}")
    if not isinstance(msg, dict) or len(msg) != 1:
        return WireError(_BAD, "a ClientMsg is an object with exactly one key, the message type")
    ((msg_type, body),) = msg.items()
    entry = _PARSERS.get(msg_type)
    if entry is None:
        # Still echo a readable correlation_id, so a client waiting on it gets this ERROR.
        cid = body.get("correlation_id") if isinstance(body, dict) else None
        cid = cid if type(cid) is int and 0 <= cid <= U64_MAX else None
        return WireError(_BAD, f"unknown message type {msg_type[:40]!r}", cid)
    if not isinstance(body, dict):
        return WireError(_BAD, f"{msg_type} must hold an object", None, msg_type)
    cid = body.get("correlation_id")
    if cid is None:
        cid = 0
    elif type(cid) is not int or cid < 0 or cid > U64_MAX:
        return WireError(_BAD, "'correlation_id' must be an integer in 0..2^64-1", None, msg_type)
    parser, fields = entry
    for key in body:
        if key not in fields and key != "correlation_id":
            return WireError(_BAD, f"unknown field {key[:40]!r} in {msg_type}", cid, msg_type)
    try:
        return parser(body, cid, model_of)
    except _Bad as bad:
        return WireError(bad.code, bad.message, cid, msg_type)
