"""EngineServer with real processes: two gateways drive one engine; SIGKILL loses nothing acked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from betex.core.domain.events import OrderAccepted
from betex.core.durability.journal import JournalReader
from betex.core.runtime.ipc import EngineLink
from betex.core.runtime.ring import WAIT_STRATEGIES
from tests.core.workload import order_cmd

ROOT = Path(__file__).resolve().parents[3]


def spawn(module: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def start_engine(
    procs: list[subprocess.Popen[str]], data: Path, sock: Path, strategy: str
) -> subprocess.Popen[str]:
    engine = spawn("tests.core.runtime.engine_child", data, sock, strategy)
    procs.append(engine)
    assert engine.stdout is not None and engine.stdout.readline().strip() == "ready"
    return engine


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_every_command_acked_to_two_gateways_is_durable_after_a_sigkill_of_the_engine(
    tmp_path: Path, procs: list[subprocess.Popen[str]], strategy: str
) -> None:
    data, sock = tmp_path / "data", tmp_path / "engine.sock"
    engine = start_engine(procs, data, sock, strategy)
    acks = [tmp_path / f"acks-{a}.txt" for a in (1, 2)]
    clients = [spawn("tests.core.runtime.ipc_child", "acked", sock, a, acks[a - 1], a) for a in (1, 2)]
    procs.extend(clients)
    deadline = time.monotonic() + 60
    while min(len(lines(f)) for f in acks) < 1500:  # both gateways are being served
        assert time.monotonic() < deadline, [len(lines(f)) for f in acks]
        time.sleep(0.02)
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait(10)
    for c in clients:  # each gateway sees the engine go away and exits cleanly
        out, _ = c.communicate(timeout=30)
        assert c.returncode == 0 and json.loads(out)["acked"] > 0
    acked = dict(line.split() for f in acks for line in lines(f))
    with JournalReader(data) as reader:
        assert reader.verify() is None
        in_wal = {e.client_ref: e.order_id for e in reader.iter_events() if isinstance(e, OrderAccepted)}
    missing = {ref for ref, oid in acked.items() if in_wal.get(ref) != int(oid)}
    assert not missing, f"{len(missing)} acknowledged orders are not in the WAL: {sorted(missing)[:5]}"
    for a in (1, 2):  # each gateway's orders were executed in its command order
        refs = [int(ref.split("-")[1]) for ref in in_wal if ref.startswith(f"{a}-")]
        assert refs == sorted(refs) and refs == list(range(len(refs)))


def test_sigterm_answers_everything_accepted_then_exits(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    data, sock = tmp_path / "data", tmp_path / "engine.sock"
    engine = start_engine(procs, data, sock, "blocking-wait")
    link = EngineLink.connect(sock, window=4096)
    assert link.send([order_cmd(i, client_ref=f"t{i}") for i in range(3000)]) == 3000
    got = link.receive(timeout=10)
    engine.send_signal(signal.SIGTERM)
    while len(got) < 3000:
        more = link.receive(timeout=10)
        assert more, f"only {len(got)} of 3000 replies before the engine stopped"
        got += more
    assert [cid for cid, _ in got] == list(range(1, 3001))
    out, _ = engine.communicate(timeout=30)
    assert engine.returncode == 0 and "stopped" in out
    link.close()
