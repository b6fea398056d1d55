#!/usr/bin/env bash
# backup-restore: a hot backup of a loaded server restores to the same engine state.
#
# Serves (engine snapshots every 1000 events) and loads with `betex bots`; while the load runs,
# takes `betex wal backup` (an LMDB compacting copy in one read txn, no lock taken; engine
# snapshots up to the copied seq come along). Then checks that
# `betex replay` of the copy prints the same state hash as replaying the live WAL to the copied
# seq (from seq 1, and from the snapshot), that the copy verifies, and that a server started on
# the copy recovers to that seq and serves what the copy holds.
#
# usage: recipes/backup-restore.sh [--smoke] [--keep] [--auth open|keys] [SECONDS_OF_LOAD]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
LOAD_S=${EXTRA_ARGS[0]:-6}
[[ $SMOKE -eq 1 ]] && LOAD_S=2
DATA="$WORK/data"
RESTORE="$WORK/restore"

start_server serve "$DATA" --snapshot-every 1000
log "server at $SERVER_URL; ${LOAD_S}s of bots, hot backup in the middle"
spawn run_bots 600 "$WORK/bots.json" --create soccer --rate 2000
BOTS_PID=$SPAWNED_PID
for _ in $(seq 1 200); do
    [[ $(http_get /health | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])') -gt 1500 ]] && break
    sleep 0.1
done
sleep "$LOAD_S"
betex wal backup "$RESTORE" --data-dir "$DATA" --json >"$WORK/backup.json"
SEQ=$(json_get "$WORK/backup.json" last_seq)
LIVE_AT_BACKUP=$(http_get /health | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
log "hot backup at seq $SEQ with $(json_get "$WORK/backup.json" snapshots_copied) engine snapshots; server already at seq $LIVE_AT_BACKUP"
kill -0 "$BOTS_PID" 2>/dev/null || fail "the load ended before the backup finished (see bots.log)"
stop_pid "$BOTS_PID"

# the copy replays to the same hash as the live WAL at the same seq, by every path
betex replay --data-dir "$RESTORE" --json >"$WORK/replay-copy.json"
betex replay --data-dir "$RESTORE" --no-snapshot --json >"$WORK/replay-copy-full.json"
betex replay --data-dir "$DATA" --to "$SEQ" --no-snapshot --json >"$WORK/replay-live.json"
H_COPY=$(json_get "$WORK/replay-copy.json" state_hash)
H_COPY_FULL=$(json_get "$WORK/replay-copy-full.json" state_hash)
H_LIVE=$(json_get "$WORK/replay-live.json" state_hash)
[[ $(json_get "$WORK/replay-copy.json" final_seq) -eq $SEQ ]] || fail "the copy replays to another seq"
[[ $(json_get "$WORK/replay-copy.json" snapshot_seq) != None ]] || fail "replay of the copy did not start from a copied snapshot"
[[ $H_COPY == "$H_LIVE" && $H_COPY_FULL == "$H_LIVE" ]] || fail "state hash differs: copy $H_COPY / $H_COPY_FULL, live $H_LIVE"
log "state hash at seq $SEQ: $H_LIVE (copy from snapshot, copy from seq 1, live WAL)"
betex wal inspect --data-dir "$RESTORE" --verify || fail "the copy does not verify"

# a server accepts the copy as its data dir
LIVE_URL=$SERVER_URL
start_server restored "$RESTORE"
RESTORED_SEQ=$(http_get /health | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
[[ $RESTORED_SEQ -eq $SEQ ]] || fail "restored server recovered seq $RESTORED_SEQ, expected $SEQ"
betex snapshot --url "$(ws_url)" --depth 350 --json >"$WORK/restored-snapshot.json"
stop_server "$SERVER_PID"
betex snapshot --data-dir "$RESTORE" --depth 350 --json >"$WORK/offline-snapshot.json"
cmp -s "$WORK/restored-snapshot.json" "$WORK/offline-snapshot.json" || fail "restored server serves another snapshot"
H_AFTER=$(betex replay --data-dir "$RESTORE" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state_hash"])')
[[ $H_AFTER == "$H_LIVE" ]] || fail "state hash changed across the restored server's start/stop"
SERVER_URL=$LIVE_URL
pass "hot backup at seq $SEQ restores to state hash ${H_LIVE:0:16}…"
