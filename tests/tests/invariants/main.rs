//! Action-sequence fuzzer over the real program (solana-program-test's bank; the SBF `.so` with
//! `PERP_SBF=1`): random sequences of deposits, withdrawals, orders (cross, isolated, reduce-only,
//! limits, by delegates), oracle moves and feed failures (stale, outlier, missing, wide
//! confidence), SOL collateral (deposits, withdrawals, price moves, collateral sales), clock warps,
//! funding cranks, settlements, liquidations, ADL rounds (begin, scan,
//! honest and out-of-order steps), bankruptcy resolution, admin changes and pauses, over four
//! thin-margin traders, a liquidator and two markets. Every invariant of docs/invariants.md is
//! checked after EVERY step; a failing sequence is shrunk by proptest to a minimal one and its
//! seed saved under tests/tests/proptest-regressions/ (replayed first on every run).
//!
//! Budget: `PERP_FUZZ_CASES` sequences (default 300) of up to `PERP_FUZZ_STEPS` actions (default
//! 80), about a minute natively. Long run: `PERP_FUZZ_CASES=5000 cargo test --release -p perp-tests --test invariants -- --nocapture`.

mod checks;
mod exec;
mod model;
mod orders;
mod world;

use exec::Outcome;
use model::Action;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Per action kind: (succeeded or environment, failed).
    pub kinds: BTreeMap<String, (u64, u64)>,
    /// Failures by error name.
    pub errors: BTreeMap<String, u64>,
    pub sequences: u64,
    pub actions: u64,
    pub env_actions: u64,
    pub tx_ok: u64,
    pub tx_failed: u64,
    pub unchanged_checks: u64,
    pub funding_events: u64,
    pub liquidations: u64,
    pub bankruptcies: u64,
    pub adl_steps: u64,
    pub bankruptcies_resolved: u64,
    pub round_trips: u64,
    pub repegs: u64,
    pub order_fills: u64,
    pub collateral_sales: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.sequences += o.sequences;
        self.actions += o.actions;
        self.env_actions += o.env_actions;
        self.tx_ok += o.tx_ok;
        self.tx_failed += o.tx_failed;
        self.unchanged_checks += o.unchanged_checks;
        self.funding_events += o.funding_events;
        self.liquidations += o.liquidations;
        self.bankruptcies += o.bankruptcies;
        self.adl_steps += o.adl_steps;
        self.bankruptcies_resolved += o.bankruptcies_resolved;
        self.round_trips += o.round_trips;
        self.repegs += o.repegs;
        self.order_fills += o.order_fills;
        self.collateral_sales += o.collateral_sales;
        for (k, v) in &o.kinds {
            let e = self.kinds.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

static TOTAL: Mutex<Option<Stats>> = Mutex::new(None);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs one sequence from a fresh world, checking every invariant after every step.
fn run(seq: &[Action]) -> Stats {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut fz = world::Fz::new().await;
        fz.check_all().await;
        for a in seq {
            let before = if is_tx(a) { Some(fz.snapshot().await) } else { None };
            let out = fz.apply(a).await;
            fz.stats.actions += 1;
            let kind = format!("{a:?}").split([' ', '{']).next().unwrap_or("").to_string();
            let e = fz.stats.kinds.entry(kind).or_default();
            if matches!(out, Outcome::Err(_)) {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
            if let Outcome::Err(c) = out {
                *fz.stats.errors.entry(error_name(c)).or_default() += 1;
            }
            match out {
                Outcome::Env => fz.stats.env_actions += 1,
                Outcome::Ok => fz.stats.tx_ok += 1,
                Outcome::Err(_) => {
                    fz.stats.tx_failed += 1;
                    // 2. a failed instruction changes nothing
                    if let Some(b) = before {
                        let after = fz.snapshot().await;
                        let keys = fz.watched();
                        for (i, (x, y)) in b.iter().zip(after.iter()).enumerate() {
                            assert!(
                                x == y,
                                "invariant_failed_changes_nothing: {:?} changed {} after {:?}",
                                a,
                                keys[i],
                                out
                            );
                        }
                        fz.stats.unchanged_checks += 1;
                    }
                }
            }
            fz.check_all().await;
            if std::env::var("PERP_FUZZ_TRACE").is_ok() {
                let pos: Vec<String> = fz
                    .accounts()
                    .await
                    .iter()
                    .enumerate()
                    .flat_map(|(i, (_, a))| {
                        a.positions
                            .iter()
                            .filter(|p| p.in_use())
                            .map(move |p| format!("u{i}:m{}:{}", p.market_index, p.base as f64 / 1e9))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                eprintln!("{a:?} -> {out:?} | prices {:?} | {}", fz.price, pos.join(" "));
            }
        }
        fz.stats.sequences = 1;
        fz.stats.clone()
    })
}

fn error_name(c: Option<u32>) -> String {
    match c {
        Some(c) if (6000..6000 + perp::error::ALL_ERRORS.len() as u32).contains(&c) => {
            format!("{:?}", perp::error::ALL_ERRORS[(c - 6000) as usize])
        }
        Some(c) => format!("code {c}"),
        None => "runtime".into(),
    }
}

fn is_tx(a: &Action) -> bool {
    // an ADL pass sends several transactions and checks each failed one itself
    !matches!(
        a,
        Action::Price { .. }
            | Action::Feed { .. }
            | Action::Warp { .. }
            | Action::AdlPass { .. }
            | Action::FillOrders { .. }
            | Action::SolPrice { .. }
    )
}

/// The fuzzer: random action sequences, every invariant after every step, shrinking on failure.
#[test]
fn invariant_action_sequences() {
    let cases = env_usize("PERP_FUZZ_CASES", 300) as u32;
    let steps = env_usize("PERP_FUZZ_STEPS", 80);
    let config = Config {
        cases,
        max_shrink_iters: 400,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    let result = runner.run(&model::sequence(steps), |seq| {
        let s = run(&seq);
        TOTAL.lock().unwrap().get_or_insert_with(Stats::default).add(&s);
        Ok(())
    });
    let t = TOTAL.lock().unwrap().clone().unwrap_or_default();
    let line = format!(
        "invariant_action_sequences: {} sequences, {} actions ({} transactions: {} ok, {} failed and checked unchanged; {} environment moves), {} funding events, {} liquidations, {} bankruptcies, {} ADL steps, {} bankruptcies fully resolved, {} round trips, {} repegs, {} order fills, {} collateral sales, {:.1} s",
        t.sequences,
        t.actions,
        t.tx_ok + t.tx_failed,
        t.tx_ok,
        t.unchanged_checks,
        t.env_actions,
        t.funding_events,
        t.liquidations,
        t.bankruptcies,
        t.adl_steps,
        t.bankruptcies_resolved,
        t.round_trips,
        t.repegs,
        t.order_fills,
        t.collateral_sales,
        started.elapsed().as_secs_f64()
    );
    let kinds: Vec<String> = t.kinds.iter().map(|(k, v)| format!("{k} {}/{}", v.0, v.0 + v.1)).collect();
    let mut errors: Vec<(&String, &u64)> = t.errors.iter().collect();
    errors.sort_by(|a, b| b.1.cmp(a.1));
    let errors: Vec<String> = errors.iter().take(12).map(|(k, v)| format!("{k} {v}")).collect();
    let line = format!(
        "{line}\n  succeeded/run per action: {}\n  most frequent refusals: {}",
        kinds.join(", "),
        errors.join(", ")
    );
    println!("{line}");
    summary(&line);
    if let Err(e) = result {
        panic!("{e}");
    }
    // a change that silently stops the fuzzer from reaching the hard paths fails (default budget)
    if cases >= 300 {
        assert!(t.liquidations > 0 && t.bankruptcies > 0, "the fuzzer reached no liquidation or bankruptcy: {line}");
        assert!(t.order_fills > 0, "the fuzzer filled no resting order: {line}");
    }
}

/// Appends the run's figures to `$CARGO_TARGET_DIR/perp-fuzz-summary.txt` (CI prints it).
fn summary(line: &str) {
    use std::io::Write;
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    if let Ok(mut f) =
        std::fs::OpenOptions::new().create(true).append(true).open(format!("{dir}/perp-fuzz-summary.txt"))
    {
        let sbf = if perp_client::bank::sbf_dir().is_some() { "sbf" } else { "native" };
        let _ = writeln!(f, "[{sbf}] {line}");
    }
}

/// Found by the fuzzer: a liquidation naming the same margin account as victim and liquidator
/// failed inside the runtime (AccountBorrowFailed) instead of with a program error.
#[tokio::test]
async fn regression_self_liquidation_same_account() {
    let mut w = perp_tests::world::world(0).await;
    let larry = perp_tests::world::clone_user(&w.larry);
    let i = w.liquidate_ix(&larry, larry.account, &larry, 0, 0).await;
    perp_tests::assert_error(w.env.send(&[i], &[&larry.kp]).await, perp::error::PerpError::SelfLiquidation);
}

/// A fixed sequence through a bankruptcy and an ADL pass (the paths random sequences reach
/// least often), with every invariant checked after every step.
#[test]
fn invariant_fixed_bankruptcy_sequence() {
    use model::{Action::*, Limit};
    let seq = [
        Order {
            u: 0,
            m: 0,
            long: true,
            milli: 2_000,
            iso: false,
            iso_usdc: 0,
            reduce: false,
            limit: Limit::None,
            delegate: false,
        },
        Order {
            u: 3,
            m: 0,
            long: false,
            milli: 500,
            iso: false,
            iso_usdc: 0,
            reduce: false,
            limit: Limit::None,
            delegate: false,
        },
        Price { m: 0, bps: -1_400 },
        Liquidate { v: 0, m: 0, milli: 0 },
        AdlPass { m: 0, honest: true, n: 1 },
        AdlPass { m: 0, honest: true, n: 1 },
        Warp { secs: 3_700 },
        Funding { m: 0 },
    ];
    let s = run(&seq);
    assert_eq!(s.bankruptcies, 1, "{s:?}");
}

/// The same crash in the pro-rata market (market 1): the bankruptcy, the round and its step, then
/// the winner touched, with every invariant (the haircut pool's included) checked after every step.
#[test]
fn invariant_fixed_pro_rata_sequence() {
    use model::{Action::*, Limit};
    let order = |u, long, milli| Order {
        u,
        m: 1,
        long,
        milli,
        iso: false,
        iso_usdc: 0,
        reduce: false,
        limit: Limit::None,
        delegate: false,
    };
    let seq = [
        order(0, true, 2_000),
        order(3, false, 500),
        Price { m: 1, bps: -1_400 },
        Liquidate { v: 0, m: 1, milli: 0 },
        AdlPass { m: 1, honest: true, n: 1 },
        AdlPass { m: 1, honest: true, n: 1 },
        Settle { u: 3 },
        Warp { secs: 3_700 },
        Funding { m: 1 },
    ];
    let s = run(&seq);
    assert_eq!((s.bankruptcies, s.bankruptcies_resolved), (1, 1), "{s:?}");
}

/// A fixed sequence through a collateral sale: the SOL-only trader (user 2) goes long, SOL falls
/// and holds there for its time-weighted window, and the liquidator buys SOL, with every invariant
/// checked after every step (the sale's exact amounts included).
#[test]
fn invariant_fixed_collateral_sale_sequence() {
    use model::{Action::*, Limit};
    let seq = [
        SolDeposit { u: 2, centi: 2_000 },
        Order {
            u: 2,
            m: 0,
            long: true,
            milli: 3_000,
            iso: false,
            iso_usdc: 0,
            reduce: false,
            limit: Limit::None,
            delegate: false,
        },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolPrice { bps: -2_500 },
        SolRefresh,
        Warp { secs: 120 },
        SolRefresh,
        SolLiquidate { v: 0 },
        Warp { secs: 60 },
        SolRefresh,
        SolLiquidate { v: 0 },
    ];
    let s = run(&seq);
    assert!(s.collateral_sales >= 1, "{s:?}");
}
