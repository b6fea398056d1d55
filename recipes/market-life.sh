#!/usr/bin/env bash
# market-life: a whole market's life from the shell, with `betex market`, `betex order` and jq.
#
# Starts a server (with an admin token), creates a soccer market from the preset, quotes both
# sides of the home runner for a market maker (account 1), trades against it as two punters
# (accounts 2 and 3), checks a reject exits 6 with its code, turns the market in play (LAPSE
# quotes go, the PERSIST one stays), closes and settles it on the home runner, then checks each
# account's settled P&L from `/risk` with jq: they sum to zero, and match the bets by hand.
#
# With `--auth keys` the server runs `--auth keys`; the three accounts are made with
# `betex account create` and `betex account issue-key`, each trades with `--key` only (no
# `--account`: the key says whose order it is), and one account's key cannot cancel another's order.
#
# usage: recipes/market-life.sh [--smoke] [--keep] [--auth open|keys]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
command -v jq >/dev/null || fail "jq is not installed"
start_server serve "$WORK/data" --durability async --admin-token "$ADMIN_TOKEN"
export BETEX_URL
BETEX_URL=$(ws_url)
export BETEX_ADMIN_TOKEN=$ADMIN_TOKEN

# the maker (1), and punters 2 and 3: account ids, and in keys mode an API key each
ACC=(- 1 2 3)
KEY=(- "" "" "")
if [[ $AUTH == keys ]]; then
    betex account create --name recipe-ops --json >/dev/null  # so the traders' ids are not 1, 2, 3
    for i in 1 2 3; do
        ACC[i]=$(betex account create --name "recipe-$i" --json | jq -r .account_id)
        KEY[i]=$(betex account issue-key "${ACC[i]}" --json | jq -r .key)
    done
    log "accounts ${ACC[*]:1} created, a key issued to each"
fi
# as N CMD...: run CMD as trader N: with its key (keys mode), or naming its account (open mode)
as() {
    local i=$1
    shift
    if [[ $AUTH == keys ]]; then "$@" --key "${KEY[i]}"; else "$@" --account "${ACC[i]}"; fi
}

MARKET=$(betex market create --preset soccer --name "Recipe Derby" --json | jq -r .market_id)
log "created market $MARKET: $(betex market state "$MARKET" --json | jq -c '[.market_state, .market_phase, [.runners[].label]]')"

# quote: account 1 lays Home at 2.0 (PERSIST) and backs it at 2.2
LAY=$(as 1 betex order place --market "$MARKET" --runner 1 --side LAY --price 2.0 --size 50 --persist --json | jq -r .order_id)
BACK=$(as 1 betex order place --market "$MARKET" --runner 1 --side BACK --price 2.2 --size 50 --json | jq -r .order_id)
log "quotes: lay order $LAY at 2.0, back order $BACK at 2.2"

# trade: account 2 backs Home at 2.0 for 10 (fills against the lay), account 3 lays it at 2.2 for 4
FILL=$(as 2 betex order place --market "$MARKET" --runner 1 --side BACK --price 2.0 --size 10 --json)
jq -e '.size_matched == 10 and .fills[0].effective_odds == 2' <<<"$FILL" >/dev/null || fail "the back did not fill at 2.0: $FILL"
as 3 betex order place --market "$MARKET" --runner 1 --side LAY --price 2.2 --size 4 --json >/dev/null

# a reject exits 6 with its code
status=0
as 2 betex order place --market "$MARKET" --runner 1 --side BACK --price 2.01 --size 5 --json \
    >"$WORK/reject.json" 2>/dev/null || status=$?
[[ $status -eq 6 && $(jq -r .error.code "$WORK/reject.json") == INVALID_ODDS ]] || fail "off-ladder price: status $status"
log "off-ladder price refused: exit 6, $(jq -r .error.code "$WORK/reject.json")"

if [[ $AUTH == keys ]]; then  # punter 2's key cannot cancel the maker's order
    status=0
    betex order cancel --market "$MARKET" --order "$LAY" --key "${KEY[2]}" --account "${ACC[1]}" --json \
        >"$WORK/unauthorized.json" 2>/dev/null || status=$?
    [[ $status -eq 6 && $(jq -r .error.code "$WORK/unauthorized.json") == UNAUTHORIZED ]] ||
        fail "account ${ACC[2]}'s key cancelled account ${ACC[1]}'s order: status $status"
    log "another account's key cannot cancel order $LAY: exit 6, UNAUTHORIZED"
fi

# in play: the LAPSE back quote lapses, the PERSIST lay stays
betex market go-live "$MARKET" --json | jq -e '.market_phase == "IN_PLAY"' >/dev/null || fail "not in play"
OPEN=$(as 1 betex order list --market "$MARKET" --status open --json | jq -c '[.items[].order_id]')
[[ $OPEN == "[$LAY]" ]] || fail "open orders of account ${ACC[1]} in play: $OPEN, expected [$LAY]"
log "in play: account ${ACC[1]}'s open orders $OPEN"

betex market close "$MARKET" --json >/dev/null
betex market settle "$MARKET" --winner 1 --json | jq -e '.market_state == "SETTLED"' >/dev/null || fail "not settled"
http_get "/risk?market_id=$MARKET" >"$WORK/risk.json"
PNL=$(jq -c '[.risk[] | {(.account_id|tostring): .settled_pnl}] | add' "$WORK/risk.json")
log "settled P&L by account: $PNL"
# by hand: account 2 backed 10 at 2.0 and won 10; account 3 laid 4 at 2.2 and lost 4.8;
# account 1 is the other side of both: -10 + 4.8
jq -e '[.risk[].settled_pnl] | add | fabs < 0.005' "$WORK/risk.json" >/dev/null || fail "P&L does not sum to zero: $PNL"
jq -e --arg a1 "${ACC[1]}" --arg a2 "${ACC[2]}" --arg a3 "${ACC[3]}" \
    '.[$a2] == 10 and .[$a3] == -4.8 and .[$a1] == -5.2' <<<"$PNL" >/dev/null || fail "unexpected P&L $PNL"
stop_server "$SERVER_PID"
pass "market $MARKET created, quoted, traded, in play, settled ($AUTH mode); P&L $PNL"
