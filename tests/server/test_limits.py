"""Connection limits against a real server: idle sockets, slowloris, idle WebSockets, clients
that never read, all counted in /metrics."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import resource
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.server.wsclient import Client


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Room for a few thousand sockets in this process (the server raises its own limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if want < 2200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for 2,000 sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def metrics(server: ServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def open_idle(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(True)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_idle_sockets_do_not_stop_a_client_being_served(
    many_fds: None, data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--durability", "async", "--request-timeout", "30")
    socks = open_idle(server.port, 2000)
    try:
        time.sleep(0.5)  # let the server accept them all
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        times = []
        for i in range(2):  # a new connection, then a second request on it (keep-alive)
            t0 = time.perf_counter()
            conn.request("GET", "/health")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            times.append(time.perf_counter() - t0)
            assert resp.status == 200 and body["status"] == "ok", body
            assert not resp.will_close  # the server keeps the connection for the next request
            if i == 0:
                first_sock = conn.sock
                time.sleep(0.2)
        assert conn.sock is first_sock and first_sock is not None  # the same connection served both
        conn.close()
        print(
            f"/health served in {times[0]:.3f}s, then {times[1]:.3f}s on the kept-alive connection, "
            f"with 2,000 idle sockets open ({max(times) / 1.0:.3f} of the 1 s limit)"
        )
        assert max(times) < 1.0, f"served after {times}"
        m = metrics(server)["limits"]
        assert m["refused"]["max_connections_per_client"] > 0, m
        assert m["tcp_connections"] <= m["max_connections_per_client"] + 2, m
        log = server.log()
        assert log.count("for max_connections_per_client") == 1, log[-2000:]
    finally:
        for s in socks:
            s.close()


def test_a_request_that_never_completes_is_cut_off(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--durability", "async", "--request-timeout", "0.5")
    s = socket.create_connection(("127.0.0.1", server.port))
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        s.settimeout(5)
        t0 = time.perf_counter()
        assert s.recv(1024) == b""  # closed by the server
        assert time.perf_counter() - t0 < 3
    finally:
        s.close()
    assert metrics(server)["limits"]["refused"]["request_timeout"] >= 1


async def test_an_idle_websocket_is_closed(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory(data_dir, "--durability", "async", "--idle-timeout", "0.5")
    conn = await Client.connect(server.ws_url + "/ws_ctl", ping_interval=None)
    try:
        await conn.wait_for(lambda: conn.close_code is not None, timeout=5)
        assert conn.close_code == 1001
    finally:
        await conn.close()
    assert metrics(server)["limits"]["refused"]["idle_timeout"] >= 1


async def test_clients_that_never_read_stay_under_the_outbox_bound(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    bound = 16 * 1024 * 1024
    server = server_factory(
        data_dir,
        "--durability",
        "async",
        "--max-outbox-total",
        str(bound),
        "--rate-per-account",
        "0",
    )
    admin = await Client.connect(server.ws_url + "/ws_ctl")
    for i in range(30):  # a MARKET_LIST reply of a few KB
        await admin.call(
            "CREATE_MARKET",
            {
                "name": f"Market {i} " + "x" * 150,
                "market_model": "EXCHANGE_ODDS",
                "book_type": "MULTI_RUNNER",
                "market_kind": "PRE_ONLY",
                "market_state": "OPEN",
                "market_phase": "PRE",
                "runner_ids": [1, 2, 3],
            },
        )
    await admin.close()
    base = rss_bytes(server.proc.pid)
    request = b'{"LIST_MARKETS": {}}'
    socks: list[socket.socket] = []
    peak = base
    try:
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(
                b"GET /ws_ctl HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            socks.append(s)
        frame = bytes((0x81, 0x80 | len(request))) + b"\0\0\0\0" + request  # masked with a zero key
        burst = frame * 2000
        for _round in range(6):
            for s in socks:
                try:
                    s.sendall(burst)
                except OSError:
                    pass  # dropped by the server: what the bound is for
            await asyncio.sleep(0.2)
            peak = max(peak, rss_bytes(server.proc.pid))
        m = metrics(server)["limits"]
    finally:
        for s in socks:
            s.close()
    grown = peak - base
    print(
        f"RSS grew {grown / 2**20:.1f} MiB with a {bound / 2**20:.0f} MiB bound ({grown / bound:.2f} of it)"
    )
    log = server.log()
    assert log.count("for outbox_total") == 1, log[-3000:]  # once per interval, not per client
    assert grown < bound * 3 + 32 * 1024 * 1024, (  # docs/server.md "Security model": 3× + 32 MiB
        f"RSS grew {grown / 2**20:.0f} MiB, bound {bound / 2**20:.0f} MiB"
    )
    assert m["outbox_bytes"] <= bound * 1.1, m
    with urllib.request.urlopen(server.url + "/health", timeout=5) as resp:
        assert resp.status == 200


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (needs the right to mount; skipped elsewhere)."""
    import subprocess

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


async def test_a_full_disk_is_named_and_health_warns_first(tiny_disk: Path, tmp_path: Path) -> None:
    from tests.conftest import start_server

    server = start_server(  # the log off the tiny disk, which is about to be full
        tiny_disk / "data", "--durability", "sync", "--rate-per-account", "0",
        log_path=tmp_path / "serve.log", wait=False,
    )  # fmt: skip
    try:
        await _fill_the_disk(server, tiny_disk)
    finally:
        server.stop()


async def _fill_the_disk(server: ServerProcess, tiny_disk: Path) -> None:
    deadline = time.monotonic() + 30
    while "betex serve: ready" not in server.log():
        assert time.monotonic() < deadline and server.proc.poll() is None, server.log()
        time.sleep(0.05)
    mark = "listening on http://"
    hostport = next(x for x in server.log().splitlines() if mark in x).split(mark, 1)[1].split()[0]
    server.port = int(hostport.rsplit(":", 1)[1])
    status, body = server.get("/health")  # 4 MiB: under the 16 MiB a write may need
    assert body["disk_free_bytes"] < 16 << 20 and body["status"] == "low_disk" and status == 503, body
    admin = await Client.connect(server.ws_url + "/ws_ctl")
    try:
        _kind, created = await admin.call(
            "CREATE_MARKET",
            {"name": "D", "market_model": "EXCHANGE_ODDS", "book_type": "MULTI_RUNNER",
             "market_kind": "PRE_ONLY", "market_state": "OPEN", "market_phase": "PRE", "runner_ids": [1, 2]},
        )  # fmt: skip
        market_id = created["market_id"]
        free = server.get("/health")[1]["disk_free_bytes"]
        (tiny_disk / "fill").write_bytes(b"\0" * max(0, free - 64 * 1024))  # leave 64 KiB
        order = {"market_id": market_id, "runner_id": 1, "side": "BACK", "price": 2.0, "size": 5.0,
                 "account_id": 1}  # fmt: skip
        for i in range(20_000):
            kind, body = await admin.call("PLACE_ORDER", {**order, "price": 2.0 + (i % 50) / 100})
            if body.get("error", {}).get("code") == "OVERLOADED":
                break
        else:
            pytest.fail("the disk never filled")
    finally:
        await admin.close()
    log = server.log()
    line = next(x for x in log.splitlines() if "fail-stop" in x)
    assert "ENOSPC" in line and str(tiny_disk / "data") in line, line
    status, body = server.get("/health")
    assert status == 503 and body["status"] == "failed" and "ENOSPC" in body["error"]["message"], body


REFUSAL_LINE = re.compile(r"refused (\d+) connection\(s\)/command\(s\) for (\w+) in the last")


async def test_a_flood_of_refusals_is_logged_once_per_interval_with_its_count(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    """Hundreds of refusals of five kinds: each kind gets one WARNING when it starts and one at
    shutdown with the rest of the count (the interval is 60 s), never a line per event; the
    counts in the log add up to /metrics."""
    server = server_factory(
        data_dir,
        "--durability", "async",
        "--admin-token", "s3cret",
        "--rate-per-account", "5", "--rate-burst", "5",
        "--max-connections-per-client", "20",
        "--request-timeout", "1",
    )  # fmt: skip
    for _ in range(150):  # an evil Origin, and a wrong admin token: refused at the upgrade
        assert server_get(server, "/ws_ctl", {"Origin": "https://evil.example"}) == 403
        assert server_get(server, "/ws_ctl?token=wrong", {}) == 401
    admin = await Client.connect(server.ws_url + "/ws_ctl?token=s3cret")
    kind, body = await admin.call(
        "CREATE_MARKET",
        {
            "name": "Flood",
            "market_model": "EXCHANGE_ODDS",
            "book_type": "MULTI_RUNNER",
            "market_kind": "PRE_ONLY",
            "market_state": "OPEN",
            "market_phase": "PRE",
            "runner_ids": [1, 2],
        },
    )
    assert kind == "MARKET_CREATED", body
    order = {"market_id": body["market_id"], "runner_id": 1, "side": "BACK", "price": 3.0, "size": 2.0}
    codes = [
        (await admin.call("PLACE_ORDER", {**order, "account_id": 7}))[1].get("error", {}).get("code")
        for _ in range(200)
    ]
    assert codes.count("RATE_LIMITED") >= 150, codes
    await admin.close()
    socks = open_idle(server.port, 200)  # 180 over the per-address cap; the 20 left time out
    try:
        await asyncio.sleep(2.0)
    finally:
        for s in socks:
            s.close()
    refused = metrics(server)["limits"]["refused"]
    assert server.stop() == 0
    lines: dict[str, list[int]] = {}
    for n, kind in REFUSAL_LINE.findall(server.log()):
        lines.setdefault(kind, []).append(int(n))
    for kind in ("origin", "unauthorized", "rate_limited", "max_connections_per_client", "request_timeout"):
        assert refused[kind] >= 10, (kind, refused)
        assert len(lines.get(kind, [])) == 2, (kind, lines.get(kind))  # the first, then the rest
        assert lines[kind][0] == 1 and sum(lines[kind]) == refused[kind], (kind, lines[kind], refused)
    assert "disconnecting" not in server.log()


def server_get(server: ServerProcess, path: str, headers: dict[str, str]) -> int:
    req = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
