"""The engine IPC channel with real processes: framing, order, dead peers, back-pressure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from betex.core.domain.results import Ack, Fill, MarketResult, OrderResult, Reject, Result
from betex.core.domain.types import RejectCode
from betex.core.runtime.ipc import (
    ChannelClosed,
    ChannelError,
    EngineLink,
    EngineListener,
    FrameReader,
    decode_commands,
    decode_replies,
    encode_commands,
    encode_replies,
    frame,
)
from betex.core.runtime.ring import WAIT_STRATEGIES
from tests.core.runtime.ipc_child import cmd
from tests.core.workload import market_cmd, order_cmd

ROOT = Path(__file__).resolve().parents[3]


def child(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.runtime.ipc_child", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def report(p: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "engine.sock"


def start_engine(
    procs: list[subprocess.Popen[str]], path: Path, strategy: str, slow_s: float = 0.0, expect: int = 1
) -> subprocess.Popen[str]:
    p = child("engine", path, strategy, slow_s, 4096, expect)
    procs.append(p)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def test_commands_and_every_result_type_round_trip() -> None:
    cmds = [market_cmd()] + [order_cmd(i, client_ref="é✓") for i in range(5)]
    first, back, wants = decode_commands(encode_commands(7, cmds, [True, False] * 3))
    assert (first, back, wants) == (7, cmds, [True, False] * 3)
    replaced = OrderResult("REPLACED", 2, 1, 1, "BACK", 260, 100, 0, 100, 0)
    results: list[Result | None] = [
        Reject(RejectCode.INVALID_ODDS, "odds 1.00 is not a tick"),
        OrderResult(
            "ACCEPTED", 1, 1, 1, "BACK", 250, 100, 50, 50, 0, (Fill(1, 250, 50, False, 2.5),), 2, replaced
        ),
        MarketResult(1, "OPEN", "PRE_PLAY", 3, True),
        Ack({"cancelled": 3}),
        Ack(),
        None,
    ]
    first, back_results = decode_replies(encode_replies(3, results))
    assert first == 3 and back_results == results
    assert type(back_results[0].code) is RejectCode  # type: ignore[union-attr]


def test_garbage_and_oversized_frames_are_channel_errors_not_crashes() -> None:
    with pytest.raises(ChannelError):
        decode_commands(b"\xc1garbage")
    with pytest.raises(ChannelError):
        decode_commands(encode_replies(1, [None]))  # a replies frame where commands belong
    with pytest.raises(ChannelError, match="exceeds"):
        FrameReader(max_frame=10).feed(frame(b"x" * 11))


def test_frames_survive_partial_reads_and_writes(sock_path: Path, procs: list[subprocess.Popen[str]]) -> None:
    lst = EngineListener(sock_path)
    try:
        p = child("dribble", sock_path, 7)
        procs.append(p)
        got: list[Any] = []
        deadline = time.monotonic() + 60
        while len(got) < 4098 and time.monotonic() < deadline:
            if lst.wait(0.1):
                for inc in lst.take(4096):
                    got += inc.commands
                    lst.reply(inc, [Ack({"size": c.size}) for c in inc.commands])  # type: ignore[union-attr]
                lst.flush()
        assert got == [cmd(9, 1, "a")] + [cmd(9, 2 + i, "b" * (i % 5)) for i in range(4096)] + [
            cmd(9, 4098, "é✓")
        ]
        while p.poll() is None and time.monotonic() < deadline:  # the reader takes 3 bytes at a time
            lst.wait(0.01)
            lst.flush()
        assert report(p) == {"sizes_in_order": True}
    finally:
        lst.close()


@pytest.mark.parametrize("strategy", WAIT_STRATEGIES)
def test_two_gateways_each_get_replies_in_their_command_order(
    sock_path: Path, procs: list[subprocess.Popen[str]], strategy: str
) -> None:
    engine = start_engine(procs, sock_path, strategy, expect=2)
    clients = [child("client", sock_path, acct, 20_000, 512, acct) for acct in (1, 2)]
    procs.extend(clients)
    for c in clients:
        r = report(c)
        assert r["got"] == 20_000 and r["in_order"] is True
        assert 0 < r["max_in_flight"] <= 512
    r = report(engine)
    assert r["in_order"] is True and sorted(r["commands"].values()) == [20_000, 20_000]


def test_a_flood_larger_than_the_window_is_slowed_never_dropped(
    sock_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    engine = start_engine(procs, sock_path, "blocking-wait", slow_s=0.002)  # an engine that is behind
    link = EngineLink.connect(sock_path, window=1000)
    n, sent, credits, refused = 60_000, 0, 0, 0
    while credits < n:
        if sent < n:
            batch = [cmd(3, sent + 1 + i) for i in range(min(700, n - sent))]
            k = link.send(batch, want_reply=False)  # no_ack: the replies are only credits
            assert link.in_flight <= 1000
            sent += k
            refused += k < len(batch)
        for _cid, result in link.receive(timeout=0.5 if link.room() == 0 or sent == n else 0):
            assert result is None
            credits += 1
    link.close()
    assert refused > 0  # the window closed: the sender learnt that the engine was behind
    r = report(engine)
    assert r["commands"] == {"1": n} and r["in_order"] is True


def test_a_killed_gateway_is_detected_and_the_other_gateway_carries_on(
    sock_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    lst = EngineListener(sock_path)
    try:
        doomed = child("client", sock_path, 1, 10**9, 256, 1)  # never finishes on its own
        procs.append(doomed)
        other = EngineLink.connect(sock_path, window=256)
        deadline = time.monotonic() + 30
        while len(lst.peers) < 2 or lst.commands_in < 1000:
            assert time.monotonic() < deadline
            if lst.wait(0.05):
                for inc in lst.take(4096):
                    lst.reply(inc, [Ack() for _ in inc.commands])
                lst.flush()
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        while not lst.gone:
            assert time.monotonic() < deadline
            if lst.wait(0.05):
                for inc in lst.take(4096):
                    lst.reply(inc, [Ack() for _ in inc.commands])
                lst.flush()
        assert len(lst.gone) == 1 and len(lst.peers) == 1
        assert other.send([cmd(2, 1)]) == 1
        while not lst.wait(0.05):
            assert time.monotonic() < deadline
        (inc,) = lst.take(10)
        lst.reply(inc, [Ack({"size": 1})])
        lst.flush()
        assert other.receive(timeout=10) == [(1, Ack({"size": 1}))]
        other.close()
    finally:
        lst.close()


def test_a_killed_engine_is_detected_by_the_gateway(
    sock_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    engine = start_engine(procs, sock_path, "blocking-wait")
    link = EngineLink.connect(sock_path, window=64)
    assert link.send([cmd(1, 1)]) == 1
    assert link.receive(timeout=10) == [(1, Ack({"size": 1, "account": 1}))]
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait(10)
    with pytest.raises(ChannelClosed):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            link.send([cmd(1, 2)])
            link.receive(timeout=0.1)
    link.close()


def test_a_gateway_that_ignores_its_window_is_dropped(sock_path: Path) -> None:
    lst = EngineListener(sock_path, max_in_flight=100)
    try:
        rogue = EngineLink.connect(sock_path, window=1000)  # claims more than the engine allows
        assert rogue.send([cmd(1, i + 1) for i in range(150)]) == 150
        deadline = time.monotonic() + 10
        while not lst.gone:
            assert time.monotonic() < deadline
            lst.wait(0.05)
            lst.take(4096)
        assert "ignored its window" in lst.gone[0][1] and not lst.peers
        with pytest.raises(ChannelClosed):
            rogue.receive(timeout=5)
        rogue.close()
    finally:
        lst.close()


def test_every_command_type_has_a_channel_tag() -> None:
    """A command the gateway parses must reach the engine: a type without a tag could not be
    sent over the split (REMOVE_RUNNER once had none and timed out there)."""
    from typing import get_args

    from betex.core.domain.commands import Command
    from betex.core.runtime.ipc import COMMAND_TAG

    assert {t.__name__ for t in get_args(Command)} - {t.__name__ for t in COMMAND_TAG} == set()


def test_an_events_frame_rebuilds_nested_events_exactly() -> None:
    """Trades' legs and a runner removal's re-priced trades (with their legs) come back as the
    same typed tuples as the WAL decodes them, so a gateway's projection applies them alike."""
    from betex.core.domain import commands as C
    from betex.core.domain.events import RunnerRemoved, TradeMatched
    from betex.core.runtime.ipc import decode_engine_frame, encode_events, events_of
    from tests.core.domain.test_removal import worked_example

    h, m = worked_example()
    h.run(C.RemoveRunner(m, 3, 2000))
    kinds = {type(e) for e in h.events}
    assert TradeMatched in kinds and RunnerRemoved in kinds
    _kind, last_seq, body = decode_engine_frame(encode_events(h.events[-1].seq, h.events))
    assert last_seq == h.events[-1].seq
    back = events_of(body)
    assert back == h.events
    assert [type(e) for e in back] == [type(e) for e in h.events]
