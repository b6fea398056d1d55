"""domain.md §7 in-play bet delay (core/domain/delay.py), with the worked example of docs/engine.md
"In-play bet delay" checked to the cent."""

from __future__ import annotations

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.events import (
    BetDelaySet,
    OrderCancelled,
    OrderDelayed,
    OrderMatured,
    Tick,
    TradeMatched,
)
from betex.core.domain.results import MarketResult, OrderResult, Reject
from betex.core.durability.codec import decode, encode
from tests.core.harness import SEC, Harness


def _delayed_market(h: Harness, delay_ms: int = 5000, book: str = "MULTI_RUNNER", runners=(1, 2)) -> int:  # type: ignore[no-untyped-def]
    r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", book, "IN_PLAY_CAPABLE", "OPEN", "PRE", runners, (),
                             bet_delay_ms=delay_ms))  # fmt: skip
    assert isinstance(r, MarketResult)
    return r.market_id


def _go_live(h: Harness, m: int) -> None:
    assert isinstance(h.run(C.AwaitLiveMarket(m)), MarketResult)
    assert isinstance(h.run(C.GoLiveMarket(m)), MarketResult)


def _batch(h: Harness) -> list[object]:
    """An empty batch at the harness's time (what the runtime's tick runs)."""
    h.engine.begin_batch(h.ts)
    new = h.engine.end_batch(0)
    h.events.extend(new)
    return list(new)


def _status(r: object) -> str:
    assert isinstance(r, OrderResult), r
    return r.status


def test_worked_example_to_the_cent() -> None:
    """docs/engine.md "In-play bet delay": 5 s delay, a limit of 30.00, a maturing back and a
    voided one."""
    h = Harness()
    m = _delayed_market(h)
    assert isinstance(h.events[1], BetDelaySet) and h.events[1].bet_delay_ms == 5000
    lay = h.place(m, 1, "LAY", 3.0, 50, 2, persistence="PERSIST")
    assert _status(lay) == "ACCEPTED"  # pre-play: no delay
    _go_live(h, m)
    h.run(C.SetAccountLimit(1, 3000))
    t0 = h.ts
    back = h.place(m, 1, "BACK", 3.0, 20, 1)
    assert _status(back) == "DELAYED"
    assert isinstance(back, OrderResult) and (back.size_matched, back.size_remaining) == (0, 2000)
    delayed = [e for e in h.events if isinstance(e, OrderDelayed)]
    assert [(e.order_id, e.due_ts) for e in delayed] == [(back.order_id, t0 + 5 * SEC)]
    exposure = h.engine.exposure(m, 1)
    assert exposure is not None and exposure.worst_case((1, 2)) == -2000  # reserved at acceptance
    h.tick(1)
    more = h.place(m, 1, "BACK", 3.0, 15, 1)  # −20.00 reserved − 15.00 > 30.00
    assert isinstance(more, Reject) and more.code == "LIABILITY_EXCEEDED"
    h.ts = t0 + 5 * SEC - 1
    assert _batch(h) == []  # not due yet: nothing happens, nothing is written
    assert h.engine.depth(m)["runners"][0][1] == [(300, 5000, 0)]  # type: ignore[index]
    h.ts = t0 + 5 * SEC
    new = _batch(h)
    assert [type(e).__name__ for e in new] == ["Tick", "OrderMatured", "TradeMatched", "BatchProcessed"]
    t = new[2]
    assert isinstance(t, TradeMatched) and (t.taker_order_id, t.maker_order_id) == (
        back.order_id,
        lay.order_id,
    )  # type: ignore[union-attr]
    assert (t.taker_size, t.price) == (2000, 300)
    assert h.pnl(m, 1) == {1: 4000, 2: -4000} and h.pnl(m, 2) == {1: -2000, 2: 2000}
    h.tick(1)
    last = h.place(m, 1, "BACK", 3.0, 10, 1)  # −20.00 matched − 10.00 reserved = the limit
    assert _status(last) == "DELAYED"
    h.tick(1)
    r = h.run(C.SetMarketState(m, "SUSPENDED"))
    assert isinstance(r, MarketResult)
    voids = [e for e in h.events if isinstance(e, OrderCancelled) and e.reason == "DELAY_VOIDED"]
    assert [(e.order_id, e.size) for e in voids] == [(last.order_id, 1000)]  # type: ignore[union-attr]
    assert h.engine.orders[lay.order_id].remaining == 3000  # type: ignore[union-attr]
    exposure = h.engine.exposure(m, 1)
    assert exposure is not None and exposure.worst_case((1, 2)) == -2000
    assert h.replay_hash() == h.engine.state_hash()


def test_no_delay_before_in_play_and_none_without_bet_delay_ms() -> None:
    h = Harness()
    m = _delayed_market(h)
    assert _status(h.place(m, 1, "BACK", 3.0, 10, 1)) == "ACCEPTED"
    plain = h.market("MULTI_RUNNER", (1, 2))
    _go_live(h, plain)
    assert _status(h.place(plain, 1, "BACK", 3.0, 10, 1)) == "ACCEPTED"
    assert not any(isinstance(e, BetDelaySet) and e.market_id == plain for e in h.events)


def test_cancel_reduce_and_cancel_all_reach_delayed_orders() -> None:
    h = Harness()
    m = _delayed_market(h)
    _go_live(h, m)
    a = h.place(m, 1, "BACK", 3.0, 10, 1)
    b = h.place(m, 2, "LAY", 2.0, 10, 1)
    c = h.place(m, 1, "LAY", 4.0, 10, 1)
    assert all(_status(x) == "DELAYED" for x in (a, b, c))
    assert isinstance(a, OrderResult) and isinstance(b, OrderResult) and isinstance(c, OrderResult)
    r = h.run(C.CancelOrder(m, a.order_id, 1, 400))
    assert isinstance(r, OrderResult) and (r.size_remaining, r.size_cancelled) == (600, 400)
    r = h.run(C.ReduceOrder(m, a.order_id, 1, 600, 0))
    assert isinstance(r, OrderResult) and r.size_remaining == 0
    r = h.run(C.CancelAll(m, 1, runner_id=2))
    assert not isinstance(r, Reject) and r.detail == {"cancelled": 1}  # type: ignore[union-attr]
    assert list(h.engine.delayed.entries) == [c.order_id]
    h.tick(5)
    new = _batch(h)
    assert [type(e) for e in new] == [Tick, OrderMatured, type(new[-1])]
    assert h.engine.orders[c.order_id].remaining == 1000
    assert not h.engine.delayed.entries
    assert h.replay_hash() == h.engine.state_hash()


def test_replace_of_a_delayed_order_is_delayed_again() -> None:
    h = Harness()
    m = _delayed_market(h, 2000)
    _go_live(h, m)
    a = h.place(m, 1, "BACK", 3.0, 10, 1)
    assert isinstance(a, OrderResult)
    h.tick(1)
    r = h.run(C.ReplaceOrder(m, a.order_id, 1, 320))
    assert isinstance(r, OrderResult) and r.replacement is not None
    assert r.replacement.status == "DELAYED"
    d = h.engine.delayed.entries[r.replacement_order_id]
    assert d.due_ts == h.ts + 2 * SEC  # the delay restarts


def test_suspend_halt_close_and_void_all_void_delayed_orders() -> None:
    for cmd in ("SUSPENDED", "HALTED", "CLOSED", "VOID"):
        h = Harness()
        m = _delayed_market(h)
        _go_live(h, m)
        a = h.place(m, 1, "BACK", 3.0, 10, 1)
        assert isinstance(a, OrderResult)
        h.run(C.VoidMarket(m) if cmd == "VOID" else C.SetMarketState(m, cmd))
        reasons = [(e.order_id, e.reason) for e in h.events if isinstance(e, OrderCancelled)]
        assert reasons == [(a.order_id, "DELAY_VOIDED")], cmd
        assert not h.engine.delayed.entries
        h.tick(10)
        assert _batch(h) == []  # nothing left to mature
        assert h.replay_hash() == h.engine.state_hash()


def test_a_version_change_voids_even_if_the_market_is_open_again() -> None:
    """Suspended and reopened before maturing: the order was voided at the suspension and does
    not come back; the version guard then refuses a placement priced on the old version."""
    h = Harness()
    m = _delayed_market(h)
    _go_live(h, m)
    v = h.engine.markets[m].version
    a = h.place(m, 1, "BACK", 3.0, 10, 1, market_version=v)
    assert _status(a) == "DELAYED"
    h.run(C.SetMarketState(m, "SUSPENDED"))
    h.run(C.SetMarketState(m, "OPEN"))
    h.tick(10)
    assert _batch(h) == []
    assert h.engine.orders[a.order_id].cancelled == 1000  # type: ignore[union-attr]
    stale = h.place(m, 1, "BACK", 3.0, 10, 1, market_version=v)
    assert isinstance(stale, Reject) and stale.code == "VERSION_MISMATCH"
    assert _status(h.place(m, 1, "BACK", 3.0, 10, 1, market_version=v + 2)) == "DELAYED"


def test_fill_or_kill_is_decided_when_the_order_matures() -> None:
    h = Harness()
    m = _delayed_market(h, 1000)
    h.place(m, 1, "LAY", 3.0, 5, 2, persistence="PERSIST")
    _go_live(h, m)
    whole = h.place(m, 1, "BACK", 3.0, 10, 1, time_in_force="FILL_OR_KILL")
    part = h.place(m, 1, "BACK", 3.0, 10, 3, time_in_force="FILL_OR_KILL", min_fill_size=300)
    assert _status(whole) == "DELAYED" and _status(part) == "DELAYED"  # no FOK_NOT_FILLED now
    h.tick(1)
    new = _batch(h)
    cancels = [(e.order_id, e.reason, e.size) for e in new if isinstance(e, OrderCancelled)]
    trades = [(e.taker_order_id, e.taker_size) for e in new if isinstance(e, TradeMatched)]
    assert cancels == [(whole.order_id, "FOK_UNFILLED", 1000), (part.order_id, "FOK_UNFILLED", 500)]  # type: ignore[union-attr]
    assert trades == [(part.order_id, 500)]  # type: ignore[union-attr]
    assert h.replay_hash() == h.engine.state_hash()


def test_a_dump_with_delayed_orders_pending_loads_and_matures_identically() -> None:
    h = Harness()
    m = _delayed_market(h, 3000, "CROSS_MATCHED", (1, 2, 3))
    h.place(m, 2, "BACK", 2.0, 10, 2, persistence="PERSIST")
    h.place(m, 3, "BACK", 4.0, 10, 3, persistence="PERSIST")
    _go_live(h, m)
    h.run(C.SetAccountLimit(1, 5000))
    a = h.place(m, 1, "BACK", 4.0, 10, 1)  # a ring against 2.00 and 4.00 once it matures
    assert _status(a) == "DELAYED"
    loaded = Engine.load(h.engine.dump())
    assert loaded.state_hash() == h.engine.state_hash()
    assert h.engine.dump()[1] == 4  # msgpack fixarray header, then DUMP version 4
    h.tick(3)
    new = _batch(h)
    loaded.begin_batch(h.ts)
    assert loaded.end_batch(0) == new
    assert any(isinstance(e, TradeMatched) and e.implied for e in new)
    assert loaded.state_hash() == h.engine.state_hash() == h.replay_hash()
    for e in h.events:
        assert decode(encode(e)) == e


def test_bet_delay_ms_is_bounded() -> None:
    h = Harness()
    for bad in (-1, 60_001):
        r = h.run(C.CreateMarket("m", "EXCHANGE_ODDS", "MULTI_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "PRE",
                                 (1, 2), (), bet_delay_ms=bad))  # fmt: skip
        assert isinstance(r, Reject) and r.code == "BAD_REQUEST"
