"""The engine runtime: drain the ring, execute a batch, commit its events, then reply and publish.

Ordering contract (operations.md §1): per batch, one clock read and every command executed; all
of a batch's events go to the WAL in ONE transaction; only after that commit are the batch's
replies released and the handlers called, in registration order, batch by batch.

Two threads, as in LMAX: the *engine thread* executes batch N+1 while the *WAL thread* commits
batch N (py-lmdb releases the GIL during the fsync, so its latency is overlapped, not added).
Batches waiting for the WAL thread are committed together (group commit, still whole batches
per txn). The engine may thus run ahead of the disk by a few batches, but nothing is
acknowledged, published or snapshotted before it is durable. A failed WAL write stops both
threads for good (fail-stop) and fails every unacknowledged command.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

from betex.core.domain.commands import Command
from betex.core.domain.engine import Engine
from betex.core.domain.events import Event
from betex.core.domain.results import Reject, Result
from betex.core.domain.types import RejectCode
from betex.core.durability import snapshot
from betex.core.durability.journal import Journal
from betex.core.runtime.metrics import RuntimeMetrics
from betex.core.runtime.ring import DEFAULT_WAIT_STRATEGY, Ring, RingClosed

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Event]], None]
_Item = tuple[Any, Any, int]  # (command, reply future or None, ingress perf_counter_ns)
_AsyncReplies = dict[
    asyncio.AbstractEventLoop, list[tuple["asyncio.Future[Result]", "Result | BaseException"]]
]

_IDLE_WAIT_S = 0.05  # how often an idle engine thread re-checks for stop
# In-play bet delay (core/domain/delay.py): while delayed orders are pending, the idle wait is cut
# to the next one's due time, and a wait that ends with nothing to drain runs a *tick*: an empty
# batch at the clock's time, in which the engine matures what is due (TICK, ORDER_MATURED,
# trades). A tick that finds nothing due writes nothing. See docs/runtime.md "Ticks".
_INGRESS_SAMPLES = 64  # ingress latencies recorded per batch (weighted), to keep metrics cheap
MAX_UNCOMMITTED_BATCHES = 8  # how far the engine may run ahead of the WAL thread
SNAPSHOTS_KEPT = 3


class CommandGroup(NamedTuple):
    """Commands executed back to back in one engine batch, each on its own (PLACE_ORDERS and
    friends); the reply is the list of their results, in order."""

    commands: tuple[Command, ...]


class RuntimeStopped(RuntimeError):
    """The runtime accepts nothing more: it was stopped, or it failed (see `Runtime.failed`)."""


def _overloaded(ring_size: int) -> Reject:
    return Reject(RejectCode.OVERLOADED, f"ingress ring full ({ring_size} commands); retry later")


def _resolve_async(pairs: list[tuple[asyncio.Future[Result], Result | BaseException]]) -> None:
    for fut, value in pairs:
        if fut.done():  # the awaiting coroutine was cancelled
            continue
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)


def _post_async(by_loop: _AsyncReplies) -> None:
    """One wake-up per event loop per commit, not one per reply."""
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_async, pairs)
        except RuntimeError:  # the loop is closed: nobody is left to read these replies
            log.debug("dropping %d replies for a closed event loop", len(pairs))


class ReplyBatch:
    """The replies to a run of commands submitted together (`Runtime.submit_many(cmds, reply)`).

    `done(results)` is called once, on the WAL thread, when every one of the `n` commands is
    committed, with their results in submission order; or `done(error)` once if the runtime
    fails first. One object per run instead of a future per command: what a server answering
    whole frames (the IPC channel) wants. `done` must be cheap and must not raise (like a
    handler; an exception is logged and counted in `handler_errors`).
    """

    __slots__ = ("n", "results", "done", "_finished")

    def __init__(self, n: int, done: Callable[[list[Result] | BaseException], None]) -> None:
        self.n = n
        self.results: list[Result] = []
        self.done = done
        self._finished = False

    def _add(self, result: Result) -> bool:
        """Record one result; True when this completes the run (the caller then calls `done`)."""
        results = self.results
        results.append(result)
        if len(results) == self.n:
            self._finished = True
            return True
        return False

    def _fail(self, error: BaseException) -> None:
        if not self._finished:
            self._finished = True
            self.done(error)


def _fail_items(items: Sequence[_Item], error: BaseException) -> int:
    """Fail the reply of every item that has one; returns how many items there were."""
    by_loop: _AsyncReplies = {}
    for _cmd, reply, _t in items:
        if reply is None:
            continue
        if type(reply) is Future:
            if not reply.done():
                reply.set_exception(error)
        elif type(reply) is ReplyBatch:
            reply._fail(error)
        else:
            by_loop.setdefault(reply.get_loop(), []).append((reply, error))
    _post_async(by_loop)
    return len(items)


class _Batch:
    """An executed batch on its way to the WAL thread."""

    __slots__ = ("items", "results", "events", "snapshot")

    def __init__(
        self, items: list[_Item], results: list[Result], events: list[Event], snap: tuple[bytes, int] | None
    ) -> None:
        self.items = items
        self.results = results
        self.events = events
        self.snapshot = snap


class _CommitQueue:
    """Engine thread → WAL thread hand-off; bounded so the engine cannot run far ahead of disk."""

    def __init__(self, limit: int) -> None:
        self._dq: deque[_Batch] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._limit = limit
        self._closed = False
        self._aborted = False

    def put(self, batch: _Batch) -> bool:
        """Queue a batch (waits while full); False if the WAL thread has aborted."""
        with self._cond:
            while len(self._dq) >= self._limit and not self._aborted:
                self._cond.wait()
            if self._aborted:
                return False
            self._dq.append(batch)
            self._cond.notify_all()
            return True

    def take_all(self) -> list[_Batch] | None:
        """Everything queued (waits while empty); None once closed and empty."""
        with self._cond:
            while not self._dq and not self._closed:
                self._cond.wait()
            if not self._dq:
                return None
            out = list(self._dq)
            self._dq.clear()
            self._cond.notify_all()
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> list[_Batch]:
        """Refuse further batches and hand back the ones never committed."""
        with self._cond:
            self._aborted = True
            out = list(self._dq)
            self._dq.clear()
            self._cond.notify_all()
            return out


class Runtime:
    """Owns the engine and WAL threads. Submit from any thread or loop; results arrive after commit."""

    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        ring_size: int = 16384,
        wait_strategy: str = DEFAULT_WAIT_STRATEGY,
        max_batch: int = 4096,
        snapshot_every: int = 1_000_000,
        snapshot_dir: Path | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if engine.seq != journal.last_seq:
            raise ValueError(
                f"engine is at seq {engine.seq} but the WAL ends at {journal.last_seq}: recover first"
            )
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, not {max_batch}")
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be >= 1, not {snapshot_every}")
        self.engine = engine
        self.journal = journal
        self.ring: Ring[_Item] = Ring(ring_size, wait_strategy)
        self.max_batch = max_batch
        self.snapshot_every = snapshot_every
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir is not None else None
        self._clock = clock
        self._handlers: tuple[Handler, ...] = ()
        self._commits = _CommitQueue(MAX_UNCOMMITTED_BATCHES)
        self._engine_thread: threading.Thread | None = None
        self._wal_thread: threading.Thread | None = None
        self._snapshot_thread: threading.Thread | None = None
        self._snapshot_busy = False
        self._since_snapshot = 0
        self._fail_lock = threading.Lock()
        self.failed: BaseException | None = None
        self.metrics = RuntimeMetrics()
        self._setup_metrics()
        if self.snapshot_dir is not None:
            # a snapshot past the WAL's end (power loss with async durability) would silently
            # become "valid" once new events reuse those seqs: remove it before we append
            for stale in snapshot.discard_after(self.snapshot_dir, journal.last_seq):
                log.warning(
                    "removed snapshot %s: it is past the end of the WAL (seq %d)",
                    stale.name,
                    journal.last_seq,
                )

    def _setup_metrics(self) -> None:
        m, ring, journal = self.metrics, self.ring, self.journal
        m.set_info("wait_strategy", ring.wait_strategy)
        m.set_info("durability", journal.durability)
        m.add_gauge("ring_size", lambda: ring.size)
        m.add_gauge("ring_depth", lambda: ring.depth)
        m.add_gauge("seq", lambda: journal.last_seq)
        m.add_gauge("engine_seq", lambda: self.engine.seq)
        m.add_gauge("wal_commits", lambda: journal.commits)
        m.add_gauge("wal_events", lambda: journal.events_written)
        m.add_gauge("wal_bytes", lambda: journal.bytes_written)
        m.add_gauge("wal_map_size", lambda: journal.map_size)
        m.add_gauge("wal_map_growths", lambda: journal.map_growths)
        m.add_reject_source(RejectCode.OVERLOADED.value, lambda: ring.rejected)

    # ---------------------------------------------------------------- lifecycle

    def add_handler(self, fn: Handler) -> None:
        """Call `fn(events)` once per batch, after its commit, on the WAL thread; keep it cheap."""
        self._handlers = (*self._handlers, fn)

    @property
    def running(self) -> bool:
        t = self._wal_thread
        return t is not None and t.is_alive()

    def start(self) -> None:
        if self._engine_thread is not None:
            raise RuntimeError("runtime already started")
        if self.ring.closed:
            raise RuntimeStopped(self._stopped_reason())
        self._spawn()

    def _spawn(self) -> None:
        self._wal_thread = threading.Thread(target=self._wal_loop, name="betex-wal", daemon=True)
        self._engine_thread = threading.Thread(target=self._engine_loop, name="betex-engine", daemon=True)
        self._wal_thread.start()
        self._engine_thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Refuse new commands, process and commit everything already accepted, then join."""
        self.ring.close()
        if self._engine_thread is None:
            if not self.ring.depth or self.failed is not None:
                return
            self._spawn()  # never started but holding accepted commands: run just to drain them
        for thread in (self._engine_thread, self._wal_thread, self._snapshot_thread):
            if thread is not None:
                thread.join(timeout)
                if thread.is_alive():
                    raise TimeoutError(f"{thread.name} thread did not stop within {timeout}s")

    # ---------------------------------------------------------------- ingress (any thread)

    def _publish(self, item: _Item) -> bool:
        try:
            return self.ring.try_publish(item)
        except RingClosed:
            raise RuntimeStopped(self._stopped_reason()) from self.failed

    def _stopped_reason(self) -> str:
        if self.failed is not None:
            return f"engine failed: {self.failed}"
        return "runtime is stopped"

    def submit(self, cmd: Command) -> bool:
        """Fire and forget; False when the ring is full (report OVERLOADED). Raises RuntimeStopped."""
        return self._publish((cmd, None, time.perf_counter_ns()))

    def try_submit(self, cmd: Command | CommandGroup) -> bool:
        """Fire and forget, for a caller that holds the command when the ring is full and
        retries (back-pressure): False then, and nothing is counted as OVERLOADED, since
        nothing was refused. A `CommandGroup` runs as one item. Raises RuntimeStopped."""
        try:
            return self.ring.try_publish((cmd, None, time.perf_counter_ns()), False)
        except RingClosed:
            raise RuntimeStopped(self._stopped_reason()) from self.failed

    def submit_many(self, cmds: Sequence[Command], reply: ReplyBatch | None = None) -> int:
        """Publish a batch under one ring lock; returns how many were queued, in order.

        `cmds[n:]` did not fit (report OVERLOADED, or hold them and retry with the same
        `reply`). Without `reply` the commands are fire and forget; with it, `reply.done` gets
        all their results once committed. Raises RuntimeStopped.
        """
        t = time.perf_counter_ns()
        items: list[_Item] = [(cmd, reply, t) for cmd in cmds]
        try:
            return self.ring.try_publish_many(items)
        except RingClosed:
            raise RuntimeStopped(self._stopped_reason()) from self.failed

    def submit_with_response(self, cmd: Command) -> Future[Result]:
        """A future resolved after the command's events are committed (OVERLOADED if full)."""
        fut: Future[Result] = Future()
        fut.set_running_or_notify_cancel()  # results are facts once committed: not cancellable
        if not self._publish((cmd, fut, time.perf_counter_ns())):
            fut.set_result(_overloaded(self.ring.size))
        return fut

    def submit_group(self, cmds: Sequence[Command]) -> Future[list[Result]]:
        """One ring item for several commands: they run in the same engine batch, in order,
        and the future holds their results (all OVERLOADED if the ring is full)."""
        fut: Future[list[Result]] = Future()
        fut.set_running_or_notify_cancel()
        if not self._publish((CommandGroup(tuple(cmds)), fut, time.perf_counter_ns())):
            fut.set_result([_overloaded(self.ring.size)] * len(cmds))
        return fut

    async def submit_async(self, cmd: Command) -> Result:
        """Await the command's result from an asyncio loop; replies are batched per loop."""
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        if not self._publish((cmd, fut, time.perf_counter_ns())):
            return _overloaded(self.ring.size)
        return await fut

    # ---------------------------------------------------------------- engine thread

    def _engine_loop(self) -> None:
        ring = self.ring
        max_batch = self.max_batch
        commits = self._commits
        items: list[_Item] = []
        delayed = self.engine.delayed
        clock = self._clock
        try:
            while self.failed is None:
                wait = _IDLE_WAIT_S
                due = delayed.next_due() if delayed.entries else None
                if due is not None:
                    wait = min(wait, max(0.0, (due - clock()) / 1e9))
                if not ring.wait(wait):
                    if ring.closed and not ring.depth:
                        break
                    if due is not None and clock() >= due:
                        tick = self._execute([])
                        if tick.events and not commits.put(tick):
                            break
                    continue
                items = ring.drain(max_batch)
                if not items:
                    continue
                if not commits.put(self._execute(items)):
                    break  # the WAL thread failed: `items` are failed below
                items = []
        except BaseException as exc:
            self._fail(exc, "engine")
        finally:
            commits.close()  # the WAL thread commits what it has, then exits
            if self.failed is not None:
                # fail what this thread held or never drained (the ring is closed by now)
                _fail_items(items + ring.drain(ring.size + 1), self._stopped_error())

    def _execute(self, items: list[_Item]) -> _Batch:
        pc = time.perf_counter_ns
        engine = self.engine
        metrics = self.metrics
        t0 = pc()
        n = len(items)
        if n <= _INGRESS_SAMPLES:
            record = metrics.stages["ingress_to_engine"].record
            for item in items:
                record(t0 - item[2])
        else:  # the batch is FIFO, so every step-th item is a fair stratified sample
            record_n = metrics.stages["ingress_to_engine"].record_n
            step = n // _INGRESS_SAMPLES
            for i in range(0, n, step):
                record_n(t0 - items[i][2], min(step, n - i))
        engine.begin_batch(self._clock())
        execute = engine.execute
        group = CommandGroup
        results: list[Any] = []
        append = results.append
        n_commands = len(items)
        for cmd, _r, _t in items:
            if type(cmd) is group:
                append([execute(x) for x in cmd.commands])
                n_commands += len(cmd.commands) - 1
            else:
                append(execute(cmd))
        events = engine.end_batch(n_commands)
        rejects = metrics.rejects
        for result in results:
            for r in result if type(result) is list else (result,):
                if type(r) is Reject:
                    code = r.code.value
                    rejects[code] = rejects.get(code, 0) + 1
        snap: tuple[bytes, int] | None = None
        if self.snapshot_dir is not None:
            self._since_snapshot += len(events)
            if self._since_snapshot >= self.snapshot_every and not self._snapshot_busy:
                # dumped here (the engine's thread), written only once this seq is committed
                self._snapshot_busy = True
                self._since_snapshot = 0
                snap = (engine.dump(), engine.seq)
        metrics.stages["engine"].record(pc() - t0)
        metrics.batches += 1
        metrics.commands_total += n_commands
        return _Batch(items, results, events, snap)

    # ---------------------------------------------------------------- WAL thread

    def _wal_loop(self) -> None:
        commits = self._commits
        try:
            while True:
                group = commits.take_all()
                if group is None:
                    return
                try:
                    self._commit(group)
                except BaseException as exc:
                    self._fail(exc, "WAL")
                    pending = [i for b in group for i in b.items]
                    pending += [i for b in commits.abort() for i in b.items]
                    _fail_items(pending, self._stopped_error())
                    self._snapshot_busy = False
                    return
        finally:
            if self.failed is not None:
                commits.abort()

    def _commit(self, group: list[_Batch]) -> None:
        pc = time.perf_counter_ns
        metrics = self.metrics
        t0 = pc()
        if len(group) == 1:
            self.journal.append(group[0].events)
        else:
            self.journal.append([e for b in group for e in b.events])
        t1 = pc()
        # committed: from here on every result is a fact and may be released
        by_loop: _AsyncReplies = {}
        handlers = self._handlers
        for batch in group:
            for item, result in zip(batch.items, batch.results, strict=True):
                reply = item[1]
                if reply is None:
                    continue
                if type(reply) is Future:
                    reply.set_result(result)
                elif type(reply) is ReplyBatch:
                    if reply._add(result):
                        try:
                            reply.done(reply.results)
                        except Exception:
                            metrics.handler_errors += 1
                            log.exception("reply callback %r failed (the results are committed)", reply.done)
                else:
                    by_loop.setdefault(reply.get_loop(), []).append((reply, result))
            for handler in handlers:
                try:
                    handler(batch.events)
                except Exception:
                    metrics.handler_errors += 1
                    log.exception(
                        "event handler %r failed (events are committed; runtime continues)", handler
                    )
            metrics.events_total += len(batch.events)
            if batch.snapshot is not None:
                self._start_snapshot(*batch.snapshot)
        _post_async(by_loop)
        metrics.stages["wal_commit"].record(t1 - t0)
        metrics.stages["handlers"].record(pc() - t1)

    def _start_snapshot(self, data: bytes, seq: int) -> None:
        self._snapshot_thread = threading.Thread(
            target=self._write_snapshot, args=(data, seq), name="betex-snapshot", daemon=True
        )
        self._snapshot_thread.start()

    def _write_snapshot(self, data: bytes, seq: int) -> None:
        assert self.snapshot_dir is not None
        try:
            path = snapshot.write_snapshot(data, seq, self.snapshot_dir)
            snapshot.prune(self.snapshot_dir, SNAPSHOTS_KEPT)
        except OSError as exc:
            self.metrics.snapshot_errors += 1
            log.error("engine snapshot at seq %d failed: %s (the WAL still has everything)", seq, exc)
            return
        finally:
            self._snapshot_busy = False
        self.metrics.snapshots += 1
        log.info("engine snapshot at seq %d: %s", seq, path.name)

    # ---------------------------------------------------------------- fail-stop

    def _stopped_error(self) -> RuntimeStopped:
        error = RuntimeStopped(f"engine failed: {self.failed}")
        error.__cause__ = self.failed
        return error

    def _fail(self, exc: BaseException, where: str) -> None:
        """Fail-stop: accept nothing more; one clear log line for the first failure only."""
        with self._fail_lock:
            first = self.failed is None
            if first:
                self.failed = exc
        self.ring.close()
        if first:
            log.critical(
                "engine stopped (fail-stop) in the %s thread at committed seq %d: %s: %s; "
                "nothing uncommitted was acknowledged",
                where,
                self.journal.last_seq,
                type(exc).__name__,
                exc,
            )
