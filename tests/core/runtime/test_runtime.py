"""The runtime: replies only after commit, handlers in order, batches, back-pressure, fail-stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from betex.core.domain.engine import Engine
from betex.core.domain.events import BatchProcessed, Event, OrderAccepted
from betex.core.domain.results import MarketResult, OrderResult, Reject, Result
from betex.core.domain.types import RejectCode
from betex.core.durability import snapshot
from betex.core.durability.journal import Journal, JournalReader
from betex.core.durability.recovery import recover
from betex.core.durability.snapshot import list_snapshots
from betex.core.errors import WalFailure
from betex.core.runtime.loop import Runtime, RuntimeStopped
from betex.core.runtime.metrics import N_BUCKETS, Histogram, bucket_index, bucket_upper
from betex.core.runtime.ring import WAIT_STRATEGIES
from tests.core.workload import market_cmd, order_cmd

SEC = 1_000_000_000


class FakeClockless:
    """Deterministic engine time: one tick per call, so tests can count clock reads."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return 1_700_000_000 * SEC + self.calls


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open_writer(tmp_path)
    yield j
    j.close()


@pytest.fixture(params=WAIT_STRATEGIES)
def runtime(request: pytest.FixtureRequest, journal: Journal) -> Iterator[Runtime]:
    rt = Runtime(Engine(), journal, ring_size=1024, wait_strategy=request.param, max_batch=128)
    rt.start()
    yield rt
    rt.stop(timeout=30)


def wal_events(data_dir: Path) -> list[Event]:
    with JournalReader(data_dir) as r:
        return list(r.iter_events())


def test_replies_are_released_only_after_the_events_are_committed(runtime: Runtime) -> None:
    reader = JournalReader(runtime.journal.data_dir)
    committed_at_reply: dict[int, int] = {}
    all_seen = threading.Event()

    def on_done(fut: Future[Result]) -> None:
        # runs on the releasing thread at the moment the reply is released
        result = fut.result()
        assert isinstance(result, OrderResult)
        committed_at_reply[result.order_id] = reader.last_seq()  # meta: same txn as the events
        if len(committed_at_reply) == 300:
            all_seen.set()

    assert isinstance(runtime.submit_with_response(market_cmd()).result(10), MarketResult)
    for i in range(300):
        runtime.submit_with_response(order_cmd(i, correlation_id=i)).add_done_callback(on_done)
    assert all_seen.wait(30)
    accepted_seq = {e.order_id: e.seq for e in reader.iter_events() if isinstance(e, OrderAccepted)}
    reader.close()
    assert len(committed_at_reply) == 300
    for order_id, last_committed in committed_at_reply.items():
        assert accepted_seq[order_id] <= last_committed


def test_handlers_see_every_event_in_order_and_each_batch_ends_with_batch_processed(runtime: Runtime) -> None:
    batches_a: list[list[Event]] = []
    batches_b: list[list[Event]] = []
    order: list[str] = []
    runtime.add_handler(lambda evs: (batches_a.append(list(evs)), order.append("a")))
    runtime.add_handler(lambda evs: (batches_b.append(list(evs)), order.append("b")))
    runtime.submit_with_response(market_cmd()).result(10)
    n = 2000
    for i in range(n):
        while not runtime.submit(order_cmd(i, correlation_id=i)):
            threading.Event().wait(0.001)
    runtime.submit_with_response(order_cmd(n, correlation_id=n)).result(10)
    assert batches_a == batches_b
    assert order == ["a", "b"] * len(batches_a)
    handled = [e for b in batches_a for e in b]
    assert handled == wal_events(runtime.journal.data_dir)
    assert [e.seq for e in handled] == list(range(1, len(handled) + 1))
    for batch in batches_a:
        assert isinstance(batch[-1], BatchProcessed)
        assert not any(isinstance(e, BatchProcessed) for e in batch[:-1])
        assert len({e.ts for e in batch}) == 1  # one clock read per batch
    assert sum(b[-1].commands for b in batches_a) == n + 2  # type: ignore[union-attr]
    assert max(b[-1].commands for b in batches_a) <= runtime.max_batch  # type: ignore[union-attr]


def test_a_batch_of_rejects_writes_nothing_and_leaves_the_hash(journal: Journal) -> None:
    rt = Runtime(Engine(), journal, ring_size=1024, wait_strategy="blocking-wait", max_batch=128)
    seen: list[list[Event]] = []
    rt.add_handler(lambda evs: seen.append(list(evs)))
    rt.start()
    try:
        assert isinstance(rt.submit_with_response(market_cmd()).result(10), MarketResult)
        before_hash, before_seq, before_bytes = (
            rt.engine.state_hash(),
            journal.last_seq,
            journal.bytes_written,
        )
        for i in range(50):  # market 99 does not exist: every one is rejected
            result = rt.submit_with_response(order_cmd(i)._replace(market_id=99)).result(10)
            assert isinstance(result, Reject)
        assert journal.last_seq == before_seq and journal.bytes_written == before_bytes
        assert rt.engine.state_hash() == before_hash
        assert all(not batch for batch in seen[1:])
    finally:
        rt.stop(timeout=30)
    # Replayed from the WAL, the engine reaches the live hash.
    assert recover(journal.data_dir)[0].state_hash() == before_hash


def test_a_full_ring_answers_overloaded_and_loses_nothing_it_accepted(journal: Journal) -> None:
    rt = Runtime(Engine(), journal, ring_size=8)  # not started: the ring fills up
    assert rt.submit(market_cmd())
    accepted = [rt.submit_with_response(order_cmd(i, correlation_id=i)) for i in range(7)]
    assert rt.submit(order_cmd(7, correlation_id=7)) is False
    over = rt.submit_with_response(order_cmd(8, correlation_id=8))
    assert over.done()
    result = over.result()
    assert isinstance(result, Reject) and result.code == RejectCode.OVERLOADED
    rt.start()
    results = [f.result(10) for f in accepted]
    assert all(isinstance(r, OrderResult) for r in results)
    rt.stop(timeout=30)
    placed = [e for e in wal_events(journal.data_dir) if isinstance(e, OrderAccepted)]
    assert len(placed) == 7
    assert rt.metrics.rejects_by_code()["OVERLOADED"] == 2


def test_submit_many_queues_what_fits_in_order_and_reports_the_rest(journal: Journal) -> None:
    rt = Runtime(Engine(), journal, ring_size=8)  # not started: the ring fills up
    assert rt.submit_many([market_cmd()] + [order_cmd(i, client_ref=f"o{i}") for i in range(4)]) == 5
    assert rt.submit_many([order_cmd(i, client_ref=f"o{i}") for i in range(4, 10)]) == 3
    assert rt.submit_many([order_cmd(99, client_ref="o99")]) == 0
    assert rt.metrics.rejects_by_code()["OVERLOADED"] == 4
    rt.start()
    rt.stop(timeout=30)
    placed = [e.client_ref for e in wal_events(journal.data_dir) if isinstance(e, OrderAccepted)]
    assert placed == [f"o{i}" for i in range(7)]


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_stop_drains_and_commits_everything_already_accepted(journal: Journal, strategy: str) -> None:
    rt = Runtime(Engine(), journal, ring_size=4096, wait_strategy=strategy, max_batch=64)
    rt.start()
    rt.submit(market_cmd())
    futures = [rt.submit_with_response(order_cmd(i, correlation_id=i)) for i in range(3000)]
    rt.stop(timeout=30)
    assert all(f.done() and isinstance(f.result(), OrderResult) for f in futures)
    placed = [e for e in wal_events(journal.data_dir) if isinstance(e, OrderAccepted)]
    assert len(placed) == 3000
    assert not rt.running
    with pytest.raises(RuntimeStopped):
        rt.submit(order_cmd(0, correlation_id=0))
    with pytest.raises(RuntimeStopped):
        rt.submit_with_response(order_cmd(0, correlation_id=0))


def test_stop_without_start_still_processes_what_was_accepted(journal: Journal) -> None:
    rt = Runtime(Engine(), journal)
    rt.submit(market_cmd())
    fut = rt.submit_with_response(order_cmd(0, correlation_id=0))
    rt.stop()
    assert isinstance(fut.result(0), OrderResult)
    assert journal.last_seq > 0


async def test_submit_async_resolves_on_the_callers_loop_after_commit(journal: Journal) -> None:
    rt = Runtime(Engine(), journal)
    rt.start()
    try:
        created = await rt.submit_async(market_cmd())
        assert isinstance(created, MarketResult)
        results = await asyncio.gather(*(rt.submit_async(order_cmd(i, correlation_id=i)) for i in range(500)))
        assert all(isinstance(r, OrderResult) for r in results)
        assert len({r.order_id for r in results}) == 500  # type: ignore[union-attr]
        assert journal.last_seq >= 501
    finally:
        rt.stop(timeout=30)


def test_engine_rejects_are_results_and_are_counted_by_code(journal: Journal) -> None:
    rt = Runtime(Engine(), journal)
    rt.start()
    bad = rt.submit_with_response(order_cmd(0, correlation_id=0)).result(10)  # no market yet
    rt.stop(timeout=30)
    assert isinstance(bad, Reject) and bad.code == RejectCode.INVALID_MARKET
    assert rt.metrics.rejects_by_code() == {"INVALID_MARKET": 1}


def test_one_clock_read_per_batch(journal: Journal) -> None:
    clock = FakeClockless()
    rt = Runtime(Engine(), journal, clock=clock)
    rt.submit(market_cmd())  # a batch of rejects alone would write no events at all
    for i in range(100):
        rt.submit(order_cmd(i, correlation_id=i))  # not started: all 101 land in one batch
    rt.start()
    rt.stop(timeout=30)
    assert clock.calls == rt.metrics.batches == 1
    events = wal_events(journal.data_dir)
    assert {e.ts for e in events} == {1_700_000_000 * SEC + 1}


def test_a_wal_failure_stops_the_engine_and_fails_what_was_not_committed(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    rt = Runtime(Engine(), journal)
    rt.start()
    assert isinstance(rt.submit_with_response(market_cmd()).result(10), MarketResult)
    journal.close()  # the next append cannot be written
    fut = rt.submit_with_response(order_cmd(0, correlation_id=0))
    with pytest.raises(RuntimeStopped) as info:
        fut.result(10)
    assert isinstance(info.value.__cause__, WalFailure)
    rt.stop(timeout=30)
    assert isinstance(rt.failed, WalFailure)
    with pytest.raises(RuntimeStopped, match="engine failed"):
        rt.submit(order_cmd(1, correlation_id=1))
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1 and "fail-stop" in critical[0].getMessage()
    events = wal_events(journal.data_dir)
    assert not any(isinstance(e, OrderAccepted) for e in events)  # never acknowledged, never written


def test_a_snapshot_past_the_end_of_the_wal_is_removed_before_anything_is_appended(tmp_path: Path) -> None:
    with Journal.open_writer(tmp_path) as j:
        rt = Runtime(Engine(), j)
        rt.start()
        rt.submit_with_response(market_cmd()).result(10)
        rt.stop(timeout=30)
        engine = rt.engine
        keep = snapshot.save(engine, tmp_path / "snapshots")
        lost = snapshot.write_snapshot(engine.dump(), j.last_seq + 5, tmp_path / "snapshots")
        Runtime(engine, j, snapshot_dir=tmp_path / "snapshots")
    assert keep.exists() and not lost.exists()


def test_an_exception_on_the_engine_thread_fail_stops_but_keeps_committed_replies(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    reads = iter(range(1_700_000_000 * SEC, 1_700_000_000 * SEC + 1))

    def clock() -> int:  # one good read, then the clock breaks: a fault on the engine thread
        return next(reads)

    rt = Runtime(Engine(), journal, clock=clock)
    first = rt.submit_with_response(market_cmd())
    rt.start()
    assert isinstance(first.result(10), MarketResult)
    doomed = rt.submit_with_response(order_cmd(0, correlation_id=0))
    with pytest.raises(RuntimeStopped) as info:
        doomed.result(10)
    assert isinstance(info.value.__cause__, StopIteration)
    rt.stop(timeout=30)
    assert isinstance(rt.failed, StopIteration)
    with pytest.raises(RuntimeStopped):
        rt.submit(order_cmd(1, correlation_id=1))
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1 and "engine thread" in critical[0].getMessage()
    assert journal.last_seq == 2  # the market and its batch marker, nothing after


def test_a_failing_handler_is_logged_and_counted_but_later_handlers_still_run(journal: Journal) -> None:
    rt = Runtime(Engine(), journal)
    got: list[Sequence[Event]] = []

    def broken(events: Sequence[Event]) -> None:
        raise KeyError("boom")

    rt.add_handler(broken)
    rt.add_handler(got.append)
    rt.start()
    rt.submit_with_response(market_cmd()).result(10)
    rt.stop(timeout=30)
    assert rt.metrics.handler_errors == 1 and len(got) == 1 and rt.failed is None


def test_an_engine_behind_the_wal_is_refused(tmp_path: Path) -> None:
    with Journal.open_writer(tmp_path) as j:
        rt = Runtime(Engine(), j)
        rt.start()
        rt.submit_with_response(market_cmd()).result(10)
        rt.stop(timeout=30)
        with pytest.raises(ValueError, match="recover first"):
            Runtime(Engine(), j)


def test_periodic_snapshots_let_recovery_match_a_full_replay(tmp_path: Path) -> None:
    with Journal.open_writer(tmp_path) as j:
        rt = Runtime(Engine(), j, max_batch=50, snapshot_every=300, snapshot_dir=tmp_path / "snapshots")
        rt.start()
        rt.submit(market_cmd())
        futures = [rt.submit_with_response(order_cmd(i, correlation_id=i)) for i in range(2000)]
        for f in futures:
            f.result(10)
        rt.stop(timeout=30)
        live_hash = rt.engine.state_hash()
    snaps = list_snapshots(tmp_path / "snapshots")
    assert 1 <= len(snaps) <= 3 and rt.metrics.snapshots >= len(snaps)
    from_snapshot, info = recover(tmp_path)
    full, full_info = recover(tmp_path, use_snapshot=False)
    assert info.snapshot_seq == snaps[-1].seq and full_info.snapshot_seq is None
    assert from_snapshot.state_hash() == full.state_hash() == live_hash


def test_metrics_expose_counters_gauges_and_stage_latencies(journal: Journal) -> None:
    rt = Runtime(Engine(), journal)
    rt.start()
    rt.submit(market_cmd())
    for f in [rt.submit_with_response(order_cmd(i, correlation_id=i)) for i in range(100)]:
        f.result(10)
    rt.stop(timeout=30)
    d = rt.metrics.to_dict()
    assert d["counters"]["commands_total"] == 101
    assert d["counters"]["events_total"] == journal.last_seq == d["gauges"]["wal_events"]
    assert d["gauges"]["ring_size"] == 16384 and d["info"]["wait_strategy"] == "blocking-wait"
    assert d["stages"]["ingress_to_engine"]["count"] == 101
    # batches waiting for the WAL thread are committed together (group commit)
    assert d["stages"]["wal_commit"]["count"] == d["gauges"]["wal_commits"] <= d["counters"]["batches"]
    assert 0 < d["stages"]["wal_commit"]["p50_ns"] <= d["stages"]["wal_commit"]["p99_ns"]
    text = rt.metrics.to_prometheus()
    assert "betex_commands_total 101" in text
    assert 'betex_stage_latency_seconds_count{stage="wal_commit"}' in text


def test_histogram_buckets_bound_values_within_a_quarter_and_percentiles_use_them() -> None:
    for ns in [0, 1, 7, 8, 9, 15, 16, 1000, 123_456, 10**9, 2**45]:
        i = bucket_index(ns)
        upper = bucket_upper(i)
        lower = bucket_upper(i - 1) if i else 0
        assert lower <= ns < upper or i == N_BUCKETS - 1
        assert ns < 8 or (upper - lower) <= ns / 4 + 1 or i == N_BUCKETS - 1
    h = Histogram()
    for ns in range(1, 1001):
        h.record(ns * 1000)  # 1 µs .. 1 ms
    assert h.count == 1000 and h.max == 1_000_000
    assert 500_000 <= h.percentile(0.5) <= 500_000 * 1.25
    assert 990_000 <= h.percentile(0.99) <= 1_000_000
    w = Histogram()
    w.record_n(2_000, 3)
    assert (w.count, w.total, w.percentile(0.5)) == (3, 6_000, 2_000)
    assert Histogram().percentile(0.99) == 0


# ---------------------------------------------------------------------------- bet delay ticks


def test_a_delayed_order_matures_without_other_traffic(journal: Journal) -> None:
    """docs/runtime.md "Ticks": with no command after it, a delayed order enters the book at its
    due time through a tick batch (TICK first), and the WAL alone replays to the same state."""
    from betex.core.domain import commands as C
    from betex.core.domain.events import OrderDelayed, Tick, TradeMatched

    rt = Runtime(Engine(), journal, ring_size=64)
    rt.start()
    try:
        create = C.CreateMarket(
            "m", "EXCHANGE_ODDS", "MULTI_RUNNER", "IN_PLAY_CAPABLE", "OPEN", "IN_PLAY", (1, 2), (),
            bet_delay_ms=200,
        )  # fmt: skip
        assert isinstance(rt.submit_with_response(create).result(10), MarketResult)
        lay = rt.submit_with_response(C.PlaceOrder(1, 1, "LAY", 300, 1000, 2)).result(10)
        back = rt.submit_with_response(C.PlaceOrder(1, 1, "BACK", 300, 1000, 1)).result(10)
        assert isinstance(lay, OrderResult) and isinstance(back, OrderResult)
        assert (lay.status, back.status) == ("DELAYED", "DELAYED")
        pause = threading.Event()  # never set: a sleep
        for _ in range(100):  # up to 5 s; the tick is due 0.2 s after acceptance
            if not rt.engine.delayed.entries and rt.journal.last_seq == rt.engine.seq:
                break
            pause.wait(0.05)
        events = wal_events(journal.data_dir)
        dues = sorted(e.due_ts for e in events if isinstance(e, OrderDelayed))
        after = [e for e in events if e.seq > max(e.seq for e in events if isinstance(e, OrderDelayed))]
        kinds = [type(e).__name__ for e in after if not isinstance(e, BatchProcessed)]
        assert kinds in (  # one tick per due time, or one for both when the engine was late
            ["Tick", "OrderMatured", "Tick", "OrderMatured", "TradeMatched"],
            ["Tick", "OrderMatured", "OrderMatured", "TradeMatched"],
        ), kinds
        ticks = [e for e in after if isinstance(e, Tick)]
        assert ticks[0].ts >= dues[0] and ticks[-1].ts >= dues[-1]
        assert [e.taker_order_id for e in events if isinstance(e, TradeMatched)] == [back.order_id]
    finally:
        rt.stop(timeout=30)
    assert recover(journal.data_dir)[0].state_hash() == rt.engine.state_hash()
