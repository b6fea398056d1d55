"""The aiohttp application: every route in one table, and the middleware that shapes errors.

`http.py` (read API) and `ws.py` (streams and control plane) hold the handlers; this module is
the only one that imports both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from . import http, params, ws
from .context import HUB, ROUTES_KEY, NotFound, Unavailable, error_response
from .hub import Hub
from .limits import ConnectionGuard

log = logging.getLogger("betex.server.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Route(NamedTuple):
    path: str
    handler: Handler
    params: frozenset[str]
    """The query parameters it reads; any other is a 400 naming it (a typo is never ignored)."""
    summary: str


_WS_PARAMS = frozenset({"market_id", "depth", "token", "key"})
_AUTH = frozenset({"token", "key"})
"""Credentials as query parameters (browsers cannot set headers on a WebSocket upgrade)."""

ROUTES: tuple[Route, ...] = (
    Route("/", http.index, frozenset(), "this index"),
    Route("/health", http.health, frozenset(), "serving or recovering, and the applied seq"),
    Route("/schema", http.schema, frozenset(), "the JSON Schema of every message and HTTP body"),
    Route("/snapshot", http.snapshot, frozenset({"market_id", "depth"}), "a market's SNAPSHOT"),
    Route("/markets", http.markets, frozenset(), "every market (the MARKET_LIST body)"),
    Route(
        "/orders",
        http.orders,
        frozenset({"market_id", "account_id", "status", "limit", "cursor"}) | _AUTH,
        "orders, newest first (cursor: the previous page's next_cursor)",
    ),
    Route(
        "/completed_orders",
        http.completed_orders,
        frozenset({"market_id", "account_id", "limit", "cursor"}) | _AUTH,
        "completed orders, most recently completed first",
    ),
    Route("/trades", http.trades, frozenset({"market_id", "limit", "cursor"}), "trades, newest first"),
    Route("/risk", http.risk, frozenset({"market_id", "account_id"}) | _AUTH, "P&L and exposure per account"),
    Route("/metrics", http.metrics, frozenset({"format"}), "counters and latencies (format=prometheus)"),
    Route("/debug/live_counts", http.live_counts, frozenset(), "sizes of the read model's tables"),
    Route("/ws", ws.ws_handler, _WS_PARAMS, "WebSocket: read-only SNAPSHOT and STATUS stream"),
    Route("/ws_ctl", ws.ws_ctl_handler, _WS_PARAMS | {"no_ack"}, "WebSocket: the stream plus commands"),
)
"""Every GET route the server answers, with the query parameters it takes (the `/` index)."""


def _checked(route: Route) -> Handler:
    """The route's handler behind a check that every query parameter is one it reads."""
    handler, allowed = route.handler, route.params

    async def checked(request: web.Request) -> web.StreamResponse:
        query = request.query
        if query:
            unknown = sorted(set(query) - allowed)
            if unknown:
                names = ", ".join(repr(n[:40]) for n in unknown[:5])
                takes = ", ".join(sorted(allowed)) or "none"
                raise params.ParamError(
                    f"unknown query parameter(s) {names} for {route.path} (it takes: {takes})"
                )
        return await handler(request)

    return checked


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except params.ParamError as exc:
        return error_response(400, "BAD_REQUEST", str(exc))
    except NotFound as exc:
        return error_response(404, "INVALID_MARKET", str(exc))
    except Unavailable as exc:
        return error_response(503, "UNAVAILABLE", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status, "BAD_REQUEST")
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("%s %s failed", request.method, request.path_qs[:200])
        return error_response(500, "INTERNAL", "internal error (logged on the server)")


def build_app(hub: Hub) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app[HUB] = hub
    app[ROUTES_KEY] = ROUTES
    for route in ROUTES:
        app.router.add_get(route.path, _checked(route))
    return app


# --- errors raised before a request reaches the app ----------------------------------------

REFUSAL_LOG_INTERVAL_S = 60.0
"""Malformed HTTP requests are logged once per interval (with a count), never one line each."""


class _RefusalLog:
    """One INFO line per interval for client mistakes aiohttp's parser catches: no traceback,
    no log flood from a client (or a scanner) that sends garbage."""

    def __init__(self) -> None:
        self.count = 0
        self.unlogged = 0
        self.last_log = -REFUSAL_LOG_INTERVAL_S

    def note(self, status: int, message: str, peer: str | None) -> None:
        self.count += 1
        self.unlogged += 1
        now = time.monotonic()
        if now - self.last_log >= REFUSAL_LOG_INTERVAL_S:
            log.info(
                "refused %d malformed HTTP request(s) in the last %.0f s; latest from %s: %d %s",
                self.unlogged,
                min(now - self.last_log, REFUSAL_LOG_INTERVAL_S),
                peer,
                status,
                message,
            )
            self.unlogged = 0
            self.last_log = now


REFUSALS = _RefusalLog()


def _json_error(status: int, code: str, message: str) -> web.Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    resp = web.Response(body=body, status=status, content_type="application/json")
    resp.force_close()
    return resp


class _JsonErrorHandler(RequestHandler):
    """aiohttp's protocol handler, with its own error replies in the JSON error shape.

    aiohttp answers requests its HTTP parser refuses (a raw space in the URL, a line over
    8190 bytes, too many headers, a malformed method) in `handle_error`, before any middleware
    runs, with a text/plain body and an ERROR traceback in the log. Here a 4xx is a client
    mistake: JSON body, rate-limited one-line log. A 5xx stays an ERROR with its traceback.
    """

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        text = (message or (str(exc) if exc else "") or "malformed HTTP request").strip()
        detail = text.splitlines()[0][:200] if text else "malformed HTTP request"
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            REFUSALS.note(status, detail, request.remote)
        if request.writer.output_size > 0:  # part of a response went out: the connection is broken
            raise ConnectionError(
                "Response is sent already, cannot send another response with the error message"
            )
        if status >= 500:
            code, text = (
                ("UNAVAILABLE", "request timed out") if status == 504 else ("INTERNAL", "internal error")
            )
            return _json_error(status, code, text)
        return _json_error(status, "BAD_REQUEST", detail)


class _JsonErrorServer(web.Server):
    guard: ConnectionGuard | None = None
    """Connection caps and the request deadline (`limits.py`), set by `Runner`."""

    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if self.guard is not None:
            self.guard.opened(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        if self.guard is not None:
            self.guard.closed(handler)
        super().connection_lost(handler, exc)


class Runner(web.AppRunner):
    """`web.AppRunner` whose connections answer parser-level errors in the JSON error shape and
    are counted against the connection limits (`guard`)."""

    guard: ConnectionGuard | None = None

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer  # same object, methods more: no private state copied
        assert isinstance(server, _JsonErrorServer)
        server.guard = self.guard
        return server


def make_runner(hub: Hub, **kwargs: Any) -> web.AppRunner:
    """The runner `betex serve` starts: `build_app(hub)` behind JSON-shaped parser errors and
    the hub's connection guard (if it has one)."""
    runner = Runner(build_app(hub), **kwargs)
    runner.guard = hub.guard
    return runner
