"""Accounts in the engine: CREATE_ACCOUNT, ISSUE_KEY, REVOKE_KEY, SET_ACCOUNT_LIMIT and their events.

The engine holds only what a key check needs: account names and, per key, its account, the
sha256 hex of the key (never the key itself) and whether it is revoked. The server's key table
follows the same events. These are functions of the engine rather than methods so that the
engine module stays about matching; every change still goes through `Engine._emit` and the
appliers below, so replay reaches the same state.
"""

from __future__ import annotations

from typing import Final

from betex.core.domain import commands as C
from betex.core.domain import validate
from betex.core.domain.engine_api import EngineCore
from betex.core.domain.events import AccountCreated, AccountLimitSet, KeyIssued, KeyRevoked
from betex.core.domain.results import Ack, Reject, Result
from betex.core.domain.types import RejectCode

_HEX: Final = "0123456789abcdef"


def create_account(eng: EngineCore, c: C.CreateAccount) -> Result:
    account_id = eng.next_account_id
    eng._emit(AccountCreated(eng.seq + 1, eng.ts, 0, account_id, c.name))
    return Ack({"account_id": account_id})


def issue_key(eng: EngineCore, c: C.IssueKey) -> Result:
    if c.account_id not in eng.accounts:
        return Reject(RejectCode.BAD_REQUEST, f"unknown account {c.account_id} (CREATE_ACCOUNT first)")
    h = c.key_hash
    if len(h) != 64 or h.strip(_HEX):
        return Reject(RejectCode.BAD_REQUEST, "'key_hash' must be a sha256 digest in lowercase hex")
    if any(k[1] == h for k in eng.keys.values()):
        return Reject(RejectCode.BAD_REQUEST, "that key is already issued")
    key_id = eng.next_key_id
    eng._emit(KeyIssued(eng.seq + 1, eng.ts, 0, key_id, c.account_id, h))
    return Ack({"account_id": c.account_id, "key_id": key_id})


def revoke_key(eng: EngineCore, c: C.RevokeKey) -> Result:
    """Revoking twice is not an error: the key stays revoked and the answer is the same."""
    key = eng.keys.get(c.key_id)
    if key is None:
        return Reject(RejectCode.BAD_REQUEST, f"unknown key {c.key_id}")
    if not key[2]:
        eng._emit(KeyRevoked(eng.seq + 1, eng.ts, 0, c.key_id, key[0]))
    return Ack({"account_id": key[0], "key_id": c.key_id})


def on_account_created(eng: EngineCore, e: AccountCreated) -> None:
    eng.accounts[e.account_id] = e.name
    eng.next_account_id = max(eng.next_account_id, e.account_id + 1)


def on_key_issued(eng: EngineCore, e: KeyIssued) -> None:
    eng.keys[e.key_id] = (e.account_id, e.key_hash, False)
    eng.next_key_id = max(eng.next_key_id, e.key_id + 1)


def on_key_revoked(eng: EngineCore, e: KeyRevoked) -> None:
    account_id, key_hash, _revoked = eng.keys[e.key_id]
    eng.keys[e.key_id] = (account_id, key_hash, True)


def set_limit(eng: EngineCore, c: C.SetAccountLimit) -> Result:
    bad = validate.check_limit(c)
    if bad:
        return bad
    eng._emit(AccountLimitSet(eng.seq + 1, eng.ts, 0, c.account_id, c.max_liability))
    return Ack()


def on_limit(eng: EngineCore, e: AccountLimitSet) -> None:
    eng.risk.set_limit(e.account_id, e.max_liability, eng.markets)
