"""The strategy example in examples/strategy.py (shown in docs/client.md) runs against a real
server and does what it says: quotes, sees its fill on the order stream, prints its P&L."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, ServerProcess


def test_the_documented_strategy_example_runs(betex_server: ServerProcess) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "strategy.py"), betex_server.ws_url, "41"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("quoted [") and len(lines) == 3, lines
    assert lines[1].startswith("filled 4.0 at 2.5 on order "), lines
    assert lines[2].endswith("net P&L +6.00"), lines  # backed 4 at 2.5, runner 1 won: +6.00


def test_docs_client_md_shows_the_example_verbatim() -> None:
    doc = (REPO / "docs" / "client.md").read_text()
    code = (REPO / "examples" / "strategy.py").read_text()
    body = code[code.index("import asyncio") : code.index("\n\nif __name__")]
    assert body in doc
