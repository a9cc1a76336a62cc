//! Mark prices, the vAMM's time-weighted impact prices, and the per-market view health checks use.

use crate::error::CoreResultExt;
use crate::state::Market;
use anchor_lang::prelude::*;
use perp_core::index::GuardStats;
use perp_core::margin::{Tier, MAX_TIERS};
use perp_core::mark::{clamp_to_index, mark_funding_basis, mark_impact_median, MarkMethod};
use perp_core::twap::ImpactTwap;
use perp_core::{Price, Quote};

/// Everything a health check needs about one market.
#[derive(Clone, Copy, Debug)]
pub struct MarketView {
    pub market_index: u16,
    pub index: Price,
    pub mark: Price,
    pub tiers: [Tier; MAX_TIERS],
    pub num_tiers: usize,
}

impl MarketView {
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers[..self.num_tiers]
    }
}

/// Impact bid and ask of the market's vAMM for its impact notional, as it stands now.
pub fn impact_prices(market: &Market) -> Result<(Price, Price)> {
    let v = market.vamm();
    let n = Quote(market.impact_notional);
    Ok((v.impact_bid(n).or_core()?, v.impact_ask(n).or_core()?))
}

/// The time-weighted impact prices as of `now`. The vAMM as it stands has held since the stored
/// update (every change of the vAMM updates it first), so nothing done to the vAMM in this second
/// has any weight yet.
pub fn impact_twap(market: &Market, now: i64) -> Result<ImpactTwap> {
    let (bid, ask) = impact_prices(market)?;
    market.stored_twap().at(bid, ask, now, market.sample_period).or_core()
}

/// Brings the stored time-weighted impact prices up to `now`. Must run before every change of
/// the vAMM's reserves or peg.
pub fn accrue_twap(market: &mut Market, now: i64) -> Result<ImpactTwap> {
    let t = impact_twap(market, now)?;
    market.set_twap(&t);
    Ok(t)
}

/// Mark price by the market's method. The impact-median method uses the time-weighted impact
/// prices, so a trade cannot move the mark within its own transaction or second.
pub fn mark_price(market: &Market, index: Price, now: i64) -> Result<Price> {
    match market.mark_method() {
        MarkMethod::FundingBasis => mark_funding_basis(
            index,
            perp_core::Rate(market.last_funding_rate),
            market.next_funding_time.saturating_sub(now),
            market.funding_interval,
        )
        .or_core(),
        MarkMethod::ImpactMedian => {
            let t = impact_twap(market, now)?;
            // kept within half the first tier's maintenance rate of the index (M-9): a vAMM held
            // displaced for a whole sample period moves the mark that far at most
            let band = perp_core::Rate(market.first_mmr().0 / 2);
            clamp_to_index(mark_impact_median(index, t.bid, t.ask), index, band).or_core()
        }
    }
}

pub fn view(market: &Market, index: Price, now: i64) -> Result<MarketView> {
    Ok(MarketView {
        market_index: market.market_index,
        index,
        mark: mark_price(market, index, now)?,
        tiers: market.tiers(),
        num_tiers: market.tier_count(),
    })
}

/// The index that liquidations, deficit recognition and ADL use (oracle guard rails, N-3):
/// - when a used source's `conf / price` exceeds the market's `liquidation_max_conf` (a wide print
///   is no price to take a position over at), or the index diverges from its sources' own moving
///   averages (Pyth's EMA) by more than `max_ema_divergence`, or they carry none: the index or its
///   time-weighted value over the
///   sample period, whichever favours the side named (`favour_long`: a long being liquidated or
///   closed as bankrupt is better off at the higher price). The time-weighted value gives a print
///   no weight in its own second, so a one-update wick, or an update a liquidator picked and
///   posted in the same transaction, moves it by nothing; a real move is followed within a
///   sample period.
pub fn guarded_index(m: &Market, report: &GuardStats, index: Price, favour_long: bool, now: i64) -> Result<Price> {
    let uncertain = report.conf_exceeds(perp_core::Rate(m.liquidation_max_conf));
    if uncertain {
        msg!(
            "oracle confidence {} of the price exceeds the liquidation limit {}: the time-weighted index decides",
            report.max_conf_ratio(),
            perp_core::Rate(m.liquidation_max_conf)
        );
    }
    let diverged = uncertain
        || match report.ema {
            Some(ema) if !ema.is_zero() => {
                let diff = (index.0 as i128 - ema.0 as i128).unsigned_abs();
                diff * perp_core::units::RATE_PRECISION as u128 > m.max_ema_divergence as u128 * ema.0 as u128
            }
            _ => true,
        };
    if !diverged {
        return Ok(index);
    }
    let twap = m.index_twap_now(now)?;
    let p = if favour_long { index.max(twap) } else { index.min(twap) };
    if p != index {
        msg!("index {} diverges from its moving average {:?}: using its time-weighted value {}", index, report.ema, p);
    }
    Ok(p)
}
