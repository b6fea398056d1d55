"""kill -9 of a real process writing the history store: it resumes exactly, never double-applies."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from betex.core.readmodel.history import SQLiteHistory
from tests.core.readmodel.history_child import stream

CHILD = Path(__file__).with_name("history_child.py")
BATCHES = 2500
SEED = 11


def run_child(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(BATCHES), str(SEED)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_during_history_writes_resumes_to_a_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    batches = stream(BATCHES, SEED)
    boundaries = {0} | {b[-1].seq for b in batches}
    rng = random.Random(SEED)
    seen: list[int] = []
    for _ in range(6):
        child = run_child(path)
        assert child.stdout is not None
        line = child.stdout.readline()  # "resumed <seq>": it has opened the store and is writing
        assert line.startswith("resumed"), (line, child.stderr.read() if child.stderr else "")
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        store = SQLiteHistory.open(path)
        seq = store.applied_seq()
        store.close()
        assert seq in boundaries, f"applied seq {seq} is not a batch boundary"
        assert not seen or seq >= seen[-1]
        seen.append(seq)
    assert len(set(seen)) > 1, f"the kills never landed during writes: {seen}"
    print("applied seqs at the kills:", seen)
    child = run_child(path)  # the last run goes to the end
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert out.splitlines()[-1] == "done"
    store = SQLiteHistory.open(path)
    rebuilt = SQLiteHistory.rebuild(tmp_path / "rebuilt.db", (e for b in batches for e in b))
    assert store.applied_seq() == batches[-1][-1].seq
    assert store.dump() == rebuilt.dump()


def test_readers_in_another_process_see_whole_batches_while_the_writer_runs(tmp_path: Path) -> None:
    """The writer is a child process; this process reads concurrently through its own
    read-only connection and only ever sees whole batches, never an error or a half batch."""
    path = tmp_path / "history.db"
    batches = stream(BATCHES, SEED)
    orders_at: dict[int, int] = {0: 0}  # batch-end seq → orders accepted so far
    accepted = 0
    for b in batches:
        accepted += sum(1 for e in b if type(e).__name__ == "OrderAccepted")
        orders_at[b[-1].seq] = accepted
    child = run_child(path)
    assert child.stdout is not None
    assert child.stdout.readline().startswith("resumed")
    reader = SQLiteHistory.open_reader(path)
    conn = reader._conn
    seen: list[int] = []
    while child.poll() is None or not seen or seen[-1] < batches[-1][-1].seq:
        seq, orders = conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'applied_seq'), (SELECT count(*) FROM orders)"
        ).fetchone()
        assert orders_at.get(seq) == orders, (seq, orders)
        assert not seen or seq >= seen[-1]
        seen.append(seq)
    assert child.wait(timeout=300) == 0
    assert len(set(seen)) > 2
