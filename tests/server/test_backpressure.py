"""Slow readers: snapshots are conflated (a lagging client gets the newest state, never a backlog)
and a client that keeps asking while never reading is disconnected once its replies pile up."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.conftest import ServerProcess


class RawWebSocket:
    """A bare client socket with a tiny receive buffer that reads only when told to."""

    def __init__(self, server: ServerProcess, path: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((server.host, server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = b""

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (
            bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def read_messages(self, idle: float = 0.5) -> list[dict[str, Any]]:
        """Everything the server has sent until `idle` seconds pass without new data."""
        self.sock.settimeout(idle)
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    break
                self.buf += chunk
        except TimeoutError:
            pass
        out = []
        while len(self.buf) >= 2:
            n = self.buf[1] & 0x7F
            offset = 2
            if n == 126:
                n, offset = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                n, offset = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < offset + n:
                break
            out.append(json.loads(self.buf[offset : offset + n]))
            self.buf = self.buf[offset + n :]
        return out

    def close(self) -> None:
        self.sock.close()


def _control(server: ServerProcess) -> Any:
    return connect(server.ws_url + "/ws_ctl", max_size=None)


def call(ws: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps({kind: body}))
    while True:
        msg = json.loads(ws.recv(timeout=5))
        if "SNAPSHOT" not in msg and "STATUS" not in msg:
            return msg


@pytest.fixture(scope="module")
def market(betex_server: ServerProcess) -> int:
    """Five markets of 40 runners (so MARKET_LIST is ~10 KiB); the first one's id."""
    ids = []
    with _control(betex_server) as ws:
        for n in range(5):
            reply = call(
                ws,
                "CREATE_MARKET",
                {
                    "name": f"Busy {n}",
                    "market_model": "EXCHANGE_ODDS",
                    "book_type": "MULTI_RUNNER",
                    "market_kind": "PRE_ONLY",
                    "market_state": "OPEN",
                    "market_phase": "PRE",
                    "runner_ids": list(range(1, 41)),
                    "runner_labels": [f"runner number {i} with a long label" for i in range(1, 41)],
                },
            )
            ids.append(int(reply["MARKET_CREATED"]["market_id"]))
    return ids[0]


def test_lagging_subscriber_gets_the_newest_snapshot_not_a_backlog(
    betex_server: ServerProcess, market: int
) -> None:
    slow = RawWebSocket(betex_server, f"/ws?market_id={market}&depth=350")
    try:
        with _control(betex_server) as ws:
            for i in range(300):  # 300 changes over ~15+ snapshot ticks while the reader sleeps
                call(ws, "PLACE_ORDER", {"market_id": market, "runner_id": 1 + i % 40, "side": "BACK",
                                         "price": 1.01 + (i % 90) / 100, "size": 1.0, "account_id": 61})  # fmt: skip
            time.sleep(0.3)
            expected = betex_server.get_json(f"/snapshot?market_id={market}&depth=350")
        snapshots = [m["SNAPSHOT"] for m in slow.read_messages() if "SNAPSHOT" in m]
        assert snapshots[-1] == expected
        assert len(snapshots) < 300
        assert betex_server.get_json("/metrics")["connections"]["slow_disconnects"] == 0
    finally:
        slow.close()


def test_client_that_never_reads_its_replies_is_disconnected(
    betex_server: ServerProcess, market: int
) -> None:
    hog = RawWebSocket(betex_server, "/ws_ctl")
    try:
        for i in range(4000):  # ~40 MiB of MARKET_LIST replies: well past the 8 MiB bound
            try:
                hog.send_text(json.dumps({"LIST_MARKETS": {"correlation_id": i}}))
            except OSError:  # the server aborted the connection
                break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if betex_server.get_json("/metrics")["connections"]["slow_disconnects"] >= 1:
                break
            time.sleep(0.1)
        assert betex_server.get_json("/metrics")["connections"]["slow_disconnects"] >= 1
    finally:
        hog.close()
    assert betex_server.get("/health")[0] == 200
    with _control(betex_server) as ws:
        assert "MARKET_LIST" in call(ws, "LIST_MARKETS", {})
