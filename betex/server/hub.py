"""The server's read side, owned by the asyncio loop thread.

The runtime's WAL thread hands two things over after each commit: the committed event batches
(for the projection) and the command results (for replies). Both go through one mailbox, and a
reply is delivered only once the projection has applied the events behind it — a client that
gets MARKET_CREATED can query `/snapshot` for that market at once. The mailbox wakes the loop at
most once per burst (`call_soon_threadsafe` only when it goes from empty to non-empty).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from betex.core.domain import commands as c
from betex.core.domain.events import Event
from betex.core.domain.results import Ack, Reject, Result
from betex.core.domain.types import MarketModel, RejectCode
from betex.core.protocol import parse, render
from betex.core.readmodel.projection import Projection
from betex.core.runtime.ipc import WireGroup, wire_group
from betex.core.runtime.loop import CommandGroup, Runtime, RuntimeStopped

from .auth import Keys, RateLimiter
from .config import ServerConfig
from .connection import Connection, OutboxBudget
from .historyread import HistoryReads
from .limits import ConnectionGuard
from .orderstream import OrderStreams
from .projsave import ProjectionSaver
from .remote import RemoteEngine
from .stats import Refusals, ServerStats

log = logging.getLogger("betex.server")

_ODDS = MarketModel.EXCHANGE_ODDS.value
STALL_RETRY_S = 0.001
"""How often a no_ack command held at a full ring (one process) is retried."""


class EventBatch(NamedTuple):
    """Inbox item: events the WAL thread committed, to apply to the projection."""

    events: Sequence[Event]
    posted_ns: int
    """perf_counter_ns when posted (projection latency)."""


class HistoryApplied(NamedTuple):
    """Inbox item: the history store committed a batch; its rows feed the order stream."""

    seq: int
    updates: list[tuple[Any, ...]]
    settlements: list[tuple[Any, ...]]
    models: dict[int, str]


class Resolved:
    """A result already in hand, in the shape of a resolved future (`PendingReply.future`)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class PendingReply(NamedTuple):
    """Inbox item: a submitted command whose engine future has resolved."""

    conn: Connection
    request: c.Command | parse.OrderBatch
    future: concurrent.futures.Future[Any] | Resolved
    t_in: int
    """perf_counter_ns at ingress (ack latency)."""
    seq: int
    """WAL seq committed before the future resolved: the reply waits until the projection has it."""


InboxItem = EventBatch | PendingReply | HistoryApplied
"""What the engine and WAL threads hand to the loop thread (`Hub._post`)."""
_MARKET_MSGS = (c.PlaceOrder, c.CancelOrder, c.ReplaceOrder, c.ReduceOrder)


class Hub:
    """Projection + connections + tickers + reply delivery, all on the loop thread."""

    runtime: Runtime | RemoteEngine
    """Set by the lifecycle before `ready`; never touched before. In a gateway process it is
    the link to the engine process (`remote.py`), which answers the same calls."""
    remote: RemoteEngine | None = None
    """Set in a gateway process (the same object as `runtime`)."""

    def __init__(self, config: ServerConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.stats = ServerStats()
        self.projection = Projection(retire_final=True)
        """Replaced by the recovered projection before `ready`; empty until then."""
        self.connections: set[Connection] = set()
        self.ready = False
        self.stopping = False
        self.recovery: dict[str, Any] = {}
        self._inbox: list[InboxItem] = []
        self._lock = threading.Lock()
        self._scheduled = False
        self._tasks: list[asyncio.Task[None]] = []
        self.projection_saver: ProjectionSaver | None = None
        """Set where this process owns projection.snap (one process, gateway 0): saves it while serving."""
        self._held: deque[PendingReply] = deque()
        self.refusals = Refusals()
        """What was refused before the engine, by kind (counted in /metrics, logged per interval)."""
        self._market_list_cache: tuple[int, bytes] | None = None
        self.guard: ConnectionGuard | None = None
        """TCP connection caps and the request deadline (set by the lifecycle, `limits.py`)."""
        self.outbox = OutboxBudget(config.max_outbox_total, self._outbox_kill, self._outbox_stall)
        """The global bound on memory held for clients (`--max-outbox-total`)."""
        self.keys = Keys()
        """Live and revoked API keys (filled from the recovered engine, then from commits)."""
        self.rates = RateLimiter(config.rate_per_account, config.rate_burst)
        self.projection_error: str | None = None
        """Set if applying a batch ever failed: the read side is then stale (health says so)."""
        self.history_error: Callable[[], str | None] = lambda: None
        """Why the history writer stopped, if it did (set by the lifecycle)."""
        self.history_reads: HistoryReads | None = None
        """Set by the lifecycle: `/orders`, `/completed_orders`, `/trades` read the history store."""
        self.order_streams: OrderStreams | None = None
        """Set by the lifecycle when the history store is wired (the order stream needs it)."""
        self.history_seq = 0
        """The history store's applied seq, as last posted by its writer."""
        self._history_waiters: list[tuple[int, asyncio.Future[None]]] = []
        # in one process, a no_ack command that met a full ring: held (one per connection, whose
        # receive loop waits meanwhile) and retried until the engine has room
        self._stalled: dict[Connection, c.Command | CommandGroup] = {}
        self._stall_waiters: dict[Connection, asyncio.Future[None]] = {}
        self._stall_timer: asyncio.TimerHandle | None = None
        self.history_nudge: Callable[[], None] = lambda: None
        """Tells the history follower (a gateway's) that a query now waits for the store."""
        self._background: set[asyncio.Task[None]] = set()

    def _outbox_kill(self, conn: Connection, total: int) -> None:
        self.refusals.note("outbox_total", f"outbox total {total} bytes; dropped the largest", conn.peer)

    def _outbox_stall(self, conn: Connection, reason: str) -> None:
        self.refusals.note("outbox_connection", f"disconnected: {reason}", conn.peer)

    # --- engine thread -> loop -------------------------------------------------------------

    def on_events(self, events: Sequence[Event]) -> None:
        """Runtime handler (WAL thread, after commit)."""
        self._post(EventBatch(events, time.perf_counter_ns()))

    def on_history(
        self,
        seq: int,
        updates: list[tuple[Any, ...]],
        settlements: list[tuple[Any, ...]],
        models: dict[int, str],
    ) -> None:
        """`HistoryFeed` callback (its thread, after each commit)."""
        self._post(HistoryApplied(seq, updates, settlements, models))

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a background task referenced until it ends (order-stream replays)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def history_waited_for(self) -> bool:
        """Whether a history query waits for the store to catch up (any thread may ask)."""
        return bool(self._history_waiters)

    async def history_caught_up(self, seq: int, timeout: float = 5.0) -> bool:
        """Wait until the history store has applied `seq` (read-your-writes for its queries)."""
        if self.history_seq >= seq:
            return True
        fut: asyncio.Future[None] = self.loop.create_future()
        self._history_waiters.append((seq, fut))
        self.history_nudge()
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        return True

    def _post(self, item: InboxItem) -> None:
        with self._lock:
            self._inbox.append(item)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # loop closed during shutdown: nothing left to deliver to
            log.debug("mailbox post after loop close dropped")

    def _drain(self) -> None:
        """Apply event batches; deliver each reply once the projection has reached its seq.

        The runtime resolves a batch's reply futures before it calls the event handlers, so a
        reply (tagged with the WAL seq committed before it was resolved) can arrive here ahead
        of its events; it waits in `_held` until they are applied.
        """
        with self._lock:
            items = self._inbox
            self._inbox = []
            self._scheduled = False
        held = self._held
        for item in items:
            if isinstance(item, HistoryApplied):
                self._history_applied(item)
                continue
            if isinstance(item, EventBatch):
                try:
                    self._apply(item.events, item.posted_ns)
                except Exception as exc:  # a projection bug: keep serving, say so, never hang replies
                    log.exception("projection failed to apply a batch; the read side is now stale")
                    self.projection_error = f"{type(exc).__name__}: {exc}"
                self._release_held()
                continue
            if (item.seq <= self.projection.seq or self.projection_error) and not held:
                try:
                    self._answer(item)
                except Exception:
                    log.exception("delivering a reply failed")
            else:
                held.append(item)

    def _history_applied(self, item: HistoryApplied) -> None:
        self.history_seq = item.seq
        if self.order_streams is not None:
            try:
                self.order_streams.publish(item.updates, item.settlements, item.models)
            except Exception:
                log.exception("publishing order updates failed")
        if self._history_waiters:
            waiting = []
            for seq, fut in self._history_waiters:
                if seq <= item.seq:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    waiting.append((seq, fut))
            self._history_waiters = waiting

    def _release_held(self) -> None:
        held = self._held
        seq = self.projection.seq if self.projection_error is None else 1 << 64
        while held and held[0].seq <= seq:
            pending = held.popleft()
            try:
                self._answer(pending)
            except Exception:
                log.exception("delivering a reply failed")

    def drain_now(self) -> None:
        """Apply whatever the engine has handed over (used at shutdown, on the loop thread)."""
        self._drain()
        self._release_held()
        while self._held:  # nothing more will come: answer what is left (their events are durable)
            self._answer(self._held.popleft())

    # --- projection ------------------------------------------------------------------------

    def _apply(self, events: Sequence[Any], posted_ns: int) -> None:
        if self.projection_error is not None:
            return
        self.keys.apply(events)  # before the projection: a revoke holds even if that fails
        self.projection.apply_batch(events)
        stats = self.stats
        stats.projection_batches += 1
        stats.projection_events += len(events)
        stats.projection_latency.record(time.perf_counter_ns() - posted_ns)

    def model_of(self, market_id: int) -> str | None:
        return self.projection.model_of(market_id)

    def projection_seq(self) -> int:
        return self.projection.seq

    # --- commands --------------------------------------------------------------------------

    def submit(self, conn: Connection, request: c.Command) -> None:
        """Hand a parsed command to the engine; the reply (unless no_ack) comes via the mailbox."""
        remote = self.remote
        if remote is not None:
            self._submit_remote(remote, conn, request)
            return
        runtime = self.runtime
        assert isinstance(runtime, Runtime)
        try:
            if conn.no_ack:
                self._submit_no_ack(runtime, conn, request)
                return
            fut = runtime.submit_with_response(request)
        except RuntimeStopped as exc:
            self.refuse(conn, request, Reject(RejectCode.OVERLOADED, f"engine unavailable: {exc}"))
            return
        if fut.done():  # refused at once (ring full): nothing to wait for
            conn.reply_in_order(
                render.dumps(render.render_reply(request, fut.result(), self._model_for(request)))
            )
            return
        conn.submitted += 1
        post = self._post
        journal = runtime.journal
        t_in = time.perf_counter_ns()

        def done(f: concurrent.futures.Future[Result]) -> None:
            # Engine thread, right after the commit: last_seq covers this command's events.
            post(PendingReply(conn, request, f, t_in, journal.last_seq if f.exception() is None else 0))

        fut.add_done_callback(done)

    def submit_batch(self, conn: Connection, batch: parse.OrderBatch) -> None:
        """PLACE_ORDERS / CANCEL_ORDERS / REPLACE_ORDERS: the parsed instructions go to the ring
        as one item (one engine batch); one ORDERS_RESPONSE answers them all, in order."""
        runtime = self.runtime
        commands = [i for i in batch.instructions if not isinstance(i, parse.WireError)]
        if not commands:
            if not conn.no_ack:
                conn.reply_in_order(render.dumps(render.render_orders_response(batch, [], _ODDS)))
            return
        if isinstance(runtime, RemoteEngine):
            self._submit_remote(runtime, conn, wire_group(commands), batch)
            return
        try:
            if conn.no_ack:
                self._submit_no_ack(runtime, conn, CommandGroup(tuple(commands)))
                return
            fut = runtime.submit_group(commands)
        except RuntimeStopped as exc:
            self.refuse(conn, batch, Reject(RejectCode.OVERLOADED, f"engine unavailable: {exc}"))
            return
        if fut.done():
            model = self._model_for(batch)
            conn.reply_in_order(render.dumps(render.render_orders_response(batch, fut.result(), model)))
            return
        conn.submitted += 1
        post = self._post
        journal = runtime.journal
        t_in = time.perf_counter_ns()

        def done(f: concurrent.futures.Future[list[Result]]) -> None:
            post(PendingReply(conn, batch, f, t_in, journal.last_seq if f.exception() is None else 0))

        fut.add_done_callback(done)

    def _submit_remote(
        self,
        remote: RemoteEngine,
        conn: Connection,
        cmd: c.Command | WireGroup,
        request: c.Command | parse.OrderBatch | None = None,
    ) -> None:
        """As `submit`, to the engine process: queued per connection (never dropped while the
        link is up; `backpressure` pauses the client instead), OVERLOADED when the engine is down.
        A batch of instructions goes as one `WireGroup` (one engine batch); `request` is then
        the parsed batch the reply is rendered for."""
        answer_for = cmd if request is None else request
        assert not isinstance(answer_for, WireGroup)
        if conn.no_ack:
            remote.submit(conn, cmd, None)
            return
        deliver, journal, t_in = self._deliver, remote.journal, time.perf_counter_ns()

        def on_reply(result: Any) -> None:
            # On the loop thread, after `apply_events` applied the events committed with it.
            deliver(PendingReply(conn, answer_for, Resolved(result), t_in, journal.last_seq))

        if not remote.submit(conn, cmd, on_reply):
            self.refuse(
                conn, answer_for, Reject(RejectCode.OVERLOADED, f"engine unavailable: {remote.failed}")
            )
            return
        conn.submitted += 1

    def apply_events(self, events: Sequence[Event]) -> None:
        """A gateway's committed events, on the loop thread as the engine link reads them:
        applied at once (no mailbox hop), then the replies they were holding are released."""
        try:
            self._apply(events, time.perf_counter_ns())
        except Exception as exc:  # a projection bug: keep serving, say so, never hang replies
            log.exception("projection failed to apply a batch; the read side is now stale")
            self.projection_error = f"{type(exc).__name__}: {exc}"
        if self._held:
            self._release_held()

    def _deliver(self, item: PendingReply) -> None:
        """A reply on the loop thread: answered now if the projection has its events, else held."""
        if (item.seq <= self.projection.seq or self.projection_error) and not self._held:
            try:
                self._answer(item)
            except Exception:
                log.exception("delivering a reply failed")
        else:
            self._held.append(item)

    def backpressure(self, conn: Connection) -> asyncio.Future[None] | None:
        """While this resolves, read nothing more from `conn` (its commands wait for the engine)."""
        remote = self.remote
        if remote is not None:
            return remote.wait_room(conn)
        if conn not in self._stalled:
            return None
        fut = self._stall_waiters.get(conn)
        if fut is None:
            fut = self._stall_waiters[conn] = self.loop.create_future()
        return fut

    def _submit_no_ack(self, runtime: Runtime, conn: Connection, cmd: c.Command | CommandGroup) -> None:
        """Back-pressure, never loss, in one process: a no_ack command that meets a full ring
        is held, not dropped, and `backpressure` pauses its client (its receive loop stops
        reading, TCP pushes back) until the engine has room. Raises RuntimeStopped."""
        if runtime.try_submit(cmd):
            return
        self._stalled[conn] = cmd
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(STALL_RETRY_S, self._retry_stalled)

    def _retry_stalled(self) -> None:
        """Retry held no_ack commands, oldest first, while the ring takes them."""
        self._stall_timer = None
        runtime = self.runtime
        assert isinstance(runtime, Runtime)
        stalled = self._stalled
        for conn, cmd in list(stalled.items()):
            try:
                if not conn.closed and not runtime.try_submit(cmd):
                    break  # still full: the rest keep their place
            except RuntimeStopped:  # fail-stop or shutdown: never accepted, and nothing will be
                log.warning("a held no_ack command from %s was not executed: the engine stopped", conn.peer)
            del stalled[conn]
            waiter = self._stall_waiters.pop(conn, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if stalled:
            self._stall_timer = self.loop.call_later(STALL_RETRY_S, self._retry_stalled)

    def refuse(self, conn: Connection, request: c.Command | parse.OrderBatch, reject: Reject) -> None:
        """A reject decided by the server (OVERLOADED, UNAUTHORIZED) in the shape the client awaits."""
        self.stats.rejects[str(reject.code)] += 1
        if conn.no_ack:
            return
        if isinstance(request, parse.OrderBatch):
            results = [reject] * sum(not isinstance(i, parse.WireError) for i in request.instructions)
            conn.reply_in_order(render.dumps(render.render_orders_response(request, results, _ODDS)))
            return
        conn.reply_in_order(render.dumps(render.render_reply(request, reject, self._model_for(request))))

    def _answer(self, pending: PendingReply) -> None:
        conn, request, fut, t_in, _seq = pending
        if isinstance(request, parse.OrderBatch):
            self._answer_batch(pending, request)
            return
        try:
            result: Result = fut.result()
        except RuntimeStopped as exc:  # fail-stop: the runtime logged the cause once, critically
            result = Reject(RejectCode.OVERLOADED, f"engine unavailable: {exc}")
        except Exception as exc:
            log.error("command %s failed in the engine: %r", type(request).__name__, exc)
            result = Reject(RejectCode.OVERLOADED, f"engine unavailable: {exc}")
        model = _ODDS
        snapshot = None
        if isinstance(request, c.CreateMarket) and not isinstance(result, Reject):
            market_id = getattr(result, "market_id", 0)
            snapshot = render.snapshot(self.projection, market_id, conn.depth)
        elif isinstance(request, _MARKET_MSGS):
            model = self._model_for(request)
        reply = render.render_reply(request, result, model, snapshot)
        if isinstance(request, c.IssueKey):  # the key is shown once, to the admin who asked
            key = conn.new_keys.pop(request.key_hash, None)
            if isinstance(result, Ack) and key is not None:
                reply["ACK"]["detail"]["key"] = key
        conn.reply(render.dumps(reply))
        stats = self.stats
        stats.replies_out += 1
        stats.ack_latency.record(time.perf_counter_ns() - t_in)
        conn.mark_answered()

    def _answer_batch(self, pending: PendingReply, batch: parse.OrderBatch) -> None:
        conn, _request, fut, t_in, _seq = pending
        try:
            results: list[Result] = fut.result()
        except Exception as exc:
            if not isinstance(exc, RuntimeStopped):
                log.error("an order batch failed in the engine: %r", exc)
            n = sum(not isinstance(i, parse.WireError) for i in batch.instructions)
            results = [Reject(RejectCode.OVERLOADED, f"engine unavailable: {exc}")] * n
        if isinstance(results, Reject):  # the engine link refused the whole group (it was lost)
            results = [results] * sum(not isinstance(i, parse.WireError) for i in batch.instructions)
        conn.reply(render.dumps(render.render_orders_response(batch, results, self._model_for(batch))))
        self.stats.replies_out += 1
        self.stats.ack_latency.record(time.perf_counter_ns() - t_in)
        conn.mark_answered()

    def _model_for(self, request: c.Command | parse.OrderBatch) -> str:
        market_id = getattr(request, "market_id", None)
        if market_id is None:
            return _ODDS
        return self.model_of(market_id) or _ODDS

    # --- queries ---------------------------------------------------------------------------

    def market_list_reply(self, conn: Connection, correlation_id: int) -> None:
        def answer() -> None:
            conn.reply(self._market_list_bytes(correlation_id))

        conn.after_pending(answer)

    def _market_list_bytes(self, correlation_id: int) -> bytes:
        """MARKET_LIST as bytes. The markets part is rendered once per projection seq and spliced
        (a client sending thousands of LIST_MARKETS costs a copy each, not a render each)."""
        seq = self.projection.seq
        cached = self._market_list_cache
        if cached is None or cached[0] != seq:
            markets = render.dumps({"markets": render.market_list(self.projection)})[
                1:
            ]  # b'"markets":[...]}'
            cached = self._market_list_cache = (seq, markets)
        return b'{"MARKET_LIST":{"correlation_id":%d,%s}' % (correlation_id, cached[1])

    def subscribe(self, conn: Connection, market_id: int | None, depth: int) -> None:
        """Point the connection's snapshot stream at a market and send its current snapshot."""
        conn.market_id = market_id
        conn.extra_markets.pop(market_id or 0, None)
        conn.depth = depth
        conn.seen_change = -1
        conn.follow_default = False
        self.push_snapshot(conn, {})

    def subscribe_many(self, conn: Connection, market_ids: Sequence[int], depth: int) -> None:
        """Add markets to the connection's stream (`SUBSCRIBE {market_ids}`); each market's
        current snapshot goes out at once, and later ones conflated per market."""
        conn.depth = depth
        conn.follow_default = False
        for market_id in market_ids:
            if market_id != conn.market_id:
                conn.extra_markets[market_id] = -1
        conn.seen_change = -1
        self.push_snapshot(conn, {})

    def unsubscribe(self, conn: Connection, market_ids: Sequence[int]) -> None:
        for market_id in market_ids:
            conn.extra_markets.pop(market_id, None)
            if conn.market_id == market_id:
                conn.market_id = None

    # --- streaming -------------------------------------------------------------------------

    def start_tickers(self) -> None:
        self._tasks.append(
            self.loop.create_task(self._every(self.config.snapshot_interval_ms / 1000, self.push_snapshots))
        )
        self._tasks.append(
            self.loop.create_task(self._every(self.config.status_interval_s, self.push_status))
        )
        self._tasks.append(self.loop.create_task(self._every(1.0, self.refusals.flush)))
        saver = self.projection_saver
        if saver is not None:
            self._tasks.append(self.loop.create_task(self._every(1.0, self._save_projection)))

    def _save_projection(self) -> None:
        if self.projection_saver is not None and self.projection_error is None:
            self.projection_saver.tick(self.projection)

    async def stop_tickers(self) -> None:
        self.refusals.flush(force=True)  # every refusal ends up in a logged count
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks.clear()
        if self.projection_saver is not None:
            await self.projection_saver.wait()

    async def _every(self, interval: float, fn: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self.ready:
                continue
            try:
                fn()
            except Exception:
                log.exception("%s failed", getattr(fn, "__name__", "ticker"))

    def push_snapshots(self) -> None:
        """Offer each subscriber its market's snapshot if the market changed since the last one."""
        cache: dict[tuple[int, int, int], bytes] = {}
        for conn in self.connections:
            if not conn.closed:
                self.push_snapshot(conn, cache)

    def push_snapshot(self, conn: Connection, cache: dict[tuple[int, int, int], bytes]) -> None:
        projection = self.projection
        market_id = conn.market_id
        if conn.follow_default:
            market_id = projection.default_market_id()
        if conn.extra_markets:
            extra = conn.extra_markets
            for mid, seen in list(extra.items()):
                change = projection.change_counter(mid)
                if change is not None and change != seen:
                    data = self._snapshot_bytes(mid, conn.depth, change, cache)
                    if data is not None:
                        extra[mid] = change
                        conn.offer_snapshot(data, mid)
                        self.stats.snapshots_sent += 1
        if market_id is None:
            return
        change = projection.change_counter(market_id)
        if change is None or change == conn.seen_change:
            return
        data = self._snapshot_bytes(market_id, conn.depth, change, cache)
        if data is None:
            return
        conn.seen_change = change
        conn.offer_snapshot(data, market_id)
        self.stats.snapshots_sent += 1

    def _snapshot_bytes(
        self, market_id: int, depth: int, change: int, cache: dict[tuple[int, int, int], bytes]
    ) -> bytes | None:
        projection = self.projection
        key = (market_id, depth, change)
        data = cache.get(key)
        if data is None:
            body = render.snapshot(projection, market_id, depth)
            if body is None:
                return None
            data = render.dumps(render.render_snapshot(body))
            cache[key] = data
        return data

    def push_status(self) -> None:
        data = render.dumps(
            render.render_status(self.projection_seq(), self.projection.market_count(), time.time_ns())
        )
        for conn in self.connections:
            conn.offer_status(data)
