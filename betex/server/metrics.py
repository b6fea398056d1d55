"""`/metrics`: the runtime's counters (engine, ring, WAL, stages) merged with the server's own
(connections, pre-engine refusals, projection stage and lag), as JSON or Prometheus text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from betex.core.runtime.metrics import Histogram, bucket_upper

if TYPE_CHECKING:
    from .hub import Hub

_STARTED = time.time()


def histogram_dict(h: Histogram) -> dict[str, Any]:
    """Percentiles plus the non-empty buckets as ``[upper_bound_ns, count]`` (not cumulative)."""
    d: dict[str, Any] = dict(h.to_dict())
    d["buckets"] = [[bucket_upper(i), n] for i, n in enumerate(h.counts) if n]
    return d


def _rejects(hub: Hub, runtime_rejects: dict[str, int]) -> dict[str, int]:
    out = dict(runtime_rejects)
    for code, n in hub.stats.rejects.items():
        if n:
            out[code] = out.get(code, 0) + n
    return dict(sorted(out.items()))


def metrics_json(hub: Hub) -> dict[str, Any]:
    runtime = hub.runtime
    rm = runtime.metrics
    rt = rm.to_dict()
    counters = rt["counters"]
    gauges = rt["gauges"]
    info = rt["info"]
    stats = hub.stats
    seq = runtime.journal.last_seq
    proj_seq = hub.projection_seq()
    journal = runtime.journal
    stages = {name: histogram_dict(h) for name, h in rm.stages.items()}
    stages["projection"] = histogram_dict(stats.projection_latency)
    stages["ack"] = histogram_dict(stats.ack_latency)
    wal_stage = rm.stages.get("wal_commit")
    rejects = _rejects(hub, rm.rejects_by_code())
    return {
        "seq": seq,
        "commands_total": counters["commands_total"],
        "events_total": counters["events_total"],
        "rejects_total": rejects,
        "rejects_sum": sum(rejects.values()),
        "batches_total": counters["batches"],
        "ring": {
            "size": hub.config.ring_size,
            "depth": int(gauges.get("ring_depth", 0)),
            "wait_strategy": info.get("wait_strategy", hub.config.wait_strategy),
        },
        "wal": {
            "bytes": journal.bytes_written,
            "commits": journal.commits,
            "events": journal.events_written,
            "durability": journal.durability,
            "map_size": journal.map_size,
            "fsync_p50_ns": wal_stage.percentile(0.5) if wal_stage else 0,
            "fsync_p99_ns": wal_stage.percentile(0.99) if wal_stage else 0,
        },
        "stage_latency": stages,
        "projection": {
            "seq": proj_seq,
            "lag_events": max(0, seq - proj_seq),
            "batches": stats.projection_batches,
            "events": stats.projection_events,
        },
        "connections": stats.connections_dict(),
        "websocket": {
            "messages_in": stats.messages_in,
            "replies_out": stats.replies_out,
            "snapshots_sent": stats.snapshots_sent,
        },
        "snapshots": {"written": counters["snapshots"], "errors": counters["snapshot_errors"]},
        "handler_errors": counters["handler_errors"],
        "uptime_s": round(time.time() - _STARTED, 3),
        "recovery": hub.recovery,
    }


def metrics_prometheus(hub: Hub) -> str:
    """The runtime's exposition plus the server's series (same `betex_` prefix)."""
    runtime = hub.runtime
    stats = hub.stats
    lines = [runtime.metrics.to_prometheus().rstrip("\n")]

    def metric(name: str, kind: str, help_: str, value: float | int, labels: str = "") -> None:
        full = f"betex_{name}"
        lines.append(f"# HELP {full} {help_}")
        lines.append(f"# TYPE {full} {kind}")
        lines.append(f"{full}{{{labels}}} {value}" if labels else f"{full} {value}")

    seq = runtime.journal.last_seq
    metric("projection_seq", "gauge", "Last event seq applied to the projection.", hub.projection_seq())
    metric(
        "projection_lag_events",
        "gauge",
        "Committed events not yet in the projection.",
        max(0, seq - hub.projection_seq()),
    )
    full = "betex_server_rejects_total"
    lines.append(f"# HELP {full} Commands refused by the server before the engine, by code.")
    lines.append(f"# TYPE {full} counter")
    for code, n in sorted(stats.rejects.items()):
        lines.append(f'{full}{{code="{code}"}} {n}')
    full = "betex_connections"
    lines.append(f"# HELP {full} Open WebSocket connections by endpoint.")
    lines.append(f"# TYPE {full} gauge")
    lines.append(f'{full}{{endpoint="ws"}} {stats.ws_connections}')
    lines.append(f'{full}{{endpoint="ws_ctl"}} {stats.ws_ctl_connections}')
    metric(
        "connections_accepted_total", "counter", "WebSocket connections accepted.", stats.connections_total
    )
    metric(
        "slow_disconnects_total",
        "counter",
        "Clients disconnected for an oversized send backlog.",
        stats.slow_disconnects,
    )
    metric("ws_messages_in_total", "counter", "Client WebSocket messages received.", stats.messages_in)
    metric("ws_replies_out_total", "counter", "Command replies sent.", stats.replies_out)
    metric("ws_snapshots_total", "counter", "SNAPSHOT messages offered to subscribers.", stats.snapshots_sent)
    h = stats.projection_latency
    full = "betex_projection_latency_seconds"
    lines.append(f"# HELP {full} Engine commit to projection applied (per batch).")
    lines.append(f"# TYPE {full} histogram")
    for le, n in h.cumulative_octaves():
        lines.append(f'{full}_bucket{{le="{le / 1e9:.9g}"}} {n}')
    lines.append(f'{full}_bucket{{le="+Inf"}} {h.count}')
    lines.append(f"{full}_sum {h.total / 1e9:.9g}")
    lines.append(f"{full}_count {h.count}")
    return "\n".join(lines) + "\n"
