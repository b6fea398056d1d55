"""`--admin-token`: market admin commands need the token (header or query); trading does not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import ServerProcess
from tests.server.wsclient import Client

TOKEN = "s3cret-token"
MARKET = {
    "name": "Admin",
    "market_model": "EXCHANGE_ODDS",
    "book_type": "MULTI_RUNNER",
    "market_kind": "PRE_ONLY",
    "market_state": "OPEN",
    "market_phase": "PRE",
    "runner_ids": [1, 2],
}


@pytest.fixture
def server(data_dir: Path, server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory(data_dir, "--durability", "async", "--admin-token", TOKEN)


async def test_admin_commands_need_the_token(server: ServerProcess) -> None:
    anon = await Client.connect(server.ws_url + "/ws_ctl")
    header = await Client.connect(server.ws_url + "/ws_ctl", headers={"Authorization": f"Bearer {TOKEN}"})
    query = await Client.connect(server.ws_url + f"/ws_ctl?token={TOKEN}")
    try:
        kind, body = await anon.call("CREATE_MARKET", MARKET)
        assert kind == "ACK" and body["ok"] is False and body["error"]["code"] == "UNAUTHORIZED"
        kind, created = await header.call("CREATE_MARKET", MARKET)
        assert kind == "MARKET_CREATED"
        market_id = created["market_id"]

        kind, body = await anon.call(
            "SET_MARKET_STATE", {"market_id": market_id, "market_state": "SUSPENDED"}
        )
        assert body["error"]["code"] == "UNAUTHORIZED"
        kind, body = await anon.call("SET_ACCOUNT_LIMIT", {"account_id": 1, "max_liability": 10.0})
        assert body["error"]["code"] == "UNAUTHORIZED"

        order: dict[str, Any] = {
            "market_id": market_id,
            "runner_id": 1,
            "side": "BACK",
            "price": 2.0,
            "size": 5.0,
            "account_id": 1,
        }
        kind, body = await anon.call("PLACE_ORDER", order)
        assert kind == "ORDER_RESPONSE" and body["status"] == "ACCEPTED"  # trading needs no token

        kind, body = await query.call(
            "SET_MARKET_STATE", {"market_id": market_id, "market_state": "SUSPENDED"}
        )
        assert kind == "MARKET_UPDATED" and body["market_state"] == "SUSPENDED"
    finally:
        for cl in (anon, header, query):
            await cl.close()
    metrics = server.get_json("/metrics")
    assert metrics["rejects_total"]["UNAUTHORIZED"] == 3


async def test_a_wrong_token_is_refused_at_the_upgrade_with_401(server: ServerProcess) -> None:
    for path, headers in (
        ("/ws_ctl", {"Authorization": "Bearer nope"}),
        ("/ws_ctl?token=nope", {}),
        ("/ws?token=nope", {}),
    ):
        with pytest.raises(InvalidStatus) as refused:
            await Client.connect(server.ws_url + path, headers=headers)
        assert refused.value.response.status_code == 401
        body = json.loads(refused.value.response.body)
        assert body["error"]["code"] == "UNAUTHORIZED"
