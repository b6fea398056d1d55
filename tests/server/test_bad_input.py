"""Hostile input over `/ws_ctl`: every message gets a typed error reply or a clean close, the
server stays healthy, and nothing reaches the engine (the WAL seq does not move).

Messages are malformed by construction — a valid template with one required field replaced by a
value of the wrong type or range, unknown types and fields, non-objects, deep nesting, invalid
UTF-8, oversize frames — so none of them may change state.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from betex.core.domain.types import RejectCode
from tests.conftest import ServerProcess
from tests.server.conftest import Validator

CODES = {code.value for code in RejectCode}
CLEAN_CLOSE_CODES = {1007, 1009, 1002}
MISSING = 999_999  # a market id that never exists

TEMPLATES: dict[str, dict[str, Any]] = {
    "CREATE_MARKET": {
        "name": "x",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "MULTI_RUNNER",
        "market_kind": "PRE_ONLY",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "runner_ids": [1, 2],
    },
    "ADD_RUNNERS": {"market_id": MISSING, "runner_ids": [9]},
    "SUBSCRIBE": {"market_id": MISSING},
    "PLACE_ORDER": {
        "market_id": MISSING,
        "runner_id": 1,
        "side": "BACK",
        "price": 2.0,
        "size": 2.0,
        "account_id": 1,
    },
    "CANCEL_ORDER": {"market_id": MISSING, "order_id": 1, "account_id": 1},
    "CANCEL_ALL": {"market_id": MISSING, "account_id": 1},
    "REPLACE_ORDER": {"market_id": MISSING, "order_id": 1, "account_id": 1, "new_price": 2.0},
    "SET_MARKET_STATE": {"market_id": MISSING, "market_state": "SUSPENDED"},
    "GO_LIVE_MARKET": {"market_id": MISSING},
    "SETTLE_MARKET": {"market_id": MISSING, "winner_runner_ids": [1]},
    "VOID_TRADES": {"market_id": MISSING, "trade_ids": [1]},
}
OPTIONAL_FIELDS = {"market_kind", "market_state", "market_phase", "book_type"}
"""Dropping these leaves a valid message (defaults apply), so they are only ever corrupted."""
ENUM_FIELDS = {"side", "market_model", "market_state", "book_type", "market_kind", "market_phase"}
MONEY_FIELDS = {"price", "size", "new_price"}
LIST_FIELDS = {"runner_ids", "winner_runner_ids", "trade_ids"}

junk_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.lists(st.integers(), max_size=3),
)
bad_uint = st.one_of(
    junk_scalar.filter(lambda v: v is not None),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    st.integers(min_value=2**64, max_value=2**200),
)
bad_money = st.one_of(
    junk_scalar,
    st.integers(max_value=0),
    st.integers(min_value=2**70, max_value=2**200),
    st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False)
    .filter(lambda d: d != d.quantize(1) and (d * 100) != (d * 100).quantize(1))
    .map(float),
)
bad_enum = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).filter(lambda s: s not in _all_enums()),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
)
bad_list = st.one_of(
    junk_scalar.filter(lambda v: not isinstance(v, list) and v is not None),
    st.lists(st.one_of(st.text(max_size=3), st.integers(max_value=-1), st.floats()), min_size=1, max_size=4),
)


def _all_enums() -> set[str]:
    from betex.core.domain import types

    out: set[str] = set()
    for name in ("Side", "MarketModel", "MarketState", "BookType", "MarketKind", "MarketPhase"):
        out.update(v.value for v in getattr(types, name))
    return out


@st.composite
def mutated_template(draw: st.DrawFn) -> str:
    """A valid message with one required field broken (wrong type/range) or an unknown field added."""
    kind = draw(st.sampled_from(sorted(TEMPLATES)))
    body = dict(TEMPLATES[kind])
    how = draw(st.sampled_from(["field", "field", "field", "unknown_field", "drop", "body"]))
    if how == "unknown_field":
        body[draw(st.sampled_from(["pad", "extra", "MARKET_ID", "price "]))] = draw(junk_scalar)
    elif how == "drop":
        body.pop(draw(st.sampled_from(sorted(set(body) - OPTIONAL_FIELDS))))
    elif how == "body":
        return json.dumps(
            {kind: draw(st.one_of(junk_scalar.filter(lambda v: not isinstance(v, dict)), bad_uint))}
        )
    else:
        field = draw(st.sampled_from(sorted(body)))
        if field in ENUM_FIELDS:
            body[field] = draw(bad_enum)
        elif field in MONEY_FIELDS:
            body[field] = draw(bad_money)
        elif field in LIST_FIELDS:
            body[field] = draw(bad_list)
        elif field == "name":
            body[field] = draw(
                st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.just("n" * 500))
            )
        else:
            body[field] = draw(bad_uint)
    if draw(st.booleans()):
        body["correlation_id"] = draw(st.one_of(st.integers(min_value=0, max_value=2**64 - 1), bad_uint))
    return json.dumps({kind: body})


unknown_type = st.builds(
    lambda k, v: json.dumps({k: v}),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(
        lambda k: (
            k not in TEMPLATES
            and k
            not in ("LIST_MARKETS", "AWAIT_LIVE_MARKET", "CLOSE_MARKET", "VOID_MARKET", "SET_ACCOUNT_LIMIT")
        )
    ),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
not_an_object = st.one_of(
    st.builds(
        json.dumps,
        st.one_of(st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3), st.none()),
    ),
    st.builds(lambda a, b: json.dumps({"LIST_MARKETS": a, "PLACE_ORDER": b}), st.just({}), st.just({})),
    st.just("{}"),
)
not_json = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=50).filter(
        lambda s: not _is_json(s)
    ),
    st.sampled_from(['{"PLACE_ORDER": {', "NaN", '{"LIST_MARKETS": {}}}', "[1,]", '{"a":1,}']),
)
deep = st.integers(min_value=200, max_value=5000).map(lambda n: "[" * n + "]" * n)
deep_object = st.integers(min_value=200, max_value=3000).map(
    lambda n: '{"PLACE_ORDER": ' + '{"a": ' * n + "1" + "}" * n + "}"
)
invalid_utf8_binary = (
    st.binary(min_size=1, max_size=40).filter(lambda b: not _is_utf8(b)).map(lambda b: b'{"x": "' + b + b'"}')
)

MESSAGES = st.one_of(
    mutated_template(),
    mutated_template(),
    mutated_template(),
    unknown_type,
    not_an_object,
    not_json,
    deep,
    deep_object,
    invalid_utf8_binary,
)


def _is_json(s: str) -> bool:
    try:
        json.loads(s)
    except ValueError:
        return False
    return True


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Session:
    """One `/ws_ctl` connection, reopened after the server closes it."""

    def __init__(self, server: ServerProcess, validate: Validator | None) -> None:
        self.server = server
        self.validate = validate
        self.ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self.replies = 0
        self.closes = 0

    def conn(self) -> ClientConnection:
        if self.ws is None:
            self.ws = self._stack.enter_context(
                connect(self.server.ws_url + "/ws_ctl", max_size=None, open_timeout=5)
            )
        return self.ws

    def exchange(self, data: str | bytes, text: bool | None = None) -> dict[str, Any] | None:
        """Send one frame; the typed reply, or None when the server closed cleanly."""
        ws = self.conn()
        try:
            ws.send(data, text=text)
            while True:
                msg = json.loads(ws.recv(timeout=5))
                if "STATUS" not in msg and "SNAPSHOT" not in msg:
                    self.replies += 1
                    return msg
        except ConnectionClosed as closed:
            self.ws = None
            self.closes += 1
            code = closed.rcvd.code if closed.rcvd is not None else None
            assert code in CLEAN_CLOSE_CODES, f"unclean close {code} for {data[:80]!r}"
            return None

    def close(self) -> None:
        self._stack.close()


def assert_typed_error(msg: dict[str, Any], validate: Validator | None) -> None:
    if validate is not None:
        validate(msg)
    ((kind, body),) = msg.items()
    assert kind in ("ERROR", "ACK", "ORDER_RESPONSE"), msg
    error = body if kind == "ERROR" else body.get("error")
    assert error is not None and error["code"] in CODES, msg
    if kind == "ACK":
        assert body["ok"] is False
    if kind == "ORDER_RESPONSE":
        assert body["status"] == "REJECTED"
    assert "Traceback" not in error["message"]


@pytest.fixture(scope="module")
def session(betex_server: ServerProcess, server_msg_validator: Validator | None) -> Iterator[Session]:
    s = Session(betex_server, server_msg_validator)
    yield s
    s.close()


def _health(server: ServerProcess) -> dict[str, Any]:
    """/health without `disk_free_bytes` (the disk changes under other processes)."""
    body = dict(server.get_json("/health"))
    assert isinstance(body.pop("disk_free_bytes"), int)
    return body


@pytest.fixture(scope="module")
def state_before(betex_server: ServerProcess) -> dict[str, Any]:
    return {
        "health": _health(betex_server),
        "markets": betex_server.get_json("/markets"),
        "counts": betex_server.get_json("/debug/live_counts"),
    }


@settings(max_examples=1200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=MESSAGES)
def test_hostile_messages_get_typed_errors_or_clean_close(
    session: Session, state_before: dict[str, Any], data: str | bytes
) -> None:
    reply = session.exchange(data)
    if reply is not None:
        assert_typed_error(reply, session.validate)


def test_invalid_utf8_in_a_text_frame_closes_with_1007(session: Session) -> None:
    assert session.exchange(b'{"LIST_MARKETS": {"x": "\xff\xfe"}}', text=True) is None


def test_oversize_frames_close_with_1009(session: Session) -> None:
    for size in (64 * 1024 + 1, 1024 * 1024):
        assert session.exchange("[" + " " * size + "]") is None


def test_server_is_healthy_and_state_unchanged(
    betex_server: ServerProcess, session: Session, state_before: dict[str, Any]
) -> None:
    assert session.replies + session.closes >= 1000
    assert _health(betex_server) == state_before["health"]  # seq unmoved: nothing reached the engine
    assert betex_server.get_json("/markets") == state_before["markets"]
    assert betex_server.get_json("/debug/live_counts") == state_before["counts"]
    kind, body = next(iter(session.exchange(json.dumps({"LIST_MARKETS": {"correlation_id": 5}})).items()))  # type: ignore[union-attr]
    assert kind == "MARKET_LIST" and body["correlation_id"] == 5
