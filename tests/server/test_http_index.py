"""The HTTP API describes itself (`GET /`, `GET /schema`) and refuses query parameters it does
not read, naming them (a typo such as `account=1` never silently widens a query)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ServerProcess
from tests.server.conftest import make_validator
from tests.server.wsclient import SCHEMA_PATH


def test_schema_is_served(betex_server: ServerProcess) -> None:
    with urllib.request.urlopen(betex_server.url + "/schema", timeout=5) as resp:
        assert resp.status == 200
        assert "json" in resp.headers["Content-Type"]
        served = json.loads(resp.read())
    assert served == json.loads(SCHEMA_PATH.read_text())
    assert "ClientMsg" in served["$defs"] and "ServerMsg" in served["$defs"]


def test_index_links_every_endpoint(betex_server: ServerProcess) -> None:
    index = betex_server.get_json("/")
    validate = make_validator("IndexResponse")
    assert validate is not None
    validate(index)
    paths = {e["path"] for e in index["endpoints"]}
    assert {
        "/",
        "/health",
        "/schema",
        "/snapshot",
        "/markets",
        "/orders",
        "/completed_orders",
        "/trades",
    } <= paths
    assert {"/risk", "/metrics", "/debug/live_counts", "/ws", "/ws_ctl"} <= paths
    by_path = {e["path"]: e for e in index["endpoints"]}
    assert by_path["/risk"]["params"] == ["account_id", "key", "market_id", "token"]
    assert by_path["/ws_ctl"]["href"] == f"{betex_server.ws_url}/ws_ctl"
    assert index["schema"] == f"{betex_server.url}/schema"
    for e in index["endpoints"]:
        if e["path"].startswith("/ws"):
            continue
        assert e["href"] == betex_server.url + e["path"]
        status, _ = betex_server.get(e["path"])
        assert status in (200, 404), e  # 404: /snapshot and /risk before any market exists


def test_unknown_query_parameters_are_400_naming_them(betex_server: ServerProcess) -> None:
    status, body = betex_server.get("/risk?market_id=1&account=1")
    assert status == 400, body
    assert body["error"]["code"] == "BAD_REQUEST"
    assert "'account'" in body["error"]["message"]
    assert "account_id" in body["error"]["message"]  # says what it takes instead
    for path in ("/health?x=1", "/markets?limit=5", "/orders?acount_id=3", "/trades?market=1", "/?a=1"):
        status, body = betex_server.get(path)
        assert status == 400, (path, body)
        assert body["error"]["code"] == "BAD_REQUEST"
    status, body = betex_server.get("/orders?account_id=3&limit=5&status=open")
    assert status == 200, body


def test_unknown_query_parameter_refuses_the_websocket_upgrade(betex_server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(f"{betex_server.ws_url}/ws_ctl?depth=5&noack=1", open_timeout=5)
    assert info.value.response.status_code == 400
    assert b"noack" in info.value.response.body
    with connect(f"{betex_server.ws_url}/ws_ctl?depth=5&no_ack=1", open_timeout=5):
        pass
