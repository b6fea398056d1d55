"""Fixed hypothesis samples that stay fixed whatever ran (or was imported) before them.

The "exercise what they claim" tests run a `derandomize=True` sample and check that it really
reaches every rule. derandomize fixes hypothesis' Random seed, but not everything its draws
depend on: since hypothesis 6.131, HypothesisProvider sometimes (p = 0.05 per integer, float,
string or bytes draw) returns a literal from a pool of constants parsed from every *imported*
local, non-test module (`providers._get_local_constants`, which grows with `sys.modules`). That pool
depends on which betex modules earlier tests happened to import (collecting tests/core alone adds
durability, readmodel, runtime, protocol and ops), and on any literal edited anywhere in betex.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis.internal.conjecture import providers as hypothesis_providers
from hypothesis.internal.constants_ast import Constants


@contextmanager
def no_local_constants(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Inside this block hypothesis' local-constant pool is empty, and its cache of in-range
    constants is dropped on entry and on exit (so neither this sample nor later tests see the
    other's pool): the sample depends only on the strategies, the code under test, the test's
    source and hypothesis' version. These are hypothesis internals, so the block yields a call
    counter and the caller asserts it is non-zero: a hypothesis change that stops consulting the
    pool then fails loudly instead of silently making the sample order-dependent again."""
    calls = [0]

    def empty_pool() -> Constants:
        calls[0] += 1
        return Constants()

    monkeypatch.setattr(hypothesis_providers, "_get_local_constants", empty_pool)
    hypothesis_providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield calls
    finally:
        hypothesis_providers.CONSTANTS_CACHE.cache.clear()
        monkeypatch.undo()
