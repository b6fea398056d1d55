"""`betex wal backup`: a consistent hot copy of the WAL (and its snapshots) usable as a data dir."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.durability import archive
from betex.core.durability import snapshot as snapshots
from betex.core.durability.files import fsync_dir
from betex.core.durability.journal import (
    snapshots_dir_of,
    wal_dir_of,
)
from betex.core.errors import SnapshotDamaged, UsageError, WalCorrupt
from betex.core.ops.common import open_reader, require_wal


@dataclass(frozen=True, slots=True)
class BackupReport:
    dest: Path
    last_seq: int
    wal_bytes: int
    snapshots: int
    verified: bool
    seconds: float
    segments: int = 0  # WAL archive segments copied into DEST/archive

    def to_dict(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "last_seq": self.last_seq,
            "wal_bytes": self.wal_bytes,
            "snapshots_copied": self.snapshots,
            "verified": self.verified,
            "archive_segments_copied": self.segments,
            "seconds": round(self.seconds, 6),
        }


class BackupError(UsageError):
    """The destination is unusable (exists with content, or is the source)."""


def backup(data_dir: Path, dest: Path, with_snapshots: bool = True, check: bool = True) -> BackupReport:
    """A consistent hot copy of the WAL into ``dest/wal`` (compacted), usable as a data dir.

    The copy is one LMDB read txn, so it holds exactly the events committed when it began and a
    matching meta; the running writer is never blocked. Engine snapshots at or below the copied
    seq come along (CRC-checked) so a server restored from `dest` replays only a tail, and so do
    the WAL archive segments (into ``dest/archive``, wherever the source keeps them), so the copy
    holds the whole history. `check` re-reads the copy and verifies every record, archive included.
    """
    data_dir, dest = Path(data_dir), Path(dest)
    require_wal(data_dir)
    dest_wal = wal_dir_of(dest)
    if os.path.realpath(dest) == os.path.realpath(data_dir):
        raise BackupError(f"backup destination {dest} is the data dir itself")
    if dest_wal.exists() and any(dest_wal.iterdir()):
        raise BackupError(f"backup destination {dest_wal} already holds a WAL; choose an empty directory")
    t0 = time.perf_counter()
    dest_wal.mkdir(parents=True, exist_ok=True)
    try:
        with open_reader(data_dir) as source:
            source.backup(dest_wal, compact=True)
    except BaseException:
        shutil.rmtree(dest_wal, ignore_errors=True)
        raise
    segments = 0
    for seg in archive.list_segments(data_dir):
        archive.read_segment(seg)  # CRC-checked: a damaged segment is not silently copied
        dest_dir = dest / archive.ARCHIVE_DIR
        dest_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seg.path, dest_dir / seg.path.name)
        segments += 1
    if segments:
        fsync_dir(dest / archive.ARCHIVE_DIR)
    with open_reader(dest) as reader:
        last_seq = reader.last_seq()
        if check:
            report = reader.verify_report()
            if not report.ok:
                raise WalCorrupt(
                    f"backup copy failed verification at seq {report.first_bad_seq}: {report.reason}"
                )
    copied = 0
    if with_snapshots:
        for info in snapshots.list_snapshots(snapshots_dir_of(data_dir)):
            if info.seq > last_seq:
                continue
            try:
                data = snapshots.read_snapshot(info)
            except (SnapshotDamaged, OSError):
                continue
            snapshots.write_snapshot(data, info.seq, snapshots_dir_of(dest))
            copied += 1
    snapshots_dir_of(dest).mkdir(parents=True, exist_ok=True)
    wal_bytes = (dest_wal / "data.mdb").stat().st_size
    return BackupReport(dest, last_seq, wal_bytes, copied, check, time.perf_counter() - t0, segments)
