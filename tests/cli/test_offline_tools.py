"""The toolkit on a real WAL written by a real engine + journal, run as separate processes."""

from __future__ import annotations

import json
from pathlib import Path

from betex.core.domain.events import OrderAccepted
from betex.core.durability.codec import encode
from betex.core.durability.journal import JournalReader
from betex.core.readmodel.projection import Projection
from tests.cli.conftest import betex, betex_proc, write_wal


def damage(data_dir: Path, seq: int) -> None:
    """Flip a payload byte of record `seq` everywhere it appears in the data file (LMDB's
    copy-on-write may leave stale copies in free pages), so its CRC no longer matches."""
    with JournalReader(data_dir) as reader:
        event = next(reader.iter_events(seq, seq))
    record = encode(event)
    path = data_dir / "wal" / "data.mdb"
    raw = bytearray(path.read_bytes())
    at = raw.find(record)
    assert at >= 0
    while at >= 0:
        raw[at + len(record) - 3] ^= 0xFF
        at = raw.find(record, at + 1)
    path.write_bytes(bytes(raw))


def test_verify_a_damaged_wal_exits_4_naming_the_first_bad_seq(wal_copy: Path) -> None:
    with JournalReader(wal_copy) as reader:
        victim = next(e for e in reader.iter_events(100) if isinstance(e, OrderAccepted)).seq
    damage(wal_copy, victim)
    r = betex_proc("wal", "inspect", "--data-dir", str(wal_copy), "--verify")
    assert r.code == 4
    assert r.err == f"error: WAL damaged at seq {victim}: CRC mismatch\n"
    r = betex("wal", "inspect", "--data-dir", str(wal_copy), "--verify", "--json")
    assert r.code == 4 and json.loads(r.out)["first_bad_seq"] == victim
    r = betex("wal", "inspect", "--data-dir", str(wal_copy), "--json")  # reading past it fails too
    assert r.code == 4 and f"seq {victim}" in r.err
    assert len(r.out.splitlines()) == victim - 1


def test_replay_from_snapshot_and_full_replay_print_the_same_hash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = write_wal(data, rounds=80, snapshot_at=150)
    with_snap = json.loads(betex("replay", "--data-dir", str(data), "--json").out)
    full = json.loads(betex("replay", "--data-dir", str(data), "--no-snapshot", "--json").out)
    assert with_snap["snapshot_seq"] is not None and 150 <= with_snap["snapshot_seq"] < engine.seq
    assert with_snap["events_replayed"] == engine.seq - with_snap["snapshot_seq"]
    assert full["snapshot_seq"] is None and full["events_replayed"] == engine.seq
    assert with_snap["state_hash"] == full["state_hash"] == engine.state_hash()
    text = betex("replay", "--data-dir", str(data)).out
    assert f"state hash  {engine.state_hash()}" in text and f"final seq   {engine.seq}" in text


def test_replay_to_a_seq_before_the_snapshot_ignores_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_wal(data, rounds=40, snapshot_at=150)
    a = json.loads(betex("replay", "--data-dir", str(data), "--to", "100", "--json").out)
    b = json.loads(betex("replay", "--data-dir", str(data), "--to", "100", "--no-snapshot", "--json").out)
    assert a["final_seq"] == b["final_seq"] == 100 and a["snapshot_seq"] is None
    assert a["state_hash"] == b["state_hash"]


def test_snapshot_save_then_replay_starts_from_it(wal_copy: Path) -> None:
    r = betex("snapshot", "save", "--data-dir", str(wal_copy), "--json")
    assert r.code == 0, r.err
    saved = json.loads(r.out)
    listed = json.loads(betex("snapshot", "list", "--data-dir", str(wal_copy), "--json").out)
    assert [s["seq"] for s in listed] == [saved["seq"]] and Path(listed[0]["path"]).exists()
    replay = json.loads(betex("replay", "--data-dir", str(wal_copy), "--json").out)
    assert replay["snapshot_seq"] == saved["seq"] and replay["events_replayed"] == 0
    assert replay["state_hash"] == saved["state_hash"]


def test_projection_rebuild_in_place_and_to_a_seq(wal_copy: Path) -> None:
    r = betex("projection", "rebuild", "--data-dir", str(wal_copy), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    snap = wal_copy / "projection.snap"
    assert report["path"] == str(snap) and report["seq"] == report["events"] > 0
    rebuilt = Projection.load(snap.read_bytes())
    fresh = Projection(retire_final=True)  # projection.snap is the server's live-only kind
    with JournalReader(wal_copy) as reader:
        fresh.apply_batch(list(reader.iter_events()))
    assert rebuilt.dump() == fresh.dump()
    assert not list(wal_copy.glob("*.tmp"))
    out = wal_copy.parent / "at-50.snap"
    r = betex("projection", "rebuild", "--data-dir", str(wal_copy), "--to", "50", "--out", str(out))
    assert r.code == 0 and Projection.load(out.read_bytes()).seq == 50


def test_backup_offline_copies_wal_and_snapshots(wal_copy: Path, tmp_path: Path) -> None:
    betex("snapshot", "save", "--data-dir", str(wal_copy))
    dest = tmp_path / "backup"
    r = betex("wal", "backup", str(dest), "--data-dir", str(wal_copy), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["verified"] and report["snapshots_copied"] == 1
    src = json.loads(betex("replay", "--data-dir", str(wal_copy), "--no-snapshot", "--json").out)
    copy = json.loads(betex("replay", "--data-dir", str(dest), "--json").out)
    assert copy["final_seq"] == report["last_seq"] == src["final_seq"]
    assert copy["state_hash"] == src["state_hash"] and copy["snapshot_seq"] == report["last_seq"]
    again = betex("wal", "backup", str(dest), "--data-dir", str(wal_copy))
    assert again.code == 2 and "already holds a WAL" in again.err


def test_replay_over_a_gap_in_the_wal_is_damage_exit_4(wal_copy: Path) -> None:
    """A record missing from the middle (not just a bad CRC) is WAL damage, not a crash."""
    import struct

    import lmdb

    env = lmdb.open(str(wal_copy / "wal"), max_dbs=4, subdir=True)
    try:
        events_db = env.open_db(b"events")
        with env.begin(write=True, db=events_db) as txn:
            assert txn.delete(struct.pack(">Q", 50))
    finally:
        env.close()
    r = betex_proc("replay", "--data-dir", str(wal_copy), "--no-snapshot")
    assert r.code == 4
    assert r.err == "error: WAL damaged: seq 50 is missing (event seq 51 does not follow 49)\n"


def damage_page(data_dir: Path, seq: int) -> None:
    """Break the header (page flags) of every LMDB page holding record `seq`, as a bad disk
    sector would: LMDB itself then reports MDB_CORRUPTED, no record CRC is involved."""
    with JournalReader(data_dir) as reader:
        record = encode(next(reader.iter_events(seq, seq)))
    path = data_dir / "wal" / "data.mdb"
    raw = bytearray(path.read_bytes())
    page = 4096
    at = raw.find(record)
    assert at >= 0
    while at >= 0:
        start = at - at % page
        raw[start + 10 : start + 16] = b"\xff" * 6  # mp_flags, mp_lower, mp_upper
        at = raw.find(record, start + page)
    path.write_bytes(bytes(raw))


def test_page_level_lmdb_damage_is_exit_4_for_verify_inspect_replay_and_serve(wal_copy: Path) -> None:
    with JournalReader(wal_copy) as reader:
        last = reader.last_seq()
    damage_page(wal_copy, last // 2)
    r = betex_proc("wal", "inspect", "--data-dir", str(wal_copy), "--verify")
    assert r.code == 4, r.err
    assert r.err.startswith("error: WAL damaged at seq ") and "MDB_CORRUPTED" in r.err, r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    bad = int(r.err.split("at seq ")[1].split(":")[0])
    assert 1 < bad <= last // 2
    r = betex("wal", "inspect", "--data-dir", str(wal_copy), "--json")
    assert r.code == 4 and f"seq {bad}: unreadable, page-level damage" in r.err
    assert len(r.out.splitlines()) == bad - 1  # everything before the damaged page still reads
    r = betex_proc("replay", "--data-dir", str(wal_copy), "--no-snapshot")
    assert r.code == 4 and r.err.startswith("error: WAL damaged: seq ") and "MDB_CORRUPTED" in r.err, r.err
    r = betex_proc("serve", "--data-dir", str(wal_copy), "--port", "0", timeout=60)
    assert r.code == 4, (r.out, r.err)
    last_line = r.err.strip().splitlines()[-1]
    assert last_line.startswith("error: WAL damaged: seq ") and "MDB_CORRUPTED" in last_line, r.err
    assert "Traceback" not in r.err
