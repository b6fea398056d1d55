"""Implied matching in TWO_RUNNER books (domain.md §4) with worked numbers."""

from betex.core.domain.events import Leg
from betex.core.domain.results import OrderResult
from tests.core.harness import Harness


def two_runner() -> tuple[Harness, int]:
    h = Harness()
    return h, h.market("TWO_RUNNER", (1, 2))


def test_back_a_at_3_fully_matches_resting_back_b_at_1_5() -> None:
    h, m = two_runner()
    h.place(m, 2, "BACK", 1.5, 20, account=2)
    r = h.place(m, 1, "BACK", 3.0, 10, account=1)
    assert isinstance(r, OrderResult) and r.size_matched == 1000 and r.size_remaining == 0
    t = h.trades(m)[0]
    assert t.implied and t.maker_size == 2000 and t.taker_size == 1000 and t.price == 150
    # x·a = y·b = x + y: 10·3 = 20·1.5 = 30
    assert t.legs == (Leg(1, 1, 2000, 1000), Leg(2, 2, 1000, 2000))
    assert h.engine.orders[1].remaining == 0
    assert h.pnl(m, 1) == {1: 2000, 2: -2000} and h.pnl(m, 2) == {1: -1000, 2: 1000}


def test_implied_back_rounds_for_both_and_house_pays_at_most_a_cent() -> None:
    h, m = two_runner()
    h.place(m, 2, "BACK", 1.45, 10.01, account=2)
    h.place(m, 1, "BACK", 3.2, 100, account=1)  # 1.45 → effective 3.222…
    t = h.trades(m)[0]
    # y = 1001 (maker stake), exact x = 1001·0.45 = 450.45: taker stakes 450, maker wins 451
    assert t.legs == (Leg(1, 1, 1001, 450), Leg(2, 2, 451, 1001), Leg(0, 2, -1, 0))
    for winner in (1, 2):
        assert sum(h.pnl(m, winner).values()) == 0
    # taker's effective odds (450 + 1001) / 450 = 3.2244 ≥ its 3.2 limit
    assert (450 + 1001) / 450 >= 3.2


def test_lay_a_matches_resting_lay_b_when_implied_odds_are_good_enough() -> None:
    h, m = two_runner()
    h.place(m, 2, "LAY", 1.5, 20, account=2)  # laying B at 1.5 = backing A at 3.0
    r = h.place(m, 1, "LAY", 3.0, 10, account=1)
    assert r.size_matched == 1000  # type: ignore[union-attr]
    t = h.trades(m)[0]
    assert t.implied and t.legs == (Leg(1, 1, -2000, -1000), Leg(2, 2, -1000, -2000))
    for winner in (1, 2):
        assert sum(h.pnl(m, winner).values()) == 0


def test_implied_does_not_match_when_overround() -> None:
    h, m = two_runner()
    h.place(m, 2, "BACK", 1.4, 20, account=2)  # implied back A at 3.5
    r = h.place(m, 1, "BACK", 3.6, 10, account=1)
    assert r.fills == ()  # type: ignore[union-attr]
    h.place(m, 2, "LAY", 1.6, 20, account=3)  # implied lay A at 2.666…
    r = h.place(m, 1, "LAY", 2.6, 10, account=4)
    assert r.fills == ()  # type: ignore[union-attr]


def test_direct_and_implied_compete_by_price_then_time() -> None:
    h, m = two_runner()
    h.place(m, 1, "LAY", 3.0, 10, account=2)  # direct at 3.0, earlier
    h.place(m, 2, "BACK", 1.5, 20, account=3)  # implied 3.0, later
    h.place(m, 2, "BACK", 1.45, 10, account=4)  # implied 3.22, best price
    r = h.place(m, 1, "BACK", 3.0, 20, account=1)  # 4.50 + 10 + 5.50
    makers = [h.engine.orders[t.maker_order_id].account_id for t in h.trades(m)]
    assert makers == [4, 2, 3]
    assert [f.implied for f in r.fills] == [True, False, True]  # type: ignore[union-attr]


def test_snapshot_shows_implied_liquidity_marked() -> None:
    h, m = two_runner()
    h.place(m, 2, "BACK", 1.5, 20, account=2)
    h.place(m, 1, "LAY", 2.8, 5, account=3)
    depth = h.engine.depth(m, 10)
    assert depth is not None
    runner_a = depth["runners"][0]
    assert runner_a[0] == 1
    # backers of A can take 10.00 at 3.0 (implied from B's back) and 5.00 at 2.8 (direct)
    assert runner_a[1] == [(300, 1000, 1000), (280, 500, 0)]
