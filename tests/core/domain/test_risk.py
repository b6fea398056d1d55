"""Risk and settlement (domain.md §5)."""

from betex.core.domain import commands as C
from betex.core.domain.results import OrderResult, Reject
from betex.core.domain.risk import Exposure, settle_pnl
from betex.core.domain.types import RejectCode
from tests.core.harness import Harness


def test_if_win_per_runner_follows_the_formula() -> None:
    e = Exposure()
    e.add(1, 1500, 1000)  # back runner 1 £10 @2.5
    e.add(2, -2000, -1000)  # lay runner 2 £10 @3.0
    # if 1 wins: +15 (back) +10 (lay on other) ; if 2 wins: -10 -20 ; if 3 wins: -10 +10
    assert e.outcomes([1, 2, 3]) == {1: 2500, 2: -3000, 3: 0}
    assert e.worst_case([1, 2, 3]) == -3000


def test_liability_limit_rejects_placements_that_would_breach_it() -> None:
    h = Harness()
    m = h.market()
    h.run(C.SetAccountLimit(1, 2000))
    assert isinstance(h.place(m, 1, "LAY", 3.0, 10, account=1), OrderResult)  # worst case -20 (runner 1)
    # backing runner 2 for 5 loses 5 more if runner 1 wins: -25 < -20
    r = h.place(m, 2, "BACK", 2.0, 5, account=1)
    assert isinstance(r, Reject) and r.code == RejectCode.LIABILITY_EXCEEDED
    # laying runner 2 hedges: if 1 wins -20 + 2 = -18
    assert isinstance(h.place(m, 2, "LAY", 1.5, 2, account=1), OrderResult)
    e = h.engine.exposure(m, 1)
    assert e is not None and e.worst_case([1, 2, 3]) == -1800
    assert isinstance(h.place(m, 2, "BACK", 2.0, 5, account=9), OrderResult)  # other accounts unlimited


def test_limit_counts_matched_exposure_too() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "BACK", 3.0, 10, account=2)
    h.place(m, 1, "LAY", 3.0, 10, account=1)  # matched: account 1 loses 20 if runner 1 wins
    h.run(C.SetAccountLimit(1, 2500))  # set afterwards: exposure is rebuilt from history
    r = h.place(m, 1, "LAY", 2.0, 10, account=1)  # another -10 → -30
    assert isinstance(r, Reject) and r.code == RejectCode.LIABILITY_EXCEEDED
    assert isinstance(h.place(m, 2, "LAY", 2.0, 5, account=1), OrderResult)  # -20 if 1, -5 if 2


def test_dead_heat_halves_the_payout_and_house_absorbs_rounding() -> None:
    e = Exposure()
    legs = {1: [(1501, 1000)], 2: [], 3: []}
    e.add(1, 1501, 1000)
    # two winners: payout (stake + winnings) / 2 = 1250.5 → 1251, P&L 251
    assert settle_pnl(e, [1, 2], legs) == 251
    assert settle_pnl(e, [1], legs) == 1501
    assert settle_pnl(e, [2, 3], legs) == -1000


def test_void_trades_moves_matched_to_voided_and_pnl_to_zero() -> None:
    h = Harness()
    m = h.market()
    lay = h.place(m, 1, "LAY", 3.0, 10, account=2)
    back = h.place(m, 1, "BACK", 3.0, 10, account=1)
    tid = back.fills[0].trade_id  # type: ignore[union-attr]
    r = h.run(C.VoidTrades(m, (tid,)))
    assert r.detail == {"voided": 1}  # type: ignore[union-attr]
    for o in (lay, back):
        order = h.engine.orders[o.order_id]  # type: ignore[union-attr]
        assert order.matched == 0 and order.voided == 1000
    assert h.pnl(m, 1) == {} and h.pnl(m, 2) == {}


def test_void_trades_after_a_timestamp() -> None:
    h = Harness()
    m = h.market()
    h.place(m, 1, "LAY", 3.0, 20, account=2)
    h.place(m, 1, "BACK", 3.0, 10, account=1)
    goal = h.ts
    h.tick(1)
    h.place(m, 1, "BACK", 3.0, 10, account=3)
    r = h.run(C.VoidTrades(m, (), after_ts=goal))
    assert r.detail == {"voided": 1}  # type: ignore[union-attr]
    assert h.engine.markets[m].voided_trades == {2}
