"""`betex history-writer`: the history store's one writer in the process split (no HTTP, no engine).

The SQLite history store (`DATA_DIR/history.db`: `/orders`, `/completed_orders`, `/trades`,
settled `/risk`, the order stream's replay) costs more CPU per event than the projection. In one
process it shares the server's GIL; in a gateway it took over half of the gateway's (measured,
docs/runtime.md), which is the process that parses and frames. So in the split it has a process
of its own, beside the engine and the gateways, fed from the committed event stream as it is on
disk: it follows the WAL (a read-only LMDB reader; everything in it is committed) and applies
each run of new events in one transaction. The gateways read the store read-only
(`historyread.py`) and follow its applied seq and rows (`historyfollow.py`).

Lifecycle: take `history.lock` (flock; a second writer exits 3) → open or migrate the store →
wait for the WAL to exist → catch up from the store's applied seq → follow: poll the WAL at once
while there is news, every `IDLE_POLL_S` after, every `QUIET_POLL_S` once quiet → SIGINT/SIGTERM: apply what is
committed, close, exit 0. A kill -9 loses nothing: the store resumes from its own applied seq.
If applying fails (a full disk), it logs it once, lets go of the lock (the gateways then answer
history queries from their read model, as one process does when its history writer fails) and
waits for SIGTERM, then exits 1: restarting it would only fail again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from betex.core.durability.journal import JournalReader
from betex.core.errors import WalNotFound
from betex.core.readmodel.history import SQLiteHistory

from .config import HISTORY_PRIORITY, ServerConfig
from .console import logging_setup, say
from .orderstream import apply_in_chunks, history_path
from .stopflag import StopFlag

log = logging.getLogger("betex.history")

LOCK_NAME = "history.lock"
LOCK_WAIT_S = 2.0
IDLE_POLL_S = 0.001
"""How often the writer looks for new commits in the first `QUIET_POLLS` empty polls after
some: at most this much added to the store's lag behind the engine while traffic flows."""
QUIET_POLLS = 200
QUIET_POLL_S = 0.005
"""After `QUIET_POLLS` empty polls (a quiet service): 200 short LMDB read txns a second, not
1,000; the first event after a quiet spell waits at most this much longer."""


def _lock(data_dir: Path) -> int | str:
    """The lock's fd, or the pid of the process that holds it. A gateway probes the lock for a
    moment to learn whether a writer runs (`historyfollow.writer_running`), so a held lock is
    retried for `LOCK_WAIT_S` before it counts as another writer's."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.01)
                continue
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            return holder
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _lower_priority(priority: str) -> None:
    """`idle`: SCHED_IDLE where the OS has it (else nice 19); `low`: nice 10; `normal`: as is.
    Lowering needs no privilege."""
    if priority == "normal":
        return
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError as exc:  # a sandbox may refuse it: the nicest nice does nearly as much
            log.warning("SCHED_IDLE refused (%s); running at nice 19 instead", exc)
    os.nice(19 if priority == "idle" else 10)


def run_history_writer(config: ServerConfig, priority: str = HISTORY_PRIORITY) -> int:
    """Run until SIGINT/SIGTERM; the exit status (3: another writer holds the store).
    `priority`: this process's CPU priority (see `HISTORY_PRIORITY`)."""
    logging_setup(config)
    _lower_priority(priority)
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = StopFlag()  # set by the signal handler: never a threading.Event (stopflag.py)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    lock_fd = _lock(data_dir)
    if isinstance(lock_fd, str):
        print(
            f"error: history store {history_path(data_dir)} has a writer already (pid {lock_fd})",
            file=sys.stderr,
            flush=True,
        )
        return 3
    store = SQLiteHistory.open(history_path(data_dir))
    try:
        t0 = time.perf_counter()
        reader = _wait_for_wal(data_dir, stop)
        if reader is None:
            say("betex history-writer: stopped cleanly (no WAL yet)")
            return 0
        with reader:
            start = store.applied_seq()
            last = reader.meta().get("last_seq", 0)
            if start > last:
                print(
                    f"error: history store {history_path(data_dir)} is at seq {start}, ahead of the WAL "
                    f"({last}): it belongs to another data dir; move it away to rebuild it",
                    file=sys.stderr,
                    flush=True,
                )
                return 4
            ready = False
            try:
                caught_up = _apply_new(store, reader)
                say(
                    f"betex history-writer: store at seq {store.applied_seq()} "
                    f"({caught_up} events caught up in {time.perf_counter() - t0:.2f}s)"
                )
                say("betex history-writer: ready")
                ready = True
                empty = 0
                while not stop.is_set():
                    if _apply_new(store, reader):
                        empty = 0
                    else:
                        empty += 1
                        stop.wait(IDLE_POLL_S if empty < QUIET_POLLS else QUIET_POLL_S)
                _apply_new(store, reader)  # what was committed before the stop
            except Exception as exc:  # e.g. the disk is full: stop writing, say so, let go
                log.critical(
                    "history store failed at seq %d (%s: %s); writer stopped: the gateways answer "
                    "history queries from their read model until it is restarted",
                    store.applied_seq(),
                    type(exc).__name__,
                    exc,
                )
                os.close(lock_fd)  # the gateways see that no writer runs (not a crash loop)
                lock_fd = -1
                if not ready:  # running, as far as the supervisor goes: no restart loop
                    say("betex history-writer: ready")
                stop.wait()
                return 1
        say(f"betex history-writer: stopped cleanly at seq {store.applied_seq()}")
        return 0
    finally:
        store.close()
        if lock_fd >= 0:
            os.close(lock_fd)


def _wait_for_wal(data_dir: Path, stop: StopFlag) -> JournalReader | None:
    """The engine creates the WAL on its first start: wait for it (None if stopped first)."""
    while not stop.is_set():
        try:
            return JournalReader(data_dir)
        except WalNotFound:
            stop.wait(0.05)
    return None


def _apply_new(store: SQLiteHistory, reader: JournalReader) -> int:
    """Apply every committed event after the store's seq; how many. The WAL's end is always a
    commit boundary, so the last transaction ends on one."""
    return apply_in_chunks(store, reader.iter_events(store.applied_seq() + 1))
