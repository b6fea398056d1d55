"""The aiohttp application: every route in one table, and the middleware that shapes errors.

`http.py` (read API) and `ws.py` (streams and control plane) hold the handlers; this module is
the only one that imports both.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import http, params, ws
from .context import HUB, NotFound, error_response
from .hub import Hub

log = logging.getLogger("betex.server.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/health", http.health),
    ("/snapshot", http.snapshot),
    ("/markets", http.markets),
    ("/orders", http.orders),
    ("/completed_orders", http.completed_orders),
    ("/trades", http.trades),
    ("/risk", http.risk),
    ("/metrics", http.metrics),
    ("/debug/live_counts", http.live_counts),
    ("/ws", ws.ws_handler),
    ("/ws_ctl", ws.ws_ctl_handler),
)
"""Every GET route the server answers."""


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except params.ParamError as exc:
        return error_response(400, "BAD_REQUEST", str(exc))
    except NotFound as exc:
        return error_response(404, "INVALID_MARKET", str(exc))
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
    for path, handler in ROUTES:
        app.router.add_get(path, handler)
    return app
