"""Build: compile `betex/core/domain` with mypyc when a C compiler is available, else pure Python.

Everything else about the package is in pyproject.toml. mypyc (shipped with mypy, a build
requirement) turns the domain modules into C extensions placed beside their sources; CPython
imports an extension before a `.py` of the same name, so the compiled build is what runs, also
in an editable install. When mypyc or the C compiler fails, or `BETEX_PURE_PYTHON=1` is set at
install time, the package installs without extensions and the same modules run as Python.
`BETEX_PURE_PYTHON=1` at run time forces the pure modules even when extensions exist
(see betex/__init__.py). `betex --version` says which build is active.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
DOMAIN = ROOT / "betex" / "core" / "domain"


def _warn(msg: str) -> None:
    print(f"betex: {msg}; installing the pure-Python build", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """A failed compile (no compiler, no Python headers) leaves the pure-Python modules in charge."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # distutils' CompileError, LinkError, PlatformError, OSError...
            _warn(f"could not compile the domain ({exc})")
            return
        # An up-to-date extension is copied with its old mtime; it matches the current sources
        # now, and betex/__init__.py treats an extension older than its source as stale.
        for ext in self.extensions:
            path = Path(self.get_ext_fullpath(ext.name))
            if path.exists():
                path.touch()

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn(f"could not compile {ext.name} ({exc})")
            self._drop_partial()
            raise

    def _drop_partial(self) -> None:
        """One module compiled without its shared library would fail at import: remove all."""
        for path in self.get_outputs():
            Path(path).unlink(missing_ok=True)


# Left as Python: package markers, and the command types, whose annotations the parse layer and
# the tests introspect (a compiled NamedTuple keeps `tuple` but drops `tuple[int, ...]`).
INTERPRETED = {"__init__.py", "commands.py"}


def _domain_sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in DOMAIN.rglob("*.py") if p.name not in INTERPRETED)


def _ext_modules() -> list[object]:
    if os.environ.get("BETEX_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        _warn(f"mypyc is not available ({exc})")
        return []
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return list(
            mypycify(
                _domain_sources(),
                opt_level="3",
                debug_level="0",
                group_name="betex.core.domain._native",
                target_dir="build/mypyc",
            )
        )
    except BaseException as exc:  # mypyc exits through SystemExit on a type error
        _warn(f"mypyc failed ({exc!r})")
        return []
    finally:
        os.chdir(cwd)


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
