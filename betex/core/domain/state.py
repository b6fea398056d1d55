"""The engine's state as bytes: a canonical dump (snapshots), its inverse, and the state hash.

`dump` is deterministic: the same state gives the same bytes in every build (compiled or pure
Python), so two replicas, or a replay and the live engine, compare by `state_hash`. The layout
is versioned by `DUMP_VERSION`; derived indexes (per-account orders, exposure) are not stored
but rebuilt on load.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Protocol

import msgpack

from betex.core.domain.book.levels import Order
from betex.core.domain.events import Leg, TradeMatched
from betex.core.domain.market import Market
from betex.core.domain.risk import RiskBook
from betex.core.domain.validate import RecentRefs

DUMP_VERSION: Final = 1


class EngineState(Protocol):
    """What of the engine is state (the engine itself; a protocol keeps the imports one-way)."""

    seq: int
    ts: int
    next_market_id: int
    next_order_id: int
    next_trade_id: int
    markets: dict[int, Market]
    orders: dict[int, Order]
    refs: RecentRefs
    risk: RiskBook
    accounts: dict[int, str]
    next_account_id: int
    keys: dict[int, tuple[int, str, bool]]
    next_key_id: int


def dump(eng: EngineState) -> bytes:
    """Canonical msgpack encoding of the whole state (deterministic: same state, same bytes)."""
    markets: list[Any] = []
    for mid in sorted(eng.markets):
        m = eng.markets[mid]
        books = [(r, m.books[r].backs.dump(), m.books[r].lays.dump()) for r in m.runner_ids]
        trades = [tuple(m.trades[t]) for t in sorted(m.trades)]
        markets.append(
            (
                mid,
                m.name,
                m.model,
                m.book_type,
                m.kind,
                m.state,
                m.phase,
                m.version,
                m.runner_ids,
                m.runner_labels,
                m.winners,
                books,
                trades,
                sorted(m.voided_trades),
            )
        )
    state: tuple[Any, ...] = (
        DUMP_VERSION,
        eng.seq,
        eng.ts,
        eng.next_market_id,
        eng.next_order_id,
        eng.next_trade_id,
        markets,
        [eng.orders[o].to_row() for o in sorted(eng.orders)],
        sorted((ts, a, r) for (a, r), ts in eng.refs.last.items()),
        sorted(eng.risk.limits.items()),
    )
    if eng.accounts or eng.keys:
        # Appended only when there are any, so a state without accounts dumps (and hashes)
        # exactly as before accounts existed: old WALs replay to their old hashes.
        accounts = sorted(eng.accounts.items())
        keys = [(k, *eng.keys[k]) for k in sorted(eng.keys)]
        state = (*state, (eng.next_account_id, accounts, eng.next_key_id, keys))
    out: bytes = msgpack.packb(state)
    return out


def restore(eng: EngineState, data: bytes) -> None:
    """Fill a fresh engine from `dump()` bytes; raises ValueError on another DUMP_VERSION."""
    state = msgpack.unpackb(data, use_list=False, strict_map_key=False)
    version, seq, ts, next_mid, next_oid, next_tid, markets, orders, refs, limits = state[:10]
    if version != DUMP_VERSION:
        raise ValueError(f"engine snapshot version {version}, expected {DUMP_VERSION}")
    eng.seq, eng.ts = seq, ts
    eng.next_market_id, eng.next_order_id, eng.next_trade_id = next_mid, next_oid, next_tid
    for row in orders:
        o = Order.from_row(row)
        eng.orders[o.order_id] = o
    for mid, name, model, bt, kind, st, ph, ver, rids, labels, winners, books, trades, voided in markets:
        m = Market(mid, name, model, bt, kind, st, ph, list(rids), list(labels))
        m.version = ver
        m.winners = tuple(winners)
        for r, backs, lays in books:
            for side, levels in ((m.books[r].backs, backs), (m.books[r].lays, lays)):
                for _price, ids in levels:
                    for oid in ids:
                        side.add(eng.orders[oid])
        for t in trades:
            ev = TradeMatched._make((*t[:14], tuple(Leg(*leg) for leg in t[14]), t[15]))
            m.trades[ev.trade_id] = ev
        m.voided_trades = set(voided)
        eng.markets[mid] = m
    for oid in sorted(eng.orders):  # the per-account index, oldest first, as live
        o = eng.orders[oid]
        if o.remaining:
            eng.markets[o.market_id].by_account.setdefault(o.account_id, {})[o] = None
    for ts_, a, r in refs:
        eng.refs.last[(a, r)] = ts_
        eng.refs.queue.append((ts_, a, r))
    for a, lim in limits:
        eng.risk.set_limit(a, lim, eng.markets)
    if len(state) > 10:
        next_account_id, accounts, next_key_id, keys = state[10]
        eng.next_account_id, eng.next_key_id = next_account_id, next_key_id
        eng.accounts.update(accounts)
        for key_id, account_id, key_hash, revoked in keys:
            eng.keys[key_id] = (account_id, key_hash, revoked)


def state_hash(eng: EngineState) -> str:
    return hashlib.sha256(dump(eng)).hexdigest()
