//! Reads a market's oracle accounts into perp-core source readings and resolves the index.
//!
//! Hard errors (the caller passed the wrong accounts): a missing account, a key that is not the
//! market's configured oracle at that position. Soft drops (the feed is unusable right now, the
//! index may still stand on the others, and the fallback decides when it cannot): an owner that
//! is not the Pyth program for the oracle's kind (a closed or reassigned account), empty or
//! unreadable data, a product account, a non-trading status, a pull update for another feed or
//! below the required verification level. Staleness (including publish times in the future),
//! confidence and deviation are perp-core's filters.

pub mod legacy;
pub mod pull;

use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::IndexFallbackUsed;
use crate::state::{oracle_kind, Collateral, Exchange, Market, OracleSource};
use anchor_lang::prelude::*;
use perp_core::index::{compute_index, guard_stats, GuardStats, IndexReport, SourceReading};
use perp_core::units::{price_from_mantissa, scale_mantissa};
use perp_core::{Price, Round};

fn reading(mantissa: i64, conf: u64, expo: i32, publish_time: i64, weight: u64, ema: Option<i64>) -> SourceReading {
    match (price_from_mantissa(mantissa, expo, Round::Down), scale_mantissa(conf, expo, Round::Up)) {
        (Ok(p), Ok(c)) => SourceReading {
            price: p,
            conf: Price(c),
            publish_time,
            weight,
            // an unusable average is simply absent (the guard rails then use the time-weighted index)
            ema: ema.and_then(|e| price_from_mantissa(e, expo, Round::Down).ok()).unwrap_or(Price(0)),
        },
        _ => SourceReading::default(),
    }
}

/// Why an oracle account's data was not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleIssue {
    Legacy(legacy::LegacyError),
    NotTrading(u32),
    PullUnreadable,
    OtherFeed,
    PartialVerification(u8),
    WrongOwner,
    UnknownKind,
    BadValue,
}

impl core::fmt::Display for OracleIssue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OracleIssue::Legacy(e) => write!(f, "legacy oracle unreadable: {e}"),
            OracleIssue::NotTrading(s) => write!(f, "legacy oracle not trading (status {s})"),
            OracleIssue::PullUnreadable => {
                write!(f, "pull oracle unreadable (not a PriceUpdateV2 account)")
            }
            OracleIssue::OtherFeed => write!(f, "pull oracle holds another feed"),
            OracleIssue::PartialVerification(n) => {
                write!(f, "pull oracle only partially verified ({n} signatures), fewer than the market requires")
            }
            OracleIssue::WrongOwner => {
                write!(f, "oracle account is not owned by the Pyth program of its kind (closed or reassigned)")
            }
            OracleIssue::UnknownKind => write!(f, "unknown oracle kind"),
            OracleIssue::BadValue => write!(f, "oracle price is zero, negative or out of range"),
        }
    }
}

/// Decodes one oracle account of a known kind into a reading (pure: no logging), or says why the
/// data is unusable. `partial_min`: `None` requires fully verified pull updates, `Some(n)` also
/// accepts partially verified ones with at least `n` guardian signatures. The program and every
/// client use this same function.
pub fn decode_reading(
    kind: u8,
    data: &[u8],
    feed_id: &[u8; 32],
    partial_min: Option<u8>,
    weight: u64,
) -> core::result::Result<SourceReading, OracleIssue> {
    decode_reading_with(kind, data, feed_id, partial_min, weight, true)
}

/// [`decode_reading`], the moving average scaled only when `with_ema` (the program's hot paths skip
/// it: only liquidation's guard rails read it).
pub fn decode_reading_with(
    kind: u8,
    data: &[u8],
    feed_id: &[u8; 32],
    partial_min: Option<u8>,
    weight: u64,
    with_ema: bool,
) -> core::result::Result<SourceReading, OracleIssue> {
    let r = match kind {
        oracle_kind::PYTH_LEGACY => {
            let p = legacy::parse(data).map_err(OracleIssue::Legacy)?;
            if p.status != legacy::STATUS_TRADING {
                return Err(OracleIssue::NotTrading(p.status));
            }
            reading(p.price, p.conf, p.expo, p.publish_time, weight, with_ema.then_some(p.ema))
        }
        oracle_kind::PYTH_PULL => {
            let p = pull::parse(data).ok_or(OracleIssue::PullUnreadable)?;
            if &p.feed_id != feed_id {
                return Err(OracleIssue::OtherFeed);
            }
            if !p.full && partial_min.is_none_or(|n| p.signatures < n) {
                return Err(OracleIssue::PartialVerification(p.signatures));
            }
            reading(p.price, p.conf, p.expo, p.publish_time, weight, with_ema.then_some(p.ema))
        }
        _ => return Err(OracleIssue::UnknownKind),
    };
    if r.price.is_zero() {
        return Err(OracleIssue::BadValue);
    }
    Ok(r)
}

/// Decodes one oracle account of a known kind; `SourceReading::default()` (no price) when the
/// data is unusable, with the reason logged.
pub fn decode(kind: u8, data: &[u8], feed_id: &[u8; 32], partial_min: Option<u8>, weight: u64) -> SourceReading {
    decode_with(kind, data, feed_id, partial_min, weight, true)
}

fn decode_with(
    kind: u8,
    data: &[u8],
    feed_id: &[u8; 32],
    partial_min: Option<u8>,
    weight: u64,
    with_ema: bool,
) -> SourceReading {
    decode_reading_with(kind, data, feed_id, partial_min, weight, with_ema).unwrap_or_else(|issue| {
        msg!("{}", issue);
        SourceReading::default()
    })
}

/// What an index is read from: a market's oracle set or a listed collateral's.
pub trait OracleSet {
    fn sources(&self) -> &[OracleSource];
    fn config(&self) -> perp_core::index::IndexConfig;
    fn partial_min(&self) -> Option<u8>;
}

impl OracleSet for Market {
    fn sources(&self) -> &[OracleSource] {
        &self.oracles[..self.oracle_count()]
    }
    fn config(&self) -> perp_core::index::IndexConfig {
        self.index_config()
    }
    fn partial_min(&self) -> Option<u8> {
        self.partial_min_signatures()
    }
}

impl OracleSet for Collateral {
    fn sources(&self) -> &[OracleSource] {
        &self.oracles[..self.oracle_count()]
    }
    fn config(&self) -> perp_core::index::IndexConfig {
        self.index_config()
    }
    fn partial_min(&self) -> Option<u8> {
        self.partial_min_signatures()
    }
}

/// Reads the market's oracles from the front of `accounts` and computes the index report.
pub fn read_index(market: &Market, exchange: &Exchange, accounts: &[AccountInfo], now: i64) -> Result<IndexReport> {
    read_set_index(market, exchange, accounts, now)
}

/// [`read_index`] for any oracle set (a listed collateral's).
pub fn read_set_index<S: OracleSet>(
    set: &S,
    exchange: &Exchange,
    accounts: &[AccountInfo],
    now: i64,
) -> Result<IndexReport> {
    let mut readings = [SourceReading::default(); crate::state::MAX_ORACLES];
    read_sources(set, exchange, accounts, now, &mut readings, false)
}

/// [`read_index`] with what the guard rails of liquidation, deficit recognition and ADL look at
/// (`engine::prices::guarded_index`): the sources' moving average and widest confidence.
pub fn read_index_guarded(
    market: &Market,
    exchange: &Exchange,
    accounts: &[AccountInfo],
    now: i64,
) -> Result<(IndexReport, GuardStats)> {
    let mut readings = [SourceReading::default(); crate::state::MAX_ORACLES];
    let report = read_sources(market, exchange, accounts, now, &mut readings, true)?;
    let n = market.sources().len();
    let stats = guard_stats(&readings[..n], &report, market.config().method).or_core()?;
    Ok((report, stats))
}

fn read_sources<S: OracleSet>(
    market: &S,
    exchange: &Exchange,
    accounts: &[AccountInfo],
    now: i64,
    readings: &mut [SourceReading; crate::state::MAX_ORACLES],
    with_ema: bool,
) -> Result<IndexReport> {
    let sources = market.sources();
    let n = sources.len();
    require!(accounts.len() >= n, PerpError::OracleAccountsMissing);
    for i in 0..n {
        let cfg = &sources[i];
        let acc = &accounts[i];
        if acc.key() != cfg.key {
            msg!("oracle {}: expected {}, got {}", i, cfg.key, acc.key());
            return err!(PerpError::OracleKeyMismatch);
        }
        let owner = match cfg.kind {
            oracle_kind::PYTH_LEGACY => exchange.pyth_legacy_program,
            oracle_kind::PYTH_PULL => exchange.pyth_receiver_program,
            _ => return err!(PerpError::InvalidMarketParams),
        };
        if *acc.owner != owner {
            msg!("oracle {} {}: owner {} is not the Pyth program {}", i, cfg.key, acc.owner, owner);
            continue; // dropped as invalid: the index may stand on the others
        }
        let data = acc.try_borrow_data()?;
        readings[i] = decode_with(cfg.kind, &data, &cfg.feed_id, market.partial_min(), cfg.weight, with_ema);
    }
    let report = compute_index(&readings[..n], now, &market.config()).or_core()?;
    for (i, src) in sources.iter().enumerate() {
        if let Some(reason) = report.dropped[i] {
            msg!("oracle {} {} dropped: {}", i, src.key, reason);
        }
    }
    Ok(report)
}

/// The index to use: the live one (cached on the market), or, for instructions that only reduce
/// risk, the last valid index if it is younger than the market's fallback limit.
pub fn resolve_index(
    market: &mut Market,
    report: &IndexReport,
    now: i64,
    risk_reducing: bool,
) -> Result<(Price, bool)> {
    match report.price() {
        Ok(p) => {
            let slot = Clock::get()?.slot;
            market.cache_index(p, report.oldest_used.unwrap_or(now), now, slot)?;
            Ok((p, false))
        }
        Err(e) => {
            let age = now.saturating_sub(market.last_index_time);
            if risk_reducing && market.last_index > 0 && age <= market.fallback_max_age {
                msg!("index unavailable ({}); using the last valid index {} from {} s ago", e, market.last_index, age);
                emit!(IndexFallbackUsed {
                    seq: market.next_seq()?,
                    market_index: market.market_index,
                    last_index: market.last_index,
                    age
                });
                Ok((Price(market.last_index), true))
            } else if risk_reducing {
                msg!(
                    "index unavailable ({}) and the last valid index is {} s old (limit {} s)",
                    e,
                    age,
                    market.fallback_max_age
                );
                err!(PerpError::IndexFallbackTooOld)
            } else {
                Err(crate::error::core_error(e))
            }
        }
    }
}
