"""A complete msgspec parser for every ClientMsg, measured by bench/parse.py and not adopted.

Same results and reject codes as core/protocol/parse.py (bench/parse.py checks parity on
thousands of hostile variants), but slower there: see docs/server.md, "Parsing". One C pass
decodes an envelope struct with one optional typed body per message type; the checks msgspec
cannot express (u64 bounds, model-dependent units, lengths, enum values, per-field codes) reuse
the Python readers. Not used by betex itself; needs `pip install msgspec`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
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
    """SUBSCRIBE: switch this connection's snapshot stream to `market_id` at `depth` levels."""

    market_id: int
    depth: int = DEFAULT_DEPTH
    correlation_id: int = 0


ClientRequest = c.Command | ListMarkets | Subscribe


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


def _uint(body: Any, name: str, limit: int) -> int:
    v = getattr(body, name)
    if v is None:
        raise _Bad(_BAD, f"missing field {name!r}")
    if type(v) is not int or v < 0 or v > limit:
        raise _Bad(_BAD, f"{name!r} must be an integer in 0..{limit}")
    return v


def _account(body: Any) -> int:
    """An account id: 1..2^32-1 (0 is the house and cannot trade or be limited)."""
    v = _uint(body, "account_id", U32_MAX)
    if v == 0:
        raise _Bad(_BAD, "'account_id' must be in 1..4294967295 (0 is the house)")
    return v


def _opt_uint(body: Any, name: str, limit: int, default: int) -> int:
    if getattr(body, name) is None:
        return default
    return _uint(body, name, limit)


def _str(body: Any, name: str, max_len: int, default: str | None = None) -> str:
    v = getattr(body, name)
    if v is None:
        if default is None:
            raise _Bad(_BAD, f"missing field {name!r}")
        return default
    if not isinstance(v, str):
        raise _Bad(_BAD, f"{name!r} must be a string")
    if len(v) > max_len:
        raise _Bad(_BAD, f"{name!r} longer than {max_len} characters")
    return v


def _enum(body: Any, name: str, allowed: frozenset[str], default: str | None = None) -> str:
    v = getattr(body, name)
    if v is None:
        if default is None:
            raise _Bad(_BAD, f"missing field {name!r}")
        return default
    if not isinstance(v, str) or v not in allowed:
        raise _Bad(_BAD, f"{name!r} must be one of {', '.join(sorted(allowed))}")
    return str(v)


def _uint_list(body: Any, name: str, limit: int, required: bool = True) -> tuple[int, ...]:
    v = getattr(body, name)
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


def _str_list(body: Any, name: str, max_len: int) -> tuple[str, ...] | None:
    v = getattr(body, name)
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


def _price(body: Any, name: str, model: str) -> int:
    if getattr(body, name) is None:
        raise _Bad(_BAD, f"missing field {name!r}")
    p = price_from_wire(model, getattr(body, name))
    if p is None:
        unit = "a whole number of bps" if model == _BINARY else "decimal odds with ≤ 2 decimals"
        raise _Bad(RejectCode.INVALID_ODDS, f"{name!r} must be {unit}, got {_show(getattr(body, name))}")
    return p


def _size(body: Any, name: str, model: str, required: bool) -> int:
    if getattr(body, name) is None:
        if required:
            raise _Bad(_BAD, f"missing field {name!r}")
        return 0
    s = size_from_wire(model, getattr(body, name))
    if s is None:
        unit = (
            "a positive whole number of shares" if model == _BINARY else "a positive amount with ≤ 2 decimals"
        )
        raise _Bad(RejectCode.INVALID_SIZE, f"{name!r} must be {unit}, got {_show(getattr(body, name))}")
    return s


def _model(body: Any, model_of: ModelOf | None) -> tuple[int, str]:
    market_id = _uint(body, "market_id", U64_MAX)
    if model_of is None:
        return market_id, _EXCHANGE
    model = model_of(market_id)
    if model is None:
        raise _Bad(RejectCode.INVALID_MARKET, f"unknown market {market_id}")
    return market_id, model


# --- one parser per message type -----------------------------------------------------------


def _create_market(b: Any, cid: int, _m: ModelOf | None) -> c.CreateMarket:
    runner_ids = _uint_list(b, "runner_ids", U32_MAX)
    labels = _str_list(b, "runner_labels", MAX_LABEL)
    if labels is None:
        labels = ()  # the engine names them "Runner <id>"
    elif len(labels) != len(runner_ids):
        raise _Bad(_BAD, "'runner_labels' must have one label per runner id")
    book_type = b.book_type
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
    )


def _add_runners(b: Any, cid: int, _m: ModelOf | None) -> c.AddRunners:
    market_id = _uint(b, "market_id", U64_MAX)
    runner_ids = _uint_list(b, "runner_ids", U32_MAX)
    labels = _str_list(b, "runner_labels", MAX_LABEL)
    if labels is None:
        labels = ()  # the engine names them "Runner <id>"
    elif len(labels) != len(runner_ids):
        raise _Bad(_BAD, "'runner_labels' must have one label per runner id")
    return c.AddRunners(market_id, runner_ids, labels, cid)


def _list_markets(b: Any, cid: int, _m: ModelOf | None) -> ListMarkets:
    return ListMarkets(cid)


def _subscribe(b: Any, cid: int, _m: ModelOf | None) -> Subscribe:
    market_id = _uint(b, "market_id", U64_MAX)
    depth = _opt_uint(b, "depth", MAX_DEPTH, DEFAULT_DEPTH)
    if depth < 1:
        raise _Bad(_BAD, f"'depth' must be in 1..{MAX_DEPTH}")
    return Subscribe(market_id, depth, cid)


def _place_order(b: Any, cid: int, model_of: ModelOf | None) -> c.PlaceOrder:
    side = b.side
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
        account_id=_account(b),
        persistence=_enum(b, "persistence", _PERSISTENCE, _LAPSE),
        time_in_force=_enum(b, "time_in_force", _TIF, _GTC),
        min_fill_size=_size(b, "min_fill_size", model, False),
        client_ref=_str(b, "client_ref", MAX_CLIENT_REF, ""),
        correlation_id=cid,
    )


def _cancel_order(b: Any, cid: int, model_of: ModelOf | None) -> c.CancelOrder:
    if b.size_reduction is None:
        market_id, model = _uint(b, "market_id", U64_MAX), _EXCHANGE
    else:
        market_id, model = _model(b, model_of)
    return c.CancelOrder(
        market_id=market_id,
        order_id=_uint(b, "order_id", U64_MAX),
        account_id=_account(b),
        size_reduction=_size(b, "size_reduction", model, False),
        correlation_id=cid,
    )


def _cancel_all(b: Any, cid: int, _m: ModelOf | None) -> c.CancelAll:
    return c.CancelAll(_uint(b, "market_id", U64_MAX), _account(b), cid)


def _replace_order(b: Any, cid: int, model_of: ModelOf | None) -> c.ReplaceOrder:
    market_id, model = _model(b, model_of)
    return c.ReplaceOrder(
        market_id=market_id,
        order_id=_uint(b, "order_id", U64_MAX),
        account_id=_account(b),
        new_price=_price(b, "new_price", model),
        correlation_id=cid,
    )


def _set_market_state(b: Any, cid: int, _m: ModelOf | None) -> c.SetMarketState:
    return c.SetMarketState(_uint(b, "market_id", U64_MAX), _enum(b, "market_state", _STATES), cid)


def _market_only(cls: Any) -> Callable[[Any, int, ModelOf | None], Any]:
    def parse(b: Any, cid: int, _m: ModelOf | None) -> Any:
        return cls(_uint(b, "market_id", U64_MAX), cid)

    return parse


def _settle_market(b: Any, cid: int, _m: ModelOf | None) -> c.SettleMarket:
    return c.SettleMarket(_uint(b, "market_id", U64_MAX), _uint_list(b, "winner_runner_ids", U32_MAX), cid)


def _void_trades(b: Any, cid: int, _m: ModelOf | None) -> c.VoidTrades:
    market_id = _uint(b, "market_id", U64_MAX)
    has_ids = b.trade_ids is not None
    has_ts = b.after_ts is not None
    if has_ids == has_ts:
        raise _Bad(_BAD, "VOID_TRADES needs exactly one of 'trade_ids' or 'after_ts'")
    if has_ids:
        return c.VoidTrades(market_id, _uint_list(b, "trade_ids", U64_MAX), None, cid)
    return c.VoidTrades(market_id, (), _uint(b, "after_ts", U64_MAX), cid)


def _set_account_limit(b: Any, cid: int, _m: ModelOf | None) -> c.SetAccountLimit:
    account_id = _account(b)
    if b.max_liability is None:
        raise _Bad(_BAD, "missing field 'max_liability'")
    v = b.max_liability
    cents = 0 if type(v) is int and v == 0 else size_from_wire(_EXCHANGE, v)
    if cents is None:
        raise _Bad(RejectCode.INVALID_SIZE, f"'max_liability' must be ≥ 0 with ≤ 2 decimals, got {_show(v)}")
    return c.SetAccountLimit(account_id, cents, cid)


_Parser = Callable[[Any, int, ModelOf | None], ClientRequest]

# --- the wire bodies, as msgspec structs ---------------------------------------------------
# One C pass decodes a body and checks its JSON types (an int field takes no bool or float; a
# number field takes int or float; unknown fields are refused). What msgspec cannot express is
# checked in Python by the parsers above: u64 bounds (msgspec's stop at int64), the market's
# model for price/size units, string lengths, enum values, and the spec's code for each field.
# Every field is optional here so that a missing field is the parser's "missing field" error.

_Num = int | float | None


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    correlation_id: int | None = None


class _CreateMarketBody(_Body):
    name: str | None = None
    market_model: str | None = None
    book_type: str | None = None
    market_kind: str | None = None
    market_state: str | None = None
    market_phase: str | None = None
    runner_ids: list[int] | None = None
    runner_labels: list[str] | None = None


class _AddRunnersBody(_Body):
    market_id: int | None = None
    runner_ids: list[int] | None = None
    runner_labels: list[str] | None = None


class _ListMarketsBody(_Body):
    pass


class _SubscribeBody(_Body):
    market_id: int | None = None
    depth: int | None = None


class _PlaceOrderBody(_Body):
    market_id: int | None = None
    runner_id: int | None = None
    side: str | None = None
    price: _Num = None
    size: _Num = None
    account_id: int | None = None
    persistence: str | None = None
    time_in_force: str | None = None
    min_fill_size: _Num = None
    client_ref: str | None = None


class _CancelOrderBody(_Body):
    market_id: int | None = None
    order_id: int | None = None
    account_id: int | None = None
    size_reduction: _Num = None


class _CancelAllBody(_Body):
    market_id: int | None = None
    account_id: int | None = None


class _ReplaceOrderBody(_Body):
    market_id: int | None = None
    order_id: int | None = None
    account_id: int | None = None
    new_price: _Num = None


class _SetMarketStateBody(_Body):
    market_id: int | None = None
    market_state: str | None = None


class _MarketOnlyBody(_Body):
    market_id: int | None = None


class _SettleMarketBody(_Body):
    market_id: int | None = None
    winner_runner_ids: list[int] | None = None


class _VoidTradesBody(_Body):
    market_id: int | None = None
    trade_ids: list[int] | None = None
    after_ts: int | None = None


class _SetAccountLimitBody(_Body):
    account_id: int | None = None
    max_liability: _Num = None


_SPECS: dict[str, tuple[_Parser, type[_Body]]] = {
    "CREATE_MARKET": (_create_market, _CreateMarketBody),
    "ADD_RUNNERS": (_add_runners, _AddRunnersBody),
    "LIST_MARKETS": (_list_markets, _ListMarketsBody),
    "SUBSCRIBE": (_subscribe, _SubscribeBody),
    "PLACE_ORDER": (_place_order, _PlaceOrderBody),
    "CANCEL_ORDER": (_cancel_order, _CancelOrderBody),
    "CANCEL_ALL": (_cancel_all, _CancelAllBody),
    "REPLACE_ORDER": (_replace_order, _ReplaceOrderBody),
    "SET_MARKET_STATE": (_set_market_state, _SetMarketStateBody),
    "AWAIT_LIVE_MARKET": (_market_only(c.AwaitLiveMarket), _MarketOnlyBody),
    "GO_LIVE_MARKET": (_market_only(c.GoLiveMarket), _MarketOnlyBody),
    "CLOSE_MARKET": (_market_only(c.CloseMarket), _MarketOnlyBody),
    "VOID_MARKET": (_market_only(c.VoidMarket), _MarketOnlyBody),
    "SETTLE_MARKET": (_settle_market, _SettleMarketBody),
    "VOID_TRADES": (_void_trades, _VoidTradesBody),
    "SET_ACCOUNT_LIMIT": (_set_account_limit, _SetAccountLimitBody),
}
_PARSERS = _SPECS
_UNSET = msgspec.UNSET

_Envelope = msgspec.defstruct(
    "_Envelope",
    [(name, body | None | msgspec.UnsetType, msgspec.UNSET) for name, (_p, body) in _SPECS.items()],
    forbid_unknown_fields=True,
)
"""A ClientMsg in one C pass: one optional field per message type (UNSET when absent, None for
an explicit null), each a typed body struct."""
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_FIELDS: tuple[str, ...] = tuple(_SPECS)


_FIELD_CODE: dict[str, RejectCode] = {
    "price": RejectCode.INVALID_ODDS,
    "new_price": RejectCode.INVALID_ODDS,
    "size": RejectCode.INVALID_SIZE,
    "min_fill_size": RejectCode.INVALID_SIZE,
    "size_reduction": RejectCode.INVALID_SIZE,
    "max_liability": RejectCode.INVALID_SIZE,
    "side": RejectCode.INVALID_SIDE,
}
"""The spec's code for a wrongly typed field (domain.md §1, §6); any other field: BAD_REQUEST."""


def _type_error(exc: msgspec.ValidationError, raw: bytes | str | None, lenient_obj: Any) -> WireError:
    """A msgspec type error as the field's typed reject: "... - at `$.PLACE_ORDER.price`" →
    INVALID_ODDS for PLACE_ORDER, with the body's correlation id when it is readable."""
    text = str(exc)
    at = text.rfind(" - at `$")
    if at < 0:  # the envelope itself: not an object, or an unknown message type
        if text.startswith("Object contains unknown field"):
            name = text.split("`")[1] if "`" in text else ""
            return WireError(_BAD, f"unknown message type {name[:40]!r}")
        return WireError(_BAD, "a ClientMsg is an object with exactly one key, the message type")
    path = text[at + 9 : -1]
    msg_type, _, rest = path.partition(".")
    msg_type = msg_type.split("[", 1)[0]
    body = _body_of(raw, lenient_obj, msg_type)
    cid = _correlation_id(body)
    if not rest:  # the body: not an object, or an unknown field in it
        if not isinstance(body, dict):
            return WireError(_BAD, f"{msg_type} must hold an object", None, msg_type)
        message = text[:at].replace("Object contains unknown field", "unknown field").replace("`", "'")
        return WireError(_BAD, f"{message[:120]} in {msg_type}", cid, msg_type)
    field = rest.split("[", 1)[0].split(".", 1)[0]
    if field == "correlation_id":
        return WireError(_BAD, "'correlation_id' must be an integer in 0..2^64-1", None, msg_type)
    detail = text[:at].replace("`", "")
    return WireError(_FIELD_CODE.get(field, _BAD), f"{field!r}: {detail[:120]}", cid, msg_type)


def _body_of(raw: bytes | str | None, lenient_obj: Any, msg_type: str) -> Any:
    """The body of `msg_type` as plain JSON values (error path only)."""
    obj = lenient_obj
    if obj is None and raw is not None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj = _lenient_loads(raw)
    return obj.get(msg_type) if isinstance(obj, dict) else None


def _correlation_id(body: Any) -> int | None:
    """A body's correlation id when a type error stopped the decode: 0 when absent, None when
    unreadable."""
    if not isinstance(body, dict):
        return None
    v = body.get("correlation_id")
    if v is None:
        return 0
    return v if type(v) is int and 0 <= v <= U64_MAX else None


CLIENT_MSG_TYPES: tuple[str, ...] = tuple(_PARSERS)
"""Every ClientMsg type the parser knows, in protocol order."""

MSG_TYPE_OF: dict[type, str] = {
    c.CreateMarket: "CREATE_MARKET",
    c.AddRunners: "ADD_RUNNERS",
    ListMarkets: "LIST_MARKETS",
    Subscribe: "SUBSCRIBE",
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
    lenient_obj: Any = None
    try:
        try:
            envelope = _ENVELOPE.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            lenient_obj = _lenient_loads(raw)
            if lenient_obj is None:
                return WireError(_BAD, f"invalid JSON: {exc}")
            envelope = msgspec.convert(lenient_obj, _Envelope)
    except msgspec.ValidationError as exc:
        return _type_error(exc, raw if lenient_obj is None else None, lenient_obj)
    found = [
        (name, v)
        for name, v in zip(_FIELDS, msgspec.structs.astuple(envelope), strict=True)
        if v is not _UNSET
    ]
    if len(found) != 1:
        return WireError(_BAD, "a ClientMsg is an object with exactly one key, the message type")
    msg_type, body = found[0]
    if body is None:
        return WireError(_BAD, f"{msg_type} must hold an object", None, msg_type)
    cid = body.correlation_id
    if cid is None:
        cid = 0
    elif cid < 0 or cid > U64_MAX:
        return WireError(_BAD, "'correlation_id' must be an integer in 0..2^64-1", None, msg_type)
    try:
        return _SPECS[msg_type][0](body, cid, model_of)
    except _Bad as bad:
        return WireError(bad.code, bad.message, cid, msg_type)
