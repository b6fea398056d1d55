"""`betex market …` and `betex order …` against a real server: every write command works, its
`--json` output is one object that parses, and a reject exits 6 with its code and message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Result, betex
from tests.conftest import ServerProcess

TOKEN = "s3cret"


def _json(r: Result) -> Any:
    assert r.code == 0, (r.code, r.out, r.err)
    return json.loads(r.out)


def _rejected(r: Result, code: str) -> None:
    assert r.code == 6, (r.code, r.out, r.err)
    assert f"error: {code}: " in r.err
    assert json.loads(r.out)["error"]["code"] == code


def test_a_market_life_from_the_shell(data_dir: Path, server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(data_dir, "--durability", "async", "--admin-token", TOKEN)
    url = ["--url", server.ws_url]
    admin = [*url, "--admin-token", TOKEN]

    _rejected(betex("market", "create", "--preset", "soccer", *url, "--json"), "UNAUTHORIZED")
    soccer = _json(betex("market", "create", "--preset", "soccer", "--name", "Derby", *admin, "--json"))
    assert soccer["name"] == "Derby" and [r["label"] for r in soccer["runners"]] == ["Home", "Draw", "Away"]
    explicit = _json(
        betex("market", "create", "--name", "Final", "--model", "EXCHANGE_ODDS", "--book-type",
              "TWO_RUNNER", "--runner", "1:Nadal", "--runner", "2:Federer", *admin, "--json")
    )  # fmt: skip
    assert [r["label"] for r in explicit["runners"]] == ["Nadal", "Federer"]
    cross = _json(
        betex("market", "create", "--name", "X", "--model", "EXCHANGE_ODDS", "--book-type",
              "CROSS_MATCHED", "--runner", "1:A", "--runner", "2:B", "--runner", "3:C", *admin, "--json")
    )  # fmt: skip
    assert [r["label"] for r in cross["runners"]] == ["A", "B", "C"]
    _rejected(
        betex("market", "create", "--name", "Y", "--model", "EXCHANGE_ODDS", "--book-type",
              "CROSS_MATCHED", "--runner", "1:A", *admin, "--json"),
        "INVALID_RUNNER",
    )  # fmt: skip
    m = str(soccer["market_id"])
    listed = _json(betex("market", "list", *url, "--json"))["items"]
    assert {row["market_id"] for row in listed} == {
        soccer["market_id"],
        explicit["market_id"],
        cross["market_id"],
    }
    assert _json(betex("market", "state", m, *url, "--json"))["market_state"] == "OPEN"
    _rejected(betex("market", "state", "999", *url, "--json"), "INVALID_MARKET")

    back = _json(
        betex("order", "place", "--market", m, "--runner", "1", "--side", "BACK", "--price", "2.5",
              "--size", "10", "--account", "3", "--persist", "--client-ref", "b1", *url, "--json")
    )  # fmt: skip
    assert back["status"] == "ACCEPTED" and back["size_remaining"] == 10.0
    lay = _json(
        betex("order", "place", "--market", m, "--runner", "1", "--side", "LAY", "--price", "2.5",
              "--size", "4", "--account", "4", *url, "--json")
    )  # fmt: skip
    assert lay["fills"] == [
        {"trade_id": 1, "price": 2.5, "size": 4.0, "implied": False, "effective_odds": 2.5}
    ]
    _rejected(
        betex("order", "place", "--market", m, "--runner", "1", "--side", "LAY", "--price", "2.51",
              "--size", "4", "--account", "4", *url, "--json"),
        "INVALID_ODDS",
    )  # fmt: skip
    fok = betex("order", "place", "--market", m, "--runner", "2", "--side", "BACK", "--price", "3.0",
                "--size", "5", "--account", "4", "--fok", "--min-fill", "2", *url, "--json")  # fmt: skip
    _rejected(fok, "FOK_NOT_FILLED")
    moved = _json(
        betex("order", "replace", "--market", m, "--order", str(back["order_id"]), "--price", "2.6",
              "--account", "3", *url, "--json")
    )  # fmt: skip
    assert moved["status"] == "REPLACED" and moved["replacement_order_id"]
    new_id = str(moved["replacement_order_id"])
    reduced = _json(
        betex(
            "order",
            "cancel",
            "--market",
            m,
            "--order",
            new_id,
            "--reduce",
            "1",
            "--account",
            "3",
            *url,
            "--json",
        )
    )
    assert reduced["status"] == "CANCELLED" and reduced["size_remaining"] == 5.0
    _rejected(
        betex("order", "cancel", "--market", m, "--order", new_id, "--account", "4", *url, "--json"),
        "NOT_OWNER",
    )
    orders = _json(betex("order", "list", "--market", m, "--account", "3", *url, "--json"))["items"]
    assert [o["order_id"] for o in orders] == [int(new_id), back["order_id"]]
    table = betex("order", "list", "--market", m, *url)
    assert table.code == 0 and table.out.splitlines()[0].split()[:2] == ["ORDER_ID", "RUNNER_ID"]

    _rejected(betex("market", "close", m, *url, "--json"), "UNAUTHORIZED")
    assert _json(betex("market", "go-live", m, *admin, "--json"))["market_phase"] == "IN_PLAY"
    _rejected(betex("market", "settle", m, "--winner", "1", *admin, "--json"), "INVALID_TRANSITION")
    assert _json(betex("market", "close", m, *admin, "--json"))["market_state"] == "CLOSED"
    e = str(explicit["market_id"])
    remove = ("market", "remove-runner", m, "--runner", "2", "--factor", "20")
    _rejected(betex(*remove, *url, "--json"), "UNAUTHORIZED")
    removed = _json(betex(*remove, *admin, "--json"))  # a non-runner known at the off: 2.50 → 2.00
    assert (removed["market_state"], removed["version"]) == ("CLOSED", 5)
    _rejected(betex(*remove, *admin, "--json"), "INVALID_RUNNER")  # already removed
    _rejected(  # two active runners left
        betex("market", "remove-runner", m, "--runner", "3", "--factor", "10", *admin, "--json"),
        "INVALID_TRANSITION",
    )
    _rejected(
        betex("market", "remove-runner", m, "--runner", "1", "--factor", "12.345", *admin, "--json"),
        "BAD_REQUEST",
    )
    plain = betex("market", "remove-runner", e, "--runner", "1", "--factor", "5", *admin)  # TWO_RUNNER
    assert plain.code == 6 and "INVALID_TRANSITION" in plain.err
    state = _json(betex("market", "state", m, *url, "--json"))
    assert [(r["runner_id"], r["status"]) for r in state["runners"]] == [
        (1, "ACTIVE"),
        (2, "REMOVED"),
        (3, "ACTIVE"),
    ]
    _rejected(betex("market", "settle", m, "--winner", "2", *admin, "--json"), "INVALID_RUNNER")
    assert _json(betex("market", "settle", m, "--winner", "1", *admin, "--json"))["market_state"] == "SETTLED"
    assert _json(betex("market", "void", e, *admin, "--json"))["market_state"] == "VOIDED"

    status, risk = server.get(f"/risk?market_id={m}&account_id=3")  # 4.00 backed at 2.50, reduced to 2.00
    assert status == 200 and risk["risk"][0]["settled_pnl"] == 4.0


def test_an_unreachable_server_exits_5() -> None:
    r = betex("market", "list", "--url", "ws://127.0.0.1:9", "--json")
    assert r.code == 5, (r.code, r.err)
