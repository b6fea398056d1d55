"""The WAL record codec: lossless round trips, damage detection, thread safety."""

import pytest

from betex.core.domain.events import TradeMatched
from betex.core.durability.codec import decode, encode
from betex.core.errors import CorruptRecord, DataDamaged
from tests.core.domain.test_engine import busy_harness


def test_events_encode_and_decode_losslessly() -> None:
    h = busy_harness()
    assert any(isinstance(ev, TradeMatched) for ev in h.events)
    for ev in h.events:
        assert decode(encode(ev)) == ev


def test_damaged_records_are_detected() -> None:
    ev = busy_harness().events[3]
    rec = bytearray(encode(ev))
    rec[-2] ^= 0xFF
    with pytest.raises(CorruptRecord):
        decode(bytes(rec))
    with pytest.raises(CorruptRecord):
        decode(b"\x00garbage")
    assert issubclass(CorruptRecord, DataDamaged)


def test_encoding_is_safe_from_several_threads() -> None:
    """`encode` shares one msgpack Packer; each pack() is a single GIL-holding call."""
    import threading

    template = busy_harness().events[3]
    bad: list[int] = []

    def worker() -> None:
        for i in range(20_000):
            ev = template._replace(seq=i)
            if decode(encode(ev)) != ev:
                bad.append(i)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_a_market_created_record_from_before_commission_decodes_with_commission_0() -> None:
    """MARKET_CREATED gained `commission_bps` as its last field (domain.md §7): a WAL written
    before it holds 11-field payloads, which decode to the same market with commission 0."""
    import zlib

    import msgpack

    from betex.core.domain.events import MarketCreated
    from betex.core.durability.codec import SCHEMA_VERSION, decode, encode

    old = (1, 5, 1, "m", "EXCHANGE_ODDS", "MULTI_RUNNER", "PRE_ONLY", "OPEN", "PRE", (1, 2), ("A", "B"))
    payload = msgpack.packb(old)
    record = msgpack.packb((1, SCHEMA_VERSION, zlib.crc32(payload), payload))
    ev = decode(record)
    assert ev == MarketCreated(*old, commission_bps=0)
    assert decode(encode(ev._replace(commission_bps=250))).commission_bps == 250  # type: ignore[union-attr]
