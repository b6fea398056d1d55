"""`betex wal inspect`: filter, follow, count and verify WAL events (readers only: works beside a server)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from betex.core.domain.events import TYPE_BY_NAME, Event, RunnerRemoved, TradeMatched, type_name
from betex.core.durability.journal import (
    VerifyReport,
    WalStats,
)
from betex.core.errors import UsageError
from betex.core.ops.common import iso_ts, open_reader


def parse_types(names: Iterable[str]) -> frozenset[str]:
    """Event type names (case-insensitive, comma-separated allowed) → canonical names.

    `UsageError` names the valid choices.
    """
    out: set[str] = set()
    for raw in names:
        for part in raw.split(","):
            name = part.strip().upper().replace("-", "_")
            if not name:
                continue
            if name not in TYPE_BY_NAME:
                raise UsageError(
                    f"unknown event type {part.strip()!r}; one of: {', '.join(sorted(TYPE_BY_NAME))}"
                )
            out.add(name)
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class InspectQuery:
    """Which events `wal inspect` shows: a seq range, one market, some types, at most `limit`."""

    from_seq: int = 1
    to_seq: int | None = None
    market_id: int | None = None
    types: frozenset[str] = frozenset()
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.from_seq < 0:
            raise UsageError(f"--from must be >= 0, not {self.from_seq}")
        if self.to_seq is not None and self.to_seq < self.from_seq:
            raise UsageError(f"--to ({self.to_seq}) is before --from ({self.from_seq})")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be >= 1, not {self.limit}")

    def matches(self, event: Event) -> bool:
        if self.market_id is not None and event.market_id != self.market_id:
            return False
        return not self.types or type_name(event) in self.types


def select(events: Iterable[Event], query: InspectQuery) -> Iterator[Event]:
    """The events that match `query`, stopping after `query.limit` of them."""
    left = query.limit
    for event in events:
        if query.matches(event):
            yield event
            if left is not None:
                left -= 1
                if left == 0:
                    return


def inspect(data_dir: Path, query: InspectQuery) -> Iterator[Event]:
    """Matching events from the WAL in seq order; a damaged record raises `CorruptRecord`."""
    with open_reader(data_dir) as reader:
        yield from select(reader.iter_events(max(1, query.from_seq), query.to_seq), query)


def follow(
    data_dir: Path,
    query: InspectQuery,
    stop: threading.Event | None = None,
    poll_interval: float = 0.1,
    from_end: bool = False,
) -> Iterator[Event]:
    """Like `inspect`, then keep yielding matching events as a writer commits them.

    `from_end`: start after the last committed seq (only new events). Ends when `stop` is set,
    `query.to_seq` is passed or `query.limit` events were yielded.
    """
    with open_reader(data_dir) as reader:
        start = reader.last_seq() + 1 if from_end else max(1, query.from_seq)
        events = reader.follow(start, poll_interval=poll_interval, stop=stop)
        to_seq = query.to_seq
        if to_seq is not None:
            events = _until(events, to_seq)
        yield from select(events, query)


def _until(events: Iterator[Event], to_seq: int) -> Iterator[Event]:
    for event in events:
        if event.seq > to_seq:
            return
        yield event
        if event.seq == to_seq:
            return


_SKIP_FIELDS = frozenset({"seq", "ts", "market_id", "legs"})


def describe(event: Event) -> str:
    """One line of the event's own fields in engine units (what the `wal inspect` table shows)."""
    parts = []
    for key, value in event._asdict().items():
        if key in _SKIP_FIELDS or value == "":
            continue
        if isinstance(value, tuple):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    if isinstance(event, TradeMatched):
        parts.append(f"legs={len(event.legs)}")
    elif isinstance(event, RunnerRemoved):  # each re-priced trade as id:original→reduced
        parts = [p for p in parts if not p.startswith("reduced=")]
        parts.append(
            "reduced=" + ",".join(f"{r.trade_id}:{r.original_price}→{r.price}" for r in event.reduced)
        )
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class StatsReport:
    """`WalStats` plus what an operator asks next: disk use, time span, event rate."""

    wal: WalStats
    disk_bytes: int
    meta: dict[str, int] = field(default_factory=dict)

    @property
    def span_s(self) -> float | None:
        w = self.wal
        if w.first_ts is None or w.last_ts is None:
            return None
        return (w.last_ts - w.first_ts) / 1e9

    @property
    def events_per_s(self) -> float | None:
        span = self.span_s
        return self.wal.events / span if span else None

    def to_dict(self) -> dict[str, Any]:
        d = self.wal.to_dict()
        rate = self.events_per_s
        d.update(
            {
                "disk_bytes": self.disk_bytes,
                "first_time": iso_ts(self.wal.first_ts),
                "last_time": iso_ts(self.wal.last_ts),
                "span_s": None if self.span_s is None else round(self.span_s, 6),
                "events_per_s": None if rate is None else round(rate, 1),
                "meta_last_seq": self.meta.get("last_seq"),
                "schema_version": self.meta.get("schema_version"),
                "created_time": iso_ts(self.meta.get("created_ns")),
            }
        )
        return d


def _disk_bytes(path: Path) -> int:
    """Bytes actually allocated under `path` (LMDB's data file is sparse, its size is not usage)."""
    total = 0
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat().st_blocks * 512
    return total


def stats(data_dir: Path) -> StatsReport:
    with open_reader(data_dir) as reader:
        return StatsReport(reader.stats(), _disk_bytes(reader.wal_dir), reader.meta())


def verify(data_dir: Path) -> VerifyReport:
    """CRC, schema, decoding, key == seq, contiguity from 1 and meta, over every record."""
    with open_reader(data_dir) as reader:
        return reader.verify_report()


def verify_dict(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": report.checked,
        "last_seq": report.last_seq,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }
