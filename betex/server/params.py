"""Query-string parsing for HTTP and WebSocket URLs: typed values or a `ParamError` (→ 400).

Everything a client can put in a URL goes through here, so handlers never see raw strings and a
bad parameter is always a `BAD_REQUEST`, never an exception escaping to aiohttp.
"""

from __future__ import annotations

from collections.abc import Mapping

from betex.core.domain.types import U32_MAX, U64_MAX
from betex.core.errors import UsageError

from .config import DEFAULT_DEPTH, MAX_DEPTH

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


class ParamError(UsageError):
    """A query parameter that is missing, malformed or out of range."""


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    text = raw.strip()
    # Accept "7" and "7.0" (a client that formats numbers as floats), nothing else.
    if text.endswith(".0"):
        text = text[:-2]
    if not text or len(text) > 20 or not (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
        raise ParamError(f"{name} must be an integer (got {raw[:40]!r})")
    if not text.isascii():
        raise ParamError(f"{name} must be an integer (got {raw[:40]!r})")
    value = int(text)
    if not lo <= value <= hi:
        raise ParamError(f"{name} must be in {lo}..{hi} (got {value})")
    return value


def opt_int(query: Mapping[str, str], name: str, lo: int, hi: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    return _int(name, raw, lo, hi)


def market_id(query: Mapping[str, str]) -> int | None:
    return opt_int(query, "market_id", 1, U64_MAX)


def account_id(query: Mapping[str, str]) -> int | None:
    """`account_id` as a string or a number: ``7``, ``"7"`` and ``7.0`` all mean account 7."""
    raw = query.get("account_id")
    if raw is None or raw == "":
        return None
    return _int("account_id", raw.strip().strip('"'), 0, U32_MAX)


def depth(query: Mapping[str, str]) -> int:
    value = opt_int(query, "depth", 1, MAX_DEPTH)
    return DEFAULT_DEPTH if value is None else value


def limit(query: Mapping[str, str]) -> int:
    value = opt_int(query, "limit", 1, MAX_LIMIT)
    return DEFAULT_LIMIT if value is None else value


def flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name)
    if raw is None:
        return False
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ParamError(f"{name} must be 0 or 1 (got {raw[:40]!r})")


def choice(query: Mapping[str, str], name: str, options: tuple[str, ...]) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip().lower()
    if text not in options:
        raise ParamError(f"{name} must be one of {', '.join(options)} (got {raw[:40]!r})")
    return text
