"""Bots on a `serve --auth keys` server: one account and one API key per bot, one connection each.

A keyed connection is bound to its key's account (protocol.md "Accounts and keys"), so bots that
trade as different accounts cannot share one. Either the operator hands each bot a key
(`betex bots --key K1 --key K2 …`), or the admin token creates an account per bot and issues
it a key over the admin commands (`CREATE_ACCOUNT`, `ISSUE_KEY`), exactly as
`betex account create` / `issue-key` do. The keys live only in this process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence

from .. import messages as m
from ..connection import BetexClient, CommandFailed
from ..errors import ClientError


async def issue_bot_keys(admin: BetexClient, names: Sequence[str]) -> list[tuple[int, str]]:
    """A new account per name, and a key for it: `[(account_id, key)]` in `names` order.

    `admin` must be an acked connection with the admin token; a refusal raises `CommandFailed`.
    """
    out: list[tuple[int, str]] = []
    for name in names:
        reply = await admin.request({"CREATE_ACCOUNT": {"name": name}})
        if not (isinstance(reply, m.Ack) and reply.ok):
            raise CommandFailed(reply)
        account_id = int(reply.detail["account_id"])
        reply = await admin.request({"ISSUE_KEY": {"account_id": account_id}})
        if not (isinstance(reply, m.Ack) and reply.ok):
            raise CommandFailed(reply)
        out.append((account_id, str(reply.detail["key"])))
    return out


async def connect_keyed(
    url: str, keys: Sequence[str], *, no_ack: bool = False, timeout: float = 2.0
) -> dict[int, BetexClient]:
    """One connection per key, each bound by the server to its key's account: `{account_id:
    client}` in `keys` order. Raises `ClientError` if the server binds a key to no account
    (a server too old to say) or two keys to the same account (two bots would share it)."""
    clients: dict[int, BetexClient] = {}
    try:
        for key in keys:
            client = BetexClient(url, key=key, no_ack=no_ack)
            await client.connect(timeout)
            account = client.account_id
            if account is None or account in clients:
                await client.close()
                why = (
                    "the server did not report the key's account (X-Betex-Account)"
                    if account is None
                    else f"two keys are for account {account}; each bot needs its own account"
                )
                raise ClientError(why)
            clients[account] = client
    except BaseException:
        await close_all(clients.values())
        raise
    return clients


async def close_all(clients: Iterable[BetexClient]) -> None:
    """Close each client (errors on the way out are not the caller's concern)."""
    for client in list(clients):
        with contextlib.suppress(Exception):
            await client.close()
