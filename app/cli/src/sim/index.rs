//! `perp simulate --db URL`: the replay's transactions written into the indexer's database
//! through the indexer's own code (`perp_indexer::ingest`), so the replay becomes browsable
//! history (`perp indexer --db URL --once`... or its API) and a load test of the writer.
//!
//! Events are log lines only the SBF build of the program writes (natively Anchor's
//! `sol_log_data` does nothing), so with `--db` the replay runs the SBF build.

use perp_client::bank::{record_logs_of_new_banks, sbf_dir, BankChain};
use perp_client::data::repo_root;
use perp_indexer::db::Db;
use perp_indexer::ingest::{ingest, IngestStats, TxRecord};
use serde_json::{json, Value};
use std::time::Instant;

pub struct SimIndex {
    db: Db,
    stats: IngestStats,
    seconds: f64,
}

impl SimIndex {
    /// Opens the database and arranges for the bank about to start to run the SBF build and keep
    /// its transactions' logs. Call before the bank starts.
    pub async fn open(url: &str) -> Result<SimIndex, String> {
        if sbf_dir().is_none() {
            let dir = repo_root().join("target/deploy");
            if !dir.join("perp.so").is_file() {
                return Err("--db: the replay's events are the program's log lines, which only its SBF build writes; \
                     build it first (scripts/build-sbf) or point PERP_SBF at a directory holding perp.so"
                    .into());
            }
            std::env::set_var("PERP_SBF", &dir);
        }
        record_logs_of_new_banks(true);
        let db = Db::connect(url).await.map_err(|e| format!("--db: {e}"))?;
        Ok(SimIndex { db, stats: IngestStats::default(), seconds: 0.0 })
    }

    /// Writes the transactions landed since the last flush.
    pub async fn flush(&mut self, chain: &BankChain) -> Result<(), String> {
        let logs = chain.take_logs();
        if logs.is_empty() {
            return Ok(());
        }
        let recs: Vec<TxRecord> = logs
            .into_iter()
            .map(|l| TxRecord { signature: l.signature, slot: l.slot, block_time: l.block_time, logs: l.logs })
            .collect();
        let t = Instant::now();
        for chunk in recs.chunks(1_000) {
            let (s, _, _) = ingest(&self.db, chunk).await.map_err(|e| format!("--db: {e}"))?;
            self.stats.add(&s);
        }
        self.seconds += t.elapsed().as_secs_f64();
        Ok(())
    }

    /// What was written and how fast (the time inside the database writes only).
    pub async fn summary(&self) -> Value {
        let gaps = self.db.gaps().await.map(|g| g.len() as i64).unwrap_or(-1);
        json!({
            "transactions": self.stats.transactions,
            "events": self.stats.events,
            "undecoded_events": self.stats.undecoded,
            "truncated_logs": self.stats.truncated,
            "stream_gaps": gaps,
            "write_seconds": format!("{:.2}", self.seconds),
            "events_per_second": format!("{:.0}", self.stats.events as f64 / self.seconds.max(1e-9)),
            "transactions_per_second": format!("{:.0}", self.stats.transactions as f64 / self.seconds.max(1e-9)),
        })
    }
}
