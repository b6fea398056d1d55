"""Single writer: a second `betex serve` on the same data dir exits 3 and names the holder."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO, ServerProcess, betex_cmd


def test_second_server_on_same_data_dir_exits_3_naming_the_lock_holder(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    first = server_factory(data_dir, "--durability", "async")

    second = subprocess.run(
        betex_cmd("serve", "--port", "0", "--data-dir", str(data_dir)),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )

    assert second.returncode == 3, second.stderr
    wal = data_dir / "wal"
    # the holder is the process that owns the WAL: the server itself, or its engine process
    engine = re.search(r"engine pid (\d+)", first.log())
    holder = int(engine.group(1)) if engine else first.proc.pid
    assert second.stderr.strip() == f"error: WAL {wal} is locked by another writer (pid {holder})"
    assert first.get("/health")[0] == 200


def test_lock_is_released_on_clean_shutdown(
    data_dir: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    first = server_factory(data_dir, "--durability", "async")
    assert first.stop() == 0

    second = server_factory(data_dir, "--durability", "async")

    status, health = second.get("/health")
    health.pop("disk_free_bytes")
    assert (status, health) == (200, {"status": "ok", "seq": 0, "wal": "ok"})


def test_ring_size_must_be_a_power_of_two(data_dir: Path) -> None:
    proc = subprocess.run(
        betex_cmd("serve", "--port", "0", "--data-dir", str(data_dir), "--ring-size", "1000"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )

    assert proc.returncode == 2
    assert "power of two" in proc.stderr
    assert not (data_dir / "wal").exists()
