"""`/ws` (read-only snapshot stream) and `/ws_ctl` (stream + control plane).

The receive loop never awaits the engine: a command is parsed, checked and handed to the ring,
and its reply arrives later through the hub's mailbox. A malformed message is answered with a
typed ERROR and the connection stays open; frames over 64 KiB are closed with 1009 by aiohttp
(`max_msg_size`); text frames that are not UTF-8 are closed with 1007.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiohttp import WSCloseCode, WSMsgType, web

from betex.core.domain import commands as c
from betex.core.domain.results import Reject
from betex.core.domain.types import RejectCode
from betex.core.protocol import parse, render

from . import params
from .auth import credentials, new_key
from .config import MAX_FRAME_BYTES
from .connection import Connection
from .context import HUB, error_response
from .hub import Hub

log = logging.getLogger("betex.server.ws")

_ADMIN = c.ADMIN_COMMANDS
_PID = str(os.getpid())
_PLACE = c.PlaceOrder
_Trader = c.PlaceOrder | c.CancelOrder | c.CancelAll | c.ReplaceOrder | c.ReduceOrder


def origin_allowed(request: web.Request, allowed: tuple[str, ...]) -> bool:
    """No Origin header (not a browser), or one on the allow-list (exact match)."""
    origin = request.headers.get("Origin")
    return origin is None or origin in allowed


async def ws_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, control=False)


async def ws_ctl_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, control=True)


async def _serve(request: web.Request, *, control: bool) -> web.StreamResponse:
    hub: Hub = request.app[HUB]
    if not hub.ready or hub.stopping:
        return error_response(
            503, "UNAVAILABLE", "server is recovering" if not hub.ready else "server is stopping"
        )
    try:
        market_id = params.market_id(request.query)
        depth = params.depth(request.query)
        no_ack = params.flag(request.query, "no_ack")
    except params.ParamError as exc:
        return error_response(400, "BAD_REQUEST", str(exc))
    config = hub.config
    if not origin_allowed(request, config.allowed_origins):
        hub.refusals.note("origin", f"Origin {request.headers.get('Origin', '')[:100]!r}", request.remote)
        return error_response(403, "UNAUTHORIZED", "Origin not allowed (see --allowed-origin)")
    cred = credentials(request, config.admin_token, hub.keys)
    if cred.bad is not None:
        hub.refusals.note("unauthorized", cred.bad, request.remote)
        return error_response(401, "UNAUTHORIZED", cred.bad)
    keys_mode = config.auth == "keys"
    if control and keys_mode and not cred.admin and cred.account_id is None:
        hub.refusals.note("unauthorized", "no key", request.remote)
        return error_response(
            401, "UNAUTHORIZED", "/ws_ctl needs an API key (Authorization: Bearer KEY or ?key=KEY)"
        )
    # Admin commands: the admin token; in open mode without a token configured, anyone (loopback).
    authed = cred.admin or (config.admin_token is None and not keys_mode)

    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, compress=False, autoping=True)
    ws.headers["X-Betex-Pid"] = _PID  # which process serves it (gateways share one port)
    if cred.account_id is not None:  # a client that holds only a key learns its account here
        ws.headers["X-Betex-Account"] = str(cred.account_id)
    await ws.prepare(request)
    transport = request.transport
    if transport is None:  # the peer vanished during the upgrade
        return ws
    conn = Connection(
        ws,
        transport,
        peer=str(request.remote),
        control=control,
        authed=authed,
        no_ack=no_ack,
        market_id=market_id,
        depth=depth,
        max_buffer=hub.config.max_send_buffer,
        budget=hub.outbox,
    )
    conn.follow_default = market_id is None and not control
    conn.account_id = cred.account_id
    conn.key_id = cred.key_id
    stats = hub.stats
    stats.connections_total += 1
    if control:
        stats.ws_ctl_connections += 1
    else:
        stats.ws_connections += 1
    hub.connections.add(conn)
    conn.start()
    hub.push_snapshot(conn, {})
    try:
        await _receive_loop(hub, conn, ws)
    except Exception:
        log.exception("connection %s failed", conn.peer)
    finally:
        hub.connections.discard(conn)
        if hub.order_streams is not None:
            hub.order_streams.drop(conn)
        if control:
            stats.ws_ctl_connections -= 1
        else:
            stats.ws_connections -= 1
        if conn.killed:
            stats.slow_disconnects += 1
        await conn.close()
        if not ws.closed:
            await ws.close()
    return ws


YIELD_EVERY = 32
"""Messages handled from one connection before the loop gives the others a turn."""


async def _receive_loop(hub: Hub, conn: Connection, ws: web.WebSocketResponse) -> None:
    """Handle the client's messages in order until it closes, pausing while the engine is behind.

    Two things keep one busy client from holding the event loop. aiohttp hands over messages it
    has already parsed without suspending, so after `YIELD_EVERY` of them in a row this loop
    yields (`sleep(0)`): the other connections and the engine link get their turn. And the idle
    timeout is armed only when nothing is buffered (the next `receive` may wait): entering a
    timeout per message was a tenth of a gateway's time under a flood, and a message already
    buffered cannot time out anyway."""
    stats = hub.stats
    text = WSMsgType.TEXT
    binary = WSMsgType.BINARY
    idle = hub.config.idle_timeout_s
    # aiohttp's queue of parsed messages (a public attribute of its compiled reader, private
    # API): None on another version, and then every receive is timed, as before
    buffered = getattr(getattr(ws, "_reader", None), "_buffer", None)
    run = 0
    while True:
        try:
            if buffered:
                msg = await ws.receive()
                run += 1
                if run >= YIELD_EVERY:
                    run = 0
                    await asyncio.sleep(0)
            else:
                run = 0
                msg = await ws.receive(timeout=idle)
        except TimeoutError:
            hub.refusals.note("idle_timeout", f"nothing received for {idle:g}s", conn.peer)
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"idle timeout")
            return
        kind = msg.type
        if kind is text or kind is binary:
            stats.messages_in += 1
            on_message(hub, conn, msg.data)
            pause = hub.backpressure(conn)
            if pause is not None:  # the engine is behind: stop reading this client (TCP pushes back)
                await pause
        elif kind is WSMsgType.ERROR:
            log.info("closing %s: %s", conn.peer, msg.data)
            return
        else:  # CLOSE / CLOSING / CLOSED
            return
        if conn.closed:
            return


def on_message(hub: Hub, conn: Connection, raw: str | bytes) -> None:
    """Handle one client frame: parse, authorise, then submit or answer from the projection."""
    request = parse.parse_client_msg(raw, hub.model_of)
    if type(request) is _PLACE and conn.control and not hub.stopping:  # hot path: straight to the ring
        bound = _bind(hub, conn, request)
        if isinstance(bound, Reject):
            hub.refuse(conn, request, bound)
        else:
            hub.submit(conn, bound)
        return
    if isinstance(request, parse.WireError):
        hub.stats.rejects[str(request.code)] += 1
        conn.reply_in_order(render.dumps(render.render_wire_error(request)))
        return
    if isinstance(request, parse.Subscribe):
        sub = request

        def subscribe() -> None:
            ids = sub.market_ids or (sub.market_id,)
            unknown = [m for m in ids if hub.projection.change_counter(m) is None]
            if unknown:
                # Runs in its turn (after_pending): reply directly, not behind later messages.
                names = ", ".join(str(m) for m in unknown[:5])
                conn.reply(
                    _error(hub, RejectCode.INVALID_MARKET, f"unknown market {names}", sub.correlation_id)
                )
                return
            conn.reply(render.dumps(render.render_ack(sub.correlation_id)))
            if sub.market_ids:
                hub.subscribe_many(conn, sub.market_ids, sub.depth)
            else:
                hub.subscribe(conn, sub.market_id, sub.depth)

        conn.after_pending(subscribe)
        return
    if isinstance(request, parse.Unsubscribe):
        unsub = request

        def unsubscribe() -> None:
            hub.unsubscribe(conn, unsub.market_ids)
            conn.reply(render.dumps(render.render_ack(unsub.correlation_id)))

        conn.after_pending(unsubscribe)
        return
    if isinstance(request, parse.SubscribeOrders):
        _subscribe_orders(hub, conn, request)
        return
    if isinstance(request, parse.ListMarkets):
        hub.market_list_reply(conn, request.correlation_id)
        return
    if not conn.control:
        conn.reply_in_order(
            _error(
                hub,
                RejectCode.BAD_REQUEST,
                "/ws is read-only; send commands on /ws_ctl",
                request.correlation_id,
            )
        )
        return
    if hub.stopping:
        hub.refuse(conn, request, _stopping())
        return
    if conn.key_id is not None and conn.key_id in hub.keys.revoked:
        hub.refuse(conn, request, _revoked())
        return
    if isinstance(request, parse.OrderBatch):
        hub.submit_batch(conn, _bind_batch(hub, conn, request))
        return
    if not conn.authed and isinstance(request, _ADMIN):
        hub.refuse(
            conn,
            request,
            Reject(RejectCode.UNAUTHORIZED, "admin commands need the server's admin token"),
        )
        return
    if isinstance(request, _TRADER):
        bound = _bind(hub, conn, request)
        if isinstance(bound, Reject):
            hub.refuse(conn, request, bound)
            return
        request = bound
    elif type(request) is c.IssueKey:
        key, digest = new_key()
        conn.new_keys[digest] = key
        request = request._replace(key_hash=digest)
    hub.submit(conn, request)


def _subscribe_orders(hub: Hub, conn: Connection, request: parse.SubscribeOrders) -> None:
    """ACK, then (with `from_seq`) the replay from the history store, then live updates. With an
    API key the stream is the key's account (another one is UNAUTHORIZED); without one the
    message names it."""
    account = conn.account_id
    if account is not None:
        refused = _revoked() if conn.key_id in hub.keys.revoked else None
        if refused is None and request.account_id not in (parse.SESSION_ACCOUNT, account):
            refused = Reject(
                RejectCode.UNAUTHORIZED,
                f"this connection's key is for account {account}, not {request.account_id}",
            )
        if refused is not None:
            hub.stats.rejects[str(refused.code)] += 1
            conn.reply_in_order(_error(hub, refused.code, refused.message, request.correlation_id))
            return
        request = request._replace(account_id=account)
    elif request.account_id == parse.SESSION_ACCOUNT:
        conn.reply_in_order(
            _error(hub, RejectCode.BAD_REQUEST, "missing field 'account_id' (no API key on this connection)",
                   request.correlation_id)
        )  # fmt: skip
        return
    streams = hub.order_streams
    if streams is None:
        conn.reply_in_order(
            _error(hub, RejectCode.OVERLOADED, "the order stream is not available", request.correlation_id)
        )
        return

    def start() -> None:
        replay = request.from_seq is not None
        # "now" is what this process has seen committed: the read model's seq, which is ahead of
        # the history store's while its writer (a thread, or its own process in the split) lags;
        # live rows up to it are changes from before the subscription
        seq = max(hub.history_seq, hub.projection_seq())
        sub = streams.subscribe(conn, request.account_id, seq, replaying=replay)
        since = seq if request.from_seq is None else request.from_seq
        conn.reply(render.dumps(render.render_ack(request.correlation_id, None, {"seq": since})))
        if request.from_seq is not None:
            task = hub.loop.create_task(streams.replay(sub, request.from_seq))
            hub.track(task)

    conn.after_pending(start)


def _bind_batch(hub: Hub, conn: Connection, batch: parse.OrderBatch) -> parse.OrderBatch:
    """Each instruction bound as a single command would be (`_bind`); one that may not run stays
    in its place as a typed reject, so results still line up with instructions."""
    bound: list[c.Command | parse.WireError] = []
    for inst in batch.instructions:
        if isinstance(inst, _TRADER):
            done = _bind(hub, conn, inst)
            if isinstance(done, Reject):
                inst = parse.WireError(done.code, done.message, inst.correlation_id)
            else:
                inst = done
        bound.append(inst)
    return batch._replace(instructions=tuple(bound))


_TRADER = (c.PlaceOrder, c.CancelOrder, c.CancelAll, c.ReplaceOrder, c.ReduceOrder)
"""Commands that act for an account: bound to the connection's key, rate-limited per account."""


def _bind(hub: Hub, conn: Connection, request: _Trader) -> _Trader | Reject:
    """The command with the session's account in it, or why it may not run.

    With a key: an omitted `account_id` is the key's account, another account is UNAUTHORIZED,
    a revoked key is UNAUTHORIZED. Without one (open mode, or the admin token): the message
    must name its account. Then the account's token bucket: RATE_LIMITED when it is empty.
    """
    account = conn.account_id
    if account is not None:
        if conn.key_id in hub.keys.revoked:
            return _revoked()
        if request.account_id == parse.SESSION_ACCOUNT:
            request = request._replace(account_id=account)
        elif request.account_id != account:
            return Reject(
                RejectCode.UNAUTHORIZED,
                f"this connection's key is for account {account}, not {request.account_id}",
            )
    elif request.account_id == parse.SESSION_ACCOUNT:
        return Reject(RejectCode.BAD_REQUEST, "missing field 'account_id' (no API key on this connection)")
    if not hub.rates.allow(request.account_id):
        hub.refusals.note("rate_limited", f"account {request.account_id}", conn.peer)
        return Reject(
            RejectCode.RATE_LIMITED,
            f"account {request.account_id} is over {hub.config.rate_per_account:g} commands/s",
        )
    return request


def _revoked() -> Reject:
    return Reject(RejectCode.UNAUTHORIZED, "this connection's API key has been revoked")


def _error(hub: Hub, code: RejectCode, message: str, correlation_id: int | None) -> bytes:
    """An ERROR reply (counted as a reject); the caller queues it in order."""
    hub.stats.rejects[str(code)] += 1
    return render.dumps(render.render_error(parse.WireError(code, message, correlation_id)))


def _stopping() -> Reject:
    return Reject(RejectCode.OVERLOADED, "server is shutting down")
