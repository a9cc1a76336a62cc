-- perp indexer, schema version 1 (PostgreSQL). Amounts are the program's raw integers
-- (quote and prices 10^-6, base 10^-9, rates 10^-9); times unix seconds; keys base58.
-- Flags are 0/1. Every event row is keyed by (signature, event_index): writes are idempotent.

CREATE TABLE transactions (
    signature   TEXT PRIMARY KEY,
    slot        BIGINT NOT NULL,
    block_time  BIGINT NOT NULL,
    events      BIGINT NOT NULL,
    undecoded   BIGINT NOT NULL,
    truncated   BIGINT NOT NULL
);
CREATE INDEX transactions_slot ON transactions (slot);

-- every event, decoded or not (name NULL when it did not decode; bytes kept)
CREATE TABLE events (
    signature    TEXT NOT NULL,
    event_index  BIGINT NOT NULL,
    slot         BIGINT NOT NULL,
    block_time   BIGINT NOT NULL,
    name         TEXT,
    stream       TEXT,
    seq          BIGINT,
    data         TEXT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX events_stream_seq ON events (stream, seq);

CREATE TABLE markets (
    market_index  BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_time  BIGINT NOT NULL,
    status        BIGINT NOT NULL
);

CREATE TABLE accounts (
    margin_account  TEXT PRIMARY KEY,
    owner           TEXT,
    account_id      BIGINT,
    first_time      BIGINT NOT NULL
);

CREATE TABLE fills (
    signature        TEXT NOT NULL,
    event_index      BIGINT NOT NULL,
    slot             BIGINT NOT NULL,
    block_time       BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    market_index     BIGINT NOT NULL,
    margin_account   TEXT NOT NULL,
    base             BIGINT NOT NULL,
    quote            BIGINT NOT NULL,
    avg_price        BIGINT NOT NULL,
    fee              BIGINT NOT NULL,
    realized_pnl     BIGINT NOT NULL,
    new_base         BIGINT NOT NULL,
    index_price      BIGINT NOT NULL,
    mark_price       BIGINT NOT NULL,
    isolated         BIGINT NOT NULL,
    by_delegate      BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX fills_market ON fills (market_index, block_time, seq);
CREATE INDEX fills_account ON fills (margin_account, block_time, seq);

CREATE TABLE funding_rates (
    signature      TEXT NOT NULL,
    event_index    BIGINT NOT NULL,
    block_time     BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    market_index   BIGINT NOT NULL,
    funding_time   BIGINT NOT NULL,
    rate           BIGINT NOT NULL,
    premium_index  BIGINT NOT NULL,
    mark_price     BIGINT NOT NULL,
    oi_long        BIGINT NOT NULL,
    oi_short       BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX funding_rates_market ON funding_rates (market_index, funding_time);

CREATE TABLE funding_payments (
    signature       TEXT NOT NULL,
    event_index     BIGINT NOT NULL,
    block_time      BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    margin_account  TEXT NOT NULL,
    market_index    BIGINT NOT NULL,
    payment         BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX funding_payments_account ON funding_payments (margin_account, block_time, seq);

-- takeovers (kind 'takeover') and collateral sales (kind 'collateral')
CREATE TABLE liquidations (
    signature         TEXT NOT NULL,
    event_index       BIGINT NOT NULL,
    block_time        BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    market_index      BIGINT NOT NULL,
    margin_account    TEXT NOT NULL,
    liquidator        TEXT NOT NULL,
    base              BIGINT NOT NULL,
    price             BIGINT NOT NULL,
    realized_pnl      BIGINT NOT NULL,
    liquidator_reward BIGINT NOT NULL,
    insurance         BIGINT NOT NULL,
    collateral_index  BIGINT NOT NULL,
    tokens            BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX liquidations_market ON liquidations (market_index, block_time, seq);
CREATE INDEX liquidations_account ON liquidations (margin_account, block_time, seq);

-- bankruptcies, ADL rounds and steps, socialized and unbacked losses, debts resolved
CREATE TABLE losses (
    signature       TEXT NOT NULL,
    event_index     BIGINT NOT NULL,
    block_time      BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    market_index    BIGINT NOT NULL,
    margin_account  TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    round           BIGINT NOT NULL,
    base            BIGINT NOT NULL,
    price           BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX losses_market ON losses (market_index, block_time, seq);
CREATE INDEX losses_account ON losses (margin_account, block_time, seq);

-- deposits and withdrawals of any mint (collateral_index 0: the settlement mint), moves
-- between cross and isolated margin, insurance deposits (margin_account = the depositor)
CREATE TABLE transfers (
    signature         TEXT NOT NULL,
    event_index       BIGINT NOT NULL,
    block_time        BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    margin_account    TEXT NOT NULL,
    collateral_index  BIGINT NOT NULL,
    market_index      BIGINT NOT NULL,
    amount            BIGINT NOT NULL,
    balance_after     BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX transfers_account ON transfers (margin_account, block_time, seq);

CREATE TABLE order_events (
    signature        TEXT NOT NULL,
    event_index      BIGINT NOT NULL,
    block_time       BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    margin_account   TEXT NOT NULL,
    market_index     BIGINT NOT NULL,
    order_id         BIGINT NOT NULL,
    client_order_id  BIGINT NOT NULL,
    order_kind       BIGINT NOT NULL,
    side             BIGINT NOT NULL,
    size             BIGINT NOT NULL,
    price            BIGINT NOT NULL,
    trigger_price    BIGINT NOT NULL,
    reason           BIGINT NOT NULL,
    PRIMARY KEY (signature, event_index)
);
CREATE INDEX order_events_account ON order_events (margin_account, block_time, seq);

-- candles of mark ('mark') and index ('index') per market and resolution (60, 300, 3600, 86400 s);
-- open/close are the samples with the lowest/highest market sequence number in the bucket
CREATE TABLE candles (
    market_index  BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    resolution    BIGINT NOT NULL,
    bucket        BIGINT NOT NULL,
    open          BIGINT NOT NULL,
    high          BIGINT NOT NULL,
    low           BIGINT NOT NULL,
    close         BIGINT NOT NULL,
    open_seq      BIGINT NOT NULL,
    close_seq     BIGINT NOT NULL,
    samples       BIGINT NOT NULL,
    volume_base   BIGINT NOT NULL,
    volume_quote  BIGINT NOT NULL,
    PRIMARY KEY (market_index, kind, resolution, bucket)
);

CREATE TABLE progress (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
