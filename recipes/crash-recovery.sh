#!/usr/bin/env bash
# crash-recovery: kill -9 a loaded server and prove nothing it acknowledged was lost.
#
# Serves the process split (`--gateways 1`, or BETEX_GATEWAYS=N; 0 runs the in-process server,
# which has no engine process to kill) with the default `sync` durability, loads it with `betex bots` (acks on) plus a recorder
# client that writes down every order id the server acknowledged. Mid-load it first `kill -9`s
# the engine process alone (the gateways answer OVERLOADED until `serve`'s supervisor has
# restarted it, and the recorder keeps trading through it), then `kill -9`s the whole server,
# restarts it on the same data dir, and checks that every acknowledged order is in the WAL and
# served by the restarted server's /orders, and that `betex wal inspect --verify` passes.
#
# usage: recipes/crash-recovery.sh [--smoke] [--keep] [--auth open|keys] [SECONDS_OF_LOAD]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
LOAD_S=${EXTRA_ARGS[0]:-8}
[[ $SMOKE -eq 1 ]] && LOAD_S=2
DATA="$WORK/data"
ACCOUNT=777
GATEWAYS=${BETEX_GATEWAYS:-1}

start_server serve-1 "$DATA" --gateways "$GATEWAYS"
log "server pid $SERVER_PID at $SERVER_URL; ${LOAD_S}s of load, then kill -9"

# Background load: bots with acks on (they outlive the server and see the connection drop).
mapfile -t BOTS_AUTH < <(bots_auth)
spawn betex bots --url "$(ws_url)" --create soccer --duration 600 --rate 2000 --json "${BOTS_AUTH[@]}" \
    >"$WORK/bots.json" 2>"$WORK/bots.log"
BOTS_PID=$SPAWNED_PID

# The recorder: acked order ids, one per line, written only after the reply arrived.
# (keys mode: it holds the admin token, which creates the market and may name any account)
TOKEN_ARG=""
[[ $AUTH == keys ]] && TOKEN_ARG=$ADMIN_TOKEN
spawn "$PY" - "$(ws_url)" "$WORK/acked.txt" "$ACCOUNT" "$TOKEN_ARG" >"$WORK/recorder.log" 2>&1 <<'EOF'
import asyncio, sys
from betex.client.connection import BetexClient
from betex.client.errors import ClientError

url, path, account, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] or None

async def worker(client, market, n, out):
    i = 0
    while True:
        i += 1
        side = "BACK" if (i + n) % 2 else "LAY"
        price = 2.0 + (i % 40) / 50 if side == "BACK" else 1.5 + (i % 20) / 50
        try:
            reply = await client.place(market, 1 + i % 3, side, round(price, 2), 2.0, account)
        except (ClientError, OSError):
            return  # the server went away mid-request: that order was never acknowledged
        if reply is not None and not reply.rejected and reply.order_id is not None:
            out.write(f"{reply.order_id}\n")
            out.flush()

async def main():
    client = BetexClient(url, token=token, reconnect=False, request_timeout=5.0)
    await client.connect()
    market = await client.create_market("soccer", name="recorder")
    with open(path, "w") as out:
        await asyncio.gather(*(worker(client, market, n, out) for n in range(4)))
    await client.close()

asyncio.run(main())
EOF
RECORDER_PID=$SPAWNED_PID

# the clock starts once both the bots and the recorder are trading
for _ in $(seq 1 200); do
    [[ -s $WORK/acked.txt ]] && [[ $(http_get /markets | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["markets"]))') -ge 2 ]] && break
    sleep 0.1
done
log "bots and recorder are trading"
ENGINE_PID=$(sed -n 's/.*ready (engine pid \([0-9]*\),.*/\1/p' "$WORK/serve-1.log" | head -n 1)
if [[ -n $ENGINE_PID ]]; then
    sleep "$(awk "BEGIN { print $LOAD_S / 2 }")"
    kill -KILL "$ENGINE_PID"
    log "killed the engine process (pid $ENGINE_PID, kill -9)"
    for _ in $(seq 1 300); do
        grep -q "engine (pid $ENGINE_PID) exited with status -9; restarting it" "$WORK/serve-1.log" &&
            http_get /health >/dev/null 2>&1 && break
        sleep 0.1
    done
    http_get /health >/dev/null 2>&1 || fail "the engine did not come back (see serve-1.log)"
    BEFORE=$(wc -l <"$WORK/acked.txt" | tr -d ' ')
    for _ in $(seq 1 100); do
        [[ $(wc -l <"$WORK/acked.txt" | tr -d ' ') -gt $BEFORE ]] && break
        sleep 0.1
    done
    [[ $(wc -l <"$WORK/acked.txt" | tr -d ' ') -gt $BEFORE ]] || fail "no acknowledgements after the engine restart"
    log "the supervisor restarted the engine; the recorder is acknowledged again"
    sleep "$(awk "BEGIN { print $LOAD_S / 2 }")"
else
    [[ $GATEWAYS -eq 0 ]] || fail "no engine pid in serve-1.log"
    sleep "$LOAD_S"  # an in-process server (--gateways 0): no engine process of its own
fi
kill -0 "$SERVER_PID" 2>/dev/null || fail "server died before the kill"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
log "killed the server (kill -9)"
for _ in $(seq 1 100); do kill -0 "$RECORDER_PID" 2>/dev/null || break; sleep 0.1; done
stop_pid "$BOTS_PID" # the bots print their summary (acks per bot) on SIGTERM
ACKED=$(wc -l <"$WORK/acked.txt" | tr -d ' ')
[[ $ACKED -gt 0 ]] || fail "the recorder got no acknowledgements (see recorder.log)"
log "recorder saw $ACKED acknowledged orders"

start_server serve-2 "$DATA" --gateways "$GATEWAYS"
grep -h "recovered" "$WORK/serve-2.log" | sed "s/^/[$RECIPE] /" || true

# 1. every acked order is in the WAL (read beside the running server: readers take no lock)
betex wal inspect --data-dir "$DATA" --type ORDER_ACCEPTED --json >"$WORK/accepted.jsonl"
# 2. and served by the restarted server's projection
http_get "/orders?account_id=$ACCOUNT&limit=10000" >"$WORK/orders.json"
"$PY" - "$WORK/acked.txt" "$WORK/accepted.jsonl" "$WORK/orders.json" "$WORK/bots.json" <<'EOF' || fail "acknowledged orders are missing after the crash"
import collections, json, sys
acked = [int(x) for x in open(sys.argv[1]).read().split()]
events = [json.loads(line) for line in open(sys.argv[2])]
in_wal = {e["order_id"] for e in events}
per_account = collections.Counter(e["account_id"] for e in events)
try:
    bots = json.load(open(sys.argv[4])).get("bots", [])
except (OSError, ValueError):
    bots = []  # the bots' summary is a bonus; the recorder's ids are the proof
for bot in bots:  # the bots only count their acks: the WAL must hold at least that many
    if per_account[bot["account_id"]] < bot["accepted_orders"]:
        sys.exit(print(f"{bot['bot']}: {bot['accepted_orders']} acked orders, {per_account[bot['account_id']]} in the WAL"))
served = {o["order_id"] for o in json.load(open(sys.argv[3]))["orders"]}
missing = [o for o in acked if o not in in_wal]
if missing:
    sys.exit(print(f"{len(missing)} acked orders missing from the WAL, e.g. {missing[:5]}"))
newest = sorted(acked)[-10000:]
unserved = [o for o in newest if o not in served]
if unserved:
    sys.exit(print(f"{len(unserved)} acked orders not served by /orders, e.g. {unserved[:5]}"))
print(
    f"all {len(acked)} recorder-acked orders in the WAL and served after restart; "
    f"{sum(b['accepted_orders'] for b in bots)} bot-acked orders covered ({len(in_wal)} accepted in all)"
)
EOF

log "checked acknowledged orders"
betex wal inspect --data-dir "$DATA" --verify || fail "wal inspect --verify failed after the crash"
stop_server "$SERVER_PID"
betex wal inspect --data-dir "$DATA" --verify >/dev/null || fail "wal inspect --verify failed after the clean stop"
pass "$ACKED acknowledged orders survived kill -9; WAL verifies"
