"""Who a connection is: API keys (by hash), the admin token, Origin checks and per-account rates.

The engine records accounts and keys (CREATE_ACCOUNT, ISSUE_KEY, REVOKE_KEY; the WAL holds only
the sha256 of each key). The server keeps a lookup table of them on the loop thread: filled from
the recovered engine at start, then kept current from committed events, so a key revoked by a
commit is refused from the next command on, on every connection that used it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Iterable, Mapping

from aiohttp import web

from betex.core.domain.events import KeyIssued, KeyRevoked

KEY_BYTES = 32
"""A key is `KEY_BYTES` random bytes, URL-safe base64 (43 characters)."""


def new_key() -> tuple[str, str]:
    """A fresh API key and its hash (what ISSUE_KEY records)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    return key, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether binding `host` exposes the server to this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Keys:
    """key hash → (key_id, account_id) for live keys, and the ids of revoked keys."""

    __slots__ = ("by_hash", "revoked")

    def __init__(self) -> None:
        self.by_hash: dict[str, tuple[int, int]] = {}
        self.revoked: set[int] = set()

    def load(self, keys: Mapping[int, tuple[int, str, bool]]) -> None:
        """From the recovered engine's `keys` (key_id → (account_id, hash, revoked))."""
        for key_id, (account_id, h, revoked) in keys.items():
            self.by_hash[h] = (key_id, account_id)
            if revoked:
                self.revoked.add(key_id)

    def apply(self, events: Iterable[object]) -> None:
        for e in events:
            t = type(e)
            if t is KeyIssued:
                assert isinstance(e, KeyIssued)
                self.by_hash[e.key_hash] = (e.key_id, e.account_id)
            elif t is KeyRevoked:
                assert isinstance(e, KeyRevoked)
                self.revoked.add(e.key_id)

    def lookup(self, key: str) -> tuple[int, int] | None:
        """(key_id, account_id) of a live key, None for an unknown or revoked one."""
        found = self.by_hash.get(key_hash(key))
        if found is None or found[0] in self.revoked:
            return None
        return found


class Credentials:
    """What an HTTP request or an upgrade presented."""

    __slots__ = ("admin", "key_id", "account_id", "bad")

    def __init__(self) -> None:
        self.admin = False
        self.key_id: int | None = None
        self.account_id: int | None = None
        self.bad: str | None = None
        """Why the request is refused (a wrong token or key), None if it is not."""


def credentials(request: web.Request, admin_token: str | None, keys: Keys) -> Credentials:
    """Read `Authorization: Bearer X`, `?token=` (admin) and `?key=` (API key).

    A bearer value is the admin token if it equals it, else an API key. Anything presented and
    unknown (or revoked) is refused as a whole: a client never silently runs with less.
    """
    cred = Credentials()
    bearer: str | None = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        bearer = header[7:].strip()
    token = request.query.get("token")
    key = request.query.get("key")
    if bearer is not None:
        if admin_token is not None and hmac.compare_digest(bearer.encode(), admin_token.encode()):
            cred.admin = True
        elif key is None:
            found = keys.lookup(bearer)
            if found is None:
                cred.bad = "not the admin token, nor a live API key"
                return cred
            cred.key_id, cred.account_id = found
        else:
            cred.bad = "wrong admin token"
            return cred
    if token is not None:
        if admin_token is None or not hmac.compare_digest(token.encode(), admin_token.encode()):
            cred.bad = "wrong admin token"
            return cred
        cred.admin = True
    if key is not None:
        found = keys.lookup(key)
        if found is None:
            cred.bad = "unknown or revoked API key"
            return cred
        cred.key_id, cred.account_id = found
    return cred


class RateLimiter:
    """A token bucket per account: `rate` commands a second, bursts up to `burst`."""

    __slots__ = ("rate", "burst", "buckets", "limited")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.buckets: dict[int, list[float]] = {}
        """account → [tokens, last refill (monotonic)]."""
        self.limited = 0

    def allow(self, account_id: int) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        b = self.buckets.get(account_id)
        if b is None:
            if len(self.buckets) > 100_000:  # bounded: full buckets carry no state worth keeping
                self.buckets = {a: v for a, v in self.buckets.items() if v[0] < self.burst}
            b = self.buckets[account_id] = [self.burst, now]
        tokens = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if tokens < 1.0:
            b[0] = tokens
            self.limited += 1
            return False
        b[0] = tokens - 1.0
        return True
