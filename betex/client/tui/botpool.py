"""Embedded bots for the TUI: the client's strategies, fed through a bounded, droppable channel.

The pool owns the bots (`betex.client.bots`) trading the selected market and issues their
commands at a fixed rate into `queue`; the session's sender drains it only when no user
command is waiting, so a busy bot swarm never delays a keypress. Pausing (or losing the
connection) discards whatever is still queued; the bots whose commands were dropped are told
(`on_disconnect`) so they re-synchronise (a market maker starts again with a CANCEL_ALL).
When the channel is full the pool simply issues nothing (back-pressure, nothing lost).

On a `serve --auth keys` server (`auth == "keys"`, learned from `/metrics`) a connection is bound
to one account, so each bot needs its own: with the admin token the pool creates an account and
issues a key per bot ("seats", `betex.client.bots.keys`), opens a connection per seat, and sends
each bot's commands on its seat's connection. A removed bot's seat is reused by the next one.
Without the admin token the bots cannot run there, and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

import orjson

from .. import messages as m
from ..bots import (
    ACCOUNT_BASE,
    BookView,
    Bot,
    InformedTrader,
    MarketMaker,
    MarketSpec,
    NoiseTrader,
    make_priors,
)
from ..bots.keys import close_all, connect_keyed, issue_bot_keys
from ..bots.orders import Command, account_of, to_wire
from ..bots.runner import SlotRotation, if_win_cents, parse_risk
from ..connection import BetexClient, ConnectionStatus
from ..errors import ClientError
from .config import BOT_KINDS, TuiConfig
from .state import BotRow, BotsView

BOT_CLASSES: dict[str, type[Bot]] = {"mm": MarketMaker, "noise": NoiseTrader, "informed": InformedTrader}
_ACCOUNT_LO = min(ACCOUNT_BASE.values())
_ACCOUNT_HI = max(ACCOUNT_BASE.values()) + 1000

QueuedCommand = tuple[Bot, int, bytes]


def is_bot_account(account_id: int) -> bool:
    return _ACCOUNT_LO < account_id < _ACCOUNT_HI


class BotPool:
    def __init__(
        self,
        client: BetexClient,
        cfg: TuiConfig,
        send_user: Callable[[dict[str, Any]], None],
        wake: asyncio.Event,
        auth: str | None = "open",
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.rate = cfg.bot_rate
        self.acks = not cfg.no_ack
        self.counts: dict[str, int] = dict(cfg.bot_counts)
        self.queue: asyncio.Queue[QueuedCommand] = asyncio.Queue(cfg.bot_queue_size)
        self.bots: list[Bot] = []
        self.spec: MarketSpec | None = None
        self.target: int | None = None
        self.running = False
        self.dropped = 0
        self._send_user = send_user
        self._wake = wake
        self._by_account: dict[int, Bot] = {}
        self._view: BookView | None = None
        self._view_snap: m.Snapshot | None = None
        self._t0: float | None = None
        self._slots = 0
        self._rotation = SlotRotation()
        self.auth = auth
        """The server's `--auth` mode (the session reads `/metrics`); None: not known yet, and
        bots are built only once it is."""
        self.seats: dict[int, BetexClient] = {}
        """keys mode: account → a connection bound to that account's key, one per bot."""
        self.problem: str | None = None
        """Why the bots cannot trade (keys mode without the admin token, a refused key)."""
        self._provisioning: asyncio.Task[None] | None = None
        self._seat_unsubs: list[Callable[[], None]] = []

    @property
    def keyed(self) -> bool:
        return self.auth == "keys"

    # --- control (called from the UI) -------------------------------------------------------------

    def retarget(self, market_id: int | None) -> None:
        """Trade `market_id` from now on; the old market's bot orders are cancelled."""
        if market_id == self.target:
            return
        self.drop_queued()
        if self.spec is not None:
            for b in self.bots:
                self._cancel_all(b)
        self.bots, self._by_account, self.spec = [], {}, None
        self.target = market_id
        self._view = self._view_snap = None

    def start(self) -> None:
        self.running = True
        self._t0 = None

    def pause(self) -> int:
        """Stop issuing and drop what is queued; returns how many commands were dropped."""
        self.running = False
        return self.drop_queued()

    def add(self, kind: str) -> None:
        self.counts[kind] += 1
        if self.spec is not None:
            self._make(kind, self.counts[kind] - 1)

    def remove(self, kind: str) -> bool:
        if self.counts[kind] <= 0:
            return False
        self.counts[kind] -= 1
        for b in reversed(self.bots):
            if b.kind == kind:
                self.bots.remove(b)
                self._by_account.pop(b.account_id, None)
                self._cancel_all(b)
                break
        return True

    # --- wiring ----------------------------------------------------------------------------------

    def owns(self, correlation_id: int | None) -> bool:
        if correlation_id is None:
            return False
        account = account_of(correlation_id)
        return account in self.seats if self.keyed else is_bot_account(account)

    def client_of(self, bot: Bot) -> BetexClient:
        """The connection `bot`'s commands go on: its seat in keys mode, else the session's."""
        return self.seats.get(bot.account_id, self.client)

    # --- keys mode: a seat (account, key, connection) per bot ------------------------------------

    def _want_seats(self) -> None:
        """Start creating seats until there is one per wanted bot (one task at a time)."""
        want = sum(self.counts.values())
        busy = self._provisioning is not None and not self._provisioning.done()
        if len(self.seats) >= want or busy or self.problem is not None:
            return
        if not self.cfg.token:
            self.problem = "the server runs --auth keys: bots need the admin token (--token) to get keys"
            return
        self._provisioning = asyncio.get_running_loop().create_task(self._provision(want))

    async def _provision(self, want: int) -> None:
        admin = BetexClient(self.cfg.url, token=self.cfg.token, reconnect=False)
        try:
            await admin.connect(self.cfg.connect_timeout)
            while len(self.seats) < want:
                n = len(self.seats) + 1
                ((account, key),) = await issue_bot_keys(admin, [f"tui bot {n}"])
                seat = (await connect_keyed(self.cfg.url, [key], no_ack=not self.acks))[account]
                self._seat_unsubs += [
                    seat.on(m.OrderResponse, self.on_reply),
                    seat.on(m.Ack, self.on_reply),
                    seat.on(m.ServerError, self.on_reply),
                    seat.on_connection(functools.partial(self._seat_down, account)),
                ]
                self.seats[account] = seat
        except ClientError as exc:
            self.problem = f"bots could not get keys: {exc}"
        finally:
            await admin.close()

    def _seat_down(self, account: int, status: ConnectionStatus) -> None:
        bot = self._by_account.get(account)
        if bot is not None and not status.connected:
            bot.on_disconnect()

    async def close(self) -> None:
        """Close the seats' connections (the session's own is closed by the session)."""
        task = self._provisioning
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for off in self._seat_unsubs:
            off()
        await close_all(self.seats.values())

    def on_reply(self, msg: Any) -> None:
        corr = msg.correlation_id
        if corr is None:
            return
        bot = self._by_account.get(account_of(corr))
        if bot is not None:
            bot.on_reply(corr, msg)

    def on_disconnect(self) -> None:
        self.drop_queued()
        for b in self.bots:
            b.on_disconnect()

    def drop_queued(self) -> int:
        """Discard queued bot commands; their bots forget what they had in flight."""
        hit: set[int] = set()
        n = 0
        while not self.queue.empty():
            bot, _, _ = self.queue.get_nowait()
            hit.add(id(bot))
            n += 1
        for b in self.bots:
            if id(b) in hit:
                b.on_disconnect()
        self.dropped += n
        return n

    def lost(self, bot: Bot) -> None:
        """A dequeued command could not be sent (connection down)."""
        self.dropped += 1
        bot.on_disconnect()

    def feed_risk(self, body: Any) -> None:
        """Without acks bots cannot see their fills: give them the server's matched if-win."""
        for acct, entry in parse_risk(body).items():
            bot = self._by_account.get(acct)
            if bot is not None:
                bot.on_risk(if_win_cents(entry))

    def view(self) -> BotsView:
        rows = tuple(
            BotRow(
                b.name,
                b.kind,
                b.account_id,
                b.stats.sent,
                b.stats.acked,
                sum(b.stats.rejected.values()),
                b.stats.trades,
                round(b.stats.volume, 2),
                b.inflight,
            )
            for b in self.bots
        )
        if not rows and self.spec is None:
            rows = tuple(
                BotRow(f"{kind}-{ACCOUNT_BASE[kind] + i + 1}", kind, ACCOUNT_BASE[kind] + i + 1)
                for kind in BOT_KINDS
                for i in range(self.counts[kind])
            )
        return BotsView(rows, self.running, self.queue.qsize(), self.dropped, self.target)

    # --- the issuing loop --------------------------------------------------------------------------

    async def run(self, tick: float = 0.01) -> None:
        while True:
            await asyncio.sleep(tick)
            self.step(time.perf_counter())

    def step(self, now: float) -> int:
        """Issue the commands due by `now` (open-loop schedule at `rate`); returns how many."""
        if self.spec is None or self.spec.market_id != self.target:
            self._build()
        elif self.keyed:
            self._seat_bots()
        if not self.running or not self.bots or not self.client.connected:
            self._t0 = None
            return 0
        if self._t0 is None:
            self._t0, self._slots = now, 0
        due = int((now - self._t0) * self.rate) - self._slots
        if due > self.rate * 0.1:  # after a stall, do not burst the whole backlog
            self._slots += due - int(self.rate * 0.1)
            due = int(self.rate * 0.1)
        room = self.queue.maxsize - self.queue.qsize()
        n = min(due, room)
        self._slots += max(0, due)
        view = self._current_view()
        issued = 0
        first = self._slots - max(0, due)
        for k in range(n):
            got = self._issue(first + k, view)
            if got is None:
                break  # nobody has anything to do against this view
            bot, corr, cmd = got
            assert self.spec is not None
            data = orjson.dumps(to_wire(cmd, self.spec.market_id, bot.account_id, self.spec.model, corr))
            self.queue.put_nowait((bot, corr, data))
            issued += 1
        if issued:
            self._wake.set()
        return issued

    def _issue(self, slot: int, view: BookView | None) -> tuple[Bot, int, Command] | None:
        return self._rotation.issue(self.bots, slot, view)

    def _current_view(self) -> BookView | None:
        snap = self.client.snapshots.get(self.target) if self.target is not None else None
        if snap is not None and snap is not self._view_snap:
            self._view_snap = snap
            self._view = BookView.from_snapshot(snap)
        return self._view

    def _build(self) -> None:
        if self.target is None or self.auth is None:
            return
        snap = self.client.snapshots.get(self.target)
        if snap is None or not snap.runners:
            return
        binary = snap.market_model == "BINARY_YES"
        self.spec = MarketSpec.from_snapshot(snap, make_priors(snap.runner_ids, self.cfg.seed, binary=binary))
        self.bots, self._by_account = [], {}
        if self.keyed:
            self._seat_bots()
            return
        for kind in BOT_KINDS:
            for i in range(self.counts[kind]):
                self._make(kind, i)

    def _seat_bots(self) -> None:
        """keys mode: make the wanted bots that a free seat exists for (more seats are on the way)."""
        self._want_seats()
        if self.spec is None:
            return
        free = [a for a in self.seats if a not in self._by_account]
        for kind in BOT_KINDS:
            have = sum(b.kind == kind for b in self.bots)
            while have < self.counts[kind] and free:
                self._make(kind, have, free.pop(0))
                have += 1

    def _make(self, kind: str, index: int, seat: int | None = None) -> None:
        assert self.spec is not None
        if self.keyed and seat is None:
            return  # a seat comes first (`_seat_bots`)
        acct = seat if seat is not None else ACCOUNT_BASE[kind] + index + 1
        while acct in self._by_account:
            acct += 1
        bot = BOT_CLASSES[kind](acct, self.spec, self.cfg.seed, acks=self.acks)
        self.bots.append(bot)
        self._by_account[acct] = bot

    def _cancel_all(self, bot: Bot) -> None:
        if self.spec is None or not bot.stats.sent:
            return
        msg = m.cancel_all(self.spec.market_id, bot.account_id)
        seat = self.seats.get(bot.account_id)
        if seat is None:
            self._send_user(msg)
        elif seat.connected:  # only the bot's own connection may cancel its orders
            task = asyncio.get_running_loop().create_task(seat.send(msg))
            task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[None]) -> None:
    """A fire-and-forget send's outcome: a NotConnected there only means the seat dropped, which
    its connection listener already handles."""
    if not task.cancelled():
        task.exception()
