"""Golden test: a fixed workload over every book type must give the same state and events forever.

The constants were taken from the engine before it was split into modules and compiled with
mypyc; the refactors and both builds (compiled and `BETEX_PURE_PYTHON=1`) must reproduce them
byte for byte. A deliberate change of behaviour or of the dump format updates them, in its own
commit that says why.
"""

from __future__ import annotations

import hashlib
import random

import msgpack

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.events import BatchProcessed, Event
from betex.core.domain.ladder import TICKS
from betex.core.domain.results import OrderResult, Result
from tests.core.workload import market_cmd, order_cmd

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC

GOLDEN_STATE_HASH = "6b9bca25844e6f4d16dd9709ee618f15f32ba29e0719ddaba6e7fee85ac64145"
GOLDEN_EVENTS_HASH = "ad3de84aade373f684ace0b74dd701bff58a35bb67321073b727abfb9a2b0b31"
GOLDEN_RESULTS_HASH = "1dcba620475b3bcad0fd9bf68a6c66c0f74bc79e6286987821b9ca23aa0b4db6"
GOLDEN_EVENT_COUNT = 771
"""Since issue 13 a batch whose commands were all rejected writes no BATCH_PROCESSED: 12 such
batches in this workload, hence 12 events fewer (and other seqs) than the pinned stream before."""

LEGACY_STATE_HASH = "5d44fbcec0a5c8e7b17290217a6c96e1abc8942b6a5912ea378cdbb83791b00f"
LEGACY_EVENTS_HASH = "3e6c2c122e99395194d8afb560def7c981afc768788c742fd78d929571a38391"
LEGACY_EVENT_COUNT = 783
"""The stream before issue 13, with a marker after every batch: an old WAL must replay to its
old hash."""


def _markets() -> list[C.CreateMarket]:
    return [
        market_cmd(),  # 1: MULTI_RUNNER (1, 2, 3)
        C.CreateMarket(
            "t", "EXCHANGE_ODDS", "TWO_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "PRE", (1, 2), ("A", "B")
        ),
        C.CreateMarket("y", "BINARY_YES", None, "PRE_ONLY", "OPEN", "PRE", (7,), ("YES",)),
        C.CreateMarket("x", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (4, 5), ()),
    ]


def _place(rng: random.Random, market: int) -> C.PlaceOrder:
    acct = rng.randint(1, 12)
    persistence = "PERSIST" if rng.random() < 0.3 else "LAPSE"
    tif, min_fill = ("FILL_OR_KILL", rng.choice((0, 100))) if rng.random() < 0.1 else ("GTC", 0)
    ref = f"r{rng.randrange(40)}" if rng.random() < 0.1 else ""
    if market == 3:
        price = rng.randint(4000, 6000) // 50 * 50
        side = rng.choice(("BUY", "SELL"))
        return C.PlaceOrder(
            3, 7, side, price, rng.randint(1, 40), acct, persistence, tif, min(min_fill, 1), ref
        )
    runners = (1, 2, 3) if market == 1 else (1, 2) if market == 2 else (4, 5)
    runner = rng.choice(runners)
    side = rng.choice(("BACK", "LAY"))
    centre = 140 + 15 * runners.index(runner)
    price = TICKS[centre + rng.randint(-4, 4)]
    return C.PlaceOrder(market, runner, side, price, rng.randint(1, 60) * 100 + rng.choice((0, 1, 33)), acct,
                        persistence, tif, min_fill, ref)  # fmt: skip


def golden_run(legacy: bool = False) -> tuple[Engine, list[Event], list[Result]]:
    """The workload: markets of every book type, a seeded mix of places, cancels, replaces and
    cancel-alls, liability limits, the in-play lifecycle, trade voids, settlement and a void."""
    eng = Engine()
    events: list[Event] = []
    results: list[Result] = []
    rng = random.Random(20261202)
    live: list[tuple[int, int, int]] = []
    ts = T0

    def run(cmds: list[object]) -> None:
        nonlocal ts
        ts += rng.choice((1, 1000, SEC, 61 * SEC))
        eng.begin_batch(ts)
        for cmd in cmds:
            r = eng.execute(cmd)
            results.append(r)
            if isinstance(r, OrderResult) and r.size_remaining:
                acct = cmd.account_id if isinstance(cmd, (C.PlaceOrder, C.ReplaceOrder)) else 0
                live.append((r.market_id, r.replacement_order_id or r.order_id, acct))
        got = eng.end_batch(len(cmds))
        if legacy and not got:  # what the engine wrote before issue 13: a marker for every batch
            got = [BatchProcessed(eng.seq + 1, ts, 0, len(cmds))]
            eng.apply(got[0])
        events.extend(got)

    run(list(_markets()))
    run([C.SetAccountLimit(3, 50_000), C.SetAccountLimit(4, 2_000)])
    run([order_cmd(i, client_ref=f"w{i}" if i % 7 == 0 else "") for i in range(60)])
    for step in range(120):
        batch: list[object] = []
        for _ in range(rng.randint(1, 8)):
            x = rng.random()
            if x < 0.6 or not live:
                batch.append(_place(rng, rng.choice((1, 1, 2, 2, 3, 4))))
            elif x < 0.8:
                mid, oid, acct = live.pop(rng.randrange(len(live)))
                batch.append(C.CancelOrder(mid, oid, acct, rng.choice((0, 0, 100))))
            elif x < 0.93:
                mid, oid, acct = live.pop(rng.randrange(len(live)))
                if mid == 3:
                    batch.append(C.ReplaceOrder(mid, oid, acct, rng.randint(40, 60) * 100))
                else:
                    batch.append(C.ReplaceOrder(mid, oid, acct, TICKS[140 + rng.randint(-4, 20)]))
            else:
                batch.append(C.CancelAll(rng.choice((1, 2, 3, 4)), rng.randint(1, 12)))
        if step == 30:
            batch += [C.AwaitLiveMarket(2), C.GoLiveMarket(2)]
        if step == 50:
            batch += [C.SetMarketState(1, "SUSPENDED"), C.SetMarketState(1, "OPEN")]
        if step == 60:
            batch += [C.VoidTrades(1, (1, 2, 3)), C.SetAccountLimit(3, 0)]
        if step == 70:
            batch += [C.SetMarketState(2, "SUSPENDED"), C.VoidTrades(2, after_ts=ts - 20 * SEC)]
        if step == 80:
            batch += [C.AddRunners(1, (9,), ("Late",)), C.SetAccountLimit(5, 10_000)]
        if step == 90:
            batch += [C.CloseMarket(4), C.SettleMarket(4, (4,))]
        if step == 100:
            batch += [C.CloseMarket(3), C.SettleMarket(3, ())]
        if step == 110:
            batch += [C.VoidMarket(2)]
        run(batch)
    return eng, events, results


def stream_hash(items: list[Event] | list[Result]) -> str:
    """SHA-256 over each item's msgpack encoding, tagged with its type (events as the WAL's
    payload is packed: the positional tuple; results with their rejects' codes and messages)."""
    h = hashlib.sha256()
    for x in items:
        h.update(msgpack.packb((type(x).__name__, x)))
    return h.hexdigest()


def test_golden_workload_reproduces_the_pinned_state_and_events() -> None:
    eng, events, results = golden_run()
    assert len(events) == GOLDEN_EVENT_COUNT
    assert stream_hash(events) == GOLDEN_EVENTS_HASH
    assert stream_hash(results) == GOLDEN_RESULTS_HASH
    assert eng.state_hash() == GOLDEN_STATE_HASH


def test_golden_events_replay_and_reload_to_the_same_hash() -> None:
    eng, events, _ = golden_run()
    fresh = Engine()
    for ev in events:
        fresh.apply(ev)
    assert fresh.state_hash() == GOLDEN_STATE_HASH
    assert Engine.load(eng.dump()).state_hash() == GOLDEN_STATE_HASH


def test_an_old_wal_with_markers_for_rejected_batches_replays_to_its_old_hash() -> None:
    _eng, events, results = golden_run(legacy=True)
    assert len(events) == LEGACY_EVENT_COUNT
    assert stream_hash(events) == LEGACY_EVENTS_HASH
    assert stream_hash(results) == GOLDEN_RESULTS_HASH
    fresh = Engine()
    for ev in events:
        fresh.apply(ev)
    assert fresh.state_hash() == LEGACY_STATE_HASH
