"""Direct matching (domain.md §3–4) with worked numbers."""

from betex.core.domain import commands as C
from betex.core.domain.events import Leg, OrderCancelled
from betex.core.domain.results import OrderResult, Reject
from betex.core.domain.types import HOUSE_ACCOUNT, RejectCode
from tests.core.harness import Harness


def test_back_sweeps_levels_at_resting_prices_highest_first() -> None:
    h = Harness()
    m = h.market()
    for odds in (2.5, 2.52, 2.54):
        h.place(m, 1, "LAY", odds, 10, account=2)
    r = h.place(m, 1, "BACK", 2.5, 25, account=1)
    assert isinstance(r, OrderResult)
    assert [(f.price, f.size) for f in r.fills] == [(254, 1000), (252, 1000), (250, 500)]
    assert r.size_matched == 2500 and r.size_remaining == 0


def test_lay_takes_backs_lowest_first_and_rests_the_remainder() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "BACK", 3.0, 10, account=2)
    h.place(m, 1, "BACK", 2.9, 10, account=2)
    r = h.place(m, 1, "LAY", 3.0, 30, account=1)
    assert [(f.price, f.size) for f in r.fills] == [(290, 1000), (300, 1000)]  # type: ignore[union-attr]
    assert r.size_remaining == 1000  # type: ignore[union-attr]
    depth = h.engine.depth(m, 10)
    assert depth is not None
    runner1 = depth["runners"][0]
    assert runner1[1] == [(300, 1000, 0)]  # the remainder rests as a lay: available to back at 3.0


def test_fifo_within_a_price() -> None:
    h = Harness()
    m = h.market()
    first = h.place(m, 1, "LAY", 2.0, 10, account=2)
    h.place(m, 1, "LAY", 2.0, 10, account=3)
    h.place(m, 1, "BACK", 2.0, 10, account=1)
    trade = h.trades(m)[0]
    assert trade.maker_order_id == first.order_id  # type: ignore[union-attr]


def test_non_crossing_orders_rest() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 2.0, 10, account=2)
    r = h.place(m, 1, "BACK", 2.02, 10, account=1)
    assert r.fills == () and r.size_remaining == 1000  # type: ignore[union-attr]


def test_direct_trade_rounds_in_participants_favour_and_house_pays_residue() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 2.54, 10.01, account=2)
    h.place(m, 1, "BACK", 2.54, 10.01, account=1)
    t = h.trades(m)[0]
    # exact winnings 1001 * 1.54 = 1541.54 cents: backer gets 1542, layer pays 1541, house 1
    assert t.legs == (Leg(1, 1, 1542, 1001), Leg(2, 1, -1541, -1001), Leg(HOUSE_ACCOUNT, 1, -1, 0))
    assert t.house == 1
    for winner in (1, 2, 3):
        assert sum(h.pnl(m, winner).values()) == 0


def test_fill_or_kill_fills_min_then_cancels_remainder() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 2.0, 6, account=2)
    r = h.place(m, 1, "BACK", 2.0, 10, account=1, time_in_force="FILL_OR_KILL", min_fill_size=500)
    assert isinstance(r, OrderResult)
    assert r.size_matched == 600 and r.size_remaining == 0 and r.size_cancelled == 400
    assert isinstance(h.events[-2], OrderCancelled) and h.events[-2].reason == "FOK_UNFILLED"


def test_fill_or_kill_that_cannot_fill_matches_nothing_and_is_rejected() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 2.0, 6, account=2)
    r = h.place(m, 1, "BACK", 2.0, 10, account=1, time_in_force="FILL_OR_KILL")
    assert isinstance(r, Reject) and r.code == RejectCode.FOK_NOT_FILLED
    assert h.engine.orders[1].remaining == 600  # the resting lay is untouched


def test_self_trade_cancels_the_resting_order_and_continues() -> None:
    h = Harness()
    m = h.market()
    own = h.place(m, 1, "LAY", 2.1, 10, account=1)
    other = h.place(m, 1, "LAY", 2.0, 10, account=2)
    r = h.place(m, 1, "BACK", 2.0, 10, account=1)
    assert [f.price for f in r.fills] == [200]  # type: ignore[union-attr]
    assert h.engine.orders[own.order_id].cancelled == 1000  # type: ignore[union-attr]
    assert h.engine.orders[other.order_id].matched == 1000  # type: ignore[union-attr]
    assert any(isinstance(e, OrderCancelled) and e.reason == "SELF_TRADE" for e in h.events)


def test_partial_cancel_reduces_remaining_and_full_cancel_clears_it() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    r = h.run(C.CancelOrder(m, o.order_id, 1, 300))  # type: ignore[union-attr]
    assert r.size_remaining == 700 and r.size_cancelled == 300  # type: ignore[union-attr]
    r = h.run(C.CancelOrder(m, o.order_id, 1, 5000))  # type: ignore[union-attr]
    assert r.size_remaining == 0 and r.size_cancelled == 1000  # type: ignore[union-attr]
    r = h.run(C.CancelOrder(m, o.order_id, 1))  # type: ignore[union-attr]
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_ORDER


def test_only_the_owner_may_cancel() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    r = h.run(C.CancelOrder(m, o.order_id, 2))  # type: ignore[union-attr]
    assert isinstance(r, Reject) and r.code == RejectCode.NOT_OWNER


def test_cancel_all_cancels_only_that_accounts_orders() -> None:
    h = Harness()
    m = h.market()
    for r in (1, 2, 3):
        h.place(m, r, "BACK", 3.0, 10, account=1)
    keep = h.place(m, 1, "BACK", 3.0, 10, account=2)
    r = h.run(C.CancelAll(m, 1))
    assert r.detail == {"cancelled": 3}  # type: ignore[union-attr]
    assert h.engine.orders[keep.order_id].remaining == 1000  # type: ignore[union-attr]


def test_replace_moves_remaining_to_a_new_order_at_the_back_of_the_queue() -> None:
    h = Harness()
    m = h.market()
    o = h.place(m, 1, "BACK", 3.0, 10, account=1)
    h.place(m, 1, "BACK", 3.1, 10, account=2)
    r = h.run(C.ReplaceOrder(m, o.order_id, 1, 310))  # type: ignore[union-attr]
    assert isinstance(r, OrderResult) and r.status == "REPLACED"
    new = h.engine.orders[r.replacement_order_id]
    assert new.price == 310 and new.size == 1000 and r.size_cancelled == 1000
    level = h.engine.markets[m].books[1].backs.levels[310]
    assert [x.account_id for x in level.live()] == [2, 1]


def test_replace_whose_placement_is_rejected_leaves_the_cancel_standing() -> None:
    h = Harness()
    m = h.market()
    h.run(C.SetAccountLimit(1, 1500))
    o = h.place(m, 1, "LAY", 2.0, 10, account=1)  # liability 10
    r = h.run(C.ReplaceOrder(m, o.order_id, 1, 300))  # type: ignore[union-attr] # liability 20 > 15
    assert isinstance(r, Reject) and r.code == RejectCode.CANCELLED_NOT_PLACED
    assert h.engine.orders[o.order_id].remaining == 0  # type: ignore[union-attr]


def test_duplicate_client_ref_within_60s_is_rejected_then_allowed() -> None:
    h = Harness()
    m = h.market()
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, account=1, client_ref="abc"), OrderResult)
    r = h.place(m, 1, "BACK", 3.0, 10, account=1, client_ref="abc")
    assert isinstance(r, Reject) and r.code == RejectCode.DUPLICATE
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, account=2, client_ref="abc"), OrderResult)
    h.tick(60)
    assert isinstance(h.place(m, 1, "BACK", 3.0, 10, account=1, client_ref="abc"), OrderResult)


def test_a_two_runner_multi_runner_market_is_direct_only() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2))
    h.place(m, 2, "BACK", 1.5, 20, account=2)
    r = h.place(m, 1, "BACK", 3.0, 10, account=1)
    assert r.fills == ()  # type: ignore[union-attr]


def test_order_rejects_are_typed() -> None:
    h = Harness()
    m = h.market()
    cases = {
        RejectCode.INVALID_ODDS: C.PlaceOrder(m, 1, "BACK", 251, 1000, 1),
        RejectCode.INVALID_SIZE: C.PlaceOrder(m, 1, "BACK", 250, 99, 1),
        RejectCode.INVALID_SIDE: C.PlaceOrder(m, 1, "BUY", 250, 1000, 1),
        RejectCode.INVALID_RUNNER: C.PlaceOrder(m, 9, "BACK", 250, 1000, 1),
        RejectCode.INVALID_MARKET: C.PlaceOrder(99, 1, "BACK", 250, 1000, 1),
        RejectCode.BAD_REQUEST: C.PlaceOrder(m, 1, "BACK", 250, 1000, 1, persistence="MAYBE"),
    }
    before = h.engine.state_hash()
    for code, cmd in cases.items():
        h.engine.begin_batch(h.ts)
        r = h.engine.execute(cmd)
        assert isinstance(r, Reject) and r.code == code, (code, r)
    assert h.engine.take_events() == [] and h.engine.state_hash() == before


def test_cancel_all_cancels_oldest_first_and_survives_a_snapshot_load() -> None:
    from betex.core.domain.engine import Engine

    h = Harness()
    m = h.market()
    ids = [h.place(m, r, "BACK", 3.0, 10, account=1).order_id for r in (3, 1, 2)]  # type: ignore[union-attr]
    h.place(m, 1, "LAY", 2.0, 10, account=1)
    clone = Engine.load(h.engine.dump())
    for eng in (h.engine, clone):
        eng.begin_batch(h.ts)
        r = eng.execute(C.CancelAll(m, 1))
        assert r.detail == {"cancelled": 4}  # type: ignore[union-attr]
    live = [e.order_id for e in h.engine.take_events()]
    assert live == [e.order_id for e in clone.take_events()] == [*ids, ids[-1] + 1]
    assert h.engine.markets[m].by_account == {} == clone.markets[m].by_account
