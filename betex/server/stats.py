"""Counters the server keeps itself (the runtime keeps the engine/WAL ones): connections,
refusals decided before the engine (BAD_REQUEST, UNAUTHORIZED, OVERLOADED), WebSocket traffic and
the projection stage latency. Touched only on the event loop thread, so plain ints suffice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from betex.core.runtime.metrics import Histogram

log = logging.getLogger("betex.server")


class ServerStats:
    __slots__ = (
        "rejects",
        "ws_connections",
        "ws_ctl_connections",
        "connections_total",
        "slow_disconnects",
        "messages_in",
        "replies_out",
        "snapshots_sent",
        "projection_latency",
        "ack_latency",
        "projection_batches",
        "projection_events",
    )

    def __init__(self) -> None:
        self.rejects: Counter[str] = Counter()
        """Refusals decided by the server before the engine saw the command."""
        self.ws_connections = 0
        self.ws_ctl_connections = 0
        self.connections_total = 0
        self.slow_disconnects = 0
        self.messages_in = 0
        self.replies_out = 0
        self.snapshots_sent = 0
        self.projection_latency = Histogram()
        """Engine commit → batch applied to the projection on the event loop."""
        self.ack_latency = Histogram()
        """Command received → its reply queued on the connection (ack mode only)."""
        self.projection_batches = 0
        self.projection_events = 0

    def connections_dict(self) -> dict[str, int]:
        return {
            "ws": self.ws_connections,
            "ws_ctl": self.ws_ctl_connections,
            "total": self.ws_connections + self.ws_ctl_connections,
            "accepted_total": self.connections_total,
            "slow_disconnects": self.slow_disconnects,
        }


REFUSAL_LOG_INTERVAL_S = 60.0
"""Each kind of refusal is logged at most once per interval, with a count, never once per event."""


REFUSAL_KINDS: tuple[str, ...] = (
    "origin",
    "unauthorized",
    "rate_limited",
    "max_connections",
    "max_connections_per_client",
    "request_timeout",
    "idle_timeout",
    "outbox_connection",
    "outbox_total",
)


class Refusals:
    """Counts of what the server refused before the engine, by kind (for `/metrics`), and at most
    one WARNING line per kind per `interval` seconds, carrying the count.

    Kinds: origin (403 upgrade), unauthorized (bad or missing key/token), rate_limited,
    max_connections, max_connections_per_client, request_timeout, idle_timeout,
    outbox_connection (a client over its own backlog bound, not reading), outbox_total (the
    largest backlogs dropped to keep every client's outboxes under `--max-outbox-total`).

    The first refusal of a kind is logged at once (an operator learns of an attack when it
    starts); later ones are counted and logged together once the interval has passed, by the
    next refusal of that kind or by `flush()` (a hub ticker calls it, and the shutdown, with
    `force`), so every refusal is in some line's count and a flood costs one line per interval.
    """

    __slots__ = ("counts", "interval", "_unlogged", "_last", "_latest")

    def __init__(self, interval: float = REFUSAL_LOG_INTERVAL_S) -> None:
        self.counts: Counter[str] = Counter()
        self.interval = interval
        self._unlogged: Counter[str] = Counter()
        self._last: dict[str, float] = {}
        self._latest: dict[str, tuple[str | None, str]] = {}
        """kind → (peer, detail) of its newest unlogged refusal."""

    def note(self, kind: str, detail: str, peer: str | None) -> None:
        self.counts[kind] += 1
        self._unlogged[kind] += 1
        self._latest[kind] = (peer, detail)
        now = time.monotonic()
        last = self._last.get(kind)
        if last is None or now - last >= self.interval:
            self._log(kind, now)

    def flush(self, *, force: bool = False) -> None:
        """Log the kinds with unlogged refusals whose interval has passed (all of them with
        `force`, at shutdown)."""
        now = time.monotonic()
        for kind, n in list(self._unlogged.items()):
            if n and (force or now - self._last.get(kind, now - self.interval) >= self.interval):
                self._log(kind, now)

    def _log(self, kind: str, now: float) -> None:
        last = self._last.get(kind)
        peer, detail = self._latest.pop(kind, (None, ""))
        log.warning(
            "refused %d connection(s)/command(s) for %s in the last %.0f s; latest from %s: %s",
            self._unlogged[kind],
            kind,
            self.interval if last is None else min(now - last, self.interval),
            peer,
            detail,
        )
        self._unlogged[kind] = 0
        self._last[kind] = now
