"""The engine IPC channel (betex/core/runtime/ipc.py): commands/s between two processes.

A client process (the gateway's side: `EngineLink`) sends the betting mix of bench/engine.py as
no_ack commands in batches of B through the bounded window and waits for every credit; this
process is the engine's side (`EngineListener` with each wait strategy): it decodes every
batch and answers it (nil replies, i.e. credits), but executes nothing, so the figure is the
channel alone. Next to it, in the same run: the in-process limit for the same batch size (encode
→ frame → reassemble → decode → reply → decode, no syscalls, one process), so each figure is a
ratio to what the codec alone allows on this machine at this moment. Also, for reference, the
acked variant (every command answered with an OrderResult) at one batch size.

Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import make_stream  # noqa: E402
from betex.core.domain.results import OrderResult, Result  # noqa: E402
from betex.core.runtime.gctune import tune_for_engine  # noqa: E402
from betex.core.runtime.ipc import (  # noqa: E402
    DEFAULT_WINDOW,
    EngineLink,
    EngineListener,
    FrameReader,
    decode_commands,
    decode_replies,
    encode_commands,
    encode_replies,
    frame,
)
from betex.core.runtime.ring import WAIT_STRATEGIES  # noqa: E402

BATCHES = (1, 16, 64, 256, 1024, 4096)
ORDER = OrderResult("ACCEPTED", 1, 1, 1, "BACK", 250, 1000, 0, 1000, 0)


def n_for(batch: int, quick: bool) -> int:
    n = 8_000 if batch == 1 else 20_000 if batch < 64 else 100_000
    return n // 4 if quick else n


def in_process(cmds: list[Any], batch: int, acked: bool) -> tuple[float, float]:
    """The codec limit: both directions of the channel, in one process, without syscalls.
    Returns (commands/s, CPU microseconds per command)."""
    out_reader, back_reader = FrameReader(), FrameReader()
    t0, c0 = time.perf_counter(), time.process_time()
    first = 1
    for i in range(0, len(cmds), batch):
        chunk = cmds[i : i + batch]
        for payload in out_reader.feed(frame(encode_commands(first, chunk, acked))):
            fid, got, wants = decode_commands(payload)
            replies: list[Result | None] = [ORDER if w else None for w in wants]
            for back in back_reader.feed(frame(encode_replies(fid, replies))):
                decode_replies(back)
        first += len(chunk)
    return len(cmds) / (time.perf_counter() - t0), (time.process_time() - c0) / len(cmds) * 1e6


def client_main(path: str, batch: int, n: int, stream_file: str, window: int, acked: bool) -> None:
    """The gateway side (a separate process): send n commands, wait for every reply."""
    tune_for_engine()
    cmds = decode_commands(Path(stream_file).read_bytes())[1][:n]
    link = EngineLink.connect(path, window=window)
    sent = got = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while got < n:
        while sent < n and link.room() >= min(batch, n - sent):
            sent += link.send(cmds[sent : sent + batch], want_reply=acked)
        got += len(link.receive(timeout=1.0))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    link.close()
    print(json.dumps({"commands_per_s": n / dt, "cpu_s": cpu}), flush=True)


def through_channel(
    path: Path, strategy: str, batch: int, n: int, stream_file: Path, acked: bool
) -> tuple[float, float]:
    """(commands/s, CPU microseconds per command of both processes, waiting included)."""
    lst = EngineListener(path, strategy)
    p = subprocess.Popen(
        [sys.executable, __file__, "--client", str(path), "--batch", str(batch), "--n", str(n)]
        + ["--stream", str(stream_file)]
        + (["--acked"] if acked else []),
        stdout=subprocess.PIPE,
        text=True,
    )
    c0 = time.process_time()
    try:
        seen = False
        while not seen or lst.peers:
            if not lst.wait(0.05):
                if p.poll() is not None:
                    break
                continue
            seen = True
            for inc in lst.take(4096):
                replies: list[Result] = [ORDER] * len(inc.commands)
                lst.reply(inc, replies)
            lst.flush()
        engine_cpu = time.process_time() - c0
        out, _ = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        lst.close()
    if p.returncode != 0:
        raise SystemExit(f"client failed with {p.returncode}")
    r = json.loads(out.strip().splitlines()[-1])
    return r["commands_per_s"], (engine_cpu + r["cpu_s"]) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a quarter of the commands per point")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=256, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--acked", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stream", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=0, help="runs per point, best kept (default 2, quick 1)")
    args = ap.parse_args()
    if args.client:
        client_main(args.client, args.batch, args.n, args.stream, DEFAULT_WINDOW, args.acked)
        return
    repeat = args.repeat or (1 if args.quick else 2)
    tune_for_engine()  # as `betex serve` does, in both processes
    root = Path(tempfile.mkdtemp(prefix="betex-bench-ipc-"))
    path = root / "engine.sock"
    stream: list[Any] = make_stream(n_for(4096, args.quick), args.seed)
    stream_file = root / "stream.msgpack"  # the client reads it instead of rebuilding the stream
    stream_file.write_bytes(encode_commands(1, stream))
    rows: dict[int, dict[str, tuple[float, float]]] = {}

    def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return max(r[0] for r in runs), min(r[1] for r in runs)

    try:
        for batch in BATCHES:
            n = n_for(batch, args.quick)
            row = {"in_process": best([in_process(stream[:n], batch, False) for _ in range(repeat)])}
            for strategy in WAIT_STRATEGIES:
                row[strategy] = best(
                    [through_channel(path, strategy, batch, n, stream_file, False) for _ in range(repeat)]
                )
            rows[batch] = row
        acked_batch = 256
        n = n_for(acked_batch, args.quick)
        acked_limit = best([in_process(stream[:n], acked_batch, True) for _ in range(repeat)])[0]
        acked = best(
            [through_channel(path, "blocking-wait", acked_batch, n, stream_file, True) for _ in range(repeat)]
        )[0]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()[0]

    print("no_ack commands/s through the channel (client process → engine side), and ratio to the")
    print(f"in-process codec limit measured in the same run; best of {repeat} per point")
    print(f"{'batch':>6}{'in-process':>12}" + "".join(f"{s:>22}" for s in WAIT_STRATEGIES))
    for batch, row in rows.items():
        lim = row["in_process"][0]
        cells = "".join(f"{row[s][0]:>14,.0f} ({row[s][0] / lim:.2f})" for s in WAIT_STRATEGIES)
        print(f"{batch:>6}{lim:>12,.0f}{cells}")
    print("CPU microseconds per command (both processes, waiting included; in-process: the codec alone)")
    print(f"{'batch':>6}{'in-process':>12}" + "".join(f"{s:>22}" for s in WAIT_STRATEGIES))
    for batch, row in rows.items():
        print(
            f"{batch:>6}{row['in_process'][1]:>12.2f}"
            + "".join(f"{row[s][1]:>22.2f}" for s in WAIT_STRATEGIES)
        )
    print(
        f"acked (every command answered with an OrderResult), batch {acked_batch}, blocking-wait: "
        f"{acked:,.0f} cmd/s, {acked / acked_limit:.2f} of its in-process limit {acked_limit:,.0f}"
    )
    print(f"load average (1 min): {load:.2f} on {os.cpu_count()} cores")
    out: dict[str, Any] = {"load_avg_1m": round(load, 2), "window": DEFAULT_WINDOW}
    for batch, row in rows.items():
        out[f"in_process_b{batch}"] = round(row["in_process"][0])
        out[f"in_process_cpu_us_b{batch}"] = round(row["in_process"][1], 2)
        for s in WAIT_STRATEGIES:
            out[f"{s.replace('-', '_')}_b{batch}"] = round(row[s][0])
            out[f"{s.replace('-', '_')}_cpu_us_b{batch}"] = round(row[s][1], 2)
    out["worst_strategy_ratio_to_best_b256"] = round(
        min(rows[256][s][0] for s in WAIT_STRATEGIES) / max(rows[256][s][0] for s in WAIT_STRATEGIES), 3
    )
    out["acked_b256"] = round(acked)
    out["acked_ratio_to_in_process_b256"] = round(acked / acked_limit, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
