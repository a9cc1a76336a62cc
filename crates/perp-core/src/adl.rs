//! Auto-deleveraging: score, ranking, and how much of each ranked position to close.
//!
//! `score = (upnl / max(1, entry_value)) / (maintenance / position_value)`
//!        `= upnl x position_value / (max(1, entry_value) x maintenance)`
//! with `max(1, ..)` taken in whole quote units (1 USDC), position value at mark. Only profitable
//! positions on the side opposite the bankrupt one are candidates. Higher score = deleveraged first;
//! equal scores are ordered by key (ascending) so the order is total and reproducible.
//! The score is a fixed-point number at 10^9, rounded down. A zero maintenance requirement (a
//! position with no notional) is not a candidate.

use crate::error::{CoreError, CoreResult};
use crate::units::{div_round, Base, Price, Quote, Rate, Round, QUOTE_PRECISION, RATE_PRECISION};

/// ADL score at 10^9 precision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AdlScore(pub i128);

impl core::fmt::Display for AdlScore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::units::Decimal::new(self.0, 9).fmt(f)
    }
}

/// The score, or `None` when the position is not a candidate (not profitable, no requirement).
pub fn adl_score(
    upnl: Quote,
    entry_value: Quote,
    maintenance: Quote,
    position_value: Quote,
) -> CoreResult<Option<AdlScore>> {
    if upnl.0 <= 0 || maintenance.0 <= 0 || position_value.0 <= 0 {
        return Ok(None);
    }
    let ev = entry_value.0.max(QUOTE_PRECISION) as i128;
    let num = (upnl.0 as i128)
        .checked_mul(position_value.0 as i128)
        .and_then(|v| v.checked_mul(RATE_PRECISION as i128))
        .ok_or(CoreError::Overflow)?;
    let den = ev.checked_mul(maintenance.0 as i128).ok_or(CoreError::Overflow)?;
    Ok(Some(AdlScore(div_round(num, den, Round::Down)?)))
}

/// The price ADL closes a bankrupt position at: its bankruptcy price, kept within `band` (a
/// fraction, the position's maintenance rate on-chain) of the mark. A cross account's losses in
/// other markets can put the bankruptcy price far from this market's price; counterparties are
/// never closed further from the mark than the band, and the bankrupt account's loss beyond it is
/// socialized instead. The lower bound rounds up and the upper bound down (counterparties' favour).
pub fn adl_price(bankruptcy: Price, mark: Price, band: Rate) -> CoreResult<Price> {
    if band.0 < 0 || band.0 >= RATE_PRECISION {
        return Err(CoreError::InvalidParameter("ADL band must be in [0, 1)"));
    }
    let lo = mark.scale_by_one_plus(Rate(-band.0), Round::Up)?;
    let hi = mark.scale_by_one_plus(band, Round::Down)?;
    Ok(Price(bankruptcy.0.clamp(lo.0, hi.0)))
}

/// One ADL candidate: an opposite-side profitable position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdlCandidate {
    /// Stable identifier (the margin account key on-chain).
    pub key: [u8; 32],
    /// Size that can be closed (absolute).
    pub size: Base,
    pub score: AdlScore,
}

/// Ranking order: score descending, then key ascending.
pub fn ranks_before(a: &AdlCandidate, b: &AdlCandidate) -> bool {
    a.score > b.score || (a.score == b.score && a.key < b.key)
}

/// Sorts candidates into ADL order.
pub fn rank(c: &mut [AdlCandidate]) {
    c.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.key.cmp(&b.key)));
}

/// Fills `out[i]` with the size to close of the `i`-th ranked candidate to absorb `size` of a
/// bankrupt position; returns the total closed (less than `size` only when candidates run out).
/// A candidate is closed in full before the next one is touched.
pub fn plan(size: Base, ranked: &[AdlCandidate], out: &mut [Base]) -> CoreResult<Base> {
    if size.0 < 0 {
        return Err(CoreError::InvalidParameter("ADL size must be >= 0"));
    }
    let mut left = size.0;
    for (i, c) in ranked.iter().enumerate() {
        let take = left.min(c.size.0.max(0));
        if i < out.len() {
            out[i] = Base(take);
        }
        left -= take;
    }
    Ok(Base(size.0 - left))
}

/// The ADL indicator a trader is shown (as Binance shows it): the quintile of the position's place
/// in its side's queue, 5 for the first fifth to be deleveraged down to 1 for the last;
/// `5 - floor(5 x (rank - 1) / candidates)` for `rank` in `1..=candidates`. `None` for a rank
/// outside the queue (a position that is not a candidate is not in it: show 0 lights).
pub fn adl_quantile(rank: usize, candidates: usize) -> Option<u8> {
    if rank == 0 || rank > candidates {
        return None;
    }
    let q = 5 - (5 * (rank as u128 - 1) / candidates as u128) as u8;
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every queue length up to 500 and every rank in it: 1..=5, first is 5, never rising with the
    /// rank, and each quintile holds the ranks whose position falls in that fifth of the queue.
    #[test]
    fn adl_quantile_every_rank_of_every_queue_up_to_500() {
        let mut checked = 0;
        for n in 1..=500usize {
            assert_eq!(adl_quantile(0, n), None);
            assert_eq!(adl_quantile(n + 1, n), None);
            let mut last = 5;
            for r in 1..=n {
                let q = adl_quantile(r, n).unwrap();
                assert!((1..=5).contains(&q) && q <= last, "n {n} rank {r}: {q}");
                // rank r is in the fifth k (0-based from the front) with k/5 <= (r-1)/n < (k+1)/5
                let k = 5 - q as usize;
                assert!(5 * (r - 1) >= k * n && 5 * (r - 1) < (k + 1) * n, "n {n} rank {r}: quintile {q}");
                last = q;
                checked += 1;
            }
            assert_eq!(adl_quantile(1, n), Some(5));
        }
        assert_eq!(checked, 500 * 501 / 2);
    }

    const USD: i64 = 1_000_000;

    #[test]
    fn score_by_hand() {
        // upnl 2,000 on 20,000 entry (10%), MM 110 on 22,000 value (0.5%): 0.1 / 0.005 = 20
        let s = adl_score(Quote(2_000 * USD), Quote(20_000 * USD), Quote(110 * USD), Quote(22_000 * USD)).unwrap();
        assert_eq!(s, Some(AdlScore(20 * 1_000_000_000)));
        assert_eq!(adl_score(Quote(-1), Quote(1), Quote(1), Quote(1)).unwrap(), None);
        // entry value below 1 USDC uses 1
        let s = adl_score(Quote(USD), Quote(1), Quote(USD), Quote(USD)).unwrap();
        assert_eq!(s, Some(AdlScore(1_000_000_000)));
    }

    #[test]
    fn adl_price_stays_near_the_mark() {
        let mark = Price(20_000_000_000);
        let band = Rate(10_000_000); // 1%
                                     // a bankruptcy price inside the band is used as is
        assert_eq!(adl_price(Price(20_100_000_000), mark, band).unwrap(), Price(20_100_000_000));
        // far above (a cross loss elsewhere): capped at mark + 1%
        assert_eq!(adl_price(Price(26_000_000_000), mark, band).unwrap(), Price(20_200_000_000));
        // zero (a short whose account is deeply negative): floored at mark - 1%
        assert_eq!(adl_price(Price(0), mark, band).unwrap(), Price(19_800_000_000));
        assert!(adl_price(mark, mark, Rate(RATE_PRECISION)).is_err());
    }

    #[test]
    fn ranking_and_plan() {
        let k = |b: u8| [b; 32];
        let mut c = [
            AdlCandidate { key: k(3), size: Base(5), score: AdlScore(10) },
            AdlCandidate { key: k(1), size: Base(4), score: AdlScore(30) },
            AdlCandidate { key: k(2), size: Base(7), score: AdlScore(10) },
        ];
        rank(&mut c);
        assert_eq!([c[0].key[0], c[1].key[0], c[2].key[0]], [1, 2, 3]);
        let mut out = [Base(0); 3];
        assert_eq!(plan(Base(9), &c, &mut out).unwrap(), Base(9));
        assert_eq!(out, [Base(4), Base(5), Base(0)]);
        assert_eq!(plan(Base(100), &c, &mut out).unwrap(), Base(16));
    }

    proptest! {
        /// The plan closes exactly the bankrupt size when candidates suffice, and never touches a
        /// lower-ranked position while a higher one keeps size.
        #[test]
        fn plan_properties(sizes in proptest::collection::vec((1i64..1_000_000, any::<u16>()), 0..20), want in 0i64..20_000_000) {
            let mut c: std::vec::Vec<AdlCandidate> = sizes.iter().enumerate()
                .map(|(i, (s, sc))| AdlCandidate { key: [i as u8; 32], size: Base(*s), score: AdlScore(*sc as i128) }).collect();
            rank(&mut c);
            for w in c.windows(2) { prop_assert!(ranks_before(&w[0], &w[1])); }
            let mut out = std::vec![Base(0); c.len()];
            let total = plan(Base(want), &c, &mut out).unwrap();
            let available: i64 = c.iter().map(|x| x.size.0).sum();
            prop_assert_eq!(total.0, want.min(available));
            prop_assert_eq!(out.iter().map(|b| b.0).sum::<i64>(), total.0);
            for i in 0..c.len() {
                if out[i].0 > 0 && i > 0 {
                    prop_assert_eq!(out[i - 1], c[i - 1].size, "candidate {} touched before {} was emptied", i, i - 1);
                }
            }
        }
    }
}
