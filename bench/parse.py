"""PLACE_ORDER parse cost: the current parser (orjson + Python checks) against a msgspec prototype.

The prototype decodes into typed structs in one C pass (unknown fields, JSON types), then does in
Python what msgspec cannot express: u64 bounds (msgspec's bounds stop at int64), the market's
model for price/size units, the spec's reject code per field. Both build the same
`commands.PlaceOrder`. Before timing, both parse the same hostile PLACE_ORDER variants and any
disagreement in (result kind, reject code) is counted: adopting msgspec requires zero.

A third line times `bench/msgspec_parser.py`, a complete msgspec parser for every message
type, after checking it against the current parser on hostile variants of every type (each
breaks one field: msgspec names the first bad field in document order).

Run: `python bench/parse.py [--n 200000]` (needs `pip install msgspec`). The last line is JSON:
current_us, msgspec_us (the PLACE_ORDER prototype), msgspec_full_us, orjson_loads_us (the floor
for any orjson-based parser), speedup, full_speedup, and the parity counts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402

from betex.core.domain import commands as c  # noqa: E402
from betex.core.domain.types import U32_MAX, U64_MAX, RejectCode  # noqa: E402
from betex.core.protocol.parse import (  # noqa: E402
    CLIENT_MSG_TYPES,
    MAX_CLIENT_REF,
    WireError,
    _lenient_loads,
    parse_client_msg,
    price_from_wire,
    size_from_wire,
)

MODELS = {1: "EXCHANGE_ODDS", 2: "BINARY_YES"}

try:
    import msgspec
except ImportError:  # the bench then times the current parser only
    msgspec = None  # type: ignore[assignment]
else:

    class PlaceOrderBody(msgspec.Struct, forbid_unknown_fields=True):
        market_id: int | None = None
        runner_id: int | None = None
        side: str | None = None
        price: int | float | None = None
        size: int | float | None = None
        account_id: int | None = None
        persistence: str | None = None
        time_in_force: str | None = None
        min_fill_size: int | float | None = None
        client_ref: str | None = None
        correlation_id: int | None = None

    class Envelope(msgspec.Struct, forbid_unknown_fields=True):
        PLACE_ORDER: PlaceOrderBody | None = None


_BAD = RejectCode.BAD_REQUEST


def build_msgspec_parser() -> Any:
    """The prototype (PLACE_ORDER only); None when msgspec is not installed."""
    if msgspec is None:
        return None
    decoder = msgspec.json.Decoder(Envelope)
    field_code = {
        "price": RejectCode.INVALID_ODDS,
        "size": RejectCode.INVALID_SIZE,
        "min_fill_size": RejectCode.INVALID_SIZE,
        "side": RejectCode.INVALID_SIDE,
    }
    sides = frozenset({"BACK", "LAY", "BUY", "SELL"})
    persistence = frozenset({"LAPSE", "PERSIST"})
    tif = frozenset({"GTC", "FILL_OR_KILL"})

    def cid_of(raw: bytes) -> int | None:  # error path only: the correlation id, if readable
        try:
            body = next(iter(orjson.loads(raw).values()))
            v = body.get("correlation_id")
        except Exception:
            return None
        return v if type(v) is int and 0 <= v <= U64_MAX else (0 if v is None else None)

    def parse(raw: bytes, model_of: Any) -> c.PlaceOrder | WireError:
        try:
            try:
                env = decoder.decode(raw)
            except msgspec.DecodeError:  # NaN, Infinity, 1e400: the same lenient path as parse.py
                obj = _lenient_loads(raw)
                if obj is None:
                    raise
                env = msgspec.convert(obj, Envelope)
        except msgspec.ValidationError as exc:
            text = str(exc)
            field = text.rsplit("$.PLACE_ORDER.", 1)[-1].rstrip("`") if "$.PLACE_ORDER." in text else ""
            return WireError(field_code.get(field, _BAD), text, cid_of(raw), "PLACE_ORDER")
        except msgspec.DecodeError as exc:
            return WireError(_BAD, f"invalid JSON: {exc}")
        b = env.PLACE_ORDER
        if b is None:
            return WireError(_BAD, "a ClientMsg is an object with exactly one key, the message type")
        cid = 0 if b.correlation_id is None else b.correlation_id
        if not 0 <= cid <= U64_MAX:
            return WireError(_BAD, "'correlation_id' must be an integer in 0..2^64-1", None, "PLACE_ORDER")

        def bad(code: RejectCode, message: str) -> WireError:
            return WireError(code, message, cid, "PLACE_ORDER")

        if b.side is None:
            return bad(_BAD, "missing field 'side'")
        if b.side not in sides:
            return bad(RejectCode.INVALID_SIDE, "'side' must be BACK, LAY, BUY or SELL")
        if b.market_id is None or not 0 <= b.market_id <= U64_MAX:
            return bad(_BAD, "'market_id' must be an integer in 0..2^64-1")
        model = model_of(b.market_id)
        if model is None:
            return bad(RejectCode.INVALID_MARKET, f"unknown market {b.market_id}")
        if b.runner_id is None or not 0 <= b.runner_id <= U32_MAX:
            return bad(_BAD, "'runner_id' must be an integer in 0..2^32-1")
        if b.price is None:
            return bad(_BAD, "missing field 'price'")
        price = price_from_wire(model, b.price)
        if price is None:
            return bad(RejectCode.INVALID_ODDS, "bad price")
        if b.size is None:
            return bad(_BAD, "missing field 'size'")
        size = size_from_wire(model, b.size)
        if size is None:
            return bad(RejectCode.INVALID_SIZE, "bad size")
        if b.account_id is None or not 1 <= b.account_id <= U32_MAX:
            return bad(_BAD, "'account_id' must be in 1..2^32-1")
        pers = "LAPSE" if b.persistence is None else b.persistence
        if pers not in persistence:
            return bad(_BAD, "bad persistence")
        t = "GTC" if b.time_in_force is None else b.time_in_force
        if t not in tif:
            return bad(_BAD, "bad time_in_force")
        min_fill = 0
        if b.min_fill_size is not None:
            m = size_from_wire(model, b.min_fill_size)
            if m is None:
                return bad(RejectCode.INVALID_SIZE, "bad min_fill_size")
            min_fill = m
        ref = "" if b.client_ref is None else b.client_ref
        if len(ref) > MAX_CLIENT_REF:
            return bad(_BAD, "client_ref too long")
        return c.PlaceOrder(
            b.market_id, b.runner_id, b.side, price, size, b.account_id, pers, t, min_fill, ref, cid
        )

    return parse


VALID: dict[str, dict[str, Any]] = {
    "CREATE_MARKET": {
        "name": "A v B",
        "market_model": "EXCHANGE_ODDS",
        "book_type": "TWO_RUNNER",
        "market_kind": "IN_PLAY_CAPABLE",
        "market_state": "OPEN",
        "market_phase": "PRE",
        "runner_ids": [1, 2],
        "runner_labels": ["A", "B"],
    },
    "ADD_RUNNERS": {"market_id": 1, "runner_ids": [3], "runner_labels": ["C"]},
    "LIST_MARKETS": {},
    "SUBSCRIBE": {"market_id": 1, "depth": 10},
    "PLACE_ORDER": {
        "market_id": 1,
        "runner_id": 1,
        "side": "BACK",
        "price": 2.5,
        "size": 10.0,
        "account_id": 7,
        "persistence": "LAPSE",
        "time_in_force": "FILL_OR_KILL",
        "min_fill_size": 5.0,
        "client_ref": "x",
    },
    "CANCEL_ORDER": {"market_id": 1, "order_id": 4, "account_id": 7, "size_reduction": 2.0},
    "CANCEL_ALL": {"market_id": 1, "account_id": 7},
    "REPLACE_ORDER": {"market_id": 1, "order_id": 4, "account_id": 7, "new_price": 2.6},
    "SET_MARKET_STATE": {"market_id": 1, "market_state": "SUSPENDED"},
    "AWAIT_LIVE_MARKET": {"market_id": 1},
    "GO_LIVE_MARKET": {"market_id": 1},
    "CLOSE_MARKET": {"market_id": 1},
    "VOID_MARKET": {"market_id": 1},
    "SETTLE_MARKET": {"market_id": 1, "winner_runner_ids": [1]},
    "VOID_TRADES": {"market_id": 1, "trade_ids": [5, 6]},
    "SET_ACCOUNT_LIMIT": {"account_id": 7, "max_liability": 100.0},
}
BINARY_UNITS = {"price": 4500, "new_price": 4600, "size": 10, "min_fill_size": 5, "size_reduction": 2}

ALL_HOSTILE: list[str] = [
    json.dumps(v)
    for v in [1e308, -1e308, 1.8e306, math.nan, math.inf, -math.inf, 2**64, 10**30, -0.0, 2.555, 0, -1]
    + [None, True, False, "x", "BACK", [], [1], [True], [1.5], ["a"], {}, {"a": 1}, 1.0, 2.5, 4500, 10]
] + ["1e400", "1" + "0" * 400]


def all_types_cases() -> list[bytes]:
    cases = []
    for msg_type in CLIENT_MSG_TYPES:
        for market in (1, 2):
            base = dict(VALID[msg_type], correlation_id=9)
            if market == 2 and "market_id" in base:
                base["market_id"] = 2
                base.update({k: v for k, v in BINARY_UNITS.items() if k in base})
            for field in [*base, "unknown_field"]:
                for text in ALL_HOSTILE:
                    body = dict(base, **{field: "@@"})
                    cases.append(json.dumps({msg_type: body}).replace('"@@"', text).encode())
    cases += [
        b"{}",
        b"[]",
        b"null",
        b'{"PLACE_ORDER": null}',
        b'{"A": {}, "B": {}}',
        b'{"NOPE": {}}',
        b"{",
        b"NaN",
    ]
    return cases


def outcome_all(r: Any) -> tuple[Any, ...]:
    """Comparable across the two modules (each has its own WireError class)."""
    if type(r).__name__ == "WireError":
        return ("reject", str(r.code), r.correlation_id, r.msg_type)
    return (type(r).__name__, tuple(r))


def messages() -> list[bytes]:
    out = []
    for i in range(64):
        body = {
            "market_id": 1,
            "runner_id": 1 + i % 3,
            "side": "BACK" if i % 2 else "LAY",
            "price": [2.5, 3.0, 1.5, 10.0][i % 4],
            "size": 10.0 + i,
            "account_id": 7 + i,
            "persistence": "LAPSE",
            "client_ref": f"r{i}",
            "correlation_id": (7 << 32) | i,
        }
        out.append(orjson.dumps({"PLACE_ORDER": body}))
    return out


HOSTILE: list[Any] = [1e308, -1e308, math.nan, math.inf, 2**64, 10**30, -0.0, 2.555, 0, -1, None, True]
HOSTILE += ["x", [], {}, 1.0, 2.5, 4500, 10]


def parity_cases() -> list[bytes]:
    base = json.loads(messages()[0])["PLACE_ORDER"]
    cases = []
    for field in [*base, "unknown_field"]:
        for v in HOSTILE:
            for market in (1, 2):
                units = {"price": 4500, "size": 10} if market == 2 else {}  # one bad field per case
                body = {**base, "market_id": market, **units}
                body[field] = v
                cases.append(json.dumps({"PLACE_ORDER": body}).encode())
    return cases


def outcome(r: Any) -> tuple[str, str]:
    return ("reject", str(r.code)) if isinstance(r, WireError) else (type(r).__name__, repr(r))


def time_per_call(fn: Any, msgs: list[bytes], n: int) -> float:
    model_of = MODELS.get
    k = len(msgs)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(n):
            fn(msgs[i % k], model_of)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    proto = build_msgspec_parser()
    msgs = messages()
    loads = orjson.loads
    floor = time_per_call(lambda raw, _m: loads(raw), msgs, args.n)
    current = time_per_call(parse_client_msg, msgs, args.n)
    print(f"orjson.loads alone      {floor:6.2f} µs per PLACE_ORDER")
    print(f"current parser          {current:6.2f} µs per PLACE_ORDER")
    result: dict[str, Any] = {"current_us": round(current, 3), "orjson_loads_us": round(floor, 3)}
    if proto is None:
        print("msgspec not installed: pip install msgspec")
        result.update(msgspec_us=None, speedup=None)
    else:
        for raw in msgs:
            assert proto(raw, MODELS.get) == parse_client_msg(raw, MODELS.get)
        cases = parity_cases()
        mismatches = []
        for raw in cases:
            a, b = outcome(parse_client_msg(raw, MODELS.get)), outcome(proto(raw, MODELS.get))
            if a[0] != b[0] or (a[0] == "reject" and a[1] != b[1]) or (a[0] != "reject" and a != b):
                mismatches.append((raw.decode()[:120], a[1][:40], b[1][:40]))
        proto_us = time_per_call(proto, msgs, args.n)
        print(f"msgspec prototype       {proto_us:6.2f} µs per PLACE_ORDER")
        print(f"reject parity: {len(cases) - len(mismatches)}/{len(cases)} hostile variants agree")
        seen: set[tuple[str, str]] = set()
        for raw_text, want, got in mismatches:  # one line per kind of disagreement
            if (want, got) not in seen:
                seen.add((want, got))
                print(f"  current {want} / msgspec {got}: e.g. {raw_text}")
        from bench import msgspec_parser

        full_cases = all_types_cases()
        full_mismatches = [
            raw
            for raw in full_cases
            if outcome_all(parse_client_msg(raw, MODELS.get))[:3]
            != outcome_all(msgspec_parser.parse_client_msg(raw, MODELS.get))[:3]
        ]
        full_us = time_per_call(msgspec_parser.parse_client_msg, msgs, args.n)
        print(f"msgspec, every message    {full_us:6.2f} µs per PLACE_ORDER (bench/msgspec_parser.py)")
        print(
            f"  parity: {len(full_cases) - len(full_mismatches)}/{len(full_cases)} hostile variants of every type agree"
        )
        result.update(
            msgspec_full_us=round(full_us, 3),
            full_speedup=round(current / full_us, 2),
            full_parity_cases=len(full_cases),
            full_parity_mismatches=len(full_mismatches),
        )
        result.update(
            msgspec_us=round(proto_us, 3),
            speedup=round(current / proto_us, 2),
            parity_cases=len(cases),
            parity_mismatches=len(mismatches),
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
