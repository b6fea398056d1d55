"""Helpers shared by the operator tools: open an existing WAL, show engine time to people."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from betex.core.durability.journal import (
    JournalReader,
    wal_dir_of,
)
from betex.core.errors import WalNotFound


def open_reader(data_dir: Path) -> JournalReader:
    """A reader on an existing WAL; `WalNotFound` when the data dir has none (never creates one)."""
    return JournalReader(Path(data_dir))


def require_wal(data_dir: Path) -> None:
    """Raise `WalNotFound` unless `data_dir` holds a WAL (recovery would silently start empty)."""
    if not (wal_dir_of(Path(data_dir)) / "data.mdb").exists():
        raise WalNotFound(f"no WAL in {wal_dir_of(Path(data_dir))}")


def iso_ts(ns: int | None) -> str | None:
    """Engine time (unix ns) as ISO-8601 UTC with microseconds, for people."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
