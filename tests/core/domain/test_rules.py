"""domain.md §7 rules other than ring matching: HALTED, CANCEL_ALL filters, REDUCE_ORDER, the
version guard and commission, with the worked examples of docs/engine.md checked to the cent."""

from __future__ import annotations

from betex.core.domain import commands as C
from betex.core.domain.results import Ack, MarketResult, OrderResult, Reject
from betex.core.domain.types import RejectCode
from betex.core.readmodel.projection import Projection
from tests.core.harness import Harness


def _code(r: object) -> str:
    assert isinstance(r, Reject), r
    return str(r.code)


# ---------------------------------------------------------------------------- HALTED


def test_halted_rejects_place_cancel_replace_and_reduce_keeps_the_queue_and_lapses_nothing() -> None:
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3))
    h.run(C.AwaitLiveMarket(m))
    h.run(C.GoLiveMarket(m))
    o1 = h.place(m, 1, "BACK", 3.0, 10, 1)  # LAPSE, in play
    o2 = h.place(m, 1, "BACK", 3.0, 10, 2, persistence="PERSIST")
    assert isinstance(o1, OrderResult) and isinstance(o2, OrderResult)
    queue = [o.order_id for o in h.engine.markets[m].live_orders()]
    version = h.engine.markets[m].version
    r = h.run(C.SetMarketState(m, "HALTED"))
    assert isinstance(r, MarketResult) and (r.market_state, r.version) == ("HALTED", version + 1)
    assert _code(h.place(m, 1, "LAY", 3.0, 5, 3)) == "MARKET_HALTED"
    assert _code(h.run(C.CancelOrder(m, o1.order_id, 1))) == "MARKET_HALTED"
    assert _code(h.run(C.ReplaceOrder(m, o1.order_id, 1, 320))) == "MARKET_HALTED"
    assert _code(h.run(C.CancelAll(m, 1))) == "MARKET_HALTED"
    assert _code(h.run(C.ReduceOrder(m, o1.order_id, 1, 1000, 500))) == "MARKET_HALTED"
    assert [o.order_id for o in h.engine.markets[m].live_orders()] == queue  # nothing lapsed
    assert _code(h.run(C.AwaitLiveMarket(m))) == "INVALID_TRANSITION"
    assert _code(h.run(C.GoLiveMarket(m))) == "INVALID_TRANSITION"
    r = h.run(C.SetMarketState(m, "OPEN"))
    assert isinstance(r, MarketResult) and r.market_state == "OPEN"
    assert [o.order_id for o in h.engine.markets[m].live_orders()] == queue
    assert isinstance(h.run(C.CancelOrder(m, o1.order_id, 1)), OrderResult)
    assert h.replay_hash() == h.engine.state_hash()


def test_halted_leads_only_to_open_suspended_closed_or_voided() -> None:
    for target, state in (("SUSPENDED", "SUSPENDED"), ("CLOSED", "CLOSED"), ("OPEN", "OPEN")):
        h = Harness()
        m = h.market()
        h.run(C.SetMarketState(m, "HALTED"))
        r = h.run(C.SetMarketState(m, target))
        assert isinstance(r, MarketResult) and r.market_state == state
    h = Harness()
    m = h.market()
    h.run(C.SetMarketState(m, "SUSPENDED"))
    assert isinstance(h.run(C.SetMarketState(m, "HALTED")), MarketResult)  # SUSPENDED → HALTED
    assert _code(h.run(C.SetMarketState(m, "HALTED"))) == "INVALID_TRANSITION"
    assert isinstance(h.run(C.VoidMarket(m)), MarketResult)
    h = Harness()
    m = h.market()
    h.run(C.CloseMarket(m))
    assert _code(h.run(C.SetMarketState(m, "HALTED"))) == "INVALID_TRANSITION"


def test_a_market_cannot_be_created_halted() -> None:
    h = Harness()
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "HALTED", "PRE", (1, 2), ()))
    assert _code(r) == "INVALID_TRANSITION"


# ---------------------------------------------------------------------------- CANCEL_ALL filters


def test_cancel_all_filters_by_runner_side_and_placement_time() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2))
    t0 = h.ts
    a = h.place(m, 1, "BACK", 3.0, 10, 7)
    b = h.place(m, 1, "LAY", 2.0, 10, 7)
    h.tick(5)
    c = h.place(m, 2, "BACK", 3.0, 10, 7)
    d = h.place(m, 2, "LAY", 2.0, 10, 7)
    other = h.place(m, 1, "BACK", 3.0, 10, 8)
    ids = {x.order_id for x in (a, b, c, d, other) if isinstance(x, OrderResult)}
    assert len(ids) == 5

    def live() -> set[int]:
        return {o.order_id for o in h.engine.markets[m].live_orders()}

    r = h.run(C.CancelAll(m, 7, 0, None, "LAY", t0 + 1))  # lays placed before t0 + 1 ns
    assert r == Ack({"cancelled": 1}) and b.order_id not in live()  # type: ignore[union-attr]
    r = h.run(C.CancelAll(m, 7, 0, 2))
    assert r == Ack({"cancelled": 2}) and live() == {a.order_id, other.order_id}  # type: ignore[union-attr]
    assert _code(h.run(C.CancelAll(m, 7, 0, 9))) == "INVALID_RUNNER"
    assert _code(h.run(C.CancelAll(m, 7, 0, None, "BUY"))) == "INVALID_SIDE"
    assert h.run(C.CancelAll(m, 7, 0, None, None, t0)) == Ack({"cancelled": 0})  # strictly before
    assert h.run(C.CancelAll(m, 7)) == Ack({"cancelled": 1})
    assert live() == {other.order_id}  # type: ignore[union-attr]
    assert h.replay_hash() == h.engine.state_hash()


# ---------------------------------------------------------------------------- REDUCE_ORDER


def test_reduce_order_applies_only_when_the_remaining_size_is_the_expected_one() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2))
    o = h.place(m, 1, "BACK", 3.0, 10, 7)
    assert isinstance(o, OrderResult)
    h.place(m, 1, "LAY", 3.0, 4, 8)  # 4.00 of it matches: 6.00 remain
    oid = o.order_id
    before = h.engine.state_hash()
    e = h.engine
    assert _code(e.execute(C.ReduceOrder(m, oid, 7, 1000, 500))) == "CONDITION_FAILED"
    assert _code(e.execute(C.ReduceOrder(m, oid, 8, 600, 500))) == "NOT_OWNER"
    assert _code(e.execute(C.ReduceOrder(m, oid, 7, 600, 700))) == "INVALID_SIZE"
    assert _code(e.execute(C.ReduceOrder(m, 99, 7, 600, 500))) == "INVALID_ORDER"
    assert e.take_events() == [] and e.state_hash() == before  # nothing changed
    r = h.run(C.ReduceOrder(m, oid, 7, 600, 250))
    assert isinstance(r, OrderResult)
    assert (r.status, r.size_matched, r.size_remaining, r.size_cancelled) == ("CANCELLED", 400, 250, 350)
    r = h.run(C.ReduceOrder(m, oid, 7, 250, 250))  # no change
    assert isinstance(r, OrderResult) and r.size_remaining == 250
    r = h.run(C.ReduceOrder(m, oid, 7, 250, 0))  # 0 cancels
    assert isinstance(r, OrderResult) and (r.size_remaining, r.size_cancelled) == (0, 600)
    assert _code(h.run(C.ReduceOrder(m, oid, 7, 250, 0))) == "CONDITION_FAILED"
    assert _code(h.run(C.ReduceOrder(m, oid, 7, 0, 0))) == "INVALID_ORDER"
    assert h.replay_hash() == h.engine.state_hash()


# ---------------------------------------------------------------------------- version guard


def test_market_version_guard() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2))
    v = h.engine.markets[m].version
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, 7, market_version=v), OrderResult)
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, 7, market_version=v + 5), OrderResult)  # not higher
    h.run(C.SetMarketState(m, "SUSPENDED"))
    h.run(C.SetMarketState(m, "OPEN"))
    assert _code(h.place(m, 1, "BACK", 3.0, 10, 7, market_version=v)) == "VERSION_MISMATCH"
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, 7, market_version=v + 2), OrderResult)


# ---------------------------------------------------------------------------- commission


def test_commission_worked_example_to_the_cent() -> None:
    """docs/engine.md "Commission": 3.33 % on a 3-runner market; runner 1 wins."""
    h = Harness()
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "CROSS_MATCHED", "PRE_ONLY", "OPEN", "PRE", (1, 2, 3), (),
                             commission_bps=333))  # fmt: skip
    assert isinstance(r, MarketResult)
    m = r.market_id
    h.place(m, 1, "BACK", 3.0, 10, 1)
    h.place(m, 1, "LAY", 3.0, 10, 2)  # 1 backs runner 1 at 3.0 for 10.00; 2 lays it
    h.place(m, 2, "BACK", 2.0, 10, 3)
    h.place(m, 2, "LAY", 2.0, 10, 4)  # 3 backs runner 2 at 2.0 for 10.00; 4 lays it
    h.run(C.CloseMarket(m))
    h.run(C.SettleMarket(m, (1,)))
    p = Projection()
    p.apply_batch(h.events)
    rows = {a: r for _m, a, r in p.risk_rows(m) or []}
    got = {a: (r.settled_pnl, r.commission, (r.settled_pnl or 0) - r.commission) for a, r in rows.items()}
    assert got == {
        0: (0, -99, 99),  # the house receives 0.66 + 0.33
        1: (2000, 66, 1934),  # 3.33 % of 20.00 = 0.666 → 0.66
        2: (-2000, 0, -2000),
        3: (-1000, 0, -1000),
        4: (1000, 33, 967),  # 3.33 % of 10.00 = 0.333 → 0.33
    }
    assert sum(net for _g, _c, net in got.values()) == 0


def test_voided_markets_and_zero_commission_pay_none() -> None:
    for bps, void in ((500, True), (0, False)):
        h = Harness()
        r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2), (),
                                 commission_bps=bps))  # fmt: skip
        assert isinstance(r, MarketResult)
        m = r.market_id
        h.place(m, 1, "BACK", 3.0, 10, 1)
        h.place(m, 1, "LAY", 3.0, 10, 2)
        if void:
            h.run(C.VoidMarket(m))
        else:
            h.run(C.CloseMarket(m))
            h.run(C.SettleMarket(m, (1,)))
        p = Projection()
        p.apply_batch(h.events)
        assert all(r.commission == 0 for _m, _a, r in p.risk_rows(m) or [])


def test_commission_bps_is_bounded() -> None:
    h = Harness()
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2), (),
                             commission_bps=10_001))  # fmt: skip
    assert _code(r) == RejectCode.BAD_REQUEST


# ---------------------------------------------------------------------------- ring odds


def test_a_ring_fill_shows_the_takers_real_odds_on_its_runner() -> None:
    """docs/engine.md "CROSS_MATCHED" back ring: the taker stakes 11.17 and wins 18.83 if runner 1
    wins, odds 1 + 18.83 / 11.17 = 2.6858 on both fills, and as its average matched price."""
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3))
    h.place(m, 2, "BACK", 3.0, 10, 1)
    h.place(m, 3, "BACK", 3.4, 10, 2)
    r = h.place(m, 1, "BACK", 2.2, 20, 3)
    assert isinstance(r, OrderResult)
    assert [f.effective_odds for f in r.fills] == [2.6858, 2.6858]
    p = Projection()
    p.apply_batch(h.events)
    o = p.order_table[r.order_id]
    assert o.value == 100 * (1117 + 1883)
    # lay ring: liability 18.82 for a backer's stake of 11.18 → 2.6834
    h2 = Harness()
    m2 = h2.market("CROSS_MATCHED", (1, 2, 3))
    h2.place(m2, 2, "LAY", 3.0, 10, 1)
    h2.place(m2, 3, "LAY", 3.4, 10, 2)
    r2 = h2.place(m2, 1, "LAY", 3.0, 20, 3)
    assert isinstance(r2, OrderResult)
    assert [f.effective_odds for f in r2.fills] == [2.6834, 2.6834]
    p2 = Projection()
    p2.apply_batch(h2.events)
    assert p2.order_table[r2.order_id].value == 100 * (1118 + 1882)


def test_a_version_1_engine_dump_still_loads() -> None:
    """Dump version 2 added orders' placed_ts and markets' commission_bps at the ends of their
    rows; a version 1 snapshot loads with 0 for both."""
    import msgpack

    from betex.core.domain.engine import Engine

    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2))
    h.place(m, 1, "BACK", 3.0, 10, 7)
    state = list(msgpack.unpackb(h.engine.dump(), use_list=True, strict_map_key=False))
    state[0] = 1
    state[6] = [row[:14] for row in state[6]]  # markets
    state[7] = [row[:14] for row in state[7]]  # orders
    loaded = Engine.load(msgpack.packb(state))
    o = loaded.orders[1]
    assert (o.remaining, o.placed_ts, loaded.markets[m].commission_bps) == (1000, 0, 0)
    assert isinstance(loaded.execute(C.CancelAll(m, 7)), Ack)
