"""Every public function, class and method of the Python client says what it does (docs/client.md
points at them; `help(BetexClient.place)` must answer)."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = ("connection", "http", "records", "ladder", "shell", "messages", "errors")


def _public_members(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(f"betex.client.{module_name}")
    out: list[tuple[str, object]] = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out.append((name, obj))
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                fn = member.fget if isinstance(member, property) else member
                if isinstance(fn, classmethod | staticmethod):
                    fn = fn.__func__
                if inspect.isfunction(fn):
                    out.append((f"{name}.{attr}", fn))
    return out


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_client_api_has_a_docstring(module_name: str) -> None:
    missing = [name for name, obj in _public_members(module_name) if not (obj.__doc__ or "").strip()]
    assert not missing, f"betex.client.{module_name}: no docstring on {missing}"
