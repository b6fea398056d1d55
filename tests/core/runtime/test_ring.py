"""The ingress ring: power-of-two sizes, back-pressure instead of blocking, FIFO, every wait strategy."""

from __future__ import annotations

import threading
import time

import pytest

from betex.core.runtime.ring import WAIT_STRATEGIES, WAIT_STRATEGY_COSTS, Ring, RingClosed


@pytest.mark.parametrize("size", [0, 1, 3, 6, 1000, 16383, -4])
def test_a_size_that_is_not_a_power_of_two_is_refused_with_a_clear_message(size: int) -> None:
    with pytest.raises(ValueError, match=f"ring size must be a power of two >= 2 .*got {size}"):
        Ring(size)


@pytest.mark.parametrize("size", [2.0, True, "16"])
def test_a_size_that_is_not_an_int_is_refused(size: object) -> None:
    with pytest.raises(ValueError, match="power of two"):
        Ring(size)  # type: ignore[arg-type]


def test_an_unknown_wait_strategy_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="blocking-wait, sleeping, yielding, busy-spin"):
        Ring(16, "spinny")


def test_every_strategy_documents_its_cost() -> None:
    assert set(WAIT_STRATEGY_COSTS) == set(WAIT_STRATEGIES)


def test_a_full_ring_refuses_without_blocking_and_counts_the_refusal() -> None:
    ring: Ring[int] = Ring(4)
    assert all(ring.try_publish(i) for i in range(4))
    t0 = time.perf_counter()
    assert ring.try_publish(99) is False
    assert time.perf_counter() - t0 < 0.05
    assert ring.rejected == 1 and ring.depth == 4
    assert ring.drain(10) == [0, 1, 2, 3]
    assert ring.try_publish(4) is True


def test_publish_many_takes_what_fits_in_order_under_one_call() -> None:
    ring: Ring[int] = Ring(8)
    assert ring.try_publish_many([0, 1, 2]) == 3
    assert ring.try_publish_many(list(range(3, 10))) == 5
    assert ring.try_publish_many([10]) == 0
    assert ring.rejected == 3
    assert ring.drain(100) == list(range(8))
    ring.close()
    with pytest.raises(RingClosed):
        ring.try_publish_many([1])


def test_drain_is_fifo_and_takes_at_most_max_n() -> None:
    ring: Ring[int] = Ring(64)
    for i in range(50):
        ring.try_publish(i)
    assert ring.drain(20) == list(range(20))
    assert ring.drain(20) == list(range(20, 40))
    assert ring.drain(20) == list(range(40, 50))
    assert ring.drain(20) == []


def test_a_closed_ring_refuses_publishes_but_keeps_what_it_accepted() -> None:
    ring: Ring[int] = Ring(8)
    ring.try_publish(1)
    ring.close()
    with pytest.raises(RingClosed):
        ring.try_publish(2)
    assert ring.wait(1.0) is True
    assert ring.drain(8) == [1]
    assert ring.wait(1.0) is False  # closed and empty: returns at once


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_wait_times_out_on_an_empty_ring(strategy: str) -> None:
    ring: Ring[int] = Ring(8, strategy)
    t0 = time.perf_counter()
    assert ring.wait(0.05) is False
    assert 0.04 <= time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_wake_interrupts_a_waiting_consumer(strategy: str) -> None:
    ring: Ring[int] = Ring(8, strategy)
    threading.Timer(0.05, ring.wake).start()
    t0 = time.perf_counter()
    assert ring.wait(10.0) is False
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_every_strategy_delivers_everything_from_many_producers_in_per_producer_order(strategy: str) -> None:
    producers, per_producer = 3, 5000
    ring: Ring[tuple[int, int]] = Ring(256, strategy)
    got: list[tuple[int, int]] = []
    total = producers * per_producer

    def consume() -> None:
        while len(got) < total:
            if ring.wait(0.5):
                got.extend(ring.drain(64))

    def produce(p: int) -> None:
        for i in range(per_producer):
            while not ring.try_publish((p, i)):
                time.sleep(0)  # full: back off and retry, as a client would after OVERLOADED

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    consumer.join(60)
    assert not consumer.is_alive()
    assert len(got) == total
    for p in range(producers):
        assert [i for q, i in got if q == p] == list(range(per_producer))
    assert ring.depth == 0
