"""Engine-only throughput on a seeded betting mix, against a bare price-time loop as the limit.

Mix: 60% passive places near the touch, 25% cancels, 15% aggressive (a fifth of them FOK),
over one 3-runner MULTI_RUNNER, one TWO_RUNNER and one 3-runner CROSS_MATCHED market (half,
a quarter and a quarter of the commands). Prints a table; the last line is one JSON object:
commands_per_s, bare_loop_per_s, ratio, build (compiled|pure: which domain build ran, see
docs/engine.md), clock, wall (the same three figures by the wall clock), bytes_per_resting_order, load_avg, `cross` (the CROSS_MATCHED market's own
figure: `bench/cross.py`'s same-flow comparison of a 3-runner CROSS_MATCHED market with the
direct path, cost_ratio = cross time per command / direct, target ≤ 2), and the same figures of
the other build measured in the same run by a subprocess (`other`: the pure build under
BETEX_PURE_PYTHON=1, or the compiled one when this run is pure and extensions exist).

Clock: the figures are the thread's CPU time (`time.thread_time`), best of 3, engine and bare
loop alike. On a shared machine the wall clock also counts the time the process waits for a
core, which lands unevenly on the two sides of the ratio (the longer engine run is preempted
more often); the wall-clock figures are printed too.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import betex  # noqa: E402
from bench import cross  # noqa: E402
from betex.core.domain import commands as C  # noqa: E402
from betex.core.domain.engine import Engine  # noqa: E402
from betex.core.domain.ladder import TICKS  # noqa: E402
from betex.core.domain.results import OrderResult  # noqa: E402
from betex.core.runtime.gctune import tune_for_engine  # noqa: E402

BATCH = 1024
CLOCK = time.thread_time  # CPU time of this thread: see the module docstring


def make_stream(n: int, seed: int) -> list[object]:
    """A seeded command stream. A scratch engine runs alongside (untimed) so that cancels name
    orders that really rest, with their owner — as a real client's cancels would."""
    rng = random.Random(seed)
    markets = {1: (1, 2, 3), 2: (1, 2), 3: (1, 2, 3)}
    fair = {(m, r): 120 + 20 * r for m, rs in markets.items() for r in rs}  # tick index
    live: list[tuple[int, int, int]] = []  # (market, order id, account) of orders that rested
    scratch = setup_engine()
    scratch.begin_batch(1_000_000)
    cmds: list[object] = []
    for _ in range(n):
        m = rng.choice((1, 1, 2, 3))
        r = rng.choice(markets[m])
        f = fair[(m, r)]
        if rng.random() < 0.02:
            fair[(m, r)] = min(max(f + rng.choice((-1, 1)), 20), 320)
        x = rng.random()
        acct = rng.randint(1, 50)
        cmd: object
        if x < 0.60:
            if rng.random() < 0.5:
                price, side = TICKS[f + rng.randint(1, 5)], "BACK"
            else:
                price, side = TICKS[f - rng.randint(1, 5)], "LAY"
            cmd = C.PlaceOrder(m, r, side, price, rng.randint(2, 50) * 100, acct)
        elif x < 0.85 and live:
            i = rng.randrange(len(live))
            live[i], live[-1] = live[-1], live[i]
            cm, oid, owner = live.pop()
            cmd = C.CancelOrder(cm, oid, owner)
        else:
            back = rng.random() < 0.5
            price = TICKS[f - 2] if back else TICKS[f + 2]
            tif = "FILL_OR_KILL" if rng.random() < 0.2 else "GTC"
            side = "BACK" if back else "LAY"
            size = rng.randint(2, 30) * 100
            cmd = C.PlaceOrder(m, r, side, price, size, acct, time_in_force=tif, min_fill_size=100)
        result = scratch.execute(cmd)
        if isinstance(result, OrderResult) and result.status == "ACCEPTED" and result.size_remaining:
            live.append((result.market_id, result.order_id, acct))
        cmds.append(cmd)
    return cmds


def market_commands() -> list[object]:
    """The markets every engine benchmark trades: soccer (MULTI_RUNNER), tennis (TWO_RUNNER) and
    soccer again as CROSS_MATCHED (rings over its three runners)."""
    return [
        C.CreateMarket(
            "soccer",
            "EXCHANGE_ODDS",
            "MULTI_RUNNER",
            "IN_PLAY_CAPABLE",
            "OPEN",
            "PRE",
            (1, 2, 3),
            ("Home", "Draw", "Away"),
        ),
        C.CreateMarket(
            "tennis", "EXCHANGE_ODDS", "TWO_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "PRE", (1, 2), ("A", "B")
        ),
        C.CreateMarket(
            "soccer (cross)",
            "EXCHANGE_ODDS",
            "CROSS_MATCHED",
            "IN_PLAY_CAPABLE",
            "OPEN",
            "PRE",
            (1, 2, 3),
            ("Home", "Draw", "Away"),
        ),
    ]


def setup_engine() -> Engine:
    eng = Engine()
    eng.begin_batch(1)
    markets = market_commands()
    for cmd in markets:
        eng.execute(cmd)
    eng.end_batch(len(markets))
    return eng


def run_engine(cmds: list[object]) -> tuple[float, int, int, float]:
    """(wall seconds, events, orders held, CPU seconds)."""
    eng = setup_engine()
    execute = eng.execute
    events = 0
    c0 = CLOCK()
    t0 = time.perf_counter()
    for i in range(0, len(cmds), BATCH):
        eng.begin_batch(1_000_000 + i)
        for cmd in cmds[i : i + BATCH]:
            execute(cmd)
        events += len(eng.end_batch(BATCH))
    dt = time.perf_counter() - t0
    return dt, events, len(eng.orders), CLOCK() - c0


def run_bare(cmds: list[object]) -> tuple[float, float]:
    """The limit: a plain price-time loop — dicts of deques of [id, acct, size], direct only,
    no validation, no events, no implied matching."""
    books: dict[tuple[int, int, str], dict[int, deque[list[int]]]] = {}
    where: dict[int, list[int]] = {}
    next_id = 1
    c0 = CLOCK()
    t0 = time.perf_counter()
    for cmd in cmds:
        if type(cmd) is C.PlaceOrder:
            m, r, side, price, size = cmd.market_id, cmd.runner_id, cmd.side, cmd.price, cmd.size
            opp = books.setdefault((m, r, "LAY" if side == "BACK" else "BACK"), {})
            rem = size
            if opp:
                for p in sorted(opp, reverse=(side == "BACK")):
                    if (p < price) if side == "BACK" else (p > price):
                        break
                    q = opp[p]
                    while q and rem:
                        o = q[0]
                        take = min(rem, o[2])
                        o[2] -= take
                        rem -= take
                        if not o[2]:
                            q.popleft()
                    if not q:
                        del opp[p]
                    if not rem:
                        break
            if rem == size and cmd.time_in_force != "GTC":
                continue  # an unfilled FOK is rejected and takes no id, as in the engine
            oid = next_id
            next_id += 1
            if rem and cmd.time_in_force == "GTC":
                o = [oid, cmd.account_id, rem]
                books.setdefault((m, r, side), {}).setdefault(price, deque()).append(o)
                where[oid] = o
        else:
            o = where.pop(cmd.order_id, None)  # type: ignore[attr-defined]
            if o is not None:
                o[2] = 0
    return time.perf_counter() - t0, CLOCK() - c0


def bytes_per_resting_order(n: int = 100_000) -> float:
    eng = setup_engine()
    rng = random.Random(7)
    cmds = [
        C.PlaceOrder(
            1,
            rng.choice((1, 2, 3)),
            "BACK",
            TICKS[200 + rng.randint(0, 100)],
            rng.randint(2, 50) * 100,
            rng.randint(1, 1000),
        )
        for _ in range(n)
    ]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    eng.begin_batch(5)
    for c in cmds:
        eng.execute(c)
    eng.take_events()  # the engine keeps state, not its emitted events
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(eng.orders) == n
    return (after - before) / n


def cross_figure(n: int, seed: int, repeat: int = 3) -> dict[str, float]:
    """The CROSS_MATCHED market's own figure: one seeded flow on a 3-runner market run as
    CROSS_MATCHED and as MULTI_RUNNER (direct only), interleaved, best of `repeat` (bench/cross.py)."""
    best = {"CROSS_MATCHED": float("inf"), "MULTI_RUNNER": float("inf")}
    cmds = cross.make_stream(n, seed)
    for _ in range(repeat):
        for bt in best:
            gc.collect()
            best[bt] = min(best[bt], cross.run(bt, cmds)[3])  # CPU seconds
    return {
        "commands": n,
        "cross_per_s": round(n / best["CROSS_MATCHED"]),
        "direct_per_s": round(n / best["MULTI_RUNNER"]),
        "cost_ratio": round(best["CROSS_MATCHED"] / best["MULTI_RUNNER"], 3),
        "target": 2.0,
    }


def other_build(args: argparse.Namespace) -> dict[str, object] | None:
    """Run this benchmark on the other build, in a subprocess; its last line is its JSON."""
    env = dict(os.environ)
    if betex.build() == "compiled":
        env["BETEX_PURE_PYTHON"] = "1"
    elif os.environ.get("BETEX_PURE_PYTHON") == "1":
        env.pop("BETEX_PURE_PYTHON")
    else:
        return None  # pure because nothing is compiled: there is no other build
    cmd = [
        sys.executable,
        __file__,
        "--only-this-build",
        "--commands",
        str(args.commands),
        "--seed",
        str(args.seed),
    ]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--default-gc"] if args.default_gc else []
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    other: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return other if other.get("build") != betex.build() else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--commands", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true", help="a short run (50k commands)")
    ap.add_argument("--default-gc", action="store_true", help="keep CPython's default GC thresholds")
    ap.add_argument("--only-this-build", action="store_true", help="do not also measure the other build")
    args = ap.parse_args()
    n = 50_000 if args.quick else args.commands
    cmds = make_stream(n, args.seed)
    if not args.default_gc:
        tune_for_engine()  # what `betex serve` does at start-up
    xfig = cross_figure(max(50_000, n // 3), args.seed)  # first: a heap as small as bench/cross.py's
    best_engine = best_bare = wall_engine = wall_bare = float("inf")
    for _ in range(3):
        gc.collect()
        wall, events, resting, cpu = run_engine(cmds)
        best_engine, wall_engine = min(best_engine, cpu), min(wall_engine, wall)
        gc.collect()
        wall, cpu = run_bare(cmds)
        best_bare, wall_bare = min(best_bare, cpu), min(wall_bare, wall)
    bpo = bytes_per_resting_order(20_000 if args.quick else 100_000)
    eng_rate = n / best_engine
    bare_rate = n / best_bare
    other = None if args.only_this_build else other_build(args)
    print(f"{'domain build':<28}{betex.build():>14}")
    print(f"{'commands':<28}{n:>14,}")
    print(f"{'events emitted':<28}{events:>14,}")
    print(f"{'orders still held':<28}{resting:>14,}")
    print(f"{'engine commands/s (CPU)':<28}{eng_rate:>14,.0f}")
    print(f"{'bare loop commands/s (CPU)':<28}{bare_rate:>14,.0f}")
    print(f"{'ratio':<28}{eng_rate / bare_rate:>14.3f}")
    print(f"{'ratio by the wall clock':<28}{wall_bare / wall_engine:>14.3f}")
    print(f"{'bytes per resting order':<28}{bpo:>14,.0f}")
    print(f"{'cross market commands/s':<28}{xfig['cross_per_s']:>14,}")
    print(f"{'cross/direct per command':<28}{xfig['cost_ratio']:>14.3f}")
    if other is not None:
        print(f"{'ratio, ' + str(other['build']) + ' build':<28}{other['ratio']:>14.3f}")
        print(f"{'bytes/order, ' + str(other['build']):<28}{other['bytes_per_resting_order']:>14,}")
    print(f"{'load average (1 min)':<28}{os.getloadavg()[0]:>14.2f}")
    print(
        json.dumps(
            {
                "commands_per_s": round(eng_rate),
                "bare_loop_per_s": round(bare_rate),
                "ratio": round(eng_rate / bare_rate, 3),
                "build": betex.build(),
                "clock": "thread CPU time",
                "wall": {
                    "commands_per_s": round(n / wall_engine),
                    "bare_loop_per_s": round(n / wall_bare),
                    "ratio": round(wall_bare / wall_engine, 3),
                },
                "bytes_per_resting_order": round(bpo),
                "load_avg": round(os.getloadavg()[0], 2),
                "cross": xfig,
                "other": other,
            }
        )
    )


if __name__ == "__main__":
    main()
