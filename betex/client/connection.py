"""An asyncio client for `/ws_ctl`: commands out, snapshots and replies in, reconnect on loss.

Contract:
- `connect()` makes the first connection (retrying with backoff until its timeout) and raises
  `ServerUnreachable` if the server never answers; after that a background task keeps the
  connection up, reconnecting with exponential backoff and re-subscribing to the current market.
- Replies are matched to commands by `correlation_id`: `request()` awaits one (a future per
  command); `send()` is fire-and-forget and leaves replies to listeners. With `no_ack=True` the
  server sends no replies, so `request()` returns None at once.
- The newest SNAPSHOT per market is kept in `snapshots` (the server conflates; so do we).
- Listeners are plain callables run on the event loop for each message of a type; an exception
  in one is counted and swallowed so a UI bug cannot kill the reader.
- A connection that drops fails every awaiting `request()` with `ConnectionLost`: the command
  may or may not have been applied, and only the caller knows whether to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from betex.core.errors import Rejected

from . import messages as m
from .errors import (
    AccessRefused,
    ClientError,
    ConnectionLost,
    NotConnected,
    RequestTimeout,
    ServerUnreachable,
)
from .urls import DEFAULT_URL, ws_ctl_url

log = logging.getLogger("betex.client")

T = TypeVar("T")
Listener = Callable[[Any], None]

_MANUAL_SEQ_BASE = 1 << 31
"""Correlation ids the client hands out use the upper half of the per-account seq space, so they
never collide with a bot's `(account_id << 32) | seq` counting up from 1 on the same account."""


class ConnState(StrEnum):
    """Where the connection is in its life (a status bar shows it)."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    CLOSED = "CLOSED"


@dataclass(slots=True)
class ConnectionStatus:
    """What a status bar shows; mutated in place by the client (read it, don't write it)."""

    state: ConnState = ConnState.DISCONNECTED
    url: str = ""
    connects: int = 0
    """Successful connections so far; `connects - 1` is the number of reconnects."""
    failed_attempts: int = 0
    """Consecutive failed attempts since the last successful connection."""
    next_retry_s: float = 0.0
    last_error: str | None = None
    last_seq: int = 0
    """Highest engine seq seen in a STATUS or SNAPSHOT."""
    lag_ms: float = 0.0
    """Receipt time minus the server timestamp of the latest STATUS (same host clock on loopback)."""
    messages_in: int = 0
    messages_out: int = 0
    bad_messages: int = 0
    listener_errors: int = 0
    connected_since: float | None = None

    @property
    def connected(self) -> bool:
        """True while the WebSocket is open."""
        return self.state is ConnState.CONNECTED

    @property
    def reconnects(self) -> int:
        """How many times the connection came back after a drop."""
        return max(0, self.connects - 1)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with ±`jitter` spread: initial, initial·factor, … capped at `maximum`."""

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.2
    _next: float = field(default=0.0, init=False)
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def reset(self) -> None:
        """Start again from `initial` (after a successful connection)."""
        self._next = 0.0

    def next_delay(self) -> float:
        """The next delay in seconds: doubled each time up to `maximum`, with jitter."""
        self._next = self.initial if self._next == 0.0 else min(self.maximum, self._next * self.factor)
        return self._next * (1.0 + self.jitter * (2.0 * self._rng.random() - 1.0))


class BetexClient:
    """One `/ws_ctl` connection. Use `async with BetexClient(url) as c:` or `connect()`/`close()`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        market_id: int | None = None,
        depth: int | None = None,
        no_ack: bool = False,
        token: str | None = None,
        key: str | None = None,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        request_timeout: float = 10.0,
        max_message_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.base_url = url
        self.market_id = market_id
        self.depth = depth
        self.no_ack = no_ack
        self.token = token
        self.key = key
        """An account API key (`keys` auth mode): sent as `Authorization: Bearer` only (never in
        the URL, which status bars show); the admin `token` then goes in the URL."""
        self.account_id: int | None = None
        """The account the server bound this connection to (its key's), from the upgrade's
        `X-Betex-Account` header; None without a key. Set by `connect()`."""
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.request_timeout = request_timeout
        self.max_message_bytes = max_message_bytes
        self.status = ConnectionStatus(url=self.url)
        self.snapshots: dict[int, m.Snapshot] = {}
        self.markets: dict[int, m.MarketInfo] = {}
        """Markets seen in MARKET_LIST / MARKET_CREATED / MARKET_UPDATED replies."""
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._resubscribe_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[m.Reply]] = {}
        self._listeners: dict[type, list[Listener]] = {}
        self._any_listeners: list[Listener] = []
        self._conn_listeners: list[Callable[[ConnectionStatus], None]] = []
        self._seqs: dict[int, int] = {}
        self._connected_evt = asyncio.Event()
        self.extra_markets: set[int] = set()
        """Markets added with `subscribe_markets` (re-subscribed after a reconnect)."""
        self.order_seqs: dict[int, int] = {}
        """Accounts whose orders this client streams → the last update seq seen: a reconnect
        resubscribes with it as `from_seq`, so no update is missed or seen twice."""

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The `/ws_ctl` URL this client connects to (market, depth, no_ack, token in the query)."""
        return ws_ctl_url(
            self.base_url,
            market_id=self.market_id,
            depth=self.depth,
            no_ack=self.no_ack,
            token=self.token,
        )

    @property
    def connected(self) -> bool:
        """True while the connection is up."""
        return self.status.state is ConnState.CONNECTED

    async def connect(self, timeout: float = 5.0) -> None:
        """First connection, retrying with backoff for up to `timeout` s; raises ServerUnreachable."""
        if self._task is not None:
            return
        self._closing = False
        deadline = time.monotonic() + timeout
        self._set_state(ConnState.CONNECTING)
        while True:
            try:
                ws = await self._open(max(0.1, deadline - time.monotonic()))
                break
            except (OSError, InvalidHandshake, TimeoutError, InvalidURI) as exc:
                refused = _refused(exc)
                if refused is not None:
                    self._attempt_failed(exc)
                    self._set_state(ConnState.DISCONNECTED)
                    raise refused from exc
                delay = self._attempt_failed(exc)
                if isinstance(exc, InvalidURI) or time.monotonic() + delay > deadline:
                    self._set_state(ConnState.DISCONNECTED)
                    raise ServerUnreachable(f"cannot connect to {self.url}: {_describe(exc)}") from exc
                await asyncio.sleep(delay)
        self._on_open(ws)
        self._task = asyncio.get_running_loop().create_task(self._run(ws), name="betex-client")

    async def close(self) -> None:
        """Close the connection and stop reconnecting; awaiting requests fail with ConnectionLost."""
        self._closing = True
        ws, task = self._ws, self._task
        self._task = None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ws = None
        self._fail_pending("client closed")
        self._set_state(ConnState.CLOSED)

    async def __aenter__(self) -> BetexClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the connection is up (e.g. after a reconnect); raises TimeoutError."""
        await asyncio.wait_for(self._connected_evt.wait(), timeout)

    async def _open(self, timeout: float) -> ClientConnection:
        bearer = self.key or self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
        return await ws_connect(
            self.url,
            open_timeout=timeout,
            compression=None,
            proxy=None,
            max_size=self.max_message_bytes,
            max_queue=None,
            write_limit=1 << 20,
            additional_headers=headers,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=2,
        )

    def _on_open(self, ws: ClientConnection) -> None:
        self._ws = ws
        response = ws.response
        bound = response.headers.get("X-Betex-Account") if response is not None else None
        self.account_id = int(bound) if bound is not None and bound.isdigit() else None
        st = self.status
        st.connects += 1
        st.failed_attempts = 0
        st.next_retry_s = 0.0
        st.last_error = None
        st.url = self.url
        st.connected_since = time.time()
        self.backoff.reset()
        self._set_state(ConnState.CONNECTED)
        self._connected_evt.set()
        if st.connects > 1 and (self.extra_markets or self.order_seqs):
            self._resubscribe_task = asyncio.get_running_loop().create_task(self._resubscribe())

    async def _resubscribe(self) -> None:
        """After a reconnect: the extra markets, and each order stream from its last seq."""
        with contextlib.suppress(ClientError):
            if self.extra_markets:
                await self.send(m.subscribe_markets(sorted(self.extra_markets), self.depth))
            for account, seq in list(self.order_seqs.items()):
                await self.send(m.subscribe_orders(account, seq))

    def _attempt_failed(self, exc: BaseException) -> float:
        st = self.status
        st.failed_attempts += 1
        st.last_error = _describe(exc)
        st.next_retry_s = self.backoff.next_delay()
        self._notify_conn()
        return st.next_retry_s

    async def _run(self, ws: ClientConnection) -> None:
        while True:
            await self._read(ws)
            self._ws = None
            self._connected_evt.clear()
            self._fail_pending("connection lost")
            if self._closing or not self.reconnect:
                self._set_state(ConnState.CLOSED if self._closing else ConnState.DISCONNECTED)
                return
            self._set_state(ConnState.RECONNECTING)
            while True:
                await asyncio.sleep(self.status.next_retry_s or self.backoff.next_delay())
                if self._closing:
                    return
                try:
                    ws = await self._open(10.0)
                    break
                except (OSError, InvalidHandshake, TimeoutError) as exc:
                    self._attempt_failed(exc)
            self._on_open(ws)

    async def _read(self, ws: ClientConnection) -> None:
        dispatch = self._dispatch
        st = self.status
        try:
            while True:
                raw = await ws.recv(decode=False)
                st.messages_in += 1
                try:
                    msg = m.parse_server_msg(raw)
                except (ValueError, KeyError, TypeError):
                    st.bad_messages += 1
                    continue
                dispatch(msg)
        except ConnectionClosed as exc:
            st.last_error = _describe(exc)
            st.next_retry_s = 0.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a reader fault must become a reconnect, not a hang
            log.exception("reader failed")
            st.last_error = _describe(exc)
            with contextlib.suppress(Exception):
                await ws.close()

    def _dispatch(self, msg: m.ServerMsg) -> None:
        t = type(msg)
        st = self.status
        if t is m.OrderUpdate or t is m.AccountSettled:
            upd: m.OrderUpdate | m.AccountSettled = msg  # type: ignore[assignment]
            if upd.account_id in self.order_seqs and upd.seq > self.order_seqs[upd.account_id]:
                self.order_seqs[upd.account_id] = upd.seq
        elif t is m.Snapshot:
            snap: m.Snapshot = msg  # type: ignore[assignment]
            self.snapshots[snap.market_id] = snap
            if snap.seq > st.last_seq:
                st.last_seq = snap.seq
        elif t is m.Status:
            status: m.Status = msg  # type: ignore[assignment]
            if status.seq > st.last_seq:
                st.last_seq = status.seq
            if status.ts:
                st.lag_ms = max(0.0, (time.time_ns() - status.ts) / 1e6)
        else:
            self._note_markets(msg)
            cid = getattr(msg, "correlation_id", None)
            if cid is not None:
                fut = self._pending.pop(cid, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)  # type: ignore[arg-type]
        for cb in self._listeners.get(t, ()):
            self._call(cb, msg)
        for cb in self._any_listeners:
            self._call(cb, msg)

    def _note_markets(self, msg: m.ServerMsg) -> None:
        if isinstance(msg, m.MarketList):
            self.markets = {mi.market_id: mi for mi in msg.markets}
        elif isinstance(msg, m.MarketCreated) and msg.snapshot is not None:
            s = msg.snapshot
            self.markets[s.market_id] = m.MarketInfo(s.market_id, s.name, s.market_state, s.market_phase)
            self.snapshots.setdefault(s.market_id, s)
        elif isinstance(msg, m.MarketUpdated) and msg.market_id in self.markets:
            old = self.markets[msg.market_id]
            self.markets[msg.market_id] = m.MarketInfo(
                old.market_id, old.name, msg.market_state, msg.market_phase, old.extra
            )

    def _call(self, cb: Callable[[Any], None], arg: Any) -> None:
        try:
            cb(arg)
        except Exception:  # noqa: BLE001 - see module docstring
            self.status.listener_errors += 1
            log.exception("listener %r failed", cb)

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost(why))

    def _set_state(self, state: ConnState) -> None:
        self.status.state = state
        if state is not ConnState.CONNECTED:
            self.status.connected_since = None
        self._notify_conn()

    def _notify_conn(self) -> None:
        for cb in self._conn_listeners:
            self._call(cb, self.status)

    # --- listeners ---------------------------------------------------------------------------

    def on(self, msg_type: type[T], callback: Callable[[T], None]) -> Callable[[], None]:
        """Call `callback(msg)` for every message of `msg_type`; returns an unsubscribe function."""
        lst = self._listeners.setdefault(msg_type, [])
        lst.append(callback)
        return lambda: lst.remove(callback) if callback in lst else None

    def on_snapshot(self, callback: Callable[[m.Snapshot], None]) -> Callable[[], None]:
        """Call `callback` with every SNAPSHOT (any subscribed market)."""
        return self.on(m.Snapshot, callback)

    def on_status(self, callback: Callable[[m.Status], None]) -> Callable[[], None]:
        """Call `callback` with every STATUS (once a second)."""
        return self.on(m.Status, callback)

    def on_order_response(self, callback: Callable[[m.OrderResponse], None]) -> Callable[[], None]:
        """Call `callback` with every ORDER_RESPONSE (also those a `request` awaits)."""
        return self.on(m.OrderResponse, callback)

    def on_order_update(self, callback: Callable[[m.OrderUpdate], None]) -> Callable[[], None]:
        """Call `callback` with every ORDER_UPDATE of the accounts `subscribe_orders` follows."""
        return self.on(m.OrderUpdate, callback)

    def on_settled(self, callback: Callable[[m.AccountSettled], None]) -> Callable[[], None]:
        """Call `callback` with every ACCOUNT_SETTLED (your P&L when a market settles)."""
        return self.on(m.AccountSettled, callback)

    def on_error(self, callback: Callable[[m.ServerError], None]) -> Callable[[], None]:
        """Call `callback` with every ERROR the server sends."""
        return self.on(m.ServerError, callback)

    def on_message(self, callback: Callable[[m.ServerMsg], None]) -> Callable[[], None]:
        """Every parsed ServerMsg, after the typed listeners."""
        self._any_listeners.append(callback)
        return lambda: self._any_listeners.remove(callback) if callback in self._any_listeners else None

    def on_connection(self, callback: Callable[[ConnectionStatus], None]) -> Callable[[], None]:
        """Called on every state change (connected, reconnecting, …) and failed attempt."""
        self._conn_listeners.append(callback)
        return lambda: self._conn_listeners.remove(callback) if callback in self._conn_listeners else None

    def queue(self, *msg_types: type, maxsize: int = 0) -> asyncio.Queue[m.ServerMsg]:
        """A queue fed with messages of the given types (all types if none); full → newest dropped."""
        q: asyncio.Queue[m.ServerMsg] = asyncio.Queue(maxsize)

        def put(msg: m.ServerMsg) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(msg)

        if msg_types:
            for t in msg_types:
                self.on(t, put)
        else:
            self.on_message(put)
        return q

    async def wait_snapshot(
        self, market_id: int, predicate: Callable[[m.Snapshot], bool] | None = None, timeout: float = 5.0
    ) -> m.Snapshot:
        """The current snapshot of `market_id` if it satisfies `predicate`, else the next one that does."""
        snap = self.snapshots.get(market_id)
        if snap is not None and (predicate is None or predicate(snap)):
            return snap
        fut: asyncio.Future[m.Snapshot] = asyncio.get_running_loop().create_future()

        def check(s: m.Snapshot) -> None:
            if s.market_id == market_id and (predicate is None or predicate(s)) and not fut.done():
                fut.set_result(s)

        off = self.on_snapshot(check)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            off()

    # --- sending -----------------------------------------------------------------------------

    def next_correlation_id(self, account_id: int = 0) -> int:
        """A fresh `(account_id << 32) | seq` id from the client's half of the seq space."""
        n = self._seqs.get(account_id, 0) + 1
        self._seqs[account_id] = n
        return (account_id << 32) | (_MANUAL_SEQ_BASE + n)

    async def send(self, msg: dict[str, Any] | bytes) -> None:
        """Fire and forget (a ClientMsg dict or its JSON bytes); raises NotConnected when down."""
        ws = self._ws
        if ws is None:
            raise NotConnected(f"not connected to {self.url} ({self.status.state})")
        data = msg if isinstance(msg, bytes) else orjson.dumps(msg)
        try:
            await ws.send(data, text=True)
        except ConnectionClosed as exc:
            raise NotConnected(f"connection to {self.url} closed: {_describe(exc)}") from exc
        self.status.messages_out += 1

    async def request(self, msg: dict[str, Any], timeout: float | None = None) -> m.Reply | None:
        """Send and await the reply carrying the message's correlation_id (assigned if missing).

        Returns None without waiting on a `no_ack` connection. Raises RequestTimeout,
        ConnectionLost or NotConnected.
        """
        ((_, body),) = msg.items()
        cid = body.get("correlation_id")
        if cid is None:
            cid = body["correlation_id"] = self.next_correlation_id()
        if self.no_ack:
            await self.send(msg)
            return None
        fut: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self._pending[cid] = fut
        try:
            await self.send(msg)
            return await asyncio.wait_for(fut, self.request_timeout if timeout is None else timeout)
        except TimeoutError as exc:
            raise RequestTimeout(f"no reply to correlation_id {cid} within the timeout") from exc
        finally:
            self._pending.pop(cid, None)

    # --- convenience commands (wire units; each returns the reply, or None with no_ack) ---------

    async def create_market(self, preset_or_spec: str | dict[str, Any], name: str | None = None) -> int:
        """Create a market from a preset name (`soccer`, `tennis`, `binary`) or a CREATE_MARKET body.

        Returns the new market_id; raises `CommandFailed` if refused. Needs an acked connection.
        """
        from .presets import preset_message

        msg = preset_message(preset_or_spec, name=name)
        reply = await self.request(msg)
        if isinstance(reply, m.MarketCreated):
            return reply.market_id
        raise CommandFailed(reply)

    async def list_markets(self) -> tuple[m.MarketInfo, ...]:
        """Every market on the server (MARKET_LIST); raises `CommandFailed` if refused."""
        reply = await self.request(m.list_markets())
        if isinstance(reply, m.MarketList):
            return reply.markets
        raise CommandFailed(reply)

    async def subscribe(self, market_id: int, depth: int | None = None) -> None:
        """Switch this connection's main snapshot stream to `market_id`; kept across reconnects."""
        self.market_id = market_id
        if depth is not None:
            self.depth = depth
        await self.send(m.subscribe(market_id, depth))

    async def subscribe_markets(self, market_ids: list[int], depth: int | None = None) -> None:
        """Add markets to this connection's snapshot stream (`snapshots` keeps each market's
        newest); raises `CommandFailed` if one is unknown. Kept across reconnects."""
        if depth is not None:
            self.depth = depth
        reply = await self.request(m.subscribe_markets(market_ids, self.depth))
        if reply is not None and not (isinstance(reply, m.Ack) and reply.ok):
            raise CommandFailed(reply)
        self.extra_markets.update(market_ids)

    async def unsubscribe(self, market_ids: list[int]) -> None:
        """Stop streaming these markets."""
        self.extra_markets.difference_update(market_ids)
        if self.market_id in market_ids:
            self.market_id = None
        await self.request(m.unsubscribe(market_ids))

    async def subscribe_orders(self, account_id: int, from_seq: int | None = None) -> None:
        """Stream every change to `account_id`'s orders (`on_order_update`, `on_settled`).

        With `from_seq`, the changes after that seq are replayed first. After a reconnect the
        client resubscribes from the last seq it saw, so nothing is missed or repeated.
        """
        self.order_seqs.setdefault(account_id, from_seq or self.status.last_seq)  # updates may beat the ACK
        reply = await self.request(m.subscribe_orders(account_id, from_seq))
        if reply is None:  # no_ack connection: no ACK to read the seq from
            return
        if not (isinstance(reply, m.Ack) and reply.ok):
            raise CommandFailed(reply)
        since = reply.detail.get("seq", from_seq or 0)
        self.order_seqs[account_id] = max(since, self.order_seqs.get(account_id, 0))

    async def place(
        self,
        market_id: int,
        runner_id: int,
        side: str,
        price: float | int,
        size: float | int,
        account_id: int,
        *,
        persistence: str | None = None,
        time_in_force: str | None = None,
        min_fill_size: float | int | None = None,
        client_ref: str | None = None,
        correlation_id: int | None = None,
    ) -> m.Reply | None:
        """Place one order (wire units: decimal odds or bps, money or shares).

        Returns the ORDER_RESPONSE: `status` ACCEPTED with `fills` (each with its
        `effective_odds`), or REJECTED with `error`. None on a `no_ack` connection.
        `persistence` LAPSE (default) or PERSIST; `time_in_force` GTC or FILL_OR_KILL.
        """
        cid = correlation_id if correlation_id is not None else self.next_correlation_id(account_id)
        return await self.request(
            m.place_order(
                market_id,
                runner_id,
                side,
                price,
                size,
                account_id,
                persistence=persistence,
                time_in_force=time_in_force,
                min_fill_size=min_fill_size,
                client_ref=client_ref,
                correlation_id=cid,
            )
        )

    async def place_orders(
        self, market_id: int, account_id: int, instructions: list[dict[str, Any]]
    ) -> m.OrdersResponse:
        """Place 1–200 orders in one engine batch (each instruction a PLACE_ORDER body without
        market_id, e.g. `{"runner_id": 1, "side": "BACK", "price": 2.5, "size": 10}`); one
        result per instruction, in order. Raises `CommandFailed` if the batch is malformed."""
        return await self._batch("PLACE_ORDERS", market_id, account_id, instructions)

    async def cancel_orders(
        self, market_id: int, account_id: int, instructions: list[dict[str, Any]]
    ) -> m.OrdersResponse:
        """Cancel several orders in one engine batch (`{"order_id": 42, "size_reduction": 2}`)."""
        return await self._batch("CANCEL_ORDERS", market_id, account_id, instructions)

    async def replace_orders(
        self, market_id: int, account_id: int, instructions: list[dict[str, Any]]
    ) -> m.OrdersResponse:
        """Move several orders to new prices in one engine batch (`{"order_id": 42, "new_price": 2.6}`)."""
        return await self._batch("REPLACE_ORDERS", market_id, account_id, instructions)

    async def _batch(
        self, kind: str, market_id: int, account_id: int, instructions: list[dict[str, Any]]
    ) -> m.OrdersResponse:
        cid = self.next_correlation_id(account_id)
        reply = await self.request(m.order_batch(kind, market_id, instructions, account_id, cid))
        if isinstance(reply, m.OrdersResponse):
            return reply
        raise CommandFailed(reply)

    async def cancel(
        self, market_id: int, order_id: int, account_id: int, size_reduction: float | int | None = None
    ) -> m.Reply | None:
        """Cancel an order's remaining size, or reduce it by `size_reduction`; the ORDER_RESPONSE
        (status CANCELLED, the order after the change) or a REJECTED one."""
        cid = self.next_correlation_id(account_id)
        return await self.request(m.cancel_order(market_id, order_id, account_id, size_reduction, cid))

    async def cancel_all(self, market_id: int, account_id: int) -> m.Reply | None:
        """Cancel every unmatched order of the account in the market; ACK with `detail.cancelled`."""
        return await self.request(m.cancel_all(market_id, account_id, self.next_correlation_id(account_id)))

    async def replace(
        self, market_id: int, order_id: int, account_id: int, new_price: float | int
    ) -> m.Reply | None:
        """Cancel the remaining size and place it at `new_price` (status REPLACED with
        `replacement_order_id`); REJECTED CANCELLED_NOT_PLACED if the new placement fails."""
        cid = self.next_correlation_id(account_id)
        return await self.request(m.replace_order(market_id, order_id, account_id, new_price, cid))

    async def set_state(self, market_id: int, market_state: str) -> m.Reply | None:
        """Admin: OPEN or SUSPENDED (MARKET_UPDATED, or ACK ok=false)."""
        return await self.request(m.set_market_state(market_id, market_state))

    async def await_live(self, market_id: int) -> m.Reply | None:
        """Admin: suspend before going in play (PRE → AWAITING_LIVE)."""
        return await self.request(m.market_command("AWAIT_LIVE_MARKET", market_id))

    async def go_live(self, market_id: int) -> m.Reply | None:
        """Admin: turn the market in play (LAPSE orders are cancelled)."""
        return await self.request(m.market_command("GO_LIVE_MARKET", market_id))

    async def close_market(self, market_id: int) -> m.Reply | None:
        """Admin: stop trading (unmatched orders are cancelled); settle or void next."""
        return await self.request(m.market_command("CLOSE_MARKET", market_id))

    async def void_market(self, market_id: int) -> m.Reply | None:
        """Admin: void every trade and end the market (P&L 0)."""
        return await self.request(m.market_command("VOID_MARKET", market_id))

    async def settle(self, market_id: int, winner_runner_ids: list[int]) -> m.Reply | None:
        """Admin: settle a CLOSED market with these winners (several: a dead heat)."""
        return await self.request(m.settle_market(market_id, winner_runner_ids))

    async def void_trades(
        self, market_id: int, trade_ids: list[int] | None = None, after_ts: int | None = None
    ) -> m.Reply | None:
        """Admin: void the given trades, or every trade after `after_ts` (unix ns)."""
        return await self.request(m.void_trades(market_id, trade_ids, after_ts))

    async def add_runners(
        self, market_id: int, runner_ids: list[int], runner_labels: list[str] | None = None
    ) -> m.Reply | None:
        """Admin: add runners to a MULTI_RUNNER market."""
        return await self.request(m.add_runners(market_id, runner_ids, runner_labels))


class CommandFailed(ClientError, Rejected):
    """A request answered with a reject or an unexpected reply type (`reply` holds it; `code`
    the reject code)."""

    def __init__(self, reply: m.Reply | None) -> None:
        err = getattr(reply, "error", None)
        if isinstance(reply, m.ServerError):
            text = f"{reply.code}: {reply.message}"
        elif isinstance(err, m.ErrorInfo):
            text = f"{err.code}: {err.message}"
        else:
            text = f"unexpected reply {reply!r}"
        super().__init__(text)
        self.reply = reply
        self.code = reply.code if isinstance(reply, m.ServerError) else getattr(err, "code", None)


def _refused(exc: BaseException) -> AccessRefused | None:
    """An upgrade answered 401 or 403 (a bad key or token, a foreign Origin) as `AccessRefused`,
    with the server's JSON error when it sent one; None for anything worth retrying."""
    if not isinstance(exc, InvalidStatus) or exc.response.status_code not in (401, 403):
        return None
    status = exc.response.status_code
    try:
        err = orjson.loads(exc.response.body or b"{}")["error"]
        return AccessRefused(status, str(err["code"]), str(err["message"]))
    except (ValueError, KeyError, TypeError):
        return AccessRefused(status, "UNAUTHORIZED", f"HTTP {status}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__
