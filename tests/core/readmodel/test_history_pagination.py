"""Cursor pagination covers every row exactly once, whatever the page sizes, while the writer appends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betex.core.domain.events import Event
from betex.core.readmodel.history import SQLiteHistory
from tests.core.readmodel.history_child import stream

BATCHES: list[list[Event]] = stream(700, 21)
ACCOUNTS = list(range(1, 12))

# (query, its key, filters it takes) — every paged query the API serves
QUERIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "orders": (("order_id",), ("market_id", "account_id")),
    "completed_orders": (("order_id",), ("market_id", "account_id")),
    "trades": (("trade_id",), ("market_id",)),
    "settlements": (("market_id", "account_id"), ("market_id", "account_id")),
}


def identity(query: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in QUERIES[query][0])


def everything(store: SQLiteHistory, query: str, **kw: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = getattr(store, query)(cursor=cursor, limit=10_000, **kw)
        rows.extend(page.rows)
        if page.cursor is None:
            return rows
        cursor = page.cursor


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pages")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.sampled_from(sorted(QUERIES)),
    start=st.integers(1, 500),
    limits=st.lists(st.integers(1, 60), min_size=1, max_size=30),
    appends=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    account=st.none() | st.sampled_from(ACCOUNTS),
    market=st.none() | st.integers(1, 8),
)
def test_pages_cover_every_row_once_while_the_writer_appends(
    workdir: Path,
    query: str,
    start: int,
    limits: list[int],
    appends: list[int],
    account: int | None,
    market: int | None,
) -> None:
    path = workdir / "h.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    writer = SQLiteHistory.open(path)
    for b in BATCHES[:start]:
        writer.apply_batch(b)
    reader = SQLiteHistory.open_reader(path)
    filters: dict[str, Any] = {}
    if "account_id" in QUERIES[query][1] and account is not None:
        filters["account_id"] = account
    if market is not None:
        filters["market_id"] = market
    before = [identity(query, r) for r in everything(reader, query, **filters)]
    got: list[tuple[Any, ...]] = []
    cursor = None
    applied = start
    step = 0
    while True:
        page = getattr(reader, query)(cursor=cursor, limit=limits[step % len(limits)], **filters)
        got.extend(identity(query, r) for r in page.rows)
        n = appends[step % len(appends)]
        for b in BATCHES[applied : applied + n]:  # the writer goes on between pages
            writer.apply_batch(b)
        applied += n
        step += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    # newest-first queries: rows appended after the first page sort before the cursor, so a
    # client paging down sees exactly the rows that existed when it started, once each
    assert got == before
    reader.close()
    writer.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(1, 500),
    from_seq=st.integers(0, 3000),
    limits=st.lists(st.integers(1, 60), min_size=1, max_size=30),
    appends=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    account=st.sampled_from(ACCOUNTS),
)
def test_order_update_replay_pages_reach_the_live_end_without_gap_or_duplicate(
    workdir: Path, start: int, from_seq: int, limits: list[int], appends: list[int], account: int
) -> None:
    """Replay is oldest first and picks up rows the writer commits while the client pages; the
    last page's `seq` is the handoff: replayed rows plus the live updates after it are every
    update, with no gap and no duplicate."""
    path = workdir / "u.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    writer = SQLiteHistory.open(path)
    for b in BATCHES[:start]:
        writer.apply_batch(b)
    reader = SQLiteHistory.open_reader(path)
    got: list[tuple[int, int]] = []
    cursor = None
    applied = start
    step = 0
    while True:
        page = reader.order_updates(account, from_seq, cursor=cursor, limit=limits[step % len(limits)])
        got.extend((u["seq"], u["idx"]) for u in page.rows)
        assert all(u["seq"] <= page.seq for u in page.rows)
        n = appends[step % len(appends)]
        for b in BATCHES[applied : applied + n]:  # the writer goes on, after the last page too
            writer.apply_batch(b)
        applied += n
        step += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    handoff = page.seq  # the replay is complete up to here; the live stream takes seq > handoff
    want = [
        (u["seq"], u["idx"])
        for u in everything(reader, "order_updates", account_id=account, from_seq=from_seq)
    ]
    live = [k for k in want if k[0] > handoff]
    assert got + live == want
    assert all(seq > from_seq for seq, _ in got)
    reader.close()
    writer.close()
