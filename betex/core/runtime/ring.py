"""The ingress ring: a bounded multi-producer, single-consumer queue plus the consumer's wait strategy.

Producers (the server's asyncio loop, other threads) call `try_publish`, which never blocks: a
full ring returns False and the caller answers OVERLOADED. The engine thread is the only
consumer; it `wait`s per the chosen strategy and `drain`s a batch.

Under CPython's GIL a `deque` plus one small lock is both correct and faster than a hand-rolled
array of slots with sequence counters; the lock also makes the capacity check atomic and lets
`close` fence out late producers. What each wait strategy costs is in `WAIT_STRATEGY_COSTS`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

BLOCKING_WAIT = "blocking-wait"
SLEEPING = "sleeping"
YIELDING = "yielding"
BUSY_SPIN = "busy-spin"

WAIT_STRATEGIES: tuple[str, ...] = (BLOCKING_WAIT, SLEEPING, YIELDING, BUSY_SPIN)
DEFAULT_WAIT_STRATEGY = BLOCKING_WAIT

WAIT_STRATEGY_COSTS: dict[str, str] = {
    BLOCKING_WAIT: (
        "condition variable: ~0 idle CPU; a producer pays a notify only when the consumer is "
        "asleep; wake-up latency is one futex wake (tens of microseconds)"
    ),
    SLEEPING: (
        "spins ~100 checks, then sleep(0), then sleeps 50us doubling to 1ms: low idle CPU, "
        "but a command arriving after a quiet spell can wait up to ~1ms"
    ),
    YIELDING: (
        "spin + sleep(0): releases the GIL each turn, lowest latency that still lets producers "
        "run, but burns a full core while idle"
    ),
    BUSY_SPIN: (
        "never sleeps: burns a full core; under the GIL a spin that kept the GIL would starve "
        "the producers and the WAL thread until the 5ms switch interval, so it drops the GIL "
        "(sleep(0)) every few hundred checks: wasteful, kept for parity with the LMAX set"
    ),
}

_SPIN_CHECKS = 100
# busy-spin drops the GIL this often: only another thread can fill the ring, so a spin that keeps
# the GIL cannot succeed before the interpreter's switch interval (5 ms) and it also starves the
# WAL thread, whose commits gate every reply (measured: 1.1k commands/s, commit p99 of 30 s)
_BUSY_SPIN_CHECKS = 200
_SLEEP_MIN_S = 50e-6
_SLEEP_MAX_S = 1e-3


class RingClosed(Exception):
    """The ring no longer accepts items (the runtime is stopping or has failed)."""


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 2 or size & (size - 1):
        raise ValueError(f"ring size must be a power of two >= 2 (e.g. 16384), got {size!r}")
    return size


class Ring(Generic[T]):
    """Bounded MPSC queue; FIFO; `try_publish` never blocks, `drain` is for the one consumer."""

    __slots__ = (
        "size",
        "wait_strategy",
        "_dq",
        "_cond",
        "_consumer_waiting",
        "_closed",
        "_woken",
        "rejected",
        "_wait_impl",
    )

    def __init__(self, size: int = 16384, wait_strategy: str = DEFAULT_WAIT_STRATEGY) -> None:
        self.size = _check_size(size)
        if wait_strategy not in WAIT_STRATEGIES:
            raise ValueError(
                f"unknown wait strategy {wait_strategy!r}; choose one of {', '.join(WAIT_STRATEGIES)}"
            )
        self.wait_strategy = wait_strategy
        self._dq: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._consumer_waiting = False
        self._closed = False
        self._woken = False
        self.rejected = 0  # publishes refused because the ring was full
        self._wait_impl = {
            BLOCKING_WAIT: self._wait_blocking,
            SLEEPING: self._wait_sleeping,
            YIELDING: self._wait_yielding,
            BUSY_SPIN: self._wait_busy_spin,
        }[wait_strategy]

    def __len__(self) -> int:
        return len(self._dq)

    @property
    def depth(self) -> int:
        return len(self._dq)

    @property
    def closed(self) -> bool:
        return self._closed

    def try_publish(self, item: T, count_reject: bool = True) -> bool:
        """Enqueue unless full (False: the caller reports OVERLOADED, counted in `rejected`;
        `count_reject=False`: the caller holds the item and retries, nothing was refused).
        Raises `RingClosed`."""
        with self._cond:
            if self._closed:
                raise RingClosed("ring is closed")
            if len(self._dq) >= self.size:
                if count_reject:
                    self.rejected += 1
                return False
            self._dq.append(item)
            if self._consumer_waiting:
                self._cond.notify()
            return True

    def try_publish_many(self, items: list[T]) -> int:
        """Enqueue as many of `items` as fit, in order, under one lock; returns how many.

        The caller answers OVERLOADED for (or retries) `items[n:]`. One lock and at most one
        notify per batch: what an IPC reader that receives commands in batches should use.
        Raises `RingClosed`.
        """
        with self._cond:
            if self._closed:
                raise RingClosed("ring is closed")
            n = min(len(items), self.size - len(self._dq))
            if n < len(items):
                self.rejected += len(items) - n
            if n <= 0:
                return 0
            self._dq.extend(items if n == len(items) else items[:n])
            if self._consumer_waiting:
                self._cond.notify()
            return n

    def drain(self, max_n: int) -> list[T]:
        """Take up to `max_n` items, oldest first. Single consumer only."""
        if not self._dq:
            return []
        with self._cond:
            dq = self._dq
            if len(dq) <= max_n:  # swap the whole deque: O(1) under the lock
                self._dq = deque()
                return list(dq)
        popleft = dq.popleft  # producers only append, so popping outside the lock is safe
        return [popleft() for _ in range(max_n)]

    def close(self) -> None:
        """Refuse further publishes and wake the consumer; items already in stay drainable."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wake(self) -> None:
        """Make the consumer's current or next `wait` return promptly."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """Consumer: wait per strategy until items are available (True), or timeout/close/wake."""
        if self._dq:
            return True
        return self._wait_impl(timeout)

    def _interrupted(self) -> bool:
        if self._closed:
            return True
        if self._woken:
            self._woken = False
            return True
        return False

    def _wait_blocking(self, timeout: float) -> bool:
        with self._cond:
            if self._dq:
                return True
            if self._interrupted():
                return False
            self._consumer_waiting = True
            try:
                self._cond.wait(timeout)
            finally:
                self._consumer_waiting = False
            self._woken = False
            return bool(self._dq)

    def _wait_sleeping(self, timeout: float) -> bool:
        for _ in range(_SPIN_CHECKS):
            if self._dq:
                return True
        if self._interrupted():
            return bool(self._dq)
        deadline = time.monotonic() + timeout
        time.sleep(0)
        delay = _SLEEP_MIN_S
        while not self._dq:
            if self._interrupted() or time.monotonic() >= deadline:
                return bool(self._dq)
            time.sleep(delay)
            delay = min(delay * 2, _SLEEP_MAX_S)
        return True

    def _wait_yielding(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        sleep = time.sleep
        while not self._dq:
            if self._interrupted() or time.monotonic() >= deadline:
                return bool(self._dq)
            sleep(0)
        return True

    def _wait_busy_spin(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        sleep = time.sleep
        while True:
            for _ in range(_BUSY_SPIN_CHECKS):
                if self._dq:
                    return True
            if self._interrupted() or time.monotonic() >= deadline:
                return bool(self._dq)
            sleep(0)  # drop the GIL: the producers and the WAL thread need it to make progress
