"""A small aiohttp helper for the server's read endpoints (protocol.md, HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp
import orjson

from . import messages as m
from .errors import HttpError, ServerUnreachable
from .records import OrderRow, Page, RiskRow, TradeRow
from .urls import DEFAULT_URL, http_base

T = TypeVar("T")


class BetexHttp:
    """`async with BetexHttp("ws://127.0.0.1:3000") as h: await h.metrics()`.

    Accepts the same ws:// URL as the WebSocket client. Raises ServerUnreachable when the
    server cannot be reached and HttpError for error bodies.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 10.0,
        token: str | None = None,
        key: str | None = None,
    ) -> None:
        self.base = http_base(url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # The admin token reads every account; an API key its own (/orders, /risk in keys mode).
        credential = token or key
        self._headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BetexHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (the object can be used again: a new session opens)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, **params: Any) -> Any:
        """GET `path` with the non-None `params`; returns the decoded JSON body."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        query = {k: str(v) for k, v in params.items() if v is not None}
        try:
            async with self._session.get(self.base + path, params=query) as resp:
                body = await resp.read()
                status = resp.status
                ctype = resp.headers.get("Content-Type", "")
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ServerUnreachable(f"cannot reach {self.base}{path}: {exc or type(exc).__name__}") from exc
        if "json" not in ctype and status < 400:
            return body.decode()
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
        if status >= 400:
            err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
            raise HttpError(status, str(err.get("code", status)), str(err.get("message", body[:200])))
        return data

    async def health(self) -> dict[str, Any]:
        """`/health`: `{"status", "seq", "wal"}`; raises HttpError(503) while recovering."""
        return await self.get("/health")  # type: ignore[no-any-return]

    async def metrics(self) -> dict[str, Any]:
        """`/metrics` as JSON (counters, latencies; see protocol.md)."""
        return await self.get("/metrics")  # type: ignore[no-any-return]

    async def snapshot(self, market_id: int | None = None, depth: int | None = None) -> m.Snapshot:
        """A market's current SNAPSHOT (the lowest-id market without `market_id`)."""
        return m.parse_snapshot(await self.get("/snapshot", market_id=market_id, depth=depth))

    async def markets(self) -> tuple[m.MarketInfo, ...]:
        """Every market, by id."""
        return m.parse_market_list(await self.get("/markets")).markets

    async def risk(self, market_id: int | None = None, account_id: int | None = None) -> list[RiskRow]:
        """P&L and exposure per account in a market (every account without `account_id`)."""
        body = await self.get("/risk", market_id=market_id, account_id=account_id)
        return [RiskRow.from_wire(r) for r in body.get("risk", [])]

    async def orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[OrderRow]:
        """One page of orders, newest first; `status` is "open" or "complete". Pass the page's
        `next_cursor` as `cursor` for the next one (`all_orders` walks them for you)."""
        body = await self.get(
            "/orders", market_id=market_id, account_id=account_id, status=status, limit=limit, cursor=cursor
        )
        return _page(body, "orders", OrderRow.from_wire)

    async def all_orders(
        self, market_id: int | None = None, account_id: int | None = None, status: str | None = None
    ) -> list[OrderRow]:
        """Every matching order, newest first (follows the cursor through all pages)."""
        out: list[OrderRow] = []
        cursor = None
        while True:
            page = await self.orders(market_id, account_id, status, limit=1000, cursor=cursor)
            out.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return out

    async def completed_orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[OrderRow]:
        """One page of completed orders, most recently completed first."""
        body = await self.get(
            "/completed_orders", market_id=market_id, account_id=account_id, limit=limit, cursor=cursor
        )
        return _page(body, "orders", OrderRow.from_wire)

    async def trades(
        self, market_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[TradeRow]:
        """One page of trades, newest first (voided ones flagged)."""
        body = await self.get("/trades", market_id=market_id, limit=limit, cursor=cursor)
        return _page(body, "trades", TradeRow.from_wire)


def _page(body: dict[str, Any], key: str, make: Callable[[dict[str, Any]], T]) -> Page[T]:
    return Page(tuple(make(r) for r in body.get(key, [])), body.get("next_cursor"), body.get("seq", 0))
