"""`/metrics`: the runtime's counters (engine, ring, WAL, stages) merged with the server's own
(connections, pre-engine refusals, projection stage and lag), as JSON or Prometheus text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from betex.core.runtime.metrics import Histogram, bucket_upper

from .stats import REFUSAL_KINDS

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
        "limits": _limits(hub),
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


def _limits(hub: Hub) -> dict[str, Any]:
    """The limits in force and what each refused (see `stats.Refusals` for the kinds)."""
    c = hub.config
    return {
        "auth": c.auth,
        "max_connections": c.max_connections if hub.guard is None else hub.guard.max_connections,
        "tcp_connections": 0 if hub.guard is None else len(hub.guard.open),
        "max_connections_per_client": c.max_connections_per_client,
        "request_timeout_s": c.request_timeout_s,
        "idle_timeout_s": c.idle_timeout_s,
        "rate_per_account": c.rate_per_account,
        "rate_burst": c.rate_burst,
        "max_outbox_total": c.max_outbox_total,
        "outbox_bytes": sum(conn.backlog() for conn in hub.connections),
        "refused": {kind: hub.refusals.counts.get(kind, 0) for kind in REFUSAL_KINDS},
    }


PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text exposition format that `metrics_prometheus` renders."""

_COUNTERS: tuple[tuple[str, str, str], ...] = (
    # (name without _total, key in the runtime's counters, HELP)
    ("commands", "commands_total", "Commands the engine has executed (accepted or rejected)."),
    ("events", "events_total", "Events the engine has produced and committed to the WAL."),
    ("batches", "batches", "Engine batches: commands drained from the ingress ring and executed together."),
    ("handler_errors", "handler_errors", "Exceptions raised by post-commit event handlers (each is logged)."),
    ("snapshots", "snapshots", "Engine snapshots written to the data dir's snapshots/."),
    ("snapshot_errors", "snapshot_errors", "Engine snapshots that failed to write (each is logged)."),
)
_GAUGES: dict[str, tuple[str, str, str]] = {
    # runtime gauge -> (exposed name, type, HELP); the WAL's running totals are counters
    "ring_size": ("ring_size_slots", "gauge", "Slots in the ingress ring (--ring-size)."),
    "ring_depth": ("ring_depth_commands", "gauge", "Commands waiting in the ingress ring for the engine."),
    "seq": ("wal_last_seq", "gauge", "Seq of the last event committed to the WAL."),
    "engine_seq": (
        "engine_seq",
        "gauge",
        "Seq of the last event the engine produced (ahead of the WAL while committing).",
    ),
    "wal_commits": (
        "wal_commits",
        "counter",
        "WAL write transactions committed (one per batch, or per group commit).",
    ),
    "wal_events": ("wal_events", "counter", "Events written to the WAL since the server started."),
    "wal_bytes": (
        "wal_written_bytes",
        "counter",
        "Record bytes written to the WAL since the server started.",
    ),
    "wal_map_size": (
        "wal_map_size_bytes",
        "gauge",
        "Size of the WAL's LMDB memory map; it grows when nearly full.",
    ),
    "wal_map_growths": ("wal_map_growths", "counter", "Times the WAL's LMDB memory map was grown."),
}
_STAGE_HELP = (
    "Pipeline stage latency: ingress_to_engine per command (sampled), engine per batch, "
    "wal_commit and handlers per commit."
)


def _histogram(family: Any, labels: list[str], h: Histogram) -> None:
    """One labelled histogram from a runtime `Histogram` (ns) in seconds, power-of-two buckets."""
    buckets = [(f"{le / 1e9:.9g}", n) for le, n in h.cumulative_octaves()]
    buckets.append(("+Inf", h.count))
    family.add_metric(labels, buckets, h.total / 1e9)


def metric_families(hub: Hub) -> list[Any]:
    """Every series of `/metrics?format=prometheus` as prometheus_client metric families.

    Built from the same counters as the JSON view at scrape time only: nothing on the engine or
    WebSocket paths changes (they keep bumping plain ints); the cost is one render per scrape.
    """
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        InfoMetricFamily,
    )

    runtime = hub.runtime
    rm = runtime.metrics
    rt = rm.to_dict()
    stats = hub.stats
    out: list[Any] = []
    for name, key, help_ in _COUNTERS:
        out.append(CounterMetricFamily(f"betex_{name}", help_, value=rt["counters"][key]))
    rejects = CounterMetricFamily(
        "betex_rejects",
        "Commands the engine rejected, by reject code (OVERLOADED: ring full).",
        labels=["code"],
    )
    for code, n in sorted(rm.rejects_by_code().items()):
        rejects.add_metric([code], n)
    out.append(rejects)
    refused = CounterMetricFamily(
        "betex_refused",
        "Connections, upgrades and commands refused by a server limit or check, by kind.",
        labels=["kind"],
    )
    for kind in REFUSAL_KINDS:
        refused.add_metric([kind], hub.refusals.counts.get(kind, 0))
    out.append(refused)
    out.append(
        GaugeMetricFamily(
            "betex_outbox_bytes",
            "Bytes of replies queued and unsent, summed over all WebSocket connections.",
            value=sum(conn.backlog() for conn in hub.connections),
        )
    )
    for gauge, value in rt["gauges"].items():
        name, kind, help_ = _GAUGES.get(gauge, (gauge, "gauge", f"Runtime gauge {gauge} (undocumented)."))
        kind_of = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
        out.append(kind_of(f"betex_{name}", help_, value=value))
    if rt["info"]:
        out.append(InfoMetricFamily("betex_runtime", "How the runtime is configured.", value=rt["info"]))
    stages = HistogramMetricFamily("betex_stage_latency_seconds", _STAGE_HELP, labels=["stage"])
    for stage, h in rm.stages.items():
        _histogram(stages, [stage], h)
    out.append(stages)

    seq = runtime.journal.last_seq
    proj_seq = hub.projection_seq()
    out += [
        GaugeMetricFamily(
            "betex_projection_seq", "Seq of the last event applied to the projection.", value=proj_seq
        ),
        GaugeMetricFamily(
            "betex_projection_lag_events",
            "Events committed to the WAL but not yet applied to the projection.",
            value=max(0, seq - proj_seq),
        ),
        CounterMetricFamily(
            "betex_projection_batches",
            "Engine batches applied to the projection.",
            value=stats.projection_batches,
        ),
        CounterMetricFamily(
            "betex_projection_events", "Events applied to the projection.", value=stats.projection_events
        ),
    ]
    server_rejects = CounterMetricFamily(
        "betex_server_rejects",
        "Commands refused by the server before the engine (bad JSON, rate, auth), by reject code.",
        labels=["code"],
    )
    for code, n in sorted(stats.rejects.items()):
        server_rejects.add_metric([code], n)
    out.append(server_rejects)
    connections = GaugeMetricFamily(
        "betex_connections", "Open WebSocket connections, by endpoint.", labels=["endpoint"]
    )
    connections.add_metric(["ws"], stats.ws_connections)
    connections.add_metric(["ws_ctl"], stats.ws_ctl_connections)
    out.append(connections)
    for name, help_, value in (
        ("connections_accepted", "WebSocket connections accepted since start.", stats.connections_total),
        (
            "slow_disconnects",
            "Clients disconnected because their send backlog grew too large.",
            stats.slow_disconnects,
        ),
        ("ws_messages_received", "WebSocket messages received from clients.", stats.messages_in),
        ("ws_replies_sent", "Command replies sent to clients.", stats.replies_out),
        ("ws_snapshots_sent", "SNAPSHOT messages offered to subscribers.", stats.snapshots_sent),
    ):
        out.append(CounterMetricFamily(f"betex_{name}", help_, value=value))
    for name, help_, h in (
        (
            "projection_latency_seconds",
            "Engine commit to batch applied to the projection.",
            stats.projection_latency,
        ),
        (
            "ack_latency_seconds",
            "Command received to its reply queued (acknowledged sessions only).",
            stats.ack_latency,
        ),
    ):
        family = HistogramMetricFamily(f"betex_{name}", help_, labels=[])
        _histogram(family, [], h)
        out.append(family)
    out.append(
        GaugeMetricFamily(
            "betex_start_time_seconds", "When the server process started, in Unix seconds.", value=_STARTED
        )
    )
    return out


def render_prometheus(families: list[Any]) -> bytes:
    """Text exposition 0.0.4 of collected families (pure: safe to run off the event loop)."""
    from prometheus_client import CollectorRegistry, generate_latest

    class _Collected:
        def collect(self) -> list[Any]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collected())
    return generate_latest(registry)


def metrics_prometheus(hub: Hub) -> str:
    """The Prometheus text exposition (format 0.0.4, served as `PROMETHEUS_CONTENT_TYPE`)."""
    return render_prometheus(metric_families(hub)).decode()


async def prometheus_exposition(hub: Hub) -> bytes:
    """`/metrics?format=prometheus`: the counters are read on the event loop (they are only ever
    written there or by single int stores), the text (~1.5 ms of CPU for ~250 samples) is written
    in a worker thread, so a scrape does not hold up WebSocket replies for the whole render."""
    import asyncio

    families = metric_families(hub)
    return await asyncio.get_running_loop().run_in_executor(None, render_prometheus, families)
