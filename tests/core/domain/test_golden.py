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

# Deliberate changes since the split, each in its own branch: settled markets leave the engine
# (tombstones: results of late commands, dump v2), MARKET_CREATED gains commission_bps (events;
# the stream without that appended field still hashes as before), orders keep placed_ts and
# markets commission_bps (dump v3, which reads v1 and v2), no marker for a batch that changed
# nothing (events: 12 fewer here).
GOLDEN_STATE_HASH = "f8cc556edc4f587697273c44cf3aebbc3af63ffe3661ffe9aa0158e802b9e18e"
GOLDEN_EVENTS_HASH = "acfdf3c24f435455f9b6aeb807827ce721315fd177db40a66a0001de93dace6a"
GOLDEN_RESULTS_HASH = "cb0dc98341b9c1f693708a952bc36a47244c9b4d5649e3fd94ff03fc9efb22cc"
GOLDEN_EVENT_COUNT = 771
"""Since issue 13 a batch whose commands were all rejected writes no BATCH_PROCESSED: 12 such
batches in this workload, hence 12 events fewer (and other seqs) than the pinned stream before."""

LEGACY_STATE_HASH = "3adce95fe271f5f0aa5d6b8ea5c204dd95a7f315d95633c922582c33721ff79d"
LEGACY_EVENTS_HASH = "be1759bd5e66761491edd637af2d226d4832cb9c13e0288151a99139eaf4bd10"
LEGACY_EVENT_COUNT = 783
"""The stream with a marker after every batch, as WALs were written before issue 13: such a WAL
must still replay to the state it always reached."""


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
