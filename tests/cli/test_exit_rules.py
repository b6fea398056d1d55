"""One rule per failure across commands: a data dir without a WAL is `no WAL in …` (exit 1) for
every offline command, a busy port fails before the data dir is touched, and bots refuse a
market that cannot trade instead of sending nothing and exiting 0."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.cli.conftest import betex, betex_proc
from tests.conftest import ServerProcess


@pytest.mark.parametrize(
    "args",
    [
        ("snapshot", "list"),
        ("snapshot", "save"),
        ("snapshot",),
        ("replay",),
        ("wal", "inspect"),
        ("wal", "inspect", "--stats"),
        ("projection", "rebuild"),
    ],
)
def test_a_data_dir_without_a_wal_is_no_wal_exit_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "nowhere"
    if args[0] == "snapshot":  # the group's own --data-dir, given before the subcommand
        result = betex("snapshot", "--data-dir", str(missing), *args[1:])
    else:
        result = betex(*args, "--data-dir", str(missing))
    assert result.code == 1, result
    assert f"no WAL in {missing / 'wal'}" in result.err
    assert not missing.exists(), "a reader created the data dir"


def test_serve_on_a_busy_port_fails_before_creating_wal_or_snapshots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = betex_proc("serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data))
    assert result.code == 1, result
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in result.err
    assert not (data / "wal").exists() and not (data / "snapshots").exists()


async def _settled_market(url: str) -> int:
    from betex.client.connection import BetexClient

    async with BetexClient(url, reconnect=False) as client:
        market_id = await client.create_market("binary")
        await client.close_market(market_id)
        await client.settle(market_id, [1])
        return market_id


def test_bots_refuse_a_settled_market_and_a_missing_one(betex_server: ServerProcess) -> None:
    settled = asyncio.run(_settled_market(betex_server.ws_url))
    result = betex_proc("bots", "--url", betex_server.ws_url, "--market-id", str(settled), "--duration", "1")
    assert result.code == 1, result
    assert f"market {settled} is SETTLED and takes no orders" in result.err
    result = betex_proc("bots", "--url", betex_server.ws_url, "--market-id", "9999", "--duration", "1")
    assert result.code == 1, result
    assert "no market 9999" in result.err
