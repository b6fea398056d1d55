"""The client side of `serve --auth keys` against a real server: a keyed `BetexClient` learns its
account, `betex bots` trades with one key per bot (given, or issued with the admin token), and
`betex tui --key` trades as the key's account with no `--account`, its bots on keys of their own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from betex.client import AccessRefused, BetexClient
from betex.client import messages as m
from betex.client.bots import ACCOUNT_BASE
from betex.client.loadgen import LoadConfig, run_load
from betex.client.tui import BetexTui
from betex.core.errors import UsageError
from tests.client.test_tui import SIZE, tui_config, until
from tests.conftest import REPO, ServerProcess, start_server
from tests.server.test_accounts import new_account
from tests.server.wsclient import Client

TOKEN = "admin-s3cret"


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("keys")
    server = start_server(
        root / "data",
        "--durability",
        "async",
        "--snapshot-interval-ms",
        "50",
        "--auth",
        "keys",
        "--admin-token",
        TOKEN,
    )
    try:
        yield server
    finally:
        server.stop()


async def admin(server: ServerProcess) -> Client:
    return await Client.connect(server.ws_url + f"/ws_ctl?token={TOKEN}")


async def accounts_with_keys(server: ServerProcess, n: int) -> list[tuple[int, str]]:
    a = await admin(server)
    try:
        return [(acct, key) for acct, _kid, key in [await new_account(a, f"t{i}") for i in range(n)]]
    finally:
        await a.close()


async def open_market(client: BetexClient) -> int:
    market_id = await client.create_market("soccer")
    return market_id


def orders_of(server: ServerProcess, market_id: int) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"{server.url}/orders?market_id={market_id}&limit=1000",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return list(json.loads(resp.read())["orders"])


async def test_a_keyed_client_learns_its_account_and_keeps_the_key_out_of_the_url(
    keys_server: ServerProcess,
) -> None:
    ((account, key),) = await accounts_with_keys(keys_server, 1)
    async with BetexClient(keys_server.ws_url, key=key, token=TOKEN) as c:
        assert c.account_id == account
        assert key not in c.url and key not in c.status.url
        market_id = await open_market(c)
        reply = await c.place(market_id, 1, "BACK", 3.0, 5.0, account)
        assert isinstance(reply, m.OrderResponse) and reply.error is None, reply
    async with BetexClient(keys_server.ws_url, token=TOKEN) as c:
        assert c.account_id is None  # the admin token alone binds no account


async def test_bots_issued_a_key_each_trade_as_their_own_accounts(keys_server: ServerProcess) -> None:
    cfg = LoadConfig(
        url=keys_server.ws_url,
        create="soccer",
        mm_bots=1,
        noise_bots=2,
        informed_bots=1,
        duration=1.5,
        rate=300,
        token=TOKEN,
    )
    summary = await run_load(cfg)
    accounts = [b["account_id"] for b in summary.bots]
    assert len(set(accounts)) == 4
    assert not set(accounts) & {base + 1 for base in ACCOUNT_BASE.values()}  # server-made accounts
    assert "UNAUTHORIZED" not in summary.rejected and "UNAUTHORIZED" not in summary.server["rejected"]
    assert summary.acked > 100 and summary.lost == 0
    placed = {o["account_id"] for o in orders_of(keys_server, summary.market_id)}
    assert placed and placed <= set(accounts)


async def test_bots_without_a_credential_on_a_keys_server_say_what_to_give(
    keys_server: ServerProcess,
) -> None:
    with pytest.raises(UsageError, match="--admin-token"):
        await run_load(LoadConfig(url=keys_server.ws_url, duration=0.5))
    with pytest.raises(UsageError, match="one --key per bot"):
        await run_load(LoadConfig(url=keys_server.ws_url, duration=0.5, keys=("a", "b")))


def test_betex_bots_with_one_key_per_bot_from_the_environment(keys_server: ServerProcess) -> None:
    given = asyncio.run(accounts_with_keys(keys_server, 2))

    async def market() -> int:
        async with BetexClient(keys_server.ws_url, token=TOKEN) as c:
            return await open_market(c)

    market_id = asyncio.run(market())
    env = {**os.environ, "BETEX_KEY": " ".join(key for _, key in given)}
    env.pop("BETEX_ADMIN_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "betex", "bots", "--url", keys_server.ws_url, "--market-id", str(market_id)]
        + ["--mm-bots", "1", "--noise-bots", "1", "--informed-bots", "0", "--duration", "1", "--rate", "200"]
        + ["--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert [b["account_id"] for b in summary["bots"]] == [acct for acct, _ in given]
    assert summary["acked"] > 50 and "UNAUTHORIZED" not in summary["rejected"]
    assert all(b.get("risk") for b in summary["bots"] if b["trades"])  # each key reads its own /risk
    placed = {o["account_id"] for o in orders_of(keys_server, market_id)}
    assert placed == {acct for acct, _ in given}


async def test_tui_with_only_a_key_trades_as_its_account_and_its_bots_get_keys(
    keys_server: ServerProcess, tmp_path: Path
) -> None:
    ((account, key),) = await accounts_with_keys(keys_server, 1)
    cfg = tui_config(keys_server, key=key, token=TOKEN, mm_bots=1, noise_bots=1, informed_bots=0)
    assert cfg.account_id is None
    app = BetexTui(cfg)
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected and st.account_id == account, what="bound account")
        known = {mk["market_id"] for mk in keys_server.get_json("/markets")["markets"]}
        await pilot.press("1")
        await until(
            pilot,
            lambda: st.selected_market not in known and st.snapshot is not None,
            what="market created and selected",
        )
        mid = st.selected_market
        assert mid is not None
        await pilot.press("b")
        await pilot.press(*"50", "tab", *"12", "enter")
        await until(pilot, lambda: any(o.is_open for o in st.order_list), what="order accepted")
        assert {o["account_id"] for o in orders_of(keys_server, mid)} == {account}

        await pilot.press("p")
        await until(
            pilot, lambda: sum(r.acked for r in st.bots.rows) >= 10, timeout=20, what="keyed bots trading"
        )
        bot_accounts = {r.account_id for r in st.bots.rows}
        assert len(bot_accounts) == 2 and account not in bot_accounts
        assert app.session is not None and set(app.session.pool.seats) == bot_accounts
        assert sum(r.rejected for r in st.bots.rows) < sum(r.acked for r in st.bots.rows)
        await pilot.press("p")
    placed = {o["account_id"] for o in orders_of(keys_server, mid)}
    assert placed == {account} | bot_accounts


async def test_a_refused_key_fails_at_once_and_the_cli_says_why(keys_server: ServerProcess) -> None:
    t0 = time.monotonic()
    with pytest.raises(AccessRefused) as refused:
        await BetexClient(keys_server.ws_url, key="not-a-key").connect(timeout=5.0)
    assert time.monotonic() - t0 < 2.0  # no retrying for the whole timeout: it cannot help
    assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")
    out = subprocess.run(
        [sys.executable, "-m", "betex", "bots", "--url", keys_server.ws_url, "--key", "not-a-key"]
        + ["--mm-bots", "1", "--noise-bots", "0", "--informed-bots", "0", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("BETEX_")},
    )
    assert out.returncode == 6, out.stderr
    assert "UNAUTHORIZED" in out.stderr and "live API key" in out.stderr, out.stderr


async def test_tui_bots_without_the_admin_token_on_a_keys_server_say_so(keys_server: ServerProcess) -> None:
    ((account, key),) = await accounts_with_keys(keys_server, 1)
    async with BetexClient(keys_server.ws_url, token=TOKEN) as c:
        await open_market(c)
    app = BetexTui(tui_config(keys_server, key=key, mm_bots=1, noise_bots=0, informed_bots=0))
    async with app.run_test(size=SIZE) as pilot:
        st = app.state
        await until(pilot, lambda: st.conn.connected and st.account_id == account, what="bound account")
        await until(pilot, lambda: bool(st.markets), what="markets listed")
        await pilot.press("enter")  # select the market under the cursor
        await until(pilot, lambda: st.selected_market is not None, what="a market selected")
        await pilot.press("p")  # start the bots
        await until(
            pilot,
            lambda: any("need the admin token" in n.text for n in st.notices),
            what="a notice that the bots need the admin token",
        )
        assert app.session is not None and not app.session.pool.seats
        assert all(r.sent == 0 for r in st.bots.rows)
