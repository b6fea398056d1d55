"""The operator toolkit's logic: what `betex wal`, `replay`, `snapshot` and `projection` do offline.

Everything here reads the WAL through `JournalReader`, which never takes the writer lock, so it
works while `betex serve` runs. The two operations that write into a data dir say so: an engine
snapshot (`save_engine_snapshot`) is written atomically next to the server's own and is safe
while it runs; rewriting `projection.snap` in place (`rebuild_projection`) holds the writer lock
for the duration, so it refuses to run beside a server and a server cannot start meanwhile.

Progress is reported through a plain callback ``progress(done, total)``; no UI imports here.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from betex.core.domain.engine import EngineConfig
from betex.core.domain.events import TYPE_BY_NAME, Event, TradeMatched, type_name
from betex.core.durability import snapshot as snapshots
from betex.core.durability.journal import (
    Journal,
    JournalReader,
    VerifyReport,
    WalCorrupt,
    WalError,
    WalNotFound,
    WalStats,
    snapshots_dir_of,
    wal_dir_of,
)
from betex.core.durability.recovery import ProgressFn, RecoveryInfo, recover
from betex.core.protocol import render
from betex.core.readmodel.projection import Projection

PROJECTION_FILE = "projection.snap"
"""The projection's disk snapshot under a data dir (the server writes it on a clean stop)."""

PROGRESS_EVERY = 65536
_APPLY_CHUNK = 4096


class UsageError(ValueError):
    """Arguments that cannot work (the CLI exits 2); raised before the WAL is touched."""


def open_reader(data_dir: Path) -> JournalReader:
    """A reader on an existing WAL; `WalNotFound` when the data dir has none (never creates one)."""
    return JournalReader(Path(data_dir))


def require_wal(data_dir: Path) -> None:
    """Raise `WalNotFound` unless `data_dir` holds a WAL (recovery would silently start empty)."""
    if not (wal_dir_of(Path(data_dir)) / "data.mdb").exists():
        raise WalNotFound(f"no WAL in {wal_dir_of(Path(data_dir))}")


def iso_ts(ns: int | None) -> str | None:
    """Engine time (unix ns) as ISO-8601 UTC with microseconds, for people."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# wal inspect: filtering


def parse_types(names: Iterable[str]) -> frozenset[str]:
    """Event type names (case-insensitive, comma-separated allowed) → canonical names.

    `UsageError` names the valid choices.
    """
    out: set[str] = set()
    for raw in names:
        for part in raw.split(","):
            name = part.strip().upper().replace("-", "_")
            if not name:
                continue
            if name not in TYPE_BY_NAME:
                raise UsageError(
                    f"unknown event type {part.strip()!r}; one of: {', '.join(sorted(TYPE_BY_NAME))}"
                )
            out.add(name)
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class InspectQuery:
    """Which events `wal inspect` shows: a seq range, one market, some types, at most `limit`."""

    from_seq: int = 1
    to_seq: int | None = None
    market_id: int | None = None
    types: frozenset[str] = frozenset()
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.from_seq < 0:
            raise UsageError(f"--from must be >= 0, not {self.from_seq}")
        if self.to_seq is not None and self.to_seq < self.from_seq:
            raise UsageError(f"--to ({self.to_seq}) is before --from ({self.from_seq})")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be >= 1, not {self.limit}")

    def matches(self, event: Event) -> bool:
        if self.market_id is not None and event.market_id != self.market_id:
            return False
        return not self.types or type_name(event) in self.types


def select(events: Iterable[Event], query: InspectQuery) -> Iterator[Event]:
    """The events that match `query`, stopping after `query.limit` of them."""
    left = query.limit
    for event in events:
        if query.matches(event):
            yield event
            if left is not None:
                left -= 1
                if left == 0:
                    return


def inspect(data_dir: Path, query: InspectQuery) -> Iterator[Event]:
    """Matching events from the WAL in seq order; a damaged record raises `CorruptRecord`."""
    with open_reader(data_dir) as reader:
        yield from select(reader.iter_events(max(1, query.from_seq), query.to_seq), query)


def follow(
    data_dir: Path,
    query: InspectQuery,
    stop: threading.Event | None = None,
    poll_interval: float = 0.1,
    from_end: bool = False,
) -> Iterator[Event]:
    """Like `inspect`, then keep yielding matching events as a writer commits them.

    `from_end`: start after the last committed seq (only new events). Ends when `stop` is set,
    `query.to_seq` is passed or `query.limit` events were yielded.
    """
    with open_reader(data_dir) as reader:
        start = reader.last_seq() + 1 if from_end else max(1, query.from_seq)
        events = reader.follow(start, poll_interval=poll_interval, stop=stop)
        to_seq = query.to_seq
        if to_seq is not None:
            events = _until(events, to_seq)
        yield from select(events, query)


def _until(events: Iterator[Event], to_seq: int) -> Iterator[Event]:
    for event in events:
        if event.seq > to_seq:
            return
        yield event
        if event.seq == to_seq:
            return


_SKIP_FIELDS = frozenset({"seq", "ts", "market_id", "legs"})


def describe(event: Event) -> str:
    """One line of the event's own fields in engine units (what the `wal inspect` table shows)."""
    parts = []
    for key, value in event._asdict().items():
        if key in _SKIP_FIELDS or value == "":
            continue
        if isinstance(value, tuple):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    if isinstance(event, TradeMatched):
        parts.append(f"legs={len(event.legs)}")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# wal inspect --stats / --verify


@dataclass(frozen=True, slots=True)
class StatsReport:
    """`WalStats` plus what an operator asks next: disk use, time span, event rate."""

    wal: WalStats
    disk_bytes: int
    meta: dict[str, int] = field(default_factory=dict)

    @property
    def span_s(self) -> float | None:
        w = self.wal
        if w.first_ts is None or w.last_ts is None:
            return None
        return (w.last_ts - w.first_ts) / 1e9

    @property
    def events_per_s(self) -> float | None:
        span = self.span_s
        return self.wal.events / span if span else None

    def to_dict(self) -> dict[str, Any]:
        d = self.wal.to_dict()
        rate = self.events_per_s
        d.update(
            {
                "disk_bytes": self.disk_bytes,
                "first_time": iso_ts(self.wal.first_ts),
                "last_time": iso_ts(self.wal.last_ts),
                "span_s": None if self.span_s is None else round(self.span_s, 6),
                "events_per_s": None if rate is None else round(rate, 1),
                "meta_last_seq": self.meta.get("last_seq"),
                "schema_version": self.meta.get("schema_version"),
                "created_time": iso_ts(self.meta.get("created_ns")),
            }
        )
        return d


def _disk_bytes(path: Path) -> int:
    """Bytes actually allocated under `path` (LMDB's data file is sparse, its size is not usage)."""
    total = 0
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat().st_blocks * 512
    return total


def stats(data_dir: Path) -> StatsReport:
    with open_reader(data_dir) as reader:
        return StatsReport(reader.stats(), _disk_bytes(reader.wal_dir), reader.meta())


def verify(data_dir: Path) -> VerifyReport:
    """CRC, schema, decoding, key == seq, contiguity from 1 and meta, over every record."""
    with open_reader(data_dir) as reader:
        return reader.verify_report()


def verify_dict(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": report.checked,
        "last_seq": report.last_seq,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }


# --------------------------------------------------------------------------------------------
# replay and engine snapshots


@dataclass(frozen=True, slots=True)
class ReplayReport:
    info: RecoveryInfo
    state_hash: str
    seconds: float  # wall time including the hash

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.info.to_dict())
        d["state_hash"] = self.state_hash
        d["total_seconds"] = round(self.seconds, 6)
        return d


def replay(
    data_dir: Path,
    to_seq: int | None = None,
    use_snapshot: bool = True,
    progress: ProgressFn | None = None,
) -> ReplayReport:
    """Rebuild the engine offline (newest usable snapshot + WAL tail, or from seq 1) and hash it.

    The hash is the same for every path to the same seq: that is the determinism check.
    """
    if to_seq is not None and to_seq < 0:
        raise UsageError(f"--to must be >= 0, not {to_seq}")
    require_wal(data_dir)
    t0 = time.perf_counter()
    engine, info = recover(Path(data_dir), None, use_snapshot=use_snapshot, to_seq=to_seq, progress=progress)
    digest = engine.state_hash()
    return ReplayReport(info, digest, time.perf_counter() - t0)


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
    engine, info = recover(Path(data_dir), None, use_snapshot=True, to_seq=to_seq, progress=progress)
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


# --------------------------------------------------------------------------------------------
# projection


def build_projection(
    data_dir: Path,
    to_seq: int | None = None,
    progress: ProgressFn | None = None,
    use_file: bool = False,
    config: EngineConfig | None = None,
) -> Projection:
    """The projection at `to_seq` (default: the last committed seq), built from WAL events.

    `use_file`: start from ``projection.snap`` when it is usable (as the server does) and replay
    only the tail; otherwise replay everything from seq 1 (what `projection rebuild` means).
    """
    data_dir = Path(data_dir)
    with open_reader(data_dir) as reader:
        wal_last = reader.last_seq()
        target = wal_last if to_seq is None else min(to_seq, wal_last)
        projection: Projection | None = None
        if use_file:
            projection = Projection.load_file(data_dir / PROJECTION_FILE, config)
            if projection is not None and projection.seq > target:
                projection = None
        if projection is None:
            projection = Projection(config)
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
            if len(batch) >= _APPLY_CHUNK:
                projection.apply_batch(batch)
                done += len(batch)
                batch = []
                if progress is not None and done % PROGRESS_EVERY < _APPLY_CHUNK:
                    progress(done, total)
        if batch:
            projection.apply_batch(batch)
            done += len(batch)
        if progress is not None:
            progress(done, total)
    if projection.seq != target:
        raise WalCorrupt(f"projection stopped at seq {projection.seq}, expected {target}: WAL has a gap")
    return projection


@dataclass(frozen=True, slots=True)
class RebuildReport:
    path: Path
    seq: int
    events: int
    size: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
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
) -> RebuildReport:
    """Rebuild the projection from the WAL alone and save it atomically (temp file + rename).

    Writing the data dir's own ``projection.snap`` takes the writer lock for the whole rebuild
    (`WalLocked` if a server holds it), so a server never starts from a half-decided file and
    never overwrites ours on its way down. Any other `out` is written without the lock.
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
        projection.save(path)
    finally:
        if lock is not None:
            lock.close()
    return RebuildReport(path, projection.seq, projection.seq, path.stat().st_size, time.perf_counter() - t0)


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


# --------------------------------------------------------------------------------------------
# backup


@dataclass(frozen=True, slots=True)
class BackupReport:
    dest: Path
    last_seq: int
    wal_bytes: int
    snapshots: int
    verified: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "last_seq": self.last_seq,
            "wal_bytes": self.wal_bytes,
            "snapshots_copied": self.snapshots,
            "verified": self.verified,
            "seconds": round(self.seconds, 6),
        }


class BackupError(UsageError):
    """The destination is unusable (exists with content, or is the source)."""


def backup(data_dir: Path, dest: Path, with_snapshots: bool = True, check: bool = True) -> BackupReport:
    """A consistent hot copy of the WAL into ``dest/wal`` (compacted), usable as a data dir.

    The copy is one LMDB read txn, so it holds exactly the events committed when it began and a
    matching meta; the running writer is never blocked. Engine snapshots at or below the copied
    seq come along (CRC-checked) so a server restored from `dest` replays only a tail. `check`
    re-reads the copy and verifies every record.
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
            except (snapshots.SnapshotDamaged, OSError):
                continue
            snapshots.write_snapshot(data, info.seq, snapshots_dir_of(dest))
            copied += 1
    snapshots_dir_of(dest).mkdir(parents=True, exist_ok=True)
    wal_bytes = (dest_wal / "data.mdb").stat().st_size
    return BackupReport(dest, last_seq, wal_bytes, copied, check, time.perf_counter() - t0)
