"""WAL throughput: append (sync/async, batch 1024) against raw LMDB + msgpack, replay, restart.

Events are real engine output from the seeded betting mix of bench/engine.py. Prints a table;
the last line is one JSON object: append_events_per_s (sync, batch 1024),
append_async_events_per_s, append_limit_events_per_s (raw LMDB putmulti of msgpack, sync, same
batches, same run), replay_events_per_s (WAL into a fresh engine), read_decode_events_per_s,
restart_seconds (writer lock + newest snapshot + replay of a `restart_tail_events` tail).
Replay and restart also report CPU time: on a shared, loaded box the wall clock mostly measures
the neighbours, and `load_avg_1m` says how loaded it was.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import lmdb
import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import make_stream, market_commands  # noqa: E402
from betex.core.domain.engine import Engine  # noqa: E402
from betex.core.domain.events import Event  # noqa: E402
from betex.core.durability import snapshot  # noqa: E402
from betex.core.durability.journal import Journal, JournalReader  # noqa: E402
from betex.core.ops.recovery import recover_engine as recover  # noqa: E402  (pauses the GC, as serve does)
from betex.core.runtime.gctune import tune_for_engine  # noqa: E402

BATCH = 1024
_KEY = struct.Struct(">Q")


def generate_events(engine: Engine, cmds: Sequence[object], ts: int, per_batch: int = 4096) -> list[Event]:
    """Run `cmds` through `engine` in runtime-sized batches; returns every event produced."""
    out: list[Event] = []
    execute = engine.execute
    for i in range(0, len(cmds), per_batch):
        engine.begin_batch(ts + i)
        chunk = cmds[i : i + per_batch]
        for c in chunk:
            execute(c)
        out.extend(engine.end_batch(len(chunk)))
    return out


def fresh_engine_events(n_commands: int, seed: int) -> tuple[list[Event], Engine]:
    eng = Engine()
    events = generate_events(eng, market_commands(), 1_000_000)
    events += generate_events(eng, make_stream(n_commands, seed), 2_000_000)
    return events, eng


def chunks(events: Sequence[Event], size: int) -> list[Sequence[Event]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def bench_append(events: Sequence[Event], durability: str, root: Path) -> float:
    d = root / f"append-{durability}"
    batches = chunks(events, BATCH)
    with Journal.open_writer(d, durability=durability) as j:
        t0 = time.perf_counter()
        for b in batches:
            j.append(b)
        if durability == "async":
            j.sync()
        dt = time.perf_counter() - t0
    shutil.rmtree(d)
    return len(events) / dt


def bench_append_limit(events: Sequence[Event], root: Path) -> float:
    """The ceiling: one LMDB txn per 1024 msgpack'd events, no CRC/tag envelope, no checks."""
    d = root / "raw"
    env = lmdb.open(str(d), map_size=1 << 30, max_dbs=2, sync=True, metasync=True, meminit=False)
    db = env.open_db(b"events")
    packb, pack = msgpack.packb, _KEY.pack
    batches = chunks(events, BATCH)
    t0 = time.perf_counter()
    for b in batches:
        items = [(pack(e.seq), packb(e)) for e in b]
        with env.begin(write=True) as txn:
            txn.cursor(db=db).putmulti(items, append=True)
    dt = time.perf_counter() - t0
    env.close()
    shutil.rmtree(d)
    return len(events) / dt


def write_wal(d: Path, events: Sequence[Event]) -> None:
    with Journal.open_writer(d, durability="async") as j:
        for b in chunks(events, 4096):
            j.append(b)


def bench_read(d: Path) -> float:
    with JournalReader(d) as r:
        t0 = time.perf_counter()
        n = sum(1 for _ in r.iter_events())
        return n / (time.perf_counter() - t0)


def bench_restart(
    root: Path, base_commands: int, tail_events: int, seed: int
) -> tuple[float, float, int, int]:
    """Build a WAL whose snapshot sits `tail_events` before its end, then time a restart."""
    d = root / "restart"
    eng = Engine()
    with Journal.open_writer(d, durability="async") as j:
        j.append(generate_events(eng, market_commands(), 1_000_000))
        for b in chunks(generate_events(eng, make_stream(base_commands, seed), 2_000_000), 4096):
            j.append(b)
        snapshot.save(eng, d / "snapshots")
        snap_seq = eng.seq
        stream_seed = seed + 1
        while eng.seq - snap_seq < tail_events:
            # a fresh seeded stream per round; cancels of unknown orders are rejects, which is fine
            cmds = make_stream(min(200_000, tail_events), stream_seed)
            stream_seed += 1
            evs = generate_events(eng, cmds, 3_000_000 + eng.seq)
            for b in chunks(evs, 4096):
                j.append(b)
    del eng
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    journal = Journal.open_writer(d)
    engine, info = recover(d)
    assert engine.seq == journal.last_seq
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    journal.close()
    return seconds, cpu, info.events_replayed, engine.seq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--commands", type=int, default=300_000, help="commands in the append/replay stream")
    ap.add_argument("--tail", type=int, default=1_000_000, help="WAL events after the snapshot for restart")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true", help="short run: 50k commands, 100k-event restart tail")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = ap.parse_args()
    n = 50_000 if args.quick else args.commands
    tail = 100_000 if args.quick else args.tail
    tune_for_engine(freeze=False)
    root = Path(tempfile.mkdtemp(prefix="betex-bench-wal-", dir=args.dir))
    try:
        events, live = fresh_engine_events(n, args.seed)
        append_sync = max(bench_append(events, "sync", root) for _ in range(2))
        append_async = max(bench_append(events, "async", root) for _ in range(2))
        append_limit = max(bench_append_limit(events, root) for _ in range(2))
        wal = root / "replay"
        write_wal(wal, events)
        read_rate = bench_read(wal)
        gc.collect()
        c0 = time.process_time()
        engine, info = recover(wal, use_snapshot=False)
        replay_cpu_rate = info.events_replayed / (time.process_time() - c0)
        assert engine.state_hash() == live.state_hash()
        replay_rate = info.events_per_s
        del engine, live
        gc.collect()
        restart_s, restart_cpu, tail_replayed, restart_seq = bench_restart(root, n, tail, args.seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = [
        ("events in stream", f"{len(events):,}"),
        ("append sync, batch 1024", f"{append_sync:,.0f} ev/s"),
        ("append async, batch 1024", f"{append_async:,.0f} ev/s"),
        ("raw LMDB+msgpack limit (sync)", f"{append_limit:,.0f} ev/s"),
        ("append / limit", f"{append_sync / append_limit:.3f}"),
        ("read + decode", f"{read_rate:,.0f} ev/s"),
        ("replay into fresh engine", f"{replay_rate:,.0f} ev/s"),
        ("replay per CPU-second", f"{replay_cpu_rate:,.0f} ev/s"),
        ("restart: tail replayed", f"{tail_replayed:,} events (final seq {restart_seq:,})"),
        ("restart: lock+snapshot+tail", f"{restart_s:.3f} s"),
        ("restart: CPU seconds", f"{restart_cpu:.3f} s"),
        ("load average (1 min)", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"),
    ]
    for name, value in rows:
        print(f"{name:<32}{value:>36}")
    print(
        json.dumps(
            {
                "append_events_per_s": round(append_sync),
                "append_async_events_per_s": round(append_async),
                "append_limit_events_per_s": round(append_limit),
                "append_ratio": round(append_sync / append_limit, 3),
                "read_decode_events_per_s": round(read_rate),
                "replay_events_per_s": round(replay_rate),
                "replay_cpu_events_per_s": round(replay_cpu_rate),
                "restart_seconds": round(restart_s, 3),
                "restart_cpu_seconds": round(restart_cpu, 3),
                "restart_tail_events": tail_replayed,
                "events": len(events),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
