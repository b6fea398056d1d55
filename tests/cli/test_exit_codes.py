"""One mapping from the exception tree to exit codes (operations.md §4), and --debug."""

from __future__ import annotations

from pathlib import Path

import pytest

from betex.cli.common import exit_code
from betex.client.connection import CommandFailed
from betex.client.errors import HttpError, ServerUnreachable
from betex.client.messages import ServerError
from betex.core.domain.engine import SeqGap
from betex.core.errors import (
    BetexError,
    CorruptRecord,
    DataDamaged,
    SnapshotDamaged,
    UsageError,
    WalCorrupt,
    WalError,
    WalFailure,
    WalLocked,
    WalNotFound,
)
from betex.core.ops.backup import BackupError
from betex.server.config import ConfigError
from betex.server.params import ParamError
from tests.cli.conftest import betex_proc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("x"), 2),
        (ConfigError("x"), 2),
        (BackupError("x"), 2),
        (WalLocked(Path("w"), 7), 3),
        (CorruptRecord("x"), 4),
        (WalCorrupt("x"), 4),
        (SnapshotDamaged("x"), 4),
        (SeqGap("x"), 4),
        (ServerUnreachable("x"), 5),
        (WalNotFound("x"), 1),
        (WalFailure("x"), 1),
        (HttpError(404, "NOT_FOUND", "x"), 1),
        (CommandFailed(None), 1),
        (CommandFailed(ServerError("INVALID_ODDS", "2.51 is off the ladder")), 6),
        (RuntimeError("a bug"), 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_every_branch_has_its_exit_code(exc: BaseException, code: int) -> None:
    assert exit_code(exc) == code


def test_the_tree_keeps_the_standard_bases_callers_rely_on() -> None:
    assert issubclass(UsageError, ValueError) and issubclass(ParamError, UsageError)
    assert issubclass(WalNotFound, FileNotFoundError) and issubclass(WalNotFound, WalError)
    assert issubclass(ServerUnreachable, ConnectionError)
    for damage in (CorruptRecord, WalCorrupt, SnapshotDamaged, SeqGap):
        assert issubclass(damage, DataDamaged) and issubclass(damage, BetexError)
    assert issubclass(CorruptRecord, WalError) and issubclass(WalCorrupt, WalError)


def test_debug_shows_the_traceback_and_the_default_is_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing")
    r = betex_proc("replay", "--data-dir", missing)
    assert r.code == 1 and r.err.count("\n") == 1 and "Traceback" not in r.err
    r = betex_proc("--debug", "replay", "--data-dir", missing)
    assert r.code == 1 and "Traceback" in r.err and "WalNotFound" in r.err
