"""What every server module shares: the app key that holds the Hub, and the JSON response shapes.

Its own module so that the HTTP handlers (`http.py`), the WebSocket handlers (`ws.py`) and the
application that routes to both (`app.py`) import it, and never each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

if TYPE_CHECKING:
    from .hub import Hub

HUB: web.AppKey[Hub] = web.AppKey("hub")
ROUTES_KEY: web.AppKey[tuple[Any, ...]] = web.AppKey("routes")
"""`app.ROUTES`, for the `/` index (a key, so that http.py need not import app.py)."""

_JSON = "application/json"


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)


def error_response(status: int, code: str, message: str) -> web.Response:
    """The one HTTP error shape: `{"error": {"code", "message"}}` (protocol.md "HTTP")."""
    return json_response({"error": {"code": code, "message": message}}, status)


class NotFound(Exception):
    """An unknown market (or nothing to show): 404."""


class Unavailable(Exception):
    """A read that cannot be answered right now (the history store is behind): 503."""
