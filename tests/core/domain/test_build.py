"""Build detection: the compiled (mypyc) domain when its extensions are installed, the pure-Python
modules otherwise or under BETEX_PURE_PYTHON=1, and `betex --version` says which is active."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import betex
from betex.core.domain import engine

BETEX = Path(sys.executable).parent / "betex"
DOMAIN_DIR = Path(engine.__file__ or "").parent


def _compiled_installed() -> bool:
    return any((DOMAIN_DIR / f"engine{suffix}").exists() for suffix in EXTENSION_SUFFIXES)


def _run(*args: str, pure: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "BETEX_PURE_PYTHON"}
    if pure:
        env["BETEX_PURE_PYTHON"] = "1"
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_version_names_the_active_build() -> None:
    expected = "compiled (mypyc)" if _compiled_installed() else "pure Python"
    assert _run(str(BETEX), "--version", pure=False) == f"betex {betex.__version__} ({expected} domain)"
    assert _run(str(BETEX), "--version", pure=True) == f"betex {betex.__version__} (pure Python domain)"


def test_pure_python_forces_the_sources_of_every_domain_module() -> None:
    """Packages' `__init__.py` and `commands.py` stay Python in both builds (setup.py says why);
    every other module switches."""
    probe = (
        "import sys, betex.core.domain.engine, betex.core.domain.book.walk; "
        "print(sorted({m.__file__.rsplit('.', 1)[1] for n, m in sys.modules.items() "
        "if n.startswith('betex.core.domain') and not m.__file__.endswith(('__init__.py', 'commands.py'))}))"
    )
    assert _run(sys.executable, "-c", probe, pure=True) == "['py']"
    if _compiled_installed():
        assert _run(sys.executable, "-c", probe, pure=False) == "['so']"


def test_this_process_runs_the_build_the_environment_asks_for() -> None:
    """Under `make test` the compiled modules really are the ones imported (editable install)."""
    forced = os.environ.get("BETEX_PURE_PYTHON") == "1"
    expected = "compiled" if _compiled_installed() and not forced else "pure"
    assert betex.build() == expected
