"""The server writes its own WebSocket frame headers; a real parser must read them back."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from betex.server.connection import text_frame


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    gen = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(gen)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70_000, 1 << 20])
def test_text_frame_headers_round_trip_at_every_length_boundary(size: int) -> None:
    payload = b"y" * size
    frame = parse(text_frame(payload) + payload)
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == payload
