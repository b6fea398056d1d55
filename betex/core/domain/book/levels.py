"""Resting orders and the price levels that queue them (price-time priority).

Cancels are O(1): an order's `remaining` drops and its level's `total` with it; a dead order
(remaining 0) stays in its deque until it reaches the front, and a level whose total reaches 0
is dropped whole. Iteration skips dead orders, so queue order is all that is observable.
"""

from __future__ import annotations

from bisect import insort as _bisect_insort
from collections import deque
from collections.abc import Iterator
from typing import Any, Final

insort: Final = _bisect_insort  # a Final static, not a globals-dict lookup, in the compiled build


class Order:
    """One order. Invariant: size == matched + remaining + cancelled + lapsed + voided.

    `size` is not stored: the invariant computes it (one field less on every resting order, of
    which there are ~10^5; the constructor still takes it, as the remaining size to start with)."""

    __slots__ = (
        "order_id",
        "account_id",
        "market_id",
        "runner_id",
        "side",
        "price",
        "matched",
        "remaining",
        "cancelled",
        "lapsed",
        "voided",
        "persist",
        "client_ref",
        "placed_ts",
    )

    def __init__(
        self,
        order_id: int,
        account_id: int,
        market_id: int,
        runner_id: int,
        side: str,
        price: int,
        size: int,
        persist: bool,
        client_ref: str,
        placed_ts: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.market_id = market_id
        self.runner_id = runner_id
        self.side = side
        self.price = price
        self.matched = 0
        self.remaining = size
        self.cancelled = 0
        self.lapsed = 0
        self.voided = 0
        self.persist = persist
        self.client_ref = client_ref
        self.placed_ts = placed_ts  # engine time of its ORDER_ACCEPTED (CANCEL_ALL placed_before_ts)

    @property
    def size(self) -> int:
        return self.matched + self.remaining + self.cancelled + self.lapsed + self.voided

    def to_row(self) -> tuple[int | str | bool, ...]:
        return (
            self.order_id,
            self.account_id,
            self.market_id,
            self.runner_id,
            self.side,
            self.price,
            self.size,
            self.matched,
            self.remaining,
            self.cancelled,
            self.lapsed,
            self.voided,
            self.persist,
            self.client_ref,
            self.placed_ts,
        )

    @staticmethod
    def from_row(row: tuple[Any, ...]) -> Order:
        """Inverse of `to_row` (a snapshot's order; a dump version 1 row has no `placed_ts`: 0)."""
        (oid, account, market, runner, side, price, size, matched, remaining, cancelled, lapsed, voided,
         persist, client_ref) = row[:14]  # fmt: skip
        o = Order(oid, account, market, runner, side, price, size, persist, client_ref,
                  row[14] if len(row) > 14 else 0)  # fmt: skip
        o.matched = matched
        o.remaining = remaining
        o.cancelled = cancelled
        o.lapsed = lapsed
        o.voided = voided
        return o


class Level:
    __slots__ = ("orders", "total")

    def __init__(self) -> None:
        self.orders: deque[Order] = deque()
        self.total = 0

    def live(self) -> Iterator[Order]:
        for o in self.orders:
            if o.remaining:
                yield o


class PriceLevels:
    """One side of one runner's book: price → Level, plus the sorted list of active prices."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []  # ascending

    def add(self, order: Order) -> None:
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level()
            insort(self.prices, price)
        level.orders.append(order)
        level.total += order.remaining

    def reduce(self, order: Order, amount: int) -> None:
        """Account for `amount` leaving `order` (already subtracted from order.remaining)."""
        price = order.price
        level = self.levels[price]
        level.total -= amount
        if level.total == 0:
            del self.levels[price]
            self.prices.remove(price)
        else:
            orders = level.orders
            while not orders[0].remaining:
                orders.popleft()

    def descending(self) -> Iterator[tuple[int, Level]]:
        levels = self.levels
        for price in reversed(self.prices):
            yield price, levels[price]

    def ascending(self) -> Iterator[tuple[int, Level]]:
        levels = self.levels
        for price in self.prices:
            yield price, levels[price]

    def live_orders(self) -> Iterator[Order]:
        for _, level in self.ascending():
            yield from level.live()

    def dump(self) -> list[tuple[int, list[int]]]:
        return [(p, [o.order_id for o in self.levels[p].live()]) for p in self.prices]

    def __len__(self) -> int:
        return len(self.prices)


class RunnerBook:
    """Both sides of one runner: `backs` rests BACK (or binary BUY) orders, `lays` LAY (or SELL)."""

    __slots__ = ("backs", "lays")

    def __init__(self) -> None:
        self.backs = PriceLevels()
        self.lays = PriceLevels()
