"""`betex serve` under tracemalloc, for finding what grows (a diagnostic, not a benchmark).

Usage: `python bench/serve_traced.py OUT_DIR serve-args...`. On SIGUSR2 it writes
`OUT_DIR/trace-N.txt`: RssAnon / RssFile from /proc, and the 25 allocation sites that grew most
since the first dump (tracemalloc, 12 frames), and GC object counts by type. The server runs
slower under tracemalloc; use it to see *what* grows, never to time anything.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import threading
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

out_dir = Path(sys.argv[1])
out_dir.mkdir(parents=True, exist_ok=True)
TRACE = os.environ.get("BETEX_TRACEMALLOC") == "1"
if TRACE:
    tracemalloc.start(12)
_first: list[tracemalloc.Snapshot] = []
_n = [0]


def _proc_status() -> str:
    keep = ("VmRSS", "RssAnon", "RssFile", "RssShmem")
    lines = Path("/proc/self/status").read_text().splitlines()
    return "\n".join(line for line in lines if line.startswith(keep))


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo() -> str:
    """glibc's heap: in use (uordblks) against free but kept (fordblks), and mmapped blocks."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return "mallinfo2: unavailable"
    return (
        f"malloc: arena {m.arena / 1e6:.1f} MB, in use {m.uordblks / 1e6:.1f} MB, "
        f"free {m.fordblks / 1e6:.1f} MB, mmapped {m.hblkhd / 1e6:.1f} MB"
    )


def _dump() -> None:
    _n[0] += 1
    lines = [_proc_status(), f"allocated blocks {sys.getallocatedblocks()}", _mallinfo()]
    if not TRACE:
        pass
    elif not _first:
        _first.append(tracemalloc.take_snapshot())
    else:
        snap = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
        lines.append(f"traced current {tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB")
        for stat in snap.compare_to(_first[0], "traceback")[:25]:
            lines.append(f"+{stat.size_diff / 1e6:.2f} MB {stat.count_diff:+d} blocks")
            lines.extend("    " + line for line in stat.traceback.format()[-12:])
    types = Counter(type(o).__name__ for o in gc.get_objects())
    lines.append("gc objects: " + ", ".join(f"{k}={v}" for k, v in types.most_common(25)))
    (out_dir / f"trace-{_n[0]}.txt").write_text("\n".join(lines) + "\n")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    threading.Thread(target=_dump, daemon=True).start()


signal.signal(signal.SIGUSR2, _on_signal)
sys.argv = ["betex", *sys.argv[2:]]
from betex.cli.app import main  # noqa: E402

main()
