//! The indexer under load: ingest rate, database size per million fills, and API latency under
//! concurrent load from a second process on loopback (wrk), over 30 days of history.
//!
//! ```sh
//! scripts/bench-indexer                       # SQLite and PostgreSQL (installs wrk, starts a server)
//! PERP_BENCH_DB=postgres://... cargo bench -p perp-indexer --bench load
//! ```
//! Settings: `PERP_BENCH_DB` (default: a fresh SQLite file), `PERP_BENCH_DAYS` (30),
//! `PERP_BENCH_FILLS_PER_MINUTE` (10), `PERP_BENCH_SECONDS` (wrk duration per URL, 10).
//! History: one market, 1,000 accounts trading in turn, a funding sample every minute, a funding
//! update and a payment every hour; 1-minute candles of mark and index and their roll-ups.

use perp::events as ev;
use perp_client::events::{log_line, Event};
use perp_indexer::api::{router_with, Hub};
use perp_indexer::db::{Backend, Db};
use perp_indexer::ingest::{ingest, IngestStats, TxRecord};
use std::process::Command;
use std::time::Instant;

const T0: i64 = 1_764_547_200; // 2025-12-01 00:00 UTC
const ACCOUNTS: u32 = 1_000;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn account(i: u32) -> anchor_lang::prelude::Pubkey {
    let mut b = [7u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    anchor_lang::prelude::Pubkey::new_from_array(b)
}

fn tx(sig: u64, slot: u64, time: i64, events: &[Event]) -> TxRecord {
    let mut logs = vec![format!("Program {} invoke [1]", perp::ID)];
    logs.extend(events.iter().map(log_line));
    logs.push(format!("Program {} success", perp::ID));
    TxRecord { signature: format!("bench{sig:012}"), slot, block_time: time, logs }
}

/// The history of `minutes` minutes, `per_minute` fills each, in batches of about 1,000 transactions.
fn history(minutes: i64, per_minute: i64, mut batch: impl FnMut(Vec<TxRecord>)) -> (u64, u64) {
    let (mut seq, mut sig, mut slot) = (0u64, 0u64, 0u64);
    let mut acct_seq = vec![0u64; ACCOUNTS as usize];
    let mut price: i64 = 65_000_000_000;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut fills, mut out) = (0u64, Vec::with_capacity(1_100));
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    seq += 1;
    sig += 1;
    out.push(tx(
        sig,
        0,
        T0,
        &[Event::MarketCreated(ev::MarketCreated { seq, market_index: 0, name, peg: 0, base_reserve: 0 })],
    ));
    for m in 0..minutes {
        let t = T0 + m * 60;
        for k in 0..per_minute {
            price += (next() % 20_001) as i64 - 10_000;
            let who = (next() % ACCOUNTS as u64) as u32;
            let base: i64 = if next() % 2 == 0 { 10_000_000 } else { -10_000_000 };
            seq += 1;
            sig += 1;
            slot += 1;
            let quote = -base * (price / 1_000_000) / 1_000;
            out.push(tx(
                sig,
                slot,
                t + k * 60 / per_minute.max(1),
                &[Event::TradeExecuted(ev::TradeExecuted {
                    seq,
                    margin_account: account(who),
                    market_index: 0,
                    base,
                    quote,
                    avg_price: price as u64,
                    fee: quote.abs() / 2_000,
                    insurance_fee: 0,
                    realized_pnl: 0,
                    new_base: base,
                    new_quote_entry: quote,
                    index_price: (price - 5_000_000) as u64,
                    mark_price: price as u64,
                    vamm_price: price as u64,
                    isolated: false,
                    index_was_fallback: false,
                    by_delegate: false,
                })],
            ));
            fills += 1;
        }
        seq += 1;
        sig += 1;
        slot += 1;
        let mut evs = vec![Event::FundingSampled(ev::FundingSampled {
            seq,
            market_index: 0,
            index_price: (price - 5_000_000) as u64,
            impact_bid: 0,
            impact_ask: 0,
            premium: 0,
            seconds: 60,
        })];
        if m % 60 == 59 {
            seq += 1;
            evs.push(Event::FundingUpdated(ev::FundingUpdated {
                seq,
                market_index: 0,
                time: t,
                premium_index: 0,
                rate: 12_500,
                mark_price: price as u64,
                delta_long: 0,
                delta_short: 0,
                amm_share: 0,
                receiver_capped: false,
                oi_long: 0,
                oi_short: 0,
                next_funding_time: t + 3_600,
            }));
            let who = (m / 60) as u32 % ACCOUNTS;
            acct_seq[who as usize] += 1;
            evs.push(Event::FundingSettled(ev::FundingSettled {
                seq: acct_seq[who as usize],
                margin_account: account(who),
                market_index: 0,
                payment: 8_125,
            }));
        }
        out.push(tx(sig, slot, t + 59, &evs));
        if out.len() >= 1_000 {
            batch(std::mem::take(&mut out));
        }
    }
    if !out.is_empty() {
        batch(out);
    }
    (fills, sig)
}

/// `wrk` against `url`: (requests/s, p50 ms, p99 ms).
fn wrk(url: &str, seconds: i64) -> (f64, f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .unwrap_or_else(|e| panic!("wrk: {e} (install it: apt-get install wrk, or run scripts/bench-indexer)"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && !text.contains("Non-2xx"), "wrk {url}:\n{text}");
    let ms = |label: &str| -> f64 {
        let line =
            text.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label} in\n{text}"));
        let v = line.split_whitespace().nth(1).unwrap();
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap());
        let n: f64 = num.parse().unwrap();
        match unit {
            "us" => n / 1_000.0,
            "ms" => n,
            "s" => n * 1_000.0,
            u => panic!("unit {u}"),
        }
    };
    let rps: f64 = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (rps, ms("50%"), ms("99%"))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = std::env::var("PERP_BENCH_DB").unwrap_or_else(|_| {
        let p = std::env::temp_dir().join(format!("perp-indexer-bench-{}.db", std::process::id()));
        p.display().to_string()
    });
    let days = env("PERP_BENCH_DAYS", 30);
    let per_minute = env("PERP_BENCH_FILLS_PER_MINUTE", 10);
    let seconds = env("PERP_BENCH_SECONDS", 10);
    rt.block_on(async {
        let db = Db::connect(&url).await.expect("database");
        assert_eq!(db.count("transactions").await.unwrap(), 0, "PERP_BENCH_DB must be an empty database");
        // ingest
        let mut batches = Vec::new();
        let (fills, txs) = history(days * 1_440, per_minute, |b| batches.push(b));
        let start = Instant::now();
        let mut total = IngestStats::default();
        for b in &batches {
            let (s, _, _) = ingest(&db, b).await.unwrap();
            total.add(&s);
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(total.transactions, txs);
        assert!(db.gaps().await.unwrap().is_empty());
        let size = match db.backend {
            Backend::Postgres => {
                let r: (i64,) =
                    sqlx::query_as("SELECT pg_database_size(current_database())").fetch_one(&db.pool).await.unwrap();
                r.0 as f64
            }
            Backend::Sqlite => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&db.pool).await.unwrap();
                std::fs::metadata(url.trim_start_matches("sqlite://")).map(|m| m.len() as f64).unwrap_or(f64::NAN)
            }
        };
        println!("backend {:?}: {days} days, {fills} fills, {txs} transactions, {} events", db.backend, total.events);
        println!(
            "ingest: {:.1} s, {:.0} events/s, {:.0} transactions/s (batches of 1,000 transactions)",
            secs,
            total.events as f64 / secs,
            total.transactions as f64 / secs
        );
        println!(
            "size: {:.1} MB, {:.0} MB per million fills (history of {} fills with their candles and funding)",
            size / 1e6,
            size / 1e6 / fills as f64 * 1e6,
            fills
        );
        // the API, loaded from a second process (wrk) on loopback: as served (answers cached until
        // the next batch is written) and with every request reaching the database
        let end = T0 + days * 86_400;
        let busy = account(1).to_string();
        for cached in [true, false] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let app = router_with(db.clone(), Hub::default(), cached);
            tokio::spawn(async move { axum::serve(listener, app).await });
            let cases = [
                (
                    "candles 1m, last day (1,440)",
                    format!("{base}/v1/markets/0/candles?resolution=1m&from={}&to={end}", end - 86_400),
                ),
                (
                    "candles 1h, 30 days (720)",
                    format!("{base}/v1/markets/0/candles?resolution=1h&from={}&to={end}", end - 30 * 86_400),
                ),
                (
                    "candles 1d, 30 days",
                    format!("{base}/v1/markets/0/candles?resolution=1d&from={}&to={end}", end - 30 * 86_400),
                ),
                ("account fills, 100", format!("{base}/v1/accounts/{busy}/fills?limit=100")),
                ("market trades, 100", format!("{base}/v1/markets/0/trades?limit=100")),
            ];
            println!(
                "{:<32} {:>9} {:>9} {:>9}   (wrk -t2 -c16 -d{seconds}s, a second process on loopback)",
                if cached { "API, as served (cache)" } else { "API, uncached" },
                "req/s",
                "p50 ms",
                "p99 ms"
            );
            for (name, u) in cases {
                let (rps, p50, p99) = tokio::task::spawn_blocking(move || wrk(&u, seconds)).await.unwrap();
                println!("{name:<32} {rps:>9.0} {p50:>9.2} {p99:>9.2}");
            }
        }
    });
}
