"""Crash safety with a real process: SIGKILL mid-load never loses an acknowledged command.

A child (crash_child.py) runs Runtime + Journal and logs each acknowledged order; the test kills
it at random points, restarts it on the same data dir (recovery from snapshot + tail), and after
each kill checks the WAL against the acknowledgements.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from betex.core.domain.events import OrderAccepted
from betex.core.durability.journal import JournalReader
from betex.core.durability.recovery import recover
from betex.core.durability.snapshot import list_snapshots

REPO = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).parent.parent / "crash_child.py"
KILLS = 4
MIN_ACKS_PER_RUN = 600


def spawn(data_dir: Path, ack_file: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(ack_file), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def wait_ready(proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "child never became ready"
    line = proc.stdout.readline().strip()
    assert line == "ready", (line, proc.stderr.read() if proc.stderr else "")


def wait_for_acks(ack_file: Path, count: int, child: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(acked_orders(ack_file)) < count:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, f"fewer than {count} acknowledgements after {timeout}s"
        time.sleep(0.02)


def acked_orders(ack_file: Path) -> dict[int, int]:
    """correlation id -> order id, from complete lines only (a kill can cut the last one)."""
    text = ack_file.read_text() if ack_file.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    out: dict[int, int] = {}
    for line in complete.splitlines():
        corr, order_id = line.split()
        out[int(corr)] = int(order_id)
    return out


def check_wal_against_acks(data_dir: Path, acks: dict[int, int]) -> int:
    with JournalReader(data_dir) as r:
        assert r.verify() is None  # CRCs, seq contiguous from 1, meta agrees
        placed = [e for e in r.iter_events() if isinstance(e, OrderAccepted)]
        last = r.last_seq()
    by_ref = {e.client_ref: e.order_id for e in placed}
    assert len(by_ref) == len(placed), "a command was written twice"
    assert len({e.order_id for e in placed}) == len(placed), "an order id was reused"
    missing = {c: o for c, o in acks.items() if by_ref.get(f"c{c}") != o}
    assert not missing, f"{len(missing)} acknowledged orders are not in the WAL: {list(missing.items())[:5]}"
    return last


def test_sigkill_mid_load_never_loses_an_acknowledged_command(tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    data_dir = tmp_path / "data"
    ack_file = tmp_path / "acks.txt"
    last_seqs = []
    for run in range(KILLS):
        before = len(acked_orders(ack_file))
        child = spawn(data_dir, ack_file, "--run-id", str(run + 1), "--snapshot-every", "1500")
        try:
            wait_ready(child)
            wait_for_acks(ack_file, before + MIN_ACKS_PER_RUN, child)  # mid-load, even on a slow box
            time.sleep(rng.uniform(0.0, 0.8))
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(30)
            for stream in (child.stdout, child.stderr):
                if stream is not None:
                    stream.close()
        acks = acked_orders(ack_file)
        assert acks, "the child acknowledged nothing before the kill"
        last_seqs.append(check_wal_against_acks(data_dir, acks))
    assert last_seqs == sorted(last_seqs) and last_seqs[0] > 0
    assert list_snapshots(data_dir / "snapshots"), "no periodic snapshot was written under load"
    from_snapshot, info = recover(data_dir)
    full, full_info = recover(data_dir, use_snapshot=False)
    assert info.snapshot_seq is not None and info.events_replayed < full_info.events_replayed
    assert from_snapshot.seq == full.seq == last_seqs[-1]
    assert from_snapshot.state_hash() == full.state_hash()


def test_a_real_write_failure_fail_stops_without_acknowledging_what_was_not_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ack_file = tmp_path / "acks.txt"
    child = spawn(data_dir, ack_file, "--mode", "fsize", "--snapshot-every", "100000000")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["is_wal_failure"] and report["refused_after"], report
    assert report["acked"] > 0 and report["failed_futures"] > 0, report
    critical = [line for line in err.splitlines() if line.startswith("CRITICAL")]
    assert len(critical) == 1 and "fail-stop" in critical[0], err
    acks = acked_orders(ack_file)
    assert len(acks) == report["acked"]
    assert check_wal_against_acks(data_dir, acks) == report["last_seq"]
