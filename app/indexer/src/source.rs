//! Reading the program's transactions from a cluster, at `finalized` only.
//!
//! Why finalized: a `confirmed` block can still be dropped by a fork, and undoing what was
//! written from it (fills, candles already rolled up, positions in history) is a second code path
//! where bugs hide. History that trails the chain by the ~13 s finalization takes costs a trader
//! nothing live: the page and the CLI read positions, prices and balances from the accounts
//! themselves; the indexer is for what already happened.
//!
//! One routine does both backfill and tail ([`sync`]): the signatures newer than the newest one
//! stored (`getSignaturesForAddress` pages, newest first, down to it), fetched with
//! `getTransaction` and written a page at a time, its position saved after each batch. The tail runs it whenever a `logsSubscribe`
//! notification (at finalized, mentioning the program) arrives, and every `poll` seconds in
//! case the websocket missed one or dropped.

use crate::db::{Db, DbError};
use crate::ingest::{ingest, IngestStats, TxRecord};
use anchor_lang::prelude::Pubkey;
use futures_util::StreamExt;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcTransactionConfig, RpcTransactionLogsConfig, RpcTransactionLogsFilter};
use solana_signature::Signature;
use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::UiTransactionEncoding;
use std::str::FromStr;
use std::time::Duration;

/// Progress key: the newest signature stored (the next sync starts after it).
pub const NEWEST: &str = "newest_signature";

#[derive(Debug)]
pub enum SyncError {
    Rpc(String),
    Db(DbError),
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::Rpc(e) => write!(f, "RPC: {e}"),
            SyncError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

impl From<DbError> for SyncError {
    fn from(e: DbError) -> Self {
        SyncError::Db(e)
    }
}

fn rpc(what: &'static str) -> impl Fn(ClientError) -> SyncError {
    move |e| SyncError::Rpc(format!("{what}: {e}"))
}

pub struct Source {
    pub client: RpcClient,
    pub program: Pubkey,
}

impl Source {
    pub fn new(url: &str, program: Pubkey) -> Source {
        Source { client: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::finalized()), program }
    }

    /// One page (at most 1,000) of the program's finalized signatures older than `before` and newer
    /// than `until`, newest first, with whether each failed.
    pub async fn signatures_page(
        &self,
        before: Option<Signature>,
        until: Option<Signature>,
    ) -> Result<Vec<(Signature, bool)>, SyncError> {
        use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config as Cfg;
        let cfg = Cfg { before, until, limit: Some(PAGE), commitment: Some(CommitmentConfig::finalized()) };
        let page = self
            .client
            .get_signatures_for_address_with_config(&self.program, cfg)
            .await
            .map_err(rpc("getSignaturesForAddress"))?;
        page.into_iter()
            .map(|s| {
                let sig = Signature::from_str(&s.signature).map_err(|e| {
                    SyncError::Rpc(format!("getSignaturesForAddress: bad signature {}: {e}", s.signature))
                })?;
                Ok((sig, s.err.is_some()))
            })
            .collect()
    }

    /// Whether the node still has `sig` in its history (finalized).
    pub async fn knows(&self, sig: &Signature) -> Result<bool, SyncError> {
        let r = self.client.get_signature_statuses_with_history(&[*sig]).await.map_err(rpc("getSignatureStatuses"))?;
        Ok(r.value.first().map(|s| s.is_some()).unwrap_or(false))
    }

    /// The transaction's log, slot and block time (finalized).
    pub async fn transaction(&self, sig: &Signature) -> Result<TxRecord, SyncError> {
        let cfg = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(CommitmentConfig::finalized()),
            max_supported_transaction_version: Some(0),
        };
        let tx = self.client.get_transaction_with_config(sig, cfg).await.map_err(rpc("getTransaction"))?;
        let logs = match tx.transaction.meta.map(|m| m.log_messages) {
            Some(OptionSerializer::Some(l)) => l,
            _ => return Err(SyncError::Rpc(format!("getTransaction {sig}: the node returned no log messages"))),
        };
        let block_time = match tx.block_time {
            Some(t) => t,
            None => self.client.get_block_time(tx.slot).await.map_err(rpc("getBlockTime"))?,
        };
        Ok(TxRecord { signature: sig.to_string(), slot: tx.slot, block_time, logs })
    }
}

/// Signatures per `getSignaturesForAddress` page.
pub const PAGE: usize = 1_000;
/// Progress keys of a pass that has not finished: the newest signature it will have stored, and
/// the oldest it stored so far (the next page starts below it).
pub const PASS_TOP: &str = "pass_top";
pub const PASS_BEFORE: &str = "pass_before";

fn sig(db_value: Option<String>) -> Result<Option<Signature>, SyncError> {
    db_value
        .map(|s| Signature::from_str(&s).map_err(|e| SyncError::Db(DbError(format!("stored progress {s}: {e}")))))
        .transpose()
}

/// Writes every finalized transaction of the program newer than the newest stored, a page at a
/// time from the newest down (each page written before the next is asked for, its position saved:
/// a pass interrupted anywhere resumes where it stopped, and memory holds one page). One indexer
/// per database runs passes (the pass position is the database's); other writers only ingest. The stored
/// history does not depend on the order transactions are written in (candles by sequence number,
/// gaps by a query). Returns what it wrote; `on_batch` sees each batch (the websocket stream).
pub async fn sync(
    db: &Db,
    src: &Source,
    mut on_batch: impl FnMut(&IngestStats, &[crate::candles::CandleKey], &[String]),
) -> Result<IngestStats, SyncError> {
    let until = sig(db.progress(NEWEST).await?)?;
    let (mut top, mut before) = (sig(db.progress(PASS_TOP).await?)?, sig(db.progress(PASS_BEFORE).await?)?);
    // a pass resumes below the last signature it stored: the node must still have it (an empty
    // page would otherwise end the pass and skip what lies below, unseen)
    if let Some(b) = before {
        if !src.knows(&b).await? {
            return Err(SyncError::Rpc(format!(
                "the node at --rpc does not have {b}, where the interrupted pass stopped: point --rpc at a node \
                 with that history (the pass resumes there), or delete the progress rows pass_top and pass_before \
                 to restart the pass from the newest transaction (what lies below {b} is then not indexed)"
            )));
        }
    }
    if let Some(u) = until {
        if !src.knows(&u).await? {
            tracing::error!(
                "the node at --rpc no longer has {u}, the newest transaction stored: transactions between it and the \
                 node's oldest are out of its reach and will be missing (their stream numbers show the gap)"
            );
        }
    }
    let mut total = IngestStats::default();
    // until an empty page: a node may return fewer than asked for before its end
    loop {
        let page = src.signatures_page(before, until).await?;
        let Some(newest) = page.first().map(|p| p.0) else { break };
        if top.is_none() {
            top = Some(newest);
            set_progress(db, PASS_TOP, &newest.to_string()).await?;
        }
        for chunk in page.chunks(100) {
            // fetched 8 at a time
            let ok: Vec<Signature> = chunk.iter().filter(|(_, failed)| !failed).map(|(s, _)| *s).collect();
            let fetched: Vec<Result<TxRecord, SyncError>> =
                futures_util::stream::iter(ok.iter().map(|s| src.transaction(s))).buffered(8).collect().await;
            let records = fetched.into_iter().collect::<Result<Vec<_>, _>>()?;
            let (stats, candles, fills) = ingest(db, &records).await?;
            let oldest = chunk.last().expect("non-empty chunk").0;
            set_progress(db, PASS_BEFORE, &oldest.to_string()).await?;
            before = Some(oldest);
            on_batch(&stats, &candles, &fills);
            total.add(&stats);
        }
    }
    // the pass is complete: the next one starts above its top (one database transaction)
    if let Some(t) = top {
        let mut tx = db.pool.begin().await.map_err(crate::db::err("begin"))?;
        sqlx::query(&db.sql(
            "INSERT INTO progress (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        ))
        .bind(NEWEST)
        .bind(t.to_string())
        .execute(&mut *tx)
        .await
        .map_err(crate::db::err("writing progress"))?;
        for k in [PASS_TOP, PASS_BEFORE] {
            sqlx::query(&db.sql("DELETE FROM progress WHERE key = $1"))
                .bind(k)
                .execute(&mut *tx)
                .await
                .map_err(crate::db::err("clearing progress"))?;
        }
        tx.commit().await.map_err(crate::db::err("commit"))?;
    }
    Ok(total)
}

pub async fn set_progress(db: &Db, key: &str, value: &str) -> Result<(), DbError> {
    sqlx::query(&db.sql(
        "INSERT INTO progress (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ))
    .bind(key)
    .bind(value)
    .execute(&db.pool)
    .await
    .map_err(crate::db::err("writing progress"))?;
    Ok(())
}

/// Notifications of new finalized transactions mentioning the program, as a stream of `()`;
/// reconnects are the caller's (it polls meanwhile).
pub async fn watch(ws_url: &str, program: Pubkey, wake: tokio::sync::mpsc::Sender<()>) -> Result<(), String> {
    use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
    let client = PubsubClient::new(ws_url).await.map_err(|e| format!("websocket {ws_url}: {e}"))?;
    let (mut stream, _unsub) = client
        .logs_subscribe(
            RpcTransactionLogsFilter::Mentions(vec![program.to_string()]),
            RpcTransactionLogsConfig { commitment: Some(CommitmentConfig::finalized()) },
        )
        .await
        .map_err(|e| format!("logsSubscribe: {e}"))?;
    while stream.next().await.is_some() {
        if wake.try_send(()).is_err() && wake.is_closed() {
            return Ok(());
        }
    }
    Err("the websocket subscription ended".into())
}

/// Backfills, then tails until `stop` resolves.
pub async fn run(
    db: &Db,
    src: &Source,
    ws_url: Option<String>,
    poll: Duration,
    hub: crate::api::Hub,
    stop: impl std::future::Future<Output = ()>,
) -> Result<IngestStats, SyncError> {
    let (wake_tx, mut wake_rx) = tokio::sync::mpsc::channel(1);
    // held until the end: without a websocket the channel must stay open (the poll wakes us)
    let _open = wake_tx.clone();
    if let Some(url) = ws_url {
        let program = src.program;
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(1);
            loop {
                match watch(&url, program, wake_tx.clone()).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!("{e}; polling meanwhile, reconnecting in {wait:?}"),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        });
    }
    tokio::pin!(stop);
    let mut total = IngestStats::default();
    loop {
        match sync(db, src, |s, c, f| hub.publish(db, s, c, f)).await {
            Ok(s) => {
                if s.transactions > 0 || s.undecoded > 0 {
                    tracing::info!(
                        transactions = s.transactions,
                        events = s.events,
                        undecoded = s.undecoded,
                        truncated = s.truncated,
                        "ingested"
                    );
                }
                total.add(&s);
            }
            // a node or database hiccup is retried at the next wake-up; nothing is lost (the
            // progress only moves past what was written)
            Err(e) => tracing::warn!("sync: {e}"),
        }
        tokio::select! {
            _ = &mut stop => return Ok(total),
            _ = wake_rx.recv() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
