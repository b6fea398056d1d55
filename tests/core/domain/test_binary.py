"""BINARY_YES markets: buy/sell YES shares in basis points."""

from betex.core.domain import commands as C
from betex.core.domain.events import Leg
from betex.core.domain.results import OrderResult, Reject
from betex.core.domain.types import NO_OUTCOME, RejectCode
from tests.core.harness import Harness


def test_buy_takes_cheapest_sells_at_their_price() -> None:
    h = Harness()
    m = h.binary()
    h.place(m, 1, "SELL", 4600, 50, account=2)
    h.place(m, 1, "SELL", 4500, 30, account=3)
    r = h.place(m, 1, "BUY", 4600, 100, account=1)
    assert isinstance(r, OrderResult)
    assert [(f.price, f.size) for f in r.fills] == [(4500, 30), (4600, 50)]
    assert r.size_remaining == 20
    t = h.trades(m)[0]
    assert t.legs == (Leg(1, 1, 30 * 5500, 30 * 4500), Leg(3, 1, -30 * 5500, -30 * 4500))


def test_binary_depth_shows_bids_and_asks() -> None:
    h = Harness()
    m = h.binary()
    h.place(m, 1, "BUY", 4500, 100, account=1)
    h.place(m, 1, "SELL", 4600, 50, account=2)
    assert h.engine.depth(m, 10) == {"kind": "BINARY", "bids": [(4500, 100)], "asks": [(4600, 50)]}


def test_binary_rejects_back_lay_sides_and_off_range_prices() -> None:
    h = Harness()
    m = h.binary()
    r = h.place(m, 1, "BACK", 4500, 10, account=1)
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_SIDE
    r = h.run(C.PlaceOrder(m, 1, "BUY", 10000, 10, 1))
    assert isinstance(r, Reject) and r.code == RejectCode.INVALID_ODDS


def test_settle_with_no_winner_means_no_won() -> None:
    h = Harness()
    m = h.binary()
    h.place(m, 1, "SELL", 3000, 10, account=2)
    h.place(m, 1, "BUY", 3000, 10, account=1)
    e = h.engine
    from betex.core.domain.risk import Exposure

    buyer = Exposure()
    for leg in h.trades(m)[0].legs:
        if leg.account_id == 1:
            buyer.add(leg.runner_id, leg.win, leg.lose)
    assert buyer.if_win(1) == 10 * 7000 and buyer.if_win(NO_OUTCOME) == -10 * 3000
    h.run(C.CloseMarket(m))
    r = h.run(C.SettleMarket(m, ()))
    assert not isinstance(r, Reject) and e.tombstones[m].state == "SETTLED"
