"""Engine snapshots (atomic, CRC-named, damage skipped) and recovery (snapshot + tail == full replay)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from betex.core.domain.engine import Engine, EngineConfig
from betex.core.durability import snapshot
from betex.core.durability.journal import Journal
from betex.core.durability.recovery import recover
from betex.core.errors import SnapshotDamaged
from tests.core.workload import market_cmd, order_cmd

SEC = 1_000_000_000


class Writer:
    """A real engine writing its batches to a real WAL (what the runtime does, minus the thread)."""

    def __init__(self, data_dir: Path) -> None:
        self.engine = Engine()
        self.journal = Journal.open_writer(data_dir)
        self.data_dir = data_dir
        self.n = 0

    def batch(self, commands: list[object]) -> None:
        self.engine.begin_batch(1_700_000_000 * SEC + self.engine.seq)
        for c in commands:
            self.engine.execute(c)
        self.journal.append(self.engine.end_batch(len(commands)))

    def orders(self, count: int, per_batch: int = 50) -> None:
        for start in range(0, count, per_batch):
            self.batch([order_cmd(self.n + i) for i in range(min(per_batch, count - start))])
            self.n += min(per_batch, count - start)

    def snapshot(self) -> Path:
        return snapshot.save(self.engine, self.data_dir / "snapshots")


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    w = Writer(tmp_path)
    w.batch([market_cmd()])
    yield w
    w.journal.close()


def test_save_then_load_gives_the_same_state(writer: Writer) -> None:
    writer.orders(300)
    path = writer.snapshot()
    assert path.name == snapshot.snapshot_name(
        writer.engine.seq, snapshot.list_snapshots(path.parent)[0].crc32
    )
    loaded = snapshot.load_newest_valid(path.parent)
    assert loaded is not None
    assert loaded.seq == writer.engine.seq
    assert loaded.state_hash() == writer.engine.state_hash()


def test_list_ignores_temp_files_and_foreign_names_and_sorts_by_seq(writer: Writer) -> None:
    d = writer.data_dir / "snapshots"
    seqs = []
    for _ in range(3):
        writer.orders(20)
        writer.snapshot()
        seqs.append(writer.engine.seq)
    (d / ".engine-00000000000000000999-00000000.snap.123.tmp").write_bytes(b"partial")
    (d / "notes.txt").write_text("hello")
    assert [s.seq for s in snapshot.list_snapshots(d)] == seqs


def test_a_damaged_newest_snapshot_is_skipped_with_a_warning_for_an_older_one(
    writer: Writer, caplog: pytest.LogCaptureFixture
) -> None:
    writer.orders(100)
    older = writer.snapshot()
    older_hash = writer.engine.state_hash()
    writer.orders(100)
    newest = writer.snapshot()
    raw = bytearray(newest.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    newest.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="betex.core.durability.snapshot"):
        loaded = snapshot.load_newest_valid(older.parent)
    assert loaded is not None and loaded.state_hash() == older_hash
    assert any("damaged" in r.getMessage() and newest.name in r.getMessage() for r in caplog.records)


def test_no_valid_snapshot_gives_none(writer: Writer) -> None:
    writer.orders(10)
    only = writer.snapshot()
    only.write_bytes(only.read_bytes()[:-5])  # truncated
    assert snapshot.load_newest_valid(only.parent) is None
    assert snapshot.load_newest_valid(writer.data_dir / "no-such-dir") is None


def test_a_crc_valid_file_that_does_not_load_is_damaged(tmp_path: Path) -> None:
    snapshot.write_snapshot(b"\x93\x01\x02\x03", 7, tmp_path)
    with pytest.raises(SnapshotDamaged, match="does not load"):
        snapshot.load(snapshot.list_snapshots(tmp_path)[0])
    assert snapshot.load_newest_valid(tmp_path) is None


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = snapshot.write_snapshot(Engine().dump(), 0, tmp_path)
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_prune_keeps_the_newest(writer: Writer) -> None:
    for _ in range(5):
        writer.orders(5)
        writer.snapshot()
    d = writer.data_dir / "snapshots"
    kept_seqs = [s.seq for s in snapshot.list_snapshots(d)][-2:]
    assert len(snapshot.prune(d, keep=2)) == 3
    assert [s.seq for s in snapshot.list_snapshots(d)] == kept_seqs
    with pytest.raises(ValueError):
        snapshot.prune(d, keep=0)


def test_recovery_from_snapshot_plus_tail_equals_full_replay(writer: Writer) -> None:
    writer.orders(400)
    writer.snapshot()
    snap_seq = writer.engine.seq
    writer.orders(300)
    live = writer.engine.state_hash()
    engine, info = recover(writer.data_dir)
    full, full_info = recover(writer.data_dir, use_snapshot=False)
    assert engine.state_hash() == full.state_hash() == live
    assert info.snapshot_seq == snap_seq and info.events_replayed == writer.engine.seq - snap_seq
    assert full_info.snapshot_seq is None and full_info.events_replayed == writer.engine.seq
    assert info.final_seq == info.wal_last_seq == writer.engine.seq


def test_recovery_to_a_seq_uses_only_snapshots_at_or_before_it(writer: Writer) -> None:
    writer.orders(100)
    early = writer.engine.seq
    early_hash = writer.engine.state_hash()
    writer.orders(100)
    writer.snapshot()  # past `early`: must not be used
    engine, info = recover(writer.data_dir, to_seq=early)
    assert engine.seq == early and engine.state_hash() == early_hash
    assert info.snapshot_seq is None


def test_a_snapshot_past_the_end_of_the_wal_is_never_used(tmp_path: Path) -> None:
    ahead = Writer(tmp_path / "ahead")
    ahead.batch([market_cmd()])
    ahead.orders(100)
    data = ahead.engine.dump()
    ahead.journal.close()
    behind = Writer(tmp_path / "behind")
    behind.batch([market_cmd()])
    behind.orders(10)
    behind.journal.close()
    snapshot.write_snapshot(data, ahead.engine.seq, tmp_path / "behind" / "snapshots")
    engine, info = recover(tmp_path / "behind")
    assert info.snapshot_seq is None and engine.state_hash() == behind.engine.state_hash()


def test_recovery_reports_progress(writer: Writer) -> None:
    writer.orders(100)
    calls: list[tuple[int, int]] = []
    _, info = recover(
        writer.data_dir, use_snapshot=False, progress=lambda done, total: calls.append((done, total))
    )
    assert calls[0] == (0, writer.engine.seq) and calls[-1] == (writer.engine.seq, writer.engine.seq)
    assert info.to_dict()["events_replayed"] == writer.engine.seq


def test_recovery_of_an_empty_data_dir_is_a_fresh_engine(tmp_path: Path) -> None:
    engine, info = recover(tmp_path, EngineConfig(min_stake=200))
    assert engine.seq == 0 and engine.config.min_stake == 200
    assert (info.events_replayed, info.snapshot_seq, info.final_seq) == (0, None, 0)
