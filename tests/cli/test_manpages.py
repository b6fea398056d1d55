"""The committed man pages match the CLI: regenerate into a temp dir and compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from betex.cli.manpages import esc, walk

REPO = Path(__file__).resolve().parents[2]
MAN = REPO / "man"


def test_committed_man_pages_are_up_to_date(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETEX_")}
    subprocess.run(
        [sys.executable, "-m", "betex.cli.manpages", str(tmp_path)],
        check=True,
        cwd=REPO,
        env=env,
        capture_output=True,
    )
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.1")}
    committed = {p.name: p.read_text() for p in MAN.glob("*.1")}
    assert sorted(committed) == sorted(fresh), "man pages added or removed: run `make man` and commit man/"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date: {', '.join(sorted(stale))}; run `make man` and commit man/"


def test_every_command_has_a_page_naming_each_of_its_options() -> None:
    for node in walk():
        page = MAN / f"{node.page}.1"
        assert page.exists(), f"no man page for `{node.title}`"
        text = page.read_text()
        for param in node.command.get_params(node.ctx):
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("-"):
                    assert esc(opt) in text, f"{page.name} does not mention {opt}"


def test_escaping_keeps_troff_control_characters_inert() -> None:
    assert esc(".TH x\n'quote\nback\\slash -x") == "\\&.TH x\n\\&'quote\nback\\eslash \\-x"
