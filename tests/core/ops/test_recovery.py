"""The one recovery path (engine + projection) on a real WAL written by a real engine + journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from betex.core.errors import WalNotFound
from betex.core.ops.recovery import (
    projection_path,
    recover_all,
    recover_projection,
    save_projection,
)
from tests.cli.conftest import write_wal


@pytest.fixture(scope="module")
def wal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("recovery") / "data"
    write_wal(data, rounds=50, snapshot_at=200)
    return data


def test_projection_from_file_plus_tail_equals_a_rebuild(wal: Path) -> None:
    full, how = recover_projection(wal, use_file=False)
    assert how.file_seq is None and how.events_replayed == full.seq > 100
    at_100, _ = recover_projection(wal, to_seq=100, use_file=False)
    save_projection(at_100, projection_path(wal))
    try:
        resumed, how = recover_projection(wal)
        assert how.file_seq == 100 and how.events_replayed == full.seq - 100 and how.ignored is None
        assert resumed.dump() == full.dump()
        # a file past the target is not used
        early, how = recover_projection(wal, to_seq=60)
        assert how.file_seq is None and "past" in (how.ignored or "") and early.seq == 60
        # a damaged file is a cache miss, never an error
        path = projection_path(wal)
        path.write_bytes(path.read_bytes()[:-10])
        rebuilt, how = recover_projection(wal)
        assert how.file_seq is None and how.ignored and rebuilt.dump() == full.dump()
    finally:
        projection_path(wal).unlink(missing_ok=True)


def test_recover_all_gives_engine_and_projection_at_the_same_seq(wal: Path) -> None:
    state = recover_all(wal)
    assert state.engine_info.snapshot_seq is not None  # the engine starts from its snapshot
    assert state.engine.seq == state.projection.seq == state.engine_info.wal_last_seq
    assert state.projection_info.describe() == f"rebuilt from the WAL + {state.engine.seq} events replayed"


def test_no_wal(tmp_path: Path) -> None:
    state = recover_all(tmp_path)
    assert state.engine.seq == state.projection.seq == 0
    with pytest.raises(WalNotFound):
        recover_projection(tmp_path)


def test_a_projection_snap_of_an_old_schema_is_refused_by_name_and_rebuilt(wal: Path) -> None:
    """A projection.snap written by an older betex (schema 1: neither read nor migrated) is a
    cache miss that says which schema it has; the projection is rebuilt from the WAL."""
    import msgpack

    full, _ = recover_projection(wal, use_file=False)
    magic, _schema, seq, crc, payload = msgpack.unpackb(full.dump())
    projection_path(wal).write_bytes(msgpack.packb((magic, 1, seq, crc, payload)))
    try:
        rebuilt, how = recover_projection(wal)
        assert how.file_seq is None and "projection schema 1, expected one of (2, 3)" in (how.ignored or "")
        assert rebuilt.dump() == full.dump()
    finally:
        projection_path(wal).unlink(missing_ok=True)


def test_snapshot_at_stop_writes_the_last_seq_once_and_prunes(wal: Path, tmp_path: Path) -> None:
    """What a clean stop writes: an engine snapshot at the engine's seq, so the next recovery
    replays no tail; nothing when the newest snapshot is already there; at most `keep` kept."""
    import shutil

    from betex.core.durability import snapshot
    from betex.core.durability.journal import snapshots_dir_of
    from betex.core.ops.recovery import recover_engine, snapshot_at_stop

    data = tmp_path / "data"
    shutil.copytree(wal, data)
    engine, info = recover_engine(data)
    assert info.events_replayed > 0  # the fixture's snapshot is older than the WAL's end
    path = snapshot_at_stop(engine, data, keep=1)
    assert path is not None and snapshot_at_stop(engine, data) is None
    assert [s.seq for s in snapshot.list_snapshots(snapshots_dir_of(data))] == [engine.seq]
    again, info = recover_engine(data)
    assert info.events_replayed == 0 and info.snapshot_seq == engine.seq
    assert again.state_hash() == engine.state_hash()
