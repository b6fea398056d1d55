"""Usage examples of every command: one source for the EXAMPLES at the end of `--help` (the
command's epilog) and the EXAMPLES section of its man page (`betex/cli/manpages.py`).

Keyed by the command's path below `betex` (`""` is `betex` itself); each example is a one-line
purpose and the command line. `tests/cli/test_manpages.py` checks every command has some.
"""

from __future__ import annotations

Example = tuple[str, str]

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "": (
        ("Start a server on port 3000 with data in ./betex-data", "betex serve"),
        ("Drive it with five bots for 30 seconds", "betex bots --create soccer --duration 30"),
        ("Watch it in the terminal", "betex tui"),
        ("Check the write-ahead log", "betex wal inspect --verify"),
        ("Enable shell completion (restart the shell after)", "betex --install-completion"),
    ),
    "serve": (
        ("Serve on the default port with data in ./betex-data", "betex serve"),
        (
            "Another port and data dir, no fsync (for load tests)",
            "betex serve --port 3100 --data-dir /tmp/bx --durability async",
        ),
        ("Require a token for market admin commands", "betex serve --admin-token s3cret"),
        (
            "API keys for traders, one browser origin allowed",
            "betex serve --auth keys --admin-token s3cret --allowed-origin https://ops.example",
        ),
        ("One engine process and two gateway processes on one port", "betex serve --gateways 2"),
        ("Everything in one process (no engine process)", "betex serve --gateways 0"),
    ),
    "engine": (
        ("The engine process alone, on ./betex-data/engine.sock", "betex engine"),
        (
            "Another data dir and socket, no fsync",
            "betex engine --data-dir /tmp/bx --socket /tmp/bx.sock --durability async",
        ),
    ),
    "history-writer": (
        ("The history store's writer for ./betex-data (beside its engine)", "betex history-writer"),
        ("For another data dir", "betex history-writer --data-dir /tmp/bx"),
    ),
    "gateway": (
        ("A gateway on port 3000 in front of the engine of ./betex-data", "betex gateway"),
        ("A second gateway on another port", "betex gateway --port 3001 --index 1"),
    ),
    "wal": (
        ("Events of market 1 from seq 1000, as a table", "betex wal inspect --market 1 --from 1000"),
        ("A hot backup beside a running server", "betex wal backup /backups/bx-today"),
    ),
    "wal inspect": (
        (
            "Trades and accepted orders of market 1",
            "betex wal inspect --market 1 --type ORDER_ACCEPTED,TRADE_MATCHED",
        ),
        (
            "Every event as JSON lines (engine units) into jq",
            "betex wal inspect --json | jq -c 'select(.type==\"TRADE_MATCHED\")'",
        ),
        ("Follow a running server's log, like tail -f", "betex wal inspect --follow"),
        ("Counts by type, size and rate", "betex wal inspect --stats"),
        ("Check every record (exit 4 on damage)", "betex wal inspect --verify"),
    ),
    "wal backup": (
        ("Copy the live WAL and its snapshots into a new data dir", "betex wal backup /backups/bx-today"),
        ("Restore: serve the copy", "betex serve --data-dir /backups/bx-today"),
    ),
    "wal archive": (
        (
            "Snapshot, then move the events it covers out of the WAL",
            "betex snapshot save && betex wal archive",
        ),
        ("Archive onto another disk", "betex wal archive --to-dir /mnt/cold/bx-archive"),
    ),
    "replay": (
        ("Rebuild from the newest snapshot and print the state hash", "betex replay"),
        ("From seq 1 up to seq 5000, as JSON", "betex replay --no-snapshot --to 5000 --json"),
    ),
    "snapshot": (
        ("Market 1 from the WAL (no server needed)", "betex snapshot --market-id 1"),
        (
            "The same from a running server, 20 levels",
            "betex snapshot --url ws://127.0.0.1:3000 --market-id 1 --depth 20",
        ),
    ),
    "snapshot save": (
        ("Write an engine snapshot at the last seq (safe beside a server)", "betex snapshot save"),
        ("At seq 5000", "betex snapshot save --to 5000"),
    ),
    "snapshot list": (
        ("List engine snapshots", "betex snapshot list"),
        ("As JSON", "betex snapshot list --json"),
    ),
    "projection": (("Rebuild projection.snap with no server running", "betex projection rebuild"),),
    "projection rebuild": (
        ("Rebuild projection.snap in place (no server running)", "betex projection rebuild"),
        ("Beside a running server, into another file", "betex projection rebuild --out /tmp/projection.snap"),
    ),
    "market": (
        ("Create a soccer market (the TUI's and bots' preset)", "betex market create --preset soccer"),
        ("Settle market 1: runner 1 won", "betex market close 1 && betex market settle 1 --winner 1"),
    ),
    "market create": (
        ("From a preset, renamed", "betex market create --preset tennis --name 'Nadal v Federer'"),
        (
            "Explicit runners; print the new id with jq",
            "betex market create --name Derby --model EXCHANGE_ODDS --book-type MULTI_RUNNER"
            " --runner 1:Home --runner 2:Draw --runner 3:Away --json | jq .market_id",
        ),
        (
            "Soccer with a 5 s in-play bet delay (placements in play wait 5 s as DELAYED)",
            "betex market create --preset soccer --bet-delay-ms 5000",
        ),
    ),
    "market list": (("Every market", "betex market list"), ("As JSON", "betex market list --json")),
    "market state": (("State, phase and runners of market 1", "betex market state 1"),),
    "market go-live": (("Turn market 1 in play", "betex market go-live 1"),),
    "market close": (("Stop trading on market 1", "betex market close 1"),),
    "market settle": (
        ("Settle market 1 on runner 2", "betex market settle 1 --winner 2"),
        ("A dead heat", "betex market settle 1 --winner 1 --winner 2"),
    ),
    "market void": (("Void market 1 (every trade, P&L 0)", "betex market void 1"),),
    "market remove-runner": (
        (
            "Remove runner 3 from market 1, factor 12.5 %",
            "betex market remove-runner 1 --runner 3 --factor 12.5",
        ),
    ),
    "order": (
        (
            "Back runner 1 at 2.5 for 10",
            "betex order place --market 1 --runner 1 --side BACK --price 2.5 --size 10",
        ),
        ("Your open orders", "betex order list --market 1 --account 1 --status open"),
    ),
    "order place": (
        (
            "Lay runner 2 at 3.0 for 5 as account 7, kept in play",
            "betex order place --market 1 --runner 2 --side LAY --price 3.0 --size 5 --account 7 --persist",
        ),
        (
            "Fill or kill at least 2 of 10; the order id with jq",
            "betex order place --market 1 --runner 1 --side BACK --price 2.5 --size 10 --fok --min-fill 2"
            " --json | jq .order_id",
        ),
    ),
    "order cancel": (
        ("Cancel order 42", "betex order cancel --market 1 --order 42"),
        ("Reduce it by 2", "betex order cancel --market 1 --order 42 --reduce 2"),
    ),
    "order replace": (("Move order 42 to 2.6", "betex order replace --market 1 --order 42 --price 2.6"),),
    "order list": (
        ("Every order in market 1", "betex order list --market 1"),
        ("Account 7's, as JSON", "betex order list --market 1 --account 7 --json"),
    ),
    "bots": (
        ("Create a soccer market and trade it for 10 seconds", "betex bots --create soccer"),
        ("Flat out, no acks, on market 1", "betex bots --market-id 1 --rate 0 --no-ack --duration 30"),
        ("A summary as JSON for scripts", "betex bots --create binary --duration 5 --json"),
        (
            "On an --auth keys server: a new account and key per bot",
            "betex bots --create soccer --admin-token s3cret",
        ),
        (
            "With keys made beforehand, one per bot",
            'betex bots --key "$K1" --key "$K2" --mm-bots 1 --noise-bots 1 --informed-bots 0',
        ),
    ),
    "tui": (
        ("Trade on a local server", "betex tui"),
        ("With six embedded bots", "betex tui --bots 6"),
        ("Another server", "betex tui --url ws://10.0.0.5:3000/ws_ctl?depth=10"),
        ("On an --auth keys server, as the key's account", 'betex tui --key "$KEY" --token s3cret'),
    ),
    "account": (
        ("An account and a key for it (the key is shown once)", "betex account create --name alice"),
        ("Revoke key 3", "betex account revoke-key 3"),
    ),
    "account create": (
        ("Create an account, as JSON", "betex account create --name alice --admin-token s3cret --json"),
    ),
    "account issue-key": (
        ("A key for account 1, as JSON (the key is the field key)", "betex account issue-key 1 --json"),
    ),
    "account revoke-key": (("Revoke key 3 at once", "betex account revoke-key 3 --admin-token s3cret"),),
}


def epilog(path: str) -> str:
    """The EXAMPLES block shown at the end of `--help` (kept unwrapped by Click's ``\\b``)."""
    lines = ["Examples:", "", "\b"]
    for purpose, command in EXAMPLES[path]:
        lines += [f"  # {purpose}", f"  {command}"]
    return "\n".join(lines)
