//! Mark price: the price unrealized PnL and liquidations use.
//!
//! - `FundingBasis`: `mark = index x (1 + F x time_to_funding / interval)`, where `F` is the rate
//!   of the current interval (per interval). The basis decays linearly to zero at the funding time.
//! - `ImpactMedian`: `mark = median(index, impact bid, impact ask)`.
//!
//! Rounding: one division at the end, rounded down.

use crate::error::{CoreError, CoreResult};
use crate::units::{mul_div, Price, Rate, Round, RATE_PRECISION};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkMethod {
    FundingBasis,
    ImpactMedian,
}

/// `index x (1 + rate x time_to_funding / interval)`, all seconds.
pub fn mark_funding_basis(index: Price, rate: Rate, time_to_funding: i64, interval: i64) -> CoreResult<Price> {
    if interval <= 0 {
        return Err(CoreError::InvalidParameter("funding interval must be > 0"));
    }
    let ttf = time_to_funding.clamp(0, interval) as i128;
    let den = crate::wide::mul_i64(RATE_PRECISION, interval);
    let num = den.checked_add(crate::wide::mul_i64(rate.0, ttf as i64)).ok_or(CoreError::Overflow)?;
    if num <= 0 {
        return Err(CoreError::NegativePrice);
    }
    let v = mul_div(index.0 as i128, num, den, Round::Down)?;
    Ok(Price(u64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// Median of the index and the two impact prices.
pub fn mark_impact_median(index: Price, impact_bid: Price, impact_ask: Price) -> Price {
    let mut v = [index, impact_bid, impact_ask];
    v.sort_unstable();
    v[1]
}

/// `mark` kept within `band` of `index`: in `[index x (1 - band), index x (1 + band)]` (the lower
/// bound rounded up, the upper down, so the result never leaves the band).
pub fn clamp_to_index(mark: Price, index: Price, band: Rate) -> CoreResult<Price> {
    let b = band.0.clamp(0, RATE_PRECISION - 1);
    let lo = index.scale_by_one_plus(Rate(-b), crate::units::Round::Up)?;
    let hi = index.scale_by_one_plus(Rate(b), crate::units::Round::Down)?;
    Ok(mark.clamp(lo, hi.max(lo)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_to_the_index() {
        let i = Price(60_000_000_000);
        // 3% below the index with a 0.5% band: held at 59,700
        assert_eq!(clamp_to_index(Price(58_200_000_000), i, Rate(5_000_000)).unwrap(), Price(59_700_000_000));
        assert_eq!(clamp_to_index(Price(61_000_000_000), i, Rate(5_000_000)).unwrap(), Price(60_300_000_000));
        assert_eq!(clamp_to_index(Price(60_100_000_000), i, Rate(5_000_000)).unwrap(), Price(60_100_000_000));
    }

    #[test]
    fn seed_document_example() {
        // index 60,000, F = 0.01% per 8 h, 2 h to funding -> 60,001.50
        let m = mark_funding_basis(Price(60_000_000_000), Rate(100_000), 2 * 3600, 8 * 3600).unwrap();
        assert_eq!(m, Price(60_001_500_000));
        // at the funding time the basis is gone
        assert_eq!(mark_funding_basis(Price(60_000_000_000), Rate(100_000), 0, 28_800).unwrap(), Price(60_000_000_000));
        // negative basis
        let m = mark_funding_basis(Price(60_000_000_000), Rate(-100_000), 28_800, 28_800).unwrap();
        assert_eq!(m, Price(59_994_000_000));
    }

    #[test]
    fn median_of_three() {
        let (i, b, a) = (Price(100), Price(99), Price(101));
        assert_eq!(mark_impact_median(i, b, a), Price(100));
        assert_eq!(mark_impact_median(Price(98), b, a), Price(99));
        assert_eq!(mark_impact_median(Price(105), b, a), Price(101));
    }
}
