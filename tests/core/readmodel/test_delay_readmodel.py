"""The in-play bet delay in the read models: DELAYED in /orders (projection and history store),
the order stream's DELAYED → EXECUTABLE → fills and DELAY_VOIDED rows, depth without delayed
orders, and dumps / rebuilds equal to incremental application."""

from __future__ import annotations

from pathlib import Path

from betex.core.domain import commands as C
from betex.core.domain.events import Event
from betex.core.domain.results import MarketResult, OrderResult
from betex.core.protocol import render
from betex.core.readmodel.history import SQLiteHistory
from betex.core.readmodel.projection import Projection
from tests.core.harness import Harness
from tests.core.readmodel.test_history import assert_same_as_projection


def _batch(h: Harness) -> None:
    h.engine.begin_batch(h.ts)
    h.events.extend(h.engine.end_batch(0))


def _statuses(p: Projection) -> dict[int, str]:
    return {o["order_id"]: o["status"] for o in render.orders(p)["orders"]}


def test_delayed_orders_through_projection_history_and_order_updates(tmp_path: Path) -> None:
    h = Harness()
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "IN_PLAY",
                             (1, 2), (), bet_delay_ms=1000))  # fmt: skip
    assert isinstance(r, MarketResult)
    m = r.market_id
    lay = h.place(m, 1, "LAY", 3.0, 10, 2)
    back = h.place(m, 1, "BACK", 3.0, 10, 1)
    assert isinstance(lay, OrderResult) and isinstance(back, OrderResult)
    store = SQLiteHistory.open(tmp_path / "h.db")
    p = Projection()
    fed = 0

    def feed() -> list[tuple[object, ...]]:
        nonlocal fed
        new: list[Event] = h.events[fed:]
        fed = len(h.events)
        store.apply_batch(new)
        p.apply_batch(new)
        return list(store.last_updates)

    updates = feed()
    assert [(u[3], u[7], u[9]) for u in updates] == [
        (lay.order_id, "DELAYED", 1000),
        (back.order_id, "DELAYED", 1000),
    ]
    assert _statuses(p) == {lay.order_id: "DELAYED", back.order_id: "DELAYED"}
    assert p.depth(m) == h.engine.depth(m) and all(not a and not b for _r, a, b in p.depth(m)["runners"])  # type: ignore[index]
    assert [m_["bet_delay_ms"] for m_ in render.market_list(p)] == [1000]
    assert_same_as_projection(store, p)
    h.tick(1)
    _batch(h)
    updates = feed()
    # both mature (DELAYED → EXECUTABLE, no fill, no reason), then the back fills against the lay
    assert [(u[3], u[7], u[9], u[10], u[15]) for u in updates] == [
        (lay.order_id, "EXECUTABLE", 1000, None, None),
        (back.order_id, "EXECUTABLE", 1000, None, None),
        (back.order_id, "EXECUTION_COMPLETE", 0, 1, None),
        (lay.order_id, "EXECUTION_COMPLETE", 0, 1, None),
    ]
    assert p.depth(m) == h.engine.depth(m)
    voided = h.place(m, 2, "BACK", 2.0, 10, 1)
    part = h.place(m, 2, "LAY", 2.0, 10, 3)
    assert isinstance(voided, OrderResult) and isinstance(part, OrderResult)
    h.run(C.CancelOrder(m, part.order_id, 3, 400))
    updates = feed()
    assert [(u[3], u[7], u[9], u[15]) for u in updates][-1] == (part.order_id, "DELAYED", 600, "USER")
    assert_same_as_projection(store, p)
    h.run(C.SetMarketState(m, "SUSPENDED"))
    updates = feed()
    assert [(u[3], u[7], u[9], u[15]) for u in updates] == [
        (voided.order_id, "EXECUTION_COMPLETE", 0, "DELAY_VOIDED"),
        (part.order_id, "EXECUTION_COMPLETE", 0, "DELAY_VOIDED"),
    ]
    assert not p.delayed
    assert_same_as_projection(store, p)
    assert Projection.load(p.dump()).dump() == p.dump()
    rebuilt = SQLiteHistory.rebuild(tmp_path / "r.db", iter(h.events))
    assert rebuilt.dump() == store.dump()
    store.close()
    rebuilt.close()


def test_a_projection_dump_with_delayed_orders_pending_reloads_the_same(tmp_path: Path) -> None:
    h = Harness()
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "IN_PLAY",
                             (1, 2), (), bet_delay_ms=1000))  # fmt: skip
    assert isinstance(r, MarketResult)
    h.place(r.market_id, 1, "LAY", 3.0, 10, 2)
    p = Projection()
    p.apply_batch(h.events)
    q = Projection.load(p.dump())
    assert q.dump() == p.dump() and q.delayed == p.delayed == {1}
    assert q.depth(r.market_id) == p.depth(r.market_id)
