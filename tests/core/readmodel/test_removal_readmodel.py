"""RUNNER_REMOVED in the read models: the projection and the SQLite history store agree row by
row after removals (orders, values, trades with reduced and original prices, settlements), the
order stream carries the cancels, voids and re-pricings with reason RUNNER_REMOVED, and a rebuilt
store equals the incrementally written one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from betex.core.domain import commands as C
from betex.core.domain.events import Event
from betex.core.protocol import render
from betex.core.readmodel.history import UPDATE_COLUMNS, SQLiteHistory
from betex.core.readmodel.projection import Projection
from tests.core.domain.test_removal import streams, worked_example
from tests.core.harness import Harness
from tests.core.readmodel.test_history import assert_same_as_projection, every


def _both(tmp: Path, events: list[Event]) -> tuple[SQLiteHistory, Projection]:
    store = SQLiteHistory.open(tmp / "history.db")
    p = Projection()
    store.apply_batch(events)
    p.apply_batch(events)
    return store, p


def test_worked_example_in_both_read_models(tmp_path: Path) -> None:
    h, m = worked_example()
    h.run(C.RemoveRunner(m, 3, 2000))
    removal_seq = h.engine.seq - 1  # the RUNNER_REMOVED (the batch marker follows)
    h.run(C.CloseMarket(m))
    h.run(C.SettleMarket(m, (1,)))
    store, p = _both(tmp_path, h.events)
    assert_same_as_projection(store, p)
    trades = {t["trade_id"]: render.history_trade(t, "EXCHANGE_ODDS") for t in every(store.trades)}
    served = {t["trade_id"]: t for t in render.trades(p)["trades"]}
    for tid, price, original, voided in (
        (1, 2.4, 3.0, False),
        (2, 3.2, 4.0, False),
        (3, 5.0, None, True),
        (4, 2.0, 2.5, False),
        (5, 3.2, 4.0, False),
        (6, 5.0, None, True),
    ):
        for view in (trades[tid], served[tid]):
            assert (view["price"], view.get("original_price"), view["voided"]) == (price, original, voided)
    settled = {s["account_id"]: s["gross"] for s in every(store.settlements)}
    assert {a: g for a, g in settled.items() if g} == {
        1: 1400,
        2: -1400,
        3: -2000,
        4: 2000,
        6: 800,
        7: -500,
        9: -300,
    }
    snap = render.snapshot(p, m)
    assert snap is not None
    assert [(r["runner_id"], r["status"], r.get("reduction_factor")) for r in snap["runners"]] == [
        (1, "ACTIVE", None),
        (2, "ACTIVE", None),
        (3, "REMOVED", 20.0),
        (4, "ACTIVE", None),
    ]
    assert snap["version"] == 4  # created 1, removal 2, close 3, settle 4
    # the order stream: account 10's cancel, account 8's void, account 9's three ring trades
    rows = {
        a: [tuple(r[c] for c in UPDATE_COLUMNS) for r in every(store.order_updates, account_id=a)]
        for a in (8, 9, 10)
    }
    rows = {a: [r for r in got if removal_seq - 1 <= r[0] <= removal_seq] for a, got in rows.items()}
    ten = [render.render_order_update(r, "EXCHANGE_ODDS", 10)["ORDER_UPDATE"] for r in rows[10]]
    assert [(u["reason"], u["size_remaining"]) for u in ten if "reason" in u] == [("RUNNER_REMOVED", 0.0)]
    eight = [render.render_order_update(r, "EXCHANGE_ODDS", 8)["ORDER_UPDATE"] for r in rows[8]]
    assert [(u["reason"], u["size_matched"], "fill" in u) for u in eight] == [("RUNNER_REMOVED", 0.0, False)]
    nine = [render.render_order_update(r, "EXCHANGE_ODDS", 9)["ORDER_UPDATE"] for r in rows[9]]
    voids = [u for u in nine if "reduced" not in u]
    reduced = [u["reduced"] for u in nine if "reduced" in u]
    assert [(u["reason"], u["size_matched"]) for u in voids] == [("RUNNER_REMOVED", 2.3)]
    assert [(r["trade_id"], r["price"]) for r in reduced] == [(4, 2.0), (5, 3.2)]
    store.close()


def test_random_removal_streams_in_both_read_models(tmp_path_factory: pytest.TempPathFactory) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(streams())
    def check(stream: tuple[str, tuple[int, ...], list[tuple[Any, ...]]]) -> None:
        book, runners, cmds = stream
        h = Harness()
        m = h.market(book, runners)
        for cmd in cmds:
            if cmd[0] == "remove":
                h.run(C.RemoveRunner(m, cmd[1], cmd[2]))
            elif cmd[0] == "void":
                if cmd[1] in h.engine.markets[m].trades:
                    h.run(C.VoidTrades(m, (cmd[1],)))
            else:
                h.run(C.PlaceOrder(m, *cmd[1:]))
        active = [r for r in runners if r not in h.engine.markets[m].removed]
        h.run(C.CloseMarket(m))
        h.run(C.SettleMarket(m, (active[-1],)))
        tmp = tmp_path_factory.mktemp("h")
        store, p = _both(tmp, h.events)
        assert_same_as_projection(store, p)
        rebuilt = SQLiteHistory.rebuild(tmp / "rebuilt.db", iter(h.events), batch=7)
        assert rebuilt.dump() == store.dump()
        rebuilt.close()
        store.close()
        assert Projection.load(p.dump()).dump() == p.dump()

    check()
