"""Every HTTP error is the JSON error shape, aiohttp's own parser errors included (raw sockets).

A client mistake leaves no traceback in the server's log, and a flood of them a single line.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import ServerProcess

MALFORMED: dict[str, bytes] = {
    "raw space in the URL": b"GET /snap shot HTTP/1.1\r\nHost: x\r\n\r\n",
    "request line over 8190 bytes": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header line over 8190 bytes": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
    "too many headers": b"GET /health HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    + b"\r\n",
    "malformed method": b"G@T /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown method": b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "TLS on the HTTP port": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
    "not HTTP at all": b"hello\r\n\r\n",
}


def raw_request(server: ServerProcess, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `data` as is; (status, headers, body) of the reply."""
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, want_status: int) -> dict[str, str]:
    assert status == want_status, (status, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    doc = json.loads(body)
    assert set(doc) == {"error"}, doc
    assert set(doc["error"]) == {"code", "message"}, doc
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]
    return doc["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_parser_errors_are_json_400s(betex_server: ServerProcess, case: str) -> None:
    error = assert_json_error(*raw_request(betex_server, MALFORMED[case]), want_status=400)
    assert error["code"] == "BAD_REQUEST"


def test_route_errors_are_json(betex_server: ServerProcess) -> None:
    err = assert_json_error(
        *raw_request(betex_server, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), want_status=404
    )
    assert err["code"] == "NOT_FOUND"
    err = assert_json_error(
        *raw_request(betex_server, b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        want_status=405,
    )
    assert err["code"] == "METHOD_NOT_ALLOWED"


def test_a_flood_of_client_mistakes_logs_no_traceback_and_one_line(betex_server: ServerProcess) -> None:
    before = betex_server.log()
    for _ in range(10):
        for data in MALFORMED.values():
            raw_request(betex_server, data)
    assert betex_server.get("/health")[0] == 200
    log = betex_server.log()
    new = log[len(before) :]
    assert "Traceback" not in log
    assert "Error handling request" not in log
    assert new.count("malformed HTTP request") <= 1, new
