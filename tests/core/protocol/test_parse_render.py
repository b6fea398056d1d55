"""The wire codec: every ClientMsg parses to engine units; every malformed class gets its code."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betex.core.domain import commands as c
from betex.core.domain.results import Ack, Fill, MarketResult, OrderResult, Reject
from betex.core.domain.types import RejectCode
from betex.core.protocol.parse import (
    CLIENT_MSG_TYPES,
    MAX_MESSAGE_BYTES,
    SESSION_ACCOUNT,
    ListMarkets,
    OrderBatch,
    Subscribe,
    SubscribeOrders,
    Unsubscribe,
    WireError,
    parse_client_msg,
    price_from_wire,
    size_from_wire,
)
from betex.core.protocol.render import (
    dumps,
    render_ack,
    render_error,
    render_market_list,
    render_market_updated,
    render_order_response,
    render_reply,
    render_wire_error,
)

MODELS = {1: "EXCHANGE_ODDS", 2: "BINARY_YES"}


def parse(msg: Any, model_of: Any = MODELS.get) -> Any:
    raw = msg if isinstance(msg, (bytes, str)) else orjson.dumps(msg)
    return parse_client_msg(raw, model_of)


def place(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market_id": 1,
        "runner_id": 1,
        "side": "BACK",
        "price": 2.5,
        "size": 10.0,
        "account_id": 7,
    }
    body.update(over)
    return {"PLACE_ORDER": {k: v for k, v in body.items() if v is not ...}}


def error_code(result: Any) -> RejectCode:
    assert isinstance(result, WireError), result
    return result.code


# --- every message type parses --------------------------------------------------------------


def test_place_order_parses_to_hundredths_and_cents() -> None:
    msg = place(persistence="PERSIST", time_in_force="FILL_OR_KILL", min_fill_size=5.5, client_ref="abc")
    msg["PLACE_ORDER"]["correlation_id"] = 30064771073
    assert parse(msg) == c.PlaceOrder(
        1, 1, "BACK", 250, 1000, 7, "PERSIST", "FILL_OR_KILL", 550, "abc", 30064771073
    )


def test_place_order_defaults() -> None:
    assert parse(place()) == c.PlaceOrder(1, 1, "BACK", 250, 1000, 7, "LAPSE", "GTC", 0, "", 0)


def test_binary_place_order_takes_bps_and_whole_shares() -> None:
    assert parse(place(market_id=2, side="BUY", price=4500, size=10)) == c.PlaceOrder(
        2, 1, "BUY", 4500, 10, 7
    )
    assert parse(place(market_id=2, side="SELL", price=4500.0, size=3.0)).size == 3


def test_binary_rejects_fractional_shares_and_bps() -> None:
    assert error_code(parse(place(market_id=2, side="BUY", price=4500, size=1.5))) == RejectCode.INVALID_SIZE
    assert error_code(parse(place(market_id=2, side="BUY", price=45.5, size=1))) == RejectCode.INVALID_ODDS


def test_without_a_model_lookup_odds_units_are_assumed() -> None:
    assert parse(place(market_id=99), None).price == 250


def test_price_bearing_message_for_unknown_market_is_invalid_market() -> None:
    assert error_code(parse(place(market_id=99))) == RejectCode.INVALID_MARKET
    replace = {"REPLACE_ORDER": {"market_id": 99, "order_id": 1, "account_id": 1, "new_price": 2}}
    assert error_code(parse(replace)) == RejectCode.INVALID_MARKET


def test_create_market() -> None:
    msg = {
        "CREATE_MARKET": {
            "name": "Arsenal v Chelsea",
            "market_model": "EXCHANGE_ODDS",
            "book_type": "MULTI_RUNNER",
            "market_kind": "IN_PLAY_CAPABLE",
            "market_state": "OPEN",
            "market_phase": "PRE",
            "runner_ids": [1, 2, 3],
            "runner_labels": ["Home", "Draw", "Away"],
            "correlation_id": 1,
        }
    }
    assert parse(msg) == c.CreateMarket(
        "Arsenal v Chelsea",
        "EXCHANGE_ODDS",
        "MULTI_RUNNER",
        "IN_PLAY_CAPABLE",
        "OPEN",
        "PRE",
        (1, 2, 3),
        ("Home", "Draw", "Away"),
        1,
    )


def test_create_market_defaults_and_binary_without_book_type() -> None:
    got = parse({"CREATE_MARKET": {"name": "Rain?", "market_model": "BINARY_YES", "runner_ids": [1]}})
    assert got == c.CreateMarket("Rain?", "BINARY_YES", None, "IN_PLAY_CAPABLE", "OPEN", "PRE", (1,), (), 0)


def test_create_market_label_count_must_match() -> None:
    msg = {
        "CREATE_MARKET": {
            "name": "x",
            "market_model": "EXCHANGE_ODDS",
            "runner_ids": [1, 2],
            "runner_labels": ["a"],
        }
    }
    assert error_code(parse(msg)) == RejectCode.BAD_REQUEST


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (
            {"ADD_RUNNERS": {"market_id": 1, "runner_ids": [4], "runner_labels": ["Other"]}},
            c.AddRunners(1, (4,), ("Other",)),
        ),
        ({"LIST_MARKETS": {"correlation_id": 2}}, ListMarkets(2)),
        ({"LIST_MARKETS": {}}, ListMarkets(0)),
        ({"SUBSCRIBE": {"market_id": 1, "depth": 10}}, Subscribe(1, 10)),
        ({"SUBSCRIBE": {"market_id": 3}}, Subscribe(3, 10)),
        ({"SUBSCRIBE": {"market_ids": [3, 1, 3], "depth": 2}}, Subscribe(3, 2, 0, (3, 1))),
        ({"UNSUBSCRIBE": {"market_ids": [3]}}, Unsubscribe((3,))),
        ({"SUBSCRIBE_ORDERS": {"account_id": 7}}, SubscribeOrders(7, None)),
        (
            {"SUBSCRIBE_ORDERS": {"account_id": 7, "from_seq": 0, "correlation_id": 4}},
            SubscribeOrders(7, 0, 4),
        ),
        (
            {
                "CANCEL_ORDERS": {
                    "market_id": 1,
                    "account_id": 7,
                    "instructions": [{"order_id": 4}, {"order_id": 5, "account_id": 8}],
                }
            },
            OrderBatch("CANCEL_ORDERS", 1, (c.CancelOrder(1, 4, 7, 0), c.CancelOrder(1, 5, 8, 0))),
        ),  # fmt: skip
        (
            {"REPLACE_ORDERS": {"market_id": 1, "instructions": [{"order_id": 4, "new_price": 2.6}, 7]}},
            OrderBatch(
                "REPLACE_ORDERS",
                1,
                (
                    c.ReplaceOrder(1, 4, SESSION_ACCOUNT, 260),  # the server binds or refuses it
                    WireError(RejectCode.BAD_REQUEST, "an instruction must be an object", 0, "REPLACE_ORDER"),
                ),
            ),
        ),  # fmt: skip
        (
            {"CANCEL_ORDER": {"market_id": 1, "order_id": 42, "account_id": 7, "size_reduction": 2.0}},
            c.CancelOrder(1, 42, 7, 200),
        ),
        (
            {"CANCEL_ORDER": {"market_id": 2, "order_id": 42, "account_id": 7, "size_reduction": 2}},
            c.CancelOrder(2, 42, 7, 2),
        ),
        ({"CANCEL_ORDER": {"market_id": 99, "order_id": 42, "account_id": 7}}, c.CancelOrder(99, 42, 7, 0)),
        ({"CANCEL_ALL": {"market_id": 1, "account_id": 7}}, c.CancelAll(1, 7)),
        (
            {"REPLACE_ORDER": {"market_id": 1, "order_id": 42, "account_id": 7, "new_price": 2.6}},
            c.ReplaceOrder(1, 42, 7, 260),
        ),
        (
            {"REPLACE_ORDER": {"market_id": 2, "order_id": 42, "account_id": 7, "new_price": 5100}},
            c.ReplaceOrder(2, 42, 7, 5100),
        ),
        (
            {"SET_MARKET_STATE": {"market_id": 1, "market_state": "SUSPENDED"}},
            c.SetMarketState(1, "SUSPENDED"),
        ),
        ({"AWAIT_LIVE_MARKET": {"market_id": 1}}, c.AwaitLiveMarket(1)),
        ({"GO_LIVE_MARKET": {"market_id": 1, "correlation_id": 5}}, c.GoLiveMarket(1, 5)),
        ({"CLOSE_MARKET": {"market_id": 1}}, c.CloseMarket(1)),
        ({"VOID_MARKET": {"market_id": 1}}, c.VoidMarket(1)),
        ({"SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": [1]}}, c.SettleMarket(1, (1,))),
        ({"SETTLE_MARKET": {"market_id": 2, "winner_runner_ids": []}}, c.SettleMarket(2, ())),
        ({"VOID_TRADES": {"market_id": 1, "trade_ids": [5, 6]}}, c.VoidTrades(1, (5, 6))),
        (
            {"VOID_TRADES": {"market_id": 1, "after_ts": 1732406400000000000}},
            c.VoidTrades(1, (), 1732406400000000000),
        ),
        ({"SET_ACCOUNT_LIMIT": {"account_id": 7, "max_liability": 500.25}}, c.SetAccountLimit(7, 50025)),
        ({"SET_ACCOUNT_LIMIT": {"account_id": 7, "max_liability": 0}}, c.SetAccountLimit(7, 0)),
        (
            {"CANCEL_ALL": {"market_id": 1, "account_id": 7, "runner_id": 0, "side": "LAY"}},
            c.CancelAll(1, 7, 0, 0, "LAY"),
        ),
        (
            {"CANCEL_ALL": {"market_id": 1, "account_id": 7, "placed_before_ts": 1732406400000000000}},
            c.CancelAll(1, 7, 0, None, None, 1732406400000000000),
        ),
        (
            {
                "REDUCE_ORDER": {
                    "market_id": 1,
                    "order_id": 4,
                    "account_id": 7,
                    "expected_remaining": 10.5,
                    "new_remaining": 0,
                }
            },
            c.ReduceOrder(1, 4, 7, 1050, 0),
        ),
        (  # protocol.md: both sizes may be 0, written 0 or 0.0
            {
                "REDUCE_ORDER": {
                    "market_id": 1,
                    "order_id": 4,
                    "account_id": 7,
                    "expected_remaining": 0.0,
                    "new_remaining": 0.0,
                }
            },
            c.ReduceOrder(1, 4, 7, 0, 0),
        ),
        (
            {
                "PLACE_ORDER": {
                    "market_id": 1,
                    "runner_id": 1,
                    "side": "BACK",
                    "price": 2.5,
                    "size": 10.0,
                    "account_id": 7,
                    "market_version": 3,
                }
            },
            c.PlaceOrder(1, 1, "BACK", 250, 1000, 7, market_version=3),
        ),
        (
            {
                "CREATE_MARKET": {
                    "name": "m",
                    "market_model": "EXCHANGE_ODDS",
                    "book_type": "CROSS_MATCHED",
                    "runner_ids": [1, 2, 3],
                    "commission_bps": 250,
                }
            },
            c.CreateMarket(
                "m",
                "EXCHANGE_ODDS",
                "CROSS_MATCHED",
                "IN_PLAY_CAPABLE",
                "OPEN",
                "PRE",
                (1, 2, 3),
                (),
                commission_bps=250,
            ),
        ),
        ({"CREATE_ACCOUNT": {"name": "alice"}}, c.CreateAccount("alice")),
        ({"CREATE_ACCOUNT": {}}, c.CreateAccount("")),
        ({"ISSUE_KEY": {"account_id": 7}}, c.IssueKey(7, "")),
        ({"REVOKE_KEY": {"key_id": 3}}, c.RevokeKey(3)),
        (
            {"REMOVE_RUNNER": {"market_id": 1, "runner_id": 3, "reduction_factor": 12.5}},
            c.RemoveRunner(1, 3, 1250),
        ),
        ({"REMOVE_RUNNER": {"market_id": 1, "runner_id": 0, "reduction_factor": 0}}, c.RemoveRunner(1, 0, 0)),
        (
            {"REMOVE_RUNNER": {"market_id": 1, "runner_id": 2, "reduction_factor": 100}},
            c.RemoveRunner(1, 2, 10000),
        ),
        # account_id omitted on an order command: the session's account (keys mode)
        ({"CANCEL_ALL": {"market_id": 1}}, c.CancelAll(1, 0)),
    ],
)
def test_message_parses(msg: dict[str, Any], expected: Any) -> None:
    assert parse(msg) == expected


def test_every_message_type_is_covered_above() -> None:
    assert set(CLIENT_MSG_TYPES) == {
        "CREATE_MARKET",
        "ADD_RUNNERS",
        "LIST_MARKETS",
        "SUBSCRIBE",
        "PLACE_ORDER",
        "CANCEL_ORDER",
        "CANCEL_ALL",
        "REPLACE_ORDER",
        "SET_MARKET_STATE",
        "AWAIT_LIVE_MARKET",
        "GO_LIVE_MARKET",
        "CLOSE_MARKET",
        "VOID_MARKET",
        "SETTLE_MARKET",
        "VOID_TRADES",
        "SET_ACCOUNT_LIMIT",
        "UNSUBSCRIBE",
        "SUBSCRIBE_ORDERS",
        "PLACE_ORDERS",
        "CANCEL_ORDERS",
        "REPLACE_ORDERS",
        "REDUCE_ORDER",
        "CREATE_ACCOUNT",
        "ISSUE_KEY",
        "REVOKE_KEY",
        "REMOVE_RUNNER",
    }


def test_str_input_and_u64_correlation_id() -> None:
    msg = '{"LIST_MARKETS": {"correlation_id": 18446744073709551615}}'
    assert parse_client_msg(msg) == ListMarkets(2**64 - 1)


# --- malformed classes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b'"\xed\xa0\x80"',  # a UTF-8 encoded surrogate
        b"[]",
        b"42",
        b"null",
        b'"PLACE_ORDER"',
        b"{}",
        b'{"LIST_MARKETS": {}, "SUBSCRIBE": {"market_id": 1}}',
        b'{"NO_SUCH_THING": {}}',
        b'{"place_order": {}}',
        b'{"LIST_MARKETS": []}',
        b'{"LIST_MARKETS": null}',
        b'{"LIST_MARKETS": {"correlation_id": -1}}',
        b'{"LIST_MARKETS": {"correlation_id": 18446744073709551616}}',
        b'{"LIST_MARKETS": {"correlation_id": "1"}}',
        b'{"LIST_MARKETS": {"correlation_id": 1.0}}',
        b'{"LIST_MARKETS": {"correlation_id": true}}',
        b'{"LIST_MARKETS": {"extra": 1}}',
        b'{"SUBSCRIBE": {}}',
        b'{"SUBSCRIBE": {"market_id": 1, "depth": 0}}',
        b'{"SUBSCRIBE": {"market_id": 1, "depth": 351}}',
        b'{"SUBSCRIBE": {"market_id": "1"}}',
        b'{"CANCEL_ALL": {"market_id": 1, "account_id": 0}}',  # omitted is the session account; 0 never
        b'{"CANCEL_ALL": {"market_id": 1, "account_id": 4294967296}}',
        b'{"SET_MARKET_STATE": {"market_id": 1, "market_state": "PAUSED"}}',
        b'{"SET_MARKET_STATE": {"market_id": 1, "market_state": "open"}}',
        b'{"SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": 1}}',
        b'{"SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": ["1"]}}',
        b'{"VOID_TRADES": {"market_id": 1}}',
        b'{"VOID_TRADES": {"market_id": 1, "trade_ids": [1], "after_ts": 5}}',
        b'{"CREATE_MARKET": {"name": 5, "market_model": "EXCHANGE_ODDS", "runner_ids": [1, 2]}}',
        b'{"CREATE_MARKET": {"name": "x", "market_model": "FOOTBALL", "runner_ids": [1, 2]}}',
        b'{"CREATE_MARKET": {"name": "x", "market_model": "EXCHANGE_ODDS", "book_type": "THREE", "runner_ids": [1]}}',
        b'{"CREATE_MARKET": {"name": "x", "market_model": "EXCHANGE_ODDS"}}',
    ],
)
def test_malformed_is_bad_request(raw: bytes) -> None:
    assert error_code(parse_client_msg(raw, MODELS.get)) == RejectCode.BAD_REQUEST


@pytest.mark.parametrize("size", [10.001, 0, 0.0, -5, -0.01, "10", True, False, [10], {"x": 1}, 1e300])
def test_bad_size_is_invalid_size(size: Any) -> None:
    assert error_code(parse(place(size=size))) == RejectCode.INVALID_SIZE


@pytest.mark.parametrize("price", [2.555, "2.5", True, None, [2.5], -0.001])
def test_bad_price_is_invalid_odds(price: Any) -> None:
    got = parse(place(price=price))
    assert error_code(got) == (RejectCode.INVALID_ODDS if price is not None else RejectCode.BAD_REQUEST)


def test_off_ladder_but_well_formed_price_is_left_to_the_engine() -> None:
    assert parse(place(price=2.51)).price == 251


@pytest.mark.parametrize("side", ["back", "HOLD", 1, True, ["BACK"]])
def test_bad_side_is_invalid_side(side: Any) -> None:
    assert error_code(parse(place(side=side))) == RejectCode.INVALID_SIDE


def test_missing_required_fields_are_bad_request() -> None:
    for field in ("market_id", "runner_id", "side", "size", "price"):
        got = parse(place(**{field: ...}))
        assert error_code(got) == RejectCode.BAD_REQUEST, field


def test_an_omitted_account_id_is_the_session_account() -> None:
    # The server binds it to the connection's key, or answers ERROR BAD_REQUEST without one
    # (tests/server/test_accounts.py); the parser only marks it.
    got = parse(place(account_id=...))
    assert isinstance(got, c.PlaceOrder)
    assert got.account_id == SESSION_ACCOUNT


def test_unknown_field_and_bad_enums_are_bad_request() -> None:
    assert error_code(parse(place(sise=10))) == RejectCode.BAD_REQUEST
    assert error_code(parse(place(persistence="KEEP"))) == RejectCode.BAD_REQUEST
    assert error_code(parse(place(time_in_force="IOC"))) == RejectCode.BAD_REQUEST
    assert error_code(parse(place(client_ref="x" * 33))) == RejectCode.BAD_REQUEST
    assert error_code(parse(place(client_ref=5))) == RejectCode.BAD_REQUEST


def test_bad_min_fill_and_size_reduction_are_invalid_size() -> None:
    assert error_code(parse(place(min_fill_size=-1))) == RejectCode.INVALID_SIZE
    cancel = {"CANCEL_ORDER": {"market_id": 1, "order_id": 1, "account_id": 1, "size_reduction": 0.001}}
    assert error_code(parse(cancel)) == RejectCode.INVALID_SIZE
    limit = {"SET_ACCOUNT_LIMIT": {"account_id": 1, "max_liability": -3}}
    assert error_code(parse(limit)) == RejectCode.INVALID_SIZE


def test_error_keeps_the_correlation_id_when_readable() -> None:
    got = parse(place(size=-1, correlation_id=77))
    assert isinstance(got, WireError)
    assert (got.correlation_id, got.msg_type) == (77, "PLACE_ORDER")


def test_oversized_message_is_refused() -> None:
    raw = b'{"LIST_MARKETS": {"correlation_id": 1' + b" " * MAX_MESSAGE_BYTES + b"}}"
    assert error_code(parse_client_msg(raw)) == RejectCode.BAD_REQUEST


def test_deep_nesting_is_bad_request_not_a_crash() -> None:
    raw = b'{"LIST_MARKETS": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert error_code(parse_client_msg(raw)) == RejectCode.BAD_REQUEST


def test_unit_helpers() -> None:
    assert price_from_wire("EXCHANGE_ODDS", 1.01) == 101
    assert price_from_wire("EXCHANGE_ODDS", 1000) == 100000
    assert price_from_wire("BINARY_YES", 9999) == 9999
    assert price_from_wire("BINARY_YES", 0.5) is None
    assert size_from_wire("EXCHANGE_ODDS", 0.01) == 1
    assert size_from_wire("BINARY_YES", 0.01) is None


# --- fuzz -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
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
        "correlation_id",
        "order_id",
        "size_reduction",
        "new_price",
        "market_state",
        "winner_runner_ids",
        "trade_ids",
        "after_ts",
        "runner_ids",
        "runner_labels",
        "name",
        "market_model",
        "book_type",
        "depth",
        "max_liability",
    ]
)
plausible = st.builds(
    lambda t, body: {t: body},
    st.sampled_from(CLIENT_MSG_TYPES),
    st.dictionaries(field_names, json_values, max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes_never_raise(raw: bytes) -> None:
    got = parse_client_msg(raw, MODELS.get)
    assert (
        isinstance(got, WireError)
        or type(got).__name__ in {"ListMarkets", "Subscribe"}
        or hasattr(got, "_fields")
    )


@settings(max_examples=1500, deadline=None)
@given(plausible, st.sampled_from([None, MODELS.get, lambda _m: "BINARY_YES"]))
def test_fuzz_plausible_messages_never_raise(msg: dict[str, Any], model_of: Any) -> None:
    got = parse_client_msg(json.dumps(msg), model_of)
    if isinstance(got, WireError):
        assert got.code in RejectCode
        render_wire_error(got)  # every error renders
    else:
        assert type(got).__name__ != "dict"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_fuzz_text_never_raises(raw: str) -> None:
    parse_client_msg(raw)


# --- rendering ------------------------------------------------------------------------------


def test_order_response_renders_money_and_odds() -> None:
    result = OrderResult(
        "ACCEPTED", 42, 1, 1, "BACK", 250, 1000, 400, 600, 0, (Fill(7, 252, 400, False, 2.52),)
    )
    assert render_order_response(result, 30064771073, "EXCHANGE_ODDS") == {
        "ORDER_RESPONSE": {
            "correlation_id": 30064771073,
            "status": "ACCEPTED",
            "order_id": 42,
            "market_id": 1,
            "runner_id": 1,
            "side": "BACK",
            "price": 2.5,
            "size": 10.0,
            "size_matched": 4.0,
            "size_remaining": 6.0,
            "size_cancelled": 0.0,
            "fills": [{"trade_id": 7, "price": 2.52, "size": 4.0, "implied": False, "effective_odds": 2.52}],
        }
    }


def test_binary_order_response_keeps_bps_and_shares() -> None:
    result = OrderResult("ACCEPTED", 3, 2, 1, "BUY", 4500, 10, 4, 6, 0, (Fill(1, 4400, 4, False, 0.0),))
    body = render_order_response(result, 1, "BINARY_YES")["ORDER_RESPONSE"]
    assert (body["price"], body["size"], body["size_matched"]) == (4500, 10, 4)
    assert body["fills"] == [{"trade_id": 1, "price": 4400, "size": 4, "implied": False}]


def test_replace_reports_the_replacement() -> None:
    new = OrderResult("ACCEPTED", 43, 1, 1, "BACK", 260, 600, 0, 600, 0)
    old = OrderResult("REPLACED", 42, 1, 1, "BACK", 250, 1000, 400, 0, 600, (), 43, new)
    body = render_reply(c.ReplaceOrder(1, 42, 7, 260, 9), old)["ORDER_RESPONSE"]
    assert body["status"] == "REPLACED"
    assert body["replacement_order_id"] == 43
    assert body["replacement"]["order_id"] == 43
    assert body["replacement"]["price"] == 2.6


def test_reply_shapes_by_command() -> None:
    reject = Reject(RejectCode.INVALID_TRANSITION, "no")
    assert render_reply(c.CloseMarket(1, 3), reject) == render_ack(3, reject)
    assert render_reply(c.CloseMarket(1, 3), reject)["ACK"]["ok"] is False
    upd = MarketResult(1, "CLOSED", "PRE", 4)
    assert render_reply(c.CloseMarket(1, 3), upd) == render_market_updated(3, upd)
    created = render_reply(
        c.CreateMarket("x", "BINARY_YES", None, "PRE_ONLY", "OPEN", "PRE", (1,), ("Y",), 1),
        MarketResult(5, "OPEN", "PRE", 1, True),
    )
    assert created == {"MARKET_CREATED": {"correlation_id": 1, "market_id": 5, "snapshot": {}}}
    assert render_reply(c.CancelAll(1, 7, 8), Ack({"cancelled": 2})) == {
        "ACK": {"correlation_id": 8, "ok": True, "detail": {"cancelled": 2}}
    }
    rejected = render_reply(
        c.PlaceOrder(1, 1, "BACK", 251, 100, 1, correlation_id=5), Reject(RejectCode.INVALID_ODDS, "off")
    )
    assert rejected == {
        "ORDER_RESPONSE": {
            "correlation_id": 5,
            "status": "REJECTED",
            "error": {"code": "INVALID_ODDS", "message": "off"},
        }
    }
    assert render_market_list(2, []) == {"MARKET_LIST": {"correlation_id": 2, "markets": []}}


def test_wire_errors_render_as_error_order_response_or_ack() -> None:
    bad = parse_client_msg(b"nope")
    assert isinstance(bad, WireError)
    assert render_wire_error(bad) == render_error(bad)
    assert render_wire_error(bad)["ERROR"]["code"] == "BAD_REQUEST"
    size = parse(place(size=-1, correlation_id=4))
    assert isinstance(size, WireError)
    assert render_wire_error(size)["ORDER_RESPONSE"]["error"]["code"] == "INVALID_SIZE"
    limit = parse({"SET_ACCOUNT_LIMIT": {"account_id": 1, "max_liability": -3, "correlation_id": 6}})
    assert isinstance(limit, WireError)
    assert render_wire_error(limit) == {
        "ACK": {"correlation_id": 6, "ok": False, "error": {"code": "INVALID_SIZE", "message": limit.message}}
    }
    assert orjson.loads(dumps(render_wire_error(size))) == render_wire_error(size)


@pytest.mark.parametrize("factor", [-1, 100.01, 12.345, "12.5", True, None, float("nan"), 1e300])
def test_remove_runner_factor_must_be_a_percentage_with_two_decimals(factor: Any) -> None:
    body: dict[str, Any] = {"market_id": 1, "runner_id": 3}
    if factor is not None:
        body["reduction_factor"] = factor
    err = parse({"REMOVE_RUNNER": body})
    assert isinstance(err, WireError) and err.code == RejectCode.BAD_REQUEST
    assert "reduction_factor" in err.message
