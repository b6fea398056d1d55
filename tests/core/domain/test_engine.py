"""Determinism and snapshots (the WAL encoding is tested in tests/core/durability/test_codec.py)."""

import pytest

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.results import Reject
from betex.core.domain.types import RejectCode
from tests.core.harness import Harness


def busy_harness() -> Harness:
    h = Harness()
    m = h.market()
    t = h.market("TWO_RUNNER", (1, 2))
    b = h.binary()
    h.place(m, 1, "LAY", 2.5, 30, account=2, client_ref="r1")
    h.place(m, 1, "BACK", 2.5, 10, account=1)
    h.place(t, 2, "BACK", 1.45, 10.01, account=3)
    h.place(t, 1, "BACK", 3.2, 20, account=4, persistence="PERSIST")
    h.place(b, 1, "SELL", 4500, 10, account=5)
    h.place(b, 1, "BUY", 4600, 15, account=6)
    h.run(C.SetAccountLimit(2, 10_000))
    h.run(C.CancelOrder(m, 1, 2, 500))
    h.run(C.AwaitLiveMarket(t))
    h.run(C.GoLiveMarket(t))
    h.run(C.VoidTrades(m, (1,)))
    return h


def test_replaying_events_rebuilds_the_same_state_hash() -> None:
    h = busy_harness()
    assert h.replay_hash() == h.engine.state_hash()


def test_dump_and_load_round_trip_to_the_same_hash_and_behaviour() -> None:
    h = busy_harness()
    clone = Engine.load(h.engine.dump())
    assert clone.state_hash() == h.engine.state_hash()
    for eng in (h.engine, clone):
        eng.begin_batch(h.ts)
        eng.execute(C.PlaceOrder(1, 1, "BACK", 250, 2000, 7))
    assert clone.take_events() == h.engine.take_events()
    assert clone.state_hash() == h.engine.state_hash()


def test_replay_refuses_a_gap_in_seq() -> None:
    h = busy_harness()
    fresh = Engine()
    fresh.apply(h.events[0])
    with pytest.raises(ValueError):
        fresh.apply(h.events[2])


@pytest.mark.parametrize(
    "cmd",
    [
        C.PlaceOrder(1, 1, "BACK", 250, -5, 1),
        C.PlaceOrder(1, 1, "BACK", 251, 1000, 1),
        C.PlaceOrder(99, 1, "BACK", 250, 1000, 1),
        C.PlaceOrder(1, 1, "BACK", 250, 99, 1),
        C.PlaceOrder(1, 1, "back", 250, 1000, 1),
        C.PlaceOrder(1, 9, "BACK", 250, 1000, 1),
        C.PlaceOrder(1, 1, "BACK", 250, 1000, 0),
        C.PlaceOrder(1, 1, "BACK", 250, 1000, 1, client_ref="x" * 33),
        C.PlaceOrder(1, 1, "BACK", 250, 1000, 1, min_fill_size=2000),
        C.CancelOrder(1, 999, 1),
        C.ReplaceOrder(1, 999, 1, 260),
        C.SettleMarket(1, (9,)),
        C.VoidTrades(1, (12345,)),
        C.SetMarketState(1, "NOPE"),
        C.SetAccountLimit(1, -1),
        "not a command",
        None,
    ],
)
def test_malformed_commands_get_typed_rejects_and_change_nothing(cmd: object) -> None:
    """Value-level faults of well-typed commands (field types are the parse layer's to check)."""
    h = busy_harness()
    before = h.engine.state_hash()
    h.engine.begin_batch(h.ts)
    r = h.engine.execute(cmd)
    assert isinstance(r, Reject) and r.code in set(RejectCode)
    assert h.engine.take_events() == []
    assert h.engine.state_hash() == before
