#!/usr/bin/env bash
# market-life: a whole market's life from the shell, with `betex market`, `betex order` and jq.
#
# Starts a server (with an admin token), creates a soccer market from the preset, quotes both
# sides of the home runner for a market maker (account 1), trades against it as two punters
# (accounts 2 and 3), checks a reject exits 6 with its code, turns the market in play (LAPSE
# quotes go, the PERSIST one stays), closes and settles it on the home runner, then checks each
# account's settled P&L from `/risk` with jq: they sum to zero, and match the bets by hand.
#
# usage: recipes/market-life.sh [--smoke] [--keep]
source "$(dirname "$0")/lib.bash"
parse_common_args "$@"
command -v jq >/dev/null || fail "jq is not installed"
TOKEN=recipe-admin
start_server serve "$WORK/data" --durability async --admin-token "$TOKEN"
export BETEX_URL
BETEX_URL=$(ws_url)
export BETEX_ADMIN_TOKEN=$TOKEN

MARKET=$(betex market create --preset soccer --name "Recipe Derby" --json | jq -r .market_id)
log "created market $MARKET: $(betex market state "$MARKET" --json | jq -c '[.market_state, .market_phase, [.runners[].label]]')"

# quote: account 1 lays Home at 2.0 (PERSIST) and backs it at 2.2
LAY=$(betex order place --market "$MARKET" --runner 1 --side LAY --price 2.0 --size 50 --account 1 --persist --json | jq -r .order_id)
BACK=$(betex order place --market "$MARKET" --runner 1 --side BACK --price 2.2 --size 50 --account 1 --json | jq -r .order_id)
log "quotes: lay order $LAY at 2.0, back order $BACK at 2.2"

# trade: account 2 backs Home at 2.0 for 10 (fills against the lay), account 3 lays it at 2.2 for 4
FILL=$(betex order place --market "$MARKET" --runner 1 --side BACK --price 2.0 --size 10 --account 2 --json)
jq -e '.size_matched == 10 and .fills[0].effective_odds == 2' <<<"$FILL" >/dev/null || fail "the back did not fill at 2.0: $FILL"
betex order place --market "$MARKET" --runner 1 --side LAY --price 2.2 --size 4 --account 3 --json >/dev/null

# a reject exits 6 with its code
status=0
betex order place --market "$MARKET" --runner 1 --side BACK --price 2.01 --size 5 --account 2 --json \
    >"$WORK/reject.json" 2>/dev/null || status=$?
[[ $status -eq 6 && $(jq -r .error.code "$WORK/reject.json") == INVALID_ODDS ]] || fail "off-ladder price: status $status"
log "off-ladder price refused: exit 6, $(jq -r .error.code "$WORK/reject.json")"

# in play: the LAPSE back quote lapses, the PERSIST lay stays
betex market go-live "$MARKET" --json | jq -e '.market_phase == "IN_PLAY"' >/dev/null || fail "not in play"
OPEN=$(betex order list --market "$MARKET" --account 1 --status open --json | jq -c '[.items[].order_id]')
[[ $OPEN == "[$LAY]" ]] || fail "open orders of account 1 in play: $OPEN, expected [$LAY]"
log "in play: account 1's open orders $OPEN"

betex market close "$MARKET" --json >/dev/null
betex market settle "$MARKET" --winner 1 --json | jq -e '.market_state == "SETTLED"' >/dev/null || fail "not settled"
http_get "/risk?market_id=$MARKET" >"$WORK/risk.json"
PNL=$(jq -c '[.risk[] | {(.account_id|tostring): .settled_pnl}] | add' "$WORK/risk.json")
log "settled P&L by account: $PNL"
# by hand: account 2 backed 10 at 2.0 and won 10; account 3 laid 4 at 2.2 and lost 4.8;
# account 1 is the other side of both: -10 + 4.8
jq -e '[.risk[].settled_pnl] | add | fabs < 0.005' "$WORK/risk.json" >/dev/null || fail "P&L does not sum to zero: $PNL"
jq -e '.["2"] == 10 and .["3"] == -4.8 and .["1"] == -5.2' <<<"$PNL" >/dev/null || fail "unexpected P&L $PNL"
stop_server "$SERVER_PID"
pass "market $MARKET created, quoted, traded, in play, settled; P&L $PNL"
