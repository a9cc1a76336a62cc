-- perp indexer, schema version 2 (SQLite): the market sequence number of a market's status, so
-- the newest status wins whatever order transactions are written in.
ALTER TABLE markets ADD COLUMN status_seq INTEGER NOT NULL DEFAULT 0;
