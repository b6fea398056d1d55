"""Build a data dir with a long history offline: the engine and the journal, no server.

Markets open, take a seeded betting mix (the soak's: 50 accounts backing and laying around
evens on 3 runners, a CANCEL_ALL every 100th command), close and settle, over and over until the
WAL holds `events` events; then `open_markets` markets stay open with `open_orders` resting
orders in them (backs at 3.0–5.0 and lays at 1.5–1.9: they never cross). Commands go through
`Engine.execute` in batches of `batch` (as the server's engine thread does) and their events
through `Journal.append`, so the WAL is exactly what a server would have written.

What a server leaves after a clean stop is then written the way it writes it: an engine
snapshot at the last seq (`--snapshot`), `projection.snap` (the live-only projection) and
`history.db` (`SQLiteHistory.rebuild`). `bench/restart.py` times `betex serve` → `/health` 200
on such a data dir. Usage: `python bench/history_wal.py DATA_DIR [--events N] [--open-orders N]`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from betex.core.domain import commands as C  # noqa: E402
from betex.core.domain.engine import Engine  # noqa: E402
from betex.core.domain.events import Event  # noqa: E402
from betex.core.durability import snapshot  # noqa: E402
from betex.core.durability.journal import Journal, snapshots_dir_of  # noqa: E402

T0 = 1_764_633_600 * 1_000_000_000  # 2025-12-02 00:00 UTC, in ns
PRICES = [190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 202, 204, 206, 208, 210]
ACCOUNTS = 50
CANCEL_ALL_EVERY = 100


def create(name: str) -> C.CreateMarket:
    return C.CreateMarket(
        name, "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2, 3), ("Home", "Draw", "Away")
    )


def cycle_commands(mid: int, n: int, rng: random.Random) -> Iterator[object]:
    """The soak's mix (`bench/e2e.py` `order_mix`) in engine units, then close and settle."""
    for i in range(n):
        if i % CANCEL_ALL_EVERY == CANCEL_ALL_EVERY - 1:
            yield C.CancelAll(mid, (i // CANCEL_ALL_EVERY) % ACCOUNTS + 1)
            continue
        side = "BACK" if rng.random() < 0.5 else "LAY"
        yield C.PlaceOrder(mid, rng.randint(1, 3), side, rng.choice(PRICES), rng.randint(2, 50) * 100,
                           rng.randint(1, ACCOUNTS))  # fmt: skip
    yield C.CloseMarket(mid)
    yield C.SettleMarket(mid, (rng.randint(1, 3),))


def resting_commands(mid: int, n: int, rng: random.Random) -> Iterator[object]:
    """`n` orders that rest: backs above every lay, so none of them matches."""
    for _ in range(n):
        if rng.random() < 0.5:
            yield C.PlaceOrder(mid, rng.randint(1, 3), "BACK", rng.randrange(300, 501, 10), rng.randint(2, 50) * 100,
                               rng.randint(1, ACCOUNTS), "PERSIST")  # fmt: skip
        else:
            yield C.PlaceOrder(mid, rng.randint(1, 3), "LAY", rng.randrange(150, 191, 5), rng.randint(2, 50) * 100,
                               rng.randint(1, ACCOUNTS), "PERSIST")  # fmt: skip


class Writer:
    """Engine batches of `batch` commands, appended to the journal every `flush` events."""

    def __init__(self, data_dir: Path, batch: int, flush: int = 50_000) -> None:
        self.engine = Engine()
        self.journal = Journal.open_writer(data_dir, durability="async", map_size=1 << 32)
        self.batch = batch
        self.flush_at = flush
        self.pending: list[Event] = []
        self.ts = T0
        self.commands = 0

    def run(self, commands: Iterator[object]) -> list[object]:
        """Execute every command; the results of create-market commands (for their ids)."""
        out: list[object] = []
        eng = self.engine
        n = 0
        for cmd in commands:
            if n == 0:
                self.ts += 1_000_000  # 1 ms of engine time per batch
                eng.begin_batch(self.ts)
            result = eng.execute(cmd)
            if type(cmd) is C.CreateMarket:
                out.append(result)
            n += 1
            if n == self.batch:
                self._end(n)
                n = 0
        if n:
            self._end(n)
        return out

    def _end(self, n: int) -> None:
        self.pending.extend(self.engine.end_batch(n))
        self.commands += n
        if len(self.pending) >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.journal.append(self.pending)
            self.pending = []

    def close(self) -> None:
        self.flush()
        self.journal.close()


def build(data_dir: Path, events: int, open_orders: int, open_markets: int, per_cycle: int, seed: int,
          batch: int = 64) -> dict[str, object]:  # fmt: skip
    """Write the WAL (and nothing else); returns what was built."""
    rng = random.Random(seed)
    w = Writer(data_dir, batch)
    t0 = time.perf_counter()
    cycles = 0
    resting_events = open_orders + open_markets * 2 + open_orders // batch + 1  # accepts, creates, markers
    while not cycles or w.engine.seq + w.engine.seq / cycles <= events - resting_events:
        created = w.run(iter([create(f"History {cycles + 1}")]))
        mid = created[0].market_id  # type: ignore[attr-defined]
        w.run(cycle_commands(mid, per_cycle, rng))
        cycles += 1
        if cycles % 20 == 0:
            print(f"  {w.engine.seq:,} events, {cycles} markets settled", flush=True)
    mids = [r.market_id for r in w.run(iter([create(f"Open {i + 1}") for i in range(open_markets)]))]  # type: ignore[attr-defined]
    for i, mid in enumerate(mids):
        w.run(resting_commands(mid, open_orders // open_markets + (i < open_orders % open_markets), rng))
    w.close()
    eng = w.engine
    resting = sum(1 for o in eng.orders.values() if o.remaining)
    return {
        "events": eng.seq,
        "commands": w.commands,
        "markets_settled": cycles,
        "open_markets": len(eng.markets),
        "resting_orders": resting,
        "build_s": round(time.perf_counter() - t0, 1),
        "engine": eng,
    }


def after_clean_stop(data_dir: Path, engine: Engine) -> dict[str, float]:
    """Write what `betex serve` leaves after a clean stop: an engine snapshot at the last seq,
    `projection.snap` and `history.db` (both rebuilt from the WAL, as the server keeps them)."""
    from betex.core.ops.rebuild import history_path, rebuild_history
    from betex.core.ops.recovery import projection_path, recover_projection, save_projection

    out: dict[str, float] = {}
    t0 = time.perf_counter()
    snapshot.save(engine, snapshots_dir_of(data_dir))
    out["snapshot_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    projection, _ = recover_projection(data_dir, use_file=False)
    save_projection(projection, projection_path(data_dir))
    out["projection_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuild_history(data_dir, history_path(data_dir), engine.seq)
    out["history_s"] = time.perf_counter() - t0
    return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--open-orders", type=int, default=50_000)
    ap.add_argument("--open-markets", type=int, default=10)
    ap.add_argument("--orders-per-cycle", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--wal-only", action="store_true", help="no snapshot, projection.snap or history.db")
    args = ap.parse_args()
    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        raise SystemExit(f"{args.data_dir} is not empty")
    built = build(
        args.data_dir, args.events, args.open_orders, args.open_markets, args.orders_per_cycle, args.seed
    )
    engine = built.pop("engine")
    if not args.wal_only:
        built.update(after_clean_stop(args.data_dir, engine))  # type: ignore[arg-type]
    print(json.dumps(built))


if __name__ == "__main__":
    main()
