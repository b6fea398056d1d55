"""Connection limits at the TCP level: a total cap, a cap per client address, and a deadline to
complete the first request (or WebSocket upgrade).

Idle sockets are the cheap attack: each holds a file descriptor and costs the attacker nothing.
A connection that has not yet sent a complete request ("pending") is the first to go: when a
cap is reached, the oldest pending connection (from the same address, for the per-address cap)
is dropped to make room, and only when there is none is the newcomer refused. So a legitimate
client that sends its request at once is served even while thousands of idle sockets are open,
and an idle socket lives at most `--request-timeout` seconds anyway.

Kept current by the aiohttp server's `connection_made`/`connection_lost` (see `app.Runner`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from typing import Any

from .stats import Refusals

log = logging.getLogger("betex.server")

FD_RESERVE = 64
"""File descriptors kept free for the WAL, snapshots, logs and the listening socket."""


def fit_to_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one, and return `wanted` capped so that
    the connections always fit (the server refuses a connection rather than fail an accept)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted + FD_RESERVE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # pragma: no cover - a container may forbid it
            log.warning("could not raise RLIMIT_NOFILE to %d: %s", target, exc)
    usable = max(1, soft - FD_RESERVE)
    if wanted > usable:
        log.warning("--max-connections %d lowered to %d to fit RLIMIT_NOFILE %d", wanted, usable, soft)
        return usable
    return wanted


def _served(handler: Any) -> bool:
    """Whether the connection has sent at least one complete request (aiohttp counts them)."""
    return bool(getattr(handler, "_request_count", 1))


class ConnectionGuard:
    """Counts open TCP connections, per address too, and enforces the caps and the deadline."""

    def __init__(
        self,
        refusals: Refusals,
        *,
        max_connections: int,
        max_per_client: int,
        request_timeout_s: float,
    ) -> None:
        self.refusals = refusals
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.request_timeout_s = request_timeout_s
        self.open: dict[Any, tuple[str, asyncio.Transport]] = {}
        self.per_client: Counter[str] = Counter()
        self._pending: dict[Any, None] = {}
        """Handlers with no complete request yet, oldest first (insertion order)."""

    def opened(self, handler: Any, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        self.open[handler] = (ip, transport)
        self.per_client[ip] += 1
        self._pending[handler] = None
        asyncio.get_running_loop().call_later(self.request_timeout_s, self._deadline, handler)
        if len(self.open) > self.max_connections:
            self._make_room(handler, None, "max_connections", ip)
        if handler in self.open and self.per_client[ip] > self.max_per_client:
            self._make_room(handler, ip, "max_connections_per_client", ip)

    def closed(self, handler: Any) -> None:
        entry = self.open.pop(handler, None)
        self._pending.pop(handler, None)
        if entry is None:
            return
        ip = entry[0]
        self.per_client[ip] -= 1
        if self.per_client[ip] <= 0:
            del self.per_client[ip]

    def _drop(self, handler: Any) -> None:
        entry = self.open.get(handler)
        self.closed(handler)
        if entry is not None:
            entry[1].abort()

    def _make_room(self, newcomer: Any, ip: str | None, kind: str, peer: str) -> None:
        """Drop the oldest pending connection (from `ip` if given); else refuse the newcomer."""
        for handler in list(self._pending):
            if handler is newcomer:
                continue
            if _served(handler):
                del self._pending[handler]
                continue
            if ip is not None and self.open.get(handler, ("",))[0] != ip:
                continue
            self.refusals.note(kind, "dropped the oldest connection that had sent no request", peer)
            self._drop(handler)
            return
        self.refusals.note(kind, "refused a new connection", peer)
        self._drop(newcomer)

    def _deadline(self, handler: Any) -> None:
        if handler not in self._pending:
            return
        del self._pending[handler]
        if handler in self.open and not _served(handler):
            self.refusals.note(
                "request_timeout",
                f"no complete request within {self.request_timeout_s:g}s",
                self.open[handler][0],
            )
            self._drop(handler)
