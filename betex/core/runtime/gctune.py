"""Garbage-collector settings for a process that holds a large, long-lived, acyclic heap.

The engine's state (orders, levels, events) holds no reference cycles, so CPython's cyclic
collector only costs time: with ~10^5 live objects its default thresholds make full scans
frequent enough to halve engine throughput. Collect less often, and move what recovery
loaded into the permanent generation so it is never scanned again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GEN0_THRESHOLD = 50_000


def tune_for_engine(freeze: bool = True) -> None:
    """Call once at start-up, after recovery (servers, replay, benchmarks)."""
    gc.collect()
    if freeze:
        gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 50, 100)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection while building a large acyclic heap (replay, snapshot load): the
    collector would rescan the growing heap over and over and find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
