"""The LMDB WAL: round trips, contiguity, map growth, single-writer lock, readers beside a writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from betex.core.domain.engine import Engine
from betex.core.domain.events import BatchProcessed, Event, OrderAccepted
from betex.core.durability.codec import encode
from betex.core.durability.journal import Journal, JournalReader
from betex.core.errors import WalFailure, WalLocked, WalNotFound
from tests.core.workload import market_cmd, order_cmd

REPO = Path(__file__).resolve().parents[3]
SEC = 1_000_000_000


def engine_batches(n_orders: int, batch: int) -> list[list[Event]]:
    """Real engine output: a market, then `n_orders` orders in batches of `batch` commands."""
    eng = Engine()
    out: list[list[Event]] = []
    eng.begin_batch(1_700_000_000 * SEC)
    eng.execute(market_cmd())
    out.append(eng.end_batch(1))
    for start in range(0, n_orders, batch):
        eng.begin_batch(1_700_000_000 * SEC + start)
        n = min(batch, n_orders - start)
        for i in range(start, start + n):
            eng.execute(order_cmd(i, client_ref=f"r{i}"))
        out.append(eng.end_batch(n))
    return out


def flat(batches: Sequence[Sequence[Event]]) -> list[Event]:
    return [e for b in batches for e in b]


def test_append_then_read_round_trips_every_event(tmp_path: Path) -> None:
    batches = engine_batches(500, 64)
    with Journal.open_writer(tmp_path) as j:
        for b in batches:
            j.append(b)
        assert j.last_seq == len(flat(batches))
    with JournalReader(tmp_path) as r:
        assert list(r.iter_events()) == flat(batches)
        assert [seq for seq, _ in r.iter_records()] == list(range(1, r.last_seq() + 1))
        assert [rec for _, rec in r.iter_records(5, 9)] == [encode(e) for e in flat(batches)[4:9]]
        assert [e.seq for e in r.iter_events(from_seq=10, to_seq=12)] == [10, 11, 12]
        assert r.verify() is None


def test_layout_and_meta_record_schema_creation_time_and_last_seq(tmp_path: Path) -> None:
    batches = engine_batches(50, 10)
    with Journal.open_writer(tmp_path) as j:
        for b in batches:
            j.append(b)
    assert (tmp_path / "wal" / "data.mdb").is_file()
    assert (tmp_path / "wal" / "writer.lock").is_file()
    assert (tmp_path / "snapshots").is_dir()
    with JournalReader(tmp_path) as r:
        meta = r.meta()
    assert meta["schema_version"] == 1
    assert meta["created_ns"] > 1_600_000_000 * SEC
    assert meta["last_seq"] == len(flat(batches))


def test_reopened_writer_continues_from_the_last_committed_seq(tmp_path: Path) -> None:
    batches = engine_batches(100, 10)
    with Journal.open_writer(tmp_path) as j:
        for b in batches[:5]:
            j.append(b)
        mid = j.last_seq
    with Journal.open_writer(tmp_path) as j:
        assert j.last_seq == mid
        for b in batches[5:]:
            j.append(b)
    with JournalReader(tmp_path) as r:
        assert list(r.iter_events()) == flat(batches)


def test_a_batch_that_does_not_continue_the_seq_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    batches = engine_batches(30, 10)
    with Journal.open_writer(tmp_path) as j:
        j.append(batches[0])
        with pytest.raises(ValueError, match="non-contiguous"):
            j.append(batches[2])
        with pytest.raises(ValueError, match="non-contiguous"):
            j.append(batches[1][1:])
        assert j.last_seq == len(batches[0])
        j.append(batches[1])
    with JournalReader(tmp_path) as r:
        assert list(r.iter_events()) == batches[0] + batches[1]


def test_map_growth_from_a_tiny_map_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    batches = engine_batches(6000, 256)
    with Journal.open_writer(tmp_path, map_size=64 * 1024) as j:
        reader = JournalReader(tmp_path)  # a reader in the same process shares the environment
        for b in batches:
            j.append(b)
            assert reader.last_seq() == j.last_seq
        assert j.map_growths >= 3
        assert j.map_size >= 1 << 20
        reader.close()
    with JournalReader(tmp_path) as r:
        assert list(r.iter_events()) == flat(batches)
        assert r.verify() is None


def test_a_closed_journal_refuses_appends_with_wal_failure(tmp_path: Path) -> None:
    batches = engine_batches(10, 10)
    j = Journal.open_writer(tmp_path)
    j.append(batches[0])
    j.close()
    with pytest.raises(WalFailure, match="closed"):
        j.append(batches[1])


def test_a_reader_sees_commits_while_the_writer_is_open(tmp_path: Path) -> None:
    batches = engine_batches(200, 20)
    with Journal.open_writer(tmp_path) as j:
        j.append(batches[0])
        with JournalReader(tmp_path) as r:
            assert r.last_seq() == len(batches[0])
            for b in batches[1:]:
                j.append(b)
                assert r.last_seq() == j.last_seq
            assert list(r.iter_events()) == flat(batches)


def test_a_reader_opened_before_the_writer_keeps_working(tmp_path: Path) -> None:
    batches = engine_batches(100, 20)
    with Journal.open_writer(tmp_path) as j:
        j.append(batches[0])
    with JournalReader(tmp_path) as r:
        assert r.last_seq() == len(batches[0])
        with Journal.open_writer(tmp_path) as j:
            for b in batches[1:]:
                j.append(b)
        assert list(r.iter_events()) == flat(batches)


def test_reader_of_a_missing_wal_raises_wal_not_found(tmp_path: Path) -> None:
    with pytest.raises(WalNotFound):
        JournalReader(tmp_path / "nothing-here")


def test_second_writer_in_the_same_process_gets_the_exact_lock_message(tmp_path: Path) -> None:
    with Journal.open_writer(tmp_path):
        with pytest.raises(WalLocked) as info:
            Journal.open_writer(tmp_path)
    wal = tmp_path / "wal"
    assert str(info.value) == f"WAL {wal} is locked by another writer (pid {os.getpid()})"
    Journal.open_writer(tmp_path).close()  # released on close


_SECOND_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from betex.core.durability.journal import Journal
    from betex.core.errors import WalLocked
    try:
        Journal.open_writer(Path(sys.argv[1]))
    except WalLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(3)
    sys.exit(0)
    """
)


def test_a_second_writer_process_gets_the_lock_error(tmp_path: Path) -> None:
    with Journal.open_writer(tmp_path):
        proc = subprocess.run(
            [sys.executable, "-c", _SECOND_WRITER, str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    assert proc.returncode == 3, proc.stderr
    expected = f"error: WAL {tmp_path / 'wal'} is locked by another writer (pid {os.getpid()})"
    assert proc.stderr.strip() == expected


_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from betex.core.durability.journal import Journal
    j = Journal.open_writer(Path(sys.argv[1]))
    print("locked", flush=True)
    sys.stdin.readline()
    j.close()
    """
)


def test_the_lock_error_names_the_pid_of_the_writer_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WalLocked) as info:
            Journal.open_writer(tmp_path)
        assert str(info.value) == f"WAL {tmp_path / 'wal'} is locked by another writer (pid {holder.pid})"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    Journal.open_writer(tmp_path).close()


_READER_PROCESS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from betex.core.durability.journal import JournalReader
    r = JournalReader(Path(sys.argv[1]))
    print(json.dumps({"last_seq": r.last_seq()}), flush=True)
    for line in sys.stdin:
        events = list(r.iter_events())
        print(json.dumps({"last_seq": r.last_seq(), "count": len(events),
                          "contiguous": [e.seq for e in events] == list(range(1, len(events) + 1)),
                          "verify": r.verify(), "remapped": r.remaps > 0}), flush=True)
    """
)


def test_a_reader_in_another_process_sees_new_commits_and_map_growth(tmp_path: Path) -> None:
    batches = engine_batches(8000, 500)
    with Journal.open_writer(tmp_path, map_size=64 * 1024) as j:
        j.append(batches[0])
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER_PROCESS, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert reader.stdin is not None and reader.stdout is not None
        try:
            assert json.loads(reader.stdout.readline()) == {"last_seq": len(batches[0])}
            for b in batches[1:]:
                j.append(b)
            assert j.map_growths >= 3  # the reader's mapping is now too small: it must remap
            reader.stdin.write("go\n")
            reader.stdin.flush()
            seen = json.loads(reader.stdout.readline())
        finally:
            reader.stdin.close()
            reader.wait(30)
        total = len(flat(batches))
        assert seen == {
            "last_seq": total,
            "count": total,
            "contiguous": True,
            "verify": None,
            "remapped": True,
        }


def test_follow_yields_history_then_new_commits_in_order(tmp_path: Path) -> None:
    batches = engine_batches(300, 30)
    total = len(flat(batches))
    with Journal.open_writer(tmp_path) as j:
        j.append(batches[0])
        got: list[Event] = []
        stop = threading.Event()
        with JournalReader(tmp_path) as r:

            def consume() -> None:
                for e in r.follow(from_seq=1, poll_interval=0.01, stop=stop):
                    got.append(e)
                    if e.seq == total:
                        stop.set()

            t = threading.Thread(target=consume)
            t.start()
            for b in batches[1:]:
                j.append(b)
            t.join(30)
            assert not t.is_alive()
    assert got == flat(batches)


def test_stats_count_types_and_span_seq_and_time(tmp_path: Path) -> None:
    batches = engine_batches(200, 50)
    events = flat(batches)
    with Journal.open_writer(tmp_path) as j:
        for b in batches:
            j.append(b)
        written = j.bytes_written
    with JournalReader(tmp_path) as r:
        s = r.stats()
    assert s.events == len(events) and (s.first_seq, s.last_seq) == (1, len(events))
    assert s.counts_by_type["BATCH_PROCESSED"] == len(batches)
    assert s.counts_by_type["ORDER_ACCEPTED"] == sum(isinstance(e, OrderAccepted) for e in events)
    assert sum(s.counts_by_type.values()) == len(events)
    assert s.record_bytes == written
    assert (s.first_ts, s.last_ts) == (events[0].ts, events[-1].ts)
    assert s.to_dict()["counts_by_type"] == s.counts_by_type


def test_verify_reports_the_first_damaged_seq(tmp_path: Path) -> None:
    batches = engine_batches(100, 100)
    events = flat(batches)
    with Journal.open_writer(tmp_path, durability="async") as j:
        for b in batches:
            j.append(b)
    victim = next(e for e in events if isinstance(e, OrderAccepted) and e.seq > 20)
    record = encode(victim)
    data_file = tmp_path / "wal" / "data.mdb"
    raw = bytearray(data_file.read_bytes())
    at = raw.find(record)
    assert at >= 0
    while at >= 0:  # copy-on-write may leave stale copies in free pages: damage every copy
        raw[at + len(record) - 3] ^= 0xFF  # inside the payload: the CRC no longer matches
        at = raw.find(record, at + 1)
    data_file.write_bytes(bytes(raw))
    with JournalReader(tmp_path) as r:
        report = r.verify_report()
        assert r.verify() == victim.seq
    assert report.reason == "CRC mismatch" and report.checked == victim.seq - 1
    assert isinstance(events[-1], BatchProcessed)


def test_ranges_across_read_chunks_return_exactly_the_asked_seqs(tmp_path: Path) -> None:
    batches = engine_batches(7000, 500)
    events = flat(batches)
    assert len(events) > 2 * 4096
    with Journal.open_writer(tmp_path) as j:
        for b in batches:
            j.append(b)
    with JournalReader(tmp_path) as r:
        for lo, hi in [(1, 4096), (4096, 4097), (4000, 8200), (4097, 8192), (8193, None), (1, 1), (5, 4)]:
            want = [e for e in events if e.seq >= lo and (hi is None or e.seq <= hi)]
            assert list(r.iter_events(lo, hi)) == want, (lo, hi)
            assert [s for s, _ in r.iter_records(lo, hi)] == [e.seq for e in want]
        assert list(r.iter_events(len(events) + 1)) == []


def test_hot_backup_beside_a_running_writer_is_a_consistent_verified_copy(tmp_path: Path) -> None:
    batches = engine_batches(500, 50)
    with Journal.open_writer(tmp_path / "live") as j:
        for b in batches[:5]:
            j.append(b)
        with JournalReader(tmp_path / "live") as r:
            r.backup(tmp_path / "copy" / "wal")
        for b in batches[5:]:
            j.append(b)
    with JournalReader(tmp_path / "copy") as r:
        assert r.verify() is None
        assert list(r.iter_events()) == flat(batches[:5])


def _mapped_rss_kib(path: Path) -> int:
    """This process's resident KiB of its mappings of `path` (/proc/self/smaps)."""
    target, total, inside = os.path.realpath(path), 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5:
            inside = len(parts) >= 6 and parts[5] == target
        elif inside and parts[0] == "Rss:":
            total += int(parts[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc needed")
def test_wal_pages_read_through_the_map_leave_rss_and_still_read(tmp_path: Path) -> None:
    """The WAL pages LMDB touched through its map are released from the process (they grew a
    server's RSS with its WAL), and reading them again afterwards still gives every event."""
    from betex.core.durability.files import release_mapped_pages

    with Journal.open_writer(tmp_path, durability="async") as journal:
        for batch in engine_batches(20_000, 500):
            journal.append(batch)
        with JournalReader(tmp_path) as reader:
            n = sum(1 for _ in reader.iter_events())
            data = tmp_path / "wal" / "data.mdb"
            before = _mapped_rss_kib(data)
            assert before > 1024  # the read touched the map
            assert release_mapped_pages(data) > 0
            assert _mapped_rss_kib(data) < before / 4
            assert sum(1 for _ in reader.iter_events()) == n == journal.last_seq
