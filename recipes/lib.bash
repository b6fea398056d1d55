# Shared helpers for recipes/*.sh (sourced, never run on its own).
#
# Every recipe: a temp data dir, servers on free loopback ports (`--port 0`, the port is read
# from the "listening on" line), everything it started in the background started by `spawn` in a
# process group of its own and killed group by group from an EXIT trap (so a backgrounded shell
# function's children die with it), PASS or FAIL on the last line and a non-zero status on FAIL. `betex` is found on PATH; the Python that
# runs inline checks is the one next to it, so both see the same betex package.
#
# Every recipe takes `--auth open|keys` (default open). With `keys`, `start_server` adds
# `--auth keys --admin-token $ADMIN_TOKEN`, `run_bots` adds `--admin-token` (the bots then get an
# account and a key each), and `http_get` presents the admin token (owner-only reads).

set -euo pipefail

if ! command -v betex >/dev/null 2>&1; then
    echo "FAIL: betex is not on PATH (run via \`make recipes\` or put .venv/bin on PATH)" >&2
    exit 1
fi
BETEX_BIN="$(command -v betex)"
PY="$(dirname "$BETEX_BIN")/python"
[[ -x "$PY" ]] || PY="$(command -v python3)"

RECIPE="$(basename "$0" .sh)"
SMOKE=0
AUTH=open
ADMIN_TOKEN=recipe-admin
WORK="$(mktemp -d "${TMPDIR:-/tmp}/betex-${RECIPE}-XXXXXX")"
PIDS=()
KEEP_WORK=0

DONE=0

cleanup() {
    local status=$?
    local pid
    if [[ $DONE -eq 0 && $status -ne 0 ]]; then
        echo "FAIL: $RECIPE — stopped by an unexpected error (status $status)"
    fi
    for pid in "${PIDS[@]}"; do
        signal_group TERM "$pid"
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do
            group_alive "$pid" || break
            sleep 0.1
        done
        signal_group KILL "$pid"
        wait "$pid" 2>/dev/null || true
    done
    if [[ $KEEP_WORK -eq 1 || $status -ne 0 ]]; then
        echo "(work dir kept: $WORK)" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf "[%s %6.1fs] %s\n" "$RECIPE" "$(( $(date +%s%N) / 1000000 - T0 ))e-3" "$*"; }
T0=$(( $(date +%s%N) / 1000000 ))

pass() {
    DONE=1
    echo "PASS: $RECIPE — $*"
    exit 0
}

fail() {
    DONE=1
    echo "FAIL: $RECIPE — $*"
    for f in "$WORK"/*.log; do
        [[ -f $f ]] || continue
        echo "---- last lines of $f" >&2
        tail -n 15 "$f" >&2 || true
    done
    exit 1
}

track() { PIDS+=("$1"); }

# spawn CMD [ARGS...]: run a command or a shell function of the recipe in the background, in a
# process group of its own, tracked for the EXIT trap; sets SPAWNED_PID (= that group's id).
# Why: `some_function &` runs in a subshell, so `$!` is the subshell, and killing only it leaves
# the function's children (a `betex bots` reconnecting to a dead server for minutes). Job control
# (`set -m`) on for the launch gives the job its own group; signal_group reaches all of it.
spawn() {
    set -m
    "$@" &
    SPAWNED_PID=$!
    set +m
    track "$SPAWNED_PID"
}

# signal_group SIG PID: signal the process group PID leads (or PID alone if it leads none).
signal_group() {
    kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true
}

group_alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }

# start_server NAME DATA_DIR [serve args...]: starts `betex serve` on a free loopback port, waits
# for /health; sets SERVER_PID and SERVER_URL (http://127.0.0.1:PORT). Log: $WORK/NAME.log
start_server() {
    local name=$1 data=$2
    shift 2
    local logf="$WORK/$name.log"
    : >"$logf"
    local auth=()
    if [[ $AUTH == keys ]]; then
        auth=(--auth keys)
        [[ " $* " == *" --admin-token "* ]] || auth+=(--admin-token "$ADMIN_TOKEN")
    fi
    spawn betex serve --host 127.0.0.1 --port 0 --data-dir "$data" --log-level warning "${auth[@]}" "$@" >"$logf" 2>&1
    SERVER_PID=$SPAWNED_PID
    local port=""
    for _ in $(seq 1 300); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$logf" | head -n 1)
        [[ -n $port ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server $name exited at start (see $logf)"
        sleep 0.1
    done
    [[ -n $port ]] || fail "server $name did not print its port"
    SERVER_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 300); do
        if http_get "/health" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server $name exited during recovery (see $logf)"
        sleep 0.1
    done
    fail "server $name never became healthy"
}

# stop_server PID: SIGTERM and wait (a clean stop writes projection.snap); fails on a bad status.
stop_server() {
    local pid=$1 status=0
    kill -TERM "$pid"
    wait "$pid" || status=$?
    [[ $status -eq 0 ]] || fail "server pid $pid stopped with status $status"
}

# stop_pid PID [SECONDS]: SIGTERM to PID's process group (see spawn), wait up to SECONDS
# (default 10) for all of it to go, then SIGKILL the group; never fails.
stop_pid() {
    local pid=$1 limit=${2:-10}
    group_alive "$pid" || return 0
    signal_group TERM "$pid"
    for _ in $(seq 1 $((limit * 10))); do
        group_alive "$pid" || break
        sleep 0.1
    done
    signal_group KILL "$pid"
    wait "$pid" 2>/dev/null || true
}

# http_get PATH [URL]: the JSON body of GET URL/PATH (default: $SERVER_URL), non-zero on error.
# In keys mode it presents the admin token (/orders, /completed_orders and /risk are owner-only).
http_get() {
    local bearer=""
    [[ $AUTH == keys ]] && bearer=$ADMIN_TOKEN
    "$PY" - "${2:-$SERVER_URL}$1" "$bearer" <<'EOF'
import sys, urllib.request
headers = {"Authorization": f"Bearer {sys.argv[2]}"} if sys.argv[2] else {}
with urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=headers), timeout=10) as resp:
    sys.stdout.write(resp.read().decode())
EOF
}

# json_get FILE KEY: one top-level value of a JSON document.
json_get() {
    "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}

ws_url() { echo "${SERVER_URL/http:/ws:}"; }

# bots_auth: the `betex bots` flags for the mode, one a line (keys: the admin token, so that each
# bot is issued an account and a key of its own).
bots_auth() {
    if [[ $AUTH == keys ]]; then printf '%s\n' --admin-token "$ADMIN_TOKEN"; fi
}

# run_bots SECONDS OUT_JSON [bots args...]: `betex bots --json` against $SERVER_URL.
run_bots() {
    local seconds=$1 out=$2
    shift 2
    local auth
    mapfile -t auth < <(bots_auth)
    betex bots --url "$(ws_url)" --duration "$seconds" --json "${auth[@]}" "$@" >"$out" 2>>"$WORK/bots.log"
}

parse_common_args() {
    while [[ $# -gt 0 ]]; do
        case $1 in
            --smoke) SMOKE=1 ;;
            --auth)
                AUTH=${2:-}
                [[ $AUTH == open || $AUTH == keys ]] || { echo "--auth takes open or keys" >&2; exit 2; }
                shift
                ;;
            --keep) KEEP_WORK=1 ;;
            -h | --help)
                sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
                exit 0
                ;;
            *) EXTRA_ARGS+=("$1") ;;
        esac
        shift
    done
}
EXTRA_ARGS=()
