"""A deterministic event stream for the history-store tests, and the child process they SIGKILL.

`stream(batches, seed)` drives a real Engine with the workload of tests/core/workload.py plus
cancels, replaces, lapses, trade voids, settlements (dead heats too) and market voids, opening a
new market whenever the current one is finished. Run as a script, the child opens the store at
argv[1], resumes from its applied seq and applies the same stream batch by batch until the end
(or until the parent SIGKILLs it).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from betex.core.domain import commands as C
from betex.core.domain.engine import Engine
from betex.core.domain.events import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # run as a script: find tests.core
from tests.core.workload import market_cmd, order_cmd  # noqa: E402

SEC = 1_000_000_000
T0 = 1_732_406_400 * SEC


def _finish(rng: random.Random, market: int) -> tuple[object, ...]:
    roll = rng.random()
    if roll < 0.5:
        return (C.CloseMarket(market), C.SettleMarket(market, (rng.choice((1, 2, 3)),)))
    if roll < 0.7:
        return (C.CloseMarket(market), C.SettleMarket(market, (1, 2)))  # dead heat
    return (C.VoidMarket(market),)


def stream(batches: int, seed: int = 0) -> list[list[Event]]:
    """Up to `batches` engine batches of events (each ends with BATCH_PROCESSED; a batch that
    changed nothing writes no events and is left out)."""
    rng = random.Random(seed)
    engine = Engine()
    ts = T0
    out: list[list[Event]] = []
    market = 0
    i = 0
    for b in range(batches):
        ts += rng.choice((0, SEC, 5 * SEC))
        cmds: list[object] = []
        if market == 0:
            cmds.append(market_cmd())
        else:
            for _ in range(rng.randint(1, 6)):
                roll = rng.random()
                if roll < 0.70:
                    cmds.append(order_cmd(i)._replace(market_id=market))
                    i += 1
                elif roll < 0.82:
                    back = rng.randint(1, 20)
                    oid = max(1, engine.next_order_id - back)
                    o = engine.orders.get(oid)
                    acct = o.account_id if o is not None else 1
                    cmds.append(C.CancelOrder(market, oid, acct, rng.choice((0, 0, 100))))
                elif roll < 0.88:
                    oid = max(1, engine.next_order_id - rng.randint(1, 10))
                    o = engine.orders.get(oid)
                    acct = o.account_id if o is not None else 1
                    cmds.append(C.ReplaceOrder(market, oid, acct, rng.choice((240, 250, 260))))
                elif roll < 0.92:
                    cmds.append(C.VoidTrades(market, (rng.randint(1, max(1, engine.next_trade_id)),)))
                elif roll < 0.95:
                    cmds.append(C.SetMarketState(market, "SUSPENDED"))  # lapses LAPSE orders
                    cmds.append(C.SetMarketState(market, "OPEN"))
                elif roll < 0.975 or b == batches - 2:
                    cmds.extend(_finish(rng, market))
                    break
                else:
                    cmds.append(C.CancelAll(market, rng.randint(1, 11)))
        engine.begin_batch(ts)
        for cmd in cmds:
            result = engine.execute(cmd)
            market_id = getattr(result, "market_id", None)
            if isinstance(cmd, C.CreateMarket) and isinstance(market_id, int):
                market = market_id
            if isinstance(cmd, (C.SettleMarket, C.VoidMarket)) and market in engine.tombstones:
                market = 0
        events = engine.end_batch(len(cmds))
        if events:
            out.append(events)
    return out


def main() -> None:
    from betex.core.readmodel.history import SQLiteHistory

    path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batches = stream(n, seed)
    store = SQLiteHistory.open(path)
    print("resumed", store.applied_seq(), flush=True)
    for batch in batches:
        if batch[-1].seq > store.applied_seq():
            store.apply_batch(batch)
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
