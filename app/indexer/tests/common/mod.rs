//! The indexer's test fixtures: a throwaway PostgreSQL server (scripts/pg), fresh databases on
//! it or in SQLite files, and a hand-written session of events as transaction logs.
#![allow(dead_code)]

use anchor_lang::prelude::Pubkey;
use perp::events as ev;
use perp_client::events::{log_line, Event};
use perp_indexer::ingest::TxRecord;
use std::path::PathBuf;
use std::process::Command;

pub const T0: i64 = 1_764_583_200; // 2025-12-01 10:00:00 UTC
pub const USDC: i64 = 1_000_000;
pub const BTC: i64 = 1_000_000_000;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A PostgreSQL server for this test process: `PERP_TEST_PG` (a URL to a database the tests may
/// create databases next to) or one started here with scripts/pg and stopped on drop.
pub struct Pg {
    base: String,
    dir: Option<PathBuf>,
    next: std::sync::atomic::AtomicU32,
}

impl Pg {
    pub fn start() -> Pg {
        if let Ok(url) = std::env::var("PERP_TEST_PG") {
            return Pg { base: url, dir: None, next: 0.into() };
        }
        let dir = std::env::temp_dir().join(format!("perp-indexer-pg-{}", std::process::id()));
        let port = free_port();
        let out = Command::new(repo().join("scripts/pg"))
            .args(["start", dir.to_str().unwrap(), &port.to_string()])
            .output()
            .expect("run scripts/pg");
        assert!(
            out.status.success(),
            "could not start a throwaway PostgreSQL server with scripts/pg: {}\n(install the server with `scripts/pg --packages`, or point PERP_TEST_PG at one)",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Pg { base, dir: Some(dir), next: 0.into() }
    }

    /// A fresh, empty database on the server.
    pub async fn database(&self) -> String {
        use sqlx::Connection;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        let mut c = sqlx::PgConnection::connect(&self.base).await.expect("connect to the test server");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut c).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
        let (head, _) = self.base.rsplit_once('/').unwrap();
        format!("{head}/{name}")
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = Command::new(repo().join("scripts/pg")).args(["stop", dir.to_str().unwrap()]).status();
            let _ = std::fs::remove_dir_all(dir);
            let _ = std::fs::remove_file(dir.with_extension("initdb.log"));
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh SQLite file.
pub fn sqlite() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let p = std::env::temp_dir().join(format!("perp-indexer-{}-{n}.db", std::process::id()));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
    }
    p.display().to_string()
}

/// A transaction of the program emitting `events`.
pub fn tx(sig: &str, slot: u64, time: i64, events: &[Event]) -> TxRecord {
    let mut logs = vec![format!("Program {} invoke [1]", perp::ID), "Program log: Instruction: Test".into()];
    logs.extend(events.iter().map(log_line));
    logs.push(format!("Program {} success", perp::ID));
    TxRecord { signature: sig.to_string(), slot, block_time: time, logs }
}

pub fn key(b: u8) -> Pubkey {
    Pubkey::new_from_array([b; 32])
}

pub fn usd(x: i64) -> u64 {
    (x * USDC) as u64
}

pub fn trade(seq: u64, acct: Pubkey, base: i64, price: i64, mark: i64, index: i64) -> Event {
    let quote = -base * price / 1_000; // base 10^-9 x price (whole USD) -> quote 10^-6
    Event::TradeExecuted(ev::TradeExecuted {
        seq,
        margin_account: acct,
        market_index: 0,
        base,
        quote,
        avg_price: usd(price),
        fee: quote.abs() / 2_000,
        insurance_fee: 0,
        realized_pnl: 0,
        new_base: base,
        new_quote_entry: quote,
        index_price: usd(index),
        mark_price: usd(mark),
        vamm_price: usd(mark),
        isolated: false,
        index_was_fallback: false,
        by_delegate: false,
    })
}

pub const A: u8 = 0xa1;
pub const B: u8 = 0xb2;

/// The session (hand-computed values in the tests):
/// - 10:00:00 market 0 "BTC-PERP" created (market #1)
/// - 10:00:01 / :02 accounts A and B created (#1) and fund 10,000 USDC (#2)
/// - 10:00:10 A buys 1 BTC at 65,000 (mark 65,010, index 65,000; market #2)
/// - 10:01:10 funding sample, index 65,100 (#3)
/// - 10:01:20 B sells 0.5 BTC at 65,200 (mark 65,190, index 65,150; #4)
/// - 11:00:00 funding: rate 10,000 (10^-9), mark 65,300 (#5); A pays 0.65 USDC (account #3)
/// - 11:01:40 A liquidated by B: 1 BTC at mark 60,000, index 60,050 (#6); B places an order (#3)
pub fn session() -> Vec<TxRecord> {
    let (a, b) = (key(A), key(B));
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    let created = |seq, acct: Pubkey, id| {
        Event::MarginAccountCreated(ev::MarginAccountCreated {
            seq,
            owner: key(id),
            margin_account: acct,
            account_id: 0,
        })
    };
    let deposit = |seq, acct| {
        Event::CollateralDeposited(ev::CollateralDeposited {
            seq,
            margin_account: acct,
            amount: usd(10_000),
            cross_collateral: 10_000 * USDC,
        })
    };
    vec![
        tx(
            "sig01",
            100,
            T0,
            &[Event::MarketCreated(ev::MarketCreated { seq: 1, market_index: 0, name, peg: 0, base_reserve: 0 })],
        ),
        tx("sig02", 101, T0 + 1, &[created(1, a, 1), deposit(2, a)]),
        tx("sig03", 102, T0 + 2, &[created(1, b, 2), deposit(2, b)]),
        tx("sig04", 110, T0 + 10, &[trade(2, a, BTC, 65_000, 65_010, 65_000)]),
        tx(
            "sig05",
            120,
            T0 + 70,
            &[Event::FundingSampled(ev::FundingSampled {
                seq: 3,
                market_index: 0,
                index_price: usd(65_100),
                impact_bid: 0,
                impact_ask: 0,
                premium: 0,
                seconds: 60,
            })],
        ),
        tx("sig06", 130, T0 + 80, &[trade(4, b, -BTC / 2, 65_200, 65_190, 65_150)]),
        tx(
            "sig07",
            200,
            T0 + 3_600,
            &[
                Event::FundingUpdated(ev::FundingUpdated {
                    seq: 5,
                    market_index: 0,
                    time: T0 + 3_600,
                    premium_index: 0,
                    rate: 10_000,
                    mark_price: usd(65_300),
                    delta_long: -650_000_000_000,
                    delta_short: 650_000_000_000,
                    amm_share: 0,
                    receiver_capped: false,
                    oi_long: BTC,
                    oi_short: BTC / 2,
                    next_funding_time: T0 + 7_200,
                }),
                Event::FundingSettled(ev::FundingSettled {
                    seq: 3,
                    margin_account: a,
                    market_index: 0,
                    payment: 650_000,
                }),
            ],
        ),
        tx(
            "sig08",
            210,
            T0 + 3_700,
            &[
                Event::LiquidationExecuted(ev::LiquidationExecuted {
                    seq: 6,
                    margin_account: a,
                    liquidator: b,
                    market_index: 0,
                    closed_base: BTC,
                    mark_price: usd(60_000),
                    index_price: usd(60_050),
                    realized_pnl: -5_000 * USDC,
                    liquidator_reward: 300 * USDC,
                    insurance_fee: 300 * USDC,
                    insurance_draw: 0,
                    remaining_base: 0,
                    isolated: false,
                    insurance_fund: 0,
                }),
                Event::OrderPlaced(ev::OrderPlaced {
                    seq: 3,
                    margin_account: b,
                    order_id: 1,
                    client_order_id: 18_000_000_000_000_000_000,
                    market_index: 0,
                    kind: 1,
                    side: 2,
                    size: (BTC / 2) as u64,
                    limit_price: usd(61_000),
                    trigger_price: 0,
                    max_slippage: 0,
                    reduce_only: true,
                    expiry: 0,
                    reward: 100_000,
                }),
            ],
        ),
    ]
}

/// A market event only: `MarketCreated` for market 0 (the benchmark's history has none otherwise).
pub fn market_created() -> Event {
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    Event::MarketCreated(ev::MarketCreated { seq: 1, market_index: 0, name, peg: 0, base_reserve: 0 })
}
