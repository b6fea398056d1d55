"""One WebSocket client: an outbox with conflation and a bounded backlog.

Replies (ACK, ORDER_RESPONSE, ERROR, …) go into a FIFO and are never dropped. SNAPSHOT and STATUS
go into single slots that a newer message overwrites, so a client that reads slowly gets the
newest state rather than a backlog. One writer task per connection drains the outbox; while the
socket's buffer is above `HIGH_WATER` it waits and replies pile up. A client is disconnected when
its backlog (unsent replies plus the transport buffer) is above `max_buffer` and it has not read
anything for `STALL_S` — it is not reading, and would otherwise grow server memory without
bound — or at once above `HARD_FACTOR × max_buffer`. A client that reads, only slower than a
burst of replies arrives (e.g. replies released together after the projection caught up), is
left alone.

The writer frames messages itself and hands everything queued to the transport in one
`writelines` (one syscall for a burst of replies instead of one per reply). That is safe because
the server never negotiates permessage-deflate (`compress=False`), server frames are unmasked,
and aiohttp's own control frames (pong, close) are whole frames written between ours.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger("betex.server.ws")

HIGH_WATER = 256 * 1024
"""Stop writing while the transport holds more than this; replies wait in the outbox."""
STALL_S = 2.0
"""How long a client over its backlog bound may go without reading before it is dropped."""
HARD_FACTOR = 8
"""Backlog above `HARD_FACTOR × max_buffer` drops the client whatever its progress."""


class OutboxBudget:
    """The global bound on memory held for clients: unsent replies plus transport buffers, summed
    over every connection (`--max-outbox-total`).

    Counting exactly on every reply would cost a pass over all connections, so replies add to a
    cheap running count and a precise recount runs once `limit / 16` bytes have been queued since
    the last. Past the limit, the connections with the largest backlogs are disconnected until the
    total is back under it: the clients that do not read pay, not the ones that do.
    """

    __slots__ = ("limit", "conns", "_since", "_step", "on_kill", "on_stall")

    def __init__(
        self,
        limit: int,
        on_kill: Callable[[Connection, int], None] | None = None,
        on_stall: Callable[[Connection, str], None] | None = None,
    ) -> None:
        self.limit = limit
        self.conns: set[Connection] = set()
        self._since = 0
        self._step = max(64 * 1024, limit // 16)
        self.on_kill = on_kill
        """A client dropped to keep the total under the limit (the hub counts and logs it)."""
        self.on_stall = on_stall
        """A client dropped for its own backlog (`Connection.kill`; the hub counts and logs it)."""

    def total(self) -> int:
        return sum(c.backlog() for c in self.conns if not c.closed)

    def added(self, n: int) -> None:
        self._since += n
        if self._since < self._step:
            return
        self._since = 0
        total = self.total()
        if total <= self.limit:
            return
        for conn in sorted(self.conns, key=Connection.backlog, reverse=True):
            if total <= self.limit:
                break
            held = conn.backlog()
            if self.on_kill is not None:
                self.on_kill(conn, total)
            conn.kill(
                f"server outbox total {total} bytes over --max-outbox-total {self.limit}; this client held {held}",
                quiet=self.on_kill is not None,
            )
            total -= held


def text_frame(payload: bytes) -> bytes:
    """The header of a final, unmasked server-to-client TEXT frame carrying `payload`."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n))
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big")
    return b"\x81\x7f" + n.to_bytes(8, "big")


class Connection:
    __slots__ = (
        "ws",
        "transport",
        "peer",
        "control",
        "authed",
        "no_ack",
        "market_id",
        "depth",
        "seen_change",
        "extra_markets",
        "max_buffer",
        "_replies",
        "_reply_bytes",
        "_progress",
        "_snapshots",
        "_status",
        "_wakeup",
        "_closed",
        "_writer",
        "dropped_snapshots",
        "submitted",
        "answered",
        "deferred",
        "follow_default",
        "killed",
        "account_id",
        "key_id",
        "new_keys",
        "budget",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        *,
        peer: str,
        control: bool,
        authed: bool,
        no_ack: bool,
        market_id: int | None,
        depth: int,
        max_buffer: int,
        budget: OutboxBudget | None = None,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.peer = peer
        self.control = control
        self.authed = authed
        self.no_ack = no_ack
        self.market_id = market_id
        self.depth = depth
        self.seen_change = -1
        """The market change counter of the last snapshot offered (-1: none yet)."""
        self.extra_markets: dict[int, int] = {}
        """Markets added by `SUBSCRIBE {market_ids}` beside `market_id`: id → change counter
        of the last snapshot offered."""
        self.max_buffer = max_buffer
        self._replies: deque[bytes] = deque()
        self._reply_bytes = 0
        self._progress = time.monotonic()
        """When the writer last wrote, or the client last made the backed-up transport buffer shrink."""
        self._snapshots: dict[int, bytes] = {}
        """The newest unsent SNAPSHOT per market (conflated per market)."""
        self._status: bytes | None = None
        self._wakeup = asyncio.Event()
        self._closed = False
        self._writer: asyncio.Task[None] | None = None
        self.dropped_snapshots = 0
        self.submitted = 0
        """Commands handed to the engine with a reply pending (ack mode), ever."""
        self.answered = 0
        self.deferred: deque[tuple[int, Callable[[], None]]] = deque()
        """Queries waiting for earlier commands' replies: (submitted count when asked, action)."""
        self.killed = False
        """Disconnected by the server for not keeping up."""
        self.follow_default = False
        """/ws without market_id: stream the lowest-id market, whichever that is."""
        self.account_id: int | None = None
        """The account of the API key presented at the upgrade (None: no key)."""
        self.key_id: int | None = None
        self.new_keys: dict[str, str] = {}
        """ISSUE_KEY in flight: hash → key, until the reply shows the key once."""
        self.budget = budget
        if budget is not None:
            budget.conns.add(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(
            self._write_loop(), name=f"ws-writer {self.peer}"
        )

    def reply(self, data: bytes) -> None:
        """Queue a reply; never dropped while the connection lives."""
        if self._closed:
            return
        self._replies.append(data)
        self._reply_bytes += len(data)
        buffered = self.transport.get_write_buffer_size()
        backlog = self._reply_bytes + buffered
        if backlog > self.max_buffer:
            # Stalled only while the socket itself is backed up; below HIGH_WATER the writer
            # is simply about to hand the queued burst over.
            stalled = time.monotonic() - self._progress if buffered > HIGH_WATER else 0.0
            if stalled > STALL_S or backlog > HARD_FACTOR * self.max_buffer:
                self.kill(f"send backlog {backlog} bytes, nothing read for {stalled:.1f}s")
                return
        budget = self.budget
        if budget is not None:
            budget.added(len(data))
            if self._closed:
                return
        self._wakeup.set()

    def reply_in_order(self, data: bytes) -> None:
        """Queue a reply decided without the engine (a parser reject, a refusal) behind the
        replies still pending for earlier commands, so replies leave in arrival order."""
        if self.answered >= self.submitted and not self.deferred:
            self.reply(data)
        else:
            self.deferred.append((self.submitted, lambda: self.reply(data)))

    def after_pending(self, action: Callable[[], None]) -> None:
        """Run `action` once every command submitted so far has been answered (replies stay in order)."""
        if self.answered >= self.submitted and not self.deferred:
            action()
        else:
            self.deferred.append((self.submitted, action))

    def mark_answered(self) -> None:
        self.answered += 1
        deferred = self.deferred
        while deferred and deferred[0][0] <= self.answered:
            deferred.popleft()[1]()

    def offer_snapshot(self, data: bytes, market_id: int = 0) -> None:
        """Replace any unsent snapshot of this market with this newer one."""
        if self._closed:
            return
        if market_id in self._snapshots:
            self.dropped_snapshots += 1
        self._snapshots[market_id] = data
        self._wakeup.set()

    def offer_status(self, data: bytes) -> None:
        if self._closed:
            return
        self._status = data
        self._wakeup.set()

    def backlog(self) -> int:
        return self._reply_bytes + self.transport.get_write_buffer_size()

    def kill(self, reason: str, *, quiet: bool = False) -> None:
        """Disconnect a client that cannot keep up: abort the transport (a close frame would queue behind).
        `quiet`: the caller logs. Else the budget's `on_stall` does (once per interval, with a
        count: `stats.Refusals`), or, with no budget, a line here."""
        if self._closed:
            return
        if not quiet:
            budget = self.budget
            if budget is not None and budget.on_stall is not None:
                budget.on_stall(self, reason)
            else:
                log.warning("disconnecting %s: %s", self.peer, reason)
        self._closed = True
        self.killed = True
        self._replies.clear()
        self._reply_bytes = 0
        self._snapshots = {}
        self._status = None
        self.transport.abort()
        self._wakeup.set()

    async def close(self) -> None:
        """Stop the writer after flushing what is queued (called when the receive loop ends)."""
        if self.budget is not None:
            self.budget.conns.discard(self)
        self._closed = True
        self._wakeup.set()
        if self._writer is not None:
            try:
                await asyncio.wait_for(self._writer, timeout=2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._writer.cancel()

    async def flush(self) -> None:
        """Wait until every queued reply has been handed to the transport (best effort)."""
        while not self._closed and (self._replies or self._snapshots or self._status):
            await asyncio.sleep(0.001)

    async def _write_loop(self) -> None:
        ws = self.ws
        transport = self.transport
        replies = self._replies
        wakeup = self._wakeup
        sleep = asyncio.sleep
        monotonic = time.monotonic
        try:
            while True:
                await wakeup.wait()
                wakeup.clear()
                if ws.closed or transport.is_closing():
                    break  # aiohttp sent a close frame (or the peer is gone): nothing may follow
                parts: list[bytes] = []
                while replies:
                    data = replies.popleft()
                    parts.append(text_frame(data))
                    parts.append(data)
                self._reply_bytes = 0
                if self._snapshots:
                    for latest in self._snapshots.values():
                        parts.append(text_frame(latest))
                        parts.append(latest)
                    self._snapshots = {}
                if self._status is not None:
                    parts.append(text_frame(self._status))
                    parts.append(self._status)
                    self._status = None
                if parts:
                    transport.writelines(parts)
                buffered = transport.get_write_buffer_size()
                self._progress = monotonic()  # the client's grace period starts now
                while buffered > HIGH_WATER and not transport.is_closing():
                    await sleep(0.002)  # slow reader: replies queue (bounded), snapshots conflate
                    now_buffered = transport.get_write_buffer_size()
                    if now_buffered < buffered:
                        self._progress = monotonic()
                    elif self._reply_bytes + now_buffered > self.max_buffer:
                        stalled = monotonic() - self._progress
                        if stalled > STALL_S:
                            self.kill(
                                f"send backlog {self._reply_bytes + now_buffered} bytes, nothing read for {stalled:.1f}s"
                            )
                            break
                    buffered = now_buffered
                if self._closed and not replies:
                    break
        except Exception:
            log.exception("writer for %s failed", self.peer)
        self._closed = True
