"""Render: engine results, projection views and parse rejects to ServerMsg dicts (wire units).

Pure: no I/O. `dumps` makes the bytes. Engine units become wire units here and only here:
odds hundredths → decimal odds, cents → money, bps and shares stay integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from betex.core.domain import commands as c
from betex.core.domain.events import TradeMatched
from betex.core.domain.money import BPS_UNITS, CENTS
from betex.core.domain.results import Ack, MarketResult, OrderResult, Reject, Result
from betex.core.domain.types import OrderStatus
from betex.core.readmodel.projection import DEFAULT_DEPTH, AccountRisk, MarketView, OrderView, Projection

from .parse import ClientRequest, OrderBatch, WireError

_BINARY = "BINARY_YES"
_EXCHANGE = "EXCHANGE_ODDS"
_BAD = "BAD_REQUEST"
_RUNNER_REMOVED = "RUNNER_REMOVED"  # the order-stream reason of a runner removal
_EXECUTABLE = OrderStatus.EXECUTABLE.value
_COMPLETE = OrderStatus.EXECUTION_COMPLETE.value
_DELAYED = OrderStatus.DELAYED.value
_ORDER_MSGS = frozenset({"PLACE_ORDER", "CANCEL_ORDER", "REPLACE_ORDER", "REDUCE_ORDER"})


def dumps(msg: Mapping[str, Any]) -> bytes:
    """A ServerMsg (or any wire dict) as UTF-8 JSON bytes."""
    return orjson.dumps(msg)


def price_to_wire(model: str, price: int) -> float | int:
    """Engine price to JSON: hundredths → decimal odds (2.5), bps stay integers (4500)."""
    return price if model == _BINARY else price / 100


def size_to_wire(model: str, size: int) -> float | int:
    """Engine size to JSON: cents → money (10.5), shares stay integers."""
    return size if model == _BINARY else size / CENTS


def money_scale(model: str) -> int:
    """Minor units per 1.00 of P&L: cents for odds markets, 1/10000 for binary (bps × shares)."""
    return BPS_UNITS if model == _BINARY else CENTS


def effective_odds_to_wire(odds: float) -> float:
    """Implied fills happen at non-ladder odds; 4 decimals is plenty for display and averages."""
    return round(odds, 4)


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": str(code), "message": message}


def render_order(result: OrderResult, model: str) -> dict[str, Any]:
    """The order fields of an ORDER_RESPONSE (without correlation id / status wrapper)."""
    binary = model == _BINARY
    fills = []
    for f in result.fills:
        fill: dict[str, Any] = {
            "trade_id": f.trade_id,
            "price": f.price if binary else f.price / 100,
            "size": f.size if binary else f.size / CENTS,
            "implied": f.implied,
        }
        if not binary:
            fill["effective_odds"] = effective_odds_to_wire(f.effective_odds)
        fills.append(fill)
    body: dict[str, Any] = {
        "status": result.status,
        "order_id": result.order_id,
        "market_id": result.market_id,
        "runner_id": result.runner_id,
        "side": result.side,
        "price": price_to_wire(model, result.price),
        "size": size_to_wire(model, result.size),
        "size_matched": size_to_wire(model, result.size_matched),
        "size_remaining": size_to_wire(model, result.size_remaining),
        "size_cancelled": size_to_wire(model, result.size_cancelled),
        "fills": fills,
    }
    if result.replacement_order_id:
        body["replacement_order_id"] = result.replacement_order_id
    if result.replacement is not None:
        body["replacement"] = render_order(result.replacement, model)
    return body


def render_order_response(result: OrderResult | Reject, correlation_id: int, model: str) -> dict[str, Any]:
    """ORDER_RESPONSE for PLACE/CANCEL/REPLACE: the order after the change, or REJECTED."""
    if isinstance(result, Reject):
        return {
            "ORDER_RESPONSE": {
                "correlation_id": correlation_id,
                "status": "REJECTED",
                "error": _error(result.code, result.message),
            }
        }
    body = {"correlation_id": correlation_id}
    body.update(render_order(result, model))
    return {"ORDER_RESPONSE": body}


def render_ack(
    correlation_id: int | None, error: Reject | None = None, detail: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """ACK: `ok` true, or false with the reject; `detail` carries counts (e.g. cancelled orders)."""
    body: dict[str, Any] = {"correlation_id": correlation_id, "ok": error is None}
    if error is not None:
        body["error"] = _error(error.code, error.message)
    if detail:
        body["detail"] = dict(detail)
    return {"ACK": body}


def render_market_created(
    correlation_id: int, market_id: int, snapshot: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """MARKET_CREATED with the new market's SNAPSHOT body ({} when the server has none yet)."""
    return {
        "MARKET_CREATED": {
            "correlation_id": correlation_id,
            "market_id": market_id,
            "snapshot": dict(snapshot) if snapshot else {},
        }
    }


def render_market_updated(correlation_id: int, result: MarketResult) -> dict[str, Any]:
    return {
        "MARKET_UPDATED": {
            "correlation_id": correlation_id,
            "market_id": result.market_id,
            "market_state": result.market_state,
            "market_phase": result.market_phase,
            "version": result.version,
        }
    }


def render_market_list(correlation_id: int, markets: list[dict[str, Any]]) -> dict[str, Any]:
    """MARKET_LIST; `markets` is `Projection.market_list()`."""
    return {"MARKET_LIST": {"correlation_id": correlation_id, "markets": markets}}


def render_snapshot(body: Mapping[str, Any]) -> dict[str, Any]:
    """SNAPSHOT; `body` is `Projection.snapshot(...)`."""
    return {"SNAPSHOT": body}


def render_status(seq: int, markets: int, ts: int) -> dict[str, Any]:
    return {"STATUS": {"seq": seq, "markets": markets, "ts": ts}}


def render_error(err: WireError) -> dict[str, Any]:
    """ERROR: the reply to a message that could not be understood (BAD_REQUEST)."""
    return {"ERROR": {"code": str(err.code), "message": err.message, "correlation_id": err.correlation_id}}


def render_wire_error(err: WireError) -> dict[str, Any]:
    """The reply to a refused ClientMsg, shaped like the answer the client waits for.

    Malformed messages (BAD_REQUEST, or no readable type) get ERROR; a well-formed order
    message with a bad value (INVALID_SIZE, INVALID_ODDS, ...) gets ORDER_RESPONSE REJECTED; any
    other well-formed message gets ACK ok=false.
    """
    if err.code == _BAD or not err.msg_type:
        return render_error(err)
    cid = err.correlation_id if err.correlation_id is not None else 0
    reject = Reject(err.code, err.message)
    if err.msg_type in _ORDER_MSGS:
        return render_order_response(reject, cid, _EXCHANGE)
    return render_ack(cid, reject)


def render_reply(
    request: ClientRequest,
    result: Result,
    model: str = _EXCHANGE,
    snapshot: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The reply to an engine command given the engine's Result.

    A BAD_REQUEST reject is always ERROR (protocol.md); otherwise
    PLACE/CANCEL/REPLACE → ORDER_RESPONSE; CREATE_MARKET → MARKET_CREATED (with `snapshot`);
    other market admin → MARKET_UPDATED; anything else, and every non-order reject → ACK.
    `model` is the market's model (for unit conversion of order responses).
    """
    cid = request.correlation_id
    if isinstance(result, Reject) and result.code == _BAD:
        return render_error(WireError(result.code, result.message, cid))
    if isinstance(request, (c.PlaceOrder, c.CancelOrder, c.ReplaceOrder, c.ReduceOrder)):
        if isinstance(result, (OrderResult, Reject)):
            return render_order_response(result, cid, model)
        return render_ack(cid)
    if isinstance(result, Reject):
        return render_ack(cid, result)
    if isinstance(result, MarketResult):
        if isinstance(request, c.CreateMarket) or result.created:
            return render_market_created(cid, result.market_id, snapshot)
        return render_market_updated(cid, result)
    if isinstance(result, Ack):
        return render_ack(cid, None, result.detail)
    return render_ack(cid)


# --- read-model views (SNAPSHOT, MARKET_LIST, /orders, /trades, /risk) ----------------------


def snapshot(p: Projection, market_id: int, depth: int = DEFAULT_DEPTH) -> dict[str, Any] | None:
    """The SNAPSHOT body; `seq`/`ts` are those of the last event that changed this market.
    None for an unknown market."""
    found = p.snapshot_view(market_id, depth)
    if found is None:
        return None
    m, view = found
    model = m.model
    runners = []
    for r, label in zip(m.runner_ids, m.runner_labels, strict=True):
        ltp = m.ltp.get(r)
        runner: dict[str, Any] = {
            "runner_id": r,
            "label": label,
            "last_traded_price": None if ltp is None else price_to_wire(model, ltp),
            "traded_volume": size_to_wire(model, m.volume.get(r, 0)),
        }
        runner.update(_runner_status(m, r))
        runners.append(runner)
    book: dict[str, Any]
    if view["kind"] == "BINARY":
        book = {
            "kind": "BINARY",
            "data": {
                "bids": [{"price": p, "size": q} for p, q in view["bids"]],
                "asks": [{"price": p, "size": q} for p, q in view["asks"]],
            },
        }
    else:
        book = {
            "kind": "EXCHANGE",
            "data": {
                "runners": [
                    {
                        "runner_id": r,
                        "available_to_back": [
                            {"price": p / 100, "size": s / 100, "implied": i / 100} for p, s, i in atb
                        ],
                        "available_to_lay": [
                            {"price": p / 100, "size": s / 100, "implied": i / 100} for p, s, i in atl
                        ],
                    }
                    for r, atb, atl in view["runners"]
                ]
            },
        }
    return {
        "market_id": m.market_id,
        "name": m.name,
        "market_model": model,
        "book_type": m.book_type,
        "market_kind": m.kind,
        "market_state": m.state,
        "market_phase": m.phase,
        "version": m.version,
        "seq": m.last_seq,
        "ts": m.last_ts,
        "total_matched": size_to_wire(model, m.total_matched),
        "winner_runner_ids": None if m.winners is None else list(m.winners),
        "runners": runners,
        "book": book,
    }


def _runner_status(m: MarketView, runner_id: int) -> dict[str, Any]:
    """A runner's `status` (ACTIVE, or REMOVED with its `reduction_factor` in percent)."""
    factor = m.removed.get(runner_id)
    if factor is None:
        return {"status": "ACTIVE"}
    return {"status": "REMOVED", "reduction_factor": factor / 100}


def _market_row(m: MarketView) -> dict[str, Any]:
    return {
        "market_id": m.market_id,
        "name": m.name,
        "market_model": m.model,
        "book_type": m.book_type,
        "market_kind": m.kind,
        "market_state": m.state,
        "market_phase": m.phase,
        "version": m.version,
        "runners": [
            {"runner_id": r, "label": label, **_runner_status(m, r)}
            for r, label in zip(m.runner_ids, m.runner_labels, strict=True)
        ],
        "total_matched": size_to_wire(m.model, m.total_matched),
        **({"bet_delay_ms": m.bet_delay_ms} if m.bet_delay_ms else {}),
    }


def market_list(p: Projection) -> list[dict[str, Any]]:
    """Every market, by id (the `markets` of MARKET_LIST and of GET /markets)."""
    return [_market_row(m) for m in p.market_views()]


def order_dict(p: Projection, o: OrderView) -> dict[str, Any]:
    """One order as /orders shows it."""
    model = p.model_of_order(o)
    remaining = o.remaining
    avg: float | None = None
    if o.matched:
        avg = (
            round(o.value / o.matched, 2)
            if model == _BINARY
            else effective_odds_to_wire(o.value / o.matched / 100)
        )
    return {
        "order_id": o.order_id,
        "market_id": o.market_id,
        "runner_id": o.runner_id,
        "account_id": o.account_id,
        "side": o.side,
        "price": price_to_wire(model, o.price),
        "size": size_to_wire(model, o.size),
        "size_matched": size_to_wire(model, o.matched),
        "size_remaining": size_to_wire(model, remaining),
        "size_cancelled": size_to_wire(model, o.cancelled),
        "size_lapsed": size_to_wire(model, o.lapsed),
        "size_voided": size_to_wire(model, o.voided),
        "avg_price_matched": avg,
        "status": (_DELAYED if p.is_delayed(o.order_id) else _EXECUTABLE) if remaining else _COMPLETE,
        "persistence": o.persistence,
        "time_in_force": o.time_in_force,
        "client_ref": o.client_ref,
        "replaces": o.replaces or None,
        "placed_ts": o.placed_ts,
        "updated_ts": o.updated_ts,
    }


def orders(
    p: Projection,
    market_id: int | None = None,
    account_id: int | str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """GET /orders body: orders newest first (by order id). `status`: open | complete
    (or EXECUTABLE | EXECUTION_COMPLETE); ValueError on anything else."""
    rows = p.select_orders(market_id, account_id, status, limit)
    return {"seq": p.seq, "orders": [order_dict(p, o) for o in rows]}


def completed_orders(
    p: Projection, market_id: int | None = None, account_id: int | str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """GET /completed_orders body: EXECUTION_COMPLETE orders, most recently completed first."""
    rows = p.select_completed(market_id, account_id, limit)
    return {"seq": p.seq, "orders": [order_dict(p, o) for o in rows]}


def trade_dict(p: Projection, t: TradeMatched) -> dict[str, Any]:
    """One trade as /trades shows it."""
    model = p.markets[t.market_id].model
    d: dict[str, Any] = {
        "trade_id": t.trade_id,
        "market_id": t.market_id,
        "runner_id": t.runner_id,
        "maker_runner_id": t.maker_runner_id,
        "price": price_to_wire(model, t.price),
        "size": size_to_wire(model, t.taker_size),
        "maker_size": size_to_wire(model, t.maker_size),
        "implied": t.implied,
        "taker_order_id": t.taker_order_id,
        "maker_order_id": t.maker_order_id,
        "taker_account": t.taker_account,
        "maker_account": t.maker_account,
        "house": t.house / money_scale(model),
        "ts": t.ts,
        "voided": p.is_voided(t.trade_id),
    }
    if model != _BINARY:
        d["effective_odds"] = effective_odds_to_wire(p.taker_value(t) / t.taker_size / 100)
    original = p.markets[t.market_id].original_prices.get(t.trade_id)
    if original is not None:  # re-priced by a runner removal: `price` is the reduced one
        d["original_price"] = price_to_wire(model, original)
    return d


def trades(p: Projection, market_id: int | None = None, limit: int | None = None) -> dict[str, Any]:
    """GET /trades body: trades newest first, voided ones flagged `voided: true`."""
    return {"seq": p.seq, "trades": [trade_dict(p, t) for t in p.select_trades(market_id, limit)]}


def risk_dict(p: Projection, m: MarketView, account_id: int, r: AccountRisk) -> dict[str, Any]:
    """One account in one market (see `Projection.risk_figures`)."""
    scale = money_scale(m.model)
    if_win, with_unmatched = p.risk_figures(m, r)
    limit = p.limits.get(account_id)
    return {
        "market_id": m.market_id,
        "account_id": account_id,
        "if_win": [{"runner_id": o, "pnl": pnl / scale} for o, pnl in if_win.items()],
        "worst_case": min(if_win.values(), default=0) / scale,
        "worst_case_with_unmatched": min(with_unmatched.values(), default=0) / scale,
        "matched_volume": size_to_wire(m.model, r.matched_volume),
        "open_orders": len(r.open),
        "max_liability": None if limit is None else limit / 100,
        "settled_pnl": None if r.settled_pnl is None else r.settled_pnl / scale,
        "commission": r.commission / scale,
        "net_pnl": None if r.settled_pnl is None else (r.settled_pnl - r.commission) / scale,
    }


def risk(
    p: Projection, market_id: int | None = None, account_id: int | str | None = None
) -> dict[str, Any] | None:
    """GET /risk body: one row per (market, account), by market then account (house 0
    included). None when `market_id` names no market."""
    rows = p.risk_rows(market_id, account_id)
    if rows is None:
        return None
    return {"seq": p.seq, "risk": [risk_dict(p, m, a, r) for m, a, r in rows]}


# --- the order stream ----------------------------------------------------------------------


def render_order_update(row: Sequence[Any], model: str, account_id: int) -> dict[str, Any]:
    """ORDER_UPDATE from an order_updates row of the history store (its UPDATE_COLUMNS order:
    seq, idx, order_id, market_id, runner_id, side, status, size_matched, size_remaining, then
    the fill's trade_id, price, effective odds, size, implied, then reason). `fill` is present
    on a fill, `reason` on a cancel, lapse or void; a runner removal's re-priced trade has
    `reduced` (the trade's new price) instead of `fill`, with reason RUNNER_REMOVED."""
    (seq, _idx, order_id, market_id, runner_id, side, status, matched, remaining) = row[:9]
    trade_id, price, effective, size, implied, reason = row[9:15]
    body: dict[str, Any] = {
        "seq": seq,
        "account_id": account_id,
        "order_id": order_id,
        "market_id": market_id,
        "runner_id": runner_id,
        "side": side,
        "status": status,
        "size_matched": size_to_wire(model, matched),
        "size_remaining": size_to_wire(model, remaining),
    }
    if trade_id is not None and reason == _RUNNER_REMOVED:  # a trade re-priced by a removal
        body["reduced"] = {
            "trade_id": trade_id,
            "price": price_to_wire(model, price),
            "size": size_to_wire(model, size),
            "effective_odds": effective_odds_to_wire(effective / 100),
        }
    elif trade_id is not None:
        fill: dict[str, Any] = {
            "trade_id": trade_id,
            "price": price_to_wire(model, price),
            "size": size_to_wire(model, size),
            "implied": bool(implied),
        }
        if model != _BINARY:
            fill["effective_odds"] = effective_odds_to_wire(effective / 100)
        body["fill"] = fill
    if reason is not None:
        body["reason"] = reason
    return {"ORDER_UPDATE": body}


def render_account_settled(row: Sequence[Any], model: str) -> dict[str, Any]:
    """ACCOUNT_SETTLED from a settlements row (market_id, account_id, gross, commission, net,
    kind, seq, ts): P&L in money (`kind` SETTLED, or VOIDED with zeros)."""
    market_id, account_id, gross, commission, net, kind, seq, _ts = row[:8]
    scale = money_scale(model)
    return {
        "ACCOUNT_SETTLED": {
            "seq": seq,
            "account_id": account_id,
            "market_id": market_id,
            "gross": gross / scale,
            "commission": commission / scale,
            "net": net / scale,
            "kind": kind,
        }
    }


def render_orders_response(batch: OrderBatch, results: Sequence[Result], model: str) -> dict[str, Any]:
    """ORDERS_RESPONSE: one ORDER_RESPONSE body (without correlation id) per instruction, in
    order; `results` are the engine's results for the instructions the parser accepted."""
    engine_results = iter(results)
    out: list[dict[str, Any]] = []
    for instruction in batch.instructions:
        result: Result
        if isinstance(instruction, WireError):
            result = Reject(instruction.code, instruction.message)
        else:
            result = next(engine_results)
        if isinstance(result, (OrderResult, Reject)):
            body = render_order_response(result, 0, model)["ORDER_RESPONSE"]
            del body["correlation_id"]
        else:  # pragma: no cover - order commands always give an OrderResult or a Reject
            body = {"status": "ACCEPTED"}
        out.append(body)
    return {"ORDERS_RESPONSE": {"correlation_id": batch.correlation_id, "results": out}}


# --- history store rows (GET /orders, /completed_orders, /trades from SQLite) --------------


def history_order(row: Mapping[str, Any], model: str) -> dict[str, Any]:
    """One history-store orders row (ORDER_COLUMNS, engine units) as /orders shows it: the
    same fields and values as `order_dict` over the projection."""
    avg = row["avg_price_matched"]
    if avg is not None:
        avg = round(avg, 2) if model == _BINARY else effective_odds_to_wire(avg / 100)
    return {
        "order_id": row["order_id"],
        "market_id": row["market_id"],
        "runner_id": row["runner_id"],
        "account_id": row["account_id"],
        "side": row["side"],
        "price": price_to_wire(model, row["price"]),
        "size": size_to_wire(model, row["size"]),
        "size_matched": size_to_wire(model, row["size_matched"]),
        "size_remaining": size_to_wire(model, row["size_remaining"]),
        "size_cancelled": size_to_wire(model, row["size_cancelled"]),
        "size_lapsed": size_to_wire(model, row["size_lapsed"]),
        "size_voided": size_to_wire(model, row["size_voided"]),
        "avg_price_matched": avg,
        "status": row["status"],
        "persistence": row["persistence"],
        "time_in_force": row["time_in_force"],
        "client_ref": row["client_ref"],
        "replaces": row["replaces"] or None,
        "placed_ts": row["placed_ts"],
        "updated_ts": row["updated_ts"],
    }


def history_trade(row: Mapping[str, Any], model: str) -> dict[str, Any]:
    """One history-store trades row (TRADE_COLUMNS) as /trades shows it (as `trade_dict`)."""
    d: dict[str, Any] = {
        "trade_id": row["trade_id"],
        "market_id": row["market_id"],
        "runner_id": row["runner_id"],
        "maker_runner_id": row["maker_runner_id"],
        "price": price_to_wire(model, row["price"]),
        "size": size_to_wire(model, row["size"]),
        "maker_size": size_to_wire(model, row["maker_size"]),
        "implied": bool(row["implied"]),
        "taker_order_id": row["taker_order_id"],
        "maker_order_id": row["maker_order_id"],
        "taker_account": row["taker_account"],
        "maker_account": row["maker_account"],
        "house": row["house"] / money_scale(model),
        "ts": row["ts"],
        "voided": bool(row["voided"]),
    }
    if model != _BINARY:
        d["effective_odds"] = effective_odds_to_wire(row["effective_odds"] / 100)
    if row.get("original_price") is not None:  # re-priced by a runner removal
        d["original_price"] = price_to_wire(model, row["original_price"])
    return d
