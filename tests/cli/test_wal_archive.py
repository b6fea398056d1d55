"""`betex wal archive`: events older than the newest snapshot move into segments, and every reader
still sees the whole history, once (docs/operations.md "WAL retention"); kill -9 at any point of
an archive run leaves a consistent data dir."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from betex.core.durability import archive
from betex.core.durability.journal import JournalReader
from tests.cli.conftest import write_wal
from tests.cli.test_cli_args import invoke

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def archivable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], str]:
    """A data dir with a snapshot at ~seq 1200 of ~1700, its records, and its full-replay hash."""
    data = tmp_path_factory.mktemp("arch") / "data"
    write_wal(data, rounds=200, snapshot_at=1200)
    with JournalReader(data) as r:
        records = [rec for _, rec in r.iter_records()]
    code, out, err = invoke("replay", "--data-dir", str(data), "--no-snapshot", "--json")
    assert code == 0, err
    return data, records, json.loads(out)["state_hash"]


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("lock.mdb", "writer.lock"))
    return dest


def _records(data: Path) -> list[tuple[int, bytes]]:
    with JournalReader(data) as r:
        return list(r.iter_records())


def _replay_hash(data: Path, *flags: str) -> str:
    code, out, err = invoke("replay", "--data-dir", str(data), *flags, "--json")
    assert code == 0, err
    return str(json.loads(out)["state_hash"])


def test_archive_moves_old_events_and_readers_see_all(
    archivable: tuple[Path, list[bytes], str], tmp_path: Path
) -> None:
    src, records, full_hash = archivable
    data = _copy(src, tmp_path / "data")
    code, out, err = invoke("wal", "archive", "--data-dir", str(data), "--json")
    assert code == 0, err
    report = json.loads(out)
    snap = report["snapshot_seq"]
    assert (
        report["archived_through"] == snap == report["events_moved"] and report["wal_first_seq"] == snap + 1
    )
    assert [rec for _, rec in _records(data)] == records
    assert [seq for seq, _ in _records(data)] == list(range(1, len(records) + 1))
    assert invoke("wal", "inspect", "--verify", "--data-dir", str(data))[0] == 0
    assert _replay_hash(data, "--no-snapshot") == full_hash == _replay_hash(data)
    code, out, _ = invoke("wal", "inspect", "--data-dir", str(data), "--from", "5", "--to", "6", "--json")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [5, 6]
    # a backup carries the archive and restores the whole history
    code, out, err = invoke("wal", "backup", str(tmp_path / "bk"), "--data-dir", str(data), "--json")
    assert code == 0, err
    assert json.loads(out)["archive_segments_copied"] == 1
    assert _replay_hash(tmp_path / "bk", "--no-snapshot") == full_hash
    # a second run has nothing left to move
    code, out, _ = invoke("wal", "archive", "--data-dir", str(data), "--json")
    assert json.loads(out)["events_moved"] == 0


def test_to_dir_is_remembered_and_read(archivable: tuple[Path, list[bytes], str], tmp_path: Path) -> None:
    src, records, full_hash = archivable
    data = _copy(src, tmp_path / "data")
    cold = tmp_path / "cold"
    assert invoke("wal", "archive", "--data-dir", str(data), "--to-dir", str(cold))[0] == 0
    assert not (data / "archive").exists() and len(list(cold.glob("*.seg"))) == 1
    assert [rec for _, rec in _records(data)] == records
    assert _replay_hash(data, "--no-snapshot") == full_hash


def test_without_a_snapshot_nothing_moves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_wal(data, rounds=10)
    code, out, _ = invoke("wal", "archive", "--data-dir", str(data))
    assert code == 0 and "nothing to archive" in out
    assert not (data / "archive").exists()


def test_verify_names_a_damaged_segment(archivable: tuple[Path, list[bytes], str], tmp_path: Path) -> None:
    data = _copy(archivable[0], tmp_path / "data")
    assert invoke("wal", "archive", "--data-dir", str(data))[0] == 0
    (seg,) = archive.list_segments(data)
    raw = bytearray(seg.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    seg.path.write_bytes(bytes(raw))
    code, out, err = invoke("wal", "inspect", "--verify", "--data-dir", str(data))
    assert code == 4, (out, err)
    assert "archive segment" in out + err


_CHILD = """
import sys
from betex.core.ops.archive import archive_wal
print("go", flush=True)
archive_wal(sys.argv[1], segment_events=7)
print("done", flush=True)
"""


def test_kill_9_during_an_archive_leaves_every_event_once(
    archivable: tuple[Path, list[bytes], str], tmp_path: Path
) -> None:
    src, records, full_hash = archivable
    rng = random.Random(11)
    outcomes = set()
    for trial in range(6):
        data = _copy(src, tmp_path / f"data{trial}")
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(data)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "go"
            time.sleep(rng.uniform(0.0, 0.4))
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        segments = archive.list_segments(data)
        wal_first = _first_in_lmdb(data)
        outcomes.add((len(segments) > 0, wal_first <= archive.archived_through(segments)))
        assert [rec for _, rec in _records(data)] == records, f"trial {trial}"
        assert invoke("wal", "inspect", "--verify", "--data-dir", str(data))[0] == 0
        assert _replay_hash(data, "--no-snapshot") == full_hash
        code, out, err = invoke("wal", "archive", "--data-dir", str(data), "--json")  # finishes the job
        assert code == 0, err
        assert json.loads(out)["wal_first_seq"] == json.loads(out)["snapshot_seq"] + 1
        assert [rec for _, rec in _records(data)] == records
    assert any(has_segments for has_segments, _ in outcomes), outcomes  # some kills landed mid-run


def _first_in_lmdb(data: Path) -> int:
    from betex.core.durability.journal import Journal

    with Journal.open_writer(data, durability="async") as j:
        return j.first_seq()
