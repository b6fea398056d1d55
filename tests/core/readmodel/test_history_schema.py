"""History schema migrations: from an empty file, from an older user_version, and refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from betex.core.readmodel.history import HistoryError, SQLiteHistory, migrate, user_version
from betex.core.readmodel.history_schema import LATEST, MIGRATIONS
from tests.core.readmodel.history_child import stream


def index_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    names = {
        n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    }
    conn.close()
    return names


def test_an_empty_file_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    sqlite3.connect(path).close()  # an existing, empty database file
    store = SQLiteHistory.open(path)
    assert store.applied_seq() == 0
    store.close()
    conn = sqlite3.connect(path)
    assert user_version(conn) == LATEST == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    assert {"orders_account", "orders_market", "trades_market", "orders_completed"} <= index_names(path)


def test_an_old_store_keeps_its_rows_and_gains_the_query_indexes(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    batches = stream(200, 3)
    old = SQLiteHistory.open(path, target=1)  # a store written by a betex at schema 1
    for b in batches[:100]:
        old.apply_batch(b)
    dump = old.dump()
    old.close()
    assert "orders_account" not in index_names(path)
    with pytest.raises(HistoryError, match="let the writer migrate"):
        SQLiteHistory.open_reader(path)
    store = SQLiteHistory.open(path)  # the writer migrates on open, then resumes
    assert store.dump() == dump
    for b in batches:
        store.apply_batch(b)
    fresh = SQLiteHistory.open(tmp_path / "fresh.db")
    for b in batches:
        fresh.apply_batch(b)
    assert store.dump() == fresh.dump()
    assert "orders_account" in index_names(path)
    reader = SQLiteHistory.open_reader(path)
    assert reader.orders(limit=5).rows == store.orders(limit=5).rows


def test_a_store_from_a_newer_betex_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    SQLiteHistory.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer"):
        SQLiteHistory.open(path)
    conn = sqlite3.connect(path)
    assert user_version(conn) == LATEST + 1
    conn.close()


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    SQLiteHistory.open(path, target=1).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE INDEX orders_account ON orders (account_id)")  # migration 2 now collides
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn)
    assert user_version(conn) == 1
    conn.close()


def test_a_missing_store_is_an_error_for_readers(tmp_path: Path) -> None:
    with pytest.raises(HistoryError):
        SQLiteHistory.open_reader(tmp_path / "absent.db")
