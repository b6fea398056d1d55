"""A gateway's read-only view of the history store that another process writes (`betex gateway`).

In the split (`serve --gateways N`) the history store (`DATA_DIR/history.db`) has one writer:
gateway 0 runs the `HistoryFeed` on its committed event stream, exactly as the in-process
server does on its runtime's. Every other gateway answers `/orders`, `/completed_orders`,
`/trades` and settled `/risk` from the same file through a read-only connection
(`HistoryReads`), and needs two more things from the writer's progress:

- its applied seq, so a history query can wait until the store has the events of every reply
  this gateway already delivered (read-your-writes, `Hub.history_caught_up`);
- the order-update and settlement rows of each new seq for the accounts subscribed here
  (`SUBSCRIBE_ORDERS`), in the shape `HistoryFeed` posts them.

`HistoryFollower` is a thread that polls the store's applied seq (every `FAST_POLL_S` while it
is behind this gateway's projection and someone waits for it: a history query or an
order-stream subscriber here, `IDLE_POLL_S` otherwise; a query that starts waiting `nudge`s it
at once) and, when it moved, reads the
subscribed accounts' rows in (last seq, applied seq] and posts them with the same callback as
the writer (`Hub.on_history`). While the store is behind, it also checks that a writer runs
(`writer_running`: the writer's flock); when none does (it failed on a full disk, or is being
restarted), `history_error` says so and history queries fall back to the gateway's read model,
as they do in one process when its history writer fails. The order stream's handoff rule (rows with seq > the replay's
seq) is unchanged, so a replay and the live rows still meet without a gap or a duplicate.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from betex.core.readmodel.history import SQLiteHistory

from .history_proc import LOCK_NAME
from .orderstream import Applied

log = logging.getLogger("betex.server.history")

FAST_POLL_S = 0.002
IDLE_POLL_S = 0.05
PROBE_S = 0.2
PAGE = 5_000


class HistoryFollower:
    """Follow a history store written by another process (see the module doc)."""

    def __init__(
        self,
        path: Path,
        on_applied: Applied,
        wanted_seq: Callable[[], int],
        accounts: Callable[[], list[int]],
        waiting: Callable[[], bool] = lambda: True,
    ) -> None:
        """`wanted_seq`: the seq the gateway's projection has (poll fast while the store is
        behind it); `accounts`: the accounts with order-stream subscribers here (read from this
        thread: a list copy of a dict's keys is atomic under the GIL)."""
        self.path = path
        self._on_applied = on_applied
        self._wanted = wanted_seq
        self._accounts = accounts
        self._waiting = waiting
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by `nudge` and `stop`: the next poll is now
        self._thread: threading.Thread | None = None
        self.applied_seq = -1
        """The store's applied seq as last read (-1: not read yet; the first read is posted)."""
        self.error: str | None = None
        """Why the store could not be read at the last poll (None once it can again)."""
        self.writer_down = False
        """No writer holds the store while it is behind this gateway (checked every `PROBE_S`)."""
        self._probe_at = 0.0

    def writer_running(self) -> bool:
        """Whether a `betex history-writer` holds the store's lock (a shared flock taken and
        dropped at once succeeds only when no writer holds it; the writer retries its own
        lock for a moment, so this probe never makes it fail)."""
        try:
            fd = os.open(self.path.parent / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's lock, if it got it
        return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="history-follower", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Poll now (any thread): a history query started waiting for the store."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        store: SQLiteHistory | None = None
        try:
            while not self._stop.is_set():
                try:
                    if store is None:
                        store = SQLiteHistory.open_reader(self.path)
                    self._poll(store)
                    self.error = None
                except Exception as exc:  # the writer has not created it yet, or a transient error
                    if self.error is None:
                        log.info("history store not readable yet (%s: %s); retrying", type(exc).__name__, exc)
                    self.error = f"{type(exc).__name__}: {exc}"
                    if store is not None:
                        store.close()
                        store = None
                    self._stop.wait(IDLE_POLL_S)
                    continue
                behind = self.applied_seq < self._wanted()
                if not behind:
                    self.writer_down = False
                elif time.monotonic() >= self._probe_at:
                    self._probe_at = time.monotonic() + PROBE_S
                    self.writer_down = not self.writer_running()
                # fast only while someone waits for it: a history query (read-your-writes) or an
                # order-stream subscriber here; under a flood the store is always a little behind,
                # and polling every 2 ms for nobody cost the gateway ~5% of its time
                hurry = behind and (self._waiting() or bool(self._accounts()))
                self._wake.wait(FAST_POLL_S if hurry else IDLE_POLL_S)
                self._wake.clear()
        finally:
            if store is not None:
                store.close()

    def _poll(self, store: SQLiteHistory) -> None:
        seq = store.applied_seq()
        last = self.applied_seq
        if seq == last:
            return
        if seq < last:  # a rebuilt store (moved away, started over): follow it from where it is
            last = 0
        updates: list[tuple[Any, ...]] = []
        settled: list[tuple[Any, ...]] = []
        for account in self._accounts():
            updates.extend(self._updates(store, account, last, seq))
            settled.extend(self._settlements(store, account, last, seq))
        models = (
            store.market_models([r[4] for r in updates] + [r[0] for r in settled])
            if updates or settled
            else {}
        )
        self.applied_seq = seq
        self._on_applied(seq, updates, settled, models)

    @staticmethod
    def _updates(store: SQLiteHistory, account: int, after: int, upto: int) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        cursor: str | None = None
        while True:
            page = store.order_updates(account, after, cursor, PAGE)
            for r in page.rows:
                if r["seq"] <= upto:
                    rows.append((account, *r.values()))
            cursor = page.cursor
            if cursor is None or page.rows[-1]["seq"] > upto:
                return rows

    @staticmethod
    def _settlements(store: SQLiteHistory, account: int, after: int, upto: int) -> list[tuple[Any, ...]]:
        """Newest first in the store; returned oldest first, as the writer posts them."""
        rows: list[tuple[Any, ...]] = []
        cursor: str | None = None
        while True:
            page = store.settlements(None, account, cursor, PAGE)
            fresh = [r for r in page.rows if r["seq"] > after]
            rows.extend(tuple(r.values()) for r in fresh if r["seq"] <= upto)
            cursor = page.cursor
            if cursor is None or len(fresh) < len(page.rows):
                rows.reverse()
                return rows
