"""The WAL record codec: an event ↔ msgpack ``[tag, schema_version, crc32(payload), payload]``.

The payload is the event's positional tuple (`betex.core.domain.events`), so the encoding is
stable as long as event fields are only ever appended; the tags below are never renumbered,
only appended. Anything that does not decode to exactly such a record raises `CorruptRecord`
(a `DataDamaged`): CRC mismatch, another schema version, an unknown tag, a payload of the wrong
shape.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import msgpack

from betex.core.domain.events import (
    AccountCreated,
    AccountLimitSet,
    BatchProcessed,
    BetDelaySet,
    Event,
    KeyIssued,
    KeyRevoked,
    Leg,
    MarketCreated,
    MarketSettled,
    MarketStateChanged,
    MarketVoided,
    OrderAccepted,
    OrderCancelled,
    OrderDelayed,
    OrderMatured,
    ReducedTrade,
    RunnerRemoved,
    RunnersAdded,
    Tick,
    TradeMatched,
    TradesVoided,
)
from betex.core.errors import CorruptRecord

SCHEMA_VERSION = 1
"""The record schema, also stored in the WAL's meta; a WAL of another version is refused."""

# Stable wire tags: never renumber, only append.
EVENT_TYPES: dict[int, type[Any]] = {
    1: MarketCreated,
    2: RunnersAdded,
    3: MarketStateChanged,
    4: OrderAccepted,
    5: OrderCancelled,
    6: TradeMatched,
    7: TradesVoided,
    8: MarketSettled,
    9: MarketVoided,
    10: AccountLimitSet,
    11: BatchProcessed,
    12: RunnerRemoved,  # runner removal (13..16 free for later exchange rules)
    17: BetDelaySet,  # in-play bet delay: 17..20
    18: OrderDelayed,
    19: OrderMatured,
    20: Tick,
    21: AccountCreated,
    22: KeyIssued,
    23: KeyRevoked,
}
TAG_OF: dict[type[Any], int] = {cls: tag for tag, cls in EVENT_TYPES.items()}

# One reusable packer: `packb` builds a new Packer per call (half the cost of encoding). A
# `pack()` call is a single C call that holds the GIL, so sharing it across threads is safe.
_packb = msgpack.Packer(autoreset=True).pack
_unpackb = msgpack.unpackb
_crc32 = zlib.crc32


def encode(event: Event) -> bytes:
    """The WAL record: msgpack ``[tag, schema_version, crc32(payload), payload]``."""
    payload: bytes = _packb(event)
    record: bytes = _packb((TAG_OF[type(event)], SCHEMA_VERSION, _crc32(payload), payload))
    return record


def decode(record: bytes) -> Event:
    """Inverse of `encode`; raises CorruptRecord on any damage."""
    try:
        tag, version, crc, payload = _unpackb(record, use_list=False)
    except Exception as exc:  # msgpack raises several types for garbage
        raise CorruptRecord(f"undecodable record: {exc}") from exc
    if version != SCHEMA_VERSION:
        raise CorruptRecord(f"schema version {version}, expected {SCHEMA_VERSION}")
    if not isinstance(payload, bytes) or _crc32(payload) != crc:
        raise CorruptRecord("CRC mismatch")
    cls = EVENT_TYPES.get(tag)
    if cls is None:
        raise CorruptRecord(f"unknown event tag {tag}")
    try:
        return from_fields(cls, _unpackb(payload, use_list=False))
    except Exception as exc:
        raise CorruptRecord(f"bad {cls.__name__} payload: {exc}") from exc


NESTED: frozenset[type[Any]] = frozenset({TradeMatched, RunnerRemoved})
"""Event types whose fields hold tuples of other types (legs), rebuilt by `from_fields`."""


def from_fields(cls: type[Any], fields: Sequence[Any]) -> Event:
    """The event of type `cls` from its decoded fields (msgpack gives plain sequences for nested
    tuples: a trade's legs, a runner removal's reduced trades and their legs). Also used by the
    engine → gateway channel (`runtime.ipc`), which carries the same fields."""
    if cls is TradeMatched:
        return TradeMatched(*fields[:14], tuple(Leg(*leg) for leg in fields[14]), *fields[15:])  # type: ignore[call-arg]
    if cls is RunnerRemoved:  # its reduced trades carry legs too
        reduced = tuple(
            ReducedTrade(r[0], r[1], r[2], tuple(Leg(*leg) for leg in r[3]), r[4]) for r in fields[7]
        )
        return RunnerRemoved(*fields[:7], reduced, *fields[8:])  # type: ignore[call-arg]
    event: Event = cls(*fields)
    return event
