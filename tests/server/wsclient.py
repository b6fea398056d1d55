"""A small test client for `/ws_ctl`: request/reply by correlation id, snapshots kept apart,
every server message optionally validated against the protocol schema.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "betex" / "core" / "protocol" / "schema" / "protocol.schema.json"

REPLY_TYPES = ("ACK", "ORDER_RESPONSE", "MARKET_CREATED", "MARKET_UPDATED", "MARKET_LIST", "ERROR")


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


class Client:
    def __init__(self, ws: ClientConnection, validate: Callable[[dict[str, Any]], None] | None) -> None:
        self.ws = ws
        self.validate = validate
        self.messages: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.uncorrelated: list[dict[str, Any]] = []
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._cid = itertools.count(1_000)
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self.close_code: int | None = None
        self.errors: list[BaseException] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        validate: Callable[[dict[str, Any]], None] | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Client:
        ws = await connect(url, additional_headers=headers, max_size=None, open_timeout=5, **kw)
        return cls(ws, validate)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if self.validate is not None:
                    try:
                        self.validate(msg)
                    except Exception as exc:  # kept and re-raised by the test via `check()`
                        self.errors.append(exc)
                self.messages.append(msg)
                ((kind, body),) = msg.items()
                if kind == "SNAPSHOT":
                    self.snapshots.append(body)
                elif kind == "STATUS":
                    self.statuses.append(body)
                else:
                    cid = body.get("correlation_id")
                    fut = self._waiting.pop(cid, None) if cid is not None else None
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    else:
                        self.uncorrelated.append(msg)
                self._changed.set()
        except Exception as exc:  # connection closed: remember how
            self.errors.append(exc) if not _is_close(exc) else None
        finally:
            self.close_code = self.ws.close_code
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"closed with {self.ws.close_code}"))
            self._changed.set()

    def check(self) -> None:
        if self.errors:
            raise self.errors[0]

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def request(
        self, kind: str, body: dict[str, Any] | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Send `{kind: body}` with a fresh correlation id; the reply message (`{TYPE: body}`)."""
        body = dict(body or {})
        cid = body.setdefault("correlation_id", next(self._cid))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[cid] = fut
        await self.ws.send(json.dumps({kind: body}))
        return await asyncio.wait_for(fut, timeout)

    async def call(self, kind: str, body: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        ((rtype, rbody),) = (await self.request(kind, body)).items()
        return rtype, rbody

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not pred():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("condition not met")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def next_uncorrelated(self, timeout: float = 5.0) -> dict[str, Any]:
        n = len(self.uncorrelated)
        await self.wait_for(lambda: len(self.uncorrelated) > n or self.close_code is not None, timeout)
        if len(self.uncorrelated) > n:
            return self.uncorrelated[n]
        raise ConnectionError(f"closed with {self.close_code}")

    async def close(self) -> None:
        await self.ws.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._reader.cancel()


def _is_close(exc: BaseException) -> bool:
    from websockets.exceptions import ConnectionClosed

    return isinstance(exc, ConnectionClosed)
