"""The engine's pending delayed orders (the in-play bet delay, `delay.py`): state and due times.

Apart from `delay.py`'s rules so that the state protocols (`state.EngineState`,
`engine_api.EngineCore`) can name it while `delay.py` is typed against them.
"""

from __future__ import annotations

import heapq

from betex.core.domain.book.levels import Order


class Delayed:
    """One pending delayed order: the order, and what it needs to mature."""

    __slots__ = ("order", "due_ts", "version", "time_in_force", "min_fill_size")

    def __init__(
        self, order: Order, due_ts: int, version: int, time_in_force: str, min_fill_size: int
    ) -> None:
        self.order = order
        self.due_ts = due_ts
        self.version = version
        self.time_in_force = time_in_force
        self.min_fill_size = min_fill_size

    def to_row(self) -> tuple[int, int, int, str, int]:
        return (self.order.order_id, self.due_ts, self.version, self.time_in_force, self.min_fill_size)


class DelayBook:
    """Every pending delayed order of the engine, and a heap of their due times.

    `entries` is state (dumped); the heap is derived (rebuilt on load) and lazy: an entry that
    left (cancelled, matured) stays in the heap until it reaches the top."""

    __slots__ = ("entries", "heap")

    def __init__(self) -> None:
        self.entries: dict[int, Delayed] = {}  # order id → pending order
        self.heap: list[tuple[int, int]] = []  # (due_ts, order id)

    def add(self, d: Delayed) -> None:
        self.entries[d.order.order_id] = d
        heapq.heappush(self.heap, (d.due_ts, d.order.order_id))

    def next_due(self) -> int | None:
        """The earliest due time of a pending order (engine time, ns), None if none is pending."""
        heap, entries = self.heap, self.entries
        while heap and heap[0][1] not in entries:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, ts: int) -> list[Delayed]:
        """The pending orders due at `ts`, earliest first (ties by order id), off the heap; they
        stay in `entries` until their ORDER_MATURED or ORDER_CANCELLED is applied."""
        heap, entries = self.heap, self.entries
        out: list[Delayed] = []
        while heap and heap[0][0] <= ts:
            _due, oid = heapq.heappop(heap)
            d = entries.get(oid)
            if d is not None:
                out.append(d)
        return out

    def rows(self) -> list[tuple[int, int, int, str, int]]:
        """The dump of `entries`, by order id (see `state.dump`)."""
        return [self.entries[oid].to_row() for oid in sorted(self.entries)]
