"""HTTP read API over the projection, plus `/health` and `/metrics` (routes: `app.py`).

Handlers run on the loop thread, the projection's only writer, so they read it without locks.
They raise `params.ParamError` (400) or `context.NotFound` (404); `app.error_middleware` turns
every failure into `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import shutil
from typing import TYPE_CHECKING, Any

from aiohttp import web

from betex import __version__
from betex.core.protocol import render

from . import params
from .auth import credentials
from .context import HUB, ROUTES_KEY, NotFound, Unavailable, error_response, json_response
from .metrics import PROMETHEUS_CONTENT_TYPE, metrics_json, prometheus_exposition

if TYPE_CHECKING:
    from .historyread import HistoryReads
    from .hub import Hub

log = logging.getLogger("betex.server.http")


def _ready(request: web.Request) -> Hub | web.Response:
    hub = request.app[HUB]
    if not hub.ready:
        return error_response(503, "UNAVAILABLE", "server is recovering")
    return hub


async def health(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    if not hub.ready:
        return json_response(
            {"status": "recovering", "seq": 0, "wal": "recovering",
             "error": {"code": "UNAVAILABLE", "message": "server is recovering"}},
            503,
        )  # fmt: skip
    failed = hub.runtime.failed
    if failed is not None or hub.projection_error is not None:
        message = (
            f"engine stopped: {failed}"
            if failed is not None
            else f"projection failed: {hub.projection_error}"
        )
        return json_response(
            {"status": "failed", "seq": hub.projection_seq(), "wal": "failed" if failed is not None else "ok",
             "error": {"code": "UNAVAILABLE", "message": message}},
            503,
        )  # fmt: skip
    free = _disk_free(hub)
    needed = MIN_FREE_BYTES
    if free is not None and free < needed:
        return json_response(
            {"status": "low_disk", "seq": hub.projection_seq(), "wal": "ok", "disk_free_bytes": free,
             "error": {"code": "UNAVAILABLE",
                       "message": f"ENOSPC ahead: {free} bytes free in {hub.config.data_dir}, a WAL write needs {needed}"}},
            503,
        )  # fmt: skip
    return json_response({"status": "ok", "seq": hub.projection_seq(), "wal": "ok", "disk_free_bytes": free})


MIN_FREE_BYTES = 16 << 20
"""Free space in the data dir below which /health is not "ok": a WAL commit of a full batch,
an LMDB map growth step and a snapshot must still fit (the next write could fail-stop the
engine, so an operator is told before it does)."""


def _disk_free(hub: Hub) -> int | None:
    try:
        return shutil.disk_usage(hub.config.data_dir).free
    except OSError:
        return None


def _market_or_default(hub: Hub, query: Any) -> int:
    market_id = params.market_id(query)
    if market_id is None:
        market_id = hub.projection.default_market_id()
        if market_id is None:
            raise NotFound("no markets yet")
    return market_id


async def snapshot(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    market_id = _market_or_default(hub, request.query)
    body = render.snapshot(hub.projection, market_id, params.depth(request.query))
    if body is None:
        raise NotFound(f"unknown market {market_id}")
    return json_response(body)


async def markets(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    return json_response({"markets": render.market_list(hub.projection)})


def _owner(request: web.Request, hub: Hub) -> int | None | web.Response:
    """The `account_id` a private read (/orders, /completed_orders, /risk) may show.

    Open mode: whatever was asked (the server trusts its loopback clients). Keys mode: the admin
    token may read any account (or all); an API key reads its own account, which an omitted
    `account_id` means; anything else is 401 (no or a bad credential) or 403 (another account).
    """
    asked = params.account_id(request.query)
    config = hub.config
    if config.auth != "keys":
        return asked
    cred = credentials(request, config.admin_token, hub.keys)
    if cred.bad is not None:
        hub.refusals.note("unauthorized", cred.bad, request.remote)
        return error_response(401, "UNAUTHORIZED", cred.bad)
    if cred.admin:
        return asked
    if cred.account_id is None:
        hub.refusals.note("unauthorized", f"no key for {request.path}", request.remote)
        return error_response(
            401, "UNAUTHORIZED", f"{request.path} needs the account's API key or the admin token"
        )
    if asked is not None and asked != cred.account_id:
        hub.refusals.note("unauthorized", f"key of {cred.account_id} asked for {asked}", request.remote)
        return error_response(403, "UNAUTHORIZED", f"this key is for account {cred.account_id}, not {asked}")
    return cred.account_id


def _cursor(query: Any) -> str | None:
    raw = query.get("cursor")
    if raw is None or raw == "":
        return None
    if len(raw) > 200:
        raise params.ParamError("cursor is not one this server gave out")
    return str(raw)


async def _history(hub: Hub) -> HistoryReads | None:
    """The history store once it has every event the read model has applied (read-your-writes);
    None when it failed (the in-memory read model answers instead, as before the store)."""
    reads = hub.history_reads
    if reads is None or hub.history_error() is not None:
        return None
    if not await hub.history_caught_up(hub.projection_seq()):
        if hub.history_error() is not None:
            return None
        raise Unavailable("the history store is behind; retry shortly")
    return reads


async def orders(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    q = request.query
    status = params.choice(q, "status", ("open", "complete"))
    owner = _owner(request, hub)
    if isinstance(owner, web.Response):
        return owner
    query: dict[str, Any] = {
        "market_id": params.market_id(q),
        "account_id": owner,
        "limit": params.limit(q),
        "cursor": _cursor(q),
    }
    reads = await _history(hub)
    if reads is None:
        del query["cursor"]
        return json_response(render.orders(hub.projection, status=status, **query))
    try:
        body = await reads.orders(status=status, **query)
    except ValueError as exc:
        raise params.ParamError(str(exc)) from exc
    return json_response(body)


async def completed_orders(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    q = request.query
    owner = _owner(request, hub)
    if isinstance(owner, web.Response):
        return owner
    query: dict[str, Any] = {
        "market_id": params.market_id(q),
        "account_id": owner,
        "limit": params.limit(q),
        "cursor": _cursor(q),
    }
    reads = await _history(hub)
    if reads is None:
        del query["cursor"]
        return json_response(render.completed_orders(hub.projection, **query))
    try:
        body = await reads.completed_orders(**query)
    except ValueError as exc:
        raise params.ParamError(str(exc)) from exc
    return json_response(body)


async def trades(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    q = request.query
    market_id, limit, cursor = params.market_id(q), params.limit(q), _cursor(q)
    reads = await _history(hub)
    if reads is None:
        return json_response(render.trades(hub.projection, market_id=market_id, limit=limit))
    try:
        body = await reads.trades(market_id=market_id, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise params.ParamError(str(exc)) from exc
    return json_response(body)


async def risk(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    q = request.query
    owner = _owner(request, hub)
    if isinstance(owner, web.Response):
        return owner
    market_id = _market_or_default(hub, q)
    body = render.risk(hub.projection, market_id=market_id, account_id=owner)
    if body is None or not body["risk"]:
        # a settled market whose rows the live read model let go: its settled P&L from history
        reads = await _history(hub)
        if reads is not None:
            settled = await reads.settlements(market_id, owner)
            if settled["risk"]:
                body = settled
    if body is None:
        raise NotFound(f"unknown market {market_id}")
    return json_response(body)


async def metrics(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    fmt = params.choice(request.query, "format", ("json", "prometheus"))
    if fmt == "prometheus":
        body = await prometheus_exposition(hub)
        return web.Response(body=body, headers={"Content-Type": PROMETHEUS_CONTENT_TYPE})
    return json_response(metrics_json(hub))


async def live_counts(request: web.Request) -> web.StreamResponse:
    hub = _ready(request)
    if isinstance(hub, web.Response):
        return hub
    return json_response(hub.projection.live_counts())


_SCHEMA_FILE = ("betex.core.protocol", "schema/protocol.schema.json")


@functools.cache
def _schema_bytes() -> bytes:
    package, name = _SCHEMA_FILE
    return importlib.resources.files(package).joinpath(name).read_bytes()


async def schema(request: web.Request) -> web.StreamResponse:
    """The protocol's JSON Schema (draft 2020-12), as shipped in the package."""
    return web.Response(body=_schema_bytes(), content_type="application/schema+json")


async def index(request: web.Request) -> web.StreamResponse:
    """A short index: every endpoint with a link, the query parameters it takes and what it is."""
    origin = request.url.origin()
    ws_origin = origin.with_scheme("wss" if origin.scheme == "https" else "ws")
    endpoints = []
    for route in request.app[ROUTES_KEY]:
        base = ws_origin if route.path.startswith("/ws") else origin
        endpoints.append(
            {
                "path": route.path,
                "href": str(base.with_path(route.path)),
                "params": sorted(route.params),
                "summary": route.summary,
            }
        )
    return json_response(
        {
            "name": "betex",
            "version": __version__,
            "schema": str(origin.with_path("/schema")),
            "docs": "docs/protocol.md (HTTP: section 6; WebSocket: sections 2-5)",
            "endpoints": endpoints,
        }
    )
