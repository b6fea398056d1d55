"""Engine snapshots: the whole engine state at a seq, so recovery replays only the WAL tail.

A snapshot file is exactly `Engine.dump()` (msgpack). Its name carries the seq and the CRC32 of
the content, ``engine-<seq:020d>-<crc32:08x>.snap``, so damage is detected without trusting the
file. Writes go through `files.write_atomic` (temp file, fsync, rename, fsync the directory).
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from betex.core.domain.engine import Engine, EngineConfig
from betex.core.durability.files import write_atomic
from betex.core.errors import SnapshotDamaged

log = logging.getLogger(__name__)

_NAME = re.compile(r"^engine-(\d{20})-([0-9a-f]{8})\.snap$")


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    seq: int
    crc32: int
    size: int


def snapshot_name(seq: int, crc: int) -> str:
    return f"engine-{seq:020d}-{crc:08x}.snap"


def write_snapshot(data: bytes, seq: int, snapshots_dir: Path) -> Path:
    """Atomically store `data` (an `Engine.dump()` taken at `seq`); returns the final path."""
    snapshots_dir = Path(snapshots_dir)
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    return write_atomic(snapshots_dir / snapshot_name(seq, zlib.crc32(data)), data)


def save(engine: Engine, snapshots_dir: Path) -> Path:
    """Snapshot `engine` now (call it on the thread that owns the engine)."""
    return write_snapshot(engine.dump(), engine.seq, snapshots_dir)


def list_snapshots(snapshots_dir: Path) -> list[SnapshotInfo]:
    """Snapshots by ascending seq; temp files and foreign names are ignored."""
    snapshots_dir = Path(snapshots_dir)
    if not snapshots_dir.is_dir():
        return []
    out: list[SnapshotInfo] = []
    for entry in os.scandir(snapshots_dir):
        m = _NAME.match(entry.name)
        if m is None or not entry.is_file():
            continue
        out.append(SnapshotInfo(Path(entry.path), int(m.group(1)), int(m.group(2), 16), entry.stat().st_size))
    out.sort(key=lambda s: s.seq)
    return out


def read_snapshot(info: SnapshotInfo) -> bytes:
    """The snapshot's bytes, after checking them against the CRC in its name."""
    data = info.path.read_bytes()
    crc = zlib.crc32(data)
    if crc != info.crc32:
        raise SnapshotDamaged(f"{info.path.name}: CRC {crc:08x} does not match its name")
    return data


def load(info: SnapshotInfo, config: EngineConfig | None = None) -> Engine:
    """Load one snapshot; raises `SnapshotDamaged` if its bytes or its content are wrong."""
    data = read_snapshot(info)
    try:
        engine = Engine.load(data, config)
    except Exception as exc:  # a CRC-valid file that still does not load (e.g. old dump version)
        raise SnapshotDamaged(f"{info.path.name}: does not load: {exc}") from exc
    if engine.seq != info.seq:
        raise SnapshotDamaged(f"{info.path.name}: holds seq {engine.seq}, name says {info.seq}")
    return engine


def load_newest_valid(
    snapshots_dir: Path, config: EngineConfig | None = None, max_seq: int | None = None
) -> Engine | None:
    """The newest loadable snapshot with seq <= `max_seq`; damaged ones are skipped with a warning."""
    for info in reversed(list_snapshots(snapshots_dir)):
        if max_seq is not None and info.seq > max_seq:
            log.warning(
                "skipping snapshot %s: seq %d is past the WAL/target seq %d",
                info.path.name,
                info.seq,
                max_seq,
            )
            continue
        try:
            return load(info, config)
        except (SnapshotDamaged, OSError) as exc:
            log.warning("skipping damaged snapshot: %s", exc)
    return None


def discard_after(snapshots_dir: Path, last_seq: int) -> list[Path]:
    """Delete snapshots past `last_seq` (the WAL's end); a writer calls this before appending.

    Such a snapshot holds commits the WAL lost (power loss under `async` durability); once new
    events reuse those seqs it would look valid while describing a different history.
    """
    removed: list[Path] = []
    for info in list_snapshots(snapshots_dir):
        if info.seq > last_seq:
            info.path.unlink(missing_ok=True)
            removed.append(info.path)
    return removed


def prune(snapshots_dir: Path, keep: int = 3) -> list[Path]:
    """Delete all but the newest `keep` snapshots; returns what was removed."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, not {keep}")
    removed: list[Path] = []
    for info in list_snapshots(snapshots_dir)[:-keep]:
        info.path.unlink(missing_ok=True)
        removed.append(info.path)
    return removed
