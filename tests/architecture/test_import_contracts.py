"""The import directions of docs/architecture.md hold, and the contract really catches a breach.

`lint-imports` (import-linter) reads the contracts from pyproject.toml. The breach tests copy the
package to a temporary directory, add one forbidden import, and expect the linter to fail there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "betex", tmp_path / "betex", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, line: str) -> None:
    text = module.read_text()
    head, sep, rest = text.partition("\nfrom __future__ import annotations\n")
    assert sep, f"{module} has no __future__ import to anchor on"
    module.write_text(head + sep + line + "\n" + rest)


def test_the_repository_keeps_every_contract() -> None:
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_domain_importing_lmdb_breaks_the_purity_contract(tree: Path) -> None:
    add_import(tree / "betex/core/domain/ladder.py", "import lmdb  # noqa")
    result = lint(tree)
    assert result.returncode != 0
    assert "the domain is pure" in result.stdout
    assert "betex.core.domain.ladder -> lmdb" in result.stdout


def test_domain_importing_the_journal_breaks_the_layers(tree: Path) -> None:
    add_import(tree / "betex/core/domain/money.py", "import betex.core.durability.journal  # noqa")
    result = lint(tree)
    assert result.returncode != 0
    assert "betex.core.domain.money -> betex.core.durability.journal" in result.stdout


def test_an_import_cycle_between_sibling_packages_fails(tree: Path) -> None:
    add_import(tree / "betex/client/urls.py", "import betex.cli.common  # noqa")
    result = lint(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in betex" in result.stdout
