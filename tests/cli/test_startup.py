"""The CLI starts light and reads well: `betex --help` imports no server, TUI or HTTP stack
(operations.md §6: start ≤ 0.3 s, timed by bench/cli.py, not here), help shows words not Python
types, shell completion is there, and bad values are refused in plain words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from betex.cli.manpages import walk
from tests.cli.conftest import REPO, betex, betex_proc

HEAVY = ("textual", "aiohttp", "websockets", "rich", "betex.server.run", "betex.client", "uvloop")
_PROBE = """
import json, sys
sys.argv = ["betex", *json.loads(sys.argv[1])]
from betex.cli.app import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] if not m.startswith("betex") else m for m in sys.modules})), file=sys.stderr)
"""


def _modules_after(*args: str) -> set[str]:
    """Top-level modules (and betex.* modules) loaded by a fresh interpreter running `betex ARGS`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETEX_")}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("wal", "inspect", "--help")])
def test_help_and_version_import_no_tui_server_or_http_stack(args: tuple[str, ...]) -> None:
    loaded = _modules_after(*args)
    assert "typer" in loaded  # the probe did run the CLI
    heavy = sorted(m for m in loaded if m in HEAVY or m.startswith(("betex.client", "betex.server.run")))
    assert not heavy, f"`betex {' '.join(args)}` imports {heavy}"


def test_wal_stats_imports_no_engine_projection_tui_or_http(wal_data) -> None:  # type: ignore[no-untyped-def]
    loaded = _modules_after("wal", "inspect", "--stats", "--data-dir", str(wal_data))
    assert "betex.core.ops.tools" in loaded
    unwanted = {
        "textual",
        "aiohttp",
        "websockets",
        "betex.core.domain.engine",
        "betex.core.readmodel.projection",
    }
    assert not loaded & unwanted, sorted(loaded & unwanted)


@pytest.mark.parametrize("node", list(walk()), ids=lambda n: n.title or "betex")
def test_help_shows_metavars_as_words(node) -> None:  # type: ignore[no-untyped-def]
    text = betex(*node.path, "--help").out
    for bad in ("<bool>", "<str>", "<int", "<list", "<path>", "<float", "{dest}", "<soccer"):
        assert bad not in text, f"`{node.title} --help` shows {bad}"
    assert "Examples:" in text


def test_typer_shell_completion_is_offered() -> None:
    script = Path(sys.executable).parent / "betex"
    proc = subprocess.run([script, "--show-completion", "bash"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "_BETEX_COMPLETE=complete_bash" in proc.stdout, proc
    env = {**os.environ, "_BETEX_COMPLETE": "complete_bash", "COMP_WORDS": "betex wal ins", "COMP_CWORD": "2"}
    proc = subprocess.run([script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.split() == ["inspect"], proc
    assert "--install-completion" in betex("--help").out


def test_tui_default_url_matches_the_client_default() -> None:
    from betex.cli.tui import DEFAULT_TUI_URL
    from betex.client.tui.config import DEFAULT_TUI_URL as CLIENT_DEFAULT

    assert DEFAULT_TUI_URL == CLIENT_DEFAULT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("wal", "inspect", "--limit", "abc"), "--limit': must be a whole number (got 'abc')"),
        (("wal", "inspect", "--from", "-3"), "--from': must be at least 0 (got -3)"),
        (
            ("bots", "--create", "football"),
            "--create': must be one of soccer, tennis, binary (got 'football')",
        ),
        (("bots", "--rate", "fast"), "--rate': must be a number (got 'fast')"),
        (("snapshot", "--depth", "999"), "--depth': must be at most 350 (got 999)"),
    ],
)
def test_bad_values_are_refused_in_plain_words(args: tuple[str, ...], message: str) -> None:
    result = betex_proc(*args)
    assert result.code == 2, result
    assert message in result.err, result.err
    for jargon in ("Input should be", "Value error", "unable to parse"):
        assert jargon not in result.err


def test_a_usage_error_is_one_line_naming_the_help() -> None:
    result = betex_proc("wal", "inspect", "--bogus")
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines == ["error: No such option: --bogus (see 'betex wal inspect --help')"], lines
