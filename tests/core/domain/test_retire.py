"""Settled and voided markets leave the engine: a tombstone answers late commands (docs/engine.md).

The engine's memory and its snapshots follow the open orders, not the history; replay and the
live engine agree on the state hash; a version 1 snapshot (settled markets kept as emptied
definitions) still loads to the same state.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.market import Tombstone
from betex.core.domain.results import Ack, MarketResult, Reject
from betex.core.domain.types import RejectCode
from tests.core.harness import Harness

R = RejectCode


def _traded_market(h: Harness, orders: int = 20, limit_account: bool = True, refs: bool = True) -> int:
    """A market with matched and resting orders, accounts 1 and 2 (account 1 with a limit).
    `refs`: account 2 sends client_refs (the engine keeps them 60 s, whatever the market)."""
    if limit_account:
        assert isinstance(h.run(C.SetAccountLimit(1, 10_000_000)), Ack)
    m = h.market()
    for i in range(orders):
        h.place(m, 1, "LAY", 3.0, 10, account=2, client_ref=f"l{m}-{i}" if refs else "")
        h.place(m, 1, "BACK", 3.0, 5, account=1)
        h.place(m, 2, "BACK", 4.0 + i / 10, 7, account=1)
    return m


def _settled(h: Harness, m: int) -> None:
    assert isinstance(h.run(C.CloseMarket(m)), MarketResult)
    assert isinstance(h.run(C.SettleMarket(m, (1,))), MarketResult)


def test_a_settled_market_leaves_only_a_tombstone() -> None:
    h = Harness()
    m = _traded_market(h)
    other = _traded_market(h)
    assert h.engine.exposure(m, 1) is not None
    _settled(h, m)
    e = h.engine
    assert m not in e.markets and other in e.markets
    assert e.tombstones[m] == Tombstone(m, "SETTLED", "PRE", "IN_PLAY_CAPABLE", 3)
    assert not any(o.market_id == m for o in e.orders.values())
    assert e.exposure(m, 1) is None and e.exposure(other, 1) is not None
    assert h.replay_hash() == e.state_hash()


def test_a_voided_market_leaves_only_a_tombstone() -> None:
    h = Harness()
    m = _traded_market(h)
    assert isinstance(h.run(C.VoidMarket(m)), MarketResult)
    e = h.engine
    assert e.markets == {} and e.orders == {} and e.tombstones[m].state == "VOIDED"
    assert h.replay_hash() == e.state_hash()


def test_snapshot_size_does_not_grow_with_settled_history() -> None:
    small, big = Harness(), Harness()
    _settled(small, _traded_market(small, orders=2, refs=False))
    _settled(big, _traded_market(big, orders=300, refs=False))
    assert len(big.engine.dump()) - len(small.engine.dump()) < 16  # larger next ids, not orders
    live = _traded_market(big, orders=300, refs=False)
    assert len(big.engine.dump()) > len(small.engine.dump()) + 300 * 3 * 10  # live orders are kept
    assert live in Engine.load(big.engine.dump()).markets


LATE: list[tuple[Any, set[str]]] = [
    (C.PlaceOrder(1, 1, "BACK", 300, 1000, 1), {R.MARKET_NOT_OPEN}),
    (C.CancelOrder(1, 1, 1), {R.MARKET_NOT_OPEN}),
    (C.CancelAll(1, 1), {R.MARKET_NOT_OPEN}),
    (C.ReplaceOrder(1, 1, 320, 1), {R.MARKET_NOT_OPEN}),
    (C.SetMarketState(1, "OPEN"), {R.INVALID_TRANSITION}),
    (C.SetMarketState(1, "nonsense"), {R.BAD_REQUEST}),
    (C.AwaitLiveMarket(1), {R.INVALID_TRANSITION}),
    (C.GoLiveMarket(1), {R.INVALID_TRANSITION}),
    (C.CloseMarket(1), {R.INVALID_TRANSITION}),
    (C.VoidMarket(1), {R.INVALID_TRANSITION}),
    (C.SettleMarket(1, (1,)), {R.INVALID_TRANSITION}),
    (C.AddRunners(1, (9,), ("x",)), {R.INVALID_TRANSITION}),
    (C.VoidTrades(1, (1,)), {R.INVALID_TRANSITION}),
]


@pytest.mark.parametrize("final", ["SETTLED", "VOIDED"])
@pytest.mark.parametrize(("cmd", "codes"), LATE, ids=[type(c).__name__ for c, _ in LATE])
def test_late_commands_get_the_documented_reject(final: str, cmd: Any, codes: set[str]) -> None:
    h = Harness()
    m = _traded_market(h, orders=2)
    assert m == 1
    if final == "SETTLED":
        _settled(h, m)
    else:
        assert isinstance(h.run(C.VoidMarket(m)), MarketResult)
    n = len(h.events)
    r = h.run(cmd)
    assert isinstance(r, Reject) and r.code in codes, r
    assert h.events[n:] == []  # nothing happened: a batch of rejects writes no marker either
    assert h.engine.tombstones[m].state == final and m not in h.engine.markets
    assert Engine.load(h.engine.dump()).execute(cmd) == r  # a restarted engine answers the same


def test_unknown_market_is_still_invalid_market() -> None:
    h = Harness()
    _settled(h, _traded_market(h, orders=1))
    r = h.run(C.PlaceOrder(99, 1, "BACK", 300, 1000, 1))
    assert isinstance(r, Reject) and r.code == R.INVALID_MARKET


def _as_version_1(eng: Engine) -> bytes:
    """The dump layout before markets were retired: settled markets as emptied definitions."""
    state = list(msgpack.unpackb(eng.dump(), use_list=True, strict_map_key=False))
    tombstones = state.pop()
    markets = state[6]
    for mid, st, ph, kind, ver in tombstones:
        markets.append([mid, "m", "EXCHANGE_ODDS", "MULTI_RUNNER", kind, st, ph, ver, [1, 2, 3],
                        ["", "", ""], [1], [[r, [], []] for r in (1, 2, 3)], [], []])  # fmt: skip
    markets.sort(key=lambda row: row[0])
    state[0] = 1
    out: bytes = msgpack.packb(state)
    return out


def test_a_version_1_snapshot_loads_to_the_same_state() -> None:
    h = Harness()
    _settled(h, _traded_market(h, orders=5))
    _traded_market(h, orders=5)
    old = _as_version_1(h.engine)
    loaded = Engine.load(old)
    assert loaded.state_hash() == h.engine.state_hash() == h.replay_hash()


def test_an_unknown_snapshot_version_is_refused() -> None:
    h = Harness()
    _traded_market(h, orders=1)
    state = list(msgpack.unpackb(h.engine.dump(), use_list=True, strict_map_key=False))
    state[0] = 99
    with pytest.raises(ValueError, match="version 99"):
        Engine.load(msgpack.packb(state))
