"""CLI start time: `betex --help`, `betex --version` and `betex wal inspect --stats` against the
0.3 s limit of operations.md §6, next to the bare interpreter start (`python -c pass`) measured
in the same run.

Each command runs N times as a fresh process (the console script of this venv, on a small real
WAL for `--stats`); the figure is the median wall time, with the median CPU time (user + sys of
the child) beside it, since on a shared, loaded box the wall clock also measures the neighbours.
Prints a table; the last line is one JSON object: per command `median_s`, `cpu_median_s`,
`ratio_to_limit` (median / 0.3 s), plus `python_pass_median_s`, `limit_s` and `load_avg_1m`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIMIT_S = 0.3
BIN = Path(sys.executable).parent
BETEX = str(BIN / "betex") if (BIN / "betex").exists() else shutil.which("betex") or "betex"


def _time_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run of `argv`; fails loudly on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(argv: list[str], runs: int) -> dict[str, float]:
    _time_once(argv)  # warm the page cache and .pyc files; not counted
    samples = [_time_once(argv) for _ in range(runs)]
    return {
        "median_s": round(statistics.median(w for w, _ in samples), 4),
        "min_s": round(min(w for w, _ in samples), 4),
        "cpu_median_s": round(statistics.median(c for _, c in samples), 4),
    }


def _small_wal(root: Path) -> Path:
    """A data dir with a real WAL (the test suite's writer: two markets, orders, trades)."""
    sys.path.insert(0, str(REPO))
    from tests.cli.conftest import write_wal

    data = root / "data"
    write_wal(data)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11, help="runs per command (median taken)")
    ap.add_argument("--quick", action="store_true", help="5 runs per command")
    args = ap.parse_args()
    runs = 5 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="betex-bench-cli-") as tmp:
        data = _small_wal(Path(tmp))
        env_free = {k: v for k, v in os.environ.items() if not k.startswith("BETEX_")}
        os.environ.clear()
        os.environ.update(env_free)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "betex --help": [BETEX, "--help"],
            "betex --version": [BETEX, "--version"],
            "betex wal inspect --stats": [BETEX, "wal", "inspect", "--stats", "--data-dir", str(data)],
        }
        results = {name: measure(argv, runs) for name, argv in cases.items()}
    base = results.pop("python -c pass")
    print(f"{'command':<28}{'median s':>10}{'min s':>8}{'cpu s':>8}{'/ limit':>9}")
    print(f"{'python -c pass':<28}{base['median_s']:>10.3f}{base['min_s']:>8.3f}{base['cpu_median_s']:>8.3f}")
    out: dict[str, object] = {}
    for name, r in results.items():
        ratio = r["median_s"] / LIMIT_S
        print(f"{name:<28}{r['median_s']:>10.3f}{r['min_s']:>8.3f}{r['cpu_median_s']:>8.3f}{ratio:>9.2f}")
        out[name] = {**r, "ratio_to_limit": round(ratio, 3)}
    print(
        json.dumps(
            {
                "bench": "cli",
                "runs": runs,
                "limit_s": LIMIT_S,
                "python_pass_median_s": base["median_s"],
                "commands": out,
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
