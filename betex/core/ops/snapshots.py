"""`betex snapshot`: engine snapshots (save beside a running server, list) and a market's SNAPSHOT
body computed offline from projection.snap + the WAL tail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.durability import snapshot as snapshots
from betex.core.durability.journal import (
    snapshots_dir_of,
    wal_dir_of,
)
from betex.core.durability.recovery import ProgressFn, RecoveryInfo
from betex.core.errors import WalError
from betex.core.ops.common import require_wal
from betex.core.ops.rebuild import build_projection
from betex.core.ops.recovery import recover_engine
from betex.core.protocol import render


@dataclass(frozen=True, slots=True)
class SavedSnapshot:
    path: Path
    seq: int
    size: int
    state_hash: str
    info: RecoveryInfo

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "seq": self.seq,
            "size": self.size,
            "state_hash": self.state_hash,
            "events_replayed": self.info.events_replayed,
            "from_snapshot_seq": self.info.snapshot_seq,
        }


def save_engine_snapshot(
    data_dir: Path, to_seq: int | None = None, progress: ProgressFn | None = None
) -> SavedSnapshot:
    """Rebuild the engine from the WAL and write an engine snapshot into ``snapshots/``.

    Safe while a server runs: the file is written atomically under a name carrying its seq and
    CRC, and a snapshot at a committed seq is exactly what the server would have written there.
    """
    require_wal(data_dir)
    engine, info = recover_engine(Path(data_dir), None, use_snapshot=True, to_seq=to_seq, progress=progress)
    if engine.seq == 0:
        raise WalError(f"nothing to snapshot: the WAL in {wal_dir_of(Path(data_dir))} is empty")
    data = engine.dump()
    path = snapshots.write_snapshot(data, engine.seq, snapshots_dir_of(Path(data_dir)))
    return SavedSnapshot(path, engine.seq, len(data), engine.state_hash(), info)


def list_engine_snapshots(data_dir: Path) -> list[snapshots.SnapshotInfo]:
    return snapshots.list_snapshots(snapshots_dir_of(Path(data_dir)))


def snapshot_info_dict(info: snapshots.SnapshotInfo) -> dict[str, Any]:
    return {
        "name": info.path.name,
        "path": str(info.path),
        "seq": info.seq,
        "crc32": f"{info.crc32:08x}",
        "size": info.size,
    }


def market_snapshot(
    data_dir: Path, market_id: int | None = None, depth: int = 10, to_seq: int | None = None
) -> dict[str, Any] | None:
    """The SNAPSHOT body the server would send for `market_id` (default: the lowest id), computed
    offline from ``projection.snap`` + the WAL tail (or the whole WAL). None: no such market."""
    projection = build_projection(data_dir, to_seq, use_file=True)
    if market_id is None:
        market_id = projection.default_market_id()
        if market_id is None:
            return None
    return render.snapshot(projection, market_id, depth)
