"""HTTP history queries (`/orders`, `/completed_orders`, `/trades`, settled `/risk`) on the
SQLite history store, answered off the event loop.

One reader thread holds one read-only connection (SQLite connections stay on their thread);
queries are short keyset pages, so one thread keeps the loop free without contending for the
GIL more than the work itself does. Read-your-writes: a query first waits until the store has
applied the projection's seq, which is at least the seq of every reply already delivered, so a
client that got its ORDER_RESPONSE sees its order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from betex.core.domain.types import MarketModel
from betex.core.protocol import render
from betex.core.readmodel.history import Page, SQLiteHistory

T = TypeVar("T")
_ODDS = MarketModel.EXCHANGE_ODDS.value
CATCH_UP_TIMEOUT_S = 5.0


class HistoryReads:
    """Pages of the history store rendered for the wire, from a dedicated reader thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="history-read")
        self._local = threading.local()

    def _store(self) -> SQLiteHistory:
        store: SQLiteHistory | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = SQLiteHistory.open_reader(self.path)
        return store

    async def _call(self, fn: Callable[[SQLiteHistory], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._store()))

    def close(self) -> None:
        def close_store() -> None:
            store = getattr(self._local, "store", None)
            if store is not None:
                store.close()
                self._local.store = None

        self._executor.submit(close_store)
        self._executor.shutdown(wait=True)

    @staticmethod
    def _render(
        store: SQLiteHistory, page: Page, key: str, fn: Callable[[dict[str, Any], str], dict[str, Any]]
    ) -> dict[str, Any]:
        models = store.market_models(r["market_id"] for r in page.rows)
        rows = [fn(r, models.get(r["market_id"], _ODDS)) for r in page.rows]
        return {"seq": page.seq, key: rows, "next_cursor": page.cursor}

    async def orders(self, **query: Any) -> dict[str, Any]:
        """GET /orders body (ValueError on a bad cursor or status)."""
        return await self._call(lambda s: self._render(s, s.orders(**query), "orders", render.history_order))

    async def completed_orders(self, **query: Any) -> dict[str, Any]:
        return await self._call(
            lambda s: self._render(s, s.completed_orders(**query), "orders", render.history_order)
        )

    async def trades(self, **query: Any) -> dict[str, Any]:
        return await self._call(lambda s: self._render(s, s.trades(**query), "trades", render.history_trade))

    async def settlements(self, market_id: int, account_id: int | None) -> dict[str, Any]:
        """Settled P&L rows of a market, for /risk once the live read model has let it go."""

        def read(s: SQLiteHistory) -> dict[str, Any]:
            rows: list[dict[str, Any]] = []
            cursor = None
            while True:
                page = s.settlements(market_id, account_id, cursor, 10_000)
                rows.extend(page.rows)
                cursor = page.cursor
                if cursor is None:
                    break
            model = s.market_models([market_id]).get(market_id, _ODDS)
            scale = render.money_scale(model)
            out = [
                {
                    "market_id": r["market_id"],
                    "account_id": r["account_id"],
                    "if_win": [],
                    "worst_case": 0.0,
                    "worst_case_with_unmatched": 0.0,
                    "matched_volume": 0.0,
                    "open_orders": 0,
                    "max_liability": None,
                    "settled_pnl": r["gross"] / scale,
                    "commission": r["commission"] / scale,
                    "net_pnl": r["net"] / scale,
                }
                for r in sorted(rows, key=lambda r: r["account_id"])
            ]
            return {"seq": page.seq, "risk": out}

        return await self._call(read)
