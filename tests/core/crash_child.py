"""Child process for tests/core/test_crash.py: a real Runtime + Journal under load.

``load`` mode recovers the data dir, then places orders forever with acknowledgements, writing
``<correlation_id> <order_id>`` per acknowledged order to the ack file (flushed per line), until
the parent SIGKILLs it. ``fsize`` mode caps the file size (RLIMIT_FSIZE) so a WAL write really
fails, and reports how the runtime fail-stopped as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import sys
from concurrent.futures import Future
from pathlib import Path

from betex.core.domain.results import OrderResult, Result
from betex.core.durability.journal import Journal
from betex.core.durability.recovery import recover
from betex.core.errors import WalFailure
from betex.core.runtime.loop import Runtime, RuntimeStopped

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests.core
from tests.core.workload import market_cmd, order_cmd  # noqa: E402

WINDOW = 64  # acknowledged commands in flight


def start(data_dir: Path, snapshot_every: int) -> Runtime:
    journal = Journal.open_writer(data_dir)
    engine, _info = recover(data_dir)
    rt = Runtime(
        engine,
        journal,
        ring_size=1024,
        max_batch=256,
        snapshot_every=snapshot_every,
        snapshot_dir=data_dir / "snapshots",
    )
    rt.start()
    if not engine.markets:
        rt.submit_with_response(market_cmd()).result(30)
    return rt


def run_load(rt: Runtime, ack_path: Path, run_id: int) -> None:
    base = run_id * 1_000_000_000
    with ack_path.open("a") as acks:
        print("ready", flush=True)
        corr = 0
        pending: list[tuple[int, Future[Result]]] = []
        while True:
            while len(pending) < WINDOW:
                corr += 1
                pending.append(
                    (
                        base + corr,
                        rt.submit_with_response(
                            order_cmd(base + corr, client_ref=f"c{base + corr}", correlation_id=base + corr)
                        ),
                    )
                )
            c, fut = pending.pop(0)
            result = fut.result(30)
            if isinstance(result, OrderResult):
                acks.write(f"{c} {result.order_id}\n")
                acks.flush()


def run_fsize(rt: Runtime, ack_path: Path, data_dir: Path) -> None:
    limit = (data_dir / "wal" / "data.mdb").stat().st_size + 256 * 1024
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    acked = failed = 0
    corr = 0
    with ack_path.open("a") as acks:
        while rt.failed is None and corr < 1_000_000:
            futures = []
            for _ in range(WINDOW):
                corr += 1
                try:
                    futures.append(
                        (
                            corr,
                            rt.submit_with_response(
                                order_cmd(corr, client_ref=f"c{corr}", correlation_id=corr)
                            ),
                        )
                    )
                except RuntimeStopped:
                    break
            for c, fut in futures:
                try:
                    result = fut.result(30)
                except RuntimeStopped:
                    failed += 1
                    continue
                if isinstance(result, OrderResult):
                    acked += 1
                    acks.write(f"{c} {result.order_id}\n")
                    acks.flush()
    try:
        rt.submit(order_cmd(corr + 1, client_ref=f"c{corr + 1}", correlation_id=corr + 1))
        refused = False
    except RuntimeStopped:
        refused = True
    print(
        json.dumps(
            {
                "failed": type(rt.failed).__name__,
                "is_wal_failure": isinstance(rt.failed, WalFailure),
                "acked": acked,
                "failed_futures": failed,
                "refused_after": refused,
                "last_seq": rt.journal.last_seq,
            }
        ),
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("ack_file", type=Path)
    ap.add_argument("--mode", choices=("load", "fsize"), default="load")
    ap.add_argument("--run-id", type=int, default=0)
    ap.add_argument("--snapshot-every", type=int, default=5000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
    rt = start(args.data_dir, args.snapshot_every)
    if args.mode == "load":
        run_load(rt, args.ack_file, args.run_id)
        return 1  # unreachable: load mode ends by SIGKILL
    run_fsize(rt, args.ack_file, args.data_dir)
    rt.stop(timeout=30)
    os._exit(0)  # the journal cannot close cleanly past the size limit; exit without cleanup


if __name__ == "__main__":
    sys.exit(main())
