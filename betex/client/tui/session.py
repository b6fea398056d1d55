"""The TUI's network side: one `/ws_ctl` connection, two command channels, the poll loop.

Three loops, as in the reference TUI:
- WebSocket: `BetexClient` keeps the connection up (first connect retried forever here, then
  the client's own reconnect with exponential backoff). Every server message goes to the UI as
  an update, except replies to bot commands, which go straight to the bots. The sender drains
  the user channel first and the bots' droppable channel only when no user command waits.
- Metrics/poll: `/metrics` (rates over a sliding window, sticky stage p50/p99), `/markets`, and
  for the selected market `/trades` and this account's `/orders`; plus bot counters.
- The UI loop is Textual's own; it receives updates through `post(update)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from .. import messages as m
from ..connection import Backoff, BetexClient, ConnectionStatus
from ..errors import AccessRefused, ClientError, NotConnected, ServerUnreachable
from ..http import BetexHttp
from .botpool import BotPool
from .config import TuiConfig
from .metrics import MetricsTracker, MetricsView
from .state import (
    AccountBound,
    ConnView,
    MarketsUpdate,
    Notice,
    OrderRow,
    OrdersUpdate,
    RiskView,
    StatusUpdate,
    TradeRow,
    TradesUpdate,
    Update,
)

log = logging.getLogger("betex.tui")

TRADES_SHOWN = 12
ORDERS_SHOWN = 30


def url_depth(url: str) -> int | None:
    raw = dict(parse_qsl(urlsplit(url).query)).get("depth")
    return int(raw) if raw and raw.isdigit() else None


class Session:
    def __init__(self, cfg: TuiConfig, post: Callable[[Update], object]) -> None:
        self.cfg = cfg
        self.post = post
        self.client = BetexClient(
            cfg.url,
            no_ack=cfg.no_ack,
            token=cfg.token,
            key=cfg.key,
            backoff=Backoff(initial=0.1, maximum=5.0),
            max_message_bytes=32 * 1024 * 1024 if cfg.high_throughput else 8 * 1024 * 1024,
        )
        self.http = BetexHttp(cfg.url, timeout=2.0, token=cfg.token, key=cfg.key)
        self.depth = url_depth(cfg.url)
        self.user_q: asyncio.Queue[bytes] = asyncio.Queue()
        self.wake = asyncio.Event()
        self.poll_now = asyncio.Event()
        self.pool = BotPool(self.client, cfg, self.send_quiet, self.wake, auth=None)
        self.tracker = MetricsTracker(cfg.rate_window)
        self.market_id: int | None = None
        self.account_id = cfg.account_id or 1
        """Whom manual orders, my orders and my P&L are for: `--account`, or with an API key the
        key's account as the server reports it at each connect (`BetexClient.account_id`)."""
        self._unsubs: list[Callable[[], None]] = []
        self._problem_shown = False
        self.orders_stale = True
        """Set by an ORDER_UPDATE for our account (the order stream): only then does the poll
        fetch `/orders` again, instead of every interval."""

    # --- commands (called from the UI) ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.client.connected

    def command(self, msg: dict[str, Any], account_id: int = 0) -> int | None:
        """Queue a user command on the priority channel; its correlation_id, or None if offline."""
        if not self.client.connected:
            return None
        ((_, body),) = msg.items()
        cid = body.get("correlation_id")
        if cid is None:
            cid = body["correlation_id"] = self.client.next_correlation_id(account_id)
        self.user_q.put_nowait(orjson.dumps(msg))
        self.wake.set()
        return int(cid)

    def send_quiet(self, msg: dict[str, Any]) -> None:
        """A housekeeping command on the user channel whose reply nobody waits for."""
        if self.client.connected:
            self.user_q.put_nowait(orjson.dumps(msg))
            self.wake.set()

    def subscribe(self, market_id: int) -> None:
        """Stream `market_id` (kept across reconnects) and point the bots at it."""
        self.market_id = market_id
        self.client.market_id = market_id
        self.send_quiet(m.subscribe(market_id, self.depth))
        self.pool.retarget(market_id)
        self.orders_stale = True
        self.poll_now.set()

    def refresh(self) -> None:
        self.send_quiet(m.list_markets())
        self.poll_now.set()

    # --- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """All loops until cancelled; then closes the connection and the HTTP session."""
        c = self.client
        self._unsubs = [c.on_message(self._on_message), c.on_connection(self._on_connection)]
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(self._connect(), name="tui-connect"),
            loop.create_task(self._sender(), name="tui-sender"),
            loop.create_task(self._poll(), name="tui-poll"),
            loop.create_task(self.pool.run(), name="tui-bots"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            for off in self._unsubs:
                off()
            with contextlib.suppress(Exception):
                await self.pool.close()
            with contextlib.suppress(Exception):
                await c.close()
            with contextlib.suppress(Exception):
                await self.http.close()

    async def _connect(self) -> None:
        """The first connection, retried until it works; the client reconnects by itself after."""
        backoff = Backoff(initial=0.2, maximum=5.0)
        while True:
            try:
                await self.client.connect(timeout=self.cfg.connect_timeout)
                self._bind_account()
                with contextlib.suppress(ClientError):
                    await self.client.subscribe_orders(self.account_id)
                return
            except (ServerUnreachable, AccessRefused) as exc:  # shown, and tried again (a key may be issued)
                delay = backoff.next_delay()
                st = self.client.status
                self.post(
                    ConnView(
                        "RECONNECTING",
                        st.url,
                        st.last_seq,
                        0.0,
                        st.reconnects,
                        st.failed_attempts,
                        delay,
                        str(exc).split(": ", 1)[-1],
                    )
                )
                await asyncio.sleep(delay)

    def _bind_account(self) -> None:
        """With an API key the server says which account the connection trades as; that one
        wins over `--account` (which the server would refuse as UNAUTHORIZED anyway)."""
        bound = self.client.account_id
        if bound is None:
            return
        if bound != self.account_id:
            if self.cfg.account_id is not None:
                text = f"the API key is for account {bound}, not --account {self.cfg.account_id}: trading as {bound}"
                self.post(Notice(text, "error"))
            self.account_id = bound
            self.orders_stale = True
        self.post(AccountBound(bound))

    def _conn_view(self, st: ConnectionStatus | None = None) -> ConnView:
        st = st or self.client.status
        return ConnView(
            str(st.state),
            st.url,
            st.last_seq,
            round(st.lag_ms, 1),
            st.reconnects,
            st.failed_attempts,
            st.next_retry_s,
            st.last_error,
        )

    def _on_connection(self, st: ConnectionStatus) -> None:
        if not st.connected:
            self.pool.on_disconnect()
            lost = 0
            while not self.user_q.empty():
                self.user_q.get_nowait()
                lost += 1
            if lost:
                self.post(Notice(f"{lost} queued command(s) not sent: connection lost", "error"))
        else:
            self.poll_now.set()
        self.post(self._conn_view(st))

    def _on_message(self, msg: m.ServerMsg) -> None:
        t = type(msg)
        if t is m.Status:
            self.post(StatusUpdate(msg, self._conn_view()))  # type: ignore[arg-type]
            return
        if t is m.OrderUpdate:
            upd: m.OrderUpdate = msg  # type: ignore[assignment]
            if upd.market_id == self.market_id and not self.orders_stale:
                self.orders_stale = True
                self.poll_now.set()
            return
        if t is not m.Snapshot:
            cid = getattr(msg, "correlation_id", None)
            if self.pool.owns(cid):
                self.pool.on_reply(msg)
                return
        self.post(msg)

    async def _sender(self) -> None:
        user_q, bot_q, pool = self.user_q, self.pool.queue, self.pool
        while True:
            bot = None
            if not user_q.empty():
                data = user_q.get_nowait()
            elif not bot_q.empty():
                bot, _, data = bot_q.get_nowait()
            else:
                self.wake.clear()
                await self.wake.wait()
                continue
            try:
                await (self.client if bot is None else pool.client_of(bot)).send(data)
            except NotConnected:
                if bot is not None:
                    pool.lost(bot)
                else:
                    self.post(Notice("command not sent: not connected", "error"))

    # --- polling ---------------------------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            await self.poll_once()
            self.poll_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poll_now.wait(), self.cfg.poll_interval)

    async def poll_once(self) -> None:
        h = self.http
        try:
            body = await h.metrics()
        except (ClientError, ValueError) as exc:
            self.post(MetricsView(error=_short(exc)))
            self.post(self.pool.view())
            return
        self.post(self.tracker.update(body, time.monotonic()))
        limits = body.get("limits") if isinstance(body, dict) else None
        if isinstance(limits, dict):
            self.pool.auth = str(limits.get("auth", "open"))
        if self.pool.problem is not None and not self._problem_shown:
            self._problem_shown = True
            self.post(Notice(self.pool.problem, "error"))
        with contextlib.suppress(ClientError, ValueError, KeyError, TypeError):
            self.post(MarketsUpdate(await h.markets()))
        mid = self.market_id
        if mid is not None:
            with contextlib.suppress(ClientError, ValueError, KeyError, TypeError):
                trades = await h.trades(market_id=mid, limit=TRADES_SHOWN)
                self.post(TradesUpdate(mid, tuple(TradeRow.from_wire(asdict(t)) for t in trades.items)))
            acct = self.account_id
            streaming = acct in self.client.order_seqs
            if self.orders_stale or not streaming:  # the order stream said something changed
                with contextlib.suppress(ClientError, ValueError, KeyError, TypeError):
                    self.orders_stale = False
                    page = await h.orders(market_id=mid, account_id=acct, limit=ORDERS_SHOWN)
                    self.post(OrdersUpdate(mid, tuple(OrderRow.from_wire(asdict(o)) for o in page.items)))
            with contextlib.suppress(ClientError, ValueError, KeyError, TypeError):
                risk = await h.risk(market_id=mid, account_id=acct)
                mine = [r for r in risk if r.account_id == acct]
                self.post(RiskView.from_row(mid, mine[0] if mine else None))
            if self.cfg.no_ack and self.pool.bots:
                with contextlib.suppress(ClientError, ValueError, KeyError, TypeError):
                    self.pool.feed_risk(await h.risk(market_id=mid))
        self.post(self.pool.view())


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]
