//! `perp simulate`: replays real market data through the real program in an in-process bank.
//!
//! Every price series drives its own Pyth account (legacy push and pull `PriceUpdateV2`
//! alternating), updated as its bars close. A deterministic population of traders (trend
//! followers at 2-50x, mean reverters, noise traders and an arbitrageur who trades the vAMM toward
//! the index) trades through the program; the keeper code cranks funding, liquidates and
//! deleverages. At the end: a summary, charts, and the conservation check.

use crate::charts::{line_chart, Line, Marker};
use crate::keeper::{Keeper, KeeperConfig, TickReport};
use crate::output::{CliError, Output};
use perp::instructions::{OrderParams, OrderSide};
use perp::state::{MarginAccount, MarketParams, OracleParams, TierParams};
use perp_client::bank::{BankChain, BankUser, Bootstrap, Conservation};
use perp_client::chain::{fetch_all_margin_accounts, fetch_exchange, fetch_market, Chain, SendOptions};
use perp_client::data::{repo_root, Series, DEFAULT_FILES};
use perp_client::preview::{account_health, index_view, market_state, MarketState};
use perp_client::{ix, oracle_data, Pubkey};
use perp_core::margin::{requirement, MarginKind, Tier};
use perp_core::{Base, Price, Quote};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

const USDC: i64 = 1_000_000;
const BTC: i64 = 1_000_000_000;

#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Price CSV files, each driving its own oracle (default: the 2023-03-10..13 BTC window).
    #[arg(long = "data", value_delimiter = ',')]
    pub data: Vec<PathBuf>,
    /// Number of traders (besides the arbitrageur).
    #[arg(long, default_value_t = 24)]
    pub traders: usize,
    /// Seed of the trader population.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Funding interval, seconds.
    #[arg(long, default_value_t = 3600)]
    pub funding_interval: i64,
    /// Output directory for the summary and charts.
    #[arg(long, default_value = "sim-out")]
    pub out: PathBuf,
    /// Insurance vault seed, USDC.
    #[arg(long, default_value = "50000")]
    pub insurance: String,
    /// vAMM depth (base reserve), BTC.
    #[arg(long, default_value = "10000")]
    pub depth: String,
    /// Replay only the first N minutes.
    #[arg(long)]
    pub minutes: Option<i64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub files: Vec<PathBuf>,
    pub traders: usize,
    pub seed: u64,
    pub funding_interval: i64,
    pub insurance: Quote,
    pub depth: Base,
    pub minutes: Option<i64>,
}

impl SimConfig {
    pub fn from_args(a: &SimArgs) -> Result<SimConfig, CliError> {
        let files = if a.data.is_empty() {
            let root = if std::path::Path::new(DEFAULT_FILES[0]).exists() { PathBuf::from(".") } else { repo_root() };
            DEFAULT_FILES.iter().map(|f| root.join(f)).collect()
        } else {
            a.data.clone()
        };
        if files.len() > 8 {
            return Err(CliError::input("at most 8 price files (a market has at most 8 oracles)".into()));
        }
        let insurance = Quote::parse(&a.insurance).map_err(|e| CliError::input(format!("--insurance: {e}")))?;
        let depth = Base::parse(&a.depth).map_err(|e| CliError::input(format!("--depth: {e}")))?;
        if insurance.is_negative() || depth.0 < 100 * BTC {
            return Err(CliError::input("--insurance must be >= 0 and --depth >= 100".into()));
        }
        if a.funding_interval < 60 || a.funding_interval > 7 * 86_400 {
            return Err(CliError::input("--funding-interval must be between 60 s and 7 days".into()));
        }
        if a.traders > 500 {
            return Err(CliError::input("--traders: at most 500".into()));
        }
        Ok(SimConfig {
            files,
            traders: a.traders,
            seed: a.seed,
            funding_interval: a.funding_interval,
            insurance,
            depth,
            minutes: a.minutes,
        })
    }
}

/// The simulated market: Binance-like BTC tiers, index over all feeds with a 3% deviation
/// filter, 10-minute staleness (5-minute bars), funding-basis mark.
pub fn sim_market_params(oracles: Vec<OracleParams>, funding_interval: i64) -> MarketParams {
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    MarketParams {
        name,
        min_sources: 3.min(oracles.len() as u8),
        oracles,
        max_age: 600,
        max_conf: 20_000_000,
        max_deviation: 30_000_000,
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 13,
        fallback_max_age: 900,
        funding_interval,
        sample_period: 60,
        interest: (100_000i64 * funding_interval / 28_800).max(1), // 0.01% per 8 h
        funding_clamp: 500_000,
        // Binance-style cap on |F|: 0.75% per 8 h, pro rata
        funding_cap: (7_500_000i64 * funding_interval / 28_800).max(1),
        mark_method: 0,
        tiers: vec![
            TierParams { cap: 50_000 * USDC, imr: 20_000_000, mmr: 10_000_000 },
            TierParams { cap: 250_000 * USDC, imr: 40_000_000, mmr: 20_000_000 },
            TierParams { cap: 1_000_000 * USDC, imr: 100_000_000, mmr: 50_000_000 },
            TierParams { cap: 10_000_000 * USDC, imr: 200_000_000, mmr: 100_000_000 },
            TierParams { cap: 50_000_000 * USDC, imr: 250_000_000, mmr: 125_000_000 },
        ],
        impact_notional: 20_000 * USDC,
        max_leverage: 50,
        taker_fee: 500_000,
        liquidation_fee: 5_000_000,
        liquidator_share: 500_000_000,
        liquidation_buffer: 100_000_000,
        min_position: 1_000_000,
        delegate_band: 10_000_000,
        withdraw_max_age: 600,
        repeg_budget: 0,
        repeg_threshold: 0,
    }
}

#[derive(Clone, Debug)]
enum Strategy {
    /// Long when the fast moving average is above the slow one, short below.
    Trend { fast: usize, slow: usize, leverage: i64 },
    /// Fades moves away from a moving average.
    MeanRevert { window: usize, threshold_bp: i64, leverage: i64 },
    /// Opens and closes small random positions.
    Noise { leverage: i64 },
    /// Takes a random side at the maximum leverage allowed and holds it (until liquidated or
    /// a take-profit of `take_profit_bp`).
    Degen { take_profit_bp: i64 },
    /// Trades the vAMM toward the index when they differ by more than 0.1%.
    Arb,
}

struct Trader {
    user: BankUser,
    strategy: Strategy,
}

/// Counts and totals of a run.
#[derive(Clone, Debug, Default)]
pub struct SimSummary {
    pub minutes: i64,
    pub trades: u64,
    pub rejected_orders: u64,
    /// Why orders were rejected, by program error name.
    pub rejections: BTreeMap<String, u64>,
    pub volume: Quote,
    pub fees: Quote,
    pub funding_events: u64,
    pub funding_paid: Quote,
    pub liquidations: u64,
    pub partial_liquidations: u64,
    pub insurance_in: Quote,
    pub insurance_out: Quote,
    pub insurance_end: Quote,
    pub bankruptcies: u64,
    pub adl_events: u64,
    pub bad_debt: Quote,
    pub keeper_failures: u64,
    pub keeper_failures_by_error: BTreeMap<String, u64>,
    pub wall_seconds: f64,
    pub conservation: Option<Conservation>,
}

/// Per-minute record for the charts.
#[derive(Clone, Debug, Default)]
struct Sample {
    t: i64,
    index: Option<f64>,
    feeds: Vec<Option<f64>>,
    mark: f64,
    vamm: f64,
    funding_rate: f64,
    oi_long: f64,
    oi_short: f64,
    insurance: f64,
}

pub struct SimResult {
    pub summary: SimSummary,
    samples: Vec<Sample>,
    liquidations: Vec<(i64, f64, String)>,
    adl: Vec<(i64, f64, String)>,
    feed_names: Vec<String>,
}

fn f(p: Price) -> f64 {
    p.0 as f64 / 1e6
}

fn ma(v: &[f64], n: usize) -> Option<f64> {
    (v.len() >= n && n > 0).then(|| v[v.len() - n..].iter().sum::<f64>() / n as f64)
}

/// Largest notional whose initial margin fits in `budget`.
fn max_notional(tiers: &[Tier], budget: Quote) -> Quote {
    let (mut lo, mut hi) = (0i64, 100_000_000 * USDC);
    while hi - lo > USDC {
        let mid = lo + (hi - lo) / 2;
        if requirement(tiers, Quote(mid), MarginKind::Initial).map(|r| r <= budget).unwrap_or(false) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Quote(lo)
}

struct Sim {
    boot: Bootstrap,
    keeper: Keeper<BankChain>,
    traders: Vec<Trader>,
    arb: Trader,
    series: Vec<Series>,
    oracles: Vec<Pubkey>,
    last_publish: Vec<i64>,
    rng: ChaCha8Rng,
    history: Vec<f64>,
    summary: SimSummary,
}

impl Sim {
    async fn new(cfg: &SimConfig) -> Result<(Sim, i64, i64), String> {
        let series: Vec<Series> = cfg.files.iter().map(|p| Series::load(p)).collect::<Result<_, _>>()?;
        if series.is_empty() {
            return Err("no price files".into());
        }
        let start = series.iter().map(|s| s.start()).min().unwrap_or(0);
        let end = series.iter().map(|s| s.end()).max().unwrap_or(0);
        let boot = Bootstrap::new(start, 200_000_000).await.map_err(|e| e.to_string())?;
        boot.chain.set_slot_per_send(false);
        let oracles: Vec<Pubkey> = series.iter().map(|_| Keypair::new().pubkey()).collect();
        let mut sim_oracles = Vec::new();
        // first prices: the first bar of each series, published at the start
        for (i, s) in series.iter().enumerate() {
            let pull = i % 2 == 1;
            let feed = [i as u8 + 1; 32];
            sim_oracles.push(if pull {
                OracleParams { kind: 2, key: oracles[i], feed_id: feed, weight: 1 }
            } else {
                OracleParams { kind: 1, key: oracles[i], feed_id: [0; 32], weight: 1 }
            });
            let b = &s.bars[0];
            write_oracle(&boot.chain, oracles[i], pull, feed, b.close, start);
        }
        let first: Vec<u64> = series.iter().map(|s| s.bars[0].close.0).collect();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        let peg = Price(sorted[sorted.len() / 2]);
        let params = sim_market_params(sim_oracles, cfg.funding_interval);
        boot.create_market(0, params, cfg.depth.0 as u128, peg).await.map_err(|e| e.to_string())?;

        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        if cfg.insurance.0 > 0 {
            let funder = boot.user(cfg.insurance.0 as u64, 0).await.map_err(|e| e.to_string())?;
            boot.chain
                .send(
                    &[ix::deposit_insurance(funder.key(), funder.token, 0, cfg.insurance.0 as u64)],
                    &[&funder.kp],
                    &SendOptions::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let arb_user =
            boot.user(40_000_000 * USDC as u64, 20_000_000 * USDC as u64).await.map_err(|e| e.to_string())?;
        let arb = Trader { user: arb_user, strategy: Strategy::Arb };
        let mut traders = Vec::new();
        for i in 0..cfg.traders {
            let deposit = rng.gen_range(2_000..=20_000) * USDC;
            let strategy = match i % 6 {
                5 => Strategy::Degen { take_profit_bp: rng.gen_range(100..=400) },
                0 | 1 => {
                    let fast = rng.gen_range(10..=60);
                    Strategy::Trend {
                        fast,
                        slow: fast * rng.gen_range(3..=8),
                        leverage: [2, 3, 5, 10, 20, 25, 50][rng.gen_range(0..7)],
                    }
                }
                2 => Strategy::MeanRevert {
                    window: rng.gen_range(30..=240),
                    threshold_bp: rng.gen_range(30..=150),
                    leverage: rng.gen_range(2..=10),
                },
                _ => Strategy::Noise { leverage: rng.gen_range(1..=5) },
            };
            let user = boot.user(deposit as u64 * 2, deposit as u64).await.map_err(|e| e.to_string())?;
            traders.push(Trader { user, strategy });
        }
        // the keeper takes liquidated positions over, so it carries collateral of its own
        let keeper_user =
            boot.user(5_000_000 * USDC as u64, 5_000_000 * USDC as u64).await.map_err(|e| e.to_string())?;
        boot.chain.fund(&keeper_user.key(), 100_000_000_000).await.map_err(|e| e.to_string())?;
        let keeper = Keeper::new(boot.chain.clone(), keeper_user.kp, KeeperConfig::default())
            .await
            .map_err(|e| e.to_string())?;
        let n = series.len();
        let sim = Sim {
            boot,
            keeper,
            traders,
            arb,
            series,
            oracles,
            last_publish: vec![start; n],
            rng,
            history: Vec::new(),
            summary: SimSummary::default(),
        };
        Ok((sim, start, end))
    }

    /// Puts each venue's latest closed bar into its oracle account.
    fn feed(&mut self, t: i64) -> Vec<Option<f64>> {
        let mut out = Vec::with_capacity(self.series.len());
        for (i, s) in self.series.iter().enumerate() {
            match s.latest(t) {
                Some(b) => {
                    if b.publish_time() != self.last_publish[i] {
                        self.last_publish[i] = b.publish_time();
                        write_oracle(
                            &self.boot.chain,
                            self.oracles[i],
                            i % 2 == 1,
                            [i as u8 + 1; 32],
                            b.close,
                            b.publish_time(),
                        );
                    }
                    out.push(Some(f(b.close)));
                }
                None => out.push(None),
            }
        }
        out
    }

    async fn order(
        &mut self,
        who: usize,
        side: OrderSide,
        size: i64,
        reduce_only: bool,
        m: &perp::state::Market,
        acct: &MarginAccount,
    ) -> bool {
        if size < 1_000_000 {
            return false;
        }
        let t = if who == usize::MAX { &self.arb } else { &self.traders[who] };
        let p = OrderParams {
            side,
            size: size as u64,
            limit_price: 0,
            reduce_only,
            isolated: false,
            isolated_collateral: 0,
        };
        let i = ix::place_market_order(
            t.user.key(),
            t.user.account,
            0,
            &ix::market_oracles(m),
            &ix::position_markets(acct, Some(0)),
            p,
        );
        match self.boot.chain.send(&[i], &[&t.user.kp], &SendOptions::default()).await {
            Ok(_) => {
                self.summary.trades += 1;
                true
            }
            Err(e) => {
                self.summary.rejected_orders += 1;
                let name = e.program_error_name().unwrap_or("other").to_string();
                *self.summary.rejections.entry(name).or_default() += 1;
                false
            }
        }
    }

    async fn traders_act(&mut self, state: &MarketState, accounts: &BTreeMap<Pubkey, MarginAccount>) {
        let m = state.market;
        let index = f(state.index);
        let tiers: Vec<Tier> = state.view.tiers().to_vec();
        let states = BTreeMap::from([(0u16, state.clone())]);
        // the arbitrageur keeps the vAMM near the index
        if let Some(acct) = accounts.get(&self.arb.user.account) {
            let vp = m.vamm().price().map(f).unwrap_or(index);
            if (vp - index).abs() / index > 0.001 {
                if let Ok(d) = m.vamm().size_to_price(state.index) {
                    let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
                    let acct = *acct;
                    self.order(usize::MAX, side, d.0.abs(), false, &m, &acct).await;
                }
            }
        }
        let fresh = fetch_market(&self.boot.chain, 0).await.unwrap_or(m);
        for i in 0..self.traders.len() {
            let Some(acct) = accounts.get(&self.traders[i].user.account).copied() else {
                continue;
            };
            if acct.is_bankrupt() {
                continue;
            }
            let pos = acct.find(0).map(|s| acct.positions[s].base).unwrap_or(0);
            let h = account_health(&acct, &states);
            let equity = h.cross.equity;
            if equity.0 < 200 * USDC && pos == 0 {
                continue; // busted
            }
            let target_notional = |lev: i64| -> Quote {
                let want = Quote(equity.0.max(0).saturating_mul(lev));
                want.min(max_notional(&tiers, Quote(equity.0 * 9 / 10)))
            };
            // size for a notional: base = notional / price
            let base_for = |q: Quote| -> i64 { ((q.0 as i128 * BTC as i128) / state.index.0.max(1) as i128) as i64 };
            let target: Option<i64> = match self.traders[i].strategy.clone() {
                Strategy::Trend { fast, slow, leverage } => match (ma(&self.history, fast), ma(&self.history, slow)) {
                    (Some(a), Some(b)) => {
                        let dir = if a > b { 1 } else { -1 };
                        if pos.signum() == dir {
                            None
                        } else {
                            Some(dir * base_for(target_notional(leverage)))
                        }
                    }
                    _ => None,
                },
                Strategy::MeanRevert { window, threshold_bp, leverage } => ma(&self.history, window).and_then(|avg| {
                    let dev_bp = ((index - avg) / avg * 10_000.0) as i64;
                    if dev_bp > threshold_bp && pos >= 0 {
                        Some(-base_for(target_notional(leverage)))
                    } else if dev_bp < -threshold_bp && pos <= 0 {
                        Some(base_for(target_notional(leverage)))
                    } else if dev_bp.abs() < threshold_bp / 3 && pos != 0 {
                        Some(0)
                    } else {
                        None
                    }
                }),
                Strategy::Noise { leverage } => {
                    let r: f64 = self.rng.gen();
                    if r < 0.01 {
                        let dir = if self.rng.gen_bool(0.5) { 1 } else { -1 };
                        Some(dir * base_for(target_notional(leverage)) / 4)
                    } else if r < 0.02 && pos != 0 {
                        Some(0)
                    } else {
                        None
                    }
                }
                Strategy::Degen { take_profit_bp } => {
                    if pos == 0 {
                        (self.rng.gen::<f64>() < 0.02).then(|| {
                            let dir = if self.rng.gen_bool(0.5) { 1 } else { -1 };
                            dir * base_for(target_notional(50))
                        })
                    } else {
                        let p = acct.positions[acct.find(0).unwrap_or(0)].state();
                        let gain_bp = p
                            .upnl(state.view.mark)
                            .map(|u| u.0 as i128 * 10_000 / p.entry_value().map(|e| e.0.max(1)).unwrap_or(1) as i128)
                            .unwrap_or(0);
                        (gain_bp as i64 > take_profit_bp).then_some(0)
                    }
                }
                Strategy::Arb => None,
            };
            let Some(target) = target else { continue };
            let delta = target - pos;
            if delta == 0 {
                continue;
            }
            let side = if delta > 0 { OrderSide::Long } else { OrderSide::Short };
            // close first when flipping, so the reduce never needs margin
            if pos != 0 && target.signum() != pos.signum() {
                let close_side = if pos > 0 { OrderSide::Short } else { OrderSide::Long };
                if !self.order(i, close_side, pos.abs(), true, &fresh, &acct).await {
                    continue;
                }
                if target != 0 {
                    let a2 = perp_client::chain::fetch_margin(&self.boot.chain, &self.traders[i].user.account)
                        .await
                        .unwrap_or(acct);
                    self.order(i, side, target.abs(), false, &fresh, &a2).await;
                }
            } else {
                self.order(i, side, delta.abs(), delta.signum() != target.signum(), &fresh, &acct).await;
            }
        }
    }
}

fn write_oracle(chain: &BankChain, key: Pubkey, pull: bool, feed: [u8; 32], price: Price, publish: i64) {
    let conf = Price(price.0 / 2_000); // 0.05%
    if pull {
        chain.set_account(
            key,
            oracle_data::PYTH_RECEIVER_PROGRAM,
            oracle_data::pull_account(feed, price, conf, publish, true),
        );
    } else {
        chain.set_account(
            key,
            oracle_data::PYTH_LEGACY_PROGRAM,
            oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, price, conf, publish),
        );
    }
}

/// Runs the replay. `progress` is called with (minutes done, minutes total).
pub async fn simulate(cfg: &SimConfig, mut progress: impl FnMut(i64, i64)) -> Result<SimResult, String> {
    let wall = Instant::now();
    let (mut sim, start, end) = Sim::new(cfg).await?;
    let mut t = start + 60;
    let last = match cfg.minutes {
        Some(n) => (start + 60 * n).min(end),
        None => end,
    };
    let total = (last - start) / 60;
    let mut samples = Vec::with_capacity(total as usize + 1);
    let mut liq_marks = Vec::new();
    let mut adl_marks = Vec::new();
    let mut last_funding_time = 0i64;
    let mut funding_paid_before = 0i64;
    let m0 = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
    let insurance_in0 = m0.insurance_total_in;
    let ex = fetch_exchange(&sim.boot.chain).await.map_err(|e| e.to_string())?;
    while t <= last {
        sim.boot.chain.set_time(t).await;
        sim.boot.chain.next_slot().await;
        let feeds = sim.feed(t);
        let report: TickReport = match sim.keeper.tick().await {
            Ok(r) => r,
            Err(e) => return Err(format!("keeper at {t}: {e}")),
        };
        // market state after the crank
        let m = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
        let oracles = perp_client::chain::fetch_oracles(&sim.boot.chain, &m).await.map_err(|e| e.to_string())?;
        let iv = index_view(&m, &ex, &oracles, t);
        let state = market_state(&m, &iv, t);
        if let Some(st) = &state {
            sim.history.push(f(st.index));
        }
        for (k, _, base, partial) in &report.liquidated {
            let px = state.as_ref().map(|s| f(s.view.mark)).unwrap_or(0.0);
            liq_marks.push((
                t,
                px,
                format!("liquidation: {} {} BTC{}", k, *base as f64 / 1e9, if *partial { " (partial)" } else { "" }),
            ));
        }
        for (k, _) in &report.bankrupt_marked {
            let px = state.as_ref().map(|s| f(s.view.mark)).unwrap_or(0.0);
            adl_marks.push((t, px, format!("bankruptcy/ADL: {k}")));
        }
        if m.last_funding_time != last_funding_time && m.last_funding_time >= start + 60 {
            last_funding_time = m.last_funding_time;
            sim.summary.funding_events += 1;
        }
        if let Some(st) = &state {
            if st.live {
                let accounts: BTreeMap<Pubkey, MarginAccount> =
                    fetch_all_margin_accounts(&sim.boot.chain).await.map_err(|e| e.to_string())?.into_iter().collect();
                sim.traders_act(st, &accounts).await;
            }
        }
        let m2 = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
        samples.push(Sample {
            t,
            index: state.as_ref().filter(|s| s.live).map(|s| f(s.index)),
            feeds,
            mark: state.as_ref().map(|s| f(s.view.mark)).unwrap_or(f64::NAN),
            vamm: m2.vamm().price().map(f).unwrap_or(f64::NAN),
            funding_rate: m2.last_funding_rate as f64 / 1e9 * 100.0,
            oi_long: m2.oi_long as f64 / 1e9,
            oi_short: m2.oi_short as f64 / 1e9,
            insurance: m2.insurance_fund as f64 / 1e6,
        });
        progress((t - start) / 60, total);
        t += 60;
    }
    // totals
    let m = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
    let accounts = fetch_all_margin_accounts(&sim.boot.chain).await.map_err(|e| e.to_string())?;
    for (_, a) in &accounts {
        funding_paid_before += a.funding_paid.max(0);
    }
    let s = &mut sim.summary;
    s.minutes = total;
    s.volume = Quote(i64::try_from(m.total_volume.get()).unwrap_or(i64::MAX));
    s.fees = Quote(m.total_fees);
    s.funding_paid = Quote(funding_paid_before);
    s.liquidations = sim.keeper.counters.liquidations;
    s.partial_liquidations = sim.keeper.counters.partial_liquidations;
    s.insurance_in = Quote((m.insurance_total_in - insurance_in0) as i64);
    s.insurance_out = Quote(m.insurance_total_out as i64);
    s.insurance_end = Quote(m.insurance_fund);
    s.bankruptcies = sim.keeper.counters.bankruptcies_marked;
    s.adl_events = sim.keeper.counters.adl_steps;
    s.bad_debt = Quote(m.socialized_loss);
    s.keeper_failures = sim.keeper.counters.tx_failures;
    s.keeper_failures_by_error = sim.keeper.counters.failures_by_error.clone();
    s.conservation = Some(sim.boot.conservation().await.map_err(|e| e.to_string())?);
    s.wall_seconds = wall.elapsed().as_secs_f64();
    let feed_names = sim.series.iter().map(|x| x.name.split("_20").next().unwrap_or(&x.name).to_string()).collect();
    Ok(SimResult { summary: sim.summary, samples, liquidations: liq_marks, adl: adl_marks, feed_names })
}

const COLORS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

impl SimResult {
    pub fn summary_json(&self) -> Value {
        let s = &self.summary;
        let c = s.conservation.unwrap_or(Conservation {
            collateral_vault: 0,
            ledgers: 0,
            insurance_vault: 0,
            insurance_ledger: 0,
        });
        json!({
            "conservation": if c.holds() { "ok" } else { "FAILED" },
            "minutes": s.minutes,
            "trades": s.trades,
            "rejected_orders": s.rejected_orders,
            "rejected_by_reason": s.rejections.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            "volume": s.volume.to_string(),
            "fees": s.fees.to_string(),
            "funding_events": s.funding_events,
            "funding_paid": s.funding_paid.to_string(),
            "liquidations": s.liquidations,
            "partial_liquidations": s.partial_liquidations,
            "insurance_in": s.insurance_in.to_string(),
            "insurance_out": s.insurance_out.to_string(),
            "insurance_end": s.insurance_end.to_string(),
            "bankruptcies": s.bankruptcies,
            "adl_events": s.adl_events,
            "bad_debt": s.bad_debt.to_string(),
            "keeper_failed_transactions": s.keeper_failures,
            "keeper_failed_by_reason": s.keeper_failures_by_error.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            "collateral_vault": Quote(c.collateral_vault as i64).to_string(),
            "ledgers": Quote(c.ledgers as i64).to_string(),
            "insurance_vault": Quote(c.insurance_vault as i64).to_string(),
            "insurance_ledger": Quote(c.insurance_ledger as i64).to_string(),
            "wall_seconds": format!("{:.1}", s.wall_seconds),
        })
    }

    /// Writes the charts (SVG), the summary (JSON and text) and an HTML page showing them.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let pts =
            |g: &dyn Fn(&Sample) -> f64| -> Vec<(i64, f64)> { self.samples.iter().map(|s| (s.t, g(s))).collect() };
        let mut price_lines = Vec::new();
        for (i, name) in self.feed_names.iter().enumerate() {
            price_lines
                .push(Line::new(name, COLORS[i % COLORS.len()], pts(&|s| s.feeds[i].unwrap_or(f64::NAN))).thin());
        }
        price_lines.push(Line::new("index", "#000000", pts(&|s| s.index.unwrap_or(f64::NAN))));
        price_lines.push(Line::new("mark", "#d62728", pts(&|s| s.mark)));
        price_lines.push(Line::new("vAMM", "#7f7f7f", pts(&|s| s.vamm)).thin());
        let mut markers: Vec<Marker> = self
            .liquidations
            .iter()
            .map(|(t, v, l)| Marker { t: *t, v: *v, color: "#d62728", shape: "circle", label: l.clone() })
            .collect();
        markers.extend(self.adl.iter().map(|(t, v, l)| Marker {
            t: *t,
            v: *v,
            color: "#6a0dad",
            shape: "triangle",
            label: l.clone(),
        }));
        let charts = [
            (
                "prices.svg",
                line_chart(
                    "BTC-PERP: index vs each feed vs mark vs vAMM (liquidations, ADL)",
                    "USD",
                    &price_lines,
                    &markers,
                    false,
                ),
            ),
            (
                "funding.svg",
                line_chart(
                    "Funding rate per interval",
                    "% per interval",
                    &[Line::new("funding rate", "#1f77b4", pts(&|s| s.funding_rate)).steps()],
                    &[],
                    true,
                ),
            ),
            (
                "open_interest.svg",
                line_chart(
                    "Open interest",
                    "BTC",
                    &[
                        Line::new("long", "#2ca02c", pts(&|s| s.oi_long)),
                        Line::new("short", "#d62728", pts(&|s| s.oi_short)),
                    ],
                    &[],
                    false,
                ),
            ),
            (
                "insurance.svg",
                line_chart(
                    "Insurance vault (liquidations, ADL)",
                    "USDC",
                    &[Line::new("insurance vault", "#9467bd", pts(&|s| s.insurance))],
                    &self
                        .liquidations
                        .iter()
                        .filter_map(|(t, _, l)| {
                            self.samples.iter().find(|s| s.t == *t).map(|s| Marker {
                                t: *t,
                                v: s.insurance,
                                color: "#d62728",
                                shape: "circle",
                                label: l.clone(),
                            })
                        })
                        .chain(self.adl.iter().filter_map(|(t, _, l)| {
                            self.samples.iter().find(|s| s.t == *t).map(|s| Marker {
                                t: *t,
                                v: s.insurance,
                                color: "#6a0dad",
                                shape: "triangle",
                                label: l.clone(),
                            })
                        }))
                        .collect::<Vec<_>>(),
                    false,
                ),
            ),
        ];
        for (name, svg) in &charts {
            let p = dir.join(name);
            std::fs::write(&p, svg)?;
            written.push(p);
        }
        let summary = self.summary_json();
        let p = dir.join("summary.json");
        std::fs::write(&p, serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n")?;
        written.push(p);
        let table = summary_table(&summary);
        let p = dir.join("summary.txt");
        std::fs::write(&p, &table)?;
        written.push(p);
        let mut html = String::from("<!doctype html><meta charset=utf-8><title>perp simulate</title><body style=\"font-family:sans-serif\"><h1>perp simulate</h1><pre>");
        html.push_str(&table);
        html.push_str("</pre>");
        for (name, _) in &charts {
            html.push_str(&format!("<p><img src=\"{name}\" style=\"max-width:100%\"></p>"));
        }
        let p = dir.join("index.html");
        std::fs::write(&p, html)?;
        written.push(p);
        Ok(written)
    }
}

/// The summary as an aligned two-column table.
pub fn summary_table(v: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(m) = v {
        let w = m.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, val) in m {
            let s = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k:<w$}  {s}\n"));
        }
    }
    out
}

/// While alive, the process's standard output goes to /dev/null: the program runs in this
/// process and its `msg!` logs are `println!` off-chain, which would corrupt the summary (and
/// `--json`). Restored on drop.
struct MuteStdout {
    #[cfg(unix)]
    saved: i32,
}

impl MuteStdout {
    fn new() -> MuteStdout {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        {
            // SAFETY: plain POSIX descriptor calls on fd 1 and a descriptor we open and own
            unsafe {
                let saved = libc::dup(1);
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if saved >= 0 && null >= 0 {
                    libc::dup2(null, 1);
                    libc::close(null);
                }
                MuteStdout { saved }
            }
        }
        #[cfg(not(unix))]
        MuteStdout {}
    }
}

impl Drop for MuteStdout {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        // SAFETY: restores the descriptor saved in `new`
        unsafe {
            if self.saved >= 0 {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
        }
    }
}

/// `perp simulate`: runs, prints the summary, writes the files; fails (exit 1) if conservation fails.
pub fn run_cli(a: &SimArgs) -> Result<Output, CliError> {
    // solana-program-test logs every instruction at debug level unless told otherwise
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let cfg = SimConfig::from_args(a)?;
    for p in &cfg.files {
        if !p.exists() {
            return Err(CliError::input(format!("price file {} not found", p.display())));
        }
    }
    let bar = if a.quiet {
        None
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replaying [{bar:40}] {pos}/{len} min  {elapsed_precise}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Some(b)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed { message: e.to_string(), details: None })?;
    let mute = MuteStdout::new();
    let result = rt
        .block_on(simulate(&cfg, |done, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        }))
        .map_err(|e| CliError::Failed { message: format!("simulation failed: {e}"), details: None })?;
    drop(mute);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let files = result
        .write(&a.out)
        .map_err(|e| CliError::Failed { message: format!("writing {}: {e}", a.out.display()), details: None })?;
    let mut summary = result.summary_json();
    summary["files"] = json!(files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>());
    let ok = result.summary.conservation.map(|c| c.holds()).unwrap_or(false);
    if !ok {
        return Err(CliError::Failed {
            message: "conservation check FAILED: vault balances differ from the ledgers".into(),
            details: Some(summary),
        });
    }
    Ok(Output::new("conservation", summary))
}
