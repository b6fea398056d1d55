"""`/ws` (read-only snapshot stream) and `/ws_ctl` (stream + control plane).

The receive loop never awaits the engine: a command is parsed, checked and handed to the ring,
and its reply arrives later through the hub's mailbox. A malformed message is answered with a
typed ERROR and the connection stays open; frames over 64 KiB are closed with 1009 by aiohttp
(`max_msg_size`); text frames that are not UTF-8 are closed with 1007.
"""

from __future__ import annotations

import hmac
import logging
import os

from aiohttp import WSMsgType, web

from betex.core.domain import commands as c
from betex.core.domain.results import Reject
from betex.core.domain.types import RejectCode
from betex.core.protocol import parse, render

from . import params
from .config import MAX_FRAME_BYTES
from .connection import Connection
from .context import HUB, error_response
from .hub import Hub

log = logging.getLogger("betex.server.ws")

_ADMIN = c.ADMIN_COMMANDS
_PID = str(os.getpid())
_PLACE = c.PlaceOrder


def presented_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.query.get("token")


def admin_access(request: web.Request, token: str | None) -> bool | None:
    """True: may send admin commands; False: may trade only (no token presented);
    None: presented a token that is wrong (the upgrade is refused with 401)."""
    given = presented_token(request)
    if token is None:
        return True
    if given is None:
        return False
    return True if hmac.compare_digest(given.encode(), token.encode()) else None


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
    authed = admin_access(request, hub.config.admin_token)
    if authed is None:
        return error_response(401, "UNAUTHORIZED", "wrong admin token")

    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, compress=False, autoping=True)
    ws.headers["X-Betex-Pid"] = _PID  # which process serves it (gateways share one port)
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
    )
    conn.follow_default = market_id is None and not control
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


async def _receive_loop(hub: Hub, conn: Connection, ws: web.WebSocketResponse) -> None:
    stats = hub.stats
    text = WSMsgType.TEXT
    binary = WSMsgType.BINARY
    while True:
        msg = await ws.receive()
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
        hub.submit(conn, request)
        return
    if isinstance(request, parse.WireError):
        hub.stats.rejects[str(request.code)] += 1
        conn.reply_in_order(render.dumps(render.render_wire_error(request)))
        return
    if isinstance(request, parse.Subscribe):
        sub = request

        def subscribe() -> None:
            if hub.projection.change_counter(sub.market_id) is None:
                # Runs in its turn (after_pending): reply directly, not behind later messages.
                conn.reply(
                    _error(
                        hub, RejectCode.INVALID_MARKET, f"unknown market {sub.market_id}", sub.correlation_id
                    )
                )
            else:
                conn.reply(render.dumps(render.render_ack(sub.correlation_id)))
                hub.subscribe(conn, sub.market_id, sub.depth)

        conn.after_pending(subscribe)
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
    if not conn.authed and isinstance(request, _ADMIN):
        hub.refuse(
            conn,
            request,
            Reject(RejectCode.UNAUTHORIZED, "admin commands need the server's admin token"),
        )
        return
    hub.submit(conn, request)


def _error(hub: Hub, code: RejectCode, message: str, correlation_id: int | None) -> bytes:
    """An ERROR reply (counted as a reject); the caller queues it in order."""
    hub.stats.rejects[str(code)] += 1
    return render.dumps(render.render_error(parse.WireError(code, message, correlation_id)))


def _stopping() -> Reject:
    return Reject(RejectCode.OVERLOADED, "server is shutting down")
