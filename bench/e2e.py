"""End-to-end benchmark: `betex serve` in one process, a plain WebSocket load client in another.

1. `no_ack` throughput: the client streams pre-encoded commands (`order_mix`: PLACE_ORDERs that
   rest and match, 1% CANCEL_ALL) over `/ws_ctl?no_ack=1` as fast as the socket takes them;
   throughput is counted from the server's `/metrics` (`commands_total`), so it measures
   commands the engine committed.
2. Ack latency at a fixed open-loop rate (default 10k cmd/s): each command is sent at its
   scheduled time and its latency is measured from that time to its reply (no coordinated
   omission); p50/p99/p99.9 from all samples.

   The same phase runs again batched (`--batch`, default 100): the same mix, consecutive
   PLACE_ORDERs grouped into PLACE_ORDERS messages of up to `--batch` instructions (one engine
   batch each; CANCEL_ALLs stay single). Both figures come from the same run and server.
3. With `--bots`, the same server is then driven by the real `betex bots` CLI in another process
   (market makers, noise and informed traders): flat out with `--no-ack`, then with acks at
   `--bots-rate`; its own summary (HDR histogram, open loop) gives throughput and latency.

The server is `betex serve --gateways N` (default: what `serve` picks for the cores; 0: the
in-process server). In the same run the bench also measures:

0. the in-process engine + WAL figure (`bench/pipeline.py --quick`, its default strategy), the
   limit the end-to-end figure is compared with (`e2e_ratio`);
4. fairness: one client at a low acked rate alone, then the same beside a no_ack flood from
   another client process (`fair_p99_ratio`);
and, during the no_ack phase, the server processes' CPU seconds per wall second
(`server_cpu_cores`, from /proc) and `dropped` (commands sent but never executed).

It never leaves a child behind: the server runs in its own session and is killed by process
group in a `finally`, and every load client has a timeout.

Prints a table, then as its LAST line one JSON object (`pipeline_commands_per_s`,
`no_ack_commands_per_s`, `e2e_ratio`, `commands_sent`, `commands_executed`, `dropped`,
`ack_rate`, `ack_p50_ms`, `ack_p99_ms`, `fair_p99_ms_alone`, `fair_p99_ms_with_flood`,
`fair_p99_ratio`, `server_cpu_cores`, ...).
Usage: `python bench/e2e.py [--quick] [--durability sync] [--gateways N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PRICES = [1.9, 1.91, 1.92, 1.93, 1.94, 1.95, 1.96, 1.97, 1.98, 1.99, 2.0, 2.02, 2.04, 2.06, 2.08, 2.1]
MARKET = {
    "name": "Bench FC v Load United",
    "market_model": "EXCHANGE_ODDS",
    "book_type": "MULTI_RUNNER",
    "market_kind": "PRE_ONLY",
    "market_state": "OPEN",
    "market_phase": "PRE",
    "runner_ids": [1, 2, 3],
    "runner_labels": ["Home", "Draw", "Away"],
}


# ----------------------------------------------------------------------------- server process


def start_server(
    data_dir: Path, durability: str, log_path: Path, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    out = open(log_path, "wb")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", "betex", "serve", "--port", "0", "--data-dir", str(data_dir),
         "--durability", durability, "--log-level", "warning",
         "--rate-per-account", "0", *extra],  # throughput is measured, not limited
        stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group: `kill_tree` takes the engine and gateways too
    )  # fmt: skip
    try:  # Ctrl-C or any failure while waiting must not leave the server running
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if "listening on http://" in text:
                hostport = text.split("listening on http://", 1)[1].split()[0]
                url = f"http://{hostport}"
                while time.monotonic() < deadline:
                    try:
                        with urllib.request.urlopen(url + "/health", timeout=1) as r:
                            if r.status == 200 and ("--gateways" not in text or ": ready (" in text):
                                return proc, hostport
                    except OSError:
                        time.sleep(0.05)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    except BaseException:
        kill_tree(proc)
        raise
    kill_tree(proc)
    raise SystemExit(f"server did not start:\n{log_path.read_text(errors='replace')}")


def kill_tree(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the server's whole process group (supervisor, engine, gateways) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def server_pids(proc: subprocess.Popen[Any]) -> list[int]:
    """The server's processes: the one started and its descendants (from /proc)."""
    out, todo = [], [proc.pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds (/proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def get_json(hostport: str, path: str) -> Any:
    with urllib.request.urlopen(f"http://{hostport}{path}", timeout=5) as r:
        return json.loads(r.read())


# ----------------------------------------------------------------------------- load client


ACCOUNTS = 50
CANCEL_ALL_EVERY = 100


def order_mix(market_id: int, n: int, seed: int, start_cid: int = 1) -> list[bytes]:
    """A seeded betting mix: backs and lays around evens from 50 accounts (about half match), and
    every 100th command a CANCEL_ALL for the next account, so the book stays at a steady size
    (a few thousand resting orders) instead of growing for as long as the run lasts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % CANCEL_ALL_EVERY == CANCEL_ALL_EVERY - 1:
            account = (i // CANCEL_ALL_EVERY) % ACCOUNTS + 1
            body = {"market_id": market_id, "account_id": account, "correlation_id": start_cid + i}
            out.append(json.dumps({"CANCEL_ALL": body}, separators=(",", ":")).encode())
            continue
        side = "BACK" if rng.random() < 0.5 else "LAY"
        body = {
            "market_id": market_id,
            "runner_id": rng.randint(1, 3),
            "side": side,
            "price": rng.choice(PRICES),
            "size": float(rng.randint(2, 50)),
            "account_id": rng.randint(1, ACCOUNTS),
            "correlation_id": start_cid + i,
        }
        out.append(json.dumps({"PLACE_ORDER": body}, separators=(",", ":")).encode())
    return out


def batched(messages: list[bytes], batch: int) -> list[bytes]:
    """The same commands with consecutive PLACE_ORDERs grouped into PLACE_ORDERS of ≤ `batch`."""
    out: list[bytes] = []
    group: list[dict[str, Any]] = []
    market_id = 0

    def flush() -> None:
        if group:
            body = {"market_id": market_id, "instructions": list(group)}
            out.append(json.dumps({"PLACE_ORDERS": body}, separators=(",", ":")).encode())
            group.clear()

    for raw in messages:
        msg = json.loads(raw)
        if "PLACE_ORDER" not in msg:
            flush()
            out.append(raw)
            continue
        body = msg["PLACE_ORDER"]
        market_id = body.pop("market_id")
        body.pop("correlation_id", None)
        group.append(body)
        if len(group) >= batch:
            flush()
    flush()
    return out


def frame(payload: bytes) -> bytes:
    """A masked client TEXT frame (the mask is fixed: servers must not depend on its value)."""
    mask = b"\x00\x00\x00\x00"
    n = len(payload)
    if n < 126:
        header = bytes([0x81, 0x80 | n])
    elif n < 65536:
        header = bytes([0x81, 0x80 | 126]) + struct.pack(">H", n)
    else:
        header = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", n)
    return header + mask + payload


def raw_connect(hostport: str, path: str) -> socket.socket:
    host, port = hostport.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("handshake failed")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.decode(errors="replace"))
    return sock


def client_no_ack(hostport: str, market_id: int, n: int, seed: int, batch: int = 0) -> dict[str, Any]:
    """Stream n pre-encoded orders over one no_ack connection (grouped into PLACE_ORDERS of
    `batch` with batch > 0); the server's own count decides when done."""
    messages = order_mix(market_id, n, seed)
    if batch > 0:
        messages = batched(messages, batch)
    data = b"".join(frame(m) for m in messages)
    base = get_json(hostport, "/metrics")["commands_total"]
    sock = raw_connect(hostport, "/ws_ctl?no_ack=1")
    sock.setblocking(True)
    t0 = time.perf_counter()
    view = memoryview(data)
    step = 1 << 16
    for i in range(0, len(view), step):
        sock.sendall(view[i : i + step])
        if i % (step * 64) == 0:
            _discard_incoming(sock)
    t_sent = time.perf_counter()
    done = 0
    while True:
        done = get_json(hostport, "/metrics")["commands_total"] - base
        if done >= n:
            break
        if time.perf_counter() - t_sent > 60:
            break  # reported as dropped
        _discard_incoming(sock)
        time.sleep(0.01)
    t_done = time.perf_counter()
    sock.close()
    return {
        "commands": n,
        "executed": done,
        "send_s": t_sent - t0,
        "total_s": t_done - t0,
        "commands_per_s": done / (t_done - t0),
    }


def _discard_incoming(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while sock.recv(1 << 16):
            pass
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


_CID = b'"correlation_id":'


def _correlation_id(buf: bytearray, start: int, end: int) -> int | None:
    """The reply's top-level `correlation_id`, found without decoding the JSON: the client's
    own CPU is measured as server latency when the machine is busy, and parsing every reply
    cost it ~50 µs per command at 10k/s. Replies carry their correlation_id before any
    nested object that could hold another (the server renders it first)."""
    i = buf.find(_CID, start, end)
    if i < 0:
        return None
    i += len(_CID)
    j = i
    while j < end and 48 <= buf[j] <= 57:
        j += 1
    return int(buf[i:j]) if j > i else None


class _AckProtocol(asyncio.Protocol):
    """Raw WebSocket client side after the handshake: parses server frames, times replies."""

    def __init__(
        self, scheduled: dict[int, float], latencies: list[float], n: int, done: asyncio.Event
    ) -> None:
        self.scheduled = scheduled
        self.latencies = latencies
        self.n = n
        self.done = done
        self.buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        now = time.perf_counter()
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            n = buf[pos + 1] & 0x7F
            offset = pos + 2
            if n == 126:
                if end - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                offset = pos + 4
            elif n == 127:
                if end - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                offset = pos + 10
            if end < offset + n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                cid = _correlation_id(buf, offset, offset + n)
                t = self.scheduled.pop(cid, None) if cid is not None else None
                if t is not None:
                    self.latencies.append(now - t)
                    if len(self.latencies) == self.n:
                        self.done.set()
            pos = offset + n
        del buf[:pos]


async def client_ack_latency(
    hostport: str, market_id: int, rate: int, seconds: float, seed: int
) -> dict[str, Any]:
    """Open loop at `rate` cmd/s with acks; latency from each command's scheduled send time.

    The client is a raw socket with pre-encoded frames so that it, not the server, is never the
    bottleneck at the rates measured here.
    """
    n = int(rate * seconds)
    first_cid = 10_000_000
    frames = [frame(m) for m in order_mix(market_id, n, seed, start_cid=first_cid)]
    scheduled: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    sock = raw_connect(hostport, "/ws_ctl")
    sock.setblocking(False)
    transport, _ = await loop.create_connection(
        lambda: _AckProtocol(scheduled, latencies, n, done), sock=sock
    )
    t0 = time.perf_counter() + 0.05
    interval = 1.0 / rate
    i = 0
    write = transport.write
    while i < n:
        now = time.perf_counter()
        due = min(n, int((now - t0) / interval) + 1)
        if due > i:  # everything that is due, in one write (open loop: never wait for replies)
            for k in range(i, due):
                scheduled[first_cid + k] = t0 + k * interval
            write(b"".join(frames[i:due]))
            i = due
        # at most ~1,000 wake-ups a second: a command sent up to 1 ms after its time still
        # counts from its time, so this costs the measured latency, never flatters it
        await asyncio.sleep(max(0.001, t0 + i * interval - time.perf_counter()))
    grace = 30.0
    try:
        await asyncio.wait_for(done.wait(), timeout=grace)
    except TimeoutError:
        pass  # reported below: missing replies count as slower than the wait
    finally:
        transport.close()
    waited = time.perf_counter() - t0
    latencies.sort()
    missing = n - len(latencies)
    everything = latencies + [waited] * missing  # a lower bound for the ones never answered

    def pct(q: float) -> float:
        return everything[min(n - 1, int(q * n))] * 1000

    return {
        "commands": n,
        "rate": rate,
        "replies": len(latencies),
        "incomplete": missing > 0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": everything[-1] * 1000,
    }


def run_bots(
    hostport: str, market_id: int, seconds: float, rate: float, no_ack: bool, seed: int
) -> dict[str, Any]:
    """`betex bots` as a separate process against the server; its `--json` summary line."""
    cmd = [
        sys.executable, "-m", "betex", "bots", "--url", f"ws://{hostport}", "--market-id", str(market_id),
        "--mm-bots", "2", "--noise-bots", "4", "--informed-bots", "2", "--duration", str(seconds),
        "--rate", str(rate), "--seed", str(seed), "--json",
    ]  # fmt: skip
    if no_ack:
        cmd.append("--no-ack")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True).stdout
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def client_main(args: argparse.Namespace) -> None:
    import gc

    gc.disable()  # the load client's own collector pauses would be measured as server latency
    if args.role == "client-no-ack":
        result = client_no_ack(args.hostport, args.market_id, args.n, args.seed, args.batch)
    else:
        import uvloop

        result = uvloop.run(
            client_ack_latency(args.hostport, args.market_id, args.rate, args.seconds, args.seed)
        )
    print(json.dumps(result))


def _client_cmd(role: str, hostport: str, market_id: int, **kw: Any) -> list[str]:
    cmd = [sys.executable, __file__, "--role", role, "--hostport", hostport, "--market-id", str(market_id)]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


def start_client(role: str, hostport: str, market_id: int, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _client_cmd(role, hostport, market_id, **kw), stdout=subprocess.DEVNULL, text=True, cwd=REPO
    )


def run_pipeline(quick: bool) -> float:
    """The in-process engine + WAL figure of this run (bench/pipeline.py, default strategy, sync)."""
    cmd = [sys.executable, str(REPO / "bench" / "pipeline.py"), "--quick"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"bench/pipeline.py failed:\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["commands_per_s"])


def run_client(role: str, hostport: str, market_id: int, **kw: Any) -> dict[str, Any]:
    cmd = _client_cmd(role, hostport, market_id, **kw)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"load client failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def wait_caught_up(hostport: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = get_json(hostport, "/metrics")
        if metrics["projection"]["lag_events"] == 0 and metrics["ring"]["depth"] == 0:
            return
        time.sleep(0.05)
    raise SystemExit("the server did not catch up")


def create_market(hostport: str) -> int:
    from websockets.sync.client import connect

    with connect(f"ws://{hostport}/ws_ctl") as ws:
        ws.send(json.dumps({"CREATE_MARKET": {**MARKET, "correlation_id": 1}}))
        while True:
            msg = json.loads(ws.recv(timeout=10))
            if "MARKET_CREATED" in msg:
                return int(msg["MARKET_CREATED"]["market_id"])
            if "ACK" in msg or "ERROR" in msg:
                raise SystemExit(f"cannot create the bench market: {msg}")


# ----------------------------------------------------------------------------- driver


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short run (CI smoke)")
    p.add_argument("--durability", default="sync", choices=("sync", "async"))
    p.add_argument(
        "--rate",
        type=int,
        default=0,
        help="ack phase: commands per second (0: half the measured no_ack rate)",
    )
    p.add_argument("--gateways", type=int, default=None, help="serve --gateways N (default: serve's default)")
    p.add_argument("--window", type=int, default=0, help="serve --window N (default: serve's default)")
    p.add_argument("--max-batch", type=int, default=0, help="serve --max-batch N (default: serve's default)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=100, help="instructions per PLACE_ORDERS (batched phase)")
    p.add_argument(
        "--flood-batch",
        type=int,
        default=0,
        help="fairness flood: instructions per PLACE_ORDERS (0: single PLACE_ORDERs, as the no_ack phase)",
    )
    p.add_argument("--bots", action="store_true", help="also drive the server with `betex bots`")
    p.add_argument("--bots-rate", type=float, default=2_000, help="bots ack phase: commands per second")
    p.add_argument("--role", default="driver", help=argparse.SUPPRESS)
    p.add_argument("--hostport", help=argparse.SUPPRESS)
    p.add_argument("--market-id", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role != "driver":
        client_main(args)
        return

    n_no_ack = 30_000 if args.quick else 200_000
    ack_seconds = 2.0 if args.quick else 10.0
    pipeline = run_pipeline(args.quick)
    root = Path(tempfile.mkdtemp(prefix="betex-e2e-"))
    extra_flags: tuple[str, ...] = () if args.gateways is None else ("--gateways", str(args.gateways))
    if args.window:
        extra_flags += ("--window", str(args.window))
    if args.max_batch:
        extra_flags += ("--max-batch", str(args.max_batch))
    flood: subprocess.Popen[str] | None = None
    proc, hostport = start_server(root / "data", args.durability, root / "serve.log", extra_flags)
    try:
        market_id = create_market(hostport)
        run_client("client-no-ack", hostport, market_id, n=2_000, seed=args.seed + 1, batch=0)  # warm-up
        pids = server_pids(proc)
        cpu0, w0 = cpu_seconds(pids), time.perf_counter()
        no_ack = run_client("client-no-ack", hostport, market_id, n=n_no_ack, seed=args.seed, batch=0)
        cpu1, w1 = cpu_seconds(pids), time.perf_counter()
        cpu_by_pid = {pid: cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0) for pid in pids}
        server_cpu = sum(cpu_by_pid.values()) / (w1 - w0)
        wait_caught_up(hostport)
        no_ack_batched = run_client(
            "client-no-ack", hostport, market_id, n=n_no_ack, seed=args.seed + 3, batch=args.batch
        )
        wait_caught_up(hostport)  # the ack phase must not pay for the no_ack phase's projection lag
        rate = args.rate or max(100, int(no_ack["commands_per_s"] / 2))
        ack = run_client(
            "client-ack", hostport, market_id, rate=rate, seconds=ack_seconds, seed=args.seed + 2
        )
        wait_caught_up(hostport)
        fair_rate, fair_s = 200, (2.0 if args.quick else 4.0)
        alone = run_client(
            "client-ack", hostport, market_id, rate=fair_rate, seconds=fair_s, seed=args.seed + 3
        )
        wait_caught_up(hostport)
        flood = start_client(
            "client-no-ack",
            hostport,
            market_id,
            n=int(no_ack["commands_per_s"] * (fair_s + 3)),
            seed=args.seed + 4,
            batch=args.flood_batch,
        )
        time.sleep(0.5)  # the flood is on
        with_flood = run_client(
            "client-ack", hostport, market_id, rate=fair_rate, seconds=fair_s, seed=args.seed + 5
        )
        flood.wait(180)
        flood = None
        bots_no_ack = bots_ack = None
        if args.bots:
            bot_seconds = 3.0 if args.quick else 10.0
            wait_caught_up(hostport)
            bots_no_ack = run_bots(hostport, market_id, bot_seconds, 0, True, args.seed)
            wait_caught_up(hostport)
            bots_ack = run_bots(hostport, market_id, bot_seconds, args.bots_rate, False, args.seed + 1)
        metrics = get_json(hostport, "/metrics")
    finally:
        if flood is not None:
            flood.kill()
            flood.wait()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        kill_tree(proc)  # whatever is left of the group (nothing after a clean stop)
        shutil.rmtree(root, ignore_errors=True)

    dropped = no_ack["commands"] - no_ack["executed"]
    e2e_ratio = no_ack["commands_per_s"] / pipeline if pipeline else 0.0
    fair_ratio = with_flood["p99_ms"] / alone["p99_ms"] if alone["p99_ms"] else 0.0
    rows = [
        ("durability", args.durability, ""),
        ("gateways", "default" if args.gateways is None else str(args.gateways), "processes"),
        ("pipeline (engine+WAL, in-process)", f"{pipeline:,.0f}", "cmd/s (bench/pipeline.py --quick)"),
        ("e2e ratio", f"{e2e_ratio:.2f}", "no_ack / pipeline"),
        ("no_ack dropped", f"{dropped:,}", f"of {no_ack['commands']:,} sent"),
        ("server CPU", f"{server_cpu:.2f}", "cores during the no_ack phase"),
        *[(f"  pid {pid}", f"{sec / (w1 - w0):.2f}", "cores") for pid, sec in sorted(cpu_by_pid.items())],
        ("fair p99 alone", f"{alone['p99_ms']:.2f}", f"ms at {fair_rate}/s"),
        ("fair p99 with a flood", f"{with_flood['p99_ms']:.2f}", "ms"),
        ("no_ack commands", f"{no_ack['commands']:,}", ""),
        ("no_ack throughput", f"{no_ack['commands_per_s']:,.0f}", "cmd/s (committed, per /metrics)"),
        ("no_ack client send time", f"{no_ack['send_s']:.2f}", "s"),
        (
            f"no_ack batched throughput ({args.batch}/msg)",
            f"{no_ack_batched['commands_per_s']:,.0f}",
            "cmd/s (PLACE_ORDERS; same mix, same server)",
        ),
        ("batched / unbatched", f"{no_ack_batched['commands_per_s'] / no_ack['commands_per_s']:.2f}", "×"),
        ("ack rate (open loop)", f"{ack['rate']:,}", "cmd/s (half the no_ack figure unless --rate)"),
        (
            "ack replies",
            f"{ack['replies']:,}",
            f"of {ack['commands']:,}" + (" (INCOMPLETE)" if ack["incomplete"] else ""),
        ),
        ("ack p50", f"{ack['p50_ms']:.2f}", "ms"),
        ("ack p99", f"{ack['p99_ms']:.2f}", "ms"),
        ("ack p99.9", f"{ack['p999_ms']:.2f}", "ms"),
        ("ack max", f"{ack['max_ms']:.2f}", "ms"),
        ("server events total", f"{metrics['events_total']:,}", ""),
        ("server wal commits", f"{metrics['wal']['commits']:,}", ""),
    ]
    extra: dict[str, Any] = {}
    if bots_no_ack is not None and bots_ack is not None:
        lat = bots_ack["ack_latency_ms"]
        rows += [
            (
                "bots no_ack throughput",
                f"{bots_no_ack['commands_per_s']:,.0f}",
                "cmd/s (betex bots --no-ack)",
            ),
            ("bots ack rate", f"{args.bots_rate:,.0f}", "cmd/s target"),
            ("bots ack throughput", f"{bots_ack['commands_per_s']:,.0f}", "cmd/s"),
            ("bots ack p50 / p99", f"{lat['p50']:.2f} / {lat['p99']:.2f}", "ms"),
            ("bots ack p99.9 / max", f"{lat['p999']:.2f} / {lat['max']:.2f}", "ms"),
        ]
        extra = {
            "bots_no_ack_commands_per_s": bots_no_ack["commands_per_s"],
            "bots_ack_commands_per_s": bots_ack["commands_per_s"],
            "bots_ack_latency_ms": lat,
        }
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'value':>14}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>14}  {unit}")
    print(
        json.dumps(
            {
                "pipeline_commands_per_s": round(pipeline, 1),
                "no_ack_commands_per_s": round(no_ack["commands_per_s"], 1),
                "no_ack_batched_commands_per_s": round(no_ack_batched["commands_per_s"], 1),
                "batch": args.batch,
                "batched_over_unbatched": round(
                    no_ack_batched["commands_per_s"] / no_ack["commands_per_s"], 2
                ),
                "e2e_ratio": round(e2e_ratio, 3),
                "commands_sent": no_ack["commands"],
                "commands_executed": no_ack["executed"],
                "dropped": dropped,
                "fair_p99_ms_alone": round(alone["p99_ms"], 3),
                "fair_p99_ms_with_flood": round(with_flood["p99_ms"], 3),
                "fair_p99_ratio": round(fair_ratio, 3),
                "fair_flood_batch": args.flood_batch,
                "server_cpu_cores": round(server_cpu, 3),
                "cpu_cores_by_pid": {str(k): round(v / (w1 - w0), 3) for k, v in cpu_by_pid.items()},
                "ack_p50_ms": round(ack["p50_ms"], 3),
                "ack_p99_ms": round(ack["p99_ms"], 3),
                "ack_p999_ms": round(ack["p999_ms"], 3),
                "ack_rate": ack["rate"],
                "ack_incomplete": ack["incomplete"],
                "durability": args.durability,
                "quick": args.quick,
                **extra,
            }
        )
    )


if __name__ == "__main__":
    main()
