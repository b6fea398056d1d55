"""Engine + WAL through the runtime: ring → engine thread → one LMDB txn per batch → replies.

The betting mix of bench/engine.py is published by one in-process producer thread (as the
server's event loop would) with fire-and-forget `submit`, retrying on OVERLOADED; the clock
stops when a final acknowledged command resolves (so every command before it is committed).
The producer publishes `--batch` commands per `submit_many` (default 256, as an IPC reader
receiving batches would; `--batch 0`: one `submit` per command, as the asyncio server does).
Runs every wait strategy with `sync` durability, plus the default strategy with `async`.
Prints a table; the last line is one JSON object: commands_per_s (default strategy, sync) and
commands_per_s_<strategy> per strategy (hyphens as underscores), commands_per_s_async, and
engine_only_commands_per_s (the same stream straight into an engine, same run) with the ratio.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import make_stream, market_commands, run_engine  # noqa: E402
from betex.core.domain.engine import Engine  # noqa: E402
from betex.core.domain.results import Reject  # noqa: E402
from betex.core.durability.journal import Journal  # noqa: E402
from betex.core.runtime.gctune import tune_for_engine  # noqa: E402
from betex.core.runtime.loop import Runtime  # noqa: E402
from betex.core.runtime.ring import DEFAULT_WAIT_STRATEGY, WAIT_STRATEGIES  # noqa: E402


def run(cmds: list[Any], strategy: str, durability: str, root: Path, batch: int = 0) -> dict[str, Any]:
    """One runtime fed by this thread: per-command `submit` (batch=0), or `submit_many` of
    `batch` commands at a time (what an IPC reader that receives batches does)."""
    d = root / f"{strategy}-{durability}-{batch}"
    journal = Journal.open_writer(d, durability=durability)
    rt = Runtime(Engine(), journal, wait_strategy=strategy)
    rt.start()
    try:
        for c in market_commands():
            assert not isinstance(rt.submit_with_response(c).result(30), Reject)
        gc.collect()
        submit = rt.submit
        retries = 0
        submit_many = rt.submit_many
        t0, c0 = time.perf_counter(), time.process_time()
        if batch:
            for i in range(0, len(cmds), batch):
                chunk = cmds[i : i + batch]
                while chunk:
                    k = submit_many(chunk)
                    if k < len(chunk):
                        chunk = chunk[k:]
                        retries += 1
                        time.sleep(0.0001)  # the rest did not fit: back off
                    else:
                        chunk = []
        else:
            for c in cmds:
                while not submit(c):
                    retries += 1
                    time.sleep(0.0001)  # OVERLOADED: back off like a client would
        rt.submit_with_response(cmds[0]).result(120)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        rt.stop(timeout=120)
        journal.close()
        shutil.rmtree(d, ignore_errors=True)
    m = rt.metrics.to_dict()
    return {
        "commands_per_s": (len(cmds) + 1) / dt,
        "commands_per_cpu_s": (len(cmds) + 1) / cpu,
        "batches": m["counters"]["batches"],
        "events": m["counters"]["events_total"],
        "overloaded_retries": retries,
        "wal_commit_p50_us": m["stages"]["wal_commit"]["p50_ns"] / 1e3,
        "wal_commit_p99_us": m["stages"]["wal_commit"]["p99_ns"] / 1e3,
        "ingress_p50_us": m["stages"]["ingress_to_engine"]["p50_ns"] / 1e3,
        "ingress_p99_us": m["stages"]["ingress_to_engine"]["p99_ns"] / 1e3,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--commands", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true", help="a short run (50k commands)")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    ap.add_argument(
        "--batch",
        type=int,
        default=256,
        help="producer publishes this many commands per submit_many (0: one submit per command)",
    )
    args = ap.parse_args()
    n = 50_000 if args.quick else args.commands
    cmds = make_stream(n, args.seed)
    tune_for_engine()  # what `betex serve` does at start-up
    root = Path(tempfile.mkdtemp(prefix="betex-bench-pipeline-", dir=args.dir))
    results: dict[str, dict[str, Any]] = {}
    gc.collect()
    c0 = time.process_time()
    engine_only = n / run_engine(cmds)[0]  # same stream, same process, no ring and no WAL
    engine_only_cpu = n / (time.process_time() - c0)
    try:
        for strategy in WAIT_STRATEGIES:
            results[f"{strategy}/sync"] = run(cmds, strategy, "sync", root, args.batch)
        results[f"{DEFAULT_WAIT_STRATEGY}/async"] = run(
            cmds, DEFAULT_WAIT_STRATEGY, "async", root, args.batch
        )
        if args.batch:
            results[f"{DEFAULT_WAIT_STRATEGY}/sync/1-by-1"] = run(
                cmds, DEFAULT_WAIT_STRATEGY, "sync", root, 0
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best = max(results[f"{s}/sync"]["commands_per_s"] for s in WAIT_STRATEGIES)
    header = (
        f"{'strategy/durability':<28}{'cmd/s':>10}{'x engine':>9}{'x best':>7}{'cmd/cpu-s':>11}{'x engine':>9}"
        f"{'batches':>9}{'commit p50/p99 us':>20}{'ingress p50/p99 us':>22}"
    )
    print(f"producer: {'submit_many of ' + str(args.batch) if args.batch else 'one submit per command'}")
    print(
        f"{'engine only (no WAL)':<28}{engine_only:>10,.0f}{1:>9.2f}{'':>7}{engine_only_cpu:>11,.0f}{1:>9.2f}"
    )
    print(header)
    for name, r in results.items():
        commit = f"{r['wal_commit_p50_us']:,.0f}/{r['wal_commit_p99_us']:,.0f}"
        ingress = f"{r['ingress_p50_us']:,.0f}/{r['ingress_p99_us']:,.0f}"
        cps = r["commands_per_s"]
        print(
            f"{name:<28}{cps:>10,.0f}{cps / engine_only:>9.2f}{cps / best:>7.2f}"
            f"{r['commands_per_cpu_s']:>11,.0f}{r['commands_per_cpu_s'] / engine_only_cpu:>9.2f}"
            f"{r['batches']:>9}{commit:>20}{ingress:>22}"
        )
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("x engine: ratio to engine-only, by wall clock and by CPU seconds (all threads) per command")
    out: dict[str, Any] = {
        "commands_per_s": round(results[f"{DEFAULT_WAIT_STRATEGY}/sync"]["commands_per_s"]),
        "commands": n,
        "engine_only_commands_per_s": round(engine_only),
        "engine_only_commands_per_cpu_s": round(engine_only_cpu),
    }
    for strategy in WAIT_STRATEGIES:
        out[f"commands_per_s_{strategy.replace('-', '_')}"] = round(
            results[f"{strategy}/sync"]["commands_per_s"]
        )
    out["commands_per_s_async"] = round(results[f"{DEFAULT_WAIT_STRATEGY}/async"]["commands_per_s"])
    out["ratio_to_engine_only"] = round(out["commands_per_s"] / engine_only, 3)
    out["worst_strategy_ratio_to_best"] = round(
        min(results[f"{s}/sync"]["commands_per_s"] for s in WAIT_STRATEGIES) / best, 3
    )
    out["producer_batch"] = args.batch
    # CPU seconds per command (all threads) against engine-only's: what the GIL allows at best;
    # unlike the wall-clock ratio it does not depend on how busy the machine's cores are
    out["cpu_ratio_to_engine_only"] = round(
        results[f"{DEFAULT_WAIT_STRATEGY}/sync"]["commands_per_cpu_s"] / engine_only_cpu, 3
    )
    out["commands_per_cpu_s"] = round(results[f"{DEFAULT_WAIT_STRATEGY}/sync"]["commands_per_cpu_s"])
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
