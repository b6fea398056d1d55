"""Child processes for the IPC tests: an echo engine, a gateway client, a byte-dribbling writer.

Run as `python -m tests.core.runtime.ipc_child MODE ...`; each prints one JSON line on exit.
The echo engine answers every command with `Ack({"size": size, "account": account_id})`, so a
client can check that reply i belongs to command i.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import time

from betex.core.domain.commands import PlaceOrder
from betex.core.domain.results import Ack, OrderResult, Result
from betex.core.runtime.ipc import (
    KIND_REPLIES,
    ChannelClosed,
    EngineLink,
    EngineListener,
    FrameReader,
    decode_engine_frame,
    decode_replies,
    encode_commands,
    frame,
)
from tests.core.workload import order_cmd


def cmd(account: int, k: int, ref: str = "") -> PlaceOrder:
    return PlaceOrder(1, 1, "BACK", 250, k, account, client_ref=ref)


def echo_engine(path: str, strategy: str, slow_s: float, max_batch: int, expect: int) -> None:
    """Serve until `expect` gateways have connected and all have gone; report what arrived."""
    lst = EngineListener(path, strategy)
    print("ready", flush=True)
    sizes: dict[int, list[int]] = {}
    seen_any = False
    while True:
        if not lst.wait(0.05):
            if seen_any and not lst.peers and len(lst.gone) >= expect:
                break
            continue
        seen_any = True
        for inc in lst.take(max_batch):
            sizes.setdefault(inc.peer.pid, []).extend(c.size for c in inc.commands)  # type: ignore[union-attr]
            results: list[Result] = [Ack({"size": c.size, "account": c.account_id}) for c in inc.commands]  # type: ignore[union-attr]
            lst.reply(inc, results)
        lst.flush()
        if slow_s:
            time.sleep(slow_s)
    lst.close()
    report = {
        "commands": {str(pid): len(s) for pid, s in sizes.items()},
        "in_order": all(s == list(range(1, len(s) + 1)) for s in sizes.values()),
        "gone": [why for _pid, why in lst.gone],
    }
    print(json.dumps(report), flush=True)


def client(path: str, account: int, n: int, window: int, seed: int) -> None:
    """Send n commands in random batch sizes through the window; check every reply's order."""
    rng = random.Random(seed)
    link = EngineLink.connect(path, window=window)
    sent = 0
    got = 0
    ok = True
    max_in_flight = 0
    window_full = 0
    while got < n:
        if sent < n:
            b = min(n - sent, rng.choice((1, 7, 64, 500, 3000)))
            k = link.send([cmd(account, sent + 1 + i) for i in range(b)], want_reply=True)
            sent += k
            if k < b:
                window_full += 1
        max_in_flight = max(max_in_flight, link.in_flight)
        for cid, r in link.receive(timeout=0.0 if sent < n and link.room() else 1.0):
            got += 1
            ok = ok and cid == got and isinstance(r, Ack) and r.detail == {"size": got, "account": account}
    link.close()
    print(
        json.dumps({"got": got, "in_order": ok, "max_in_flight": max_in_flight, "window_full": window_full})
    )


def dribble(path: str, seed: int) -> None:
    """Write three batches as one byte stream cut into 1..7-byte pieces, read replies 3 bytes at a time."""
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    batches = [[cmd(9, 1, "a")], [cmd(9, 2 + i, "b" * (i % 5)) for i in range(4096)], [cmd(9, 4098, "é✓")]]
    stream, first = b"", 1
    for b in batches:
        stream += frame(encode_commands(first, b, want_reply=True))
        first += len(b)
    pos = 0
    while pos < len(stream):
        k = rng.randint(1, 7) if pos < 2000 or pos > len(stream) - 2000 else 65536
        sock.sendall(stream[pos : pos + k])
        pos += k
        if k < 8:
            time.sleep(0.0005)
    reader = FrameReader()
    sizes: list[int] = []
    while len(sizes) < 4098:
        data = sock.recv(3)
        if not data:
            break
        for payload in reader.feed(data):
            if decode_engine_frame(payload)[0] != KIND_REPLIES:
                continue  # the engine's hello (and events frames) come on the same stream
            _first, replies = decode_replies(payload)
            sizes += [r.detail["size"] for r in replies]  # type: ignore[union-attr,index]
    sock.close()
    print(json.dumps({"sizes_in_order": sizes == list(range(1, 4099))}))


def acked_orders(path: str, account: int, acks_file: str, seed: int) -> None:
    """Place orders on market 1 with acks until the engine goes away; write each acknowledged
    `client_ref order_id` line (flushed per received frame) before looking at the next one."""
    rng = random.Random(seed)
    link = EngineLink.connect(path, window=256)
    k = acked = 0
    with open(acks_file, "w") as out:
        try:
            while True:
                b = rng.choice((1, 5, 40, 200))
                batch = [order_cmd(account * 7 + i, client_ref=f"{account}-{k + i}") for i in range(b)]
                k += link.send(batch)
                lines = []
                for cid, r in link.receive(timeout=0.05 if link.room() else 1.0):
                    assert isinstance(r, OrderResult), r
                    lines.append(f"{account}-{cid - 1} {r.order_id}\n")
                if lines:
                    out.write("".join(lines))
                    out.flush()
                    acked += len(lines)
        except ChannelClosed:
            pass
    print(json.dumps({"acked": acked}))


def main() -> None:
    mode, path, *rest = sys.argv[1:]
    if mode == "engine":
        echo_engine(path, rest[0], float(rest[1]), int(rest[2]), int(rest[3]))
    elif mode == "client":
        client(path, int(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))
    elif mode == "acked":
        acked_orders(path, int(rest[0]), rest[1], int(rest[2]))
    elif mode == "dribble":
        dribble(path, int(rest[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
