"""The engine's state as bytes: a canonical dump (snapshots), its inverse, and the state hash.

`dump` is deterministic: the same state gives the same bytes in every build (compiled or pure
Python), so two replicas, or a replay and the live engine, compare by `state_hash`. The layout
is versioned by `DUMP_VERSION`; derived indexes (per-account orders, exposure) are not stored
but rebuilt on load. Only live state is stored (version 2): open markets with their orders and
trades, and one small tombstone per settled or voided market, so a snapshot's size follows the
open orders, not the history. Version 1 snapshots (settled markets as emptied definitions) are
still read.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Protocol

import msgpack

from betex.core.domain.book.levels import Order
from betex.core.domain.delaybook import DelayBook, Delayed
from betex.core.domain.events import Leg, TradeMatched
from betex.core.domain.market import Market, Tombstone
from betex.core.domain.risk import RiskBook
from betex.core.domain.validate import RecentRefs

DUMP_VERSION: Final = 3
EXTENDED_DUMP_VERSION: Final = 4
READABLE_VERSIONS: Final = (1, 2, 3, 4)
"""2: settled and voided markets are tombstones (the state's 11th element). 3: also orders carry
`placed_ts` and markets `commission_bps` (appended to their rows), and accounts with their key
hashes follow as a 12th element once any exist (so a state without accounts hashes as before
accounts existed). Versions 1 and 2 still load: 0 for both new fields, and a version 1 settled
market becomes a tombstone.
4 (in-play bet delay, delay.py; runner removal, removal.py): written only when a live market has
a `bet_delay_ms` or a removed runner, or delayed orders are pending. Such a market's row appends
its `bet_delay_ms` (16th element) and, if it has removed runners, (removed runner → factor,
reduced trade → original price) as a 17th; pending delayed orders are a 13th element of the
state, after a 12th that is then always present. Any other state still dumps as version 3, byte
for byte, so old WALs keep their hashes, and a reader that knows only version 3 refuses a state
it would misread."""


class EngineState(Protocol):
    """What of the engine is state (the engine itself; a protocol keeps the imports one-way)."""

    seq: int
    ts: int
    next_market_id: int
    next_order_id: int
    next_trade_id: int
    markets: dict[int, Market]
    tombstones: dict[int, Tombstone]
    orders: dict[int, Order]
    refs: RecentRefs
    risk: RiskBook
    accounts: dict[int, str]
    next_account_id: int
    keys: dict[int, tuple[int, str, bool]]
    next_key_id: int
    delayed: DelayBook


def dump(eng: EngineState) -> bytes:
    """Canonical msgpack encoding of the whole state (deterministic: same state, same bytes)."""
    markets: list[Any] = []
    v4 = bool(eng.delayed.entries)  # version 4: a bet delay or a runner removal anywhere
    for mid in sorted(eng.markets):
        m = eng.markets[mid]
        books = [(r, m.books[r].backs.dump(), m.books[r].lays.dump()) for r in m.runner_ids]
        trades = [tuple(m.trades[t]) for t in sorted(m.trades)]
        row: tuple[Any, ...] = (
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
            m.commission_bps,
        )
        if m.bet_delay_ms or m.removed:  # version 4 only then, so other states hash as before
            v4 = True
            row = (*row, m.bet_delay_ms)
            if m.removed:
                row = (*row, (sorted(m.removed.items()), sorted(m.original_prices.items())))
        markets.append(row)
    state: tuple[Any, ...] = (
        EXTENDED_DUMP_VERSION if v4 else DUMP_VERSION,
        eng.seq,
        eng.ts,
        eng.next_market_id,
        eng.next_order_id,
        eng.next_trade_id,
        markets,
        [eng.orders[o].to_row() for o in sorted(eng.orders)],
        sorted((ts, a, r) for (a, r), ts in eng.refs.last.items()),
        sorted(eng.risk.limits.items()),
        [tuple(eng.tombstones[mid]) for mid in sorted(eng.tombstones)],
    )
    if eng.accounts or eng.keys or v4:
        # Appended only when there are any, so a state without accounts dumps (and hashes)
        # exactly as before accounts existed: old WALs replay to their old hashes.
        accounts = sorted(eng.accounts.items())
        keys = [(k, *eng.keys[k]) for k in sorted(eng.keys)]
        state = (*state, (eng.next_account_id, accounts, eng.next_key_id, keys))
    if v4:
        state = (*state, eng.delayed.rows())
    out: bytes = msgpack.packb(state)
    return out


def restore(eng: EngineState, data: bytes) -> None:
    """Fill a fresh engine from `dump()` bytes (any of READABLE_VERSIONS); ValueError on another."""
    state = msgpack.unpackb(data, use_list=False, strict_map_key=False)
    version = state[0] if state else None
    if version not in READABLE_VERSIONS:
        raise ValueError(f"engine snapshot version {version}, expected one of {READABLE_VERSIONS}")
    _, seq, ts, next_mid, next_oid, next_tid, markets, orders, refs, limits = state[:10]
    for row in state[10] if version >= 2 else ():
        eng.tombstones[row[0]] = Tombstone(*row)
    eng.seq, eng.ts = seq, ts
    eng.next_market_id, eng.next_order_id, eng.next_trade_id = next_mid, next_oid, next_tid
    for row in orders:
        o = Order.from_row(row)
        eng.orders[o.order_id] = o
    for row in markets:
        mid, name, model, bt, kind, st, ph, ver, rids, labels, winners, books, trades, voided = row[:14]
        if st == "SETTLED" or st == "VOIDED":  # version 1 kept a settled market's emptied definition
            eng.tombstones[mid] = Tombstone(mid, st, ph, kind, ver)
            continue
        m = Market(mid, name, model, bt, kind, st, ph, list(rids), list(labels), *row[14:15])
        if len(row) > 15:  # version 4: the bet delay, then removed runners if any
            m.bet_delay_ms = row[15]
        if len(row) > 16:  # runner removal: removed runners and reduced trades' original prices
            removed, original = row[16]
            m.removed = dict(removed)
            m.original_prices = dict(original)
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
    for oid in [oid for oid, o in eng.orders.items() if o.market_id in eng.tombstones]:
        del eng.orders[oid]  # a version 1 snapshot written before settled markets were retired
    for oid in sorted(eng.orders):  # the per-account index, oldest first, as live
        o = eng.orders[oid]
        if o.remaining:
            eng.markets[o.market_id].by_account.setdefault(o.account_id, {})[o] = None
    for oid, due_ts, dversion, tif, min_fill in state[12] if len(state) > 12 else ():
        o = eng.orders[oid]
        eng.markets[o.market_id].delayed[oid] = o
        eng.delayed.add(Delayed(o, due_ts, dversion, tif, min_fill))
    for ts_, a, r in refs:
        eng.refs.last[(a, r)] = ts_
        eng.refs.queue.append((ts_, a, r))
    for a, lim in limits:
        eng.risk.set_limit(a, lim, eng.markets)
    if version >= 3 and len(state) > 11:  # accounts and key hashes, present once there are any
        next_account_id, accounts, next_key_id, keys = state[11]
        eng.next_account_id, eng.next_key_id = next_account_id, next_key_id
        eng.accounts.update(accounts)
        for key_id, account_id, key_hash, revoked in keys:
            eng.keys[key_id] = (account_id, key_hash, revoked)


def state_hash(eng: EngineState) -> str:
    return hashlib.sha256(dump(eng)).hexdigest()
