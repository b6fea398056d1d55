"""The engine thread: drain the ring, execute a batch, commit its events, then reply and publish.

Ordering contract (operations.md §1): for each batch, one clock read, every command executed,
all events appended to the WAL in ONE transaction, and only after that commit are the replies
released and the handlers called (in registration order, on the engine thread). A failed WAL
write stops the engine for good (fail-stop): nothing it could not write is ever acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from . import snapshot
from .commands import Command
from .engine import Engine
from .events import Event
from .journal import Journal
from .metrics import RuntimeMetrics
from .results import Reject, Result
from .ring import DEFAULT_WAIT_STRATEGY, Ring, RingClosed
from .types import RejectCode

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Event]], None]
_Item = tuple[Any, Any, int]  # (command, reply future or None, ingress perf_counter_ns)

_IDLE_WAIT_S = 0.05  # how often an idle engine thread re-checks for stop
SNAPSHOTS_KEPT = 3


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


class Runtime:
    """Owns the engine thread. Submit from any thread or event loop; results arrive after commit."""

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
        self._thread: threading.Thread | None = None
        self._snapshot_thread: threading.Thread | None = None
        self._since_snapshot = 0
        self.failed: BaseException | None = None
        self.metrics = RuntimeMetrics()
        self._setup_metrics()

    def _setup_metrics(self) -> None:
        m, ring, journal = self.metrics, self.ring, self.journal
        m.set_info("wait_strategy", ring.wait_strategy)
        m.set_info("durability", journal.durability)
        m.add_gauge("ring_size", lambda: ring.size)
        m.add_gauge("ring_depth", lambda: ring.depth)
        m.add_gauge("seq", lambda: journal.last_seq)
        m.add_gauge("wal_commits", lambda: journal.commits)
        m.add_gauge("wal_events", lambda: journal.events_written)
        m.add_gauge("wal_bytes", lambda: journal.bytes_written)
        m.add_gauge("wal_map_size", lambda: journal.map_size)
        m.add_gauge("wal_map_growths", lambda: journal.map_growths)
        m.add_reject_source(RejectCode.OVERLOADED.value, lambda: ring.rejected)

    # ---------------------------------------------------------------- lifecycle

    def add_handler(self, fn: Handler) -> None:
        """Call `fn(events)` on the engine thread after each commit; it must be cheap."""
        self._handlers = (*self._handlers, fn)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("runtime already started")
        if self.ring.closed:
            raise RuntimeStopped("runtime was stopped")
        self._thread = threading.Thread(target=self._run, name="betex-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Refuse new commands, process and commit everything already accepted, then join."""
        self.ring.close()
        thread = self._thread
        if thread is None:
            if self.ring.depth and self.failed is None:
                self._run()  # never started: drain on the caller's thread
        else:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"engine thread did not stop within {timeout}s")
        snap = self._snapshot_thread
        if snap is not None:
            snap.join(timeout)

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

    def submit_with_response(self, cmd: Command) -> Future[Result]:
        """A future resolved after the command's events are committed (OVERLOADED if full)."""
        fut: Future[Result] = Future()
        fut.set_running_or_notify_cancel()  # results are facts once committed: not cancellable
        if not self._publish((cmd, fut, time.perf_counter_ns())):
            fut.set_result(_overloaded(self.ring.size))
        return fut

    async def submit_async(self, cmd: Command) -> Result:
        """Await the command's result from an asyncio loop; replies are batched per loop."""
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        if not self._publish((cmd, fut, time.perf_counter_ns())):
            return _overloaded(self.ring.size)
        return await fut

    # ---------------------------------------------------------------- engine thread

    def _run(self) -> None:
        ring = self.ring
        max_batch = self.max_batch
        items: list[_Item] = []
        try:
            while True:
                if not ring.wait(_IDLE_WAIT_S):
                    if ring.closed and not ring.depth:
                        break
                    continue
                items = ring.drain(max_batch)
                if items:
                    self._process(items)
                    items = []
        except BaseException as exc:
            self._fail(exc, items)

    def _process(self, items: list[_Item]) -> None:
        pc = time.perf_counter_ns
        engine = self.engine
        metrics = self.metrics
        stages = metrics.stages
        t0 = pc()
        record = stages["ingress_to_engine"].record
        for item in items:
            record(t0 - item[2])
        engine.begin_batch(self._clock())
        execute = engine.execute
        results = [execute(item[0]) for item in items]
        events = engine.end_batch(len(items))
        t1 = pc()
        self.journal.append(events)
        t2 = pc()
        # committed: from here on every result is a fact and may be released
        rejects = metrics.rejects
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result | BaseException]]
        ] = {}
        for item, result in zip(items, results, strict=True):
            if type(result) is Reject:
                code = result.code.value
                rejects[code] = rejects.get(code, 0) + 1
            reply = item[1]
            if reply is None:
                continue
            if type(reply) is Future:
                reply.set_result(result)
            else:
                by_loop.setdefault(reply.get_loop(), []).append((reply, result))
        self._post_async(by_loop)
        for handler in self._handlers:
            try:
                handler(events)
            except Exception:
                metrics.handler_errors += 1
                log.exception("event handler %r failed (events are committed; engine continues)", handler)
        t3 = pc()
        stages["engine"].record(t1 - t0)
        stages["wal_commit"].record(t2 - t1)
        stages["handlers"].record(t3 - t2)
        metrics.batches += 1
        metrics.commands_total += len(items)
        metrics.events_total += len(events)
        if self.snapshot_dir is not None:
            self._since_snapshot += len(events)
            if self._since_snapshot >= self.snapshot_every:
                self._maybe_snapshot()

    @staticmethod
    def _post_async(
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result | BaseException]]],
    ) -> None:
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve_async, pairs)
            except RuntimeError:  # the loop is closed: nobody is left to read these replies
                log.debug("dropping %d replies for a closed event loop", len(pairs))

    def _maybe_snapshot(self) -> None:
        prev = self._snapshot_thread
        if prev is not None and prev.is_alive():
            return  # still writing the previous one; try again after the next batch
        data = self.engine.dump()  # on the engine thread: a consistent, committed state
        seq = self.engine.seq
        self._since_snapshot = 0
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
        self.metrics.snapshots += 1
        log.info("engine snapshot at seq %d: %s", seq, path.name)

    def _fail(self, exc: BaseException, in_flight: list[_Item]) -> None:
        """Fail-stop: accept nothing more, fail every unacknowledged command, one clear log line."""
        self.failed = exc
        self.ring.close()
        pending = in_flight + self.ring.drain(self.ring.size + 1)
        error = RuntimeStopped(f"engine failed: {exc}")
        error.__cause__ = exc
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result | BaseException]]
        ] = {}
        for _cmd, reply, _t in pending:
            if reply is None:
                continue
            if type(reply) is Future:
                if not reply.done():
                    reply.set_exception(error)
            else:
                by_loop.setdefault(reply.get_loop(), []).append((reply, error))
        self._post_async(by_loop)
        log.critical(
            "engine stopped (fail-stop) at seq %d: %s: %s; %d unacknowledged commands failed",
            self.journal.last_seq,
            type(exc).__name__,
            exc,
            len(pending),
        )
