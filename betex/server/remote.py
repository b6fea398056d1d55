"""A gateway's link to the engine process, on the gateway's asyncio loop (`betex gateway`).

It stands where the in-process `Runtime` stands for the Hub: `submit(conn, cmd, future)` queues
a typed command, and the reply resolves the future once committed. Everything runs on the loop
thread: the channel socket is watched with `add_reader`, so there is no extra thread and no GIL
hand-over per reply.

- **Batching**: commands parsed in one loop iteration go out as one frame (`_flush` is scheduled
  once per iteration).
- **Fairness**: one queue per client connection, drained round-robin `QUANTUM` commands at a
  time into the channel's window, so a flooding client cannot hold the window against another.
  Every figure here counts **instructions**, not channel items: a PLACE_ORDERS of 100 is one
  item (one id, one engine batch) but costs 100 of the window, the quantum and the queue bound,
  so batching cannot buy a client a larger share of the engine than sending singly. And one
  connection may hold at most `window - QUANTUM` of the window (`conn_cap`): a quiet client's
  command then goes out at once, behind at most that much of a flooder's, instead of waiting
  for the flooder's next replies to open the window.
- **Back-pressure, never loss**: a connection whose queue holds `PAUSE_AT` commands is paused
  (`wait_room`: its receive loop stops iterating the WebSocket, aiohttp stops reading the
  socket, TCP pushes back on the client) until the queue is down to `RESUME_AT`. The queue is
  drained only as the engine's replies reopen the window. no_ack commands are thus slowed,
  never dropped; an acked command that cannot be queued (the engine is down) gets OVERLOADED.
- **Read-your-writes**: the engine sends a batch's committed events before its replies on the
  same stream; the Hub applies events as they are read (`on_events`, on this loop), so the
  projection has them when a reply arrives and is answered, with no mailbox hop and no future
  per command (`on_reply` callbacks).
- **Engine loss**: the link closes; acked commands in flight get OVERLOADED ("outcome
  unknown": they may have been committed), queued acked ones OVERLOADED (never sent), queued
  no_ack ones wait for the next engine. `/health` answers 503 and commands OVERLOADED until the
  link is back; on reconnect the projection catches up from the WAL (everything up to the
  engine's hello seq is there) and then follows the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from betex.core.domain.commands import Command
from betex.core.domain.events import Event
from betex.core.domain.results import Reject
from betex.core.domain.types import RejectCode
from betex.core.durability.codec import decode as decode_event
from betex.core.durability.journal import JournalReader
from betex.core.runtime.ipc import (
    KIND_EVENTS,
    KIND_FAILED,
    KIND_HELLO,
    KIND_METRICS,
    ChannelClosed,
    ChannelError,
    EngineLink,
    WireGroup,
    decode_engine_frame,
    events_of,
    replies_of,
)
from betex.core.runtime.loop import RuntimeStopped
from betex.core.runtime.metrics import Histogram, RuntimeMetrics

log = logging.getLogger("betex.gateway")

QUANTUM = 64
"""Instructions taken from one connection's queue per round-robin turn (at least one item)."""
PAUSE_AT = 512
"""A connection with this many queued (unsent) instructions stops being read."""
RESUME_AT = 128
RECONNECT_S = 0.1
HELLO_TIMEOUT_S = 5.0

OnReply = Callable[[Any], None]
"""Called on the loop thread with a command's result (a `Result`, or a group's list of them)."""
_Queued = tuple["Command | WireGroup", "OnReply | None"]


def cost(cmd: Command | WireGroup) -> int:
    """What an item costs of the window, the quantum and the queue bound: its instructions."""
    return len(cmd) if type(cmd) is WireGroup else 1


class LinkSeq:
    """What the Hub and /metrics read from `runtime.journal`: here, the last seq received, and
    the engine's WAL figures as of its last metrics frame."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.durability = "unknown"
        self.bytes_written = self.commits = self.events_written = self.map_size = 0


class RemoteEngine:
    """The engine process behind the Hub's `runtime` seat (see the module doc)."""

    def __init__(
        self,
        socket_path: Path,
        data_dir: Path,
        window: int,
        on_events: Callable[[Sequence[Event]], None],
        projection_seq: Callable[[], int],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.data_dir = Path(data_dir)
        self.window = window
        self._on_events = on_events
        self._projection_seq = projection_seq
        self.loop = loop
        self.metrics = RuntimeMetrics()
        self._gauges: dict[str, int] = {}
        self.journal = LinkSeq()
        self.link: EngineLink | None = None
        self.failed: BaseException | None = RuntimeStopped("not connected to the engine yet")
        self.queues: dict[Any, deque[_Queued]] = {}
        self._queued_cost: dict[Any, int] = {}  # instructions queued per connection
        self._ready: deque[Any] = deque()  # connections with queued commands, round-robin
        self._inflight: deque[tuple[OnReply | None, int, Any]] = deque()  # (callback, cost, connection)
        self._inflight_cost = 0  # instructions sent and not yet answered (≤ window, see `_flush`)
        self._conn_inflight: dict[Any, int] = {}  # the same per connection (≤ conn_cap)
        self.conn_cap = max(1, window - QUANTUM)
        """What one connection may have in flight: the rest of the window is kept for the others,
        so a quiet client's command is sent at once instead of after a flooder's next reply."""
        self._waiters: dict[Any, asyncio.Future[None]] = {}
        self._flush_scheduled = False
        self._hello: asyncio.Future[tuple[int, dict[str, Any]]] | None = None
        self.on_hello: Callable[[dict[str, Any]], None] = lambda _state: None
        """Called with the hello's state (the API keys) on every connect, before catching up."""
        self._catching_up = False
        self._early: list[Sequence[Event]] = []
        self._posted_seq = 0  # the last seq handed to the Hub (its projection may not have it yet)
        self._closing = False
        self.connects = 0
        self.lost_unknown = 0
        """no_ack commands in flight when an engine connection broke (outcome unknown)."""
        self.sent = 0
        self.engine_failure: str | None = None
        """The cause the engine gave when it fail-stopped (its last frame), until one is back."""

    # ------------------------------------------------------------ Hub side

    @property
    def connected(self) -> bool:
        return self.failed is None

    def submit(self, key: Any, cmd: Command | WireGroup, on_reply: OnReply | None) -> bool:
        """Queue `cmd` for the engine; False (answer OVERLOADED) if an acked command cannot be.
        `on_reply` (None: no_ack) gets the result once committed and its events were handed over."""
        fut = on_reply
        if self.failed is not None and fut is not None:
            return False
        q = self.queues.get(key)
        if q is None:
            q = self.queues[key] = deque()
            self._queued_cost[key] = 0
            self._ready.append(key)
        q.append((cmd, fut))
        self._queued_cost[key] += cost(cmd)
        if not self._flush_scheduled and self.failed is None:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)
        return True

    def wait_room(self, key: Any) -> asyncio.Future[None] | None:
        """An awaitable while `key`'s queue is full (stop reading that client), else None."""
        if self._queued_cost.get(key, 0) < PAUSE_AT:
            return None
        fut = self._waiters.get(key)
        if fut is None:
            fut = self._waiters[key] = self.loop.create_future()
        return fut

    def queued(self) -> int:
        """Instructions queued (not yet sent to the engine)."""
        return sum(self._queued_cost.values())

    def in_flight(self) -> int:
        """Instructions sent and not yet answered."""
        return self._inflight_cost

    # ------------------------------------------------------------ sending

    def _flush(self) -> None:
        self._flush_scheduled = False
        link = self.link
        if link is None or self.failed is not None:
            return
        # room in instructions; an item larger than the whole window goes alone when nothing
        # is in flight (else it could never go). The channel's own window counts ids, which
        # are never more than instructions, so whatever fits here fits there.
        room = self.window - self._inflight_cost
        cap = self.conn_cap
        ready, queues, queued_cost, held = self._ready, self.queues, self._queued_cost, self._conn_inflight
        cmds: list[Command | WireGroup] = []
        items: list[tuple[OnReply | None, int, Any]] = []
        taken = 0
        capped = 0  # connections met in a row that are at their own cap
        while ready and capped < len(ready) and (room > 0 or (taken == 0 and self._inflight_cost == 0)):
            key = ready.popleft()
            q = queues[key]
            mine = held.get(key, 0)
            turn = 0
            full = False
            while q and turn < QUANTUM:
                cmd, fut = q[0]
                k = cost(cmd)
                if k > room and (taken or self._inflight_cost):
                    full = True
                    break
                if mine and mine + k > cap:
                    break
                q.popleft()
                cmds.append(cmd)
                items.append((fut, k, key))
                turn += k
                mine += k
                taken += k
                room -= k
            if turn:
                held[key] = mine
                capped = 0
            else:
                capped += 1
            left = queued_cost[key] - turn
            if q:
                queued_cost[key] = left
                if full and not turn:  # keeps its place in the round
                    ready.appendleft(key)
                else:
                    ready.append(key)
            else:
                del queues[key], queued_cost[key]
            if left <= RESUME_AT:
                waiter = self._waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            if full and not turn:
                break  # the head item does not fit the room left: wait for replies
        if not cmds:
            return
        self._inflight_cost += taken
        self._inflight.extend(items)
        try:
            link.send(cmds, [f is not None for f, _k, _c in items])
        except ChannelClosed as exc:
            self._lost(exc)
            return
        self.sent += len(cmds)
        if link.conn.pending_out:
            self.loop.add_writer(link.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        link = self.link
        if link is None:
            return
        try:
            done = link.conn.flush()
        except ChannelClosed as exc:
            self._lost(exc)
            return
        if done:
            self.loop.remove_writer(link.fileno())

    # ------------------------------------------------------------ receiving

    def _on_readable(self) -> None:
        link = self.link
        if link is None:
            return
        try:
            payloads = link.conn.recv_frames()
            for payload in payloads:
                kind, a, body = decode_engine_frame(payload)
                if kind == KIND_EVENTS:
                    self._events(body)
                elif kind == KIND_METRICS:
                    self._mirror_metrics(a)
                elif kind == KIND_FAILED:
                    self.engine_failure = str(a)
                elif kind == KIND_HELLO:
                    if self._hello is not None and not self._hello.done():
                        self._hello.set_result((a, body))
                else:
                    self._replies(link, a, body)
        except (ChannelClosed, ChannelError) as exc:
            self._lost(exc)
            return
        if self._ready and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _events(self, body: Sequence[Any]) -> None:
        events = events_of(body)
        if self._catching_up:
            self._early.append(events)
            return
        self._apply_events(events)

    def _apply_events(self, batch: Sequence[Event]) -> None:
        seq = max(self._posted_seq, self._projection_seq())
        events = batch if batch and batch[0].seq > seq else [e for e in batch if e.seq > seq]
        if events:
            self._posted_seq = self.journal.last_seq = events[-1].seq
            self._on_events(events)

    def _mirror_metrics(self, state: dict[str, Any]) -> None:
        """The engine's runtime metrics as of its last frame: what this gateway's /metrics shows."""
        m = self.metrics
        (m.commands_total, m.events_total, m.batches, m.handler_errors, m.snapshots, m.snapshot_errors) = (
            state["counters"]
        )
        m.rejects = dict(state["rejects"])
        for name, value in state["gauges"].items():
            if name not in self._gauges:
                m.add_gauge(name, self._gauge_reader(name))
            self._gauges[name] = value
        for name, value in state["info"].items():
            m.set_info(name, value)
        for name, (counts, count, total, max_) in state.get("stages", {}).items():
            h = m.stages.get(name) or Histogram()
            h.counts, h.count, h.total, h.max = list(counts), count, total, max_
            m.stages[name] = h
        j = self.journal
        g = self._gauges
        j.bytes_written, j.commits = g.get("wal_bytes", 0), g.get("wal_commits", 0)
        j.events_written, j.map_size = g.get("wal_events", 0), g.get("wal_map_size", 0)
        j.durability = str(state["info"].get("durability", j.durability))

    def _gauge_reader(self, name: str) -> Callable[[], int]:
        gauges = self._gauges
        return lambda: gauges[name]

    def _replies(self, link: EngineLink, first_id: int, body: Sequence[Any]) -> None:
        if first_id != link.replied + 1:
            raise ChannelError(f"replies out of order: got id {first_id}, expected {link.replied + 1}")
        results = replies_of(body)
        link.replied += len(results)
        inflight = self._inflight
        held = self._conn_inflight
        for result in results:
            on_reply, k, key = inflight.popleft()
            self._inflight_cost -= k
            left = held[key] - k
            if left:
                held[key] = left
            else:
                del held[key]
            if on_reply is not None:
                on_reply(result)

    # ------------------------------------------------------------ connection lifecycle

    def _lost(self, exc: BaseException) -> None:
        link = self.link
        if link is None:
            return
        self.link = None
        why = self.engine_failure
        self.failed = RuntimeStopped(f"engine connection lost: {exc}" if why is None else why)
        log.error("lost the engine (%s); answering OVERLOADED until it is back", exc)
        self._unwatch(link)
        unknown = Reject(
            RejectCode.OVERLOADED, "engine connection lost: the outcome is unknown (see /orders)"
        )
        self._inflight_cost = 0
        self._conn_inflight.clear()
        while self._inflight:
            on_reply, _k, _key = self._inflight.popleft()
            if on_reply is None:
                self.lost_unknown += 1
            else:
                on_reply(unknown)
        never = Reject(RejectCode.OVERLOADED, "engine unavailable; not executed")
        for key in list(self.queues):
            q = self.queues[key]
            keep = deque(item for item in q if item[1] is None)
            for _cmd, on_reply in q:
                if on_reply is not None:
                    on_reply(never)
            if keep:
                self.queues[key] = keep
                self._queued_cost[key] = sum(cost(cmd) for cmd, _f in keep)
            else:
                del self.queues[key], self._queued_cost[key]
        self._ready = deque(k for k in self._ready if k in self.queues)
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(ChannelClosed(str(exc)))

    def _unwatch(self, link: EngineLink) -> None:
        """Stop watching the link's socket, then close it (the link never closes it by itself,
        `close_on_error`: uvloop keeps a dead watcher for an fd closed while watched, and then
        refuses any new watcher on that fd number)."""
        fd = link.fileno()
        if fd >= 0:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(fd)
            with contextlib.suppress(Exception):
                self.loop.remove_writer(fd)
        link.close()

    async def run(self, on_ready: Callable[[], None]) -> None:
        """Connect, catch up, serve; reconnect whenever the engine goes away, until `close`."""
        while not self._closing:
            if self.link is None:
                try:
                    await self._connect()
                except (OSError, ChannelClosed, TimeoutError) as exc:
                    log.debug("engine not reachable yet: %s", exc)
                    await asyncio.sleep(RECONNECT_S)
                    continue
                except Exception as exc:  # anything else: say so, and keep trying (never give up)
                    log.warning("connecting to the engine failed: %s: %s; retrying", type(exc).__name__, exc)
                    await asyncio.sleep(RECONNECT_S)
                    continue
                on_ready()
            await asyncio.sleep(RECONNECT_S)

    async def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        link = EngineLink(sock, self.window)
        link.conn.close_on_error = False  # `_unwatch` closes it, after the loop stopped watching
        self.link = link
        self._hello = self.loop.create_future()
        self._catching_up = True
        self._early = []
        self.loop.add_reader(link.fileno(), self._on_readable)
        try:
            hello_seq, state = await asyncio.wait_for(self._hello, HELLO_TIMEOUT_S)
            self.on_hello(state)
            start = max(self._posted_seq, self._projection_seq()) + 1
            records = await asyncio.to_thread(self._read_wal, start)
            if self.link is not link:
                raise ChannelClosed("engine went away during catch-up")
            if records:
                self._apply_events([decode_event(r) for r in records])
            if max(self._posted_seq, self._projection_seq()) < hello_seq:
                raise ChannelError(f"the WAL ends before the engine's hello seq {hello_seq}")
            self._catching_up = False
            for events in self._early:
                self._apply_events(events)
            self._early = []
        except BaseException as exc:
            self._catching_up = False
            if self.link is link:
                self._lost(exc)
            raise
        self.connects += 1
        self.failed = self.engine_failure = None
        log.info("connected to the engine at %s (seq %d)", self.socket_path, self._projection_seq())
        if self._ready and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _read_wal(self, from_seq: int) -> list[bytes]:
        """Records from `from_seq` to the WAL's end (a read-only LMDB reader beside the engine)."""
        with JournalReader(self.data_dir) as reader:
            return [rec for _seq, rec in reader.iter_records(from_seq)]

    async def drain(self, timeout: float) -> None:
        """Send everything queued and wait for every reply (a clean stop), up to `timeout` s."""
        deadline = self.loop.time() + timeout
        while (self.queues or self._inflight) and self.failed is None and self.loop.time() < deadline:
            if self._ready and not self._flush_scheduled:
                self._flush()
            await asyncio.sleep(0.005)

    def close(self) -> None:
        self._closing = True
        link = self.link
        if link is not None:
            self.link = None
            self._unwatch(link)
