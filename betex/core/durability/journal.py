"""The write-ahead log: every engine event, in seq order, in one LMDB environment.

Layout under a data dir: ``wal/`` (the LMDB environment, named DBs ``events`` and ``meta``),
``wal/writer.lock`` (flock held by the single writer) and ``snapshots/`` (engine snapshots).
``events`` maps an 8-byte big-endian seq to `betex.core.durability.codec.encode(event)`; ``meta`` holds
the schema version, the creation time and the last committed seq, updated in the same txn.

This is the only module that imports LMDB, and the boundary where LMDB's own damage reports
(`MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND`, `MDB_INVALID`) become `WalCorrupt`, a `DataDamaged`.
py-lmdb refuses to open one environment twice in a process, so writers and readers in the same
process share one `lmdb.Environment` through a small registry; a gate keeps map resizes (which
remap memory) away from live read txns.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import struct
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import lmdb
import msgpack

from betex.core.domain.events import TYPE_NAMES, Event
from betex.core.durability import archive
from betex.core.durability.codec import EVENT_TYPES, SCHEMA_VERSION, decode, encode
from betex.core.durability.files import release_mapped_pages
from betex.core.errors import CorruptRecord, WalCorrupt, WalError, WalFailure, WalLocked, WalNotFound

log = logging.getLogger(__name__)

Durability = Literal["sync", "async"]
DURABILITY_MODES: tuple[str, ...] = ("sync", "async")

WAL_DIRNAME = "wal"
SNAPSHOTS_DIRNAME = "snapshots"
LOCK_FILENAME = "writer.lock"

_KEY = struct.Struct(">Q")
_EVENTS_DB = b"events"
_META_DB = b"meta"
_META_SCHEMA = b"schema_version"
_META_CREATED = b"created_ns"
_META_LAST_SEQ = b"last_seq"
_MAX_MAP_SIZE = 1 << 44  # 16 TiB: past this a MapFullError is a real fault, not a growth step
RELEASE_MAP_EVERY = 8 << 20
"""Bytes appended between two `files.release_mapped_pages` of ``data.mdb``: the WAL pages LMDB
touched through its map leave this process's RSS (they stay in the OS cache). 8 MiB of events
is ~100k events; one release costs a /proc/self/maps read and one madvise per mapping."""
_READ_CHUNK = 4096  # records per read txn: keeps txns short so resizes and writers never wait long


_LMDB_DAMAGE: tuple[type[lmdb.Error], ...] = (lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.InvalidError)
"""What LMDB raises when the file's pages are damaged (a bad sector, a stray write, a torn copy):
the caller did nothing wrong and a retry cannot help."""


def _damaged(wal_dir: Path, exc: lmdb.Error) -> WalCorrupt:
    return WalCorrupt(f"WAL {wal_dir} has page-level damage ({exc}); restore it from a backup")


def wal_dir_of(data_dir: Path) -> Path:
    return Path(data_dir) / WAL_DIRNAME


def snapshots_dir_of(data_dir: Path) -> Path:
    return Path(data_dir) / SNAPSHOTS_DIRNAME


def encode_key(seq: int) -> bytes:
    return _KEY.pack(seq)


def decode_key(key: bytes) -> int:
    seq: int = _KEY.unpack(key)[0]
    return seq


# --------------------------------------------------------------------------------------------
# Shared environments (one per WAL per process)


DISK_SLACK_BYTES = 1 << 20
"""Free space below which a failed write is blamed on a full disk: an LMDB commit writes whole
pages, the meta page and a little more than the records themselves."""


def disk_full_hint(path: Path, exc: BaseException, needed: int) -> str:
    """ " (ENOSPC: ...)" when a failed write looks like a full disk, else "".

    LMDB reports a full disk as ENOSPC on some filesystems and as EIO
    ("mdb_txn_commit: Input/output error") on others, so the free space is checked as well.
    """
    code = getattr(exc, "errno", None)
    try:
        free: int | None = shutil.disk_usage(path).free
    except OSError:
        free = None
    full = code == errno.ENOSPC or "No space left" in str(exc)
    if not full and (free is None or free >= needed + DISK_SLACK_BYTES):
        return ""
    shown = "unknown" if free is None else f"{free} bytes"
    return f" (ENOSPC: the filesystem of {path} is full: {shown} free, the write needed about {needed} bytes)"


class _Gate:
    """Many short read txns at once, or one exclusive remap/reopen; never both."""

    __slots__ = ("_cond", "_readers", "_exclusive")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._exclusive = False

    def enter_shared(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._readers += 1

    def exit_shared(self) -> None:
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    def enter_exclusive(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._readers:
                self._cond.wait()

    def exit_exclusive(self) -> None:
        with self._cond:
            self._exclusive = False
            self._cond.notify_all()


class _SharedEnv:
    """One LMDB environment per WAL directory per process, reference counted."""

    def __init__(self, key: str, wal_dir: Path) -> None:
        self.key = key
        self.wal_dir = wal_dir
        self.gate = _Gate()
        self.refs = 0
        self.env: lmdb.Environment | None = None
        self.events_db: Any = None
        self.meta_db: Any = None
        self.writable = False
        self.durability: str = "sync"
        self.remaps = 0  # times a foreign map growth made us remap

    def open(self, writable: bool, durability: str, map_size: int) -> None:
        """(Re)open in the requested mode; caller holds the gate exclusively or is alone."""
        if self.env is not None:
            if not writable or (self.writable and self.durability == durability):
                return
            self.env.close()
            self.env = None
        if writable:
            sync = durability == "sync"
            env = lmdb.open(
                str(self.wal_dir),
                map_size=map_size,
                max_dbs=4,
                subdir=True,
                sync=sync,
                metasync=sync,
                lock=True,
                meminit=False,
            )
            self.events_db = env.open_db(_EVENTS_DB, create=True)
            self.meta_db = env.open_db(_META_DB, create=True)
        else:
            # map_size=0 adopts the writer's current map size; a later growth is picked up on
            # MapResizedError (see _ReadTxn)
            env = lmdb.open(
                str(self.wal_dir), readonly=True, max_dbs=4, subdir=True, lock=True, create=False, map_size=0
            )
            try:
                self.events_db = env.open_db(_EVENTS_DB, create=False)
                self.meta_db = env.open_db(_META_DB, create=False)
            except lmdb.NotFoundError as exc:
                env.close()
                raise WalNotFound(f"no WAL in {self.wal_dir} (no events database yet)") from exc
        self.env = env
        self.writable = writable
        self.durability = durability

    def read_txn(self) -> _ReadTxn:
        return _ReadTxn(self)

    def adopt_new_map_size(self) -> None:
        """Another process grew the map: remap at its size (LMDB: set_mapsize(0))."""
        self.gate.enter_exclusive()
        try:
            assert self.env is not None
            self.env.set_mapsize(0)
            self.remaps += 1
        finally:
            self.gate.exit_exclusive()


class _ReadTxn:
    """A short read txn under the shared gate; retries once after a foreign map growth."""

    __slots__ = ("_shared", "_txn")

    def __init__(self, shared: _SharedEnv) -> None:
        self._shared = shared
        self._txn: Any = None

    def __enter__(self) -> Any:
        shared = self._shared
        for attempt in range(3):
            shared.gate.enter_shared()
            try:
                assert shared.env is not None, "WAL reader used after close"
                self._txn = shared.env.begin(write=False, buffers=False)
                return self._txn
            except lmdb.MapResizedError:
                shared.gate.exit_shared()
                if attempt == 2:
                    raise
                shared.adopt_new_map_size()
            except _LMDB_DAMAGE as exc:
                shared.gate.exit_shared()
                raise _damaged(shared.wal_dir, exc) from exc
            except BaseException:
                shared.gate.exit_shared()
                raise
        raise AssertionError("unreachable")

    def __exit__(self, *exc: object) -> None:
        try:
            self._txn.abort()
        finally:
            self._txn = None
            self._shared.gate.exit_shared()


_REGISTRY: dict[str, _SharedEnv] = {}
_REGISTRY_LOCK = threading.Lock()


def _acquire_env(wal_dir: Path, writable: bool, durability: str, map_size: int) -> _SharedEnv:
    key = os.path.realpath(wal_dir)
    with _REGISTRY_LOCK:
        shared = _REGISTRY.get(key)
        if shared is None:
            shared = _SharedEnv(key, wal_dir)
            try:
                shared.open(writable, durability, map_size)
            except _LMDB_DAMAGE as exc:
                raise _damaged(wal_dir, exc) from exc
            _REGISTRY[key] = shared
        elif writable and not (shared.writable and shared.durability == durability):
            shared.gate.enter_exclusive()
            try:
                shared.open(writable, durability, map_size)
            finally:
                shared.gate.exit_exclusive()
        shared.refs += 1
        return shared


def _release_env(shared: _SharedEnv) -> None:
    with _REGISTRY_LOCK:
        shared.refs -= 1
        if shared.refs > 0:
            return
        del _REGISTRY[shared.key]
        shared.gate.enter_exclusive()
        try:
            if shared.env is not None:
                shared.env.close()
                shared.env = None
        finally:
            shared.gate.exit_exclusive()


# --------------------------------------------------------------------------------------------
# Writer


def _read_lock_pid(lock_path: Path) -> int | None:
    for _ in range(20):  # the holder writes its pid right after locking; give it a moment
        try:
            text = lock_path.read_text().strip()
        except OSError:
            text = ""
        if text.isdigit():
            return int(text)
        time.sleep(0.005)
    return None


def _flock_or_locked(fd: int, mode: int, lock_path: Path) -> None:
    """flock `fd` (`mode`, non-blocking); `WalLocked` naming the holder if another process holds
    a conflicting lock (the caller closes `fd` either way it fails)."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise WalLocked(lock_path.parent, _read_lock_pid(lock_path)) from None
        raise


def ensure_writer_free(data_dir: Path) -> None:
    """Raise `WalLocked` (naming the holder) if a writer holds the WAL of `data_dir` now.

    For a supervisor about to start the writer in another process (`serve --gateways N`): it
    refuses before starting anything, as the one-process server does, instead of starting
    gateways beside someone else's engine. A probe, not a lock: the writer's own
    `open_writer` still decides.
    """
    lock_path = wal_dir_of(Path(data_dir)) / LOCK_FILENAME
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # no WAL yet: nobody holds it
    try:
        _flock_or_locked(fd, fcntl.LOCK_SH, lock_path)
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if it got it


class Journal:
    """The single writer of a WAL. Open with `Journal.open_writer`; one txn per `append`."""

    def __init__(
        self, data_dir: Path, wal_dir: Path, shared: _SharedEnv, lock_fd: int, durability: str
    ) -> None:
        self.data_dir = data_dir
        self.wal_dir = wal_dir
        self.durability = durability
        self._shared = shared
        self._lock_fd: int | None = lock_fd
        self._failed: WalFailure | None = None
        self.commits = 0
        self.events_written = 0
        self.bytes_written = 0
        self.map_growths = 0
        self._unreleased = 0  # bytes appended since the map's resident pages were last released
        self._last_seq = self._check_and_init_meta()

    @classmethod
    def open_writer(cls, data_dir: Path, durability: str = "sync", map_size: int = 1 << 30) -> Journal:
        """Take the writer lock (flock, non-blocking) and open the WAL for appending.

        Raises `WalLocked` if another writer holds it; the flock is advisory and local: it is
        not fencing on NFS/SMB/shared volumes.
        """
        if durability not in DURABILITY_MODES:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY_MODES)}, not {durability!r}")
        if map_size <= 0:
            raise ValueError(f"map_size must be positive, not {map_size}")
        data_dir = Path(data_dir)
        wal_dir = wal_dir_of(data_dir)
        wal_dir.mkdir(parents=True, exist_ok=True)
        snapshots_dir_of(data_dir).mkdir(parents=True, exist_ok=True)
        lock_path = wal_dir / LOCK_FILENAME
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _flock_or_locked(fd, fcntl.LOCK_EX, lock_path)
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            shared = _acquire_env(wal_dir, True, durability, map_size)
        except BaseException:
            os.close(fd)
            raise
        try:
            return cls(data_dir, wal_dir, shared, fd, durability)
        except BaseException:
            _release_env(shared)
            os.close(fd)
            raise

    def _check_and_init_meta(self) -> int:
        try:
            return self._check_and_init_meta_txn()
        except _LMDB_DAMAGE as exc:
            raise _damaged(self.wal_dir, exc) from exc

    def _check_and_init_meta_txn(self) -> int:
        env = self._shared.env
        assert env is not None
        events_db, meta_db = self._shared.events_db, self._shared.meta_db
        with env.begin(write=True) as txn:
            schema = txn.get(_META_SCHEMA, db=meta_db)
            if schema is None:
                txn.put(_META_SCHEMA, msgpack.packb(SCHEMA_VERSION), db=meta_db)
                txn.put(_META_CREATED, msgpack.packb(time.time_ns()), db=meta_db)
                txn.put(_META_LAST_SEQ, msgpack.packb(0), db=meta_db)
            elif msgpack.unpackb(schema) != SCHEMA_VERSION:
                raise WalCorrupt(
                    f"WAL {self.wal_dir} has schema version {msgpack.unpackb(schema)}, "
                    f"this betex writes {SCHEMA_VERSION}"
                )
            raw_last = txn.get(_META_LAST_SEQ, db=meta_db)
            meta_last = msgpack.unpackb(raw_last) if raw_last is not None else 0
            cur = txn.cursor(db=events_db)
            key_last = decode_key(cur.key()) if cur.last() else 0
        if meta_last != key_last:
            raise WalCorrupt(
                f"WAL {self.wal_dir}: meta last_seq {meta_last} disagrees with last event seq {key_last}"
            )
        return int(key_last)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def map_size(self) -> int:
        env = self._shared.env
        return int(env.info()["map_size"]) if env is not None else 0

    @property
    def failed(self) -> WalFailure | None:
        return self._failed

    def append(self, events: Sequence[Event]) -> int:
        """Commit `events` (contiguous from last_seq + 1) in ONE write txn; returns bytes written.

        On `MapFullError` the map doubles and the same batch is retried (nothing lost or
        duplicated). Any other failure raises `WalFailure` and poisons the journal.
        """
        if self._failed is not None:
            raise WalFailure(f"WAL {self.wal_dir} failed earlier: {self._failed}") from self._failed
        if self._lock_fd is None:
            raise WalFailure(f"WAL {self.wal_dir} is closed")
        n = len(events)
        if n == 0:
            return 0
        first = self._last_seq + 1
        last = self._last_seq + n
        if events[0].seq != first or events[-1].seq != last:
            raise ValueError(
                f"non-contiguous batch: seq {events[0].seq}..{events[-1].seq}, expected {first}..{last}"
            )
        pack = _KEY.pack
        items = [(pack(e.seq), encode(e)) for e in events]
        nbytes = sum([len(v) for _, v in items])
        meta_value = msgpack.packb(last)
        shared = self._shared
        while True:
            env = shared.env
            assert env is not None
            try:
                with env.begin(write=True) as txn:
                    _, added = txn.cursor(db=shared.events_db).putmulti(items, append=True)
                    if added != n:
                        # append mode skips keys that do not increase: refuse to half-commit
                        raise WalFailure(f"WAL append stored {added} of {n} records (seq order broken)")
                    txn.put(_META_LAST_SEQ, meta_value, db=shared.meta_db)
                break
            except lmdb.MapFullError:
                self._grow()
            except WalFailure as exc:
                self._failed = exc
                raise
            except (lmdb.Error, OSError) as exc:
                hint = disk_full_hint(self.wal_dir, exc, nbytes)
                self._failed = WalFailure(f"WAL {self.wal_dir} write failed: {exc}{hint}")
                raise self._failed from exc
        self._last_seq = last
        self.commits += 1
        self.events_written += n
        self.bytes_written += nbytes
        self._unreleased += nbytes
        if self._unreleased >= RELEASE_MAP_EVERY:
            self._unreleased = 0
            release_mapped_pages(self.wal_dir / "data.mdb")
        return nbytes

    def first_seq(self) -> int:
        """The first seq still in LMDB (0 for an empty WAL): 1 unless `wal archive` moved some."""
        env = self._shared.env
        assert env is not None
        with env.begin() as txn:
            cur = txn.cursor(db=self._shared.events_db)
            return decode_key(cur.key()) if cur.first() else 0

    def records(self, from_seq: int, to_seq: int) -> list[bytes]:
        """The raw records ``from_seq..to_seq`` from LMDB (the archiver copies them as they are)."""
        env = self._shared.env
        assert env is not None
        out: list[bytes] = []
        with env.begin(buffers=False) as txn:
            cur = txn.cursor(db=self._shared.events_db)
            if cur.set_key(_KEY.pack(from_seq)):
                for key, value in cur.iternext(keys=True, values=True):
                    if decode_key(key) > to_seq:
                        break
                    out.append(bytes(value))
        if len(out) != to_seq - from_seq + 1:
            raise WalCorrupt(f"WAL {self.wal_dir}: seq {from_seq}..{to_seq} is not all there")
        return out

    def delete_through(self, seq: int) -> int:
        """Delete the records with seq <= `seq` in one txn (after `wal archive` wrote them to a
        segment); the last record always stays (meta last_seq is checked against it)."""
        if seq >= self._last_seq:
            raise ValueError(f"cannot delete through {seq}: the WAL's last record is {self._last_seq}")
        env = self._shared.env
        assert env is not None
        deleted = 0
        try:
            with env.begin(write=True) as txn:
                cur = txn.cursor(db=self._shared.events_db)
                ok = cur.first()
                while ok and decode_key(cur.key()) <= seq:
                    ok = cur.delete()
                    deleted += 1
        except (lmdb.Error, OSError) as exc:
            raise WalFailure(f"WAL {self.wal_dir} delete failed: {exc}") from exc
        return deleted

    def _grow(self) -> None:
        shared = self._shared
        env = shared.env
        assert env is not None
        old = int(env.info()["map_size"])
        new = old * 2
        if new > _MAX_MAP_SIZE:
            self._failed = WalFailure(f"WAL {self.wal_dir} map is full at {old} bytes")
            raise self._failed
        shared.gate.enter_exclusive()
        try:
            env.set_mapsize(new)
        except (lmdb.Error, OSError) as exc:
            hint = disk_full_hint(self.wal_dir, exc, new - old)
            self._failed = WalFailure(f"WAL {self.wal_dir} could not grow map to {new} bytes: {exc}{hint}")
            raise self._failed from exc
        finally:
            shared.gate.exit_exclusive()
        self.map_growths += 1
        log.info("WAL map grown from %d to %d bytes", old, new)

    def sync(self) -> None:
        """Force everything committed so far to disk (what `async` durability skips per commit)."""
        env = self._shared.env
        if env is None:
            return
        try:
            env.sync(True)
        except (lmdb.Error, OSError) as exc:
            self._failed = WalFailure(f"WAL {self.wal_dir} fsync failed: {exc}")
            raise self._failed from exc

    def close(self) -> None:
        """Flush (async mode), release the environment and the writer lock. Idempotent."""
        if self._lock_fd is None:
            return
        try:
            if self.durability == "async" and self._failed is None:
                self.sync()
        finally:
            _release_env(self._shared)
            fd, self._lock_fd = self._lock_fd, None
            os.close(fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reader


@dataclass(frozen=True, slots=True)
class WalStats:
    """What `wal inspect --stats` prints."""

    events: int
    first_seq: int
    last_seq: int
    record_bytes: int
    file_bytes: int
    first_ts: int | None
    last_ts: int | None
    counts_by_type: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "record_bytes": self.record_bytes,
            "file_bytes": self.file_bytes,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "counts_by_type": dict(self.counts_by_type),
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Result of a full WAL check; `first_bad_seq` is None when everything is sound."""

    checked: int
    last_seq: int
    first_bad_seq: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


class JournalReader:
    """Read-only view of a WAL; never takes the writer lock, works while a writer runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.wal_dir = wal_dir_of(self.data_dir)
        if not (self.wal_dir / "data.mdb").exists():
            raise WalNotFound(f"no WAL in {self.wal_dir}")
        self._shared: _SharedEnv | None = _acquire_env(self.wal_dir, False, "sync", 0)

    def _env(self) -> _SharedEnv:
        if self._shared is None:
            raise WalError("JournalReader is closed")
        return self._shared

    def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            _release_env(shared)

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def remaps(self) -> int:
        """How often this process remapped after the writer (in another process) grew the map."""
        return self._env().remaps

    def meta(self) -> dict[str, int]:
        shared = self._env()
        with shared.read_txn() as txn:
            out: dict[str, int] = {}
            for key in (_META_SCHEMA, _META_CREATED, _META_LAST_SEQ):
                try:
                    raw = txn.get(key, db=shared.meta_db)
                except _LMDB_DAMAGE as exc:
                    raise _damaged(self.wal_dir, exc) from exc
                if raw is not None:
                    out[key.decode()] = int(msgpack.unpackb(raw))
            return out

    def last_seq(self) -> int:
        """The last committed seq, from meta (0 for an empty WAL)."""
        return self.meta().get("last_seq", 0)

    def backup(self, dest_wal: Path, compact: bool = True) -> None:
        """Hot copy of the WAL into the empty directory `dest_wal` (``mdb_env_copy2``), fsynced.

        A consistent snapshot of the last commit; a running writer is never blocked (map growth
        waits for the copy). Uses this process's shared environment, so it works beside a writer.
        """
        dest_wal = Path(dest_wal)
        dest_wal.mkdir(parents=True, exist_ok=True)
        shared = self._env()
        shared.gate.enter_shared()
        try:
            assert shared.env is not None
            shared.env.copy(str(dest_wal), compact=compact)
        except _LMDB_DAMAGE as exc:
            raise _damaged(self.wal_dir, exc) from exc
        except lmdb.Error as exc:
            raise WalError(f"backup of {self.wal_dir} to {dest_wal} failed: {exc}") from exc
        finally:
            shared.gate.exit_shared()
        for path, flags in ((dest_wal / "data.mdb", os.O_RDONLY), (dest_wal, os.O_RDONLY | os.O_DIRECTORY)):
            fd = os.open(path, flags)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _chunks(self, from_seq: int, to_seq: int | None) -> Iterator[list[tuple[bytes, bytes]]]:
        """``(key, record)`` lists of up to `_READ_CHUNK`, each read in its own short txn."""
        shared = self._env()
        start = max(1, from_seq)
        end_key = _KEY.pack(to_seq) if to_seq is not None else None
        while to_seq is None or start <= to_seq:
            damage: lmdb.Error | None = None
            with shared.read_txn() as txn:
                cur = txn.cursor(db=shared.events_db)
                try:
                    if not cur.set_range(_KEY.pack(start)):
                        return
                    items: list[tuple[bytes, bytes]] = list(
                        islice(cur.iternext(keys=True, values=True), _READ_CHUNK)
                    )
                except _LMDB_DAMAGE as exc:
                    damage = exc
            if damage is not None:
                # yield what reads before the damaged page, so the error names the first bad seq
                salvaged = self._salvage(start, to_seq)
                if salvaged:
                    yield salvaged
                first_bad = _KEY.unpack(salvaged[-1][0])[0] + 1 if salvaged else start
                raise WalCorrupt(
                    f"seq {first_bad}: unreadable, page-level damage ({damage}); restore the WAL from a backup"
                ) from damage
            if not items:
                return
            full = len(items) == _READ_CHUNK
            if end_key is not None and items[-1][0] > end_key:  # big-endian keys sort numerically
                items = items[: bisect_right([k for k, _ in items], end_key)]
                full = False
            if items:
                yield items
            if not full:
                return
            start = _KEY.unpack(items[-1][0])[0] + 1

    def _salvage(self, start: int, to_seq: int | None) -> list[tuple[bytes, bytes]]:
        """The records from `start` that still read, one cursor step at a time, up to the damage."""
        shared = self._env()
        items: list[tuple[bytes, bytes]] = []
        try:
            with shared.read_txn() as txn:
                cur = txn.cursor(db=shared.events_db)
                ok = cur.set_range(_KEY.pack(start))
                while ok and len(items) < _READ_CHUNK:
                    key = cur.key()
                    if to_seq is not None and _KEY.unpack(key)[0] > to_seq:
                        break
                    items.append((key, cur.value()))
                    ok = cur.next()
        except (lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.InvalidError, WalCorrupt):
            pass  # the caller reports the damage at the first record not returned
        return items

    def _archive_part(self, from_seq: int, to_seq: int | None) -> tuple[Iterator[tuple[int, bytes]], int]:
        """The archived records of the range, and the seq the LMDB part starts at: archive
        segments (`durability.archive`) up to their last seq, the WAL after it (an overlap left by
        a crashed `wal archive` is read once)."""
        if from_seq > 1 and not (self.data_dir / archive.ARCHIVE_DIR).exists():
            if not (self.data_dir / archive.DIRS_FILE).exists():
                return iter(()), from_seq
        through = archive.archived_through(archive.list_segments(self.data_dir))
        if through == 0:
            return iter(()), from_seq
        return archive.iter_archived(self.data_dir, from_seq, to_seq), max(from_seq, through + 1)

    def iter_records(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Raw ``(seq, record)`` pairs in seq order, archive segments first (for verification
        and inspection)."""
        archived, start = self._archive_part(from_seq, to_seq)
        yield from archived
        unpack = _KEY.unpack
        for items in self._chunks(start, to_seq):
            for key, value in items:
                yield unpack(key)[0], value

    def iter_events(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Event]:
        """Decoded events in seq order, archive segments first; a damaged record raises
        `CorruptRecord` naming its seq."""
        archived, start = self._archive_part(from_seq, to_seq)
        for seq, value in archived:
            try:
                yield decode(value)
            except CorruptRecord as exc:
                raise CorruptRecord(f"seq {seq} (archived): {exc}") from exc
        for items in self._chunks(start, to_seq):
            for key, value in items:
                try:
                    yield decode(value)
                except CorruptRecord as exc:
                    raise CorruptRecord(f"seq {decode_key(key)}: {exc}") from exc

    def follow(
        self,
        from_seq: int = 1,
        poll_interval: float = 0.2,
        stop: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Like ``tail -f``: yield events from `from_seq` on, then new ones as they commit.

        Ends only when `stop` is set (or the consumer stops iterating).
        """
        next_seq = max(1, from_seq)
        while stop is None or not stop.is_set():
            got = False
            for event in self.iter_events(next_seq):
                got = True
                next_seq = event.seq + 1
                yield event
                if stop is not None and stop.is_set():
                    return
            if not got:
                if stop is not None:
                    stop.wait(poll_interval)
                else:
                    time.sleep(poll_interval)

    def stats(self) -> WalStats:
        counts: Counter[int] = Counter()
        first_seq = last_seq = 0
        nbytes = 0
        first_ts: int | None = None
        last_record: bytes | None = None
        unpackb = msgpack.unpackb
        for seq, record in self.iter_records():
            tag = unpackb(record, use_list=False)[0]
            counts[tag] += 1
            nbytes += len(record)
            if first_seq == 0:
                first_seq = seq
                first_ts = decode(record).ts
            last_seq = seq
            last_record = record
        last_ts = decode(last_record).ts if last_record is not None else None
        by_name = {
            TYPE_NAMES[EVENT_TYPES[tag]] if tag in EVENT_TYPES else f"UNKNOWN_{tag}": n
            for tag, n in sorted(counts.items())
        }
        data_file = self.wal_dir / "data.mdb"
        return WalStats(
            events=sum(counts.values()),
            first_seq=first_seq,
            last_seq=last_seq,
            record_bytes=nbytes,
            file_bytes=data_file.stat().st_size if data_file.exists() else 0,
            first_ts=first_ts,
            last_ts=last_ts,
            counts_by_type=by_name,
        )

    def verify_report(self) -> VerifyReport:
        """Check every record: CRC, schema, decoding, seq == key, contiguity from 1, meta."""
        expected = 1
        checked = 0
        meta_last = self.last_seq()
        records = self.iter_records()
        while True:
            try:
                seq, record = next(records)
            except StopIteration:
                break
            except WalCorrupt as exc:  # page-level damage: the scan cannot go on past it
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                return VerifyReport(checked, meta_last, expected, f"unreadable, page-level damage ({cause})")
            if seq != expected:
                return VerifyReport(checked, meta_last, expected, f"seq {expected} missing (next is {seq})")
            try:
                event = decode(record)
            except CorruptRecord as exc:
                return VerifyReport(checked, meta_last, seq, str(exc))
            if event.seq != seq:
                return VerifyReport(
                    checked, meta_last, seq, f"record under key {seq} carries seq {event.seq}"
                )
            checked += 1
            expected += 1
        last = expected - 1
        if meta_last > last:
            return VerifyReport(
                checked, meta_last, last + 1, f"meta last_seq {meta_last} but events end at {last}"
            )
        if meta_last < last:
            # a writer may have committed between our meta read and the scan; re-read once
            meta_last = self.last_seq()
            if meta_last < last:
                return VerifyReport(
                    checked, meta_last, meta_last + 1, f"events run to {last} past meta last_seq {meta_last}"
                )
        return VerifyReport(checked, meta_last, None, None)

    def verify(self) -> int | None:
        """The first bad seq, or None when the WAL is sound (details: `verify_report`)."""
        return self.verify_report().first_bad_seq
