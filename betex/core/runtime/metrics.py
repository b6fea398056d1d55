"""Always-on runtime metrics: plain int counters and fixed log-scale latency histograms.

Cheap enough to stay on: a counter is an attribute increment on the engine thread, a histogram
record is a `bit_length` and a list increment (no locks; only the engine thread writes). Readers
(the server's metrics endpoint) take a racy but consistent-enough view via `to_dict`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Four sub-buckets per power of two (HDR-style, <= 25% relative error); values 0..7 are exact.
_SUB_BITS = 2
_SUB = 1 << _SUB_BITS
_MAX_BITS = 42  # ~73 minutes in ns; larger values land in the last bucket
N_BUCKETS = (_MAX_BITS - _SUB_BITS) * _SUB + _SUB * 2


def bucket_index(ns: int) -> int:
    """Bucket of a non-negative nanosecond value (negative clamps to 0)."""
    if ns < 2 * _SUB:
        return ns if ns > 0 else 0
    bl = ns.bit_length()
    i = (bl - _SUB_BITS) * _SUB + ((ns >> (bl - _SUB_BITS - 1)) & (_SUB - 1))
    return i if i < N_BUCKETS else N_BUCKETS - 1


def bucket_upper(index: int) -> int:
    """Exclusive upper bound (ns) of a bucket."""
    if index < 2 * _SUB:
        return index + 1
    bl = index // _SUB + _SUB_BITS
    sub = index % _SUB
    return (_SUB + sub + 1) << (bl - _SUB_BITS - 1)


class Histogram:
    """Fixed-bucket latency histogram in ns; percentiles are bucket upper bounds (capped at max)."""

    __slots__ = ("counts", "count", "total", "max")

    def __init__(self) -> None:
        self.counts = [0] * N_BUCKETS
        self.count = 0
        self.total = 0
        self.max = 0

    def record(self, ns: int) -> None:
        if ns < 2 * _SUB:
            i = ns if ns > 0 else 0
        else:
            bl = ns.bit_length()
            i = (bl - _SUB_BITS) * _SUB + ((ns >> (bl - _SUB_BITS - 1)) & (_SUB - 1))
            if i >= N_BUCKETS:
                i = N_BUCKETS - 1
        self.counts[i] += 1
        self.count += 1
        self.total += ns
        if ns > self.max:
            self.max = ns

    def record_n(self, ns: int, n: int) -> None:
        """Record `ns` as standing for `n` observations (a stratified sample of a FIFO batch)."""
        self.counts[bucket_index(ns)] += n
        self.count += n
        self.total += ns * n
        if ns > self.max:
            self.max = ns

    def percentile(self, q: float) -> int:
        """Value (ns) at quantile q in [0, 1]; 0 when empty."""
        if self.count == 0:
            return 0
        rank = max(1, int(q * self.count + 0.999999))
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank:
                return min(bucket_upper(i), self.max)
        return self.max

    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "mean_ns": round(self.mean(), 1),
            "p50_ns": self.percentile(0.50),
            "p99_ns": self.percentile(0.99),
            "p999_ns": self.percentile(0.999),
            "max_ns": self.max,
        }

    def cumulative_octaves(self) -> list[tuple[int, int]]:
        """``(le_ns, cumulative count)`` at every power of two: stable Prometheus buckets."""
        out: list[tuple[int, int]] = []
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            upper = bucket_upper(i)
            if upper & (upper - 1) == 0 and upper >= 1024:
                out.append((upper, seen))
        return out


STAGES: tuple[str, ...] = ("ingress_to_engine", "engine", "wal_commit", "handlers")
"""ingress_to_engine: per command, submit → drained (a weighted sample of at most 64 per batch);
engine: per batch; wal_commit and handlers: per commit (several batches under group commit)."""


class RuntimeMetrics:
    """Counters, gauges and stage histograms of one Runtime; JSON and Prometheus views."""

    def __init__(self) -> None:
        self.commands_total = 0
        self.events_total = 0
        self.batches = 0
        self.handler_errors = 0
        self.snapshots = 0
        self.snapshot_errors = 0
        self.rejects: dict[str, int] = {}
        self.stages: dict[str, Histogram] = {s: Histogram() for s in STAGES}
        self._gauges: dict[str, Callable[[], int]] = {}
        self._info: dict[str, str] = {}
        self._extra_rejects: dict[str, Callable[[], int]] = {}

    def add_gauge(self, name: str, fn: Callable[[], int]) -> None:
        self._gauges[name] = fn

    def set_info(self, name: str, value: str) -> None:
        self._info[name] = value

    def add_reject_source(self, code: str, fn: Callable[[], int]) -> None:
        """Rejects counted outside the engine thread (e.g. OVERLOADED, counted by the ring)."""
        self._extra_rejects[code] = fn

    def rejects_by_code(self) -> dict[str, int]:
        out = dict(self.rejects)
        for code, fn in self._extra_rejects.items():
            n = fn()
            if n:
                out[code] = out.get(code, 0) + n
        return out

    def to_dict(self) -> dict[str, Any]:
        rejects = self.rejects_by_code()
        return {
            "counters": {
                "commands_total": self.commands_total,
                "events_total": self.events_total,
                "rejects_total": sum(rejects.values()),
                "batches": self.batches,
                "handler_errors": self.handler_errors,
                "snapshots": self.snapshots,
                "snapshot_errors": self.snapshot_errors,
            },
            "rejects_by_code": rejects,
            "gauges": {name: fn() for name, fn in self._gauges.items()},
            "info": dict(self._info),
            "stages": {name: h.to_dict() for name, h in self.stages.items()},
        }

    def to_prometheus(self, prefix: str = "betex") -> str:
        """Prometheus text exposition (version 0.0.4)."""
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str) -> str:
            full = f"{prefix}_{name}"
            lines.append(f"# HELP {full} {help_}")
            lines.append(f"# TYPE {full} {kind}")
            return full

        for name, help_ in (
            ("commands_total", "Commands processed by the engine."),
            ("events_total", "Events committed to the WAL."),
            ("batches_total", "Engine batches committed."),
            ("handler_errors_total", "Event handler exceptions (logged)."),
            ("snapshots_total", "Engine snapshots written."),
        ):
            full = metric(name, "counter", help_)
            attr = {
                "batches_total": "batches",
                "handler_errors_total": "handler_errors",
                "snapshots_total": "snapshots",
            }.get(name, name)
            lines.append(f"{full} {getattr(self, attr)}")
        full = metric("rejects_total", "counter", "Rejected commands by code.")
        for code, n in sorted(self.rejects_by_code().items()):
            lines.append(f'{full}{{code="{code}"}} {n}')
        for name, fn in self._gauges.items():
            full = metric(name, "gauge", f"Runtime gauge {name}.")
            lines.append(f"{full} {fn()}")
        if self._info:
            full = metric("runtime_info", "gauge", "Runtime configuration.")
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(self._info.items()))
            lines.append(f"{full}{{{labels}}} 1")
        full = metric("stage_latency_seconds", "histogram", "Latency per pipeline stage.")
        for stage, h in self.stages.items():
            for le, n in h.cumulative_octaves():
                lines.append(f'{full}_bucket{{stage="{stage}",le="{le / 1e9:.9g}"}} {n}')
            lines.append(f'{full}_bucket{{stage="{stage}",le="+Inf"}} {h.count}')
            lines.append(f'{full}_sum{{stage="{stage}"}} {h.total / 1e9:.9g}')
            lines.append(f'{full}_count{{stage="{stage}"}} {h.count}')
        return "\n".join(lines) + "\n"
