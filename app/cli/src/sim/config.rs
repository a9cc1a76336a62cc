//! What a replay runs: the command-line arguments, the named scenarios and the market they trade.

use crate::output::CliError;
use perp::state::{MarketParams, OracleParams, TierParams};
use perp_client::data::{repo_root, DEFAULT_FILES};
use perp_core::haircut::AdlPolicy;
use perp_core::{Base, Quote};
use std::path::PathBuf;

pub(super) const USDC: i64 = 1_000_000;
pub(super) const BTC: i64 = 1_000_000_000;

#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Price CSV files, each driving its own oracle (default: the 2023-03-10..13 BTC window).
    #[arg(long = "data", value_delimiter = ',')]
    pub data: Vec<PathBuf>,
    /// A named set of the settings below: default, no-arb (no arbitrageur, the vAMM follows the
    /// index by repegs alone) or stress (keeper outages and latency, a feed outage, a thin
    /// insurance fund, a high-leverage population). Flags given explicitly override it.
    #[arg(long, default_value = "default")]
    pub scenario: String,
    /// Number of traders (besides the arbitrageur).
    #[arg(long)]
    pub traders: Option<usize>,
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
    #[arg(long)]
    pub insurance: Option<String>,
    /// vAMM depth (base reserve), BTC.
    #[arg(long)]
    pub depth: Option<String>,
    /// Replay only the first N minutes.
    #[arg(long)]
    pub minutes: Option<i64>,
    /// Replay N days: the data repeats (each repetition scaled to continue from the last price).
    #[arg(long)]
    pub days: Option<i64>,
    /// No arbitrageur trading the vAMM toward the index.
    #[arg(long)]
    pub no_arb: bool,
    /// Repeg budget: the share of the fee pool a funding interval's repegs may spend (0 = off).
    #[arg(long)]
    pub repeg_budget: Option<String>,
    /// Repeg threshold: the vAMM/index gap that starts a repeg, basis points.
    #[arg(long)]
    pub repeg_threshold_bps: Option<i64>,
    /// The keeper runs every N minutes (latency).
    #[arg(long)]
    pub keeper_every: Option<i64>,
    /// Keeper outage windows, minutes from the start: `FROM-TO` (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub keeper_outage: Vec<String>,
    /// Oracle outage windows (no feed publishes), minutes from the start: `FROM-TO`.
    #[arg(long, value_delimiter = ',')]
    pub feed_outage: Vec<String>,
    /// Trader leverage mix: normal (2-50x) or high (most traders at 25-50x).
    #[arg(long)]
    pub leverage: Option<String>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The market's ADL policy: ranked, pro-rata, or both (two replays on the same seed, compared
    /// side by side). Default: both for the stress scenario, ranked otherwise.
    #[arg(long)]
    pub adl_policy: Option<String>,
    /// Also write the replay's events into the indexer's database (`postgres://...` or a SQLite
    /// file), through the indexer's code; runs the SBF build of the program (scripts/build-sbf).
    #[arg(long)]
    pub db: Option<String>,
}

/// A named scenario's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Default,
    NoArb,
    Stress,
    Collateral,
}

impl Scenario {
    pub fn parse(s: &str) -> Result<Scenario, String> {
        match s {
            "default" => Ok(Scenario::Default),
            "no-arb" => Ok(Scenario::NoArb),
            "stress" => Ok(Scenario::Stress),
            "collateral" => Ok(Scenario::Collateral),
            _ => Err(format!("unknown scenario '{s}' (default, no-arb, stress, collateral)")),
        }
    }
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
    /// Replay length in days; the data repeats when it is shorter.
    pub days: Option<i64>,
    pub arbitrageur: bool,
    /// `MarketParams::repeg_budget` (fraction of the fee pool per interval, 1e9 = 100%).
    pub repeg_budget: i64,
    /// `MarketParams::repeg_threshold` (1e9 = 100%).
    pub repeg_threshold: i64,
    pub keeper_every: i64,
    pub keeper_outages: Vec<(i64, i64)>,
    pub feed_outages: Vec<(i64, i64)>,
    pub high_leverage: bool,
    /// The exchange's share of trading fees paid into the insurance fund (1e9 = 100%).
    pub insurance_fee_share: i64,
    /// The collateral scenario: `(USD-quoted, USDC-quoted)` series pairs whose ratio prices USDC,
    /// and the number of USDC-backed and of wBTC-backed traders (each).
    pub collateral: Option<(Vec<(PathBuf, PathBuf)>, usize)>,
    /// `--db`: the indexer's database the replay's events go to.
    pub db: Option<String>,
    /// The ADL policy this replay's market runs.
    pub adl_policy: AdlPolicy,
    /// The policies `perp simulate` replays, in order (the first writes to `--out`, each other
    /// to a subdirectory named after it).
    pub adl_policies: Vec<AdlPolicy>,
}

impl SimConfig {
    /// A scenario's settings over `files`.
    pub fn scenario(s: Scenario, files: Vec<PathBuf>) -> SimConfig {
        let base = SimConfig {
            files,
            traders: 24,
            seed: 7,
            funding_interval: 3600,
            insurance: Quote(50_000 * USDC),
            depth: Base(10_000 * BTC),
            minutes: None,
            days: None,
            arbitrageur: true,
            repeg_budget: 0,
            repeg_threshold: 0,
            keeper_every: 1,
            keeper_outages: Vec::new(),
            feed_outages: Vec::new(),
            high_leverage: false,
            insurance_fee_share: 200_000_000,
            collateral: None,
            db: None,
            adl_policy: AdlPolicy::Ranked,
            adl_policies: vec![AdlPolicy::Ranked],
        };
        match s {
            Scenario::Default => base,
            // the vAMM follows the index by repegs alone: up to half the fee pool per funding
            // interval, from a 5 bps gap
            Scenario::NoArb => {
                SimConfig { arbitrageur: false, repeg_budget: 500_000_000, repeg_threshold: 500_000, ..base }
            }
            // the bundled weekend's two largest moves with the keeper away and the feeds dark:
            // minute 4,150-4,215 (+3.5% in an hour, no feed publishes) and minute 5,150-5,240
            // (+6.7% in an hour, keeper down); the keeper runs every 2 minutes otherwise; the
            // insurance fund starts at 2,000 USDC and gets no share of trading fees (only the
            // liquidation fees' share); most traders run 25-50x
            Scenario::Stress => SimConfig {
                traders: 48,
                insurance: Quote(2_000 * USDC),
                insurance_fee_share: 0,
                keeper_every: 2,
                keeper_outages: vec![(5_150, 5_240)],
                feed_outages: vec![(4_150, 4_215)],
                high_leverage: true,
                adl_policies: vec![AdlPolicy::Ranked, AdlPolicy::ProRata],
                ..base
            },
            // settles in USD: the index reads the USD-quoted series (Binance.US 1 m, Kraken 5 m);
            // USDC is priced by BTCUSD / BTCUSDC on each venue, wBTC by the index's own oracles
            Scenario::Collateral => {
                let pick = |name: &str| base.files.iter().find(|p| p.to_string_lossy().contains(name)).cloned();
                let usd = [pick("binanceus_BTCUSD_1m"), pick("kraken_XBTUSD_5m")];
                let usdc = [pick("binanceus_BTCUSDC_1m"), pick("kraken_XBTUSDC_5m")];
                let pairs: Vec<(PathBuf, PathBuf)> =
                    usd.iter().zip(usdc.iter()).filter_map(|(a, b)| Some((a.clone()?, b.clone()?))).collect();
                SimConfig {
                    files: usd.iter().flatten().cloned().collect(),
                    traders: 12,
                    collateral: Some((pairs, 16)),
                    ..base
                }
            }
        }
    }

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
        let scenario = Scenario::parse(&a.scenario).map_err(|e| CliError::input(format!("--scenario: {e}")))?;
        if scenario == Scenario::Collateral && !a.data.is_empty() {
            return Err(CliError::input("--scenario collateral replays the bundled files: leave out --data".into()));
        }
        let mut c = SimConfig::scenario(scenario, files);
        if c.collateral.as_ref().is_some_and(|(p, _)| p.is_empty()) {
            return Err(CliError::input(
                "--scenario collateral: the bundled BTCUSD and BTCUSDC files are missing".into(),
            ));
        }
        c.seed = a.seed;
        c.funding_interval = a.funding_interval;
        c.minutes = a.minutes;
        c.days = a.days;
        if let Some(n) = a.traders {
            c.traders = n;
        }
        if let Some(s) = &a.insurance {
            c.insurance = Quote::parse(s).map_err(|e| CliError::input(format!("--insurance: {e}")))?;
        }
        if let Some(s) = &a.depth {
            c.depth = Base::parse(s).map_err(|e| CliError::input(format!("--depth: {e}")))?;
        }
        if a.no_arb {
            c.arbitrageur = false;
        }
        if let Some(s) = &a.repeg_budget {
            let r = perp_core::Rate::parse(s).map_err(|e| CliError::input(format!("--repeg-budget: {e}")))?;
            if r.0 < 0 || r.0 > 500_000_000 {
                return Err(CliError::input("--repeg-budget must be between 0 and 0.5".into()));
            }
            c.repeg_budget = r.0;
        }
        if let Some(bps) = a.repeg_threshold_bps {
            if !(0..=5_000).contains(&bps) {
                return Err(CliError::input("--repeg-threshold-bps must be between 0 and 5000".into()));
            }
            c.repeg_threshold = bps * 100_000;
        }
        if let Some(n) = a.keeper_every {
            c.keeper_every = n;
        }
        if !a.keeper_outage.is_empty() {
            c.keeper_outages = windows(&a.keeper_outage, "--keeper-outage")?;
        }
        if !a.feed_outage.is_empty() {
            c.feed_outages = windows(&a.feed_outage, "--feed-outage")?;
        }
        match a.leverage.as_deref() {
            None => {}
            Some("normal") => c.high_leverage = false,
            Some("high") => c.high_leverage = true,
            Some(o) => return Err(CliError::input(format!("--leverage: '{o}' (normal or high)"))),
        }
        c.db = a.db.clone();
        match a.adl_policy.as_deref() {
            None => {}
            Some("ranked") => c.adl_policies = vec![AdlPolicy::Ranked],
            Some("pro-rata") => c.adl_policies = vec![AdlPolicy::ProRata],
            Some("both") => c.adl_policies = vec![AdlPolicy::Ranked, AdlPolicy::ProRata],
            Some(o) => return Err(CliError::input(format!("--adl-policy: '{o}' (ranked, pro-rata or both)"))),
        }
        c.adl_policy = c.adl_policies[0];
        c.check().map_err(CliError::input)?;
        Ok(c)
    }

    /// Rejects settings the replay cannot run.
    pub fn check(&self) -> Result<(), String> {
        if self.insurance.is_negative() || self.depth.0 < 100 * BTC {
            return Err("--insurance must be >= 0 and --depth >= 100".into());
        }
        if self.funding_interval < 60 || self.funding_interval > 7 * 86_400 {
            return Err("--funding-interval must be between 60 s and 7 days".into());
        }
        if self.traders > 500 {
            return Err("--traders: at most 500".into());
        }
        if !(1..=60).contains(&self.keeper_every) {
            return Err("--keeper-every must be between 1 and 60 minutes".into());
        }
        if self.minutes.is_some_and(|m| m < 1) || self.days.is_some_and(|d| !(1..=365).contains(&d)) {
            return Err("--minutes must be >= 1 and --days between 1 and 365".into());
        }
        if self.repeg_budget > 0 && self.repeg_threshold == 0 {
            return Err("a repeg budget needs --repeg-threshold-bps > 0".into());
        }
        Ok(())
    }
}

fn windows(v: &[String], flag: &str) -> Result<Vec<(i64, i64)>, CliError> {
    v.iter()
        .map(|w| {
            let (a, b) = w.split_once('-').ok_or_else(|| CliError::input(format!("{flag}: '{w}' is not FROM-TO")))?;
            let (a, b) = (a.trim().parse::<i64>(), b.trim().parse::<i64>());
            match (a, b) {
                (Ok(a), Ok(b)) if 0 <= a && a < b => Ok((a, b)),
                _ => Err(CliError::input(format!("{flag}: '{w}' must be FROM-TO minutes with FROM < TO"))),
            }
        })
        .collect()
}

/// The simulated market: Binance-like BTC tiers, index over all feeds with a 3% deviation
/// filter, 10-minute staleness (5-minute bars), funding-basis mark.
pub fn sim_market_params(oracles: Vec<OracleParams>, cfg: &SimConfig) -> MarketParams {
    let funding_interval = cfg.funding_interval;
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
        repeg_budget: cfg.repeg_budget,
        repeg_threshold: cfg.repeg_threshold,
        liquidation_max_conf: 5_000_000,
        max_ema_divergence: 10_000_000,
        max_oi_per_insurance: 0,
        filler_reward: 20_000,              // 0.02 USDC
        order_band: 10_000_000,             // 1%
        trigger_max_divergence: 20_000_000, // 2%
        adl_policy: cfg.adl_policy as u8,
    }
}
