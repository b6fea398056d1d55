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
