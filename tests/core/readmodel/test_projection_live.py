"""The live-only projection (`retire_final=True`): settled and voided markets leave memory.

A live-only projection agrees with the full one on every live market, keeps each retired market's
`MarketView`, and drops its orders, trades, book and risk rows; its dump round-trips; a
`projection.snap` of the other kind (or of schema 2) is read or refused and rebuilt.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import msgpack

from betex.core.domain.events import Event
from betex.core.durability.journal import Journal
from betex.core.ops.recovery import projection_path, recover_projection, save_projection
from betex.core.protocol import render
from betex.core.readmodel.projection import Projection
from tests.core.readmodel.test_projection import Exchange, random_session


def _fed(events: list[Event], retire_final: bool, batch: int = 5) -> Projection:
    p = Projection(retire_final=retire_final)
    for i in range(0, len(events), batch):
        p.apply_batch(events[i : i + batch])
    return p


def _two_markets_one_settled() -> tuple[Exchange, int, int]:
    ex = Exchange()
    done, live = ex.market(), ex.market()
    for m in (done, live):
        ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
        ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
        ex.place(m, 2, "LAY", 3.0, 5.0, account=3)
    ex.send({"CLOSE_MARKET": {"market_id": done}})
    ex.send({"SETTLE_MARKET": {"market_id": done, "winner_runner_ids": [1]}})
    return ex, done, live


def test_a_settled_market_leaves_the_live_projection() -> None:
    ex, done, live = _two_markets_one_settled()
    full, lean = _fed(ex.events, False), _fed(ex.events, True)
    assert lean.markets[done].state == "SETTLED" and lean.markets[done].trade_ids == []
    assert not any(o.market_id == done for o in lean.order_table.values())
    assert done not in lean.risk_table and done not in lean.by_market
    counts, full_counts = lean.live_counts(), full.live_counts()
    assert (counts["orders"], counts["trades"], counts["open_orders"]) == (3, 1, 2)
    assert (full_counts["orders"], full_counts["trades"]) == (6, 2)
    # the live market reads the same in both
    assert render.orders(lean, market_id=live) == render.orders(full, market_id=live)
    assert render.risk(lean, market_id=live) == render.risk(full, market_id=live)
    assert render.snapshot(lean, live, 10) == render.snapshot(full, live, 10)
    assert render.snapshot(lean, done, 10) == render.snapshot(full, done, 10)


def test_a_voided_market_leaves_the_live_projection() -> None:
    ex = Exchange()
    m = ex.market()
    ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
    ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
    ex.send({"VOID_MARKET": {"market_id": m}})
    lean = _fed(ex.events, True)
    counts = lean.live_counts()
    assert (counts["orders"], counts["trades"], counts["voided_trades"], counts["risk_entries"]) == (
        0,
        0,
        0,
        0,
    )
    assert (counts["completed_orders"], counts["accounts"], counts["markets"]) == (0, 0, 1)


def test_live_only_rebuild_equals_live_and_round_trips() -> None:
    ex = Exchange()
    random_session(ex, 5, n=300)
    live = Projection(retire_final=True)
    for ev in ex.events:
        live.apply(ev)
    assert _fed(ex.events, True, batch=11).dump() == live.dump()
    half = len(ex.events) // 2
    first = _fed(ex.events[:half], True)
    loaded = Projection.load(first.dump())
    assert loaded.retire_final and loaded.dump() == first.dump()
    loaded.apply_batch(ex.events[half:])
    assert loaded.dump() == live.dump()


def _data_dir(tmp_path: Path, events: list[Event]) -> Path:
    d = tmp_path / "data"
    with Journal.open_writer(d, durability="async") as j:
        j.append(events)
    return d


def test_a_snap_of_the_other_kind_is_refused_and_rebuilt(tmp_path: Path) -> None:
    ex, _, _ = _two_markets_one_settled()
    d = _data_dir(tmp_path, ex.events)
    save_projection(_fed(ex.events, False), projection_path(d))
    p, how = recover_projection(d, retire_final=True)
    assert how.file_seq is None and how.ignored is not None and "full-history" in how.ignored
    assert p.retire_final and p.dump() == _fed(ex.events, True).dump()


def test_a_schema_2_snap_is_read_as_full_history(tmp_path: Path) -> None:
    ex, _, _ = _two_markets_one_settled()
    full = _fed(ex.events, False)
    magic, _schema, seq, _crc, payload = msgpack.unpackb(full.dump())
    state = msgpack.unpackb(payload, strict_map_key=False)
    old_payload = msgpack.packb(state[:9])  # schema 2 had no retire_final
    old = msgpack.packb((magic, 2, seq, zlib.crc32(old_payload), old_payload))
    loaded = Projection.load(old)
    assert not loaded.retire_final and loaded.dump() == full.dump()
