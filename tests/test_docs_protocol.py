"""docs/protocol.md and the JSON Schema agree with each other and with the code.

Every JSON example in the doc validates against the schema (each block names its definition:
```` ```json schema=ServerMsg ````); every message type and HTTP body has an example; every
ClientMsg example parses; and what the code really emits validates too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from betex.core.domain.engine import Engine
from betex.core.domain.events import Event
from betex.core.domain.types import RejectCode
from betex.core.protocol import render
from betex.core.protocol.parse import CLIENT_MSG_TYPES, ListMarkets, Subscribe, WireError, parse_client_msg
from betex.core.protocol.render import (
    render_ack,
    render_error,
    render_market_list,
    render_reply,
    render_snapshot,
    render_status,
    render_wire_error,
)
from betex.core.readmodel.projection import Projection

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
SCHEMA = ROOT / "betex" / "core" / "protocol" / "schema" / "protocol.schema.json"
BLOCK = re.compile(r"^```json(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    s = schema()
    return jsonschema.Draft202012Validator(
        {"$schema": s["$schema"], "$defs": s["$defs"], "$ref": f"#/$defs/{name}"}
    )


def valid(name: str, instance: Any) -> None:
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{name}: {[f'{list(e.path)}: {e.message}' for e in errors[:5]]}\n{instance}"


def examples() -> list[tuple[str, Any]]:
    out = []
    for match in BLOCK.finditer(DOC.read_text()):
        info = match["info"].strip()
        assert info.startswith("schema="), f"json block without schema=: {match['body'][:80]!r}"
        out.append((info.removeprefix("schema="), json.loads(match["body"])))
    return out


def union_members(name: str) -> list[str]:
    return [ref["$ref"].rsplit("/", 1)[1] for ref in schema()["$defs"][name]["oneOf"]]


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_schema_knows_exactly_the_parser_messages_and_reject_codes() -> None:
    assert union_members("ClientMsg") == list(CLIENT_MSG_TYPES)
    assert set(schema()["$defs"]["RejectCode"]["enum"]) == {c.value for c in RejectCode}


@pytest.mark.parametrize(("name", "example"), examples(), ids=lambda x: x if isinstance(x, str) else "")
def test_doc_example_validates(name: str, example: Any) -> None:
    assert name in schema()["$defs"], name
    valid(name, example)


def _model_of(market_id: int) -> str:
    return "BINARY_YES" if market_id == 3 else "EXCHANGE_ODDS"  # the doc's market 3 is binary


def test_doc_client_examples_parse() -> None:
    for name, example in examples():
        if name == "ClientMsg":
            got = parse_client_msg(orjson.dumps(example), _model_of)
            assert not isinstance(got, WireError), (example, got)


def test_every_message_type_and_http_body_has_an_example() -> None:
    shown = {
        (name, next(iter(ex))) if name in ("ClientMsg", "ServerMsg") else (name, "")
        for name, ex in examples()
    }
    for msg in union_members("ClientMsg"):
        assert ("ClientMsg", msg) in shown, f"no example of {msg}"
    for msg in union_members("ServerMsg"):
        assert ("ServerMsg", msg) in shown, f"no example of {msg}"
    for body in [d for d in schema()["$defs"] if d.endswith("Response")] + ["HttpError"]:
        assert (body, "") in shown, f"no example of {body}"


def test_doc_mentions_every_reject_code() -> None:
    text = DOC.read_text()
    for code in RejectCode:
        assert f"`{code.value}`" in text, code


def test_schema_rejects_malformed_messages() -> None:
    bad = [
        {"PLACE_ORDER": {"market_id": 1}},
        {"LIST_MARKETS": {}, "SUBSCRIBE": {"market_id": 1}},
        {
            "PLACE_ORDER": {
                "market_id": 1,
                "runner_id": 1,
                "side": "BACK",
                "price": 2.5,
                "size": 10,
                "account_id": 7,
                "sise": 1,
            }
        },
        {
            "PLACE_ORDER": {
                "market_id": 1,
                "runner_id": 1,
                "side": "HOLD",
                "price": 2.5,
                "size": 10,
                "account_id": 7,
            }
        },
        {"VOID_TRADES": {"market_id": 1, "trade_ids": [1], "after_ts": 5}},
        {"NOPE": {}},
    ]
    for msg in bad:
        assert not validator("ClientMsg").is_valid(msg), msg
    assert not validator("ServerMsg").is_valid({"ACK": {"ok": True}})


# --- real traffic ---------------------------------------------------------------------------


class Session:
    """A real engine and projection; records every reply the code renders."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.projection = Projection()
        self.events: list[Event] = []
        self.replies: list[dict[str, Any]] = []
        self.ts = 1_732_406_400 * 10**9

    def send(self, msg: dict[str, Any], well_formed: bool = True) -> dict[str, Any]:
        if well_formed:
            valid("ClientMsg", msg)
        else:
            assert not validator("ClientMsg").is_valid(msg)
        request = parse_client_msg(orjson.dumps(msg), self.projection.model_of)
        if isinstance(request, WireError):
            reply = render_wire_error(request)
        elif isinstance(request, ListMarkets):
            reply = render_market_list(request.correlation_id, render.market_list(self.projection))
        elif isinstance(request, Subscribe):
            reply = render_ack(request.correlation_id)
        else:
            self.engine.begin_batch(self.ts)
            result = self.engine.execute(request)
            batch = self.engine.end_batch(1)
            self.projection.apply_batch(batch)
            market_id = getattr(result, "market_id", getattr(request, "market_id", 0))
            model = self.projection.model_of(market_id) or "EXCHANGE_ODDS"
            reply = render_reply(request, result, model, render.snapshot(self.projection, market_id, 10))
        self.replies.append(reply)
        self.ts += 10**9
        return reply


def play(s: Session) -> None:
    s.send(
        {
            "CREATE_MARKET": {
                "name": "Home v Away",
                "market_model": "EXCHANGE_ODDS",
                "book_type": "MULTI_RUNNER",
                "runner_ids": [1, 2, 3],
                "runner_labels": ["Home", "Draw", "Away"],
                "correlation_id": 1,
            }
        }
    )
    s.send(
        {
            "CREATE_MARKET": {
                "name": "A v B",
                "market_model": "EXCHANGE_ODDS",
                "book_type": "TWO_RUNNER",
                "runner_ids": [1, 2],
            }
        }
    )
    s.send({"CREATE_MARKET": {"name": "Rain?", "market_model": "BINARY_YES", "runner_ids": [1]}})
    s.send({"ADD_RUNNERS": {"market_id": 1, "runner_ids": [4], "runner_labels": ["Other"]}})
    s.send({"LIST_MARKETS": {"correlation_id": 2}})
    s.send({"SUBSCRIBE": {"market_id": 1}})
    s.send({"SET_ACCOUNT_LIMIT": {"account_id": 9, "max_liability": 50}})
    for market, runner, side, price, size, account in [
        (1, 1, "LAY", 2.02, 1.01, 2),
        (1, 1, "BACK", 2.0, 5.0, 1),
        (2, 1, "BACK", 3.0, 10.0, 7),
        (2, 2, "BACK", 1.5, 30.0, 8),
        (2, 1, "LAY", 2.8, 25.0, 9),
        (2, 1, "LAY", 2.8, 500.0, 9),  # LIABILITY_EXCEEDED
        (3, 1, "BUY", 4500, 100, 7),
        (3, 1, "SELL", 4400, 20, 8),
        (1, 2, "BACK", 2.51, 5.0, 1),  # INVALID_ODDS
        (1, 2, "BACK", 2.5, 0.5, 1),  # INVALID_SIZE (below the minimum stake)
        (1, 2, "BUY", 2.5, 5.0, 1),  # INVALID_SIDE
    ]:
        s.send(
            {
                "PLACE_ORDER": {
                    "market_id": market,
                    "runner_id": runner,
                    "side": side,
                    "price": price,
                    "size": size,
                    "account_id": account,
                }
            }
        )
    s.send(
        {
            "PLACE_ORDER": {
                "market_id": 1,
                "runner_id": 3,
                "side": "BACK",
                "price": 3.0,
                "size": 5.0,
                "account_id": 1,
                "time_in_force": "FILL_OR_KILL",
            }
        }
    )
    s.send(
        {
            "PLACE_ORDER": {
                "market_id": 1,
                "runner_id": 1,
                "side": "BACK",
                "price": 2.5,
                "size": 10.005,
                "account_id": 1,
            }
        }
    )
    s.send(
        {
            "PLACE_ORDER": {
                "market_id": 1,
                "runner_id": 1,
                "side": "BACK",
                "price": 2.5,
                "size": 1,
                "account_id": 1,
                "x": 1,
            }
        },
        False,
    )
    s.send({"CANCEL_ORDER": {"market_id": 1, "order_id": 2, "account_id": 1, "size_reduction": 1.0}})
    s.send({"CANCEL_ORDER": {"market_id": 1, "order_id": 2, "account_id": 5}})
    s.send({"REPLACE_ORDER": {"market_id": 1, "order_id": 2, "account_id": 1, "new_price": 2.2}})
    s.send({"REPLACE_ORDER": {"market_id": 2, "order_id": 5, "account_id": 9, "new_price": 4.0}})
    s.send({"CANCEL_ALL": {"market_id": 2, "account_id": 8}})
    s.send({"SET_MARKET_STATE": {"market_id": 1, "market_state": "SUSPENDED"}})
    s.send({"SET_MARKET_STATE": {"market_id": 1, "market_state": "OPEN"}})
    s.send({"AWAIT_LIVE_MARKET": {"market_id": 1}})
    s.send({"GO_LIVE_MARKET": {"market_id": 1}})
    s.send({"GO_LIVE_MARKET": {"market_id": 1}})
    s.send({"VOID_TRADES": {"market_id": 2, "trade_ids": [2]}})
    s.send({"CLOSE_MARKET": {"market_id": 1}})
    s.send({"SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": [1, 2]}})
    s.send({"VOID_MARKET": {"market_id": 2}})
    s.send({"CLOSE_MARKET": {"market_id": 3}})
    s.send({"SETTLE_MARKET": {"market_id": 3, "winner_runner_ids": []}})


def test_real_replies_and_views_validate() -> None:
    s = Session()
    play(s)
    kinds = {next(iter(r)) for r in s.replies}
    assert kinds == {"MARKET_CREATED", "MARKET_UPDATED", "MARKET_LIST", "ACK", "ORDER_RESPONSE", "ERROR"}
    codes = set()
    for reply in s.replies:
        ((kind, body),) = reply.items()
        error = body if kind == "ERROR" else body.get("error")
        if error:
            codes.add(error["code"])
    assert codes == {
        "BAD_REQUEST",
        "CANCELLED_NOT_PLACED",
        "FOK_NOT_FILLED",
        "INVALID_ODDS",
        "INVALID_SIDE",
        "INVALID_SIZE",
        "INVALID_TRANSITION",
        "LIABILITY_EXCEEDED",
        "NOT_OWNER",
    }
    statuses = {r["ORDER_RESPONSE"]["status"] for r in s.replies if "ORDER_RESPONSE" in r}
    assert statuses == {"ACCEPTED", "CANCELLED", "REPLACED", "REJECTED"}
    for reply in s.replies:
        valid("ServerMsg", reply)
    p = s.projection
    for market_id in (1, 2, 3):
        valid("ServerMsg", render_snapshot(render.snapshot(p, market_id, 350)))  # type: ignore[arg-type]
        valid("SnapshotResponse", render.snapshot(p, market_id, 1))
    valid("ServerMsg", render_status(p.seq, p.market_count(), s.ts))
    valid("MarketsResponse", {"markets": render.market_list(p)})
    valid("OrdersResponse", render.orders(p, limit=10_000))
    valid("OrdersResponse", render.completed_orders(p))
    valid("TradesResponse", render.trades(p))
    valid("RiskResponse", render.risk(p))
    valid("LiveCountsResponse", p.live_counts())
    assert any(t["voided"] for t in render.trades(p)["trades"])
    assert any(r["settled_pnl"] is not None for r in render.risk(p)["risk"])  # type: ignore[index]


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b'{"X": {}}', b"\xff", b'{"LIST_MARKETS": {"correlation_id": -1}}']
)
def test_parser_errors_render_valid_server_messages(raw: bytes) -> None:
    err = parse_client_msg(raw)
    assert isinstance(err, WireError)
    valid("ServerMsg", render_error(err))
    valid("ServerMsg", render_wire_error(err))
