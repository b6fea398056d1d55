"""`betex account create|issue-key|revoke-key`: accounts and API keys on a running server.

Each is one admin command (CREATE_ACCOUNT, ISSUE_KEY, REVOKE_KEY) sent over `/ws_ctl` with the
admin token; the reply is printed as a line of text, or one JSON object with `--json`. A new key
is printed once (the server keeps only its hash). A reject exits 6 with its code and message;
an unreachable server exits 5.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from betex.cli.common import fail
from betex.cli.examples import epilog
from betex.cli.plain import WordsCommand
from betex.core.errors import UsageError

EXIT_REJECTED = 6
"""The server answered with a reject (operations.md §4)."""

UrlOption = Annotated[
    str,
    typer.Option(metavar="URL", envvar="BETEX_URL", help="The server (http://HOST:PORT or ws://HOST:PORT)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        metavar="TOKEN", envvar="BETEX_ADMIN_TOKEN", help="The server's admin token (env BETEX_ADMIN_TOKEN)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DEFAULT_URL = "http://127.0.0.1:3000"


def _ws_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "/ws_ctl", "", ""))


async def _call(
    url: str, token: str | None, msg_type: str, body: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Send one admin command and return its reply (kind, body), skipping streamed messages."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, WebSocketException

    from betex.core.errors import Unreachable

    headers = {"Authorization": f"Bearer {token}"} if token else None
    body = {**body, "correlation_id": 1}
    try:
        async with connect(_ws_url(url), additional_headers=headers, open_timeout=5) as ws:
            await ws.send(json.dumps({msg_type: body}))
            async with asyncio.timeout(10):
                async for raw in ws:
                    ((kind, reply),) = json.loads(raw).items()
                    if isinstance(reply, dict) and reply.get("correlation_id") == 1:
                        return kind, reply
    except InvalidStatus as exc:
        status = exc.response.status_code
        try:
            detail = json.loads(exc.response.body or b"{}")["error"]
        except (ValueError, KeyError, TypeError):
            detail = {"code": "HTTP", "message": f"HTTP {status}"}
        fail(f"rejected: {detail['code']}: {detail['message']} (HTTP {status})", EXIT_REJECTED)
    except TimeoutError:
        raise Unreachable(f"{url}: no reply within 10 s") from None
    except (OSError, WebSocketException) as exc:
        raise Unreachable(f"cannot reach {url}: {exc}") from exc
    raise Unreachable(f"{url}: the connection closed before the reply")


def _run(url: str, token: str | None, msg_type: str, body: dict[str, Any], as_json: bool) -> dict[str, Any]:
    kind, reply = asyncio.run(_call(url, token, msg_type, body))
    error = (
        reply.get("error") if kind == "ACK" else {"code": reply.get("code"), "message": reply.get("message")}
    )
    if kind != "ACK" or not reply.get("ok"):
        if as_json:
            print(json.dumps({"ok": False, "error": error}))
        fail(f"rejected: {error['code']}: {error['message']}", EXIT_REJECTED)  # type: ignore[index]
    detail: dict[str, Any] = reply.get("detail") or {}
    return detail


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Accounts and API keys on a running server (admin token needed).",
        no_args_is_help=True,
        rich_markup_mode=None,
        epilog=epilog("account"),
    )

    @group.command("create", epilog=epilog("account create"))
    def _create(
        name: Annotated[str, typer.Option(metavar="NAME", help="A label for the account.")] = "",
        url: UrlOption = DEFAULT_URL,
        admin_token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create an account; prints its account_id."""
        detail = _run(url, admin_token, "CREATE_ACCOUNT", {"name": name}, as_json)
        if as_json:
            print(json.dumps({"account_id": detail["account_id"], "name": name}))
        else:
            print(f"account {detail['account_id']} created{f' ({name})' if name else ''}")

    @group.command("issue-key", cls=WordsCommand, epilog=epilog("account issue-key"))
    def _issue(
        account_id: Annotated[
            int, typer.Argument(metavar="ACCOUNT_ID", help="The account the key trades as.")
        ],
        url: UrlOption = DEFAULT_URL,
        admin_token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Issue an API key for ACCOUNT_ID; prints it once (the server keeps only its hash)."""
        if account_id < 1:
            raise UsageError("ACCOUNT_ID must be >= 1")
        detail = _run(url, admin_token, "ISSUE_KEY", {"account_id": account_id}, as_json)
        if as_json:
            print(
                json.dumps(
                    {"account_id": detail["account_id"], "key_id": detail["key_id"], "key": detail["key"]}
                )
            )
        else:
            print(f"key {detail['key_id']} for account {detail['account_id']} (shown once, keep it):")
            print(detail["key"])

    @group.command("revoke-key", cls=WordsCommand, epilog=epilog("account revoke-key"))
    def _revoke(
        key_id: Annotated[int, typer.Argument(metavar="KEY_ID", help="The key_id printed by issue-key.")],
        url: UrlOption = DEFAULT_URL,
        admin_token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Revoke key KEY_ID: refused from the next command on, on open connections too."""
        detail = _run(url, admin_token, "REVOKE_KEY", {"key_id": key_id}, as_json)
        if as_json:
            print(
                json.dumps({"account_id": detail["account_id"], "key_id": detail["key_id"], "revoked": True})
            )
        else:
            print(f"key {detail['key_id']} of account {detail['account_id']} revoked")

    app.add_typer(group, name="account")
