"""Restart time of `betex serve` on an existing data dir: spawn → `/health` 200.

Usage: `python bench/restart.py DATA_DIR [--runs N]` on a data dir left by a clean stop (e.g.
one built by `bench/history_wal.py`: 10M events of history, 50k resting orders). Each run starts
the server, times spawn → `/health` 200, reads the server's own recovery lines (engine events
replayed, projection source, history catch-up) and stops it cleanly. As the floor, the same run
times `python -m betex --version` (interpreter start + imports, which every restart pays).

Last line: one JSON object with restart_s (the median run), restart_s_runs, floor_s,
restart_vs_floor, events_in_wal, resting_orders (from `/debug/live_counts`), the server's lines
and load_avg_1m. Never leaves a process behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.e2e import get_json, start_server  # noqa: E402
from bench.soak import stop  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def floor_seconds() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "betex", "--version"], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t0


def one_run(data: Path, log: Path) -> tuple[float, dict[str, Any], list[str]]:
    t0 = time.perf_counter()
    proc, hostport = start_server(data, "async", log)
    try:
        seconds = time.perf_counter() - t0
        counts = get_json(hostport, "/debug/live_counts")
        lines = [ln for ln in log.read_text().splitlines() if "recovered" in ln or "history store" in ln]
        return seconds, counts, lines
    finally:
        stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="betex-restart-"))
    runs: list[float] = []
    floors: list[float] = []
    counts: dict[str, Any] = {}
    lines: list[str] = []
    try:
        for i in range(args.runs):
            floors.append(floor_seconds())
            seconds, counts, lines = one_run(args.data_dir, work / "serve.log")
            runs.append(seconds)
            print(f"run {i + 1}: {seconds:.2f}s; " + " | ".join(lines), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median, floor = statistics.median(runs), statistics.median(floors)
    print(
        json.dumps(
            {
                "restart_s": round(median, 3),
                "restart_s_runs": [round(r, 3) for r in runs],
                "floor_s": round(floor, 3),
                "restart_vs_floor": round(median / floor, 2),
                "events_in_wal": counts.get("seq"),
                "resting_orders": counts.get("open_orders"),
                "server_lines": lines,
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
