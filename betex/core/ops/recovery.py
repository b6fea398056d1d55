"""The one recovery path: a data dir → engine and projection at a seq, for `serve` and the offline tools.

`betex serve` calls `recover_all` after taking the WAL writer lock; `replay`, `snapshot`,
`projection rebuild` and friends call `recover_engine` / `recover_projection` as readers. Each
entry point first removes the temp files a crashed snapshot write left behind
(`remove_crash_leftovers`), and pauses the cyclic GC while it builds the large, acyclic heap of
a recovered state (a policy of the process, `betex.core.runtime.gctune`, which the durability
and read-model layers do not decide).

- Engine: the newest valid engine snapshot at or below the target seq, then the WAL tail
  (`betex.core.durability.recovery`).
- Projection: ``projection.snap`` when it loads (schema and CRC ok) and its seq is not past the
  target, then the WAL tail; otherwise a rebuild from seq 1. A damaged or foreign file is a
  cache miss, logged, never an error: the WAL is the record.

``projection.snap`` is written only through `save_projection` (`files.write_atomic`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betex.core.domain.engine import Engine, EngineConfig
from betex.core.domain.events import Event
from betex.core.durability import snapshot
from betex.core.durability.files import remove_stale_temps, write_atomic
from betex.core.durability.journal import JournalReader, snapshots_dir_of
from betex.core.durability.recovery import ProgressFn, RecoveryInfo, recover
from betex.core.errors import SnapshotDamaged, WalCorrupt, WalNotFound
from betex.core.readmodel.projection import Projection
from betex.core.runtime import gctune

log = logging.getLogger(__name__)

PROJECTION_FILE = "projection.snap"
"""The projection's disk snapshot under a data dir (the server writes it on a clean stop)."""

PROGRESS_EVERY = 65536
APPLY_CHUNK = 4096
"""Events per `Projection.apply_batch` call while replaying."""


def projection_path(data_dir: Path) -> Path:
    return Path(data_dir) / PROJECTION_FILE


def remove_crash_leftovers(data_dir: Path) -> list[Path]:
    """Remove stale temp files of crashed snapshot writes (engine snapshots, projection.snap).

    Safe beside a running server or `betex snapshot save`: a temp file whose writer is alive
    stays (see `betex.core.durability.files`).
    """
    data_dir = Path(data_dir)
    removed = remove_stale_temps(data_dir) + remove_stale_temps(snapshots_dir_of(data_dir))
    for path in removed:
        log.warning("removed %s, left by a snapshot write that crashed", path)
    return removed


# --------------------------------------------------------------------------------------------
# engine


def recover_engine(
    data_dir: Path,
    config: EngineConfig | None = None,
    use_snapshot: bool = True,
    to_seq: int | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Engine, RecoveryInfo]:
    """The engine at `to_seq` (default: the WAL's last seq); see `durability.recovery.recover`."""
    remove_crash_leftovers(data_dir)
    with gctune.paused():  # replay builds long-lived, acyclic state
        return recover(Path(data_dir), config, use_snapshot=use_snapshot, to_seq=to_seq, progress=progress)


def snapshot_at_stop(engine: Engine, data_dir: Path, keep: int = 3) -> Path | None:
    """An engine snapshot at `engine.seq` unless the newest one is already there (then None), and
    all but the newest `keep` pruned: what a clean stop writes, so that the next start replays
    no WAL tail (a running server snapshots every `--snapshot-every` events, and a tail of up to
    that many events took seconds to replay at every restart). Call it on the engine's thread
    once the engine has stopped. A failed write is logged and ignored: the WAL has everything."""
    directory = snapshots_dir_of(Path(data_dir))
    existing = snapshot.list_snapshots(directory)
    if engine.seq == 0 or (existing and existing[-1].seq >= engine.seq):
        return None
    try:
        with gctune.paused():
            path = snapshot.save(engine, directory)
        snapshot.prune(directory, keep)
    except OSError as exc:
        log.error(
            "engine snapshot at stop (seq %d) failed: %s (the WAL still has everything)", engine.seq, exc
        )
        return None
    return path


# --------------------------------------------------------------------------------------------
# projection


@dataclass(frozen=True, slots=True)
class ProjectionRecovery:
    """How a projection was reached: from ``projection.snap`` at `file_seq`, or rebuilt."""

    file_seq: int | None  # None: rebuilt from seq 1
    events_replayed: int
    final_seq: int
    seconds: float
    ignored: str | None = None  # why projection.snap was not used, when it exists

    def describe(self) -> str:
        """What `serve` prints after "projection"."""
        how = (
            "rebuilt from the WAL"
            if self.file_seq is None
            else f"from {PROJECTION_FILE} at seq {self.file_seq}"
        )
        return f"{how} + {self.events_replayed} events replayed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_seq": self.file_seq,
            "events_replayed": self.events_replayed,
            "final_seq": self.final_seq,
            "seconds": round(self.seconds, 6),
            "ignored": self.ignored,
        }


def load_projection(path: Path, config: EngineConfig | None = None) -> Projection:
    """The projection saved at `path`; `SnapshotDamaged` if damaged or of another schema,
    `FileNotFoundError` if missing."""
    data = Path(path).read_bytes()
    with gctune.paused():
        return Projection.load(data, config)


def save_projection(projection: Projection, path: Path) -> Path:
    """Write `projection` to `path` durably and atomically (`files.write_atomic`)."""
    with gctune.paused():
        data = projection.dump()
    return write_atomic(path, data)


def _projection_start(
    data_dir: Path, target: int, config: EngineConfig | None, use_file: bool, retire_final: bool = True
) -> tuple[Projection | None, str | None]:
    """``projection.snap`` when usable for `target` (else None), and why it was not used."""
    path = projection_path(data_dir)
    if not use_file:
        return None, None
    try:
        projection = load_projection(path, config)
    except FileNotFoundError:
        return None, None
    except (SnapshotDamaged, OSError) as exc:
        log.warning("ignoring %s (%s); rebuilding the projection from the WAL", path, exc)
        return None, str(exc)
    if projection.seq > target:
        why = f"its seq {projection.seq} is past the WAL/target seq {target}"
        log.warning("ignoring %s: %s; rebuilding the projection from the WAL", path, why)
        return None, why
    if projection.retire_final != retire_final:
        kind = "live-only" if projection.retire_final else "full-history"
        why = f"it holds a {kind} projection, and a {'live-only' if retire_final else 'full-history'} one is wanted"
        log.warning("ignoring %s: %s; rebuilding the projection from the WAL", path, why)
        return None, why
    return projection, None


def recover_projection(
    data_dir: Path,
    config: EngineConfig | None = None,
    to_seq: int | None = None,
    use_file: bool = True,
    progress: ProgressFn | None = None,
    retire_final: bool = True,
) -> tuple[Projection, ProjectionRecovery]:
    """The projection at `to_seq` (default: the WAL's last seq), built from WAL events.

    `use_file`: start from ``projection.snap`` when it is usable (what `serve` does) and replay
    only the tail; otherwise replay everything from seq 1 (what `projection rebuild` means).
    `retire_final`: a live-only projection (the default: `projection.snap` is the server's, and
    the history store serves settled markets); False builds a full-history one (tests, and
    comparisons with the history store). A file of the other kind is ignored and rebuilt.
    A hole in the WAL raises `WalCorrupt`; a data dir without a WAL raises `WalNotFound`.
    """
    data_dir = Path(data_dir)
    remove_crash_leftovers(data_dir)
    t0 = time.perf_counter()
    with gctune.paused(), JournalReader(data_dir) as reader:
        wal_last = reader.last_seq()
        target = wal_last if to_seq is None else min(to_seq, wal_last)
        loaded, ignored = _projection_start(data_dir, target, config, use_file, retire_final)
        projection = loaded if loaded is not None else Projection(config, retire_final)
        file_seq = loaded.seq if loaded is not None else None
        replayed = _replay_into(projection, reader, target, progress)
    return projection, ProjectionRecovery(
        file_seq, replayed, projection.seq, time.perf_counter() - t0, ignored
    )


def _replay_into(
    projection: Projection, reader: JournalReader, target: int, progress: ProgressFn | None
) -> int:
    total = target - projection.seq
    done = 0
    if progress is not None:
        progress(0, total)
    batch: list[Event] = []
    expected = projection.seq + 1
    for event in reader.iter_events(projection.seq + 1, target):
        if event.seq != expected:
            raise WalCorrupt(f"seq {expected} missing from the WAL (next is {event.seq})")
        expected += 1
        batch.append(event)
        if len(batch) >= APPLY_CHUNK:
            projection.apply_batch(batch)
            done += len(batch)
            batch = []
            if progress is not None and done % PROGRESS_EVERY < APPLY_CHUNK:
                progress(done, total)
    if batch:
        projection.apply_batch(batch)
        done += len(batch)
    if progress is not None:
        progress(done, total)
    if projection.seq != target:
        raise WalCorrupt(f"projection stopped at seq {projection.seq}, expected {target}: WAL has a gap")
    return done


# --------------------------------------------------------------------------------------------
# both, for `serve`


@dataclass(frozen=True, slots=True)
class Recovered:
    engine: Engine
    engine_info: RecoveryInfo
    projection: Projection
    projection_info: ProjectionRecovery


def recover_all(data_dir: Path, config: EngineConfig | None = None, retire_final: bool = True) -> Recovered:
    """Engine and projection at the WAL's last seq: what a server starts from.

    Call it holding the writer lock (nothing appends meanwhile). A data dir without a WAL
    yields an empty engine and projection. `retire_final`: a live-only projection (for a server
    whose history store serves settled markets).
    """
    data_dir = Path(data_dir)
    with gctune.paused():
        engine, info = recover_engine(data_dir, config)
        try:
            projection, how = recover_projection(
                data_dir, config, to_seq=engine.seq, use_file=True, retire_final=retire_final
            )
        except WalNotFound:
            projection, how = Projection(config, retire_final), ProjectionRecovery(None, 0, 0, 0.0)
    return Recovered(engine, info, projection, how)
