"""Tables print units people read (odds 2.10, money 28.00; binary in bps and whole shares);
--json keeps engine units; the WAL table hides the engine's BATCH_PROCESSED markers unless --all."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import betex


def _inspect(wal_data: Path, *args: str) -> str:
    result = betex("wal", "inspect", "--data-dir", str(wal_data), *args)
    assert result.code == 0, result.err
    return " ".join(result.out.split())  # the table wraps in a narrow console: compare words


def test_wal_table_prints_odds_and_money_with_two_decimals(wal_data: Path) -> None:
    text = _inspect(wal_data, "--market", "1", "--type", "ORDER_ACCEPTED", "--limit", "2")
    # write_wal's first exchange orders: BACK 1000 cents at 200 (2.00), LAY 500 cents at 200
    assert "side=BACK price=2.00 size=10.00" in text
    assert "side=LAY price=2.00 size=5.00" in text
    assert not re.search(r"price=\d{3}\b", text)


def test_wal_table_keeps_binary_prices_in_bps_and_shares_whole(wal_data: Path) -> None:
    text = _inspect(wal_data, "--market", "2", "--type", "ORDER_ACCEPTED,TRADE_MATCHED", "--limit", "4")
    assert "side=BUY price=5000 size=10" in text
    assert "maker_size=4" in text and "price=5100" in text


def test_wal_table_learns_market_units_created_before_the_range(wal_data: Path) -> None:
    text = _inspect(wal_data, "--from", "20", "--type", "TRADE_MATCHED", "--market", "1", "--limit", "1")
    assert re.search(r"price=\d\.\d\d", text) and re.search(r"taker_size=\d+\.\d\d", text)


def test_wal_table_hides_batch_markers_unless_all_or_asked_for(wal_data: Path) -> None:
    assert "BATCH_PROCESSED" not in _inspect(wal_data, "--limit", "50")
    assert "BATCH_PROCESSED" in _inspect(wal_data, "--limit", "50", "--all")
    assert "BATCH_PROCESSED" in _inspect(wal_data, "--type", "BATCH_PROCESSED", "--limit", "2")


def test_wal_json_keeps_engine_units_and_every_event(wal_data: Path) -> None:
    lines = [
        json.loads(x) for x in betex("wal", "inspect", "--data-dir", str(wal_data), "--json").out.splitlines()
    ]
    assert any(e["type"] == "BATCH_PROCESSED" for e in lines)
    first = next(e for e in lines if e["type"] == "ORDER_ACCEPTED" and e["side"] == "BACK")
    assert (first["price"], first["size"]) == (200, 1000)


def test_offline_snapshot_prints_prices_as_the_tui(wal_data: Path) -> None:
    result = betex("snapshot", "--data-dir", str(wal_data), "--market-id", "1")
    assert result.code == 0, result.err
    ladders = re.findall(r"(\d+\.\d+)@(\d+\.\d+)", result.out)
    assert ladders, result.out
    for price, size in ladders:
        assert len(price.split(".")[1]) == 2 and len(size.split(".")[1]) == 2, (price, size)
    binary = betex("snapshot", "--data-dir", str(wal_data), "--market-id", "2").out
    assert re.search(r"bids \(bps@shares\)\s+\d{4}@\d+", binary), binary
