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


def test_every_page_has_examples_that_start_with_betex() -> None:
    for node in walk():
        text = (MAN / f"{node.page}.1").read_text()
        assert ".SH EXAMPLES" in text, f"{node.page}.1 has no EXAMPLES section"
        examples = text.split(".SH EXAMPLES", 1)[1].split(".SH ", 1)[0]
        assert "\\fBbetex " in examples, f"{node.page}.1: EXAMPLES shows no betex command line"


def test_help_ends_with_the_same_examples_as_the_man_page() -> None:
    from betex.cli.examples import EXAMPLES

    for node in walk():
        examples = EXAMPLES[" ".join(node.path)]
        assert examples, f"`{node.title}` has no examples"
        assert all(cmd.startswith("betex") for _, cmd in examples)
        assert node.command.epilog and examples[0][1] in node.command.epilog, node.title


def test_name_line_does_not_repeat_the_command_name() -> None:
    for page in MAN.glob("*.1"):
        name_line = page.read_text().split(".SH NAME\n", 1)[1].split("\n", 1)[0]
        name, _, description = name_line.partition(" \\- ")
        assert description and not description.lower().startswith("betex"), f"{page.name}: {name_line}"


def test_metavars_are_words_not_python_types() -> None:
    for page in MAN.glob("*.1"):
        text = page.read_text()
        for bad in ("<bool>", "<str>", "<int", "<list", "<path>", "<float", "{dest}"):
            assert bad not in text, f"{page.name} shows the metavar {bad}"
