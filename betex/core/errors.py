"""betex's exception tree: one root (`BetexError`), one branch per kind of fault an operator acts on.

Every layer may import this module (it is the lowest layer and imports nothing of betex), so a
fault is classified where it is raised and the CLI turns the class into an exit status in one
place (`betex.cli.common`). The branches, and the exit status each maps to:

- `UsageError` (2): arguments or settings that cannot work; raised before anything is touched.
- `WalLocked` (3): another process holds the WAL's single-writer lock.
- `DataDamaged` (4): the WAL or a snapshot is damaged: a CRC, schema or decoding failure, a seq
  gap, a snapshot that does not match its name, or page-level LMDB damage (`MDB_CORRUPTED`).
- `Unreachable` (5): a server could not be reached at all.
- anything else under `BetexError` (1): an expected fault with a one-line explanation (no WAL
  where one was asked for, a failed write or fsync, ...). Exceptions outside the tree are bugs.

Classes keep a standard base where callers rely on it (`ValueError` for usage errors,
`FileNotFoundError` for a missing WAL, `ConnectionError` for an unreachable server).
"""

from __future__ import annotations

from pathlib import Path


class BetexError(Exception):
    """Root of every exception betex raises on purpose."""


class UsageError(BetexError, ValueError):
    """Arguments or settings that cannot work; raised before the WAL or the network is touched."""


class DataDamaged(BetexError):
    """Stored data (WAL record, WAL structure, engine or projection snapshot) is damaged.

    Never retried and never repaired silently: the operator restores from a backup or, for a
    cache such as ``projection.snap``, lets it be rebuilt from the WAL.
    """


class Unreachable(BetexError, ConnectionError):
    """A server could not be reached at all (nothing was sent)."""


class Rejected(BetexError):
    """The server refused a command with a typed reject (`code`, e.g. INVALID_ODDS); the CLI's
    write commands exit 6 with it."""

    code: str | None = None


# --------------------------------------------------------------------------------------------
# The WAL (raised by betex.core.durability)


class WalError(BetexError):
    """Base of every WAL fault (I/O, locking, damage)."""


class WalLocked(WalError):
    """Another process (or another Journal in this one) holds the single-writer lock."""

    def __init__(self, wal_dir: Path, pid: int | None) -> None:
        self.wal_dir = wal_dir
        self.pid = pid
        shown = str(pid) if pid is not None else "unknown"
        super().__init__(f"WAL {wal_dir} is locked by another writer (pid {shown})")


class WalFailure(WalError):
    """A write or fsync failed: nothing from the failed batch may be acknowledged (fail-stop)."""


class WalNotFound(WalError, FileNotFoundError):
    """No WAL exists under the data dir (a reader never creates one)."""


class WalCorrupt(WalError, DataDamaged):
    """The WAL's structure is damaged (a seq gap, meta disagreeing with the events, page-level
    LMDB damage) or it was written with an incompatible schema."""


class CorruptRecord(WalError, DataDamaged):
    """A WAL record that fails its CRC, its schema check or decoding."""


class SnapshotDamaged(DataDamaged, ValueError):
    """An engine or projection snapshot whose content does not match its CRC, or does not load."""
