"""Drives a set of bots over one `BetexClient`: an open-loop schedule, reply routing, latency.

Open loop: command `k` is *scheduled* at `t0 + k / rate`, fixed in advance. Whenever the loop
wakes it sends every command that is due, late or not, and a reply's latency is measured from
its command's scheduled time. A stall anywhere (this process, the socket, the server) thus
shows up as latency for every command it delayed, instead of quietly lowering the send rate
(coordinated omission). Slots are handed to bots round-robin; a bot with nothing to do passes
its slot to the next one.

`rate=0` means "as fast as possible": with acks, a window of `max_inflight` outstanding
commands (closed loop; latency from the actual send time); without acks, bursts between yields.

Lock-step mode (`run_lockstep`) trades reproducibility for speed: each step waits until the
server's snapshot reflects every reply, lets each bot issue up to `max_burst` commands against
that one view, awaits every reply and delivers them in send order. On a fresh server the same
seed then yields the same orders, ids included.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from .. import messages as m
from ..connection import BetexClient, ConnectionStatus, ConnState
from ..errors import ClientError, NotConnected
from ..http import BetexHttp
from ..latency import LatencyRecorder
from ..records import RiskRow
from .base import Bot
from .book import NO_OUTCOME, BookView, MarketSpec
from .orders import Command, account_of, to_wire

_perf = time.perf_counter


class SlotRotation:
    """Who gets command slot `k`: bot `k mod n`; if it has nothing to do, the spare slot goes to
    the others in turn (a rotating pointer, so idle makers do not all feed the same noise bot).
    Shared by `BotRunner` and the TUI's bot pool."""

    __slots__ = ("spare",)

    def __init__(self) -> None:
        self.spare = 0

    def issue(self, bots: Sequence[Bot], slot: int, view: BookView | None) -> tuple[Bot, int, Command] | None:
        n = len(bots)
        owner = bots[slot % n]
        issued = owner.issue(view)
        if issued is not None:
            return owner, issued[0], issued[1]
        for _ in range(n - 1):
            self.spare = (self.spare + 1) % n
            b = bots[self.spare]
            if b is owner:
                self.spare = (self.spare + 1) % n
                b = bots[self.spare]
            issued = b.issue(view)
            if issued is not None:
                return b, issued[0], issued[1]
        return None


RISK_IDLE_POLLS = 10
"""No-ack bots refresh `/risk` on fills; with none for this many poll intervals, anyway."""


class BotRunner:
    """Runs `bots` against `client` (already connected and subscribed to `market`).

    `clients` (`--auth keys`): account → a connection bound to that account's key; a bot with
    one sends on it (and its replies come back on it), the others on `client`, which then only
    supplies the snapshots. `risk` reads `/risk` for the bots' accounts (no-ack mode); default:
    `http.risk(market_id)`.
    """

    def __init__(
        self,
        client: BetexClient,
        market: MarketSpec,
        bots: list[Bot],
        *,
        rate: float = 1000.0,
        http: BetexHttp | None = None,
        max_inflight: int = 128,
        risk_poll_s: float = 1.0,
        clients: Mapping[int, BetexClient] | None = None,
        risk: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        if not bots:
            raise ValueError("a BotRunner needs at least one bot")
        self.client = client
        self.clients: dict[int, BetexClient] = dict(clients or {})
        self._risk = risk
        self._down: BetexClient | None = None
        """The connection a send last failed on (the one to wait for)."""
        self.market = market
        self.bots = bots
        self.rate = rate
        self.http = http
        self.max_inflight = max_inflight
        self.risk_poll_s = risk_poll_s
        self.acks = not client.no_ack
        self.latency = LatencyRecorder()
        self.sent = 0
        self.send_errors = 0
        self.lost = 0
        """Commands whose reply never came because the connection dropped."""
        self.idle_slots = 0
        self.elapsed = 0.0
        self._by_account = {b.account_id: b for b in bots}
        self._sched: dict[int, float] = {}
        self._view: BookView | None = None
        self._view_snap: m.Snapshot | None = None
        self._stop = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self._reply_evt = asyncio.Event()
        self._lock_replies: dict[int, asyncio.Future[m.Reply]] | None = None
        self._unsubs: list[Callable[[], None]] = []
        self._t_start: float | None = None
        self._last_progress = (0.0, 0)
        self._rotation = SlotRotation()

    # --- wiring ----------------------------------------------------------------------------------

    def attach(self) -> None:
        """Route replies to bots; idempotent. `run()` does it for you."""
        if self._unsubs:
            return
        c = self.client
        self._unsubs = [
            c.on(m.OrderResponse, self._on_reply),
            c.on(m.Ack, self._on_reply),
            c.on(m.ServerError, self._on_reply),
            c.on_connection(self._on_conn),
        ]
        for account, bc in self.clients.items():
            self._unsubs += [
                bc.on(m.OrderResponse, self._on_reply),
                bc.on(m.Ack, self._on_reply),
                bc.on(m.ServerError, self._on_reply),
                bc.on_connection(functools.partial(self._on_bot_conn, account)),
            ]

    def detach(self) -> None:
        for off in self._unsubs:
            off()
        self._unsubs = []

    def _on_reply(self, msg: Any) -> None:
        corr = msg.correlation_id
        if corr is None:
            return
        t = self._sched.pop(corr, None)
        if t is not None:
            self.latency.record_s(_perf() - t)
        if self._lock_replies is not None:
            fut = self._lock_replies.get(corr)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        bot = self._by_account.get(account_of(corr))
        if bot is not None:
            bot.on_reply(corr, msg)
        self._reply_evt.set()

    def _on_conn(self, status: ConnectionStatus) -> None:
        if self.clients:  # the bots send on their own connections; this one only streams
            for account in {b.account_id for b in self.bots} - self.clients.keys():
                self._on_bot_conn(account, status)
            return
        if status.state is not ConnState.CONNECTED and (self._sched or any(b.inflight for b in self.bots)):
            self.lost += len(self._sched)
            self._sched.clear()
            for b in self.bots:
                b.on_disconnect()
            self._reply_evt.set()

    def _on_bot_conn(self, account: int, status: ConnectionStatus) -> None:
        """A bot's own connection dropped: only its commands are lost."""
        if status.state is ConnState.CONNECTED:
            return
        lost = [corr for corr in self._sched if account_of(corr) == account]
        for corr in lost:
            del self._sched[corr]
        self.lost += len(lost)
        bot = self._by_account.get(account)
        if bot is not None and (lost or bot.inflight):
            bot.on_disconnect()
        self._reply_evt.set()

    def client_of(self, bot: Bot) -> BetexClient:
        """The connection `bot` sends on."""
        return self.clients.get(bot.account_id, self.client)

    # --- control ---------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def outstanding(self) -> int:
        return len(self._sched)

    def view(self) -> BookView | None:
        """The bots' view of the newest snapshot of the market (converted once per snapshot)."""
        snap = self.client.snapshots.get(self.market.market_id)
        if snap is not self._view_snap and snap is not None:
            self._view_snap = snap
            self._view = BookView.from_snapshot(snap)
        return self._view

    # --- open loop -------------------------------------------------------------------------------

    def _issue(self, slot: int, view: BookView | None) -> tuple[Bot, int, Command] | None:
        return self._rotation.issue(self.bots, slot, view)

    def _encode(self, bot: Bot, corr: int, cmd: Command) -> bytes:
        return orjson.dumps(to_wire(cmd, self.market.market_id, bot.account_id, self.market.model, corr))

    async def _send(self, bot: Bot, corr: int, cmd: Command, sched: float) -> bool:
        if self.acks:
            self._sched[corr] = sched
        client = self.client_of(bot)
        try:
            await client.send(self._encode(bot, corr, cmd))
        except NotConnected:
            self._down = client
            self.send_errors += 1
            self._sched.pop(corr, None)
            bot.on_disconnect()
            return False
        self.sent += 1
        return True

    async def run(self, duration: float | None = None) -> None:
        """Send until `duration` s have passed or `stop()`; then wait ≤ 5 s for outstanding replies."""
        self.attach()
        self._stop.clear()
        t_start = self._t_start = _perf()
        deadline = None if duration is None else t_start + duration
        poller = (
            asyncio.get_running_loop().create_task(self._poll_risk()) if not self.acks and self.http else None
        )
        try:
            if self.rate > 0:
                await self._run_open_loop(deadline)
            else:
                await self._run_flat_out(deadline)
        finally:
            self.elapsed = _perf() - t_start
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
        await self.drain(5.0)

    async def _wait_reconnect(self, deadline: float | None) -> bool:
        timeout = None if deadline is None else max(0.0, deadline - _perf())
        client, self._down = self._down or self.client, None
        try:
            waiter = asyncio.ensure_future(client.wait_connected(timeout))
            stopper = asyncio.ensure_future(self._stop.wait())
            done, pending = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for p in pending:
                p.cancel()
            return waiter in done and waiter.exception() is None
        except TimeoutError:
            return False

    async def _run_open_loop(self, deadline: float | None) -> None:
        rate = self.rate
        t0 = _perf()
        slot = 0
        while not self._stop.is_set():
            if not self._resume.is_set():
                await self._resume.wait()
                t0, slot = _perf(), 0
                continue
            now = _perf()
            if deadline is not None and now >= deadline:
                break
            due = int((now - t0) * rate) + 1
            view = self.view()
            while slot < due:
                sched = t0 + slot / rate
                issued = self._issue(slot, view)
                slot += 1
                if issued is None:
                    self.idle_slots += 1
                    continue
                if not await self._send(*issued, sched):
                    if not await self._wait_reconnect(deadline):
                        return
                    t0, slot, due = _perf(), 0, 0
                    break
            delay = t0 + slot / rate - _perf()
            await asyncio.sleep(delay if delay > 0.0005 else 0)

    async def _run_flat_out(self, deadline: float | None) -> None:
        slot = 0
        while not self._stop.is_set():
            if not self._resume.is_set():
                await self._resume.wait()
                continue
            if deadline is not None and _perf() >= deadline:
                break
            view = self.view()
            budget = self.max_inflight - len(self._sched) if self.acks else 256
            if budget <= 0:
                self._reply_evt.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._reply_evt.wait(), 0.05)
                continue
            for _ in range(budget):
                issued = self._issue(slot, view)
                slot += 1
                if issued is None:
                    self.idle_slots += 1
                    continue
                if not await self._send(*issued, _perf()):
                    if not await self._wait_reconnect(deadline):
                        return
                    break
            await asyncio.sleep(0)

    async def drain(self, timeout: float) -> None:
        """Wait until every sent command has its reply, or `timeout` s; the rest count as lost."""
        end = _perf() + timeout
        while self._sched and _perf() < end and self.client.connected:
            self._reply_evt.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reply_evt.wait(), min(0.05, max(0.0, end - _perf())))
        if self._sched:
            self.lost += len(self._sched)
            self._sched.clear()
            for b in self.bots:
                b.on_disconnect()

    async def _poll_risk(self) -> None:
        """Without acks bots cannot see their fills. They follow their accounts' order streams
        and fetch the server's matched if-win (`/risk`) when a fill arrives, at most every
        `risk_poll_s`; without a fill, every `RISK_IDLE_POLLS × risk_poll_s` as a safety net."""
        assert self.http is not None
        filled = asyncio.Event()
        accounts = self._by_account

        def on_update(u: m.OrderUpdate) -> None:
            if u.fill is not None and u.account_id in accounts:
                filled.set()

        streams = {self.client, *self.clients.values()}
        offs = [c.on_order_update(on_update) for c in streams]
        try:
            for account in accounts:
                with contextlib.suppress(ClientError):
                    await self.clients.get(account, self.client).subscribe_orders(account)
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(filled.wait(), RISK_IDLE_POLLS * self.risk_poll_s)
                filled.clear()
                try:
                    if self._risk is not None:
                        body = await self._risk()
                    else:
                        body = await self.http.risk(market_id=self.market.market_id)
                    risk = parse_risk(body)
                except (ClientError, ValueError, KeyError, TypeError):
                    risk = {}
                for acct, entry in risk.items():
                    bot = accounts.get(acct)
                    if bot is not None:
                        bot.on_risk(if_win_cents(entry))
                await asyncio.sleep(self.risk_poll_s)
        finally:
            for off in offs:
                off()

    # --- lock step -------------------------------------------------------------------------------

    async def run_lockstep(self, steps: int, http: BetexHttp, depth: int = 10, timeout: float = 10.0) -> None:
        """`steps` reproducible rounds (see module docstring); needs an acked connection."""
        if not self.acks:
            raise ValueError("lock-step mode needs acks (no_ack=False)")
        self.attach()
        self._stop.clear()
        t_start = _perf()
        try:
            for _ in range(steps):
                if self._stop.is_set():
                    break
                view = await synced_view(http, self.market.market_id, depth)
                await self._step(view, timeout)
        finally:
            self._lock_replies = None
            self.elapsed = _perf() - t_start

    async def _step(self, view: BookView, timeout: float) -> None:
        batch: list[tuple[Bot, int, Command]] = []
        for b in self.bots:
            for _ in range(b.max_burst):
                issued = b.issue(view)
                if issued is None:
                    break
                batch.append((b, issued[0], issued[1]))
        loop = asyncio.get_running_loop()
        self._lock_replies = {corr: loop.create_future() for _, corr, _ in batch}
        for b, corr, cmd in batch:
            if not await self._send(b, corr, cmd, _perf()):
                raise NotConnected("connection lost during a lock-step run")
        replies = await asyncio.wait_for(asyncio.gather(*self._lock_replies.values()), timeout)
        self._lock_replies = None
        for (b, corr, _), reply in zip(batch, replies, strict=True):
            b.on_reply(corr, reply)

    # --- reporting -------------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        rejected: Counter[str] = Counter()
        acked = trades = 0
        volume = 0.0
        for b in self.bots:
            st = b.stats
            rejected.update(st.rejected)
            acked += st.acked
            trades += st.trades
            volume += st.volume
        return {
            "sent": self.sent,
            "acked": acked,
            "rejected": dict(sorted(rejected.items())),
            "trades": trades,
            "volume": round(volume, 2),
            "outstanding": len(self._sched),
            "lost": self.lost,
            "send_errors": self.send_errors,
        }

    def progress(self) -> dict[str, Any]:
        """Counters plus the send rate since the previous call and the running ack p99."""
        now = _perf()
        t_prev, sent_prev = self._last_progress
        t_prev = t_prev or self._t_start or now
        rate = (self.sent - sent_prev) / (now - t_prev) if now > t_prev else 0.0
        self._last_progress = (now, self.sent)
        out = self.totals()
        out["elapsed"] = now - self._t_start if self._t_start else 0.0
        out["rate"] = rate
        out["p99_ms"] = self.latency.summary().p99 if self.latency.count else 0.0
        out["connection"] = str(self.client.status.state)
        return out


async def synced_view(http: BetexHttp, market_id: int, depth: int = 10) -> BookView:
    """A view of the market that includes every command already answered.

    The server releases a reply only once its projection has applied the command's events,
    and `/snapshot` reads that projection, so no polling is needed.
    """
    return BookView.from_snapshot(await http.snapshot(market_id, depth))


def parse_risk(data: Any) -> dict[int, dict[str, Any]]:
    """`/risk` as {account_id: entry}, whatever the list/dict nesting of the body (or the
    client's typed `RiskRow`s)."""
    if isinstance(data, list) and data and isinstance(data[0], RiskRow):
        return {r.account_id: _risk_entry(r) for r in data}
    if isinstance(data, dict):
        for key in ("risk", "accounts"):
            if key in data:
                data = data[key]
                break
    out: dict[int, dict[str, Any]] = {}
    if isinstance(data, list):
        for e in data:
            if isinstance(e, dict) and "account_id" in e:
                out[int(e["account_id"])] = e
    elif isinstance(data, dict):
        if "account_id" in data:
            out[int(data["account_id"])] = data
        else:
            for k, e in data.items():
                if isinstance(e, dict):
                    with contextlib.suppress(ValueError):
                        out[int(e.get("account_id") or k)] = e
    return out


def _risk_entry(r: RiskRow) -> dict[str, Any]:
    """A typed row back in the `/risk` wire shape (what bot stats and summaries hold)."""
    entry = {f: getattr(r, f) for f in RiskRow.__dataclass_fields__}
    entry["if_win"] = [{"runner_id": k, "pnl": v} for k, v in r.if_win.items()]
    return entry


def if_win_cents(entry: dict[str, Any]) -> dict[int, float]:
    """A `/risk` entry's matched if-win per outcome, in cents (runner ids; "NO" → NO_OUTCOME)."""
    raw = entry.get("if_win") or {}
    out: dict[int, float] = {}
    items = (
        raw.items()
        if isinstance(raw, dict)
        else ((e.get("runner_id"), e.get("pnl", e.get("if_win"))) for e in raw)
    )
    for k, v in items:
        if v is None or k is None:
            continue
        key = NO_OUTCOME if str(k).upper() in ("NO", str(NO_OUTCOME)) else int(k)
        out[key] = float(v) * 100
    return out
