"""betex: a betting-exchange toolkit (engine, WAL, projection, server, TUI, bots).

`betex.core.domain` may be compiled with mypyc (see setup.py). ``BETEX_PURE_PYTHON=1`` in the
environment makes this package import the domain's ``.py`` sources even where compiled
extensions sit beside them: a meta-path finder consulted only while importing, so it costs
nothing once the modules are loaded. `build()` says which build is active.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, SOURCE_SUFFIXES, FileFinder, ModuleSpec, SourceFileLoader
from pathlib import Path
from types import ModuleType

__version__ = "0.1.0"

_DOMAIN = "betex.core.domain"


class _PureDomainFinder:
    """Finds `betex.core.domain` and its submodules as source files, never as extensions."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _DOMAIN and not fullname.startswith(_DOMAIN + "."):
            return None
        for entry in path or sys.path:
            spec = FileFinder(entry, (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(fullname)
            if spec is not None:
                return spec
        return None


_SLACK_S = 10.0  # a wheel's files are unpacked within seconds of each other


def _stale_extensions() -> list[str]:
    """Domain sources edited after their extension was built (import-time only: a few stats)."""
    stale = []
    root = Path(__file__).resolve().parent / "core" / "domain"
    suffix = EXTENSION_SUFFIXES[0]
    for src in root.rglob("*.py"):
        ext = src.with_name(src.stem + suffix)
        try:
            if src.stat().st_mtime > ext.stat().st_mtime + _SLACK_S:
                stale.append(str(src.relative_to(root)))
        except FileNotFoundError:
            continue
    return stale


def _install_pure_finder() -> None:
    if not any(isinstance(f, _PureDomainFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PureDomainFinder())


if os.environ.get("BETEX_PURE_PYTHON") == "1":
    _install_pure_finder()
elif _stale := _stale_extensions():
    warnings.warn(
        f"betex: compiled domain modules are older than their sources ({', '.join(sorted(_stale)[:3])}...);"
        " running the pure-Python domain. Rebuild with `make build`.",
        RuntimeWarning,
        stacklevel=1,
    )
    _install_pure_finder()


def build() -> str:
    """``"compiled"`` when the domain runs as mypyc extensions, else ``"pure"``."""
    from betex.core.domain import engine

    return "pure" if engine.__file__ is None or engine.__file__.endswith(".py") else "compiled"


def build_label() -> str:
    return "compiled (mypyc)" if build() == "compiled" else "pure Python"
