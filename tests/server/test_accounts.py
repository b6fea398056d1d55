"""`--auth keys` against a real server: keys bind connections to accounts, reads are owner-only,
revocation is immediate, evil Origins get 403, one account's flood is RATE_LIMITED alone."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import ServerProcess
from tests.server.wsclient import Client

TOKEN = "admin-s3cret"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
MARKET = {
    "name": "Keys",
    "market_model": "EXCHANGE_ODDS",
    "book_type": "MULTI_RUNNER",
    "market_kind": "PRE_ONLY",
    "market_state": "OPEN",
    "market_phase": "PRE",
    "runner_ids": [1, 2],
}


def get(server: ServerProcess, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def new_account(admin: Client, name: str) -> tuple[int, int, str]:
    """(account_id, key_id, key) made over the protocol."""
    kind, body = await admin.call("CREATE_ACCOUNT", {"name": name})
    assert kind == "ACK" and body["ok"], body
    account_id = body["detail"]["account_id"]
    kind, body = await admin.call("ISSUE_KEY", {"account_id": account_id})
    assert kind == "ACK" and body["ok"], body
    return account_id, body["detail"]["key_id"], body["detail"]["key"]


def code(body: dict[str, Any]) -> str | None:
    """The reject code of an ORDER_RESPONSE or ACK body (None if accepted)."""
    error = body.get("error")
    return None if error is None else str(error["code"])


def order(market_id: int, **kw: Any) -> dict[str, Any]:
    return {"market_id": market_id, "runner_id": 1, "side": "BACK", "price": 2.0, "size": 5.0, **kw}


@pytest.fixture
def server(data_dir: Path, server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory(
        data_dir,
        "--durability",
        "async",
        "--auth",
        "keys",
        "--admin-token",
        TOKEN,
        "--allowed-origin",
        "https://ops.example",
        "--rate-per-account",
        "50",
        "--rate-burst",
        "50",
    )


async def test_a_key_acts_and_reads_only_for_its_account(server: ServerProcess) -> None:
    admin = await Client.connect(server.ws_url + "/ws_ctl", headers=ADMIN)
    _kind, created = await admin.call("CREATE_MARKET", MARKET)
    market_id = created["market_id"]
    a_id, _a_key_id, a_key = await new_account(admin, "alice")
    b_id, _b_key_id, b_key = await new_account(admin, "bob")
    assert a_id != b_id and a_key != b_key
    a = await Client.connect(server.ws_url + "/ws_ctl", headers={"Authorization": f"Bearer {a_key}"})
    b = await Client.connect(server.ws_url + f"/ws_ctl?key={b_key}")
    try:
        # The upgrade tells a keyed connection its account (a client may hold only the key).
        assert a.ws.response is not None and a.ws.response.headers["X-Betex-Account"] == str(a_id)
        assert b.ws.response is not None and b.ws.response.headers["X-Betex-Account"] == str(b_id)
        assert admin.ws.response is not None and "X-Betex-Account" not in admin.ws.response.headers
        kind, placed = await b.call("PLACE_ORDER", order(market_id))  # account_id omitted: bob's
        assert kind == "ORDER_RESPONSE" and placed["status"] == "ACCEPTED", placed
        b_order = placed["order_id"]

        # A acting as B: every order command is UNAUTHORIZED and changes nothing.
        kind, body = await a.call("PLACE_ORDER", order(market_id, account_id=b_id))
        assert (kind, code(body)) == ("ORDER_RESPONSE", "UNAUTHORIZED"), body
        for msg_type, msg in (
            ("CANCEL_ORDER", {"market_id": market_id, "order_id": b_order, "account_id": b_id}),
            (
                "REPLACE_ORDER",
                {"market_id": market_id, "order_id": b_order, "account_id": b_id, "new_price": 3.0},
            ),
        ):
            kind, body = await a.call(msg_type, msg)
            assert code(body) == "UNAUTHORIZED", (msg_type, body)
        kind, body = await a.call("CANCEL_ALL", {"market_id": market_id, "account_id": b_id})
        assert kind == "ACK" and body["error"]["code"] == "UNAUTHORIZED", body
        kind, body = await a.call(
            "REDUCE_ORDER",
            {
                "market_id": market_id,
                "order_id": b_order,
                "account_id": b_id,
                "expected_remaining": 5.0,
                "new_remaining": 1.0,
            },
        )
        assert code(body) == "UNAUTHORIZED", body
        # Batches: each instruction naming B (by the message or by itself) is UNAUTHORIZED.
        for msg_type, inst in (
            ("PLACE_ORDERS", {"runner_id": 1, "side": "LAY", "price": 2.0, "size": 5.0}),
            ("CANCEL_ORDERS", {"order_id": b_order}),
            ("REPLACE_ORDERS", {"order_id": b_order, "new_price": 3.0}),
        ):
            for batch in (
                {"market_id": market_id, "account_id": b_id, "instructions": [inst]},
                {"market_id": market_id, "instructions": [{**inst, "account_id": b_id}]},
            ):
                kind, body = await a.call(msg_type, batch)
                assert kind == "ORDERS_RESPONSE", (msg_type, body)
                assert [code(r) for r in body["results"]] == ["UNAUTHORIZED"], (msg_type, body)
        # B's order stream is B's: A cannot follow it.
        kind, body = await a.call("SUBSCRIBE_ORDERS", {"account_id": b_id})
        assert (kind, body["code"]) == ("ERROR", "UNAUTHORIZED"), body
        # Without naming an account, A's cancel of B's order is A's: NOT_OWNER.
        kind, body = await a.call("CANCEL_ORDER", {"market_id": market_id, "order_id": b_order})
        assert code(body) == "NOT_OWNER", body
        # Admin commands need the admin token, a key is not enough.
        kind, body = await a.call("ISSUE_KEY", {"account_id": b_id})
        assert kind == "ACK" and body["error"]["code"] == "UNAUTHORIZED", body

        # Reads: A's key cannot read B's orders or risk; B's key and the admin token can.
        q = f"market_id={market_id}&account_id={b_id}"
        for path in ("/orders", "/completed_orders", "/risk"):
            status, body = get(server, f"{path}?{q}", {"Authorization": f"Bearer {a_key}"})
            assert (status, body["error"]["code"]) == (403, "UNAUTHORIZED"), (path, body)
            status, body = get(server, f"{path}?market_id={market_id}")
            assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED"), (path, body)
            status, body = get(server, f"{path}?{q}&key={b_key}")
            assert status == 200, (path, body)
            status, body = get(server, f"{path}?{q}", ADMIN)
            assert status == 200, (path, body)
        _status, mine = get(server, f"/orders?market_id={market_id}&key={b_key}")
        assert [o["order_id"] for o in mine["orders"]] == [b_order]
        assert all(o["account_id"] == b_id for o in mine["orders"])
        (b_now,) = mine["orders"]  # after all of A's attempts, B's order is as B placed it
        assert (b_now["status"], b_now["size_remaining"], b_now["price"]) == ("EXECUTABLE", 5.0, 2.0), b_now
        _status, mine = get(server, f"/orders?market_id={market_id}&key={a_key}")
        assert mine["orders"] == []
        # Market data stays public.
        assert get(server, f"/snapshot?market_id={market_id}")[0] == 200
        assert get(server, "/markets")[0] == 200
        assert get(server, f"/trades?market_id={market_id}")[0] == 200
        a.check()
        b.check()
    finally:
        for c in (a, b, admin):
            await c.close()


async def test_upgrades_without_a_good_credential_are_refused(server: ServerProcess) -> None:
    for url, headers in (
        ("/ws_ctl", {}),  # keys mode: /ws_ctl needs a key or the token
        ("/ws_ctl?key=not-a-key", {}),
        ("/ws_ctl", {"Authorization": "Bearer not-a-key"}),
        ("/ws_ctl?token=wrong", {}),
    ):
        with pytest.raises(InvalidStatus) as info:
            await Client.connect(server.ws_url + url, headers=headers)
        assert info.value.response.status_code == 401, url
    reader = await Client.connect(server.ws_url + "/ws")  # market data: public
    await reader.close()


async def test_a_revoked_key_is_refused_at_once(server: ServerProcess) -> None:
    admin = await Client.connect(server.ws_url + "/ws_ctl", headers=ADMIN)
    _kind, created = await admin.call("CREATE_MARKET", MARKET)
    market_id = created["market_id"]
    _account, key_id, key = await new_account(admin, "carol")
    open_conn = await Client.connect(server.ws_url + f"/ws_ctl?key={key}")
    try:
        kind, body = await open_conn.call("PLACE_ORDER", order(market_id))
        assert body["status"] == "ACCEPTED", body
        kind, body = await admin.call("REVOKE_KEY", {"key_id": key_id})
        assert kind == "ACK" and body["ok"], body
        # The connection opened before the revoke: its very next command is refused.
        kind, body = await open_conn.call("PLACE_ORDER", order(market_id))
        assert (kind, code(body)) == ("ORDER_RESPONSE", "UNAUTHORIZED"), body
        kind, body = await open_conn.call("CANCEL_ALL", {"market_id": market_id})
        assert body["error"]["code"] == "UNAUTHORIZED", body
        # A new upgrade or HTTP read with it: 401.
        with pytest.raises(InvalidStatus) as info:
            await Client.connect(server.ws_url + f"/ws_ctl?key={key}")
        assert info.value.response.status_code == 401
        assert get(server, f"/orders?key={key}")[0] == 401
        kind, body = await admin.call("REVOKE_KEY", {"key_id": 999})
        assert kind == "ERROR" and body["code"] == "BAD_REQUEST", body
    finally:
        await open_conn.close()
        await admin.close()


async def test_keys_survive_a_restart_and_the_wal_holds_no_key(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    args = ("--durability", "sync", "--auth", "keys", "--admin-token", TOKEN)
    server = server_factory(data_dir, *args)
    admin = await Client.connect(server.ws_url + "/ws_ctl", headers=ADMIN)
    _account, _live_id, live = await new_account(admin, "dave")
    _account, revoked_id, revoked = await new_account(admin, "erin")
    await admin.call("REVOKE_KEY", {"key_id": revoked_id})
    await admin.close()
    server.stop()
    wal = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert live.encode() not in wal and revoked.encode() not in wal
    server = server_factory(data_dir, *args)
    conn = await Client.connect(server.ws_url + f"/ws_ctl?key={live}")
    await conn.close()
    with pytest.raises(InvalidStatus):
        await Client.connect(server.ws_url + f"/ws_ctl?key={revoked}")


async def test_an_evil_origin_gets_403(server: ServerProcess) -> None:
    for path in ("/ws", "/ws_ctl"):
        with pytest.raises(InvalidStatus) as info:
            await Client.connect(server.ws_url + path, headers=ADMIN, origin="https://evil.example")
        assert info.value.response.status_code == 403, path
    ok = await Client.connect(server.ws_url + "/ws_ctl", headers=ADMIN, origin="https://ops.example")
    await ok.close()
    status, metrics = get(server, "/metrics")
    assert status == 200 and metrics["limits"]["refused"]["origin"] >= 2


async def test_a_flood_is_rate_limited_while_another_account_trades(server: ServerProcess) -> None:
    admin = await Client.connect(server.ws_url + "/ws_ctl", headers=ADMIN)
    _kind, created = await admin.call("CREATE_MARKET", MARKET)
    market_id = created["market_id"]
    _a, _ka, flood_key = await new_account(admin, "flood")
    _b, _kb, calm_key = await new_account(admin, "calm")
    flood = await Client.connect(server.ws_url + f"/ws_ctl?key={flood_key}")
    calm = await Client.connect(server.ws_url + f"/ws_ctl?key={calm_key}")
    try:
        replies = await asyncio.gather(*(flood.call("PLACE_ORDER", order(market_id)) for _ in range(300)))
        codes = [code(body) for _kind, body in replies]
        assert codes.count("RATE_LIMITED") >= 200, codes  # burst 50, 50/s
        assert codes.count(None) >= 50
        for _ in range(5):
            kind, body = await calm.call("PLACE_ORDER", order(market_id))
            assert body["status"] == "ACCEPTED", body
        _status, metrics = get(server, "/metrics")
        assert metrics["limits"]["refused"]["rate_limited"] >= 200
        log = server.log()
        assert log.count("for rate_limited") == 1, log  # one line per interval, not per event
        flood.check()
    finally:
        for c in (flood, calm, admin):
            await c.close()


def test_open_mode_is_refused_off_loopback(tmp_path: Path) -> None:
    import subprocess
    import sys

    base = [sys.executable, "-m", "betex", "serve", "--port", "0", "--data-dir", str(tmp_path / "d")]
    done = subprocess.run([*base, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert "--auth open" in done.stderr and "--insecure" in done.stderr, done.stderr
    assert not (tmp_path / "d").exists()


async def test_open_mode_needs_an_account_id(betex_server: ServerProcess) -> None:
    conn = await Client.connect(betex_server.ws_url + "/ws_ctl")
    try:
        kind, body = await conn.call("CANCEL_ALL", {"market_id": 1})
        assert (kind, body["code"]) == ("ERROR", "BAD_REQUEST"), body
        assert "account_id" in body["message"]
        kind, body = await conn.call("ISSUE_KEY", {"account_id": 424242})  # open mode: anyone is admin
        assert (kind, body["code"]) == ("ERROR", "BAD_REQUEST"), body  # but the account must exist
    finally:
        await conn.close()


async def test_the_account_commands_of_the_shell(server: ServerProcess) -> None:
    import subprocess
    import sys

    def betex(*args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BETEX_ADMIN_TOKEN": token} if token else dict(os.environ)
        cmd = [sys.executable, "-m", "betex", "account", *args, "--url", server.url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)

    created = betex("create", "--name", "shell", "--json")
    assert created.returncode == 0, created
    account_id = json.loads(created.stdout)["account_id"]
    issued = betex("issue-key", str(account_id), "--json")
    assert issued.returncode == 0, issued
    out = json.loads(issued.stdout)
    assert out["account_id"] == account_id and len(out["key"]) >= 40
    conn = await Client.connect(server.ws_url + f"/ws_ctl?key={out['key']}")
    await conn.close()
    revoked = betex("revoke-key", str(out["key_id"]))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked
    with pytest.raises(InvalidStatus):
        await Client.connect(server.ws_url + f"/ws_ctl?key={out['key']}")
    unknown = betex("issue-key", "999999")
    assert unknown.returncode == 6 and "BAD_REQUEST" in unknown.stderr, unknown
    no_token = betex("create", token=None)
    assert no_token.returncode == 6 and "UNAUTHORIZED" in no_token.stderr, no_token
