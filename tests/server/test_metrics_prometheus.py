"""`/metrics?format=prometheus` of a real server follows Prometheus conventions, as read by
prometheus_client's own parser: counters typed counter and ending `_total`, units in names,
real HELP text, the 0.0.4 text content type."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.cli.conftest import place_orders
from tests.conftest import ServerProcess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _scrape(server: ServerProcess) -> tuple[str, str]:
    with urllib.request.urlopen(server.url + "/metrics?format=prometheus", timeout=10) as resp:
        assert resp.status == 200
        return resp.headers["Content-Type"], resp.read().decode()


def test_exposition_follows_prometheus_conventions(betex_server: ServerProcess) -> None:
    place_orders(betex_server.ws_url, 10)
    content_type, text = _scrape(betex_server)
    assert content_type == CONTENT_TYPE
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert len(families) >= 25

    for name, family in families.items():
        assert name.startswith("betex_"), name
        assert family.type in ("counter", "gauge", "histogram", "info"), (name, family.type)
        assert len(family.documentation) > 20 and "Runtime gauge" not in family.documentation, (
            f"{name}: HELP {family.documentation!r}"
        )
        if family.type == "counter":
            assert all(s.name in (f"{name}_total", f"{name}_created") for s in family.samples), name
        if family.type == "histogram" or "latency" in name:
            assert name.endswith("_seconds"), name

    for counter in (
        "betex_wal_commits",
        "betex_wal_events",
        "betex_wal_map_growths",
        "betex_wal_written_bytes",
    ):
        assert families[counter].type == "counter", counter
    assert families["betex_wal_map_size_bytes"].type == "gauge"
    assert "betex_wal_map_size" not in families and "betex_wal_bytes" not in families

    def value(name: str, **labels: str) -> float:
        return next(
            s.value for s in families[name].samples if s.labels == labels and not s.name.endswith("_created")
        )

    assert value("betex_commands") >= 11  # one market creation and ten orders
    assert value("betex_wal_commits") >= 1 and value("betex_wal_written_bytes") > 0
    assert value("betex_wal_map_size_bytes") > 0
    (info,) = families["betex_runtime_info"].samples  # an info metric: a gauge of 1 in text 0.0.4
    assert info.value == 1
    assert set(info.labels) == {"durability", "wait_strategy"}
    engine = [s for s in families["betex_stage_latency_seconds"].samples if s.labels.get("stage") == "engine"]
    inf = next(s.value for s in engine if s.labels.get("le") == "+Inf")
    count = next(s.value for s in engine if s.name.endswith("_count"))
    assert inf == count >= 1
