"""REMOVE_RUNNER (domain.md §7, runner removal): the rules, the worked example of docs/engine.md
checked to the cent, and hypothesis properties over random markets with successive removals.

Properties (every example: a CROSS_MATCHED or MULTI_RUNNER market of 3–6 runners, random
placements that make direct and ring trades, removals with random factors between them):
- every trade, reduced or not, sums to zero on every outcome, house included; so does the
  market's P&L for every outcome and the settled P&L (projection) for an active winner. The
  outcomes are the active runners: a removed runner cannot win (a ring between the last two
  active runners writes its taker's leg on the taker's runner, as a TWO_RUNNER trade does);
- the book is never crossed (direct), and nothing rests on a removed runner;
- replaying the events, and loading a dump, give the live engine's state hash; the projection
  fed the same events agrees with the engine on every account's P&L;
- compounding: a trade's price is the product of the factors, rounded at each step, ≥ 1.01.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.events import OrderCancelled, RunnerRemoved, TradeMatched
from betex.core.domain.ladder import TICKS
from betex.core.domain.removal import reduced_price
from betex.core.domain.results import MarketResult, OrderResult, Reject
from betex.core.readmodel.projection import Projection
from tests.core.domain.test_cross_properties import assert_no_crossed_ring
from tests.core.harness import Harness

SCALE = int(os.environ.get("BETEX_PROPERTY_SCALE", "1"))
DOC = Path(__file__).resolve().parents[3] / "docs" / "engine.md"


def _code(r: object) -> str:
    assert isinstance(r, Reject), r
    return str(r.code)


def _projection(h: Harness) -> Projection:
    p = Projection()
    p.apply_batch(h.events)
    return p


# ---------------------------------------------------------------------------- the rules


def test_rejects_binary_two_active_runners_unknown_or_removed_runner_bad_factor_and_final_markets() -> None:
    h = Harness()
    b = h.binary()
    assert _code(h.run(C.RemoveRunner(b, 1, 0))) == "INVALID_TRANSITION"
    two = h.market("CROSS_MATCHED", (1, 2))
    assert _code(h.run(C.RemoveRunner(two, 1, 1000))) == "INVALID_TRANSITION"
    m = h.market("MULTI_RUNNER", (1, 2, 3))
    assert _code(h.run(C.RemoveRunner(m, 9, 1000))) == "INVALID_RUNNER"
    assert _code(h.run(C.RemoveRunner(m, 1, 10001))) == "BAD_REQUEST"
    assert _code(h.run(C.RemoveRunner(m, 1, -1))) == "BAD_REQUEST"
    assert _code(h.run(C.RemoveRunner(99, 1, 0))) == "INVALID_MARKET"
    seq = h.engine.seq
    r = h.run(C.RemoveRunner(m, 3, 1000))
    assert isinstance(r, MarketResult) and r.version == 2
    assert h.engine.seq > seq
    # now two active runners: no further removal; the removed one is not a runner any more
    assert _code(h.run(C.RemoveRunner(m, 3, 0))) == "INVALID_RUNNER"
    assert _code(h.run(C.RemoveRunner(m, 2, 0))) == "INVALID_TRANSITION"
    h.run(C.CloseMarket(m))
    h.run(C.SettleMarket(m, (1,)))
    assert _code(h.run(C.RemoveRunner(m, 2, 0))) == "INVALID_TRANSITION"  # a tombstone


def test_cancels_every_unmatched_order_rejects_orders_and_winners_on_the_removed_runner() -> None:
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3, 4))
    placed = [h.place(m, r, "BACK", 10.0, 5, r) for r in (1, 2, 3)] + [h.place(m, 4, "LAY", 1.5, 5, 9)]
    before = len(h.events)
    r = h.run(C.RemoveRunner(m, 2, 1250))
    assert isinstance(r, MarketResult) and (r.market_state, r.version) == ("OPEN", 2)
    cancels = [e for e in h.events[before:] if isinstance(e, OrderCancelled)]
    assert [(e.order_id, e.size, e.reason) for e in cancels] == [
        (o.order_id, 500, "RUNNER_REMOVED")  # type: ignore[union-attr]
        for o in placed
    ]
    removed = [e for e in h.events[before:] if isinstance(e, RunnerRemoved)]
    assert [(e.runner_id, e.reduction_factor, e.version, e.voided, e.reduced) for e in removed] == [
        (2, 1250, 2, (), ())
    ]
    assert _code(h.place(m, 2, "BACK", 3.0, 5, 1)) == "INVALID_RUNNER"
    assert isinstance(h.place(m, 1, "BACK", 3.0, 5, 1), OrderResult)
    snap = h.engine.depth(m)
    assert snap is not None and [row[0] for row in snap["runners"]] == [1, 2, 3, 4]
    h.run(C.CloseMarket(m))
    assert _code(h.run(C.SettleMarket(m, (2,)))) == "INVALID_RUNNER"
    assert _code(h.run(C.SettleMarket(m, (1, 2)))) == "INVALID_RUNNER"


def test_reduced_price_rounds_half_up_floors_at_1_01_and_compounds() -> None:
    assert reduced_price(300, 2000) == 240
    assert reduced_price(355, 1250) == 311  # 3.10625 → 3.11
    assert reduced_price(250, 3333) == 167  # 1.66675 → 1.67
    assert reduced_price(105, 5000) == 101  # floored at 1.01
    assert reduced_price(1000, 10000) == 101
    assert reduced_price(777, 0) == 777
    # two removals of 20 % then 10 %: 5.00 → 4.00 → 3.60 (not 5.00 × 0.7)
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2, 3, 4))
    h.place(m, 1, "LAY", 5.0, 10, 2)
    h.place(m, 1, "BACK", 5.0, 10, 1)
    h.run(C.RemoveRunner(m, 3, 2000))
    h.run(C.RemoveRunner(m, 4, 1000))
    (t,) = h.trades(m)
    assert t.price == 360 and h.engine.markets[m].original_prices == {t.trade_id: 500}
    assert h.pnl(m, 1) == {1: 2600, 2: -2600}
    assert h.pnl(m, 2) == {1: -1000, 2: 1000}
    assert h.replay_hash() == h.engine.state_hash()


def test_factor_zero_voids_and_cancels_but_reprices_nothing() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2, 3))
    h.place(m, 1, "LAY", 4.0, 10, 2)
    h.place(m, 1, "BACK", 4.0, 10, 1)
    h.place(m, 3, "LAY", 4.0, 10, 2)
    h.place(m, 3, "BACK", 4.0, 10, 1)
    before = len(h.events)
    h.run(C.RemoveRunner(m, 3, 0))
    (e,) = [e for e in h.events[before:] if isinstance(e, RunnerRemoved)]
    assert (e.voided, e.reduced) == ((2,), ())
    assert h.pnl(m, 1) == {1: 3000, 2: -3000}


def test_a_liability_limit_sees_the_reduced_exposure() -> None:
    h = Harness()
    m = h.market("MULTI_RUNNER", (1, 2, 3))
    h.run(C.SetAccountLimit(2, 3000))  # layer: 30.00
    h.place(m, 1, "BACK", 4.0, 10, 1)
    assert isinstance(h.place(m, 1, "LAY", 4.0, 10, 2), OrderResult)  # liability 30.00
    assert _code(h.place(m, 2, "BACK", 2.0, 1, 2)) == "LIABILITY_EXCEEDED"
    h.run(C.RemoveRunner(m, 3, 5000))  # 4.00 → 2.00: the layer now risks 10.00
    e = h.engine.exposure(m, 2)
    assert e is not None and e.worst_case([1, 2]) == -1000
    assert isinstance(h.place(m, 2, "BACK", 2.0, 10, 2), OrderResult)
    fresh = Engine.load(h.engine.dump())
    assert fresh.exposure(m, 2) is not None
    assert fresh.state_hash() == h.engine.state_hash()


def test_rings_after_a_removal_use_the_active_runners_only() -> None:
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3, 4))
    h.run(C.RemoveRunner(m, 4, 0))
    h.place(m, 2, "BACK", 2.5, 6, 2)
    h.place(m, 3, "BACK", 2.5, 6, 3)
    snap = h.engine.depth(m)
    assert snap is not None
    back_1 = snap["runners"][0][1]
    assert back_1 and back_1[0][0] == 500  # 1 / (1 − 0.4 − 0.4) = 5.00, implied
    r = h.place(m, 1, "BACK", 5.0, 3, 1)
    assert isinstance(r, OrderResult) and r.size_matched == 300
    assert [f.effective_odds for f in r.fills] == [5.0, 5.0]


# ---------------------------------------------------------------------------- worked example


def worked_example() -> tuple[Harness, int]:
    """docs/engine.md, "Runner removal", worked example."""
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3, 4))  # Arrow, Blaze, Comet, Dusk
    h.place(m, 1, "LAY", 3.0, 10, 2)
    h.place(m, 1, "BACK", 3.0, 10, 1)  # trade 1: Arrow at 3.00, 10.00
    h.place(m, 2, "BACK", 4.0, 20, 3)
    h.place(m, 2, "LAY", 4.0, 20, 4)  # trade 2: Blaze at 4.00, 20.00
    h.place(m, 3, "BACK", 5.0, 8, 5)
    h.place(m, 3, "LAY", 5.0, 8, 1)  # trade 3: Comet at 5.00, 8.00
    h.place(m, 1, "BACK", 2.5, 8, 6)
    h.place(m, 2, "BACK", 4.0, 5, 7)
    h.place(m, 3, "BACK", 5.0, 4, 8)
    ring = h.place(m, 4, "BACK", 6.0, 3, 9)  # trades 4–6: a ring backing Dusk at 6.67
    assert isinstance(ring, OrderResult) and ring.size_matched == 300
    assert [f.effective_odds for f in ring.fills] == [6.6667] * 3
    h.place(m, 4, "LAY", 8.0, 5, 10)  # rests
    return h, m


ACCOUNTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
BEFORE = {  # P&L per account if Arrow / Blaze / Comet / Dusk wins, before the removal (cents)
    1: (2800, -200, -4200, -200),
    2: (-2000, 1000, 1000, 1000),
    3: (-2000, 6000, -2000, -2000),
    4: (2000, -6000, 2000, 2000),
    5: (-800, -800, 3200, -800),
    6: (1200, -800, -800, -800),
    7: (-500, 1500, -500, -500),
    8: (-400, -400, 1600, -400),
    9: (-300, -300, -300, 1700),
}
AFTER = {  # after REMOVE_RUNNER Comet 20 %: Arrow / Blaze / Dusk (Comet cannot win)
    1: (1400, -1000, -1000),
    2: (-1400, 1000, 1000),
    3: (-2000, 4400, -2000),
    4: (2000, -4400, 2000),
    6: (800, -800, -800),
    7: (-500, 1100, -500),
    9: (-300, -300, 1300),
}


def _row(values: tuple[int, ...]) -> str:
    return " | ".join(f"{v / 100:+.2f}".replace("+0.00", "0.00") for v in values)


def test_worked_example_to_the_cent() -> None:
    h, m = worked_example()
    for i, winner in enumerate((1, 2, 3, 4)):
        got = h.pnl(m, winner)
        assert {a: v for a, v in got.items() if v} == {a: v[i] for a, v in BEFORE.items() if v[i]}
    before = len(h.events)
    r = h.run(C.RemoveRunner(m, 3, 2000))
    assert isinstance(r, MarketResult) and r.version == 2
    new = h.events[before:]
    assert [(e.order_id, e.reason) for e in new if isinstance(e, OrderCancelled)] == [(11, "RUNNER_REMOVED")]
    (e,) = [e for e in new if isinstance(e, RunnerRemoved)]
    assert e.voided == (3, 6)
    assert [(t.trade_id, t.original_price, t.price, t.house) for t in e.reduced] == [
        (1, 300, 240, 0),
        (2, 400, 320, 0),
        (4, 250, 200, 0),
        (5, 400, 320, 0),
    ]
    for i, winner in enumerate((1, 2, 4)):
        got = h.pnl(m, winner)
        assert {a: v for a, v in got.items() if v} == {a: v[i] for a, v in AFTER.items() if v[i]}
    # the ring's taker now backs Dusk at 6.67 × 0.8 = 5.33 for the same 3.00 (see the doc)
    assert _code(h.place(m, 3, "BACK", 5.0, 2, 1)) == "INVALID_RUNNER"
    h.run(C.CloseMarket(m))
    h.run(C.SettleMarket(m, (1,)))
    p = _projection(h)
    settled = {a: r.settled_pnl for a, r in p.risk_table[m].items()}
    want = {a: AFTER.get(a, (0,))[0] for a in ACCOUNTS}
    assert {a: settled.get(a, 0) for a in ACCOUNTS} == want
    assert sum(v for v in settled.values() if v) == 0
    # the document shows the same figures
    doc = DOC.read_text()
    for a, values in AFTER.items():
        assert re.search(rf"\| {a} \| {re.escape(_row(values))} \|", doc), (a, _row(values))
    for a, values in BEFORE.items():
        assert re.search(rf"\| {a} \| {re.escape(_row(values))} \|", doc), (a, _row(values))


WORKED_EXAMPLE_STATE_HASH = "b7891bf879413cb0acf430f98e99d4667153c6ca623bdcbbfb7a25ea8f2b93ba"
"""The engine's state right after the worked example's removal, as test_golden pins its stream:
the compiled and the pure build must dump it byte for byte (a deliberate format change updates
it in its own commit)."""


def test_the_worked_example_state_is_pinned_and_replays() -> None:
    h, m = worked_example()
    h.run(C.RemoveRunner(m, 3, 2000))
    assert h.engine.state_hash() == WORKED_EXAMPLE_STATE_HASH
    assert h.replay_hash() == WORKED_EXAMPLE_STATE_HASH
    assert Engine.load(h.engine.dump()).state_hash() == WORKED_EXAMPLE_STATE_HASH


# ---------------------------------------------------------------------------- properties

PRICES = (150, 200, 250, 300, 340, 400, 500, 700, 1000)


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, tuple[int, ...], list[tuple[Any, ...]]]:
    book = draw(st.sampled_from(("CROSS_MATCHED", "MULTI_RUNNER")))
    n = draw(st.integers(3, 6))
    runners = tuple(range(1, n + 1))
    fair = st.sampled_from([p for p in TICKS if 80 * n <= p <= 130 * n])
    cmds: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 30))):
        k = draw(st.integers(0, 12))
        if k == 0:
            cmds.append(("remove", draw(st.sampled_from(runners)), draw(st.integers(0, 10000))))
        elif k == 1:
            cmds.append(("void", draw(st.integers(1, 40))))
        else:
            cmds.append(
                (
                    "place",
                    draw(st.sampled_from(runners)),
                    draw(st.sampled_from(("BACK", "LAY"))),
                    draw(st.one_of(st.sampled_from(PRICES), fair)),
                    draw(st.integers(2, 60)) * 50 + draw(st.sampled_from((0, 1, 33))),
                    draw(st.integers(1, 4)),
                )
            )
    return book, runners, cmds


def _trade_sums(t: TradeMatched, outcomes: tuple[int, ...]) -> list[int]:
    return [sum(leg.win if leg.runner_id == r else -leg.lose for leg in t.legs) for r in outcomes]


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_removals_keep_every_outcome_zero_sum_uncrossed_and_replayable(
    stream: tuple[str, tuple[int, ...], list[tuple[Any, ...]]],
) -> None:
    book, runners, cmds = stream
    h = Harness()
    m = h.market(book, runners)
    factors: dict[int, list[int]] = {}  # trade → factors applied to it, in order
    originals: dict[int, int] = {}
    for cmd in cmds:
        if cmd[0] == "remove":
            before = len(h.events)
            r = h.run(C.RemoveRunner(m, cmd[1], cmd[2]))
            if isinstance(r, Reject):
                continue
            (e,) = [e for e in h.events[before:] if isinstance(e, RunnerRemoved)]
            for t in h.engine.markets[m].trades.values():
                if t.trade_id not in h.engine.markets[m].voided_trades:
                    factors.setdefault(t.trade_id, []).append(cmd[2])
            assert not list(h.engine.markets[m].live_orders())
            assert {t.trade_id for t in e.reduced}.isdisjoint(e.voided)
        elif cmd[0] == "void":
            if cmd[1] in h.engine.markets[m].trades:
                h.run(C.VoidTrades(m, (cmd[1],)))
        else:
            _, runner, side, price, size, account = cmd
            r = h.run(C.PlaceOrder(m, runner, side, price, size, account))
            if runner in h.engine.markets[m].removed:
                assert _code(r) == "INVALID_RUNNER"
                continue
            assert isinstance(r, OrderResult), r
            for t in h.engine.markets[m].trades.values():
                originals.setdefault(t.trade_id, t.price)
            if book == "CROSS_MATCHED":
                assert_no_crossed_ring(h.engine, m, r.order_id)
        mk = h.engine.markets[m]
        for r_ in runners:
            bk = mk.books[r_]
            if r_ in mk.removed:
                assert not bk.backs.prices and not bk.lays.prices
            elif bk.backs.prices and bk.lays.prices:
                assert bk.lays.prices[-1] < bk.backs.prices[0], "direct cross"
    mk = h.engine.markets[m]
    active = tuple(r for r in runners if r not in mk.removed)
    for tid, t in mk.trades.items():
        assert _trade_sums(t, active) == [0] * len(active), tid  # zero-sum, house included
        assert t.price >= 101
        expected = originals[tid]
        for f in factors.get(tid, []):
            expected = reduced_price(expected, f)
        if tid not in mk.voided_trades:
            assert t.price == expected, (tid, t.price, expected, factors.get(tid))
            assert t.runner_id in active and t.maker_runner_id in active
    for r_ in active:
        assert sum(h.pnl(m, r_).values()) == 0
    assert h.replay_hash() == h.engine.state_hash()
    assert Engine.load(h.engine.dump()).state_hash() == h.engine.state_hash()
    p = _projection(h)
    for r_ in active:
        engine_pnl = {a: v for a, v in h.pnl(m, r_).items() if v}
        proj = {a: x.exposure.if_win(r_) for a, x in p.risk_table.get(m, {}).items()}
        assert {a: v for a, v in proj.items() if v} == engine_pnl
    # settle on an active winner: settled P&L sums to zero, house included
    h.run(C.CloseMarket(m))
    h.run(C.SettleMarket(m, (active[0],)))
    p = _projection(h)
    assert sum(x.settled_pnl or 0 for x in p.risk_table.get(m, {}).values()) == 0
    reloaded = Projection.load(p.dump())
    assert reloaded.dump() == p.dump()
