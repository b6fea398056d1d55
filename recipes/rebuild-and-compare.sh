#!/usr/bin/env bash
# rebuild-and-compare: a projection rebuilt from the WAL alone equals the live one.
#
# Serves, trades three markets (soccer, tennis with implied matching, binary) with `betex bots`,
# then, with the server still up, rebuilds the projection offline (`betex projection rebuild
# --out`) and compares /snapshot, /risk, /orders and /trades of every market with the rebuilt
# file's answers. After a clean stop, the server's own projection.snap must equal a rebuild byte
# for byte, and its history.db (when it writes one) a rebuilt store row for row; an in-place rebuild is refused while a server holds the WAL (exit 3) and allowed after.
#
# usage: recipes/rebuild-and-compare.sh [--smoke] [--keep] [--auth open|keys] [SECONDS_OF_LOAD_PER_MARKET]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
LOAD_S=${EXTRA_ARGS[0]:-5}
[[ $SMOKE -eq 1 ]] && LOAD_S=1.5
DATA="$WORK/data"

start_server serve "$DATA" --durability async
log "server at $SERVER_URL; ${LOAD_S}s of bots per market"
BOTS=()
for preset in soccer tennis binary; do
    spawn run_bots "$LOAD_S" "$WORK/bots-$preset.json" --create "$preset" --rate 1500
    BOTS+=("$SPAWNED_PID")
done
for pid in "${BOTS[@]}"; do
    wait "$pid" || fail "a bots run failed (see bots.log)"
done
log "load done: $(http_get /health)"

# 1. live server vs an offline rebuild written next to it
set +e
betex projection rebuild --data-dir "$DATA" >/dev/null 2>"$WORK/refused.txt"
status=$?
set -e
[[ $status -eq 3 ]] || fail "an in-place rebuild beside a running server exited $status, expected 3"
log "in-place rebuild refused while serving: $(cat "$WORK/refused.txt")"
betex projection rebuild --data-dir "$DATA" --out "$WORK/rebuilt.snap"
BEARER=""
[[ $AUTH == keys ]] && BEARER=$ADMIN_TOKEN  # /risk and /orders are owner-only in keys mode
"$PY" - "$WORK/rebuilt.snap" "$SERVER_URL" "$BEARER" <<'EOF' || fail "the rebuilt projection differs from the live one"
import json, sys, urllib.request
from betex.core.ops.recovery import load_projection
from betex.core.protocol import render

p = load_projection(sys.argv[1])
base = sys.argv[2]
headers = {"Authorization": f"Bearer {sys.argv[3]}"} if sys.argv[3] else {}
def get(path):
    with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=10) as r:
        body = json.loads(r.read())
    # /orders and /trades page from the history store: one page must hold them all here
    assert body.pop("next_cursor", None) is None, f"{path} has more than one page"
    return body
assert get("/health")["seq"] == p.seq, "the server moved on after the rebuild"
checks = 0
for m in sorted(p.markets):
    for name, ours, theirs in (
        ("snapshot", render.snapshot(p, m, 350), get(f"/snapshot?market_id={m}&depth=350")),
        ("risk", render.risk(p, m), get(f"/risk?market_id={m}")),
        ("orders", render.orders(p, market_id=m, limit=10000), get(f"/orders?market_id={m}&limit=10000")),
        ("trades", render.trades(p, m, limit=10000), get(f"/trades?market_id={m}&limit=10000")),
    ):
        if ours != theirs:
            sys.exit(print(f"market {m}: {name} differs"))
        checks += 1
print(f"{checks} views of {len(p.markets)} markets equal at seq {p.seq}")
EOF

# 2. after a clean stop, projection.snap is exactly what a rebuild from the WAL writes
stop_server "$SERVER_PID"
betex projection rebuild --data-dir "$DATA" --out "$WORK/after-stop.snap"
cmp -s "$DATA/projection.snap" "$WORK/after-stop.snap" || fail "projection.snap written at shutdown differs from a rebuild"
cp "$DATA/projection.snap" "$WORK/written-by-server.snap"
betex projection rebuild --data-dir "$DATA" || fail "in-place rebuild failed with no server running"
cmp -s "$DATA/projection.snap" "$WORK/written-by-server.snap" || fail "in-place rebuild differs from the server's file"
log "projection.snap after a clean stop equals a rebuild byte for byte ($(wc -c <"$DATA/projection.snap") bytes)"

# 2b. the history store: a rebuild from the WAL equals what the server wrote batch by batch
betex projection rebuild --data-dir "$DATA" --out "$WORK/for-history.snap" --history-out "$WORK/rebuilt-history.db"
if [[ -f "$DATA/history.db" ]]; then
    "$PY" - "$DATA/history.db" "$WORK/rebuilt-history.db" <<'EOF' || fail "the server's history store differs from a rebuild"
import sys
from betex.core.readmodel.history import SQLiteHistory

def rows(path):
    store = SQLiteHistory.open_reader(path)
    try:
        return store.dump()
    finally:
        store.close()
served, rebuilt = rows(sys.argv[1]), rows(sys.argv[2])
for table in sorted(set(served) | set(rebuilt)):
    if served.get(table) != rebuilt.get(table):
        sys.exit(print(f"history table {table} differs"))
print(f"history store equals a rebuild: {sum(len(v) for v in rebuilt.values())} rows")
EOF
else
    log "no $DATA/history.db (this server writes no history store): compared the rebuild only"
fi

# 3. a restarted server loads the rebuilt file and serves the same snapshot
betex snapshot --data-dir "$DATA" --depth 350 --json >"$WORK/offline.json"
start_server serve-again "$DATA" --durability async
grep -q "from projection.snap" "$WORK/serve-again.log" || fail "the restarted server did not load projection.snap"
betex snapshot --url "$(ws_url)" --depth 350 --json >"$WORK/online.json"
cmp -s "$WORK/offline.json" "$WORK/online.json" || fail "snapshot after restart differs"
stop_server "$SERVER_PID"
pass "rebuild equals the live projection (views and bytes)"
