"""Counters the server keeps itself (the runtime keeps the engine/WAL ones): connections,
refusals decided before the engine (BAD_REQUEST, UNAUTHORIZED, OVERLOADED), WebSocket traffic and
the projection stage latency. Touched only on the event loop thread, so plain ints suffice.
"""

from __future__ import annotations

from collections import Counter

from betex.core.runtime.metrics import Histogram


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
