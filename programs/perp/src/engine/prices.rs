//! Mark prices, the vAMM's time-weighted impact prices, and the per-market view health checks use.

use crate::error::CoreResultExt;
use crate::state::Market;
use anchor_lang::prelude::*;
use perp_core::margin::{Tier, MAX_TIERS};
use perp_core::mark::{mark_funding_basis, mark_impact_median, MarkMethod};
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
            Ok(mark_impact_median(index, t.bid, t.ask))
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
