"""Rebuild the engine from disk: newest valid snapshot, then replay the WAL tail after its seq.

Reached through `betex.core.ops.recovery`, the one recovery path of `betex serve` (after it
takes the writer lock, so nothing appends meanwhile), `betex replay` and `betex snapshot`. Replay never reads the clock, so the same WAL always yields the
same `state_hash()`, with or without a snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from betex.core.domain.engine import Engine, EngineConfig, SeqGap
from betex.core.durability import snapshot
from betex.core.durability.journal import JournalReader, snapshots_dir_of
from betex.core.errors import WalCorrupt, WalNotFound

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(replayed, total_to_replay)`` every `PROGRESS_EVERY` events and at the end."""

PROGRESS_EVERY = 65536


@dataclass(frozen=True, slots=True)
class RecoveryInfo:
    events_replayed: int
    seconds: float
    snapshot_seq: int | None  # None: no snapshot used, replayed from seq 1
    final_seq: int
    wal_last_seq: int
    load_seconds: float = 0.0  # reading and loading the snapshot, part of `seconds`

    @property
    def events_per_s(self) -> float:
        """The replay rate of the WAL tail alone: the snapshot load is not replay (counting it
        made replay on top of a large snapshot look several times slower than from seq 1)."""
        replay = self.seconds - self.load_seconds
        return self.events_replayed / replay if replay > 0 else 0.0

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "events_replayed": self.events_replayed,
            "seconds": round(self.seconds, 6),
            "events_per_s": round(self.events_per_s, 1),
            "snapshot_seq": self.snapshot_seq,
            "final_seq": self.final_seq,
            "wal_last_seq": self.wal_last_seq,
            "load_seconds": round(self.load_seconds, 6),
        }


def replay_tail(
    engine: Engine, reader: JournalReader, target: int, progress: ProgressFn | None = None
) -> int:
    """Apply the WAL events after `engine.seq` through `target` (`Engine.apply_all`, in chunks of
    `PROGRESS_EVERY` when reporting progress); returns how many. A hole raises `WalCorrupt`."""
    start = engine.seq
    total = target - start
    try:
        if progress is None:
            engine.apply_all(reader.iter_events(start + 1, target))
        else:
            events = reader.iter_events(start + 1, target)
            progress(0, total)
            while engine.seq < target:
                before = engine.seq
                engine.apply_all(islice(events, PROGRESS_EVERY))
                if engine.seq == before:
                    break
                progress(engine.seq - start, total)
    except SeqGap as exc:
        raise WalCorrupt(f"seq {engine.seq + 1} is missing ({exc})") from exc
    return engine.seq - start


def recover(
    data_dir: Path,
    config: EngineConfig | None = None,
    use_snapshot: bool = True,
    to_seq: int | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Engine, RecoveryInfo]:
    """Engine state at `to_seq` (default: the last committed seq) and how it was reached.

    A snapshot past the WAL's end (possible after a power loss with `async` durability) or past
    `to_seq` is never used. A data dir without a WAL yields a fresh engine. The GC policy while
    replaying is the caller's (`betex.core.ops.recovery.recover_engine` pauses it).
    """
    data_dir = Path(data_dir)
    t0 = time.perf_counter()
    try:
        reader = JournalReader(data_dir)
    except WalNotFound:
        return Engine(config), RecoveryInfo(0, time.perf_counter() - t0, None, 0, 0)
    with reader:
        wal_last = reader.last_seq()
        target = wal_last if to_seq is None else min(to_seq, wal_last)
        engine: Engine | None = None
        if use_snapshot:
            engine = snapshot.load_newest_valid(snapshots_dir_of(data_dir), config, max_seq=target)
        snapshot_seq = engine.seq if engine is not None else None
        load_seconds = time.perf_counter() - t0
        if engine is None:
            engine = Engine(config)
        replayed = replay_tail(engine, reader, target, progress)
    if engine.seq != target:
        raise WalCorrupt(f"replay stopped at seq {engine.seq}, expected {target}: WAL has a gap")
    return engine, RecoveryInfo(
        replayed, time.perf_counter() - t0, snapshot_seq, engine.seq, wal_last, load_seconds
    )
