"""docs/operations.md documents every operator command, each of its flags, and every recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from betex.cli.manpages import walk

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "operations.md").read_text()
OPERATOR_GROUPS = ("wal", "replay", "snapshot", "projection")
NODES = [n for n in walk() if n.path and n.path[0] in OPERATOR_GROUPS]


@pytest.mark.parametrize("node", NODES, ids=lambda n: n.title)
def test_every_operator_command_and_flag_is_documented(node) -> None:  # type: ignore[no-untyped-def]
    assert f"`{node.title}" in DOC, f"docs/operations.md does not mention `{node.title}`"
    for param in node.command.get_params(node.ctx):
        for opt in (*param.opts, *param.secondary_opts):
            if opt.startswith("--") and opt != "--help":
                assert opt in DOC, f"docs/operations.md does not mention {opt} of `{node.title}`"


def test_every_recipe_is_documented_and_takes_smoke() -> None:
    recipes = sorted((REPO / "recipes").glob("*.sh"))
    assert recipes
    for recipe in recipes:
        assert f"`{recipe.name}" in DOC, f"docs/operations.md does not describe {recipe.name}"
        text = recipe.read_text()
        assert text.startswith("#!/usr/bin/env bash") and "lib.bash" in text
        assert "--smoke" in text or "parse_common_args" in text
