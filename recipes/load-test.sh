#!/usr/bin/env bash
# load-test: serve + `betex bots` for N seconds; print throughput and ack latency.
#
# Runs the bots against a fresh server (sync durability unless --async) at a target rate (0 = as
# fast as possible), then prints commands/s, ack latency p50/p99/p99.9 and what the server saw
# (engine batches, WAL commits), and the CPU each server process used (supervisor, engine,
# gateways: CPU seconds per wall second). Fails if any command was lost or the WAL does not verify.
#
# --gateways=N serves the process split (one engine process + N gateways); default: serve's own.
#
# usage: recipes/load-test.sh [--smoke] [--keep] [--auth open|keys] [SECONDS] [RATE] [--async] [--no-ack] [--gateways=N]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
DURABILITY=sync
BOT_FLAGS=()
SERVE_FLAGS=()
POSITIONAL=()
for arg in "${EXTRA_ARGS[@]}"; do
    case $arg in
        --async) DURABILITY=async ;;
        --no-ack) BOT_FLAGS+=(--no-ack) ;;
        --gateways=*) SERVE_FLAGS+=(--gateways "${arg#*=}") ;;
        *) POSITIONAL+=("$arg") ;;
    esac
done
DURATION=${POSITIONAL[0]:-20}
RATE=${POSITIONAL[1]:-5000}
[[ $SMOKE -eq 1 ]] && DURATION=3
DATA="$WORK/data"

start_server serve "$DATA" --durability "$DURABILITY" --rate-per-account 0 "${SERVE_FLAGS[@]}"  # measured, not limited
log "server at $SERVER_URL (durability $DURABILITY); bots for ${DURATION}s at ${RATE} commands/s target"
server_cpu() { # "pid role cpu_seconds" for the server and its descendants, from /proc
    "$PY" - "$SERVER_PID" <<'PYEOF'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
todo = [int(sys.argv[1])]
while todo:
    pid = todo.pop()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            todo += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        args = open(f"/proc/{pid}/cmdline").read().split("\0")
    except OSError:
        continue
    role = next((a for a in args if a in ("serve", "engine", "gateway", "history-writer")), "?")
    if role == "gateway" and "--index" in args:
        role += "-" + args[args.index("--index") + 1]
    print(pid, role, (int(stat[11]) + int(stat[12])) / tick)
PYEOF
}
server_cpu >"$WORK/cpu0.txt"
T_CPU0=$(date +%s.%N)
run_bots "$DURATION" "$WORK/bots.json" --create soccer --rate "$RATE" --mm-bots 2 --noise-bots 4 --informed-bots 1 "${BOT_FLAGS[@]}" ||
    fail "bots failed (see bots.log)"
T_CPU1=$(date +%s.%N)
server_cpu >"$WORK/cpu1.txt"
http_get /metrics >"$WORK/metrics.json"
"$PY" - "$WORK/cpu0.txt" "$WORK/cpu1.txt" "$T_CPU0" "$T_CPU1" <<'PYEOF'
import sys
def read(path):
    return {int(l.split()[0]): (l.split()[1], float(l.split()[2])) for l in open(path) if l.strip()}
before, after = read(sys.argv[1]), read(sys.argv[2])
wall = float(sys.argv[4]) - float(sys.argv[3])
total = 0.0
for pid, (role, cpu) in sorted(after.items()):
    used = cpu - before.get(pid, (role, 0.0))[1]
    total += used
    print(f"cpu        {role:<14} pid {pid:<7} {used / wall:.2f} cores")
print(f"cpu        all            {total / wall:.2f} cores over {wall:.1f}s")
PYEOF

"$PY" - "$WORK/bots.json" "$WORK/metrics.json" <<'EOF' || fail "lost commands or send errors"
import json, sys
b = json.load(open(sys.argv[1]))
lat = b.get("ack_latency_ms") or {}
rejected = sum((b.get("rejected") or {}).values())
print(f"commands   {b['commands_sent']} sent, {b['acked']} acked, {rejected} rejected, {b['trades']} trades in {b['duration_s']:.1f}s")
print(f"throughput {b['commands_per_s']:,.0f} commands/s (target {b['rate_target']:,.0f}{', no acks' if b.get('no_ack') else ''})")
if lat.get("count"):
    print(f"ack ms     p50 {lat['p50']:.3f}  p99 {lat['p99']:.3f}  p99.9 {lat['p999']:.3f}  max {lat['max']:.3f}")
m = json.load(open(sys.argv[2]))
wal = m.get("wal", {})
batches = m.get("batches_total") or 0
print(
    f"server     {m.get('commands_total')} commands in {batches} batches "
    f"({m.get('commands_total', 0) / max(batches, 1):.1f}/batch), {m.get('events_total')} events, "
    f"{wal.get('commits')} WAL commits ({wal.get('durability')}), "
    f"commit p50 {wal.get('fsync_p50_ns', 0) / 1e6:.3f} ms p99 {wal.get('fsync_p99_ns', 0) / 1e6:.3f} ms"
)
if b.get("lost") or b.get("send_errors"):
    sys.exit(print(f"lost {b.get('lost')} commands, {b.get('send_errors')} send errors"))
EOF

stop_server "$SERVER_PID"
betex wal inspect --data-dir "$DATA" --stats
betex wal inspect --data-dir "$DATA" --verify >/dev/null || fail "WAL does not verify after the load"
RATE_DONE=$(json_get "$WORK/bots.json" commands_per_s)
pass "${RATE_DONE} commands/s over ${DURATION}s, WAL verifies"
