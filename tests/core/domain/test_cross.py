"""CROSS_MATCHED worked numbers (docs/engine.md "CROSS_MATCHED"), market rules and the wire."""

from __future__ import annotations

import json

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.results import MarketResult, OrderResult, Reject
from betex.core.domain.types import RejectCode
from betex.core.protocol.parse import parse_client_msg
from tests.core.harness import Harness


def three() -> tuple[Harness, int]:
    h = Harness()
    return h, h.market("CROSS_MATCHED", (1, 2, 3))


def test_back_ring_worked_example_to_the_cent() -> None:
    h, m = three()
    h.place(m, 2, "BACK", 3.0, 10, 1)
    h.place(m, 3, "BACK", 3.4, 10, 2)
    depth = h.engine.depth(m, 3)
    assert depth is not None
    assert depth["runners"][0] == (1, [(268, 1117, 1117)], [])  # 2.68 implied for 11.17
    r = h.place(m, 1, "BACK", 2.2, 20, 3)
    assert isinstance(r, OrderResult)
    assert (r.size_matched, r.size_remaining) == (1117, 883)
    trades = h.trades(m)
    assert [(t.maker_order_id, t.taker_size, t.maker_size, t.price, t.implied, t.house) for t in trades] == [
        (1, 594, 1000, 300, True, 2),
        (2, 523, 882, 340, True, 1),
    ]
    assert h.pnl(m, 1) == {3: 1883, 1: -1000, 2: -882, 0: -1}
    assert h.pnl(m, 2) == {3: -1117, 1: 2000, 2: -882, 0: -1}
    assert h.pnl(m, 3) == {3: -1117, 1: -1000, 2: 2118, 0: -1}
    assert h.replay_hash() == h.engine.state_hash()


def test_lay_ring_worked_example_to_the_cent() -> None:
    h, m = three()
    h.place(m, 2, "LAY", 3.0, 10, 1)
    h.place(m, 3, "LAY", 3.4, 10, 2)
    depth = h.engine.depth(m, 3)
    assert depth is not None
    assert depth["runners"][0] == (1, [], [(270, 1117, 1117)])  # layers of 1 see 2.70 implied
    r = h.place(m, 1, "LAY", 3.0, 20, 3)
    assert isinstance(r, OrderResult)
    assert (r.size_matched, r.size_remaining) == (1118, 882)
    # the taker lays runner 1 at e = 2.684: liability 18.82 for a backer's stake of 11.18
    assert h.pnl(m, 1) == {3: -1882, 1: 1000, 2: 883, 0: -1}
    assert h.pnl(m, 2) == {3: 1118, 1: -2000, 2: 883, 0: -1}
    assert h.pnl(m, 3) == {3: 1118, 1: 1000, 2: -2117, 0: -1}


def test_direct_beats_a_worse_ring_and_a_ring_beats_a_worse_direct() -> None:
    h, m = three()
    h.place(m, 2, "BACK", 3.0, 10, 1)
    h.place(m, 3, "BACK", 3.0, 10, 2)  # ring offers backers of 1 odds 3.00
    h.place(m, 1, "LAY", 2.9, 5, 4)  # direct 2.90: worse for a backer
    h.place(m, 1, "LAY", 3.2, 5, 4)  # direct 3.20: better
    r = h.place(m, 1, "BACK", 2.5, 30, 3)
    assert isinstance(r, OrderResult)
    assert [(f.price, f.implied) for f in r.fills] == [(320, False), (300, True), (300, True), (290, False)]


def test_four_runner_ring_balances_and_replays() -> None:
    h = Harness()
    m = h.market("CROSS_MATCHED", (1, 2, 3, 4))
    for runner, odds in ((2, 4.0), (3, 5.0), (4, 3.5)):
        h.place(m, runner, "BACK", odds, 7.77, runner)
    r = h.place(m, 1, "BACK", 2.0, 50, 9)
    assert isinstance(r, OrderResult) and r.size_matched > 0
    for winner in (1, 2, 3, 4):
        assert sum(h.pnl(m, winner).values()) == 0
    dumped = Engine.load(h.engine.dump(), h.engine.config)
    assert dumped.state_hash() == h.engine.state_hash() == h.replay_hash()


def test_market_rules() -> None:
    h = Harness()
    one = h.run(C.CreateMarket("x", "EXCHANGE_ODDS", "CROSS_MATCHED", "PRE_ONLY", "OPEN", "PRE", (1,), ()))
    assert isinstance(one, Reject) and one.code == RejectCode.INVALID_RUNNER
    many = tuple(range(101))
    big = h.run(C.CreateMarket("x", "EXCHANGE_ODDS", "CROSS_MATCHED", "PRE_ONLY", "OPEN", "PRE", many, ()))
    assert isinstance(big, Reject) and big.code == RejectCode.INVALID_RUNNER
    ok = h.run(C.CreateMarket("x", "EXCHANGE_ODDS", "CROSS_MATCHED", "PRE_ONLY", "OPEN", "PRE", (1, 2), ()))
    assert isinstance(ok, MarketResult)
    added = h.run(C.AddRunners(ok.market_id, (3,), ()))
    assert isinstance(added, Reject) and added.code == RejectCode.INVALID_MARKET


def test_wire_accepts_cross_matched() -> None:
    body = {
        "name": "Home v Away",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "CROSS_MATCHED",
        "market_kind": "IN_PLAY_CAPABLE",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "runner_ids": [1, 2, 3],
        "runner_labels": ["Home", "Draw", "Away"],
    }
    got = parse_client_msg(json.dumps({"CREATE_MARKET": body}))
    assert isinstance(got, C.CreateMarket) and got.book_type == "CROSS_MATCHED"
