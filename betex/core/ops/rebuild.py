"""`betex projection rebuild`: the projection (projection.snap) and the history store (history.db)
from the WAL alone, each written atomically."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.domain.engine import EngineConfig
from betex.core.durability.journal import Journal, JournalReader
from betex.core.durability.recovery import ProgressFn
from betex.core.errors import UsageError
from betex.core.ops.common import require_wal
from betex.core.ops.recovery import PROJECTION_FILE, recover_projection, save_projection
from betex.core.readmodel.history import SQLiteHistory
from betex.core.readmodel.projection import Projection

HISTORY_FILE = "history.db"
"""The history store under a data dir (docs/operations.md "History store")."""


def history_path(data_dir: Path) -> Path:
    return Path(data_dir) / HISTORY_FILE


def build_projection(
    data_dir: Path,
    to_seq: int | None = None,
    progress: ProgressFn | None = None,
    use_file: bool = False,
    config: EngineConfig | None = None,
) -> Projection:
    """The projection at `to_seq` (default: the last committed seq): `recovery.recover_projection`
    (`use_file` False, the default here, replays from seq 1 as `projection rebuild` means)."""
    projection, _how = recover_projection(data_dir, config, to_seq, use_file=use_file, progress=progress)
    return projection


@dataclass(frozen=True, slots=True)
class RebuildReport:
    path: Path
    seq: int
    events: int
    size: int
    seconds: float
    history_path: Path | None = None  # the rebuilt history store, when one was written
    history_rows: int | None = None  # its orders + trades + settlements + order updates

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "history_path": None if self.history_path is None else str(self.history_path),
            "history_rows": self.history_rows,
            "seq": self.seq,
            "events": self.events,
            "size": self.size,
            "seconds": round(self.seconds, 6),
            "events_per_s": round(self.events / self.seconds, 1) if self.seconds > 0 else 0.0,
        }


def rebuild_projection(
    data_dir: Path,
    out: Path | None = None,
    to_seq: int | None = None,
    progress: ProgressFn | None = None,
    history_out: Path | None = None,
) -> RebuildReport:
    """Rebuild the projection from the WAL alone and save it atomically (temp file + rename);
    rebuild the history store too: in place (``DATA_DIR/history.db``) with the projection, or at
    `history_out`.

    Writing the data dir's own ``projection.snap`` takes the writer lock for the whole rebuild
    (`WalLocked` if a server holds it), so a server never starts from a half-decided file and
    never overwrites ours on its way down. Any other `out` (and `history_out`) is written without
    the lock, beside a running server.
    """
    data_dir = Path(data_dir)
    require_wal(data_dir)
    if to_seq is not None and to_seq < 0:
        raise UsageError(f"--to must be >= 0, not {to_seq}")
    target = data_dir / PROJECTION_FILE
    path = Path(out) if out is not None else target
    in_place = os.path.realpath(path) == os.path.realpath(target)
    t0 = time.perf_counter()
    lock = Journal.open_writer(data_dir, durability="async") if in_place else None
    try:
        projection = build_projection(data_dir, to_seq, progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_projection(projection, path)
        store_path = history_out if history_out is not None else history_path(data_dir) if in_place else None
        rows = None
        if store_path is not None:
            rows = rebuild_history(data_dir, store_path, projection.seq)
    finally:
        if lock is not None:
            lock.close()
    return RebuildReport(
        path, projection.seq, projection.seq, path.stat().st_size, time.perf_counter() - t0, store_path, rows
    )


def rebuild_history(data_dir: Path, out: Path, to_seq: int) -> int:
    """The history store at `to_seq` from the WAL alone, renamed into place at `out`
    (`SQLiteHistory.rebuild`); returns its row count (orders, trades, settlements, updates)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with JournalReader(data_dir) as reader:
        store = SQLiteHistory.rebuild(out, reader.iter_events(1, to_seq))
    try:
        counts = store.counts()
    finally:
        store.close()
    return sum(n for table, n in counts.items() if table != "markets")
