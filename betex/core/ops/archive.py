"""`betex wal archive`: move WAL events older than the newest engine snapshot into archive segments.

Takes the writer lock (exits 3 beside a running server). The newest CRC-valid engine snapshot at
or below the WAL's end decides how far: events through its seq (never the WAL's last record)
leave LMDB, segment by segment, each written durably before its events are deleted
(`durability.archive`), so a kill -9 at any point leaves every event readable exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.durability import archive
from betex.core.durability import snapshot as snapshots
from betex.core.durability.journal import Journal, snapshots_dir_of
from betex.core.errors import SnapshotDamaged, WalCorrupt
from betex.core.ops.common import require_wal


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    archive_dir: Path
    snapshot_seq: int | None  # the newest valid engine snapshot (None: nothing to archive)
    archived_through: int  # the archive now covers seq 1..archived_through
    events_moved: int
    segments_written: int
    wal_first_seq: int
    wal_last_seq: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "archive_dir": str(self.archive_dir),
            "snapshot_seq": self.snapshot_seq,
            "archived_through": self.archived_through,
            "events_moved": self.events_moved,
            "segments_written": self.segments_written,
            "wal_first_seq": self.wal_first_seq,
            "wal_last_seq": self.wal_last_seq,
            "seconds": round(self.seconds, 6),
        }


def _newest_snapshot_seq(data_dir: Path, max_seq: int) -> int | None:
    for info in reversed(snapshots.list_snapshots(snapshots_dir_of(data_dir))):
        if info.seq > max_seq:
            continue
        try:
            snapshots.read_snapshot(info)  # CRC-checked: a damaged snapshot covers nothing
        except (SnapshotDamaged, OSError):
            continue
        return info.seq
    return None


def archive_wal(
    data_dir: Path, to_dir: Path | None = None, segment_events: int = archive.SEGMENT_EVENTS
) -> ArchiveReport:
    """Move events 1..min(newest snapshot seq, last seq − 1) out of LMDB into segments under
    ``DATA_DIR/archive`` (or `to_dir`, then recorded in ``DATA_DIR/archive.dirs``)."""
    data_dir = Path(data_dir)
    require_wal(data_dir)
    t0 = time.perf_counter()
    directory = Path(to_dir) if to_dir is not None else data_dir / archive.ARCHIVE_DIR
    moved = written = 0
    with Journal.open_writer(data_dir, durability="sync") as journal:
        last = journal.last_seq
        snap = _newest_snapshot_seq(data_dir, last)
        through = archive.archived_through(archive.list_segments(data_dir))
        upto = min(snap, last - 1) if snap is not None else 0
        if upto > through and to_dir is not None:
            archive.remember_dir(data_dir, directory)  # before a segment exists there
        first = journal.first_seq()
        if first and first <= through < last:  # a crashed run wrote a segment, not the delete
            journal.delete_through(through)
            first = through + 1
        start = through + 1
        if upto >= start and first > start:
            raise WalCorrupt(f"seq {start}..{first - 1} is in neither the WAL nor the archive")
        while start <= upto:
            end = min(upto, start + segment_events - 1)
            archive.write_segment(directory, start, journal.records(start, end))
            journal.delete_through(end)
            moved += end - start + 1
            written += 1
            start = end + 1
        through = max(through, upto)
        report = ArchiveReport(
            directory, snap, through, moved, written, journal.first_seq(), last, time.perf_counter() - t0
        )
    return report
