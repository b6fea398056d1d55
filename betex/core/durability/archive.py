"""WAL archive segments: events older than the newest engine snapshot, moved out of LMDB.

Contract (operations.md "WAL retention"):
- A segment holds the raw WAL records (each with its own CRC) of a contiguous seq range,
  ``wal-<first>-<last>-<crc32>.seg`` (the name carries the CRC of the whole file, as engine
  snapshots do), written atomically (`files.write_atomic`). Segments live in
  ``DATA_DIR/archive/`` or in directories listed in ``DATA_DIR/archive.dirs`` (`--to-dir`).
- Archiving writes a segment durably *before* deleting its events from LMDB, one LMDB txn per
  segment; a crash (kill -9 included) leaves at worst an overlap (events both in a segment and in
  the WAL), which readers resolve by taking the archive up to its last seq and the WAL after it,
  and which the next archive run removes. Nothing is deleted unless asked: segments never are.
- Readers (`JournalReader.iter_records/iter_events`, so `wal inspect`, `replay --no-snapshot`,
  `wal inspect --verify`, recovery) read archives transparently.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgpack

from betex.core.durability.files import fsync_dir, write_atomic
from betex.core.errors import WalCorrupt

ARCHIVE_DIR: Final = "archive"
DIRS_FILE: Final = "archive.dirs"
SEGMENT_EVENTS: Final = 1 << 20
"""Events per segment (a segment is read whole: ~100 MB of records at most)."""
_MAGIC: Final = "betex-wal-archive"
_VERSION: Final = 1
_NAME = re.compile(r"^wal-(\d{20})-(\d{20})-([0-9a-f]{8})\.seg$")


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path
    first: int
    last: int
    crc32: int

    @property
    def events(self) -> int:
        return self.last - self.first + 1


def archive_dirs(data_dir: Path) -> list[Path]:
    """Where a data dir's segments are: ``DATA_DIR/archive`` and each dir in ``archive.dirs``."""
    data_dir = Path(data_dir)
    dirs = [data_dir / ARCHIVE_DIR]
    listed = data_dir / DIRS_FILE
    if listed.exists():
        for line in listed.read_text().splitlines():
            if line.strip() and Path(line.strip()) not in dirs:
                dirs.append(Path(line.strip()))
    return dirs


def remember_dir(data_dir: Path, directory: Path) -> None:
    """Record an archive directory outside the data dir (in ``archive.dirs``, atomically)."""
    directory = Path(directory).resolve()
    if directory in [d.resolve() for d in archive_dirs(data_dir)]:
        return
    known = [str(d) for d in archive_dirs(data_dir)[1:]] + [str(directory)]
    write_atomic(Path(data_dir) / DIRS_FILE, ("\n".join(known) + "\n").encode())


def list_segments(data_dir: Path) -> list[Segment]:
    """Every segment of the data dir, by first seq (temp files of a crashed write are ignored)."""
    out: list[Segment] = []
    for directory in archive_dirs(data_dir):
        if not directory.is_dir():
            continue
        for entry in os.scandir(directory):
            m = _NAME.match(entry.name)
            if m:
                out.append(Segment(Path(entry.path), int(m.group(1)), int(m.group(2)), int(m.group(3), 16)))
    out.sort(key=lambda s: (s.first, s.last))
    return out


def archived_through(segments: list[Segment]) -> int:
    """The last seq of the contiguous archive from seq 1 (0 when there is none)."""
    last = 0
    for s in segments:
        if s.first > last + 1:
            break
        last = max(last, s.last)
    return last


def read_segment(segment: Segment) -> list[bytes]:
    """The segment's records, first to last; `WalCorrupt` if the file is damaged."""
    data = segment.path.read_bytes()
    if zlib.crc32(data) != segment.crc32:
        raise WalCorrupt(f"archive segment {segment.path}: CRC does not match its name")
    try:
        magic, version, first, last, records = msgpack.unpackb(data, use_list=True)
    except Exception as exc:
        raise WalCorrupt(f"archive segment {segment.path}: {exc}") from exc
    if magic != _MAGIC or version != _VERSION or (first, last) != (segment.first, segment.last):
        raise WalCorrupt(f"archive segment {segment.path}: not a betex archive segment of its range")
    if len(records) != segment.events:
        raise WalCorrupt(f"archive segment {segment.path}: {len(records)} records for {segment.events} seqs")
    out: list[bytes] = records
    return out


def write_segment(directory: Path, first: int, records: list[bytes]) -> Segment:
    """Write records ``first..first+len-1`` as one segment, durably (temp, fsync, rename)."""
    last = first + len(records) - 1
    data: bytes = msgpack.packb((_MAGIC, _VERSION, first, last, records))
    crc = zlib.crc32(data)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"wal-{first:020d}-{last:020d}-{crc:08x}.seg"
    write_atomic(path, data)
    fsync_dir(directory)
    return Segment(path, first, last, crc)


def iter_archived(data_dir: Path, from_seq: int, to_seq: int | None) -> Iterator[tuple[int, bytes]]:
    """``(seq, record)`` from the archive for ``from_seq..to_seq``, up to `archived_through`."""
    segments = list_segments(data_dir)
    through = archived_through(segments)
    end = through if to_seq is None else min(to_seq, through)
    seq = max(1, from_seq)
    for s in segments:
        if seq > end:
            return
        if s.last < seq or s.first > seq:
            continue
        records = read_segment(s)
        for i in range(seq - s.first, min(s.last, end) - s.first + 1):
            yield s.first + i, records[i]
        seq = min(s.last, end) + 1
