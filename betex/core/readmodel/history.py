"""The history store: orders with their final sizes, trades, settlements and order updates, on disk.

architecture.md §2: history leaves memory and lives in a database that readers in any process
query concurrently. `HistoryStore` is the narrow interface the server uses; `SQLiteHistory` is
its standard-library implementation (WAL journal mode), and PostgreSQL could replace it behind
the same interface.

Contract:
- Fed only by WAL events, in seq order. `apply_batch` writes one transaction per call and stores
  the last applied seq in that same transaction, so after any crash the store is exactly at a
  batch boundary: events at or below `applied_seq()` are skipped, and a gap raises `HistoryGap`.
- Order sizes mean what the projection (`projection.py`) serves: `size_remaining = size −
  matched − cancelled − lapsed − voided`, `status` EXECUTABLE while anything remains, and
  `avg_price_matched = Σ(fill size × fill price) / size_matched` over fills not voided (an
  implied fill counts at the taker's effective odds). Values stay in engine units.
- Queries page with an opaque keyset cursor, stable under concurrent appends: a row is never
  returned twice and never skipped. Orders and trades come newest first (by id), completed
  orders most recently completed first, settlements newest first, order updates in commit order.
- `rebuild` gives the same rows as incremental application of the same events.
- One writer per database (the read-model process); readers open read-only connections
  (`open_reader`). A connection is used from one thread.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from betex.core.domain.events import (
    Event,
    MarketCreated,
    MarketSettled,
    MarketStateChanged,
    MarketVoided,
    OrderAccepted,
    OrderCancelled,
    OrderDelayed,
    OrderMatured,
    RunnerRemoved,
    TradeMatched,
    TradesVoided,
    taker_value,
)
from betex.core.domain.risk import Exposure, commissions, settle_pnl
from betex.core.domain.types import HOUSE_ACCOUNT, CancelReason, MarketState
from betex.core.readmodel.history_schema import LATEST, MIGRATIONS, WRITER_TABLES

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
REBUILD_BATCH = 20_000
WRITER_CACHE_KIB = 8192
"""The writer's SQLite page cache (PRAGMA cache_size). A long-running server's cache fills up to
this and stays there, so it is part of the server's steady RSS: 64 MiB made RSS grow for the
first ~300k events of every run (bench/soak.py). Inserts touch only the right edge of each
B-tree and one leaf per account in the account indexes; 8 MiB applies batches as fast as 64 MiB
did (measured on the soak's WAL), and a miss is a read from the OS page cache."""
READER_CACHE_KIB = 8192
"""Each reader connection's page cache (one per reader thread); reads mostly go through mmap."""
"""Events per transaction in `rebuild` (one transaction per batch is the resumable unit)."""

_LAPSED = CancelReason.LAPSED.value
_EXECUTABLE = "EXECUTABLE"
_DELAYED = "DELAYED"  # in-play bet delay: accepted, not in the book yet (delayed_orders)
_STATUS_SQL = (  # `status` as served: DELAYED for an open order still in delayed_orders
    "CASE WHEN completed_no IS NULL AND EXISTS (SELECT 1 FROM delayed_orders d"
    " WHERE d.order_id = orders.order_id) THEN 'DELAYED' ELSE status END"
)
_NO_FILL: tuple[None, ...] = (None, None, None, None, None, None)  # fill fields + reason

ORDER_COLUMNS = (
    "order_id",
    "market_id",
    "account_id",
    "runner_id",
    "side",
    "price",
    "size",
    "size_matched",
    "size_remaining",
    "size_cancelled",
    "size_lapsed",
    "size_voided",
    "avg_price_matched",
    "status",
    "persistence",
    "time_in_force",
    "client_ref",
    "replaces",
    "placed_ts",
    "updated_ts",
)
TRADE_COLUMNS = (
    "trade_id",
    "market_id",
    "runner_id",
    "maker_runner_id",
    "price",
    "size",
    "maker_size",
    "implied",
    "taker_order_id",
    "maker_order_id",
    "taker_account",
    "maker_account",
    "house",
    "effective_odds",
    "ts",
    "voided",
)
SETTLEMENT_COLUMNS = ("market_id", "account_id", "gross", "commission", "net", "kind", "seq", "ts")
UPDATE_COLUMNS = (
    "seq",
    "idx",
    "order_id",
    "market_id",
    "runner_id",
    "side",
    "status",
    "size_matched",
    "size_remaining",
    "fill_trade_id",
    "fill_price",
    "fill_effective_odds",
    "fill_size",
    "fill_implied",
    "reason",
)
_BOOL_COLUMNS = frozenset(("implied", "voided", "fill_implied"))


class HistoryError(Exception):
    """The history store cannot be used as asked (damaged, newer schema, read-only)."""


class HistoryGap(HistoryError, ValueError):
    """An event batch does not continue at applied_seq + 1: a bug upstream, never skipped."""


class Page(NamedTuple):
    """One page of a query; `cursor` fetches the next page, None when this is the last. `seq`
    is the applied seq of the snapshot the page was read from: it reflects every event up to
    `seq` and none after (the handoff point from replay to a live stream)."""

    rows: list[dict[str, Any]]
    cursor: str | None
    seq: int


class HistoryStore(Protocol):
    """What the server needs from a history store (see the module contract)."""

    def applied_seq(self) -> int: ...

    def apply_batch(self, events: Iterable[Event]) -> int: ...

    def orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page: ...

    def completed_orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page: ...

    def trades(
        self, market_id: int | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page: ...

    def settlements(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page: ...

    def order_updates(
        self, account_id: int, from_seq: int = 0, cursor: str | None = None, limit: int | None = None
    ) -> Page: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------- cursors


def encode_cursor(kind: str, key: tuple[int, ...]) -> str:
    """An opaque cursor: the query kind and the keyset position of the last row returned."""
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, width: int) -> tuple[int, ...]:
    """ValueError unless `cursor` came from `encode_cursor(kind, …)` with `width` keys."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad cursor {cursor!r}") from exc
    if (
        not isinstance(value, list)
        or len(value) != width + 1
        or value[0] != kind
        or not all(type(v) is int for v in value[1:])
    ):
        raise ValueError(f"bad cursor {cursor!r} for {kind}")
    return tuple(value[1:])


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise ValueError("limit must be ≥ 1")
    return min(limit, MAX_LIMIT)


def _status(status: str | None) -> str | None:
    if status is None or status == "":
        return None
    s = status.lower()
    if s in ("open", "executable"):
        return "open"
    if s in ("complete", "execution_complete"):
        return "complete"
    raise ValueError(f"status must be open or complete, not {status!r}")


# ---------------------------------------------------------------------------------- schema


def user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Apply the migrations from the database's user_version up to `target`, each in its own
    transaction with its new user_version. Refuses a database newer than this code."""
    version = user_version(conn)
    if version > LATEST:
        raise HistoryError(f"history schema {version} is newer than this betex ({LATEST}); upgrade betex")
    for step in range(version, target):
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[step]}\nPRAGMA user_version = {step + 1};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return max(version, target)


def _connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


# ---------------------------------------------------------------------------------- the store


class SQLiteHistory:
    """`HistoryStore` on SQLite. Use `open` (the writer, migrates) or `open_reader`."""

    def __init__(self, conn: sqlite3.Connection, writable: bool) -> None:
        self._conn = conn
        self._writable = writable
        self._seq = 0
        self._completed = 0
        self._updates: list[tuple[Any, ...]] = []  # order_updates rows of the open transaction
        self._settled: list[tuple[Any, ...]] = []  # settlements rows of the open transaction
        self.last_updates: list[tuple[Any, ...]] = []
        """The order_updates rows (UPDATE_COLUMNS order, after `account_id`) of the last
        committed `apply_batch`: what a live order stream pushes once the batch is durable here."""
        self.last_settlements: list[tuple[Any, ...]] = []
        """The settlements rows (SETTLEMENT_COLUMNS order) of the last committed `apply_batch`."""
        if writable:
            self._load_meta()

    @classmethod
    def open(cls, path: str | os.PathLike[str], target: int = LATEST) -> SQLiteHistory:
        """The writer: creates or migrates the database, WAL journal mode, synchronous=NORMAL
        (a process crash loses nothing committed; after a power loss the store may be a few
        batches behind, and resumes from its own applied seq)."""
        conn = _connect(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        migrate(conn, target)
        return cls(conn, writable=True)

    @classmethod
    def open_reader(cls, path: str | os.PathLike[str]) -> SQLiteHistory:
        """A read-only connection for queries from any process; the writer must have created
        the database at the current schema."""
        if not Path(path).exists():
            raise HistoryError(f"no history store at {path}")
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA mmap_size = 1073741824")  # pages straight from the OS cache
        conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        version = user_version(conn)
        if version != LATEST:
            conn.close()
            raise HistoryError(f"history schema {version}, expected {LATEST}: let the writer migrate it")
        return cls(conn, writable=False)

    def close(self) -> None:
        self._conn.close()

    def _load_meta(self) -> None:
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        self._seq = meta["applied_seq"]
        self._completed = meta["completed_count"]

    def applied_seq(self) -> int:
        """The seq of the last event whose batch committed (0 for an empty store)."""
        if self._writable:
            return self._seq
        seq: int = self._conn.execute("SELECT value FROM meta WHERE key = 'applied_seq'").fetchone()[0]
        return seq

    # ------------------------------------------------------------------ writing

    def apply_batch(self, events: Iterable[Event]) -> int:
        """Apply one committed batch in one transaction; returns the applied seq after it."""
        if not self._writable:
            raise HistoryError("read-only history connection")
        conn = self._conn
        seq = self._seq
        began = False
        try:
            for event in events:
                if event.seq <= seq:
                    continue  # already applied before a crash or restart
                if event.seq != seq + 1:
                    raise HistoryGap(f"history at seq {seq} cannot apply event seq {event.seq}")
                if not began:
                    conn.execute("BEGIN IMMEDIATE")
                    began = True
                    stored = conn.execute("SELECT value FROM meta WHERE key = 'applied_seq'").fetchone()[0]
                    if stored != self._seq:
                        raise HistoryError(
                            f"history seq moved from {self._seq} to {stored}: a second writer?"
                        )
                self._apply(event)
                seq = event.seq
            if began:
                conn.executemany(
                    "INSERT INTO order_updates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    self._updates,
                )
                conn.execute(
                    "UPDATE meta SET value = CASE key WHEN 'applied_seq' THEN ? ELSE ? END",
                    (seq, self._completed),
                )
                conn.execute("COMMIT")
            self.last_updates, self._updates = self._updates, []
            self.last_settlements, self._settled = self._settled, []
        except BaseException:
            self._updates.clear()
            self._settled.clear()
            if began and conn.in_transaction:
                conn.execute("ROLLBACK")
            self._load_meta()
            raise
        self._seq = seq
        return seq

    def _apply(self, e: Event) -> None:
        t = type(e)
        if t is OrderAccepted:
            self._on_accepted(e)  # type: ignore[arg-type]
        elif t is TradeMatched:
            self._on_trade(e)  # type: ignore[arg-type]
        elif t is OrderCancelled:
            self._on_cancelled(e)  # type: ignore[arg-type]
        elif t is MarketCreated:
            self._on_market_created(e)  # type: ignore[arg-type]
        elif t is MarketStateChanged:
            self._on_state_changed(e)  # type: ignore[arg-type]
        elif t is TradesVoided:
            self._on_trades_voided(e)  # type: ignore[arg-type]
        elif t is MarketSettled:
            self._on_settled(e)  # type: ignore[arg-type]
        elif t is MarketVoided:
            self._on_market_voided(e)  # type: ignore[arg-type]
        elif t is RunnerRemoved:
            self._on_runner_removed(e)  # type: ignore[arg-type]
        elif t is OrderDelayed:  # in-play bet delay
            self._on_delayed(e)  # type: ignore[arg-type]
        elif t is OrderMatured:
            self._on_matured(e)  # type: ignore[arg-type]
        # RunnersAdded, AccountLimitSet and BatchProcessed hold no history

    def _on_market_created(self, e: MarketCreated) -> None:
        self._conn.execute(
            "INSERT INTO markets (market_id, name, model, book_type, state, phase, version, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (e.market_id, e.name, e.market_model, e.book_type, e.market_state, e.market_phase, e.ts),
        )
        if e.commission_bps:
            self._conn.execute("INSERT INTO market_commission VALUES (?, ?)", (e.market_id, e.commission_bps))

    def _on_state_changed(self, e: MarketStateChanged) -> None:
        self._conn.execute(
            "UPDATE markets SET state = ?, phase = ?, version = ? WHERE market_id = ?",
            (e.market_state, e.market_phase, e.version, e.market_id),
        )

    def _on_accepted(self, e: OrderAccepted | OrderDelayed, status: str = _EXECUTABLE) -> None:
        conn = self._conn
        conn.execute(
            "INSERT INTO orders (order_id, market_id, account_id, runner_id, side, price, size,"
            " persistence, time_in_force, client_ref, replaces, placed_seq, placed_ts, updated_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.order_id,
                e.market_id,
                e.account_id,
                e.runner_id,
                e.side,
                e.price,
                e.size,
                e.persistence,
                e.time_in_force,
                e.client_ref,
                e.replaces,
                e.seq,
                e.ts,
                e.ts,
            ),
        )
        self._updates.append(
            (e.account_id, e.seq, 0, e.order_id, e.market_id, e.runner_id, e.side, status, 0, e.size)
            + _NO_FILL
        )

    # --- in-play bet delay: a DELAYED order is an order row plus a delayed_orders row --------

    def _on_delayed(self, e: OrderDelayed) -> None:
        self._on_accepted(e, _DELAYED)
        self._conn.execute("INSERT INTO delayed_orders VALUES (?)", (e.order_id,))

    def _on_matured(self, e: OrderMatured) -> None:
        """DELAYED → EXECUTABLE: an ORDER_UPDATE without fill or reason (the trades follow)."""
        self._conn.execute("DELETE FROM delayed_orders WHERE order_id = ?", (e.order_id,))
        o = self._change(e.order_id, "size_matched = size_matched + ?", (0,), 0, e.ts)
        self._update_row(e.seq, 0, e.order_id, o, None, None)

    def _still_delayed(self, order_id: int, o: tuple[Any, ...]) -> tuple[Any, ...]:
        """A cancel of a delayed order: DELAYED while something remains, else it leaves the table."""
        if not self._conn.execute("SELECT 1 FROM delayed_orders WHERE order_id = ?", (order_id,)).fetchone():
            return o
        if o[6]:  # size_remaining
            return (*o[:4], _DELAYED, *o[5:])
        self._conn.execute("DELETE FROM delayed_orders WHERE order_id = ?", (order_id,))
        return o

    def _change(
        self, order_id: int, sets: str, args: tuple[Any, ...], removed: int, ts: int | None
    ) -> tuple[Any, ...]:
        """Update one order; `removed` is what left its remaining size (completes it at 0).
        `ts` None keeps `updated_ts` (a void, as the projection does). Returns (account, market,
        runner, side, status, matched, remaining)."""
        row = self._conn.execute(
            f"UPDATE orders SET {sets}, updated_ts = coalesce(?, updated_ts),"
            " completed_no = CASE WHEN completed_no IS NULL AND ? > 0 AND size_remaining = ?"
            " THEN ? ELSE completed_no END WHERE order_id = ?"
            " RETURNING account_id, market_id, runner_id, side, status, size_matched, size_remaining,"
            " completed_no",
            (*args, ts, removed, removed, self._completed + 1, order_id),
        ).fetchone()
        if row is None:
            raise HistoryError(f"event for unknown order {order_id}")
        if row[7] == self._completed + 1:
            self._completed += 1
        return tuple(row[:7])

    def _update_row(
        self,
        seq: int,
        idx: int,
        order_id: int,
        o: tuple[Any, ...],
        fill: tuple[Any, ...] | None,
        reason: str | None,
    ) -> None:
        account, market, runner, side, status, matched, remaining = o
        f = fill if fill is not None else _NO_FILL[:5]
        self._updates.append(
            (account, seq, idx, order_id, market, runner, side, status, matched, remaining, *f, reason)
        )

    def _on_cancelled(self, e: OrderCancelled) -> None:
        column = "size_lapsed" if e.reason == _LAPSED else "size_cancelled"
        o = self._change(e.order_id, f"{column} = {column} + ?", (e.size,), e.size, e.ts)
        o = self._still_delayed(e.order_id, o)
        self._update_row(e.seq, 0, e.order_id, o, None, e.reason)

    @staticmethod
    def _taker_value(e: TradeMatched) -> int:
        """As `Projection._taker_value` (`events.taker_value`)."""
        return taker_value(e)

    def _on_trade(self, e: TradeMatched) -> None:
        conn = self._conn
        taker_value = self._taker_value(e)
        maker_value = e.maker_size * e.price
        plus = "size_matched = size_matched + ?, value = value + ?"
        taker = self._change(e.taker_order_id, plus, (e.taker_size, taker_value), e.taker_size, e.ts)
        maker = self._change(e.maker_order_id, plus, (e.maker_size, maker_value), e.maker_size, e.ts)
        effective = taker_value / e.taker_size
        legs = json.dumps([list(leg) for leg in e.legs], separators=(",", ":"))
        conn.execute(
            "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                e.trade_id,
                e.market_id,
                e.runner_id,
                e.maker_runner_id,
                e.price,
                e.taker_size,
                e.maker_size,
                int(e.implied),
                e.taker_order_id,
                e.maker_order_id,
                e.taker_account,
                e.maker_account,
                e.house,
                taker_value,
                effective,
                legs,
                e.seq,
                e.ts,
            ),
        )
        self._book_legs(
            e.market_id, [(leg.account_id, leg.runner_id, leg.win, leg.lose) for leg in e.legs], 1
        )
        implied = int(e.implied)
        self._update_row(
            e.seq, 0, e.taker_order_id, taker, (e.trade_id, e.price, effective, e.taker_size, implied), None
        )
        self._update_row(
            e.seq,
            1,
            e.maker_order_id,
            maker,
            (e.trade_id, e.price, float(e.price), e.maker_size, implied),
            None,
        )

    def _book_legs(self, market_id: int, legs: list[tuple[int, int, int, int]], sign: int) -> None:
        self._conn.executemany(
            "INSERT INTO exposures VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
            " win = win + excluded.win, lose = lose + excluded.lose",
            [(market_id, a, r, sign * w, sign * lo) for a, r, w, lo in legs],
        )

    def _void_trades(self, seq: int, trade_ids: Iterable[int], reason: str) -> None:
        conn = self._conn
        idx = 0
        for tid in trade_ids:
            row = conn.execute(
                "UPDATE trades SET voided = 1 WHERE trade_id = ? AND voided = 0 RETURNING market_id,"
                " taker_order_id, maker_order_id, size, maker_size, price, taker_value, legs",
                (tid,),
            ).fetchone()
            if row is None:
                if conn.execute("SELECT 1 FROM trades WHERE trade_id = ?", (tid,)).fetchone() is None:
                    raise HistoryError(f"void of unknown trade {tid}")
                continue  # voided before
            market_id, taker_id, maker_id, size, maker_size, price, taker_value, legs = row
            minus = "size_matched = size_matched - ?, size_voided = size_voided + ?, value = value - ?"
            taker = self._change(taker_id, minus, (size, size, taker_value), 0, None)
            maker = self._change(maker_id, minus, (maker_size, maker_size, maker_size * price), 0, None)
            self._book_legs(market_id, [tuple(leg) for leg in json.loads(legs)], -1)
            self._update_row(seq, idx, taker_id, taker, None, reason)
            self._update_row(seq, idx + 1, maker_id, maker, None, reason)
            idx += 2

    def _on_trades_voided(self, e: TradesVoided) -> None:
        self._void_trades(e.seq, e.trade_ids, "TRADE_VOIDED")

    # ---------------------------------------------------------------- runner removal

    def _on_runner_removed(self, e: RunnerRemoved) -> None:
        """Voids (order updates with reason RUNNER_REMOVED), then each reduced trade: its price,
        legs, house and taker value, its orders' value, the exposures, and one order update per
        side with reason RUNNER_REMOVED and the trade's new terms (`fill` columns)."""
        conn = self._conn
        conn.execute(
            "INSERT INTO removed_runners VALUES (?, ?, ?, ?)",
            (e.market_id, e.runner_id, e.reduction_factor, e.seq),
        )
        conn.execute("UPDATE markets SET version = ? WHERE market_id = ?", (e.version, e.market_id))
        self._void_trades(e.seq, e.voided, CancelReason.RUNNER_REMOVED.value)
        idx = 2 * len(e.voided)
        for r in e.reduced:
            row = conn.execute(
                "SELECT market_id, runner_id, maker_runner_id, price, size, maker_size, implied,"
                " taker_order_id, maker_order_id, taker_account, maker_account, taker_value, legs"
                " FROM trades WHERE trade_id = ?",
                (r.trade_id,),
            ).fetchone()
            if row is None:
                raise HistoryError(f"reduction of unknown trade {r.trade_id}")
            (mid, runner, maker_runner, price, size, maker_size, implied, taker_id, maker_id,
             taker_account, maker_account, old_value, old_legs) = row  # fmt: skip
            new = TradeMatched(e.seq, e.ts, mid, r.trade_id, runner, taker_id, taker_account, size,
                               maker_id, maker_account, maker_size, maker_runner, r.price, bool(implied),
                               r.legs, r.house)  # fmt: skip
            value = taker_value(new)
            legs = json.dumps([list(leg) for leg in r.legs], separators=(",", ":"))
            conn.execute(
                "UPDATE trades SET price = ?, house = ?, taker_value = ?, effective_odds = ?, legs = ?"
                " WHERE trade_id = ?",
                (r.price, r.house, value, value / size, legs, r.trade_id),
            )
            conn.execute(
                "INSERT OR IGNORE INTO trade_reductions VALUES (?, ?)", (r.trade_id, r.original_price)
            )
            self._book_legs(mid, [tuple(leg) for leg in json.loads(old_legs)], -1)
            self._book_legs(mid, [(leg.account_id, leg.runner_id, leg.win, leg.lose) for leg in r.legs], 1)
            plus = "value = value + ?"
            taker = self._change(taker_id, plus, (value - old_value,), 0, None)
            maker = self._change(maker_id, plus, (maker_size * (r.price - price),), 0, None)
            reason = CancelReason.RUNNER_REMOVED.value
            self._update_row(
                e.seq, idx, taker_id, taker, (r.trade_id, r.price, value / size, size, implied), reason
            )
            self._update_row(
                e.seq,
                idx + 1,
                maker_id,
                maker,
                (r.trade_id, r.price, float(r.price), maker_size, implied),
                reason,
            )
            idx += 2

    def _participants(self, market_id: int) -> list[int]:
        """Accounts that placed an order in the market or hold a leg there (the house)."""
        rows = self._conn.execute(
            "SELECT account_id FROM orders WHERE market_id = ?"
            " UNION SELECT account_id FROM exposures WHERE market_id = ? ORDER BY 1",
            (market_id, market_id),
        ).fetchall()
        return [a for (a,) in rows]

    def _finish_market(self, e: MarketSettled | MarketVoided, state: str, winners: str | None) -> None:
        self._conn.execute(
            "UPDATE markets SET state = ?, version = version + 1, winners = ?, final_seq = ? WHERE market_id = ?",
            (state, winners, e.seq, e.market_id),
        )

    def _settle_rows(
        self, e: MarketSettled | MarketVoided, kind: str, pnl: dict[int, int], bps: int = 0
    ) -> None:
        paid = commissions(pnl, bps)
        rows = [
            (e.market_id, a, gross, paid.get(a, 0), gross - paid.get(a, 0), kind, e.seq, e.ts)
            for a, gross in sorted(pnl.items())
        ]
        self._conn.executemany("INSERT OR REPLACE INTO settlements VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._settled.extend(rows)

    def _on_settled(self, e: MarketSettled) -> None:
        """Final P&L per account as `Projection._settle`: the house takes minus everyone else's."""
        conn = self._conn
        mid = e.market_id
        winners = tuple(e.winner_runner_ids)
        self._finish_market(e, MarketState.SETTLED.value, json.dumps(list(winners)))
        exposures: dict[int, Exposure] = {}
        for a, r, win, lose in conn.execute(
            "SELECT account_id, runner_id, win, lose FROM exposures WHERE market_id = ?", (mid,)
        ):
            x = exposures.get(a)
            if x is None:
                x = exposures[a] = Exposure()
            x.add(r, win, lose)
        legs: dict[int, dict[int, list[tuple[int, int]]]] = {}
        if len(winners) > 1:  # a dead heat splits payouts per leg
            for (text,) in conn.execute("SELECT legs FROM trades WHERE market_id = ? AND voided = 0", (mid,)):
                for a, r, win, lose in json.loads(text):
                    legs.setdefault(a, {}).setdefault(r, []).append((win, lose))
        accounts = self._participants(mid)
        pnl: dict[int, int] = {}
        total = 0
        for a in accounts:
            if a != HOUSE_ACCOUNT:
                pnl[a] = settle_pnl(exposures.get(a) or Exposure(), winners, legs.get(a, {}))
                total += pnl[a]
        if total or HOUSE_ACCOUNT in accounts:
            pnl[HOUSE_ACCOUNT] = -total
        row = conn.execute(
            "SELECT commission_bps FROM market_commission WHERE market_id = ?", (mid,)
        ).fetchone()
        bps = row[0] if row is not None else 0
        if commissions(pnl, bps):
            pnl.setdefault(HOUSE_ACCOUNT, 0)
        self._settle_rows(e, "SETTLED", pnl, bps)

    def _on_market_voided(self, e: MarketVoided) -> None:
        self._finish_market(e, MarketState.VOIDED.value, None)
        ids = [
            t
            for (t,) in self._conn.execute(
                "SELECT trade_id FROM trades WHERE market_id = ? ORDER BY trade_id", (e.market_id,)
            )
        ]
        self._void_trades(e.seq, ids, "MARKET_VOIDED")
        self._settle_rows(e, "VOIDED", dict.fromkeys(self._participants(e.market_id), 0))

    # ------------------------------------------------------------------ reading

    def _page(
        self,
        kind: str,
        columns: tuple[str, ...],
        table: str,
        where: list[str],
        args: list[Any],
        key: tuple[str, ...],
        descending: bool,
        cursor: str | None,
        limit: int | None,
        exprs: dict[str, str] | None = None,
    ) -> Page:
        """Keyset pagination: rows strictly after the cursor's key, in key order. `exprs`: SQL
        that computes a column instead of reading it (still returned under the column's name)."""
        n = _limit(limit)
        keys = ", ".join(key)
        if cursor is not None:
            position = decode_cursor(kind, cursor, len(key))
            op = "<" if descending else ">"
            where = [*where, f"({keys}) {op} ({', '.join('?' * len(key))})"]
            args = [*args, *position]
        order = ", ".join(f"{k} {'DESC' if descending else 'ASC'}" for k in key)
        sql = (
            f"SELECT {', '.join((exprs or {}).get(c, c) for c in columns)}, {keys} FROM {table}"
            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?"
        )
        conn = self._conn
        conn.execute("BEGIN")  # one read snapshot for the rows and their seq
        try:
            seq = conn.execute("SELECT value FROM meta WHERE key = 'applied_seq'").fetchone()[0]
            fetched = conn.execute(sql, (*args, n + 1)).fetchall()
        finally:
            conn.execute("COMMIT")
        width = len(columns)
        rows = []
        for raw in fetched[:n]:
            row = dict(zip(columns, raw[:width], strict=True))
            for c in _BOOL_COLUMNS.intersection(row):
                if row[c] is not None:
                    row[c] = bool(row[c])
            rows.append(row)
        next_cursor = encode_cursor(kind, tuple(fetched[n - 1][width:])) if len(fetched) > n else None
        return Page(rows, next_cursor, seq)

    def orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """GET /orders: newest first (by order id); `status` open | complete."""
        where, args = _filters(market_id, account_id)
        s = _status(status)
        if s == "open":
            where.append("completed_no IS NULL")
        elif s == "complete":
            where.append("completed_no IS NOT NULL")
        return self._page(
            "orders", ORDER_COLUMNS, "orders", where, args, ("order_id",), True, cursor, limit,
            {"status": _STATUS_SQL},
        )  # fmt: skip

    def completed_orders(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """GET /completed_orders: EXECUTION_COMPLETE orders, most recently completed first."""
        where, args = _filters(market_id, account_id)
        where.append("completed_no IS NOT NULL")
        return self._page(
            "completed", ORDER_COLUMNS, "orders", where, args, ("completed_no",), True, cursor, limit
        )

    def trades(
        self, market_id: int | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page:
        """GET /trades: newest first, `voided` flagged."""
        where, args = _filters(market_id, None)
        table = "trades LEFT JOIN trade_reductions USING (trade_id)"  # + original_price if reduced
        columns = (*TRADE_COLUMNS, "original_price")
        return self._page("trades", columns, table, where, args, ("trade_id",), True, cursor, limit)

    def settlements(
        self,
        market_id: int | None = None,
        account_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """Settled P&L per (market, account): gross, commission, net; newest settlement first."""
        where, args = _filters(market_id, account_id)
        key = ("seq", "market_id", "account_id")
        return self._page(
            "settlements", SETTLEMENT_COLUMNS, "settlements", where, args, key, True, cursor, limit
        )

    def order_updates(
        self, account_id: int, from_seq: int = 0, cursor: str | None = None, limit: int | None = None
    ) -> Page:
        """ORDER_UPDATE replay for `SUBSCRIBE_ORDERS {from_seq}`: the account's order changes
        with seq > from_seq, in commit order (seq, then position within the event)."""
        where = ["account_id = ?", "seq > ?"]
        return self._page(
            "updates",
            UPDATE_COLUMNS,
            "order_updates",
            where,
            [account_id, from_seq],
            ("seq", "idx"),
            False,
            cursor,
            limit,
        )

    def market_models(self, market_ids: Iterable[int]) -> dict[int, str]:
        """The market model of each known market in `market_ids` (the wire's units depend on it)."""
        ids = sorted(set(market_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._conn.execute(f"SELECT market_id, model FROM markets WHERE market_id IN ({marks})", ids)
        return dict(rows.fetchall())

    # ------------------------------------------------------------------ whole-store views

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows in primary-key order: equal stores give equal dumps."""
        tables = {
            "meta": "key",
            "markets": "market_id",
            "market_commission": "market_id",
            "orders": "order_id",
            "trades": "trade_id",
            "exposures": "market_id, account_id, runner_id",
            "settlements": "market_id, account_id",
            "order_updates": "account_id, seq, idx",
            "delayed_orders": "order_id",
        }
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table, key in tables.items():
            rows = self._conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            out[table] = [tuple(r) for r in rows]
        out["orders_generated"] = [
            tuple(r)
            for r in self._conn.execute(
                "SELECT order_id, size_remaining, status, avg_price_matched FROM orders ORDER BY order_id"
            )
        ]
        return out

    def counts(self) -> dict[str, int]:
        """Row counts per table (for `/debug/live_counts` and the soak benchmark)."""
        tables = ("markets", "orders", "trades", "settlements", "order_updates")
        return {t: self._conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    @classmethod
    def rebuild(
        cls, path: str | os.PathLike[str], events: Iterable[Event], batch: int = REBUILD_BATCH
    ) -> SQLiteHistory:
        """A fresh store at `path` from a WAL event stream (seq 1 onwards), replacing any store
        there atomically. It is built beside `path` without the query indexes (added after the
        load) and renamed into place; readers holding the old file keep reading the old one."""
        target = Path(path)
        tmp = target.with_name(target.name + ".rebuild")
        _remove_db(tmp)
        conn = _connect(tmp)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        migrate(conn, 1)
        for sql in WRITER_TABLES:  # the writer's later tables (commission, removals), not indexes
            conn.executescript(sql)
        store = cls(conn, writable=True)
        chunk: list[Event] = []
        for event in events:
            chunk.append(event)
            if len(chunk) >= batch:
                store.apply_batch(chunk)
                chunk = []
        store.apply_batch(chunk)
        migrate(conn, LATEST)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        _remove_db(target)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        return cls.open(target)


def _filters(market_id: int | None, account_id: int | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if market_id is not None:
        where.append("market_id = ?")
        args.append(market_id)
    if account_id is not None:
        where.append("account_id = ?")
        args.append(account_id)
    return where, args


def _remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
