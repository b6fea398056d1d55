"""Server metrics as the TUI shows them: rates over a sliding window, sticky stage percentiles.

`/metrics` gives monotonic counters and per-stage latency histograms as cumulative bucket
counts. Rates are counter differences across the window; stage p50/p99 come from the bucket
*deltas* since the previous poll, so they describe recent traffic rather than the whole
uptime. They are sticky: a poll with no new samples keeps the last estimate instead of
dropping to zero. A counter going backwards (server restarted) resets the baseline.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

STAGE_ORDER: tuple[str, ...] = ("ingress_to_engine", "engine", "wal_commit", "handlers", "projection")


@dataclass(frozen=True, slots=True)
class StageLatency:
    name: str
    p50_ns: int
    p99_ns: int
    samples: int
    """Samples behind the current estimate (the last poll that had any)."""


@dataclass(frozen=True, slots=True)
class MetricsView:
    events_per_s: float = 0.0
    commands_per_s: float = 0.0
    rejects_per_s: float = 0.0
    seq: int = 0
    commands_total: int = 0
    events_total: int = 0
    rejects_total: int = 0
    ring_depth: int = 0
    ring_size: int = 0
    wait_strategy: str = ""
    projection_lag: int = 0
    connections: int = 0
    wal_bytes: int = 0
    durability: str = ""
    stages: tuple[StageLatency, ...] = ()
    window_s: float = 0.0
    error: str | None = None


def percentile_from_buckets(buckets: list[tuple[int, int]], q: float) -> int:
    """The upper bound (ns) of the bucket holding quantile `q` of `(upper_ns, count)` rows."""
    total = sum(n for _, n in buckets)
    if total <= 0:
        return 0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for upper, n in sorted(buckets):
        seen += n
        if seen >= rank:
            return upper
    return sorted(buckets)[-1][0]


def _int(v: Any) -> int:
    return int(v) if isinstance(v, int | float) else 0


class MetricsTracker:
    """Feed it each `/metrics` body with the time it was read; it returns the view to show."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int, int, int]] = deque()
        self._prev_buckets: dict[str, dict[int, int]] = {}
        self._prev_counts: dict[str, int] = {}
        self._sticky: dict[str, StageLatency] = {}

    def reset(self) -> None:
        self._samples.clear()
        self._prev_buckets.clear()
        self._prev_counts.clear()

    def update(self, body: dict[str, Any], now: float) -> MetricsView:
        cmds = _int(body.get("commands_total"))
        events = _int(body.get("events_total"))
        rejects_raw = body.get("rejects_total")
        rejects = (
            sum(_int(v) for v in rejects_raw.values()) if isinstance(rejects_raw, dict) else _int(rejects_raw)
        )
        if self._samples and (cmds < self._samples[-1][1] or events < self._samples[-1][2]):
            self.reset()
        self._samples.append((now, cmds, events, rejects))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        t0, c0, e0, r0 = self._samples[0]
        span = now - t0
        rate = (lambda a, b: (a - b) / span) if span > 0 else (lambda a, b: 0.0)
        stages = self._stages(body.get("stage_latency") or {})
        ring = body.get("ring") or {}
        proj = body.get("projection") or {}
        wal = body.get("wal") or {}
        conns = body.get("connections") or {}
        return MetricsView(
            events_per_s=rate(events, e0),
            commands_per_s=rate(cmds, c0),
            rejects_per_s=rate(rejects, r0),
            seq=_int(body.get("seq")),
            commands_total=cmds,
            events_total=events,
            rejects_total=rejects,
            ring_depth=_int(ring.get("depth")),
            ring_size=_int(ring.get("size")),
            wait_strategy=str(ring.get("wait_strategy", "")),
            projection_lag=_int(proj.get("lag_events")),
            connections=_int(conns.get("total")) if isinstance(conns, dict) else 0,
            wal_bytes=_int(wal.get("bytes")),
            durability=str(wal.get("durability", "")),
            stages=stages,
            window_s=span,
        )

    def _stages(self, raw: dict[str, Any]) -> tuple[StageLatency, ...]:
        names = [s for s in STAGE_ORDER if s in raw] + sorted(s for s in raw if s not in STAGE_ORDER)
        out = []
        for name in names:
            h = raw.get(name) or {}
            cur = {int(u): int(n) for u, n in h.get("buckets") or ()}
            count = _int(h.get("count"))
            prev = self._prev_buckets.get(name)
            if prev is None or count < self._prev_counts.get(name, 0):
                prev = {}
            delta = [(u, n - prev.get(u, 0)) for u, n in cur.items() if n > prev.get(u, 0)]
            self._prev_buckets[name] = cur
            self._prev_counts[name] = count
            n_new = sum(n for _, n in delta)
            if n_new > 0:
                self._sticky[name] = StageLatency(
                    name, percentile_from_buckets(delta, 0.5), percentile_from_buckets(delta, 0.99), n_new
                )
            out.append(self._sticky.get(name, StageLatency(name, 0, 0, 0)))
        return tuple(out)
