//! Writing transactions' events: one database transaction per batch, idempotent (a transaction
//! already stored is skipped whole, so a restart or a replayed batch changes nothing), candles
//! merged in memory per batch and upserted once per bucket.

use crate::candles::{CandleKey, Candles, Sample};
use crate::db::{err, Db, DbError};
use anchor_lang::prelude::Pubkey;
use base64::Engine as _;
use perp_client::events::{events_from_logs, Event};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};

/// A landed transaction as the indexer reads it (from `getTransaction` or the simulator's bank).
#[derive(Clone, Debug)]
pub struct TxRecord {
    pub signature: String,
    pub slot: u64,
    pub block_time: i64,
    pub logs: Vec<String>,
}

/// What a batch wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub transactions: u64,
    /// Transactions already stored, skipped.
    pub duplicates: u64,
    pub events: u64,
    /// `Program data:` lines of the program that did not decode (kept, counted, logged).
    pub undecoded: u64,
    /// Transactions whose log the runtime truncated.
    pub truncated: u64,
}

impl IngestStats {
    pub fn add(&mut self, o: &IngestStats) {
        self.transactions += o.transactions;
        self.duplicates += o.duplicates;
        self.events += o.events;
        self.undecoded += o.undecoded;
        self.truncated += o.truncated;
    }
}

/// A column value.
#[derive(Clone, Debug)]
pub enum V {
    I(i64),
    T(String),
}

fn i(v: impl TryInto<i64>) -> V {
    // every amount the program emits fits an i64; a u64 above it (never written by the program)
    // is stored as i64::MAX rather than wrapped
    V::I(v.try_into().unwrap_or(i64::MAX))
}
/// A u64 the program takes from the user as is (client order ids, order prices and sizes): its
/// bits, read back as u64 by the API, so no value is lost or merged with another.
fn u(v: u64) -> V {
    V::I(v as i64)
}
fn sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn t(v: impl ToString) -> V {
    V::T(v.to_string())
}
fn k(p: &Pubkey) -> V {
    V::T(p.to_string())
}
fn b(v: bool) -> V {
    V::I(v as i64)
}

/// Rows per table, flushed as multi-row inserts.
#[derive(Default)]
struct Rows(BTreeMap<&'static str, (&'static [&'static str], Vec<Vec<V>>)>);

impl Rows {
    fn push(&mut self, table: &'static str, cols: &'static [&'static str], row: Vec<V>) {
        debug_assert_eq!(cols.len(), row.len(), "{table}");
        self.0.entry(table).or_insert_with(|| (cols, Vec::new())).1.push(row);
    }
}

const FILLS: &[&str] = &[
    "signature",
    "event_index",
    "slot",
    "block_time",
    "seq",
    "market_index",
    "margin_account",
    "base",
    "quote",
    "avg_price",
    "fee",
    "realized_pnl",
    "new_base",
    "index_price",
    "mark_price",
    "isolated",
    "by_delegate",
];
const FUNDING_RATES: &[&str] = &[
    "signature",
    "event_index",
    "block_time",
    "seq",
    "market_index",
    "funding_time",
    "rate",
    "premium_index",
    "mark_price",
    "oi_long",
    "oi_short",
];
const FUNDING_PAYMENTS: &[&str] =
    &["signature", "event_index", "block_time", "seq", "margin_account", "market_index", "payment"];
const LIQUIDATIONS: &[&str] = &[
    "signature",
    "event_index",
    "block_time",
    "seq",
    "kind",
    "market_index",
    "margin_account",
    "liquidator",
    "base",
    "price",
    "realized_pnl",
    "liquidator_reward",
    "insurance",
    "collateral_index",
    "tokens",
];
const LOSSES: &[&str] = &[
    "signature",
    "event_index",
    "block_time",
    "seq",
    "kind",
    "market_index",
    "margin_account",
    "counterparty",
    "round",
    "base",
    "price",
    "amount",
];
const TRANSFERS: &[&str] = &[
    "signature",
    "event_index",
    "block_time",
    "seq",
    "kind",
    "margin_account",
    "collateral_index",
    "market_index",
    "amount",
    "balance_after",
];
const ORDER_EVENTS: &[&str] = &[
    "signature",
    "event_index",
    "block_time",
    "seq",
    "kind",
    "margin_account",
    "market_index",
    "order_id",
    "client_order_id",
    "order_kind",
    "side",
    "size",
    "price",
    "trigger_price",
    "reason",
];
const EVENTS: &[&str] = &["signature", "event_index", "slot", "block_time", "name", "stream", "seq", "data"];
const TRANSACTIONS: &[&str] = &["signature", "slot", "block_time", "events", "undecoded", "truncated"];

/// The typed rows and price samples of one event.
fn typed(e: &Event, sig: &str, ix: i64, slot: u64, time: i64, rows: &mut Rows, candles: &mut Candles) {
    let head = |seq: u64| vec![t(sig), V::I(ix), V::I(time), i(seq)];
    let default = Pubkey::default();
    let loss = |rows: &mut Rows,
                kind: &str,
                seq: u64,
                market: u16,
                acct: &Pubkey,
                cp: &Pubkey,
                round: u64,
                base: i64,
                price: u64,
                amount: i64| {
        let mut r = head(seq);
        r.extend([t(kind), i(market), k(acct), k(cp), i(round), i(base), i(price), i(amount)]);
        rows.push("losses", LOSSES, r);
    };
    match e {
        Event::TradeExecuted(x) => {
            let r = vec![
                t(sig),
                V::I(ix),
                i(slot),
                V::I(time),
                i(x.seq),
                i(x.market_index),
                k(&x.margin_account),
                i(x.base),
                i(x.quote),
                i(x.avg_price),
                i(x.fee),
                i(x.realized_pnl),
                i(x.new_base),
                i(x.index_price),
                i(x.mark_price),
                b(x.isolated),
                b(x.by_delegate),
            ];
            rows.push("fills", FILLS, r);
            let vol = (x.base.unsigned_abs(), x.quote.unsigned_abs());
            candles.add(x.market_index, time, x.seq, Sample::Mark(x.mark_price), vol);
            candles.add(x.market_index, time, x.seq, Sample::Index(x.index_price), (0, 0));
        }
        Event::FundingSampled(x) => candles.add(x.market_index, time, x.seq, Sample::Index(x.index_price), (0, 0)),
        Event::FundingUpdated(x) => {
            let mut r = head(x.seq);
            r.extend([
                i(x.market_index),
                i(x.time),
                i(x.rate),
                i(x.premium_index),
                i(x.mark_price),
                i(x.oi_long),
                i(x.oi_short),
            ]);
            rows.push("funding_rates", FUNDING_RATES, r);
            candles.add(x.market_index, time, x.seq, Sample::Mark(x.mark_price), (0, 0));
        }
        Event::FundingSettled(x) => {
            let mut r = head(x.seq);
            r.extend([k(&x.margin_account), i(x.market_index), i(x.payment)]);
            rows.push("funding_payments", FUNDING_PAYMENTS, r);
        }
        Event::LiquidationExecuted(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("takeover"),
                i(x.market_index),
                k(&x.margin_account),
                k(&x.liquidator),
                i(x.closed_base),
                i(x.mark_price),
                i(x.realized_pnl),
                i(x.liquidator_reward),
                i(x.insurance_draw),
                V::I(0),
                V::I(0),
            ]);
            rows.push("liquidations", LIQUIDATIONS, r);
            candles.add(x.market_index, time, x.seq, Sample::Mark(x.mark_price), (0, 0));
            candles.add(x.market_index, time, x.seq, Sample::Index(x.index_price), (0, 0));
        }
        Event::CollateralLiquidated(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("collateral"),
                i(x.market_index),
                k(&x.margin_account),
                k(&x.liquidator),
                V::I(0),
                i(x.price),
                V::I(0),
                i(x.from_liquidator),
                i(x.to_insurance),
                i(x.collateral_index),
                i(x.tokens),
            ]);
            rows.push("liquidations", LIQUIDATIONS, r);
        }
        Event::AccountBankrupt(x) => loss(
            rows,
            "bankrupt",
            x.seq,
            x.market_index,
            &x.margin_account,
            &default,
            0,
            x.base,
            x.bankruptcy_price,
            x.deficit,
        ),
        Event::AdlRoundStarted(x) => loss(
            rows,
            "adl_round",
            x.seq,
            x.market_index,
            &default,
            &default,
            x.round,
            0,
            x.mark_price,
            x.expected_positions as i64,
        ),
        Event::AdlStep(x) => loss(
            rows,
            "adl_step",
            x.seq,
            x.market_index,
            &x.bankrupt_account,
            &x.counterparty,
            0,
            x.base_closed,
            x.price,
            x.counterparty_realized,
        ),
        // pro-rata ADL: the deficit spread over the opposite side (amount: what the pool took),
        // and each account's share when it is next touched
        Event::AdlHaircut(x) => loss(
            rows,
            "adl_haircut",
            x.seq,
            x.market_index,
            &x.bankrupt_account,
            &default,
            x.round,
            x.base_closed,
            x.price,
            x.absorbed,
        ),
        Event::HaircutSettled(x) => loss(
            rows,
            "haircut",
            x.seq,
            x.market_index,
            &x.margin_account,
            &default,
            u64::from(x.round),
            0,
            0,
            x.amount,
        ),
        Event::LossSocialized(x) => {
            loss(rows, "socialized", x.seq, x.market_index, &x.margin_account, &default, 0, 0, 0, x.loss)
        }
        Event::UnbackedLossRepaid(x) => {
            loss(rows, "unbacked_repaid", x.seq, x.market_index, &x.margin_account, &default, 0, 0, 0, x.amount)
        }
        Event::BankruptcyResolved(x) => {
            loss(rows, "resolved", x.seq, x.market_index, &x.margin_account, &default, 0, 0, 0, 0)
        }
        Event::CollateralDebtResolved(x) => {
            loss(rows, "collateral_debt", x.seq, x.market_index, &x.margin_account, &default, 0, 0, 0, x.debt)
        }
        Event::CollateralDeposited(x) => {
            transfer(rows, head(x.seq), "deposit", &x.margin_account, 0, 0, sat(x.amount), x.cross_collateral)
        }
        Event::CollateralWithdrawn(x) => {
            transfer(rows, head(x.seq), "withdrawal", &x.margin_account, 0, 0, -sat(x.amount), x.cross_collateral)
        }
        Event::CollateralTokenDeposited(x) => transfer(
            rows,
            head(x.seq),
            "deposit",
            &x.margin_account,
            x.collateral_index,
            0,
            sat(x.amount),
            sat(x.balance),
        ),
        Event::CollateralTokenWithdrawn(x) => transfer(
            rows,
            head(x.seq),
            "withdrawal",
            &x.margin_account,
            x.collateral_index,
            0,
            -sat(x.amount),
            sat(x.balance),
        ),
        Event::IsolatedCollateralMoved(x) => transfer(
            rows,
            head(x.seq),
            "isolated_move",
            &x.margin_account,
            0,
            x.market_index,
            x.amount,
            x.isolated_collateral,
        ),
        Event::InsuranceDeposited(x) => transfer(
            rows,
            head(x.seq),
            "insurance_deposit",
            &x.depositor,
            0,
            x.market_index,
            sat(x.amount),
            x.insurance_fund,
        ),
        Event::OrderPlaced(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("placed"),
                k(&x.margin_account),
                i(x.market_index),
                i(x.order_id),
                u(x.client_order_id),
                i(x.kind),
                i(x.side),
                u(x.size),
                u(x.limit_price),
                u(x.trigger_price),
                V::I(0),
            ]);
            rows.push("order_events", ORDER_EVENTS, r);
        }
        Event::OrderCancelled(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("cancelled"),
                k(&x.margin_account),
                i(x.market_index),
                i(x.order_id),
                u(x.client_order_id),
                V::I(0),
                V::I(0),
                u(x.size),
                V::I(0),
                V::I(0),
                i(x.reason),
            ]);
            rows.push("order_events", ORDER_EVENTS, r);
        }
        Event::OrderTriggered(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("triggered"),
                k(&x.margin_account),
                i(x.market_index),
                i(x.order_id),
                V::I(0),
                V::I(0),
                V::I(0),
                V::I(0),
                u(x.index_price),
                u(x.trigger_price),
                V::I(0),
            ]);
            rows.push("order_events", ORDER_EVENTS, r);
            candles.add(x.market_index, time, x.seq, Sample::Index(x.index_price), (0, 0));
        }
        Event::OrderFilled(x) => {
            let mut r = head(x.seq);
            r.extend([
                t("filled"),
                k(&x.margin_account),
                i(x.market_index),
                i(x.order_id),
                u(x.client_order_id),
                i(x.kind),
                i(if x.base > 0 { 1 } else { 2 }),
                u(x.base.unsigned_abs()),
                u(x.avg_price),
                u(x.bound_price),
                u(x.remaining),
            ]);
            rows.push("order_events", ORDER_EVENTS, r);
        }
        Event::Repegged(x) => candles.add(x.market_index, time, x.seq, Sample::Index(x.index_price), (0, 0)),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn transfer(
    rows: &mut Rows,
    mut r: Vec<V>,
    kind: &str,
    acct: &Pubkey,
    mint: u16,
    market: u16,
    amount: i64,
    after: i64,
) {
    r.extend([t(kind), k(acct), i(mint), i(market), V::I(amount), V::I(after)]);
    rows.push("transfers", TRANSFERS, r);
}

/// Market and account registry rows (upserts, not keyed by event).
#[derive(Default)]
struct Registry {
    markets: BTreeMap<u16, (String, i64, Option<u8>)>,
    /// Markets named by any of their events, with the earliest time seen.
    seen_markets: BTreeMap<u16, i64>,
    /// The newest status seen per market: `(seq, status)`.
    statuses: BTreeMap<u16, (u64, u8)>,
    accounts: BTreeMap<Pubkey, (Option<(Pubkey, u16)>, i64)>,
}

impl Registry {
    fn see(&mut self, e: &Event, time: i64) {
        match e {
            Event::MarketCreated(x) => {
                // as the program reads it (`Market::name_str`): up to the first NUL; no control
                // characters (PostgreSQL refuses NUL in text)
                let end = x.name.iter().position(|b| *b == 0).unwrap_or(x.name.len());
                let name: String =
                    String::from_utf8_lossy(&x.name[..end]).chars().filter(|c| !c.is_control()).collect();
                self.markets.insert(x.market_index, (name, time, None));
            }
            Event::MarketStatusChanged(x) => {
                let e = self.statuses.entry(x.market_index).or_insert((x.seq, x.status));
                if x.seq >= e.0 {
                    *e = (x.seq, x.status);
                }
            }
            Event::MarginAccountCreated(x) => {
                self.accounts.insert(x.margin_account, (Some((x.owner, x.account_id)), time));
            }
            _ => {
                match e.stream() {
                    perp_client::events::StreamKey::Account(a) => {
                        self.accounts.entry(a).or_insert((None, time));
                    }
                    // a market whose creation is older than the node's history is still known
                    perp_client::events::StreamKey::Market(m) => {
                        self.seen_markets.entry(m).and_modify(|t| *t = (*t).min(time)).or_insert(time);
                    }
                    perp_client::events::StreamKey::Exchange => {}
                }
                if let Event::TradeExecuted(x) = e {
                    self.accounts.entry(x.margin_account).or_insert((None, time));
                }
            }
        }
    }
}

/// Writes a batch of transactions (any order; each at most once, ever). Returns what it wrote and
/// the 1-minute candles it touched (for the websocket stream).
pub async fn ingest(db: &Db, txs: &[TxRecord]) -> Result<(IngestStats, Vec<CandleKey>, Vec<String>), DbError> {
    let mut stats = IngestStats::default();
    let mut tx = db.pool.begin().await.map_err(err("begin"))?;
    // one batch writes at a time, whoever writes: this row's lock (PostgreSQL) or the database's
    // write lock (SQLite) is held to the commit, so the check below sees every committed batch and
    // no transaction's candle samples are added twice
    sqlx::query(&db.sql(
        "INSERT INTO progress (key, value) VALUES ('writer', '') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ))
    .execute(&mut *tx)
    .await
    .map_err(err("taking the writer lock"))?;
    // already stored, or twice in this batch: skipped whole
    let mut seen: HashSet<String> = HashSet::new();
    for chunk in txs.chunks(500) {
        let ph: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = db.sql(&format!("SELECT signature FROM transactions WHERE signature IN ({})", ph.join(",")));
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q.bind(r.signature.clone());
        }
        for row in q.fetch_all(&mut *tx).await.map_err(err("checking stored transactions"))? {
            seen.insert(row.get::<String, _>(0));
        }
    }
    let mut rows = Rows::default();
    let mut candles = Candles::default();
    let mut reg = Registry::default();
    let mut new_fills = Vec::new();
    for r in txs {
        if !seen.insert(r.signature.clone()) {
            stats.duplicates += 1;
            continue;
        }
        let parsed = events_from_logs(&r.logs, &perp::ID);
        let mut undecoded = 0i64;
        for (ix, ev) in parsed.events.iter().enumerate() {
            let ix = ix as i64;
            match ev {
                Ok(e) => {
                    let data = base64::engine::general_purpose::STANDARD.encode(e.to_bytes());
                    rows.push(
                        "events",
                        EVENTS,
                        vec![
                            t(&r.signature),
                            V::I(ix),
                            i(r.slot),
                            V::I(r.block_time),
                            t(e.name()),
                            t(e.stream().label()),
                            i(e.seq()),
                            V::T(data),
                        ],
                    );
                    typed(e, &r.signature, ix, r.slot, r.block_time, &mut rows, &mut candles);
                    reg.see(e, r.block_time);
                    if matches!(e, Event::TradeExecuted(_)) {
                        new_fills.push(format!("{}:{ix}", r.signature));
                    }
                }
                Err(why) => {
                    undecoded += 1;
                    tracing::warn!(signature = %r.signature, event_index = ix, "undecodable event: {why}");
                    // kept with its place, name and stream unknown
                    rows.push(
                        "events_raw",
                        EVENTS_RAW,
                        vec![t(&r.signature), V::I(ix), i(r.slot), V::I(r.block_time), t(format!("undecoded: {why}"))],
                    );
                }
            }
        }
        if parsed.truncated {
            stats.truncated += 1;
            tracing::warn!(signature = %r.signature, "the transaction's log was truncated: events after the cut are missing");
        }
        stats.transactions += 1;
        stats.events += parsed.events.len() as u64 - undecoded as u64;
        stats.undecoded += undecoded as u64;
        rows.push(
            "transactions",
            TRANSACTIONS,
            vec![
                t(&r.signature),
                i(r.slot),
                V::I(r.block_time),
                i(parsed.events.len()),
                V::I(undecoded),
                b(parsed.truncated),
            ],
        );
    }
    for (table, (cols, list)) in rows.0.iter_mut() {
        // the raw-event rows share the table with a shorter column list
        let table_name = if *table == "events_raw" { "events" } else { table };
        insert_rows(db, &mut tx, table_name, cols, list).await?;
    }
    write_registry(db, &mut tx, &reg).await?;
    let touched = candles.write(db, &mut tx).await?;
    tx.commit().await.map_err(err("commit"))?;
    Ok((stats, touched, new_fills))
}

/// Undecodable events: the `events` columns known without decoding (`data` holds the reason).
const EVENTS_RAW: &[&str] = &["signature", "event_index", "slot", "block_time", "data"];

async fn insert_rows(
    db: &Db,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    cols: &[&str],
    rows: &[Vec<V>],
) -> Result<(), DbError> {
    let per = (900 / cols.len()).max(1);
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut n = 0;
        for (ri, _) in chunk.iter().enumerate() {
            if ri > 0 {
                sql.push(',');
            }
            sql.push('(');
            for ci in 0..cols.len() {
                n += 1;
                if ci > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        let sql = db.sql(&sql);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    V::I(x) => q.bind(*x),
                    V::T(s) => q.bind(s.clone()),
                };
            }
        }
        q.execute(&mut **tx).await.map_err(|e| DbError(format!("writing {table}: {e}")))?;
    }
    Ok(())
}

async fn write_registry(db: &Db, tx: &mut sqlx::Transaction<'_, sqlx::Any>, reg: &Registry) -> Result<(), DbError> {
    for (idx, (name, time, _)) in &reg.markets {
        sqlx::query(&db.sql(
            "INSERT INTO markets (market_index, name, created_time, status, status_seq) VALUES ($1, $2, $3, 0, 0)
             ON CONFLICT (market_index) DO UPDATE SET name = excluded.name, created_time = excluded.created_time",
        ))
        .bind(*idx as i64)
        .bind(name.clone())
        .bind(*time)
        .execute(&mut **tx)
        .await
        .map_err(err("writing markets"))?;
    }
    for (idx, time) in &reg.seen_markets {
        sqlx::query(&db.sql(
            "INSERT INTO markets (market_index, name, created_time, status, status_seq) VALUES ($1, '', $2, 0, 0)
             ON CONFLICT (market_index) DO NOTHING",
        ))
        .bind(*idx as i64)
        .bind(*time)
        .execute(&mut **tx)
        .await
        .map_err(err("writing markets"))?;
    }
    // a status arriving before its market's creation makes the row; the newest status wins
    for (idx, (seq, status)) in &reg.statuses {
        sqlx::query(&db.sql(
            "INSERT INTO markets (market_index, name, created_time, status, status_seq) VALUES ($1, '', 0, $2, $3)
             ON CONFLICT (market_index) DO UPDATE SET status = excluded.status, status_seq = excluded.status_seq
             WHERE markets.status_seq < excluded.status_seq",
        ))
        .bind(*idx as i64)
        .bind(*status as i64)
        .bind(sat(*seq))
        .execute(&mut **tx)
        .await
        .map_err(err("writing market status"))?;
    }
    let created_sql = db.sql(
        "INSERT INTO accounts (margin_account, owner, account_id, first_time) VALUES ($1, $2, $3, $4)
         ON CONFLICT (margin_account) DO UPDATE SET owner = excluded.owner, account_id = excluded.account_id,
           first_time = CASE WHEN excluded.first_time < accounts.first_time THEN excluded.first_time ELSE accounts.first_time END",
    );
    let seen_sql = db.sql(
        "INSERT INTO accounts (margin_account, first_time) VALUES ($1, $2) ON CONFLICT (margin_account) DO UPDATE SET
         first_time = CASE WHEN excluded.first_time < accounts.first_time THEN excluded.first_time ELSE accounts.first_time END",
    );
    for (acct, (created, time)) in &reg.accounts {
        let q = match created {
            Some((owner, id)) => {
                sqlx::query(&created_sql).bind(acct.to_string()).bind(owner.to_string()).bind(*id as i64).bind(*time)
            }
            None => sqlx::query(&seen_sql).bind(acct.to_string()).bind(*time),
        };
        q.execute(&mut **tx).await.map_err(err("writing accounts"))?;
    }
    Ok(())
}
