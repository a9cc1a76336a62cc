//! `perp math ...`: the risk calculator. Every number goes through perp-core, the same code the
//! program runs; inputs and outputs are decimals in natural units.

use clap::{Args, Subcommand, ValueEnum};
use perp_core::adl::adl_score;
use perp_core::funding::{funding_rate, interest_per_interval, premium_sample, FundingParams, PremiumAccumulator};
use perp_core::index::{compute_index, IndexConfig, IndexMethod, SourceReading, MAX_SOURCES};
use perp_core::liquidation::{bankruptcy_price, liquidation_price};
use perp_core::margin::{
    requirement, tier_amount, tier_index, validate_tiers, MarginKind, PositionState, Tier, UNBOUNDED,
};
use perp_core::mark::{mark_funding_basis, mark_impact_median};
use perp_core::units::{parse_decimal, Decimal, RATE_PRECISION};
use perp_core::vamm::{Side, Vamm};
use perp_core::{Base, Price, Quote, Rate, Round};
use serde_json::{json, Map, Value};

use crate::output::{fail, CliError, Output};

#[derive(Subcommand, Debug)]
pub enum MathCmd {
    /// Index price from several sources with staleness, confidence and deviation filters.
    Index(IndexArgs),
    /// One premium sample from the impact prices and the index.
    Premium(PremiumArgs),
    /// Funding rate F = P + clamp(I - P, -clamp, clamp), optionally capped.
    Funding(FundingArgs),
    /// Mark price from the index and the funding basis (or the impact-price median).
    Mark(MarkArgs),
    /// Size-tiered initial and maintenance margin for a notional.
    MaintMargin(MarginArgs),
    /// Liquidation and bankruptcy price of an isolated position.
    LiqPrice(LiqArgs),
    /// ADL score of a profitable position.
    AdlScore(AdlArgs),
    /// Quote a trade and the impact prices on a constant-product vAMM.
    Vamm(VammArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum MethodArg {
    Median,
    Vwap,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// A source as PRICE[:CONF[:AGE_S[:VOLUME]]] (conf default 0, age 0 s, volume 1); repeat.
    #[arg(long = "source", required = true)]
    sources: Vec<String>,
    /// Largest |price - median| / median kept (fraction).
    #[arg(long, default_value = "0.05")]
    max_deviation: String,
    /// Largest conf / price kept (fraction).
    #[arg(long, default_value = "0.02")]
    max_conf: String,
    /// Oldest age kept, seconds.
    #[arg(long, default_value = "60")]
    max_age: String,
    /// Fewest surviving sources for a valid index.
    #[arg(long, default_value = "1")]
    min_sources: String,
    #[arg(long, value_enum, default_value = "median")]
    method: MethodArg,
}

#[derive(Args, Debug)]
pub struct PremiumArgs {
    #[arg(long)]
    index: String,
    #[arg(long)]
    impact_bid: String,
    #[arg(long)]
    impact_ask: String,
}

#[derive(Args, Debug)]
pub struct FundingArgs {
    /// Premium index P (fraction per interval). Or give --premium-samples.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "premium_samples")]
    premium: Option<String>,
    /// CSV file of `duration_s,premium` lines: P is their time-weighted mean.
    #[arg(long)]
    premium_samples: Option<std::path::PathBuf>,
    /// Interest component I per interval (fraction). Or give the annual rates and --interval.
    #[arg(long, allow_hyphen_values = true)]
    interest: Option<String>,
    /// Annual quote-currency rate (with --annual-base-rate and --interval instead of --interest).
    #[arg(long, allow_hyphen_values = true)]
    annual_quote_rate: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    annual_base_rate: Option<String>,
    /// Funding interval, seconds (for annual rates).
    #[arg(long)]
    interval: Option<String>,
    /// Symmetric clamp on I - P (fraction).
    #[arg(long)]
    clamp: String,
    /// Absolute cap on |F| (fraction).
    #[arg(long)]
    cap: Option<String>,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum MarkMethodArg {
    FundingBasis,
    ImpactMedian,
}

#[derive(Args, Debug)]
pub struct MarkArgs {
    #[arg(long)]
    index: String,
    /// Current funding rate per interval (fraction).
    #[arg(long, allow_hyphen_values = true, default_value = "0")]
    funding_rate: String,
    /// Seconds until the next funding.
    #[arg(long, default_value = "0")]
    time_to_funding: String,
    /// Funding interval, seconds.
    #[arg(long, default_value = "3600")]
    interval: String,
    #[arg(long, value_enum, default_value = "funding-basis")]
    method: MarkMethodArg,
    #[arg(long)]
    impact_bid: Option<String>,
    #[arg(long)]
    impact_ask: Option<String>,
}

#[derive(Args, Debug)]
pub struct MarginArgs {
    /// Position notional, quote.
    #[arg(long)]
    notional: String,
    /// A tier as CAP:IMR:MMR (CAP in quote, `inf` for the last); repeat in increasing order.
    #[arg(long = "tier", required = true)]
    tiers: Vec<String>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum SideArg {
    Long,
    Short,
}

#[derive(Args, Debug)]
pub struct LiqArgs {
    #[arg(long, value_enum)]
    side: SideArg,
    /// Position size in base units (positive).
    #[arg(long, allow_hyphen_values = true)]
    size: String,
    /// Average entry price.
    #[arg(long)]
    entry: String,
    /// Isolated collateral, quote (for cross: collateral plus the other positions' PnL minus their
    /// maintenance margin).
    #[arg(long, allow_hyphen_values = true)]
    collateral: String,
    #[arg(long = "tier", required = true)]
    tiers: Vec<String>,
    /// A listed-collateral holding beside the position, in whole tokens (then --collateral is the
    /// settlement balance, which may be negative).
    #[arg(long)]
    asset_amount: Option<String>,
    /// The holding's token decimals.
    #[arg(long, default_value_t = 8)]
    asset_decimals: u8,
    /// The holding's price now (ignored with --asset-tracks).
    #[arg(long)]
    asset_price: Option<String>,
    /// The holding's maintenance weight.
    #[arg(long, default_value = "0.9")]
    asset_weight: String,
    /// The holding is the market's own asset (wBTC for a BTC perp): it moves with the price.
    #[arg(long)]
    asset_tracks: bool,
}

#[derive(Args, Debug)]
pub struct AdlArgs {
    #[arg(long, allow_hyphen_values = true)]
    upnl: String,
    #[arg(long)]
    entry_value: String,
    #[arg(long)]
    maint_margin: String,
    #[arg(long)]
    position_value: String,
}

#[derive(Args, Debug)]
pub struct VammArgs {
    /// Base reserve in base units (depth).
    #[arg(long)]
    base_reserve: String,
    /// Peg (the starting price).
    #[arg(long)]
    peg: String,
    #[arg(long, value_enum)]
    side: Option<SideArg>,
    #[arg(long)]
    size: Option<String>,
    /// Impact notional, quote.
    #[arg(long)]
    impact_notional: Option<String>,
}

fn num<T>(name: &str, s: &str, f: impl Fn(&str) -> perp_core::CoreResult<T>) -> Result<T, CliError> {
    f(s).map_err(|e| CliError::input(format!("--{name} '{s}': {e}")))
}

fn price(name: &str, s: &str) -> Result<Price, CliError> {
    let p = num(name, s, Price::parse)?;
    if p.is_zero() {
        return Err(CliError::input(format!("--{name} '{s}': price must be positive")));
    }
    Ok(p)
}

fn fraction(name: &str, s: &str, lo: i64, hi: i64) -> Result<Rate, CliError> {
    let r = num(name, s, Rate::parse)?;
    if r.0 < lo || r.0 > hi {
        return Err(CliError::input(format!(
            "--{name} '{s}': must be between {} and {}",
            Decimal::new(lo as i128, 9),
            Decimal::new(hi as i128, 9)
        )));
    }
    Ok(r)
}

fn seconds(name: &str, s: &str, min: i64) -> Result<i64, CliError> {
    let v: i64 =
        s.trim().parse().map_err(|_| CliError::input(format!("--{name} '{s}': not a whole number of seconds")))?;
    if v < min {
        return Err(CliError::input(format!("--{name} '{s}': must be >= {min}")));
    }
    Ok(v)
}

fn positive_quote(name: &str, s: &str) -> Result<Quote, CliError> {
    let q = num(name, s, Quote::parse)?;
    if q.is_negative() {
        return Err(CliError::input(format!("--{name} '{s}': must not be negative")));
    }
    Ok(q)
}

/// Parses `CAP:IMR:MMR` tiers and validates them with perp-core's rules.
pub fn parse_tiers(specs: &[String]) -> Result<Vec<Tier>, CliError> {
    let mut tiers = Vec::new();
    for spec in specs {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() != 3 {
            return Err(CliError::input(format!("--tier '{spec}': expected CAP:IMR:MMR")));
        }
        let cap = if parts[0].eq_ignore_ascii_case("inf") { UNBOUNDED } else { positive_quote("tier", parts[0])? };
        tiers.push(Tier { cap, imr: num("tier", parts[1], Rate::parse)?, mmr: num("tier", parts[2], Rate::parse)? });
    }
    validate_tiers(&tiers).map_err(|e| CliError::input(e.to_string()))?;
    Ok(tiers)
}

fn s<T: std::fmt::Display>(v: T) -> Value {
    Value::String(v.to_string())
}

pub fn run(cmd: &MathCmd) -> Result<Output, CliError> {
    match cmd {
        MathCmd::Index(a) => index(a),
        MathCmd::Premium(a) => {
            let idx = price("index", &a.index)?;
            let bid = price("impact-bid", &a.impact_bid)?;
            let ask = price("impact-ask", &a.impact_ask)?;
            if bid > ask {
                return Err(CliError::input("--impact-bid must not be above --impact-ask".into()));
            }
            let p = premium_sample(idx, bid, ask).map_err(fail)?;
            Ok(Output::new("premium", json!({ "premium": s(p) })))
        }
        MathCmd::Funding(a) => funding(a),
        MathCmd::Mark(a) => mark(a),
        MathCmd::MaintMargin(a) => {
            let notional = positive_quote("notional", &a.notional)?;
            let tiers = parse_tiers(&a.tiers)?;
            let k = tier_index(&tiers, notional);
            let mm = requirement(&tiers, notional, MarginKind::Maintenance).map_err(fail)?;
            let im = requirement(&tiers, notional, MarginKind::Initial).map_err(fail)?;
            Ok(Output::new(
                "maintenance_margin",
                json!({
                    "maintenance_margin": s(mm),
                    "initial_margin": s(im),
                    "tier": k + 1,
                    "maintenance_amount": s(tier_amount(&tiers, k, MarginKind::Maintenance).map_err(fail)?),
                    "initial_amount": s(tier_amount(&tiers, k, MarginKind::Initial).map_err(fail)?),
                    "maintenance_rate": s(tiers[k].mmr),
                    "initial_rate": s(tiers[k].imr),
                }),
            ))
        }
        MathCmd::LiqPrice(a) => liq(a),
        MathCmd::AdlScore(a) => {
            let upnl = num("upnl", &a.upnl, Quote::parse)?;
            let ev = positive_quote("entry-value", &a.entry_value)?;
            let mm = positive_quote("maint-margin", &a.maint_margin)?;
            let pv = positive_quote("position-value", &a.position_value)?;
            if mm.is_zero() || pv.is_zero() {
                return Err(CliError::input("--maint-margin and --position-value must be > 0".into()));
            }
            let score = adl_score(upnl, ev, mm, pv).map_err(fail)?;
            Ok(Output::new(
                "adl_score",
                match score {
                    Some(sc) => json!({ "adl_score": s(sc), "candidate": true }),
                    None => json!({ "adl_score": "0", "candidate": false,
                                    "note": "not an ADL candidate: only profitable positions are deleveraged" }),
                },
            ))
        }
        MathCmd::Vamm(a) => vamm(a),
    }
}

fn index(a: &IndexArgs) -> Result<Output, CliError> {
    if a.sources.len() > MAX_SOURCES {
        return Err(CliError::input(format!("at most {MAX_SOURCES} sources")));
    }
    let cfg = IndexConfig {
        max_age: seconds("max-age", &a.max_age, 1)?,
        max_conf: fraction("max-conf", &a.max_conf, 1, RATE_PRECISION)?,
        max_deviation: fraction("max-deviation", &a.max_deviation, 1, RATE_PRECISION)?,
        min_sources: {
            let n = seconds("min-sources", &a.min_sources, 1)?;
            if n as usize > MAX_SOURCES {
                return Err(CliError::input(format!("--min-sources: at most {MAX_SOURCES}")));
            }
            n as u8
        },
        method: match a.method {
            MethodArg::Median => IndexMethod::Median,
            MethodArg::Vwap => IndexMethod::VolumeWeighted,
        },
    };
    let now: i64 = 1_000_000_000; // ages are given relative to now
    let mut readings = Vec::new();
    let mut echo = Vec::new();
    for spec in &a.sources {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.is_empty() || parts.len() > 4 {
            return Err(CliError::input(format!("--source '{spec}': expected PRICE[:CONF[:AGE_S[:VOLUME]]]")));
        }
        let p = price("source", parts[0])?;
        let conf = match parts.get(1) {
            Some(c) => num("source", c, Price::parse)?,
            None => Price(0),
        };
        let age = match parts.get(2) {
            Some(t) => seconds("source", t, 0)?,
            None => 0,
        };
        let weight = match parts.get(3) {
            Some(v) => {
                let w = num("source", v, |x| parse_decimal(x, 9))?;
                if w < 0 {
                    return Err(CliError::input(format!("--source '{spec}': volume must not be negative")));
                }
                u64::try_from(w).map_err(|_| CliError::input(format!("--source '{spec}': volume too large")))?
            }
            None => 1_000_000_000,
        };
        readings.push(SourceReading { price: p, conf, publish_time: now - age, weight, ema: Price(0) });
        echo.push((p, conf, age, weight));
    }
    let r = compute_index(&readings, now, &cfg).map_err(|e| CliError::input(e.to_string()))?;
    let sources: Vec<Value> = echo
        .iter()
        .enumerate()
        .map(|(i, (p, c, age, w))| {
            let mut m = Map::new();
            m.insert("price".into(), s(p));
            m.insert("conf".into(), s(c));
            m.insert("age_s".into(), s(age));
            m.insert("volume".into(), s(Decimal::new(*w as i128, 9)));
            m.insert("used".into(), Value::Bool(r.dropped[i].is_none()));
            if let Some(d) = r.dropped[i] {
                m.insert("dropped".into(), s(d));
            }
            Value::Object(m)
        })
        .collect();
    let mut out = json!({
        "valid_sources": r.valid,
        "median_before_deviation": r.anchor_median.map(s).unwrap_or(Value::Null),
        "sources": sources,
    });
    match r.price() {
        Ok(p) => {
            out["index"] = s(p);
            Ok(Output::new("index", out))
        }
        Err(e) => Err(CliError::Failed { message: e.to_string(), details: Some(out) }),
    }
}

fn read_samples(path: &std::path::Path) -> Result<PremiumAccumulator, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("--premium-samples {}: {e}", path.display())))?;
    let mut acc = PremiumAccumulator::default();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.chars().any(|c| c.is_ascii_alphabetic())) {
            continue;
        }
        let (d, p) = line
            .split_once(',')
            .ok_or_else(|| CliError::input(format!("{}:{}: expected duration_s,premium", path.display(), i + 1)))?;
        let d: i64 = d
            .trim()
            .parse()
            .map_err(|_| CliError::input(format!("{}:{}: bad duration '{d}'", path.display(), i + 1)))?;
        if d < 0 {
            return Err(CliError::input(format!("{}:{}: negative duration", path.display(), i + 1)));
        }
        let p = Rate::parse(p).map_err(|e| CliError::input(format!("{}:{}: premium: {e}", path.display(), i + 1)))?;
        acc.add(p, d).map_err(fail)?;
        n += 1;
    }
    if n == 0 {
        return Err(CliError::input(format!("{}: no samples", path.display())));
    }
    Ok(acc)
}

fn funding(a: &FundingArgs) -> Result<Output, CliError> {
    let (premium, samples) = match (&a.premium, &a.premium_samples) {
        (Some(p), None) => (fraction("premium", p, -RATE_PRECISION, RATE_PRECISION)?, None),
        (None, Some(path)) => {
            let acc = read_samples(path)?;
            (acc.twap().map_err(fail)?, Some(acc.seconds))
        }
        _ => return Err(CliError::input("give --premium or --premium-samples".into())),
    };
    let interest = match (&a.interest, &a.annual_quote_rate, &a.annual_base_rate, &a.interval) {
        (Some(i), None, None, _) => fraction("interest", i, -RATE_PRECISION, RATE_PRECISION)?,
        (None, Some(q), Some(b), Some(iv)) => interest_per_interval(
            fraction("annual-quote-rate", q, -RATE_PRECISION, RATE_PRECISION)?,
            fraction("annual-base-rate", b, -RATE_PRECISION, RATE_PRECISION)?,
            seconds("interval", iv, 1)?,
        )
        .map_err(fail)?,
        _ => {
            return Err(CliError::input(
                "give --interest, or --annual-quote-rate, --annual-base-rate and --interval".into(),
            ))
        }
    };
    let params = FundingParams {
        interest,
        clamp: fraction("clamp", &a.clamp, 0, RATE_PRECISION)?,
        cap: match &a.cap {
            Some(c) => Some(fraction("cap", c, 1, RATE_PRECISION)?),
            None => None,
        },
    };
    let f = funding_rate(premium, &params).map_err(fail)?;
    let mut out = json!({
        "funding_rate": s(f),
        "premium_index": s(premium),
        "interest": s(interest),
        "clamp_floor": s(Rate(-params.clamp.0)),
        "clamp_cap": s(params.clamp),
        "longs_pay": f.0 > 0,
    });
    if let Some(secs) = samples {
        out["sampled_seconds"] = s(secs);
    }
    Ok(Output::new("funding_rate", out))
}

fn mark(a: &MarkArgs) -> Result<Output, CliError> {
    let idx = price("index", &a.index)?;
    let rate = fraction("funding-rate", &a.funding_rate, -RATE_PRECISION, RATE_PRECISION)?;
    let ttf = seconds("time-to-funding", &a.time_to_funding, 0)?;
    let interval = seconds("interval", &a.interval, 1)?;
    if ttf > interval {
        return Err(CliError::input("--time-to-funding must not exceed --interval".into()));
    }
    let basis_mark = mark_funding_basis(idx, rate, ttf, interval).map_err(fail)?;
    let mut out = json!({ "funding_basis_mark": s(basis_mark) });
    let impact = match (&a.impact_bid, &a.impact_ask) {
        (Some(b), Some(k)) => {
            let (b, k) = (price("impact-bid", b)?, price("impact-ask", k)?);
            let m = mark_impact_median(idx, b, k);
            out["impact_median_mark"] = s(m);
            Some(m)
        }
        (None, None) => None,
        _ => return Err(CliError::input("give both --impact-bid and --impact-ask".into())),
    };
    out["mark_price"] = match a.method {
        MarkMethodArg::FundingBasis => s(basis_mark),
        MarkMethodArg::ImpactMedian => match impact {
            Some(m) => s(m),
            None => return Err(CliError::input("--method impact-median needs --impact-bid and --impact-ask".into())),
        },
    };
    Ok(Output::new("mark_price", out))
}

fn liq(a: &LiqArgs) -> Result<Output, CliError> {
    let size = num("size", &a.size, Base::parse)?;
    if size.0 <= 0 {
        return Err(CliError::input(format!("--size '{}': must be positive (use --side for direction)", a.size)));
    }
    let entry = price("entry", &a.entry)?;
    let collateral = num("collateral", &a.collateral, Quote::parse)?;
    let tiers = parse_tiers(&a.tiers)?;
    let long = a.side == SideArg::Long;
    let value = size.value_at(entry, Round::Down).map_err(fail)?;
    let pos = PositionState {
        base: if long { size } else { size.checked_neg().map_err(fail)? },
        quote_entry: if long { value.checked_neg().map_err(fail)? } else { value },
    };
    if let Some(amount) = &a.asset_amount {
        return liq_with_holding(a, amount, &pos, collateral, &tiers, entry);
    }
    let lp = liquidation_price(&pos, collateral, &tiers).map_err(fail)?;
    let bp = bankruptcy_price(&pos, collateral).map_err(fail)?;
    let mut out = json!({
        "bankruptcy_price": s(bp),
        "entry_notional": s(value),
    });
    match lp {
        Some(l) => {
            out["liquidation_price"] = s(l.price);
            out["tier"] = json!(l.tier + 1);
            let n = pos.notional(l.price).map_err(fail)?;
            out["notional_at_liquidation"] = s(n);
            out["maintenance_at_liquidation"] = s(requirement(&tiers, n, MarginKind::Maintenance).map_err(fail)?);
        }
        None => {
            out["liquidation_price"] = Value::Null;
            out["note"] = s("never liquidated: the collateral covers the position at any price");
        }
    }
    Ok(Output::new("liquidation_price", out))
}

/// `liq-price` with a listed-collateral holding: the price where the account reaches maintenance
/// with the holding counted at its maintenance weight (moving with the market when it tracks it),
/// and the same as if the holding stayed at its price now, for comparison.
fn liq_with_holding(
    a: &LiqArgs,
    amount: &str,
    pos: &PositionState,
    settlement: Quote,
    tiers: &[perp_core::margin::Tier],
    entry: Price,
) -> Result<Output, CliError> {
    use perp_core::collateral::{liquidation_price_with_holding, Holding, MAX_DECIMALS};
    if a.asset_decimals > MAX_DECIMALS {
        return Err(CliError::input(format!("--asset-decimals: at most {MAX_DECIMALS}")));
    }
    let raw = perp_core::units::parse_decimal(amount, a.asset_decimals as u32)
        .ok()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| CliError::input(format!("--asset-amount '{amount}': a positive amount of tokens")))?;
    let w = fraction("asset-weight", &a.asset_weight, 0, RATE_PRECISION)?;
    let now_price = match (&a.asset_price, a.asset_tracks) {
        (Some(p), _) => price("asset-price", p)?,
        (None, true) => entry,
        (None, false) => return Err(CliError::input("--asset-price is needed unless --asset-tracks".into())),
    };
    let h = Holding {
        amount: raw,
        decimals: a.asset_decimals,
        maintenance_weight: w,
        price: now_price,
        tracks: a.asset_tracks,
    };
    let with = liquidation_price_with_holding(pos, settlement, tiers, &h).map_err(fail)?;
    let fixed =
        liquidation_price_with_holding(pos, settlement, tiers, &Holding { tracks: false, ..h }).map_err(fail)?;
    Ok(Output::new(
        "liquidation_price",
        json!({
            "liquidation_price": with.map(s).unwrap_or(Value::Null),
            "liquidation_price_if_the_holding_did_not_move": fixed.map(s).unwrap_or(Value::Null),
            "holding_tracks_the_market": a.asset_tracks,
            "entry_notional": s(pos.entry_value().map_err(fail)?),
        }),
    ))
}

fn vamm(a: &VammArgs) -> Result<Output, CliError> {
    let reserve = num("base-reserve", &a.base_reserve, Base::parse)?;
    if reserve.0 <= 0 {
        return Err(CliError::input("--base-reserve must be positive".into()));
    }
    let peg = price("peg", &a.peg)?;
    let v = Vamm::new(reserve.0 as u128, peg).map_err(|e| CliError::input(e.to_string()))?;
    let mut out = json!({ "mid_price": s(v.price().map_err(fail)?) });
    if let Some(n) = &a.impact_notional {
        let n = positive_quote("impact-notional", n)?;
        out["impact_bid"] = s(v.impact_bid(n).map_err(fail)?);
        out["impact_ask"] = s(v.impact_ask(n).map_err(fail)?);
    }
    match (&a.side, &a.size) {
        (Some(side), Some(size)) => {
            let size = num("size", size, Base::parse)?;
            if size.0 <= 0 {
                return Err(CliError::input("--size must be positive".into()));
            }
            let side = if *side == SideArg::Long { Side::Long } else { Side::Short };
            let f = v.quote_trade(side, size).map_err(fail)?;
            out["avg_price"] = s(f.avg_price);
            out["final_price"] = s(f.final_price);
            out["quote"] = s(f.quote);
        }
        (None, None) => {}
        _ => return Err(CliError::input("give both --side and --size".into())),
    }
    Ok(Output::new("mid_price", out))
}
