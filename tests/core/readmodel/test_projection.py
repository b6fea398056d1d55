"""The projection, driven end to end: wire JSON → parser → real Engine → events → Projection."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest

from betex.core.domain.engine import Engine
from betex.core.domain.events import Event
from betex.core.errors import SnapshotDamaged
from betex.core.ops.recovery import load_projection, save_projection
from betex.core.protocol import render
from betex.core.protocol.parse import ListMarkets, Subscribe, WireError, parse_client_msg
from betex.core.protocol.render import render_reply
from betex.core.readmodel.projection import PROJECTION_SCHEMA, Projection

SEC = 1_000_000_000
T0 = 1_732_406_400 * SEC


class Exchange:
    """A real engine plus a projection fed its committed batches, addressed in wire JSON."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.projection = Projection()
        self.events: list[Event] = []
        self.ts = T0

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        request = parse_client_msg(orjson.dumps(msg), self.projection.model_of)
        assert not isinstance(request, (WireError, ListMarkets, Subscribe)), request
        self.engine.begin_batch(self.ts)
        result = self.engine.execute(request)
        batch = self.engine.end_batch(1)
        self.events.extend(batch)
        self.projection.apply_batch(batch)
        model = self.projection.model_of(getattr(request, "market_id", 0)) or "EXCHANGE_ODDS"
        return render_reply(request, result, model)

    def tick(self, seconds: float) -> None:
        self.ts += int(seconds * SEC)

    def market(
        self, book_type: str | None = "MULTI_RUNNER", runners: tuple[int, ...] = (1, 2, 3), **kw: Any
    ) -> int:
        body = {
            "name": kw.pop("name", "Arsenal v Chelsea"),
            "market_model": kw.pop("model", "EXCHANGE_ODDS"),
            "book_type": book_type,
            "market_kind": kw.pop("kind", "IN_PLAY_CAPABLE"),
            "runner_ids": list(runners),
        }
        body.update(kw)
        reply = self.send({"CREATE_MARKET": body})
        return int(reply["MARKET_CREATED"]["market_id"])

    def place(
        self, market: int, runner: int, side: str, price: float, size: float, account: int, **kw: Any
    ) -> dict[str, Any]:
        body = {
            "market_id": market,
            "runner_id": runner,
            "side": side,
            "price": price,
            "size": size,
            "account_id": account,
        }
        body.update(kw)
        reply = self.send({"PLACE_ORDER": body})["ORDER_RESPONSE"]
        assert reply["status"] != "REJECTED", reply
        return reply

    def rebuilt(self, batch: int = 7) -> Projection:
        p = Projection()
        for i in range(0, len(self.events), batch):
            p.apply_batch(self.events[i : i + batch])
        return p


def order(p: Projection, order_id: int) -> dict[str, Any]:
    return render.order_dict(p, p.order_table[order_id])


def risk_of(p: Projection, market: int, account: int) -> dict[str, Any]:
    body = render.risk(p, market_id=market, account_id=account)
    assert body is not None
    (row,) = body["risk"]
    return row


def if_win(row: dict[str, Any]) -> dict[int, float]:
    return {x["runner_id"]: x["pnl"] for x in row["if_win"]}


@pytest.fixture
def ex() -> Exchange:
    return Exchange()


# --- direct matching ------------------------------------------------------------------------


def test_direct_match_builds_book_orders_trades_and_risk(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
    ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
    p = ex.projection

    snap = render.snapshot(p, m, depth=5)
    assert snap is not None
    assert (snap["market_state"], snap["market_phase"], snap["version"]) == ("OPEN", "PRE", 1)
    assert snap["seq"] == p.change_counter(m) == p.seq - 1  # the trade; the batch marker is not the market's
    assert snap["ts"] == T0
    assert snap["total_matched"] == 4.0
    assert snap["runners"][0] == {
        "runner_id": 1,
        "label": "Runner 1",
        "last_traded_price": 2.5,
        "traded_volume": 4.0,
        "status": "ACTIVE",
    }
    assert snap["runners"][1]["last_traded_price"] is None
    book = snap["book"]
    assert book["kind"] == "EXCHANGE"
    r1 = book["data"]["runners"][0]
    assert r1["available_to_lay"] == [{"price": 2.5, "size": 6.0, "implied": 0.0}]
    assert r1["available_to_back"] == []

    back = order(p, 1)
    assert (back["size_matched"], back["size_remaining"], back["status"]) == (4.0, 6.0, "EXECUTABLE")
    assert back["avg_price_matched"] == 2.5
    assert order(p, 2)["status"] == "EXECUTION_COMPLETE"

    (trade,) = render.trades(p, market_id=m)["trades"]
    assert (trade["price"], trade["size"], trade["implied"], trade["voided"]) == (2.5, 4.0, False, False)
    assert (trade["taker_account"], trade["maker_account"]) == (2, 1)

    backer = risk_of(p, m, 1)
    assert if_win(backer) == {1: 6.0, 2: -4.0, 3: -4.0}
    assert backer["worst_case"] == -4.0
    # the unmatched 6.00 at 2.5 as if matched: +9.00 if runner 1 wins, -6.00 otherwise
    assert backer["worst_case_with_unmatched"] == -10.0
    assert (backer["matched_volume"], backer["open_orders"], backer["settled_pnl"]) == (4.0, 1, None)
    layer = risk_of(p, m, 2)
    assert if_win(layer) == {1: -6.0, 2: 4.0, 3: 4.0}
    assert layer["worst_case"] == layer["worst_case_with_unmatched"] == -6.0


def test_sub_cent_liability_goes_to_the_house_and_settles_to_zero(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "LAY", 2.02, 1.01, account=2)
    ex.place(m, 1, "BACK", 2.02, 1.01, account=1)
    p = ex.projection
    # winnings 1.01 × 1.02 = 1.0302: the backer gets 1.04, the layer pays 1.03, the house 0.01
    assert if_win(risk_of(p, m, 1))[1] == 1.04
    assert if_win(risk_of(p, m, 2))[1] == -1.03
    assert if_win(risk_of(p, m, 0))[1] == -0.01
    assert render.trades(p)["trades"][0]["house"] == 0.01
    ex.send({"CLOSE_MARKET": {"market_id": m}})
    ex.send({"SETTLE_MARKET": {"market_id": m, "winner_runner_ids": [1]}})
    settled = {row["account_id"]: row["settled_pnl"] for row in render.risk(p, market_id=m)["risk"]}  # type: ignore[index]
    assert settled == {0: -0.01, 1: 1.04, 2: -1.03}
    assert render.snapshot(p, m)["market_state"] == "SETTLED"  # type: ignore[index]
    assert render.snapshot(p, m)["winner_runner_ids"] == [1]  # type: ignore[index]


def test_dead_heat_splits_payouts_and_house_takes_the_residue(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "LAY", 3.0, 10.01, account=2)
    ex.place(m, 1, "BACK", 3.0, 10.01, account=1)
    ex.place(m, 2, "LAY", 4.0, 5.0, account=2)
    ex.place(m, 2, "BACK", 4.0, 5.0, account=3)
    ex.send({"CLOSE_MARKET": {"market_id": m}})
    ex.send({"SETTLE_MARKET": {"market_id": m, "winner_runner_ids": [1, 2]}})
    body = render.risk(ex.projection, market_id=m)
    assert body is not None
    settled = {row["account_id"]: row["settled_pnl"] for row in body["risk"]}
    # account 1: (20.02 + 10.01) / 2 rounded up = 15.02 back, less the 10.01 stake = 5.01
    # account 2: pays 15.01 on runner 1 and 10.00 on runner 2, keeps 10.01 + 5.00 stakes → -10.00
    # account 3: (15.00 + 5.00) / 2 = 10.00 back, less 5.00 = 5.00; the house pays the odd cent
    assert settled == {0: -0.01, 1: 5.01, 2: -10.0, 3: 5.0}
    assert round(sum(settled.values()), 2) == 0


# --- implied matching -----------------------------------------------------------------------


def test_implied_match_in_two_runner_market(ex: Exchange) -> None:
    m = ex.market("TWO_RUNNER", (1, 2))
    ex.place(m, 1, "BACK", 3.0, 10.0, account=7)
    reply = ex.place(m, 2, "BACK", 1.5, 20.0, account=8)
    assert reply["fills"] == [
        {"trade_id": 1, "price": 3.0, "size": 20.0, "implied": True, "effective_odds": 1.5}
    ]
    p = ex.projection
    snap = render.snapshot(p, m)
    assert snap is not None
    assert snap["total_matched"] == 30.0
    assert [r["traded_volume"] for r in snap["runners"]] == [10.0, 20.0]
    assert snap["runners"][0]["last_traded_price"] == 3.0
    assert order(p, 2)["avg_price_matched"] == 1.5
    assert order(p, 1)["avg_price_matched"] == 3.0
    trade = render.trades(p)["trades"][0]
    assert (trade["runner_id"], trade["maker_runner_id"], trade["maker_size"], trade["effective_odds"]) == (
        2,
        1,
        10.0,
        1.5,
    )
    assert if_win(risk_of(p, m, 7)) == {1: 20.0, 2: -10.0}
    assert if_win(risk_of(p, m, 8)) == {1: -20.0, 2: 10.0}


def test_snapshot_shows_implied_liquidity(ex: Exchange) -> None:
    m = ex.market("TWO_RUNNER", (1, 2))
    ex.place(m, 1, "BACK", 3.0, 10.0, account=7)
    snap = render.snapshot(ex.projection, m)
    assert snap is not None
    r1, r2 = snap["book"]["data"]["runners"]
    assert r1["available_to_lay"] == [{"price": 3.0, "size": 10.0, "implied": 0.0}]
    # backing runner 2 at 1.5 against the back on runner 1 at 3.0: 10.00 × 2 = 20.00 of stake
    assert r2["available_to_back"] == [{"price": 1.5, "size": 20.0, "implied": 20.0}]


# --- lifecycle ------------------------------------------------------------------------------


def test_cancel_lapse_and_state_changes(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.0, 10.0, account=1, persistence="LAPSE")
    ex.place(m, 1, "BACK", 2.0, 10.0, account=1, persistence="PERSIST")
    reply = ex.send({"CANCEL_ORDER": {"market_id": m, "order_id": 2, "account_id": 1, "size_reduction": 2.5}})
    assert reply["ORDER_RESPONSE"]["status"] == "CANCELLED"
    before = ex.projection.change_counter(m)
    ex.send({"AWAIT_LIVE_MARKET": {"market_id": m}})
    reply = ex.send({"GO_LIVE_MARKET": {"market_id": m, "correlation_id": 4}})
    assert reply == {
        "MARKET_UPDATED": {
            "correlation_id": 4,
            "market_id": m,
            "market_state": "OPEN",
            "market_phase": "IN_PLAY",
            "version": 3,
        }
    }
    p = ex.projection
    assert p.change_counter(m) != before
    lapsed, kept = order(p, 1), order(p, 2)
    assert (lapsed["size_lapsed"], lapsed["size_remaining"], lapsed["status"]) == (
        10.0,
        0.0,
        "EXECUTION_COMPLETE",
    )
    assert (kept["size_cancelled"], kept["size_remaining"], kept["status"]) == (2.5, 7.5, "EXECUTABLE")
    snap = render.snapshot(p, m)
    assert snap is not None
    assert (snap["market_state"], snap["market_phase"], snap["version"]) == ("OPEN", "IN_PLAY", 3)
    assert render.market_list(p)[0]["market_phase"] == "IN_PLAY"
    ex.send({"CLOSE_MARKET": {"market_id": m}})
    assert order(p, 2)["size_cancelled"] == 10.0
    assert p.live_counts()["open_orders"] == 0


def test_replace_links_the_new_order(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.0, 10.0, account=1)
    reply = ex.send({"REPLACE_ORDER": {"market_id": m, "order_id": 1, "account_id": 1, "new_price": 2.2}})[
        "ORDER_RESPONSE"
    ]
    assert (reply["status"], reply["replacement_order_id"]) == ("REPLACED", 2)
    p = ex.projection
    old, new = order(p, 1), order(p, 2)
    assert (old["size_cancelled"], old["status"]) == (10.0, "EXECUTION_COMPLETE")
    assert (new["price"], new["size"], new["replaces"]) == (2.2, 10.0, 1)


def test_void_trades_moves_matched_to_voided(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
    ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
    ex.tick(5)
    ex.place(m, 1, "LAY", 2.5, 2.0, account=2)
    reply = ex.send({"VOID_TRADES": {"market_id": m, "trade_ids": [1], "correlation_id": 9}})
    assert reply == {"ACK": {"correlation_id": 9, "ok": True, "detail": {"voided": 1}}}
    p = ex.projection
    back = order(p, 1)
    assert (back["size_matched"], back["size_voided"], back["size_remaining"]) == (2.0, 4.0, 4.0)
    assert back["avg_price_matched"] == 2.5
    assert [t["voided"] for t in render.trades(p, market_id=m)["trades"]] == [False, True]
    assert if_win(risk_of(p, m, 1)) == {1: 3.0, 2: -2.0, 3: -2.0}
    assert risk_of(p, m, 2)["matched_volume"] == 2.0
    assert render.snapshot(p, m)["total_matched"] == 2.0  # type: ignore[index]
    ex.send({"VOID_TRADES": {"market_id": m, "after_ts": T0}})
    assert if_win(risk_of(p, m, 1)) == {1: 0.0, 2: 0.0, 3: 0.0}
    assert p.live_counts()["voided_trades"] == 2


def test_void_market_voids_everything(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
    ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
    ex.send({"VOID_MARKET": {"market_id": m}})
    p = ex.projection
    back = order(p, 1)
    assert (back["size_matched"], back["size_voided"], back["size_cancelled"], back["status"]) == (
        0.0,
        4.0,
        6.0,
        "EXECUTION_COMPLETE",
    )
    assert render.trades(p)["trades"][0]["voided"] is True
    row = risk_of(p, m, 1)
    assert (row["worst_case"], row["settled_pnl"], row["open_orders"]) == (0.0, 0.0, 0)
    assert render.snapshot(p, m)["market_state"] == "VOIDED"  # type: ignore[index]


# --- binary ---------------------------------------------------------------------------------


def test_binary_market_in_bps_and_shares(ex: Exchange) -> None:
    m = ex.market(None, (1,), model="BINARY_YES", runner_labels=["YES"])
    ex.place(m, 1, "BUY", 4500, 10, account=1)
    reply = ex.place(m, 1, "SELL", 4400, 4, account=2)
    assert reply["fills"] == [{"trade_id": 1, "price": 4500, "size": 4, "implied": False}]
    p = ex.projection
    snap = render.snapshot(p, m)
    assert snap is not None
    assert snap["book"] == {"kind": "BINARY", "data": {"bids": [{"price": 4500, "size": 6}], "asks": []}}
    assert snap["runners"] == [
        {"runner_id": 1, "label": "YES", "last_traded_price": 4500, "traded_volume": 4, "status": "ACTIVE"}
    ]
    assert order(p, 1)["avg_price_matched"] == 4500
    buyer = risk_of(p, m, 1)
    # 4 shares bought at 0.45: +0.55 each if YES, -0.45 each if NO (outcome -1)
    assert if_win(buyer) == {1: 2.2, -1: -1.8}
    assert buyer["worst_case_with_unmatched"] == -4.5
    assert if_win(risk_of(p, m, 2)) == {1: -2.2, -1: 1.8}
    ex.send({"CLOSE_MARKET": {"market_id": m}})
    ex.send({"SETTLE_MARKET": {"market_id": m, "winner_runner_ids": []}})
    assert (risk_of(p, m, 1)["settled_pnl"], risk_of(p, m, 2)["settled_pnl"]) == (-1.8, 1.8)


def test_binary_market_model_drives_parsing(ex: Exchange) -> None:
    m = ex.market(None, (1,), model="BINARY_YES")
    raw = orjson.dumps(
        {
            "PLACE_ORDER": {
                "market_id": m,
                "runner_id": 1,
                "side": "BUY",
                "price": 4500,
                "size": 1.5,
                "account_id": 1,
            }
        }
    )
    got = parse_client_msg(raw, ex.projection.model_of)
    assert isinstance(got, WireError) and got.code == "INVALID_SIZE"


# --- queries --------------------------------------------------------------------------------


def test_order_queries_filter_and_order_newest_first(ex: Exchange) -> None:
    m1 = ex.market()
    m2 = ex.market()
    ex.place(m1, 1, "BACK", 2.0, 5.0, account=1)
    ex.place(m2, 1, "BACK", 2.0, 5.0, account=1)
    ex.place(m1, 2, "BACK", 3.0, 5.0, account=2)
    ex.place(m1, 2, "LAY", 3.0, 5.0, account=3)  # fills order 3 completely
    ex.send({"CANCEL_ORDER": {"market_id": m1, "order_id": 1, "account_id": 1}})
    p = ex.projection
    ids = lambda body: [o["order_id"] for o in body["orders"]]  # noqa: E731
    assert ids(render.orders(p)) == [4, 3, 2, 1]
    assert ids(render.orders(p, market_id=m1)) == [4, 3, 1]
    assert ids(render.orders(p, account_id="1")) == [2, 1]
    assert ids(render.orders(p, account_id=1, market_id=m2)) == [2]
    assert ids(render.orders(p, status="open")) == [2]
    assert ids(render.orders(p, status="complete", limit=2)) == [4, 3]
    assert ids(render.completed_orders(p)) == [1, 3, 4]  # most recently completed first
    assert ids(render.completed_orders(p, account_id=1)) == [1]
    with pytest.raises(ValueError):
        render.orders(p, status="pending")
    with pytest.raises(ValueError):
        render.orders(p, account_id="seven")
    assert render.risk(p, market_id=99) is None
    assert render.snapshot(p, 99) is None
    assert p.default_market_id() == m1
    assert p.market_count() == 2
    assert p.model_of(m2) == "EXCHANGE_ODDS" and p.model_of(99) is None


def test_change_counter_moves_only_with_its_market(ex: Exchange) -> None:
    m1 = ex.market()
    m2 = ex.market()
    c1, c2 = ex.projection.change_counter(m1), ex.projection.change_counter(m2)
    ex.place(m2, 1, "BACK", 2.0, 5.0, account=1)
    assert ex.projection.change_counter(m1) == c1
    assert ex.projection.change_counter(m2) != c2
    assert ex.projection.change_counter(99) is None


def test_market_list_rows(ex: Exchange) -> None:
    m = ex.market("TWO_RUNNER", (1, 2), runner_labels=["Home", "Away"], name="A v B")
    assert render.market_list(ex.projection) == [
        {
            "market_id": m,
            "name": "A v B",
            "market_model": "EXCHANGE_ODDS",
            "book_type": "TWO_RUNNER",
            "market_kind": "IN_PLAY_CAPABLE",
            "market_state": "OPEN",
            "market_phase": "PRE",
            "version": 1,
            "runners": [
                {"runner_id": 1, "label": "Home", "status": "ACTIVE"},
                {"runner_id": 2, "label": "Away", "status": "ACTIVE"},
            ],
            "total_matched": 0.0,
        }
    ]


# --- determinism and persistence ------------------------------------------------------------


def random_session(ex: Exchange, seed: int, n: int = 400) -> None:
    rng = random.Random(seed)
    odds = [1.5, 1.8, 2.0, 2.02, 2.5, 3.0, 3.05, 4.0, 5.0]
    markets = [
        ex.market("TWO_RUNNER", (1, 2)),
        ex.market("MULTI_RUNNER", (1, 2, 3)),
        ex.market(None, (1,), model="BINARY_YES"),
    ]
    for i in range(n):
        ex.tick(rng.random())
        k = rng.random()
        m = rng.choice(markets)
        binary = m == markets[2]
        account = rng.randint(1, 5)
        if k < 0.75:
            runner = 1 if binary else rng.choice([1, 2] if m == markets[0] else [1, 2, 3])
            side = rng.choice(["BUY", "SELL"] if binary else ["BACK", "LAY"])
            price = rng.randint(4000, 6000) if binary else rng.choice(odds)
            size = rng.randint(1, 20) if binary else round(rng.uniform(1, 30), 2)
            ex.send(
                {
                    "PLACE_ORDER": {
                        "market_id": m,
                        "runner_id": runner,
                        "side": side,
                        "price": price,
                        "size": size,
                        "account_id": account,
                        "persistence": rng.choice(["LAPSE", "PERSIST"]),
                    }
                }
            )
        elif k < 0.9:
            open_ids = [
                o["order_id"] for o in render.orders(ex.projection, market_id=m, status="open")["orders"]
            ]
            if open_ids:
                oid = rng.choice(open_ids)
                owner = ex.projection.order_table[oid].account_id
                ex.send({"CANCEL_ORDER": {"market_id": m, "order_id": oid, "account_id": owner}})
        elif k < 0.95 and i > n // 2:
            trades = [
                t["trade_id"]
                for t in render.trades(ex.projection, market_id=m, limit=50)["trades"]
                if not t["voided"]
            ]
            if trades:
                ex.send({"VOID_TRADES": {"market_id": m, "trade_ids": [rng.choice(trades)]}})
        else:
            ex.send({"SET_MARKET_STATE": {"market_id": m, "market_state": rng.choice(["SUSPENDED", "OPEN"])}})
    ex.send({"CLOSE_MARKET": {"market_id": markets[0]}})
    ex.send({"SETTLE_MARKET": {"market_id": markets[0], "winner_runner_ids": [2]}})
    ex.send({"CLOSE_MARKET": {"market_id": markets[1]}})
    ex.send({"SETTLE_MARKET": {"market_id": markets[1], "winner_runner_ids": [1, 3]}})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_session_invariants_and_rebuild(ex: Exchange, seed: int) -> None:
    random_session(ex, seed)
    p = ex.projection
    assert p.seq == ex.engine.seq
    # every order: size = matched + remaining + cancelled + lapsed + voided, and agrees with the engine
    for o in p.order_table.values():
        assert o.size == o.matched + o.remaining + o.cancelled + o.lapsed + o.voided
        live = ex.engine.orders.get(o.order_id)
        if live is not None:
            assert (live.matched, live.remaining, live.cancelled, live.lapsed, live.voided) == (
                o.matched,
                o.remaining,
                o.cancelled,
                o.lapsed,
                o.voided,
            )
    # every market, every outcome: P&L over all accounts (house included) is exactly zero
    for mid, accounts in p.risk_table.items():
        for outcome in p.markets[mid].outcomes():
            assert sum(r.exposure.if_win(outcome) for r in accounts.values()) == 0
        settled = [r.settled_pnl for r in accounts.values() if r.settled_pnl is not None]
        if settled:
            assert sum(settled) == 0
    assert any(t.implied for t in p.trade_table.values())
    assert p.voided
    # the ladder the projection serves is the engine's
    loaded = Projection.load(p.dump())  # the ladder is rebuilt from the open orders on load
    for mid in p.markets:
        if mid in ex.engine.tombstones:  # the engine keeps no book of a settled market
            assert all(not backs and not lays for _, backs, lays in p.depth(mid, 350)["runners"])  # type: ignore[index]
            continue
        assert ex.projection.depth(mid, 350) == ex.engine.depth(mid, 350)
        assert loaded.depth(mid, 350) == ex.engine.depth(mid, 350)
    # rebuilt from the event log, in any batching, the projection is byte-identical
    assert ex.rebuilt(batch=1).dump() == p.dump()
    assert ex.rebuilt(batch=1000).dump() == p.dump()


def test_dump_load_round_trip_and_continue(ex: Exchange, tmp_path: Path) -> None:
    random_session(ex, 7, n=200)
    half = len(ex.events) // 2
    first = Projection()
    first.apply_batch(ex.events[:half])
    path = tmp_path / "projection.snap"
    save_projection(first, path)
    assert [p.name for p in tmp_path.iterdir()] == ["projection.snap"]  # no temp file left
    loaded = load_projection(path)
    assert loaded.seq == half
    assert loaded.dump() == first.dump()
    loaded.apply_batch(ex.events[half:])
    assert loaded.dump() == ex.projection.dump()
    assert render.orders(loaded, limit=50) == render.orders(ex.projection, limit=50)
    assert render.risk(loaded) == render.risk(ex.projection)
    assert render.snapshot(loaded, 1, 20) == render.snapshot(ex.projection, 1, 20)


def test_load_file_refuses_missing_damaged_and_foreign(ex: Exchange, tmp_path: Path) -> None:
    random_session(ex, 11, n=50)
    with pytest.raises(FileNotFoundError):
        load_projection(tmp_path / "absent.snap")
    good = ex.projection.dump()
    damaged = tmp_path / "damaged.snap"
    damaged.write_bytes(good[:-20] + bytes(20))
    truncated = tmp_path / "truncated.snap"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.snap"
    garbage.write_bytes(b"\x00not msgpack at all")
    magic, schema, seq, crc, payload = msgpack.unpackb(good)
    foreign = tmp_path / "foreign.snap"
    foreign.write_bytes(msgpack.packb((magic, PROJECTION_SCHEMA + 1, seq, crc, payload)))
    for path in (damaged, truncated, garbage, foreign):
        with pytest.raises(SnapshotDamaged):
            load_projection(path)
        with pytest.raises(ValueError):  # SnapshotDamaged keeps the ValueError base
            Projection.load(path.read_bytes())


def test_seq_gap_is_refused(ex: Exchange) -> None:
    ex.market()
    p = Projection()
    with pytest.raises(ValueError):
        p.apply_batch(ex.events[1:])
    p.apply_batch(ex.events[:1])
    assert p.seq == 1


def test_live_counts(ex: Exchange) -> None:
    m = ex.market()
    ex.place(m, 1, "BACK", 2.5, 10.0, account=1)
    ex.place(m, 1, "LAY", 2.5, 4.0, account=2)
    counts = ex.projection.live_counts()
    assert {
        k: counts[k] for k in ("markets", "orders", "open_orders", "completed_orders", "trades", "accounts")
    } == {
        "markets": 1,
        "orders": 2,
        "open_orders": 1,
        "completed_orders": 1,
        "trades": 1,
        "accounts": 2,
    }
