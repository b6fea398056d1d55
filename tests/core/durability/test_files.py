"""The durable-write helper and the clean-up after a crash, with real failures and real kills."""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from betex.core.durability.files import remove_stale_temps, temp_path, write_atomic
from tests.cli.conftest import betex, write_wal
from tests.conftest import start_server

REPO = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).parent / "write_child.py"


def child(mode: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_atomic_replaces_the_target_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    assert write_atomic(target, b"new" * 1000) == target
    assert target.read_bytes() == b"new" * 1000
    assert os.listdir(tmp_path) == ["file.bin"]


def test_a_write_that_fails_midway_leaves_no_temp_file_and_the_old_target(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write() fail with EFBIG part-way through a real file, in a child."""
    data = tmp_path / "data"
    write_wal(data, rounds=40)
    proc = child("fsize", data)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == [errno.EFBIG, errno.EFBIG]  # engine snapshot, projection.snap
    assert report["snapshots"] == []
    assert report["target"] == "old"
    assert not [name for name in report["data_dir"] if name.endswith(".tmp")], report


def test_an_error_while_renaming_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a-directory"
    target.mkdir()
    (target / "occupied").write_bytes(b"x")
    with pytest.raises(OSError):
        write_atomic(target, b"data")  # rename over a non-empty directory fails
    assert sorted(os.listdir(tmp_path)) == ["a-directory"]


def test_stale_temps_of_dead_writers_go_and_live_writers_temps_stay(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".engine-1.snap.{dead_pid}.tmp"
    mine = temp_path(tmp_path / "engine-2.snap")
    parent = tmp_path / f".engine-3.snap.{os.getppid()}.tmp"
    legacy = tmp_path / "projection.snap.tmp"
    keep = tmp_path / "notes.tmp"
    for path in (stale, mine, parent, legacy, keep):
        path.write_bytes(b"partial")
    assert sorted(remove_stale_temps(tmp_path)) == sorted([stale, legacy])
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (mine, parent, keep))
    assert remove_stale_temps(tmp_path / "missing") == []


def kill_mid_write(data_dir: Path, attempts: int = 30) -> list[str]:
    """SIGKILL a child while it writes an engine snapshot, until a temp file is left behind."""
    snaps = data_dir / "snapshots"
    for _ in range(attempts):
        proc = child("loop", data_dir)
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready and proc.stdout.readline().strip() == "ready", (
                proc.stderr.read() if proc.stderr else ""
            )
            deadline = time.monotonic() + 10
            while not temps(snaps) and time.monotonic() < deadline:
                pass
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate(timeout=30)
        left = temps(snaps)
        if left:
            return left
    raise AssertionError(f"no temp file left after {attempts} kills mid-write")


def test_sigkill_during_a_snapshot_write_breaks_nothing_and_the_next_start_cleans_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = write_wal(data, rounds=60)
    left = kill_mid_write(data)
    assert all(name.startswith(".engine-") for name in left)

    # an offline tool starts: same state, the stale temp file is gone
    r = betex("replay", "--data-dir", str(data), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["state_hash"] == engine.state_hash()
    assert temps(data / "snapshots") == []

    # the server starts after another crash: it recovers the same seq and cleans up too
    kill_mid_write(data)
    server = start_server(data)
    try:
        assert temps(data / "snapshots") == [] and temps(data) == []
        status, body = server.get("/health")
        assert status == 200
    finally:
        assert server.stop() == 0
    r = betex("replay", "--data-dir", str(data), "--no-snapshot", "--json")
    assert json.loads(r.out)["state_hash"] == engine.state_hash()
