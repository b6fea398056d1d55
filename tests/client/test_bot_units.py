"""Bot building blocks: the index price space, correlation ids, exposure, wire encoding, latency."""

from __future__ import annotations

import pytest

from betex.client.bots import (
    BINARY,
    ODDS,
    BookView,
    Exposure,
    Place,
    account_of,
    correlation_id,
    seq_of,
    to_wire,
)
from betex.client.bots.book import NO_OUTCOME
from betex.client.bots.runner import if_win_cents, parse_risk
from betex.client.connection import Backoff
from betex.client.latency import LatencyRecorder
from betex.core.domain.ladder import TICKS, next_tick

from .helpers import binary_snapshot, odds_snapshot


def test_correlation_id_is_account_high_seq_low() -> None:
    cid = correlation_id(7, 1)
    assert cid == 30064771073 == (7 << 32) | 1  # the protocol.md example
    assert (account_of(cid), seq_of(cid)) == (7, 1)
    assert account_of(correlation_id(2**32 - 1, 2**32 - 1)) == 2**32 - 1


def test_odds_indices_are_the_350_tick_ladder() -> None:
    assert ODDS.n_ticks == 350
    for i, h in enumerate(TICKS):
        assert ODDS.from_wire_price(ODDS.to_wire_price(i)) == i
        assert round(ODDS.to_wire_price(i) * 100) == h
    # one index up is one tick up, across band boundaries too
    for h in (199, 200, 298, 300, 980, 1000):
        i = ODDS.from_wire_price(h / 100)
        assert i is not None and TICKS[i + 1] == next_tick(h)
    assert ODDS.from_wire_price(2.51) is None


def test_binary_indices_are_bps() -> None:
    assert BINARY.to_wire_price(0) == 1 and BINARY.to_wire_price(9998) == 9999
    assert BINARY.from_wire_price(4500) == 4499
    assert BINARY.from_wire_price(0) is None and BINARY.from_wire_price(10000) is None
    assert BINARY.prob_to_index(0.45) == pytest.approx(4499)


def test_prob_to_index_orders_prices_the_right_way() -> None:
    # odds: likelier runner → shorter odds → lower index; binary: likelier → higher bps
    assert ODDS.prob_to_index(0.6) < ODDS.prob_to_index(0.4)
    assert BINARY.prob_to_index(0.6) > BINARY.prob_to_index(0.4)
    assert ODDS.to_wire_price(round(ODDS.prob_to_index(0.5))) == 2.0
    assert ODDS.index_to_prob(ODDS.prob_to_index(0.25)) == pytest.approx(0.25)


def test_sizes_in_units() -> None:
    assert ODDS.to_wire_size(1050) == 10.5 and ODDS.from_wire_size(10.5) == 1050
    assert BINARY.to_wire_size(7) == 7 and BINARY.from_wire_size(7.0) == 7


def test_to_wire_speaks_wire_units() -> None:
    i = ODDS.from_wire_price(2.52)
    assert i is not None
    msg = to_wire(Place(1, "BACK", i, 1050), 3, 7, ODDS, 99)
    assert msg == {"PLACE_ORDER": {"market_id": 3, "runner_id": 1, "side": "BACK", "price": 2.52, "size": 10.5,
                                   "account_id": 7, "correlation_id": 99}}  # fmt: skip
    fok = to_wire(Place(1, "BUY", 4499, 20, "FILL_OR_KILL", min_fill_size=1), 3, 7, BINARY, 5)
    assert fok["PLACE_ORDER"]["price"] == 4500 and fok["PLACE_ORDER"]["size"] == 20
    assert fok["PLACE_ORDER"]["time_in_force"] == "FILL_OR_KILL" and fok["PLACE_ORDER"]["min_fill_size"] == 1


def test_book_view_maps_resting_lays_to_bids() -> None:
    snap = odds_snapshot(5, {1: ([(2.5, 10.0), (2.48, 5.0)], [(2.54, 7.0)]), 2: ([], [])})
    v = BookView.from_snapshot(snap)
    r1 = v.runner(1)
    assert r1 is not None and v.seq == 5 and v.is_open
    assert r1.best_bid == ODDS.from_wire_price(2.5) and r1.best_ask == ODDS.from_wire_price(2.54)
    assert r1.size_at(True, ODDS.from_wire_price(2.48) or 0) == 500
    r2 = v.runner(2)
    assert r2 is not None and r2.best_bid is None
    b = BookView.from_snapshot(binary_snapshot(1, [(4500, 10)], [(4600, 3)]))
    assert b.runners[0].bids == ((4499, 10),) and b.runners[0].asks == ((4599, 3),)


def test_exposure_is_if_win_per_outcome() -> None:
    e = Exposure(ODDS, (1, 2, 3))
    i250 = ODDS.from_wire_price(2.5)
    assert i250 is not None
    e.add(1, "BACK", i250, 1000)  # back 10.00 at 2.5 on runner 1
    assert e.if_win == {1: 1500.0, 2: -1000.0, 3: -1000.0}
    e.add(1, "LAY", i250, 400)  # lay 4.00 at 2.5: risks 6.00 if 1 wins
    assert e.if_win == {1: 900.0, 2: -600.0, 3: -600.0}
    assert e.worst() == -600.0
    assert e.worst_with(2, "BACK", i250, 1000) == -1600.0
    b = Exposure(BINARY, (1,))
    b.add(1, "BUY", 4499, 10)  # 10 YES shares at 45.00%: +5.50 if YES, -4.50 if NO
    assert b.if_win == {1: pytest.approx(550.0), NO_OUTCOME: pytest.approx(-450.0)}


def test_risk_body_parses_to_cents_per_outcome() -> None:
    body = {"seq": 1, "risk": [{"account_id": 7, "if_win": [{"runner_id": 1, "pnl": 6.0}, {"runner_id": -1, "pnl": -4.5}],
                                "worst_case": -4.5}]}  # fmt: skip
    risk = parse_risk(body)
    assert set(risk) == {7}
    assert if_win_cents(risk[7]) == {1: 600.0, NO_OUTCOME: -450.0}


def test_latency_summary_percentiles_in_ms() -> None:
    rec = LatencyRecorder()
    assert rec.summary().count == 0 and rec.summary().p99 == 0.0
    for us in range(1, 1001):  # 1 µs .. 1 ms
        rec.record_us(us * 1000 / 1000)
    rec.record_s(0.25)  # one 250 ms outlier
    s = rec.summary()
    assert s.count == 1001
    assert s.p50 == pytest.approx(0.5, rel=0.01)
    assert s.p99 == pytest.approx(0.99, rel=0.01)
    assert s.max == pytest.approx(250.0, rel=0.001)
    assert s.p999 <= s.max


def test_backoff_doubles_to_a_cap_and_resets() -> None:
    b = Backoff(initial=0.1, maximum=1.0, factor=2.0, jitter=0.0)
    assert [b.next_delay() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == 0.1
    j = Backoff(initial=1.0, jitter=0.2)
    assert all(0.8 <= j.next_delay() <= 1.2 for _ in range(1)) and j.next_delay() <= 2.4
