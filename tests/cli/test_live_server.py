"""The toolkit beside a real `betex serve`: reads work while it runs, writes that need the lock
refuse, and hot backups, rebuilds and offline snapshots agree with what the server serves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from betex.core.protocol import render
from betex.core.readmodel.projection import Projection
from tests.cli.conftest import REPO, betex, betex_proc, place_orders
from tests.conftest import ServerProcess


def accepted_ids(data_dir: Path) -> set[int]:
    r = betex("wal", "inspect", "--data-dir", str(data_dir), "--type", "ORDER_ACCEPTED", "--json")
    assert r.code == 0, r.err
    return {json.loads(line)["order_id"] for line in r.out.splitlines()}


def test_inspect_stats_and_verify_while_serving(betex_server: ServerProcess) -> None:
    _, ids = place_orders(betex_server.ws_url, 30)
    data = str(betex_server.data_dir)
    assert set(ids) <= accepted_ids(betex_server.data_dir)
    stats = json.loads(betex("wal", "inspect", "--data-dir", data, "--stats", "--json").out)
    assert stats["counts_by_type"]["ORDER_ACCEPTED"] >= 30
    r = betex("wal", "inspect", "--data-dir", data, "--verify")
    assert r.code == 0 and r.out.startswith("WAL ok:")
    assert betex_server.proc.poll() is None


def test_follow_prints_events_as_the_server_commits_them(betex_server: ServerProcess) -> None:
    data = str(betex_server.data_dir)
    start = json.loads(betex("wal", "inspect", "--data-dir", data, "--stats", "--json").out)["last_seq"] + 1
    follow = subprocess.Popen(
        [sys.executable, "-m", "betex", "wal", "inspect", "--data-dir", data, "--follow", "--json",
         "--from", str(start), "--type", "ORDER_ACCEPTED", "--limit", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        _, ids = place_orders(betex_server.ws_url, 8)
        out, err = follow.communicate(timeout=15)
    finally:
        follow.kill()
    assert follow.returncode == 0, err
    assert [json.loads(line)["order_id"] for line in out.splitlines()] == ids[:5]


def test_projection_rebuild_in_place_refuses_while_serving(betex_server: ServerProcess) -> None:
    r = betex_proc("projection", "rebuild", "--data-dir", str(betex_server.data_dir))
    assert r.code == 3
    engine = re.search(r"engine pid (\d+)", betex_server.log())  # the WAL's holder: the engine process
    holder = int(engine.group(1)) if engine else betex_server.proc.pid
    assert r.err == f"error: WAL {betex_server.data_dir / 'wal'} is locked by another writer (pid {holder})\n"


def test_rebuild_to_another_file_equals_the_live_projection(
    betex_server: ServerProcess, tmp_path: Path
) -> None:
    market, _ = place_orders(betex_server.ws_url, 12)
    out = tmp_path / "rebuilt.snap"
    r = betex("projection", "rebuild", "--data-dir", str(betex_server.data_dir), "--out", str(out), "--json")
    assert r.code == 0, r.err
    rebuilt = Projection.load(out.read_bytes())
    assert rebuilt.seq == betex_server.get_json("/health")["seq"]
    for m in rebuilt.markets:
        assert render.snapshot(rebuilt, m, 350) == betex_server.get_json(f"/snapshot?market_id={m}&depth=350")
        assert render.risk(rebuilt, m) == betex_server.get_json(f"/risk?market_id={m}")
    served = betex_server.get_json("/orders?limit=10000")
    assert served.pop("next_cursor") is None  # one page holds them all
    assert render.orders(rebuilt, limit=10_000) == served


def test_offline_snapshot_equals_the_served_one(betex_server: ServerProcess) -> None:
    market, _ = place_orders(betex_server.ws_url, 6)
    offline = betex(
        "snapshot",
        "--data-dir",
        str(betex_server.data_dir),
        "--market-id",
        str(market),
        "--depth",
        "350",
        "--json",
    )
    online = betex(
        "snapshot", "--url", betex_server.ws_url, "--market-id", str(market), "--depth", "350", "--json"
    )
    assert offline.code == online.code == 0, (offline.err, online.err)
    assert (
        json.loads(offline.out)
        == json.loads(online.out)
        == betex_server.get_json(f"/snapshot?market_id={market}&depth=350")
    )


def test_snapshot_url_unreachable_exits_5() -> None:
    r = betex_proc("snapshot", "--url", "ws://127.0.0.1:9")
    assert r.code == 5 and r.err.startswith("error: cannot reach") and r.err.count("\n") == 1


def test_hot_backup_restores_to_the_same_state_hash(
    betex_server: ServerProcess, server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    place_orders(betex_server.ws_url, 10)
    r = betex("snapshot", "save", "--data-dir", str(betex_server.data_dir), "--json")
    assert r.code == 0, r.err  # an engine snapshot written beside the running server
    dest = tmp_path / "restored"
    r = betex("wal", "backup", str(dest), "--data-dir", str(betex_server.data_dir), "--json")
    assert r.code == 0, r.err
    backup = json.loads(r.out)
    live = json.loads(
        betex(
            "replay",
            "--data-dir",
            str(betex_server.data_dir),
            "--to",
            str(backup["last_seq"]),
            "--no-snapshot",
            "--json",
        ).out
    )
    copy = json.loads(betex("replay", "--data-dir", str(dest), "--json").out)
    assert copy["final_seq"] == backup["last_seq"] == live["final_seq"]
    assert copy["state_hash"] == live["state_hash"]
    restored = server_factory(dest, "--durability", "async")
    assert restored.get_json("/health")["seq"] == backup["last_seq"]
    assert "snapshot at seq" in restored.log()
    market, ids = place_orders(restored.ws_url, 3, market_id=1)  # it accepts writes on the copy
    assert restored.stop() == 0
    assert set(ids) <= accepted_ids(dest)
    assert betex("wal", "inspect", "--data-dir", str(dest), "--verify").code == 0


def test_after_a_clean_stop_projection_snap_equals_a_rebuild(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data = tmp_path / "own"
    server = server_factory(data, "--durability", "async")
    place_orders(server.ws_url, 25)
    assert server.stop() == 0
    written = (data / "projection.snap").read_bytes()
    r = betex("projection", "rebuild", "--data-dir", str(data), "--out", str(tmp_path / "x.snap"))
    assert r.code == 0, r.err
    assert (tmp_path / "x.snap").read_bytes() == written
    r = betex("projection", "rebuild", "--data-dir", str(data))  # in place, now that no one holds the lock
    assert r.code == 0, r.err
    assert (data / "projection.snap").read_bytes() == written
