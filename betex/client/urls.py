"""URL plumbing: one `--url` (ws://host:port, optionally with a path/query) serves WS and HTTP."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_URL = "ws://127.0.0.1:3000"


def _normalise(url: str) -> str:
    return url if "://" in url else f"ws://{url}"


def ws_ctl_url(
    url: str = DEFAULT_URL,
    *,
    market_id: int | None = None,
    depth: int | None = None,
    no_ack: bool = False,
    token: str | None = None,
    path: str = "/ws_ctl",
    key: str | None = None,
) -> str:
    """The control-plane URL; query parameters already in `url` are kept unless overridden."""
    parts = urlsplit(_normalise(url))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = dict(parse_qsl(parts.query))
    if market_id is not None:
        query["market_id"] = str(market_id)
    if depth is not None:
        query["depth"] = str(depth)
    if no_ack:
        query["no_ack"] = "1"
    if token:
        query["token"] = token
    if key:
        query["key"] = key  # an API key (serve --auth keys): the connection trades as its account
    p = parts.path if parts.path not in ("", "/") else path
    return urlunsplit((scheme, parts.netloc, p, urlencode(query), ""))


def http_base(url: str = DEFAULT_URL) -> str:
    """`http://host:port` for the HTTP endpoints of the server behind a ws:// or http:// URL."""
    parts = urlsplit(_normalise(url))
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))
