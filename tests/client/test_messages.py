"""ServerMsg parsing and ClientMsg building follow protocol.md's examples."""

from __future__ import annotations

import orjson
import pytest

from betex.client import messages as m
from betex.client.urls import http_base, ws_ctl_url

SNAPSHOT_ODDS = {
    "SNAPSHOT": {
        "market_id": 1, "name": "A v B", "market_model": "EXCHANGE_ODDS", "book_type": "TWO_RUNNER",
        "market_kind": "IN_PLAY_CAPABLE", "market_state": "OPEN", "market_phase": "PRE", "version": 3,
        "seq": 1042, "ts": 1732406400000000000, "total_matched": 1520.0,
        "runners": [{"runner_id": 1, "label": "Home", "last_traded_price": 2.5, "traded_volume": 800.0}],
        "book": {"kind": "EXCHANGE", "data": {"runners": [
            {"runner_id": 1,
             "available_to_back": [{"price": 2.52, "size": 40.0, "implied": 0.0}],
             "available_to_lay": [{"price": 2.54, "size": 25.0, "implied": 10.0}]}]}},
    }
}  # fmt: skip


def parse(obj: object) -> m.ServerMsg:
    return m.parse_server_msg(orjson.dumps(obj))


def test_odds_snapshot_parses_ladders_in_wire_units() -> None:
    s = parse(SNAPSHOT_ODDS)
    assert isinstance(s, m.Snapshot)
    assert (s.market_id, s.seq, s.version, s.book_type) == (1, 1042, 3, "TWO_RUNNER")
    assert isinstance(s.book, m.ExchangeBook)
    lad = s.book.ladder(1)
    assert lad is not None
    assert lad.available_to_back == (m.Level(2.52, 40.0, 0.0),)
    assert lad.available_to_lay == (m.Level(2.54, 25.0, 10.0),)
    assert s.runners[0].last_traded_price == 2.5


def test_binary_snapshot_parses_bids_and_asks() -> None:
    body = dict(SNAPSHOT_ODDS["SNAPSHOT"], market_model="BINARY_YES")
    body["book"] = {
        "kind": "BINARY",
        "data": {"bids": [{"price": 4500, "size": 100}], "asks": [{"price": 4600, "size": 50}]},
    }
    s = parse({"SNAPSHOT": body})
    assert isinstance(s, m.Snapshot) and isinstance(s.book, m.BinaryBook)
    assert s.book.bids[0].price == 4500 and s.book.asks[0].size == 50


def test_replies_carry_correlation_ids_and_errors() -> None:
    ok = parse({"ACK": {"correlation_id": 9, "ok": True}})
    bad = parse(
        {"ACK": {"correlation_id": 9, "ok": False, "error": {"code": "INVALID_TRANSITION", "message": "x"}}}
    )
    assert ok == m.Ack(9, True)
    assert isinstance(bad, m.Ack) and bad.error == m.ErrorInfo("INVALID_TRANSITION", "x")
    resp = parse(
        {"ORDER_RESPONSE": {"correlation_id": 30064771073, "status": "ACCEPTED", "order_id": 42, "market_id": 1,
                            "runner_id": 1, "side": "BACK", "price": 2.5, "size": 10.0, "size_matched": 4.0,
                            "size_remaining": 6.0, "fills": [{"trade_id": 7, "price": 2.52, "size": 4.0, "implied": False}]}}
    )  # fmt: skip
    assert isinstance(resp, m.OrderResponse) and not resp.rejected
    assert resp.fills == (m.Fill(7, 2.52, 4.0, False),)
    rej = parse(
        {
            "ORDER_RESPONSE": {
                "correlation_id": 5,
                "status": "REJECTED",
                "error": {"code": "INVALID_ODDS", "message": "2.51"},
            }
        }
    )
    assert isinstance(rej, m.OrderResponse) and rej.rejected and rej.error is not None
    assert rej.error.code == "INVALID_ODDS"


def test_market_messages_and_errors() -> None:
    created = parse({"MARKET_CREATED": {"correlation_id": 1, "market_id": 1, "snapshot": {}}})
    assert created == m.MarketCreated(1, 1, None)
    upd = parse({"MARKET_UPDATED": {"correlation_id": 3, "market_id": 1, "market_state": "SUSPENDED",
                                    "market_phase": "PRE", "version": 4}})  # fmt: skip
    assert upd == m.MarketUpdated(3, 1, "SUSPENDED", "PRE", 4)
    lst = parse({"MARKET_LIST": {"correlation_id": 2, "markets": [{"market_id": 1, "name": "n",
                 "market_state": "OPEN", "market_phase": "PRE", "market_model": "BINARY_YES"}]}})  # fmt: skip
    assert isinstance(lst, m.MarketList) and lst.markets[0].extra == {"market_model": "BINARY_YES"}
    err = parse({"ERROR": {"code": "BAD_REQUEST", "message": "no", "correlation_id": None}})
    assert err == m.ServerError("BAD_REQUEST", "no", None)
    assert parse({"STATUS": {"seq": 5, "markets": 2, "ts": 7}}) == m.Status(5, 2, 7)
    assert parse({"SOMETHING_NEW": {"x": 1}}) == m.UnknownMsg("SOMETHING_NEW", {"x": 1})


def test_not_a_server_msg_raises_value_error() -> None:
    with pytest.raises(ValueError):
        m.parse_server_msg(b'{"A": {}, "B": {}}')
    with pytest.raises(ValueError):
        m.parse_server_msg(b"not json")


def test_builders_omit_unset_optionals() -> None:
    assert m.place_order(1, 2, "BACK", 2.52, 10.5, 7, correlation_id=3) == {
        "PLACE_ORDER": {"market_id": 1, "runner_id": 2, "side": "BACK", "price": 2.52, "size": 10.5,
                        "account_id": 7, "correlation_id": 3}
    }  # fmt: skip
    assert m.cancel_order(1, 42, 7) == {"CANCEL_ORDER": {"market_id": 1, "order_id": 42, "account_id": 7}}
    assert m.void_trades(1, after_ts=5) == {"VOID_TRADES": {"market_id": 1, "after_ts": 5}}
    assert m.correlation_id_of(m.replace_order(1, 42, 7, 2.6, 99)) == 99
    assert orjson.dumps(m.place_order(1, 1, "BACK", 252 / 100, 1050 / 100, 7)) == (
        b'{"PLACE_ORDER":{"market_id":1,"runner_id":1,"side":"BACK","price":2.52,"size":10.5,"account_id":7}}'
    )


def test_urls_share_one_host_port() -> None:
    assert ws_ctl_url("ws://127.0.0.1:3000", market_id=2, depth=5, no_ack=True) == (
        "ws://127.0.0.1:3000/ws_ctl?market_id=2&depth=5&no_ack=1"
    )
    assert ws_ctl_url("http://h:1/ws_ctl?depth=3") == "ws://h:1/ws_ctl?depth=3"
    assert ws_ctl_url("127.0.0.1:9") == "ws://127.0.0.1:9/ws_ctl"
    assert http_base("ws://127.0.0.1:3000/ws_ctl?x=1") == "http://127.0.0.1:3000"
    assert http_base("wss://h") == "https://h"
