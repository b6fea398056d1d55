"""The history store against the projection: same events, same orders, trades and settlements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from betex.core.domain.engine import Engine
from betex.core.domain.events import Event, OrderAccepted
from betex.core.protocol import render
from betex.core.protocol.render import effective_odds_to_wire
from betex.core.readmodel.history import (
    MAX_LIMIT,
    HistoryError,
    HistoryGap,
    Page,
    SQLiteHistory,
    decode_cursor,
)
from betex.core.readmodel.projection import Projection
from tests.core.readmodel.history_child import stream
from tests.core.strategies import RUNNERS, SEC, T0, Scenario, resolve, scenarios


def drive(scenario: Scenario) -> list[list[Event]]:
    """A real engine through `scenario`, opening a fresh market when the latest one is finished."""
    engine = Engine()
    ts = T0
    batches = []

    def batch(dt: int, cmds: tuple[Any, ...]) -> None:
        nonlocal ts
        ts += dt
        engine.begin_batch(ts)
        for raw in cmds:
            engine.execute(resolve(raw, engine, ts))
        batches.append(engine.end_batch(len(cmds)))

    batch(SEC, (scenario.create_command(),))
    for dt, cmds in scenario.steps:
        batch(dt, cmds)
        if engine.next_market_id - 1 in engine.tombstones:  # the latest market is SETTLED or VOIDED
            batch(0, (scenario.create_command(),))
    return batches


def every(query: Any, limit: int = 37, **kw: Any) -> list[dict[str, Any]]:
    """All rows of a paged query, following cursors."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page: Page = query(cursor=cursor, limit=limit, **kw)
        rows.extend(page.rows)
        if page.cursor is None:
            return rows
        cursor = page.cursor


def assert_same_as_projection(store: SQLiteHistory, p: Projection) -> None:
    """Row by row: every order's final sizes and status, the orders' order, trades with their
    voided flags, and each account's settled P&L."""
    assert store.applied_seq() == p.seq
    rows = every(store.orders)
    assert [r["order_id"] for r in rows] == [
        o["order_id"] for o in render.orders(p, limit=MAX_LIMIT)["orders"]
    ]
    assert len(rows) == len(p.order_table)
    for r in rows:
        o = p.order_table[r["order_id"]]
        model = p.markets[o.market_id].model
        assert (
            r["market_id"],
            r["account_id"],
            r["runner_id"],
            r["side"],
            r["price"],
            r["size"],
            r["size_matched"],
            r["size_remaining"],
            r["size_cancelled"],
            r["size_lapsed"],
            r["size_voided"],
            r["persistence"],
            r["time_in_force"],
            r["client_ref"],
            r["replaces"],
            r["placed_ts"],
            r["updated_ts"],
        ) == (
            o.market_id,
            o.account_id,
            o.runner_id,
            o.side,
            o.price,
            o.size,
            o.matched,
            o.remaining,
            o.cancelled,
            o.lapsed,
            o.voided,
            o.persistence,
            o.time_in_force,
            o.client_ref,
            o.replaces,
            o.placed_ts,
            o.updated_ts,
        )
        served = render.order_dict(p, o)
        assert r["status"] == served["status"]
        if o.matched:
            assert r["avg_price_matched"] == o.value / o.matched
            wire = (
                round(r["avg_price_matched"], 2)
                if model == "BINARY_YES"
                else effective_odds_to_wire(r["avg_price_matched"] / 100)
            )
            assert wire == served["avg_price_matched"]
        else:
            assert r["avg_price_matched"] is None is served["avg_price_matched"]
    for status in ("open", "complete"):
        got = [r["order_id"] for r in every(store.orders, status=status)]
        want = [o["order_id"] for o in render.orders(p, status=status, limit=MAX_LIMIT)["orders"]]
        assert got == want, status
    completed = [r["order_id"] for r in every(store.completed_orders)]
    assert completed == [o["order_id"] for o in render.completed_orders(p, limit=MAX_LIMIT)["orders"]]
    trades = every(store.trades)
    assert [t["trade_id"] for t in trades] == list(reversed(p.trade_table))
    for t in trades:
        e = p.trade_table[t["trade_id"]]
        assert (t["market_id"], t["price"], t["size"], t["maker_size"], t["implied"], t["house"]) == (
            e.market_id,
            e.price,
            e.taker_size,
            e.maker_size,
            e.implied,
            e.house,
        )
        assert t["voided"] == (e.trade_id in p.voided)
        assert t["effective_odds"] == p._taker_value(e) / e.taker_size
    settled = {(s["market_id"], s["account_id"]): s["gross"] for s in every(store.settlements)}
    want_settled = {
        (mid, a): r.settled_pnl
        for mid, accounts in p.risk_table.items()
        for a, r in accounts.items()
        if r.settled_pnl is not None
    }
    assert settled == want_settled
    for s in every(store.settlements):
        assert s["net"] == s["gross"] - s["commission"] and s["commission"] == 0


def feed(store: SQLiteHistory, p: Projection, batches: list[list[Event]]) -> None:
    for b in batches:
        store.apply_batch(b)
        p.apply_batch(b)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_orders_trades_and_settlements_equal_the_projection(tmp_path: Path, seed: int) -> None:
    store = SQLiteHistory.open(tmp_path / "history.db")
    p = Projection()
    feed(store, p, stream(500, seed))
    assert store.counts()["settlements"] > 0 and any(p.voided)
    assert_same_as_projection(store, p)


@pytest.mark.parametrize("book", sorted(RUNNERS))
def test_random_scenarios_equal_the_projection(tmp_path_factory: pytest.TempPathFactory, book: str) -> None:
    """Implied matches, binary markets, dead heats, FOK kills, replaces: the engine's property
    streams, through both read models."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(book))
    def check(scenario: Scenario) -> None:
        store = SQLiteHistory.open(tmp_path_factory.mktemp("h") / "history.db")
        p = Projection()
        feed(store, p, drive(scenario))
        assert_same_as_projection(store, p)
        store.close()

    check()


def test_rebuild_equals_the_incrementally_written_store(tmp_path: Path) -> None:
    batches = stream(600, 4)
    live = SQLiteHistory.open(tmp_path / "live.db")
    for b in batches:
        live.apply_batch(b)
    events = [e for b in batches for e in b]
    for chunk in (1, 97, 1_000_000):
        rebuilt = SQLiteHistory.rebuild(tmp_path / "rebuilt.db", iter(events), batch=chunk)
        assert rebuilt.dump() == live.dump()
        assert rebuilt.applied_seq() == events[-1].seq
        rebuilt.close()
    assert not (tmp_path / "rebuilt.db.rebuild").exists()


def test_batches_at_or_below_the_applied_seq_are_skipped_and_a_gap_raises(tmp_path: Path) -> None:
    batches = stream(60, 5)
    store = SQLiteHistory.open(tmp_path / "h.db")
    for b in batches[:30]:
        store.apply_batch(b)
    before = store.dump()
    seq = store.applied_seq()
    for b in batches[:30]:  # a replay after restart: already applied, nothing changes
        assert store.apply_batch(b) == seq
    assert store.dump() == before
    overlap = batches[29] + batches[30]  # a batch straddling the applied seq applies its tail only
    store.apply_batch(overlap)
    assert store.applied_seq() == batches[30][-1].seq
    with pytest.raises(HistoryGap):
        store.apply_batch(batches[32])
    half = batches[31][:-1]  # a failing batch leaves nothing behind, not even its head
    bad = [*half, batches[33][0]]
    snapshot = store.dump()
    with pytest.raises(HistoryGap):
        store.apply_batch(bad)
    assert store.dump() == snapshot
    for b in batches[31:]:
        store.apply_batch(b)
    assert store.applied_seq() == batches[-1][-1].seq


def test_an_event_for_an_unknown_order_rolls_the_batch_back(tmp_path: Path) -> None:
    batches = stream(10, 6)
    store = SQLiteHistory.open(tmp_path / "h.db")
    for b in batches:
        store.apply_batch(b)
    seq = store.applied_seq()
    before = store.dump()
    from betex.core.domain.events import OrderCancelled

    accepted = OrderAccepted(seq + 1, T0, 1, 10_000, 1, 1, "BACK", 250, 100, "LAPSE", "GTC", "", 0)
    with pytest.raises(HistoryError):
        store.apply_batch([accepted, OrderCancelled(seq + 2, T0, 1, 99_999, 100, "USER")])
    assert store.dump() == before and store.applied_seq() == seq


def test_readers_see_committed_batches_only(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    batches = stream(40, 7)
    writer = SQLiteHistory.open(path)
    writer.apply_batch(batches[0])
    reader = SQLiteHistory.open_reader(path)
    assert reader.applied_seq() == batches[0][-1].seq
    for b in batches[1:]:
        writer.apply_batch(b)
    assert reader.applied_seq() == batches[-1][-1].seq
    assert every(reader.orders) == every(writer.orders)
    with pytest.raises(HistoryError):
        reader.apply_batch(batches[0])


def test_order_updates_replay_from_a_seq_in_commit_order(tmp_path: Path) -> None:
    store = SQLiteHistory.open(tmp_path / "h.db")
    p = Projection()
    feed(store, p, stream(300, 8))
    account = 3
    updates = every(store.order_updates, account_id=account)
    keys = [(u["seq"], u["idx"]) for u in updates]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    orders = {o for o in p.by_account[account]}
    assert {u["order_id"] for u in updates} == orders
    last: dict[int, dict[str, Any]] = {}
    for u in updates:
        if u["fill_trade_id"] is not None:
            assert u["reason"] is None and u["fill_size"] > 0
        last[u["order_id"]] = u
    for oid, u in last.items():  # the newest update of each order is its final state
        o = p.order_table[oid]
        assert (u["size_matched"], u["size_remaining"]) == (o.matched, o.remaining)
    middle = keys[len(keys) // 2][0]
    tail = every(store.order_updates, account_id=account, from_seq=middle)
    assert tail == [u for u in updates if u["seq"] > middle]


def test_bad_cursors_limits_and_statuses_are_value_errors(tmp_path: Path) -> None:
    store = SQLiteHistory.open(tmp_path / "h.db")
    store.apply_batch(stream(30, 9)[0])
    page = store.trades(limit=1)
    for cursor in ("garbage", "", "W10"):
        with pytest.raises(ValueError):
            store.orders(cursor=cursor)
    cursor = store.orders(limit=1).cursor
    if cursor is not None:
        with pytest.raises(ValueError):
            store.trades(cursor=cursor)  # a cursor belongs to its query kind
        assert decode_cursor("orders", cursor, 1)
    with pytest.raises(ValueError):
        store.orders(limit=0)
    with pytest.raises(ValueError):
        store.orders(status="pending")
    assert page.cursor is None or page.rows


def test_a_second_writer_is_refused_instead_of_double_applying(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    batches = stream(20, 10)
    first = SQLiteHistory.open(path)
    second = SQLiteHistory.open(path)
    first.apply_batch(batches[0])
    before = first.dump()
    with pytest.raises(HistoryError, match="second writer"):
        second.apply_batch(batches[0] + batches[1])
    assert second.dump() == before
    assert second.apply_batch(batches[0]) == batches[0][-1].seq  # it has caught up and skips
    second.apply_batch(batches[1])
    assert second.dump() != before
