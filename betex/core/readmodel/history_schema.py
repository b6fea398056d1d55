"""The history store's SQLite schema: the one place its tables and indexes are defined.

`MIGRATIONS[i]` brings a database from `PRAGMA user_version` i to i + 1; a database is migrated
in order, each step in its own transaction together with its user_version. Migrations are only
ever appended, never edited, once released.

- Migration 1: the tables, plus the indexes the writer itself needs (a market's orders and
  trades, for settlement and market voids).
- Migration 2: the indexes the API's queries need. `rebuild` loads a fresh database at version 1
  and applies migration 2 after the bulk load, so the load does not maintain them row by row.
- Migration 3: commission per market. Migration 4: runner removal (removed runners with their
  factor, and each re-priced trade's original price). Their tables are the writer's, so
  `rebuild` creates them before its bulk load too (`WRITER_TABLES`).

Values are in engine units (odds in hundredths, BINARY prices in bps, sizes in cents or shares,
P&L in the market's money scale); the wire layer converts. `size_remaining`, `status` and
`avg_price_matched` are generated from the stored sizes, so they can never disagree with them.
"""

from __future__ import annotations

TABLES = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('applied_seq', 0), ('completed_count', 0);

CREATE TABLE markets (
    market_id   INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    model       TEXT NOT NULL,
    book_type   TEXT,
    state       TEXT NOT NULL,
    phase       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    winners     TEXT,                -- JSON list of winner runner ids once settled
    created_ts  INTEGER NOT NULL,
    final_seq   INTEGER              -- seq of the MARKET_SETTLED / MARKET_VOIDED event
);

CREATE TABLE orders (
    order_id        INTEGER PRIMARY KEY,
    market_id       INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,
    runner_id       INTEGER NOT NULL,
    side            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    size_matched    INTEGER NOT NULL DEFAULT 0,
    size_cancelled  INTEGER NOT NULL DEFAULT 0,
    size_lapsed     INTEGER NOT NULL DEFAULT 0,
    size_voided     INTEGER NOT NULL DEFAULT 0,
    value           INTEGER NOT NULL DEFAULT 0,  -- Σ fill size × fill price over live fills
    persistence     TEXT NOT NULL,
    time_in_force   TEXT NOT NULL,
    client_ref      TEXT NOT NULL,
    replaces        INTEGER NOT NULL,
    placed_seq      INTEGER NOT NULL,
    placed_ts       INTEGER NOT NULL,
    updated_ts      INTEGER NOT NULL,
    completed_no    INTEGER,  -- 1, 2, … in completion order; NULL while executable
    size_remaining  INTEGER GENERATED ALWAYS AS
        (size - size_matched - size_cancelled - size_lapsed - size_voided) STORED,
    status          TEXT GENERATED ALWAYS AS
        (CASE WHEN size - size_matched - size_cancelled - size_lapsed - size_voided > 0
              THEN 'EXECUTABLE' ELSE 'EXECUTION_COMPLETE' END) STORED,
    avg_price_matched REAL GENERATED ALWAYS AS
        (CASE WHEN size_matched > 0 THEN CAST(value AS REAL) / size_matched END) VIRTUAL
);
CREATE INDEX orders_market_account ON orders (market_id, account_id, order_id);

CREATE TABLE trades (
    trade_id        INTEGER PRIMARY KEY,
    market_id       INTEGER NOT NULL,
    runner_id       INTEGER NOT NULL,
    maker_runner_id INTEGER NOT NULL,
    price           INTEGER NOT NULL,
    size            INTEGER NOT NULL,  -- the taker's size
    maker_size      INTEGER NOT NULL,
    implied         INTEGER NOT NULL,
    taker_order_id  INTEGER NOT NULL,
    maker_order_id  INTEGER NOT NULL,
    taker_account   INTEGER NOT NULL,
    maker_account   INTEGER NOT NULL,
    house           INTEGER NOT NULL,
    taker_value     INTEGER NOT NULL,  -- taker size × the taker's effective price
    effective_odds  REAL NOT NULL,     -- taker_value / size (hundredths for odds markets)
    legs            TEXT NOT NULL,     -- JSON [[account_id, runner_id, win, lose], …]
    seq             INTEGER NOT NULL,
    ts              INTEGER NOT NULL,
    voided          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX trades_market ON trades (market_id, trade_id);

CREATE TABLE exposures (
    market_id   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    runner_id   INTEGER NOT NULL,
    win         INTEGER NOT NULL,
    lose        INTEGER NOT NULL,
    PRIMARY KEY (market_id, account_id, runner_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS market_commission (
    market_id       INTEGER PRIMARY KEY,
    commission_bps  INTEGER NOT NULL   -- CREATE_MARKET commission_bps, only when > 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS delayed_orders (
    order_id        INTEGER PRIMARY KEY  -- in-play bet delay: accepted, not in the book yet
) WITHOUT ROWID;

CREATE TABLE settlements (
    market_id   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    gross       INTEGER NOT NULL,
    commission  INTEGER NOT NULL,  -- paid at settlement (the house's: minus what it received)
    net         INTEGER NOT NULL,
    kind        TEXT NOT NULL,     -- SETTLED | VOIDED
    seq         INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (market_id, account_id)
) WITHOUT ROWID;

CREATE TABLE order_updates (
    account_id          INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    idx                 INTEGER NOT NULL,  -- position within the event (taker 0, maker 1, …)
    order_id            INTEGER NOT NULL,
    market_id           INTEGER NOT NULL,
    runner_id           INTEGER NOT NULL,
    side                TEXT NOT NULL,
    status              TEXT NOT NULL,
    size_matched        INTEGER NOT NULL,
    size_remaining      INTEGER NOT NULL,
    fill_trade_id       INTEGER,
    fill_price          INTEGER,
    fill_effective_odds REAL,
    fill_size           INTEGER,
    fill_implied        INTEGER,
    reason              TEXT,
    PRIMARY KEY (account_id, seq, idx)
) WITHOUT ROWID;
"""

QUERY_INDEXES = """
CREATE INDEX orders_account ON orders (account_id, order_id);
CREATE INDEX orders_market ON orders (market_id, order_id);
CREATE INDEX orders_account_market ON orders (account_id, market_id, order_id);
CREATE INDEX orders_open_account ON orders (account_id, order_id) WHERE completed_no IS NULL;
CREATE INDEX orders_open_market ON orders (market_id, order_id) WHERE completed_no IS NULL;
CREATE INDEX orders_open ON orders (order_id) WHERE completed_no IS NULL;
CREATE UNIQUE INDEX orders_completed ON orders (completed_no) WHERE completed_no IS NOT NULL;
CREATE INDEX orders_completed_account ON orders (account_id, completed_no)
    WHERE completed_no IS NOT NULL;
CREATE INDEX orders_completed_market ON orders (market_id, completed_no)
    WHERE completed_no IS NOT NULL;
CREATE INDEX orders_completed_account_market ON orders (account_id, market_id, completed_no)
    WHERE completed_no IS NOT NULL;
CREATE INDEX settlements_account ON settlements (account_id, seq, market_id);
CREATE INDEX settlements_seq ON settlements (seq, market_id, account_id);
"""

COMMISSION = """
CREATE TABLE IF NOT EXISTS market_commission (
    market_id       INTEGER PRIMARY KEY,
    commission_bps  INTEGER NOT NULL   -- CREATE_MARKET commission_bps, only when > 0
) WITHOUT ROWID;
"""

# Runner removal (REMOVE_RUNNER): a reduced trade keeps its new price, legs and value in `trades`
# and its original price here; a removed runner is listed with its reduction factor.
RUNNER_REMOVAL = """
CREATE TABLE IF NOT EXISTS trade_reductions (
    trade_id        INTEGER PRIMARY KEY,
    original_price  INTEGER NOT NULL   -- the price it matched at; trades.price is the reduced one
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS removed_runners (
    market_id         INTEGER NOT NULL,
    runner_id         INTEGER NOT NULL,
    reduction_factor  INTEGER NOT NULL,  -- hundredths of a percent (12.5 % is 1250)
    seq               INTEGER NOT NULL,
    PRIMARY KEY (market_id, runner_id)
) WITHOUT ROWID;
"""

WRITER_TABLES: tuple[str, ...] = (COMMISSION, RUNNER_REMOVAL)
"""Tables the writer fills, added after migration 1: `rebuild` creates them before its bulk load
(at version 1). Their SQL says IF NOT EXISTS, so the migrations that follow re-run it harmlessly."""

# In-play bet delay (domain.md §7): the orders accepted as DELAYED that have not matured, been
# cancelled or voided yet; their `status` reads DELAYED (history.py). Also in TABLES, for `rebuild`.
DELAYED_ORDERS = """
CREATE TABLE IF NOT EXISTS delayed_orders (
    order_id        INTEGER PRIMARY KEY  -- in-play bet delay: accepted, not in the book yet
) WITHOUT ROWID;
"""

MIGRATIONS: tuple[str, ...] = (TABLES, QUERY_INDEXES, COMMISSION, RUNNER_REMOVAL, DELAYED_ORDERS)
LATEST = len(MIGRATIONS)
