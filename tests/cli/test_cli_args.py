"""Argument handling and output shape: every command has --help, bad arguments exit 2 with one
line on stderr, and --json output parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from betex.cli.app import app
from betex.cli.manpages import walk

runner = CliRunner()
COMMANDS = [node.path for node in walk()]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "betex")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    code, out, _ = invoke(*path, "--help")
    assert code == 0
    assert "Usage:" in out


@pytest.mark.parametrize(
    "args",
    [
        ("wal", "inspect", "--limit", "0"),
        ("wal", "inspect", "--from", "-1"),
        ("wal", "inspect", "--from", "x"),
        ("wal", "inspect", "--stats", "--verify"),
        ("wal", "inspect", "--follow", "--stats"),
        ("wal", "inspect", "--type", "NOT_A_TYPE"),
        ("wal", "inspect", "--from", "10", "--to", "5"),
        ("wal", "inspect", "--bogus"),
        ("wal", "backup"),
        ("replay", "--to", "-3"),
        ("replay", "--to", "abc"),
        ("snapshot", "--depth", "0"),
        ("snapshot", "--depth", "351"),
        ("snapshot", "--url", "ws://127.0.0.1:9", "--data-dir", "x"),
        ("snapshot", "save", "--to", "0"),
        ("projection", "rebuild", "--to", "-1"),
        ("projection", "nope"),
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    """Checked before any WAL is opened: the default data dir need not exist."""
    code, _, err = invoke(*args)
    assert code == 2, err


def test_usage_errors_of_our_own_are_one_line(wal_data: Path) -> None:
    code, _, err = invoke("wal", "inspect", "--data-dir", str(wal_data), "--type", "bogus")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: unknown event type 'bogus'")


def test_missing_wal_is_one_line_exit_1(tmp_path: Path) -> None:
    for args in (
        ("wal", "inspect"),
        ("replay",),
        ("snapshot",),
        ("projection", "rebuild"),
        ("snapshot", "save"),
    ):
        code, _, err = invoke(*args, "--data-dir", str(tmp_path / "nothing"))
        assert code == 1, (args, err)
        assert err.startswith("error: no WAL in") and err.count("\n") == 1
    assert not (tmp_path / "nothing").exists()  # readers never create a WAL


def test_inspect_json_lines_are_events_in_seq_order(wal_data: Path) -> None:
    code, out, _ = invoke("wal", "inspect", "--data-dir", str(wal_data), "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"type", "seq", "ts", "market_id"} <= set(events[0])
    trade = next(e for e in events if e["type"] == "TRADE_MATCHED")
    assert isinstance(trade["legs"], list) and {"account_id", "runner_id", "win", "lose"} == set(
        trade["legs"][0]
    )


def test_inspect_filters_combine(wal_data: Path) -> None:
    code, out, _ = invoke(
        "wal", "inspect", "--data-dir", str(wal_data), "--json",
        "--market", "2", "--type", "order_accepted,TRADE_MATCHED", "--from", "20", "--to", "300", "--limit", "7",
    )  # fmt: skip
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 7
    assert all(e["market_id"] == 2 and e["type"] in ("ORDER_ACCEPTED", "TRADE_MATCHED") for e in events)
    assert all(20 <= e["seq"] <= 300 for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_inspect_table_shows_columns_and_caps_rows(wal_data: Path) -> None:
    code, out, err = invoke("wal", "inspect", "--data-dir", str(wal_data))
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["seq", "time"]
    assert "MARKET_CREATED" in out and "first 200 events" in err
    code, out, err = invoke("wal", "inspect", "--data-dir", str(wal_data), "--limit", "3")
    assert code == 0 and err == ""
    assert "ORDER_ACCEPTED" not in out or out.count("BATCH_PROCESSED") <= 3


def test_stats_json_counts_add_up(wal_data: Path) -> None:
    code, out, _ = invoke("wal", "inspect", "--data-dir", str(wal_data), "--stats", "--json")
    assert code == 0
    stats = json.loads(out)
    assert (
        stats["events"]
        == stats["last_seq"]
        == stats["meta_last_seq"]
        == sum(stats["counts_by_type"].values())
    )
    assert stats["first_seq"] == 1 and stats["counts_by_type"]["MARKET_CREATED"] == 2
    assert stats["disk_bytes"] > 0 and stats["file_bytes"] >= stats["record_bytes"] > 0
    assert stats["first_time"].endswith("Z") and stats["events_per_s"] > 0


def test_verify_json_on_a_sound_wal(wal_data: Path) -> None:
    code, out, _ = invoke("wal", "inspect", "--data-dir", str(wal_data), "--verify", "--json")
    assert code == 0
    report = json.loads(out)
    assert report == {
        "ok": True,
        "checked": report["last_seq"],
        "last_seq": report["last_seq"],
        "first_bad_seq": None,
        "reason": None,
    }


def test_replay_json_shape(wal_data: Path) -> None:
    code, out, _ = invoke("replay", "--data-dir", str(wal_data), "--json")
    assert code == 0
    d = json.loads(out)
    assert set(d) >= {
        "events_replayed",
        "seconds",
        "events_per_s",
        "snapshot_seq",
        "final_seq",
        "wal_last_seq",
        "load_seconds",
        "state_hash",
    }
    assert d["final_seq"] == d["wal_last_seq"] and len(d["state_hash"]) == 64


def test_snapshot_json_is_a_snapshot_body(wal_data: Path) -> None:
    code, out, _ = invoke(
        "snapshot", "--data-dir", str(wal_data), "--market-id", "2", "--depth", "2", "--json"
    )
    assert code == 0
    body = json.loads(out)
    assert (
        body["market_id"] == 2 and body["market_model"] == "BINARY_YES" and body["book"]["kind"] == "BINARY"
    )
    assert len(body["book"]["data"]["bids"]) <= 2
    code, out, _ = invoke("snapshot", "--data-dir", str(wal_data))
    assert code == 0 and "market 1" in out and "Home" in out
    code, _, err = invoke("snapshot", "--data-dir", str(wal_data), "--market-id", "99")
    assert code == 1 and err == "error: unknown market 99\n"


def test_snapshot_list_json_is_a_list(wal_data: Path) -> None:
    code, out, _ = invoke("snapshot", "list", "--data-dir", str(wal_data), "--json")
    assert code == 0 and json.loads(out) == []
