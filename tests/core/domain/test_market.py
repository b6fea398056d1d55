"""Market lifecycle (domain.md §2): states, phases, version, lapse/persist."""

import pytest

from betex.core.domain import commands as C
from betex.core.domain.results import MarketResult, Reject
from betex.core.domain.types import RejectCode
from tests.core.harness import Harness


def test_in_play_lifecycle_lapses_lapse_orders_and_keeps_persist_ones() -> None:
    h = Harness()
    m = h.market()
    lapse = h.place(m, 1, "BACK", 3.0, 10, account=1)
    persist = h.place(m, 1, "BACK", 3.0, 10, account=2, persistence="PERSIST")
    r = h.run(C.AwaitLiveMarket(m))
    assert r == MarketResult(m, "SUSPENDED", "AWAITING_LIVE", 2)
    r = h.run(C.GoLiveMarket(m))
    assert r == MarketResult(m, "OPEN", "IN_PLAY", 3)
    orders = h.engine.orders
    assert orders[lapse.order_id].lapsed == 1000 and orders[lapse.order_id].remaining == 0  # type: ignore[union-attr]
    assert orders[persist.order_id].remaining == 1000  # type: ignore[union-attr]
    level = h.engine.markets[m].books[1].backs.levels[300]
    assert [o.order_id for o in level.live()] == [persist.order_id]  # type: ignore[union-attr]


def test_suspending_in_play_lapses_but_suspending_pre_does_not() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    h.run(C.SetMarketState(m, "SUSPENDED"))
    assert h.engine.orders[o.order_id].remaining == 1000  # type: ignore[union-attr]
    h.run(C.SetMarketState(m, "OPEN"))
    h.run(C.AwaitLiveMarket(m))
    h.run(C.GoLiveMarket(m))
    o2 = h.place(m, 1, "BACK", 3.0, 10, account=1)
    h.run(C.SetMarketState(m, "SUSPENDED"))
    assert h.engine.orders[o2.order_id].lapsed == 1000  # type: ignore[union-attr]


def test_suspended_market_rejects_placements_but_allows_cancels() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    h.run(C.SetMarketState(m, "SUSPENDED"))
    r = h.place(m, 1, "BACK", 3.0, 10, account=1)
    assert isinstance(r, Reject) and r.code == RejectCode.MARKET_SUSPENDED
    r = h.run(C.CancelOrder(m, o.order_id, 1))  # type: ignore[union-attr]
    assert not isinstance(r, Reject)


def test_close_cancels_unmatched_and_settle_only_from_closed() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    r = h.run(C.SettleMarket(m, (1,)))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_TRANSITION
    h.run(C.CloseMarket(m))
    assert h.engine.orders[o.order_id].cancelled == 1000  # type: ignore[union-attr]
    r = h.place(m, 1, "BACK", 3.0, 10, account=1)
    assert isinstance(r, Reject) and r.code == RejectCode.MARKET_NOT_OPEN
    assert isinstance(h.run(C.SettleMarket(m, (1,))), MarketResult)
    assert h.engine.tombstones[m].state == "SETTLED" and m not in h.engine.markets
    r = h.run(C.VoidMarket(m))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_TRANSITION


@pytest.mark.parametrize(
    "setup,cmd",
    [
        ((), C.GoLiveMarket(1)),
        ((), C.SetMarketState(1, "OPEN")),
        ((C.AwaitLiveMarket(1),), C.SetMarketState(1, "OPEN")),
        ((C.CloseMarket(1),), C.SetMarketState(1, "SUSPENDED")),
        ((C.CloseMarket(1),), C.CloseMarket(1)),
        ((C.AwaitLiveMarket(1),), C.AwaitLiveMarket(1)),
    ],
)
def test_illegal_transitions_are_rejected_and_change_nothing(setup: tuple[object, ...], cmd: object) -> None:
    h = Harness()
    h.market()
    for c in setup:
        assert not isinstance(h.run(c), Reject)
    before = h.engine.markets[1].version, h.engine.markets[1].state, h.engine.markets[1].phase
    r = h.run(cmd)
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_TRANSITION
    assert (h.engine.markets[1].version, h.engine.markets[1].state, h.engine.markets[1].phase) == before


def test_pre_only_markets_cannot_go_in_play() -> None:
    h = Harness()
    m = h.market(kind="PRE_ONLY")
    r = h.run(C.AwaitLiveMarket(m))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_TRANSITION


def test_void_market_cancels_unmatched_and_voids_trades() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 3.0, 10, account=2)
    h.place(m, 1, "BACK", 3.0, 5, account=1)
    assert isinstance(h.run(C.VoidMarket(m)), MarketResult)
    assert h.engine.tombstones[m].state == "VOIDED" and m not in h.engine.markets
    assert h.engine.orders == {}  # history moves to the projection


def test_add_runners_only_to_multi_runner_markets() -> None:
    h = Harness()
    m = h.market()
    assert isinstance(h.run(C.AddRunners(m, (4,), ("Other",))), MarketResult)
    assert h.engine.markets[m].runner_ids == [1, 2, 3, 4]
    r = h.run(C.AddRunners(m, (4,), ("Again",)))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_RUNNER
    t = h.market("TWO_RUNNER", (1, 2))
    r = h.run(C.AddRunners(t, (3,), ()))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_MARKET


def test_create_market_validation() -> None:
    h = Harness()
    bad = [
        (
            C.CreateMarket("x", "EXCHANGE_ODDS", None, "PRE_ONLY", "OPEN", "PRE", (1, 2), ()),
            RejectCode.BAD_REQUEST,
        ),
        (
            C.CreateMarket("x", "EXCHANGE_ODDS", "TWO_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2, 3), ()),
            RejectCode.INVALID_RUNNER,
        ),
        (
            C.CreateMarket("x", "BINARY_YES", None, "PRE_ONLY", "OPEN", "PRE", (1, 2), ()),
            RejectCode.INVALID_RUNNER,
        ),
        (
            C.CreateMarket("x", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "CLOSED", "PRE", (1, 2), ()),
            RejectCode.INVALID_TRANSITION,
        ),
        (
            C.CreateMarket("x", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 1), ()),
            RejectCode.INVALID_RUNNER,
        ),
        (
            C.CreateMarket("", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2), ()),
            RejectCode.BAD_REQUEST,
        ),
    ]
    for cmd, code in bad:
        r = h.run(cmd)
        assert isinstance(r, Reject) and r.code == code, (cmd, r)
    assert h.engine.markets == {}
