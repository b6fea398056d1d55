"""Options and output shared by the write commands that speak the protocol (`market`, `order`).

Each command parses options, calls one function of `betex.client.shell` and prints its result:
a table, or one JSON object with `--json`. A reject rises as `Rejected` and exits 6 (one line on
stderr with its code and message; with `--json` also `{"error": {"code", "message"}}` on stdout).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import typer

from betex.cli.common import EXIT_REJECTED
from betex.core.errors import Rejected

T = TypeVar("T")

DEFAULT_URL = "ws://127.0.0.1:3000"

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="BETEX_URL", metavar="URL", help="The server (ws:// or http://)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="BETEX_KEY", metavar="KEY", help="Account API key (auth mode keys)."),
]
AdminOption = Annotated[
    str | None,
    typer.Option(
        "--admin-token", envvar="BETEX_ADMIN_TOKEN", metavar="TOKEN", help="The server's admin token."
    ),
]
AccountOption = Annotated[
    int | None,
    typer.Option(
        "--account",
        envvar="BETEX_ACCOUNT",
        min=1,
        metavar="ID",
        help="Account id (default: with --key the key's account, else 1).",
    ),
]


def target(url: str, key: str | None, admin_token: str | None) -> Any:
    from betex.client.shell import Target

    return Target(url, key or None, admin_token or None)


def run(coro: Awaitable[T], json_out: bool) -> T:
    """Run one exchange; a reject prints its code and message and exits 6."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except Rejected as exc:
        code = exc.code or "REJECTED"
        message = str(exc).removeprefix(f"{code}: ")
        if json_out:
            import orjson

            sys.stdout.write(orjson.dumps({"error": {"code": code, "message": message}}).decode() + "\n")
        print(f"error: {code}: {message}", file=sys.stderr)
        raise typer.Exit(EXIT_REJECTED) from None


def show(obj: Any, json_out: bool) -> None:
    """One JSON object (`--json`), or a table: one row per item for a list, key/value otherwise."""
    if json_out:
        import orjson

        if isinstance(obj, list):
            obj = {"items": obj}
        sys.stdout.write(orjson.dumps(obj).decode() + "\n")
        return
    if isinstance(obj, list):
        _table(obj)
        return
    width = max((len(k) for k in obj), default=0)
    for k, v in obj.items():
        print(f"{k:<{width}}  {_cell(v)}")


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return "; ".join(_cell(x) for x in v) if v else "-"
    if isinstance(v, dict):
        return " ".join(f"{k}={_cell(x)}" for k, x in v.items())
    return "-" if v is None else str(v)


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...] | None = None) -> None:
    if not rows:
        print("(none)")
        return
    cols = columns or tuple(rows[0])
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
