"""Property tests of the parse edge: whatever arrives, a typed result, never an exception.

The parser is the only place wire types are checked (architecture.md §1), so these replace the
engine's malformed-input properties: every accepted command has exactly its declared field types
(an int is an int, never a bool or a float) and ids in range, and every refusal carries the
spec's code for the field (domain.md §1, §6; protocol.md "Accounts and sessions").
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from betex.core.domain import commands as c
from betex.core.domain.types import U32_MAX, U64_MAX, RejectCode
from betex.core.protocol import parse
from betex.core.protocol.parse import CLIENT_MSG_TYPES, WireError, parse_client_msg

R = RejectCode
MODELS = {1: "EXCHANGE_ODDS", 2: "BINARY_YES"}

VALID: dict[str, dict[str, Any]] = {
    "CREATE_MARKET": {
        "name": "A v B",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "TWO_RUNNER",
        "market_kind": "IN_PLAY_CAPABLE",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "runner_ids": [1, 2],
        "runner_labels": ["A", "B"],
    },
    "ADD_RUNNERS": {"market_id": 1, "runner_ids": [3], "runner_labels": ["C"]},
    "LIST_MARKETS": {},
    "SUBSCRIBE": {"market_id": 1, "depth": 10},
    "PLACE_ORDER": {
        "market_id": 1,
        "runner_id": 1,
        "side": "BACK",
        "price": 2.5,
        "size": 10.0,
        "account_id": 7,
        "persistence": "LAPSE",
        "time_in_force": "FILL_OR_KILL",
        "min_fill_size": 5.0,
        "client_ref": "x",
    },
    "CANCEL_ORDER": {"market_id": 1, "order_id": 4, "account_id": 7, "size_reduction": 2.0},
    "CANCEL_ALL": {"market_id": 1, "account_id": 7},
    "REPLACE_ORDER": {"market_id": 1, "order_id": 4, "account_id": 7, "new_price": 2.6},
    "SET_MARKET_STATE": {"market_id": 1, "market_state": "SUSPENDED"},
    "AWAIT_LIVE_MARKET": {"market_id": 1},
    "GO_LIVE_MARKET": {"market_id": 1},
    "CLOSE_MARKET": {"market_id": 1},
    "VOID_MARKET": {"market_id": 1},
    "SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": [1]},
    "VOID_TRADES": {"market_id": 1, "trade_ids": [5, 6]},
    "SET_ACCOUNT_LIMIT": {"account_id": 7, "max_liability": 100.0},
    "UNSUBSCRIBE": {"market_ids": [1, 2]},
    "SUBSCRIBE_ORDERS": {"account_id": 7, "from_seq": 5},
    "PLACE_ORDERS": {
        "market_id": 1,
        "account_id": 7,
        "instructions": [{"runner_id": 1, "side": "BACK", "price": 2.5, "size": 10.0}],
    },
    "CANCEL_ORDERS": {"market_id": 1, "account_id": 7, "instructions": [{"order_id": 4}]},
    "REPLACE_ORDERS": {"market_id": 1, "account_id": 7, "instructions": [{"order_id": 4, "new_price": 2.6}]},
    "REDUCE_ORDER": {
        "market_id": 1,
        "order_id": 4,
        "account_id": 7,
        "expected_remaining": 10.0,
        "new_remaining": 4.0,
    },
    "CREATE_ACCOUNT": {"name": "alice"},
    "ISSUE_KEY": {"account_id": 7},
    "REVOKE_KEY": {"key_id": 3},
    "REMOVE_RUNNER": {"market_id": 1, "runner_id": 3, "reduction_factor": 12.5},
}
for _body in VALID.values():
    _body["correlation_id"] = 9

PRICE_FIELDS = {"price", "new_price"}
SIZE_FIELDS = {
    "size",
    "min_fill_size",
    "size_reduction",
    "max_liability",
    "expected_remaining",
    "new_remaining",
}
ID_FIELDS = {
    "market_id", "runner_id", "order_id", "account_id", "depth", "correlation_id", "after_ts", "from_seq",
    "key_id",
}  # fmt: skip
ID_LIST_FIELDS = {"runner_ids", "trade_ids", "winner_runner_ids", "market_ids"}

NUMERIC_SLOTS = [
    (t, f) for t, body in VALID.items() for f in body if f in PRICE_FIELDS | SIZE_FIELDS | ID_FIELDS
] + [("VOID_TRADES", "after_ts")]
ALL_SLOTS = [(t, f) for t, body in VALID.items() for f in body]


def expected_code(field: str) -> RejectCode:
    if field in PRICE_FIELDS:
        return R.INVALID_ODDS
    if field in SIZE_FIELDS:
        return R.INVALID_SIZE
    return R.BAD_REQUEST


def message(msg_type: str, field: str, value: Any) -> dict[str, Any]:
    body = dict(VALID[msg_type])
    if msg_type == "VOID_TRADES" and field == "after_ts":
        del body["trade_ids"]
    body[field] = value
    return {msg_type: body}


def raw_json(msg: Any) -> str:
    """As Python's json writes it: NaN and ±Infinity literals, integers of any length."""
    return json.dumps(msg)


def check_value(value: object, hint: Any, where: str) -> None:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            if arm is type(None) and value is None:
                return
        arms = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(arms) > 1:  # a union of records (a batch's instructions): the one it is
            assert type(value) in arms, f"{where}: {type(value).__name__} is none of {arms}"
            assert_well_typed(value)
            return
        check_value(value, arms[0], where)
        return
    if origin is tuple:
        assert type(value) is tuple, where
        (item, _ellipsis) = typing.get_args(hint)
        for i, x in enumerate(value):
            check_value(x, item, f"{where}[{i}]")
        return
    if hint is int:
        assert type(value) is int, f"{where}: {value!r} is a {type(value).__name__}, not an int"
        assert 0 <= value <= U64_MAX, f"{where}: {value} out of range"
        return
    if hint is str:
        assert type(value) is str, f"{where}: {value!r} is not a str"
        value.encode()  # valid Unicode: no lone surrogates reach the WAL
        return
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        assert type(value) is hint, f"{where}: {value!r} is not a {hint.__name__}"
        assert_well_typed(value)
        return
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        assert isinstance(value, hint), f"{where}: {value!r} is not a {hint.__name__}"
        return
    raise AssertionError(f"{where}: no check for {hint!r}")


def assert_well_typed(request: Any) -> None:
    """Every field has exactly its declared type; ids and amounts are in the engine's ranges."""
    hints = typing.get_type_hints(type(request))
    for name, hint in hints.items():
        check_value(getattr(request, name), hint, f"{type(request).__name__}.{name}")
    fields = request._asdict()
    for name in ("runner_id", "account_id"):
        if fields.get(name) is not None:  # CANCEL_ALL's runner_id filter is optional
            assert fields[name] <= U32_MAX
    if "account_id" in fields:
        # 0 only as "omitted" on an order command: the server binds it to the session's key or
        # refuses it (tests/server/test_accounts.py); account 0, the house, never trades.
        omitted_ok = isinstance(
            request,
            (c.PlaceOrder, c.CancelOrder, c.CancelAll, c.ReplaceOrder, c.ReduceOrder, parse.SubscribeOrders),
        )
        assert fields["account_id"] >= 1 or (omitted_ok and fields["account_id"] == parse.SESSION_ACCOUNT), (
            "account 0 is the house"
        )
    for name in ("price", "new_price", "size"):
        if name in fields:
            assert 0 < fields[name] <= 10**15
    for name in ("runner_ids", "winner_runner_ids"):
        if name in fields:
            assert all(r <= U32_MAX for r in fields[name])


def parse_checked(raw: str | bytes, model_of: Any = MODELS.get) -> Any:
    result = parse_client_msg(raw, model_of)
    if isinstance(result, WireError):
        assert isinstance(result.code, RejectCode)
        assert isinstance(result.message, str)
        assert result.correlation_id is None or type(result.correlation_id) is int
    else:
        assert_well_typed(result)
    return result


any_float = st.floats(allow_nan=True, allow_infinity=True)
any_int = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**64), 10**20]),
)
edge_numbers = st.sampled_from(
    [1e308, -1e308, 1.8e306, 1.7976931348623157e308, math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324]
    + [2.555, 10.001, 0.005, 1e13, 1e13 + 0.01, 9.999999999999999e12, 2.5, 10.0]
)
numbers = st.one_of(any_float, any_int, edge_numbers)


@settings(max_examples=3000, deadline=None)
@given(slot=st.sampled_from(NUMERIC_SLOTS), value=numbers, model=st.sampled_from([1, 2]))
def test_every_number_in_every_numeric_field_gets_a_typed_result(
    slot: tuple[str, str], value: float | int, model: int
) -> None:
    msg_type, field = slot
    msg = message(msg_type, field, value)
    body = msg[msg_type]
    if model == 2 and "market_id" in body and field != "market_id":  # BINARY_YES: bps, whole shares
        body["market_id"] = 2
        for name, whole in (("price", 4500), ("new_price", 4600), ("size", 10), ("min_fill_size", 5)):
            if name in body and name != field:
                body[name] = whole
        if "size_reduction" in body and field != "size_reduction":
            body["size_reduction"] = 2
    result = parse_checked(raw_json(msg))
    if isinstance(result, WireError):
        if field == "market_id" and type(value) is int and 0 <= value <= U64_MAX:
            assert result.code is R.INVALID_MARKET  # a well-formed id the lookup does not know
        else:
            assert result.code is expected_code(field), (slot, value, result)
        if field != "correlation_id":
            assert result.correlation_id == 9
    else:
        if field in ID_FIELDS:
            assert type(value) is int
        if field in PRICE_FIELDS | SIZE_FIELDS:
            assert math.isfinite(value)
            assert (
                value > 0
                or (field == "max_liability" and type(value) is int and value == 0)  # 0: no limit
                or (field in ("expected_remaining", "new_remaining") and value == 0)  # 0 or 0.0: empty
            )


@settings(max_examples=300, deadline=None)
@given(
    slot=st.sampled_from(NUMERIC_SLOTS),
    value=st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999"]),
)
def test_non_finite_literals_are_typed_rejects_of_their_field(slot: tuple[str, str], value: str) -> None:
    """What Python's json writes for nan/inf (and numbers past a double) is not JSON, but the
    reply still names the field's code, not a bare invalid-JSON error."""
    msg_type, field = slot
    raw = raw_json(message(msg_type, field, "@@")).replace('"@@"', value)
    result = parse_checked(raw)
    assert isinstance(result, WireError)
    assert result.code is expected_code(field), (slot, value, result)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        any_int,
        any_float,
        edge_numbers,
        st.text(max_size=40),
        st.sampled_from(["BACK", "LAY", "BUY", "SELL", "OPEN", "EXCHANGE_ODDS", "", "\ud800"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=3000, deadline=None)
@given(
    slot=st.sampled_from(ALL_SLOTS),
    value=json_values,
    model_of=st.sampled_from([MODELS.get, None, lambda _m: "BINARY_YES", lambda _m: None]),
)
def test_wrongly_typed_fields_of_every_command_never_raise(
    slot: tuple[str, str], value: Any, model_of: Any
) -> None:
    msg_type, field = slot
    raw = raw_json(message(msg_type, field, value))
    result = parse_checked(raw, model_of)
    if isinstance(result, WireError):
        assert result.code in {
            R.BAD_REQUEST,
            R.INVALID_ODDS,
            R.INVALID_SIZE,
            R.INVALID_SIDE,
            R.INVALID_MARKET,
        }


@settings(max_examples=1000, deadline=None)
@given(
    msg_type=st.sampled_from(CLIENT_MSG_TYPES),
    body=st.dictionaries(
        st.sampled_from(sorted({f for b in VALID.values() for f in b})), json_values, max_size=8
    ),
)
def test_arbitrary_bodies_never_raise(msg_type: str, body: dict[str, Any]) -> None:
    parse_checked(raw_json({msg_type: body}))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CLIENT_MSG_TYPES))
def test_the_valid_examples_parse_and_are_well_typed(msg_type: str) -> None:
    result = parse_checked(raw_json({msg_type: VALID[msg_type]}))
    assert not isinstance(result, WireError), result
    assert result.correlation_id == 9


def test_the_slots_cover_every_message_type() -> None:
    assert set(VALID) == set(CLIENT_MSG_TYPES)


def test_the_lenient_path_reads_utf8_only() -> None:
    """NaN goes through the stdlib decoder; it must not accept what orjson would not (UTF-16)."""
    text = '{"PLACE_ORDER": {"market_id": 1, "runner_id": 1, "side": "BACK", "price": NaN, "size": 2.0, "account_id": 7}}'
    assert parse_checked(text.encode()).code is R.INVALID_ODDS
    for encoded in (text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + text.encode()):
        result = parse_checked(encoded)
        assert isinstance(result, WireError) and result.code is R.BAD_REQUEST
        assert result.message.startswith("invalid JSON")
