"""Durable file writes: the one helper every snapshot goes through, and the clean-up after a crash.

`write_atomic` writes a whole file so that a reader (or the next start after a crash or a power
loss) sees either the old content or the new one, never a mix: temp file in the same directory,
write, fsync, rename over the target, fsync the directory. The temp file is removed on any error.

A ``kill -9`` or a power loss between the temp file's creation and the rename can still leave
the temp file behind; its name (``.<target>.<pid>.tmp``) says which process wrote it, so
`remove_stale_temps` deletes it at the next start once that process is gone, and never the temp
file of a writer that is still running (e.g. `betex snapshot save` beside a server).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")
_LEGACY_TEMPS = ("projection.snap.tmp",)  # written by betex before this helper, without a pid


def temp_path(target: Path) -> Path:
    """Where `write_atomic` stages `target` in this process."""
    return target.with_name(f".{target.name}.{os.getpid()}{TMP_SUFFIX}")


def fsync_dir(path: Path) -> None:
    """Make a rename (or a new file) in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    """Replace `target` with `data` durably and atomically; returns the target's path.

    Raises what the OS raised (disk full, EIO, ...) after removing the temp file; the target is
    then untouched.
    """
    target = Path(target)
    tmp = temp_path(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # our own temp file belongs to a write in progress, not to a crash
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete the temp files of `write_atomic` calls that crashed; returns what was removed.

    A temp file whose writer is still alive is left alone. A directory that does not exist or
    cannot be changed (a read-only copy) is not an error: a stale temp file is only litter.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed: list[Path] = []
    for entry in os.scandir(directory):
        m = _TEMP.match(entry.name)
        stale = (m is not None and not _alive(int(m.group(1)))) or entry.name in _LEGACY_TEMPS
        if not stale or not entry.is_file(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove stale temp file %s: %s", entry.path, exc)
            continue
        removed.append(Path(entry.path))
    return removed


_MADV_DONTNEED = 4  # Linux <sys/mman.h>


def release_mapped_pages(path: Path) -> int:
    """Drop this process's resident pages of every read-only shared mapping of `path` (Linux;
    elsewhere a no-op); returns the bytes of mappings released.

    Why: LMDB reads its B-tree through a shared mmap of ``data.mdb``, so each WAL page the writer
    (or a reader) touches stays resident in the process and counts in its RSS: a server's RSS grew
    with its WAL, ~80 bytes per command, though the pages are clean page cache the kernel may
    drop at any time. ``madvise(MADV_DONTNEED)`` on a read-only shared file mapping only unmaps
    them from this process: the data stays in the file and the OS cache, and the next access
    faults the page back in. Writable mappings (LMDB's MDB_WRITEMAP, not used here) are left
    alone, since dropping their pages would lose nothing but is not what they are for.
    """
    target = os.path.realpath(path)
    try:
        maps = Path("/proc/self/maps").read_text()
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return 0
    madvise = libc.madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    released = 0
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or parts[5] != target or not parts[1].startswith("r-") or parts[1][3] != "s":
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if madvise(start, end - start, _MADV_DONTNEED) == 0:
            released += end - start
    return released
