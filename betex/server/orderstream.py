"""The history writer behind `betex serve`, and the order stream (`SUBSCRIBE_ORDERS`) fed by it.

`HistoryFeed` applies every committed event batch to the SQLite history store
(`DATA_DIR/history.db`) on a thread of its own, one transaction per batch, never on the event
loop. At start it resumes from the store's own applied seq by replaying the WAL tail into it.

After each transaction the feed posts the batch's order-update and settlement rows to the loop
thread, which pushes them as `ORDER_UPDATE` / `ACCOUNT_SETTLED` to the account's subscribers.
Live rows and `from_seq` replay therefore come from the same rows, and the handoff is exact: a
replay reads the store up to some applied seq S (every page carries it), and the subscriber then
takes only live rows with seq > S; live rows that arrive while the replay runs are buffered.
No gap, no duplicate, and the same after a restart (the store is on disk).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from betex.core.domain.events import Event
from betex.core.domain.types import MarketModel, RejectCode
from betex.core.durability.journal import JournalReader
from betex.core.errors import BetexError
from betex.core.protocol import render
from betex.core.protocol.parse import WireError
from betex.core.readmodel.history import SQLiteHistory

from .connection import Connection

log = logging.getLogger("betex.server.history")

HISTORY_FILE = "history.db"
_ODDS = MarketModel.EXCHANGE_ODDS.value
CATCH_UP_BATCH = 20_000
MAX_BACKLOG_EVENTS = 200_000
"""Committed events waiting for the writer above which the WAL thread waits for it: the
engine is slowed (back-pressure up to the clients) rather than memory growing without bound."""
REPLAY_PAGE = 5_000


def apply_in_chunks(store: SQLiteHistory, events: Iterable[Event]) -> int:
    """Apply committed `events` (in seq order) to `store`, `CATCH_UP_BATCH` per transaction;
    how many. Used to catch a store up from the WAL, here and by `betex history-writer`."""
    n = 0
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= CATCH_UP_BATCH:
            store.apply_batch(chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        store.apply_batch(chunk)
        n += len(chunk)
    return n


Rows = list[tuple[Any, ...]]
Models = dict[int, str]
Applied = Callable[[int, Rows, Rows, Models], None]
"""Called on the feed's thread after each committed transaction: (applied seq, order-update
rows, settlement rows, the model of each market in them, from the store: the live read model
may already have let a settled market go)."""


def history_path(data_dir: Path) -> Path:
    return data_dir / HISTORY_FILE


class HistoryFeed:
    """The one writer of the history store: a thread fed by the runtime's committed batches.

    The thread owns the SQLite connection from open to close (a connection is used from one
    thread): it opens the store, catches up from the WAL, then applies queued batches.
    """

    def __init__(self, path: Path, on_applied: Applied) -> None:
        self.path = path
        self._on_applied = on_applied
        self._queue: list[Sequence[Event]] = []
        self._queued_events = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.applied_seq = 0
        """The seq of the last committed transaction (read from other threads; an int is atomic)."""
        self.caught_up = 0
        """Events replayed from the WAL at start."""
        self.error: str | None = None
        """Set if a batch ever failed to apply: the store (and the order stream) stop there."""
        self.waits = 0
        """Times the WAL thread waited for the writer (its backlog was over MAX_BACKLOG_EVENTS)."""

    def start(self, data_dir: Path, to_seq: int) -> None:
        """Start the writer; it first replays WAL events after the store's applied seq up to
        `to_seq` (the recovered engine's seq). `wait_ready` blocks until that is done."""
        self._thread = threading.Thread(
            target=self._run, args=(data_dir, to_seq), name="history-writer", daemon=True
        )
        self._thread.start()

    def wait_ready(self) -> None:
        """Block until the store has caught up with the WAL; raises what stopped it."""
        self._ready.wait()
        if self.error is not None:
            raise BetexError(f"history store {self.path}: {self.error}")

    def on_events(self, events: Sequence[Event]) -> None:
        """Runtime handler (WAL thread, after commit): queue the batch for the writer."""
        if not events:
            return
        with self._cond:
            self._queue.append(events)
            self._queued_events += len(events)
            self._cond.notify_all()
            while self._queued_events > MAX_BACKLOG_EVENTS and self.error is None and self._thread_alive():
                self.waits += 1
                self._cond.wait(0.1)

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Apply what is queued, then close the store."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("history writer did not finish within %.0fs", timeout)

    def _catch_up(self, store: SQLiteHistory, data_dir: Path, to_seq: int) -> None:
        start = store.applied_seq()
        if start > to_seq:
            raise BetexError(
                f"it is at seq {start}, ahead of the WAL ({to_seq}): it belongs to another"
                " data dir; move it away and restart to rebuild it"
            )
        if start < to_seq:
            with JournalReader(data_dir) as reader:
                apply_in_chunks(store, reader.iter_events(start + 1, to_seq))
        self.applied_seq = store.applied_seq()
        self.caught_up = self.applied_seq - start

    def _run(self, data_dir: Path, to_seq: int) -> None:
        try:
            store = SQLiteHistory.open(self.path)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._ready.set()
            return
        try:
            try:
                self._catch_up(store, data_dir, to_seq)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                return
            finally:
                self._ready.set()
            self._loop(store)
        finally:
            store.close()

    def _loop(self, store: SQLiteHistory) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                batches, self._queue = self._queue, []
                self._queued_events = 0
                self._cond.notify_all()  # a WAL thread waiting on the backlog may go on
                if not batches and self._stopping:
                    return
            if self.error is not None:
                continue
            # Whatever queued while the last transaction ran goes in one transaction: still
            # whole committed batches (the applied seq lands on a batch boundary), and far
            # fewer commits when the writer is behind.
            events: Sequence[Event] = batches[0] if len(batches) == 1 else [e for b in batches for e in b]
            try:
                seq = store.apply_batch(events)
            except Exception as exc:
                log.exception("history store failed to apply a batch; it stops at seq %d", self.applied_seq)
                self.error = f"{type(exc).__name__}: {exc}"
                continue
            self.applied_seq = seq
            try:
                updates, settled = store.last_updates, store.last_settlements
                models = (
                    store.market_models([r[4] for r in updates] + [r[0] for r in settled])
                    if updates or settled
                    else {}
                )
                self._on_applied(seq, updates, settled, models)
            except Exception:
                log.exception("posting order updates failed")


# --- the order stream (loop thread) --------------------------------------------------------


@dataclass(eq=False)
class OrderSubscription:
    """One connection's `SUBSCRIBE_ORDERS` for one account."""

    conn: Connection
    account_id: int
    last_seq: int
    """Rows at or below this seq have been sent (or predate the subscription)."""
    replaying: bool = False
    buffer: list[tuple[int, bytes]] = field(default_factory=list)
    """Live (seq, message) pairs that arrived during the replay."""


ModelOf = Callable[[int], str | None]


class OrderStreams:
    """Subscriptions by account, fed by `HistoryFeed` rows on the loop thread."""

    def __init__(self, path: Path, model_of: ModelOf) -> None:
        self.path = path
        self._model_of = model_of
        self._by_account: dict[int, list[OrderSubscription]] = {}

    def accounts(self) -> list[int]:
        """The accounts with subscribers (safe to call from another thread: a list copy)."""
        return list(self._by_account)

    def _model(self, market_id: int) -> str:
        return self._model_of(market_id) or _ODDS

    def subscribe(
        self, conn: Connection, account_id: int, applied_seq: int, replaying: bool = False
    ) -> OrderSubscription:
        """Live updates from now on (after `applied_seq`, the store's seq when asked); with
        `replaying`, live rows are buffered until `replay` has sent the history."""
        sub = OrderSubscription(conn, account_id, applied_seq, replaying)
        subs = self._by_account.setdefault(account_id, [])
        subs[:] = [s for s in subs if s.conn is not conn and not s.conn.closed]
        subs.append(sub)
        return sub

    async def replay(self, sub: OrderSubscription, from_seq: int) -> None:
        """Send the account's updates after `from_seq` from the store, then the live ones that
        arrived meanwhile (seq above the replay's read snapshot). If the store cannot be read
        the subscription ends with an ERROR (the client may resubscribe with its last seq)."""
        try:
            rows, seq, models = await asyncio.to_thread(_read_replay, self.path, sub.account_id, from_seq)
        except Exception as exc:
            log.exception("order stream replay for account %d failed", sub.account_id)
            sub.replaying = False
            self._remove(sub)
            err = WireError(RejectCode.OVERLOADED, f"order stream replay failed: {type(exc).__name__}")
            sub.conn.reply(render.dumps(render.render_error(err)))
            return
        for kind, row in rows:
            if sub.conn.closed:
                return
            mid = row[3] if kind == 0 else row[0]
            model = models.get(mid) or self._model(mid)
            msg = (
                render.render_order_update(row, model, sub.account_id)
                if kind == 0
                else render.render_account_settled(row, model)
            )
            sub.conn.reply(render.dumps(msg))
        upto = max(seq, from_seq)
        sub.last_seq = upto
        sub.replaying = False
        pending, sub.buffer = sub.buffer, []
        for row_seq, data in pending:  # several rows may share a seq: compare with the snapshot's
            if row_seq > upto:
                sub.conn.reply(data)

    def _remove(self, sub: OrderSubscription) -> None:
        subs = self._by_account.get(sub.account_id, [])
        if sub in subs:
            subs.remove(sub)
        if not subs:
            self._by_account.pop(sub.account_id, None)

    def drop(self, conn: Connection) -> None:
        for account, subs in list(self._by_account.items()):
            subs[:] = [s for s in subs if s.conn is not conn]
            if not subs:
                del self._by_account[account]

    def publish(self, updates: Rows, settlements: Rows, models: Models | None = None) -> None:
        """Push one committed batch's rows to the subscribers of their accounts."""
        known = models or {}
        if not self._by_account:
            return
        by_account = self._by_account
        out: list[tuple[int, int, bytes]] = []
        for row in updates:
            if row[0] in by_account:
                msg = render.render_order_update(row[1:], known.get(row[4]) or self._model(row[4]), row[0])
                out.append((row[0], row[1], render.dumps(msg)))
        for srow in settlements:
            if srow[1] in by_account:
                msg = render.render_account_settled(srow, known.get(srow[0]) or self._model(srow[0]))
                out.append((srow[1], srow[6], render.dumps(msg)))
        for account, seq, data in out:
            for sub in by_account.get(account, ()):
                if sub.conn.closed:
                    continue
                if sub.replaying:
                    sub.buffer.append((seq, data))
                elif seq > sub.last_seq:
                    sub.conn.reply(data)
        self._forget_closed()

    def _forget_closed(self) -> None:
        for account, subs in list(self._by_account.items()):
            if any(s.conn.closed for s in subs):
                subs[:] = [s for s in subs if not s.conn.closed]
                if not subs:
                    del self._by_account[account]


def _read_replay(
    path: Path, account_id: int, from_seq: int
) -> tuple[list[tuple[int, tuple[Any, ...]]], int, Models]:
    """(rows in commit order, the applied seq they are complete up to, their markets' models).
    Kind 0 is an order_updates row (UPDATE_COLUMNS), kind 1 a settlements row (SETTLEMENT_COLUMNS)."""
    store = SQLiteHistory.open_reader(path)
    try:
        updates: list[tuple[int, int, int, tuple[Any, ...]]] = []
        cursor: str | None = None
        while True:
            page = store.order_updates(account_id, from_seq, cursor, REPLAY_PAGE)
            updates.extend((r["seq"], 0, r["idx"], tuple(r.values())) for r in page.rows)
            cursor = page.cursor
            if cursor is None:
                seq = page.seq
                break
        settled: list[tuple[int, int, int, tuple[Any, ...]]] = []
        cursor = None
        while True:
            spage = store.settlements(None, account_id, cursor, REPLAY_PAGE)
            fresh = [r for r in spage.rows if r["seq"] > from_seq]
            settled.extend((r["seq"], 1, r["market_id"], tuple(r.values())) for r in fresh if r["seq"] <= seq)
            cursor = spage.cursor
            if cursor is None or len(fresh) < len(spage.rows):
                break
        models = store.market_models([r[3] for *_k, r in updates] + [r[0] for *_k, r in settled])
    finally:
        store.close()
    merged = sorted(updates + settled, key=lambda t: (t[0], t[1], t[2]))
    return [(kind, row) for _s, kind, _i, row in merged], seq, models
