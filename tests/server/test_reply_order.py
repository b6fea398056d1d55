"""Pipelined valid orders mixed with out-of-range numbers, against a real server.

Every message gets exactly one typed reply, the replies leave in the order the messages arrived
(parser rejects included, protocol.md "Accounts and sessions"), a BAD_REQUEST is always an ERROR,
and nothing is logged as a traceback.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from websockets.sync.client import connect

from tests.conftest import ServerProcess

HOSTILE_NUMBERS: list[Any] = [
    1e308,
    -1e308,
    1.8e306,
    math.nan,
    math.inf,
    -math.inf,
    2**64,
    10**30,
    -0.0,
    2.555,
]
HOSTILE_LITERALS = ["1e400", "-1e999", "1" + "0" * 400]
"""Written into the JSON text as is: past a double, or an integer no 64-bit field holds."""

NUMERIC_FIELDS: dict[str, tuple[str, ...]] = {
    "PLACE_ORDER": ("market_id", "runner_id", "price", "size", "account_id", "min_fill_size"),
    "CANCEL_ORDER": ("market_id", "order_id", "account_id", "size_reduction"),
    "REPLACE_ORDER": ("market_id", "order_id", "account_id", "new_price"),
    "REDUCE_ORDER": ("market_id", "order_id", "account_id", "expected_remaining", "new_remaining"),
    "CANCEL_ALL": ("market_id", "account_id", "runner_id"),
    "SUBSCRIBE_ORDERS": ("account_id", "from_seq"),
    "CREATE_MARKET": ("commission_bps",),
    "SET_ACCOUNT_LIMIT": ("account_id", "max_liability"),
    "SUBSCRIBE": ("market_id", "depth"),
    "VOID_TRADES": ("market_id", "after_ts"),
    "GO_LIVE_MARKET": ("market_id",),
    "ISSUE_KEY": ("account_id",),
    "REVOKE_KEY": ("key_id",),
}
LIST_FIELDS: dict[str, str] = {
    "CREATE_MARKET": "runner_ids",
    "ADD_RUNNERS": "runner_ids",
    "SETTLE_MARKET": "winner_runner_ids",
    "VOID_TRADES": "trade_ids",
}
"""Numeric list fields: one impossible number inside the list."""
BATCH_FIELDS: dict[str, tuple[str, ...]] = {
    "PLACE_ORDERS": ("runner_id", "price", "size", "account_id"),
    "CANCEL_ORDERS": ("order_id", "size_reduction"),
    "REPLACE_ORDERS": ("order_id", "new_price"),
}
"""Fields of one instruction in a batch: the result in its place is the reject."""
BATCH_INSTRUCTION: dict[str, dict[str, Any]] = {
    "PLACE_ORDERS": {"runner_id": 1, "side": "BACK", "price": 3.0, "size": 2.0},
    "CANCEL_ORDERS": {"order_id": 1, "size_reduction": 1.0},
    "REPLACE_ORDERS": {"order_id": 1, "new_price": 2.5},
}
PRICE = {"price", "new_price"}
SIZE = {"size", "min_fill_size", "size_reduction", "max_liability", "expected_remaining", "new_remaining"}
ORDER_MSGS = {"PLACE_ORDER", "CANCEL_ORDER", "REPLACE_ORDER", "REDUCE_ORDER"}


def base(kind: str, market_id: int) -> dict[str, Any]:
    return {
        "PLACE_ORDER": {
            "market_id": market_id,
            "runner_id": 1,
            "side": "BACK",
            "price": 3.0,
            "size": 2.0,
            "account_id": 5,
            "time_in_force": "FILL_OR_KILL",
            "min_fill_size": 1.0,
        },
        "CANCEL_ORDER": {"market_id": market_id, "order_id": 1, "account_id": 5, "size_reduction": 1.0},
        "REPLACE_ORDER": {"market_id": market_id, "order_id": 1, "account_id": 5, "new_price": 2.5},
        "REDUCE_ORDER": {
            "market_id": market_id,
            "order_id": 1,
            "account_id": 5,
            "expected_remaining": 2.0,
            "new_remaining": 1.0,
        },
        "CANCEL_ALL": {"market_id": market_id, "account_id": 5, "runner_id": 1},
        "SUBSCRIBE_ORDERS": {"account_id": 5, "from_seq": 1},
        "SET_ACCOUNT_LIMIT": {"account_id": 5, "max_liability": 100.0},
        "SUBSCRIBE": {"market_id": market_id, "depth": 5},
        "VOID_TRADES": {"market_id": market_id, "after_ts": 1},
        "GO_LIVE_MARKET": {"market_id": market_id},
        "ISSUE_KEY": {"account_id": 5},
        "REVOKE_KEY": {"key_id": 1},
        "CREATE_MARKET": {
            "name": "x",
            "market_model": "EXCHANGE_ODDS",
            "book_type": "MULTI_RUNNER",
            "runner_ids": [1, 2],
            "commission_bps": 100,
        },
        "ADD_RUNNERS": {"market_id": market_id, "runner_ids": [9]},
        "SETTLE_MARKET": {"market_id": market_id, "winner_runner_ids": [1]},
    }[kind]


def expected(kind: str, field: str) -> tuple[str, str]:
    """(reply type, reject code) for `field` of `kind` holding an impossible number."""
    if field in PRICE | SIZE:
        code = "INVALID_ODDS" if field in PRICE else "INVALID_SIZE"
        return ("ORDER_RESPONSE" if kind in ORDER_MSGS else "ACK", code)
    return ("ERROR", "BAD_REQUEST")


def reply_code(kind: str, body: dict[str, Any]) -> str | None:
    if kind == "ERROR":
        return str(body["code"])
    if kind == "ORDERS_RESPONSE":  # one instruction: its result's code
        ((result,),) = (body["results"],)
        return reply_code("ORDER_RESPONSE", result)
    error = body.get("error")
    return None if error is None else str(error["code"])


def test_pipelined_orders_and_impossible_numbers_all_get_typed_replies_in_order(
    betex_server: ServerProcess,
) -> None:
    with connect(f"{betex_server.ws_url}/ws_ctl", max_size=None) as ws:
        ws.send(
            json.dumps(
                {
                    "CREATE_MARKET": {
                        "name": "order test",
                        "market_model": "EXCHANGE_ODDS",
                        "book_type": "MULTI_RUNNER",
                        "runner_ids": [1, 2],
                        "correlation_id": 1,
                    }
                }
            )
        )
        market_id = None
        while market_id is None:
            msg = json.loads(ws.recv(timeout=10))
            if "MARKET_CREATED" in msg:
                market_id = msg["MARKET_CREATED"]["market_id"]

        frames: list[str] = []
        want: list[tuple[int | None, str, str | None]] = []  # (correlation id, reply type, code)
        cid = 100

        def valid_order() -> None:
            nonlocal cid
            cid += 1
            body = {
                "market_id": market_id,
                "runner_id": 1 + cid % 2,
                "side": "LAY",
                "price": 1.5,
                "size": 2.0,
                "account_id": 1 + cid % 3,
                "correlation_id": cid,
            }
            frames.append(json.dumps({"PLACE_ORDER": body}))
            want.append((cid, "ORDER_RESPONSE", None))

        for _ in range(20):
            valid_order()
        for kind, fields in NUMERIC_FIELDS.items():
            for field in fields:
                values = [json.dumps(v) for v in HOSTILE_NUMBERS] + HOSTILE_LITERALS
                for text in values:
                    cid += 1
                    body = {**base(kind, market_id), field: "@@", "correlation_id": cid}
                    frames.append(json.dumps({kind: body}).replace('"@@"', text))
                    want.append((cid, *expected(kind, field)))
                    valid_order()
        for kind, field in LIST_FIELDS.items():
            for text in [json.dumps(v) for v in HOSTILE_NUMBERS] + HOSTILE_LITERALS:
                cid += 1
                body = {**base(kind, market_id), "correlation_id": cid}
                body.pop("after_ts", None)
                body[field] = ["@@"]
                frames.append(json.dumps({kind: body}).replace('"@@"', text))
                want.append((cid, "ERROR", "BAD_REQUEST"))
                valid_order()
        for kind, fields in BATCH_FIELDS.items():  # inside a batch: a typed result in its place
            for field in fields:
                for text in [json.dumps(v) for v in HOSTILE_NUMBERS] + HOSTILE_LITERALS:
                    cid += 1
                    inst = {**BATCH_INSTRUCTION[kind], field: "@@"}
                    body = {
                        "market_id": market_id,
                        "account_id": 5,
                        "instructions": [inst],
                        "correlation_id": cid,
                    }
                    frames.append(json.dumps({kind: body}).replace('"@@"', text))
                    code = expected("PLACE_ORDER", field)[1] if field in PRICE | SIZE else "BAD_REQUEST"
                    want.append((cid, "ORDERS_RESPONSE", code))
                    valid_order()
        # an impossible correlation id: ERROR with correlation_id null, still in its place
        for text in [json.dumps(v) for v in HOSTILE_NUMBERS] + HOSTILE_LITERALS:
            body = {**base("PLACE_ORDER", market_id), "correlation_id": "@@"}
            frames.append(json.dumps({"PLACE_ORDER": body}).replace('"@@"', text))
            want.append((None, "ERROR", "BAD_REQUEST"))
            valid_order()
        # account 0 is the house: BAD_REQUEST, so an ERROR, never ORDER_RESPONSE REJECTED
        cid += 1
        frames.append(
            json.dumps(
                {"PLACE_ORDER": {**base("PLACE_ORDER", market_id), "account_id": 0, "correlation_id": cid}}
            )
        )
        want.append((cid, "ERROR", "BAD_REQUEST"))
        valid_order()

        for frame in frames:  # pipelined: nothing is read until everything is sent
            ws.send(frame)

        got: list[tuple[int | None, str, str | None]] = []
        deadline = time.monotonic() + 60
        while len(got) < len(want) and time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=30))
            ((kind, body),) = msg.items()
            if kind in ("SNAPSHOT", "STATUS"):
                continue
            assert kind in ("ORDER_RESPONSE", "ORDERS_RESPONSE", "ERROR", "ACK"), msg
            assert body.get("correlation_id") is not None or kind == "ERROR", msg
            got.append((body["correlation_id"], kind, reply_code(kind, body)))

    assert [g[0] for g in got] == [w[0] for w in want], "replies left out of arrival order"
    for (c, kind, code), (_, want_kind, want_code) in zip(got, want, strict=True):
        assert kind == want_kind, (c, kind, code, want_kind, want_code)
        if want_code is not None:
            assert code == want_code, (c, kind, code, want_code)
        else:
            assert code is None or kind == "ORDER_RESPONSE", (c, kind, code)
    status, health = betex_server.get("/health")
    assert status == 200, health
    assert "Traceback" not in betex_server.log()
