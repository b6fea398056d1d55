"""Late commands on a settled or voided market, over the wire, before and after a restart: the
documented rejects (docs/engine.md "Late commands"), never INVALID_MARKET and never a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ServerProcess
from tests.server.test_ws_ctl import admin, create, market_body, place
from tests.server.wsclient import Client


async def _late_codes(url: str, settled: int, voided: int, order_id: int) -> dict[str, str]:
    cl = await Client.connect(url + "/ws_ctl")
    try:
        out: dict[str, str] = {}
        for name, kind, body in (
            ("place", "PLACE_ORDER", {"market_id": settled, "runner_id": 1, "side": "BACK", "price": 2.5,
                                      "size": 5.0, "account_id": 7}),
            ("cancel", "CANCEL_ORDER", {"market_id": settled, "order_id": order_id, "account_id": 7}),
            ("cancel_all", "CANCEL_ALL", {"market_id": voided, "account_id": 7}),
            ("replace", "REPLACE_ORDER", {"market_id": settled, "order_id": order_id, "account_id": 7,
                                          "new_price": 3.0}),
            ("settle", "SETTLE_MARKET", {"market_id": settled, "winner_runner_ids": [1]}),
            ("close", "CLOSE_MARKET", {"market_id": voided}),
            ("reopen", "SET_MARKET_STATE", {"market_id": settled, "market_state": "OPEN"}),
        ):  # fmt: skip
            rtype, reply = await cl.call(kind, body)
            error = reply.get("error") or {}
            out[name] = str(error.get("code") or reply.get("code") or rtype)
        return out
    finally:
        await cl.close()


async def test_late_commands_get_the_documented_reject_across_a_restart(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = server_factory(data, "--durability", "async")
    cl = await Client.connect(server.ws_url + "/ws_ctl")
    try:
        body = market_body("Late FC v Early", "MULTI_RUNNER", [1, 2, 3], ["Home", "Draw", "Away"])
        settled, voided = await create(cl, body), await create(cl, body)
        order: dict[str, Any] = await place(cl, settled, 1, "BACK", 2.5, 10.0, 7)
        await place(cl, settled, 1, "LAY", 2.5, 4.0, 8)
        await place(cl, voided, 1, "BACK", 2.5, 10.0, 7)
        await admin(cl, "CLOSE_MARKET", market_id=settled)
        await admin(cl, "SETTLE_MARKET", market_id=settled, winner_runner_ids=[1])
        await admin(cl, "VOID_MARKET", market_id=voided)
    finally:
        await cl.close()
    expected = {
        "place": "MARKET_NOT_OPEN",
        "cancel": "MARKET_NOT_OPEN",
        "cancel_all": "MARKET_NOT_OPEN",
        "replace": "MARKET_NOT_OPEN",
        "settle": "INVALID_TRANSITION",
        "close": "INVALID_TRANSITION",
        "reopen": "INVALID_TRANSITION",
    }
    assert await _late_codes(server.ws_url, settled, voided, order["order_id"]) == expected
    server.stop()
    again = server_factory(data, "--durability", "async")  # tombstones come back from the WAL
    assert await _late_codes(again.ws_url, settled, voided, order["order_id"]) == expected
    markets = {m["market_id"]: m["market_state"] for m in again.get_json("/markets")["markets"]}
    assert (markets[settled], markets[voided]) == ("SETTLED", "VOIDED")
