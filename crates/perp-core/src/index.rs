//! Index price from several oracle sources.
//!
//! 1. A source without a usable price is dropped as `Invalid`.
//! 2. `age = now - publish_time > max_age` drops it as `Stale`. A publish time up to
//!    [`MAX_FUTURE_SKEW`] seconds in the future counts as age 0 (validator and publisher clocks
//!    differ by a few seconds); further in the future it is dropped as `Stale` with a negative age.
//! 3. `conf / price > max_conf` drops it as `LowConfidence`.
//! 4. The median `m` of what is left is taken; `|p - m| / m > max_deviation` drops a source as
//!    `Outlier` (exact integer comparison, no rounding at the boundary: equal is kept).
//! 5. At least `min_sources` must survive, else [`CoreError::TooFewSources`] says how many fell to
//!    each filter.
//! 6. The index is the median of the survivors (mean of the two middle values, rounded down, for an
//!    even count) or their weight-weighted mean `sum(p_i w_i) / sum(w_i)` rounded down.
//!
//! Rounding: the index is a reference price, not a payment, so it is rounded down consistently;
//! confidence ratios are rounded up (a borderline source is treated as the worse case).

use crate::error::{CoreError, CoreResult, DropReason};
use crate::units::{div_round, Price, Rate, Round, RATE_PRECISION};

/// Seconds a reading's publish time may be ahead of the validator clock.
pub const MAX_FUTURE_SKEW: i64 = 10;

/// Most sources one index takes (markets configure at most 8; the CLI accepts up to 16).
pub const MAX_SOURCES: usize = 16;

/// One oracle reading in our precision. `price == 0` marks a source with no usable price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceReading {
    pub price: Price,
    /// Confidence interval half-width, in price precision.
    pub conf: Price,
    /// Unix seconds the price was published.
    pub publish_time: i64,
    /// Weight (e.g. traded volume) for the volume-weighted method; ignored by the median.
    pub weight: u64,
    /// The publisher's exponential moving average of the price (Pyth's `ema_price`, about an hour),
    /// in price precision; zero when the source carries none.
    pub ema: Price,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMethod {
    Median,
    VolumeWeighted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexConfig {
    /// Seconds; older readings are stale.
    pub max_age: i64,
    /// Largest allowed `conf / price`.
    pub max_conf: Rate,
    /// Largest allowed `|price - median| / median`.
    pub max_deviation: Rate,
    pub min_sources: u8,
    pub method: IndexMethod,
}

impl IndexConfig {
    pub fn validate(&self) -> CoreResult<()> {
        if self.max_age <= 0 {
            return Err(CoreError::InvalidParameter("max_age must be > 0 seconds"));
        }
        if self.max_conf.0 <= 0 || self.max_conf.0 > RATE_PRECISION {
            return Err(CoreError::InvalidParameter("max_conf must be in (0, 1]"));
        }
        if self.max_deviation.0 <= 0 || self.max_deviation.0 > RATE_PRECISION {
            return Err(CoreError::InvalidParameter("max_deviation must be in (0, 1]"));
        }
        if self.min_sources == 0 || self.min_sources as usize > MAX_SOURCES {
            return Err(CoreError::InvalidParameter("min_sources must be in 1..=16"));
        }
        Ok(())
    }
}

/// What happened to every source, and the index if enough survived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexReport {
    pub count: usize,
    /// `None` = used; `Some(reason)` = dropped.
    pub dropped: [Option<DropReason>; MAX_SOURCES],
    /// Median of the sources that passed the staleness and confidence filters (the deviation anchor).
    pub anchor_median: Option<Price>,
    pub valid: u8,
    pub price: Option<Price>,
    /// Publish time of the oldest reading the index used: how old the index really is.
    pub oldest_used: Option<i64>,
    /// Volume-weighted method: the surviving sources all have zero weight (no index).
    pub zero_weight: bool,
    required: u8,
}

impl IndexReport {
    /// The index, or an error counting the drops by reason.
    pub fn price(&self) -> CoreResult<Price> {
        if let Some(p) = self.price {
            return Ok(p);
        }
        if self.zero_weight {
            return Err(CoreError::ZeroTotalWeight);
        }
        let (mut stale, mut low_confidence, mut outliers, mut invalid) = (0u8, 0u8, 0u8, 0u8);
        for d in self.dropped.iter().take(self.count).flatten() {
            match d {
                DropReason::Stale { .. } => stale += 1,
                DropReason::LowConfidence { .. } => low_confidence += 1,
                DropReason::Outlier { .. } => outliers += 1,
                DropReason::Invalid => invalid += 1,
            }
        }
        Err(CoreError::TooFewSources {
            valid: self.valid,
            required: self.required,
            stale,
            low_confidence,
            outliers,
            invalid,
        })
    }
}

/// Median of a non-empty, sorted slice; the two middle values are averaged (rounded down).
fn median_sorted(v: &[u64]) -> u64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        let (a, b) = (v[n / 2 - 1] as u128, v[n / 2] as u128);
        ((a + b) / 2) as u64
    }
}

/// Evaluates all sources at time `now` (unix seconds) under `cfg`.
pub fn compute_index(sources: &[SourceReading], now: i64, cfg: &IndexConfig) -> CoreResult<IndexReport> {
    cfg.validate()?;
    if sources.len() > MAX_SOURCES {
        return Err(CoreError::TooManySources);
    }
    let mut report = IndexReport {
        count: sources.len(),
        dropped: [None; MAX_SOURCES],
        anchor_median: None,
        valid: 0,
        price: None,
        oldest_used: None,
        zero_weight: false,
        required: cfg.min_sources,
    };

    // staleness, validity and confidence
    let mut buf = [0u64; MAX_SOURCES];
    let mut n = 0;
    for (i, s) in sources.iter().enumerate() {
        if s.price.is_zero() {
            report.dropped[i] = Some(DropReason::Invalid);
            continue;
        }
        let ahead = s.publish_time.saturating_sub(now);
        if ahead > MAX_FUTURE_SKEW {
            report.dropped[i] = Some(DropReason::Stale { age: -ahead, max_age: cfg.max_age });
            continue;
        }
        let age = now.saturating_sub(s.publish_time).max(0);
        if age > cfg.max_age {
            report.dropped[i] = Some(DropReason::Stale { age, max_age: cfg.max_age });
            continue;
        }
        // conf/price > max_conf  <=>  conf * 1e9 > max_conf * price (exact)
        let lhs = crate::wide::mul_64_64(s.conf.0, RATE_PRECISION as u64) as i128;
        let rhs = crate::wide::mul_64_64(cfg.max_conf.0 as u64, s.price.0) as i128;
        if lhs > rhs {
            let conf_ratio = div_round(lhs, s.price.0 as i128, Round::Up)?;
            report.dropped[i] = Some(DropReason::LowConfidence {
                conf_ratio: i64::try_from(conf_ratio).unwrap_or(i64::MAX),
                max_conf: cfg.max_conf.0,
            });
            continue;
        }
        buf[n] = s.price.0;
        n += 1;
    }
    if n == 0 {
        return Ok(report);
    }
    buf[..n].sort_unstable();
    let median = median_sorted(&buf[..n]);
    report.anchor_median = Some(Price(median));

    // deviation from the median
    let mut survivors = [0u64; MAX_SOURCES];
    let mut weights_sum: u128 = 0;
    let mut weighted_sum: u128 = 0;
    let mut m = 0;
    for (i, s) in sources.iter().enumerate() {
        if report.dropped[i].is_some() {
            continue;
        }
        let diff = (s.price.0 as i128 - median as i128).abs();
        // diff/median > max_dev  <=>  diff * 1e9 > max_dev * median
        let (d, mx) = (diff as u64, cfg.max_deviation.0 as u64);
        if crate::wide::mul_64_64(d, RATE_PRECISION as u64) > crate::wide::mul_64_64(mx, median) {
            let deviation = div_round(diff * RATE_PRECISION as i128, median as i128, Round::Up)?;
            report.dropped[i] = Some(DropReason::Outlier {
                deviation: i64::try_from(deviation).unwrap_or(i64::MAX),
                max_deviation: cfg.max_deviation.0,
            });
            continue;
        }
        survivors[m] = s.price.0;
        m += 1;
        let t = s.publish_time.min(now);
        report.oldest_used = Some(report.oldest_used.map_or(t, |o| o.min(t)));
        weights_sum = weights_sum.checked_add(s.weight as u128).ok_or(CoreError::Overflow)?;
        weighted_sum = weighted_sum
            .checked_add((s.price.0 as u128).checked_mul(s.weight as u128).ok_or(CoreError::Overflow)?)
            .ok_or(CoreError::Overflow)?;
    }
    report.valid = m as u8;
    if m < cfg.min_sources as usize {
        return Ok(report);
    }
    let price = match cfg.method {
        IndexMethod::Median => {
            survivors[..m].sort_unstable();
            median_sorted(&survivors[..m])
        }
        IndexMethod::VolumeWeighted => {
            // no weight left: no index (a market reading it falls back like any other failure)
            if weights_sum == 0 {
                report.zero_weight = true;
                return Ok(report);
            }
            (weighted_sum / weights_sum) as u64
        }
    };
    report.price = Some(Price(price));
    Ok(report)
}

/// What the guard rails of liquidations look at, over the sources an index used (computed only
/// where needed: it costs a division and a second aggregate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardStats {
    /// The same aggregate as the index (median or weighted mean) over the used sources' moving
    /// averages, when every used source carries one: what the index is compared with to tell a
    /// wick from a move.
    pub ema: Option<Price>,
    /// The used source with the widest `conf / price`: `(conf, price)` (zeros when none).
    pub widest: (Price, Price),
}

impl GuardStats {
    /// True when the widest source's `conf / price` exceeds `limit` (exact, no division).
    pub fn conf_exceeds(&self, limit: Rate) -> bool {
        let (c, p) = self.widest;
        crate::wide::mul_64_64(c.0, RATE_PRECISION as u64) > crate::wide::mul_64_64(limit.0.max(0) as u64, p.0)
    }

    /// The widest `conf / price` as a rate, rounded up (for messages).
    pub fn max_conf_ratio(&self) -> Rate {
        let (c, p) = self.widest;
        if p.is_zero() {
            return Rate::ZERO;
        }
        let r = div_round(c.0 as i128 * RATE_PRECISION as i128, p.0 as i128, Round::Up).unwrap_or(i64::MAX as i128);
        Rate(i64::try_from(r).unwrap_or(i64::MAX))
    }
}

/// [`GuardStats`] of `report`'s used sources (`sources` as given to [`compute_index`]).
pub fn guard_stats(sources: &[SourceReading], report: &IndexReport, method: IndexMethod) -> CoreResult<GuardStats> {
    let mut emas = [0u64; MAX_SOURCES];
    let (mut n, mut all_ema) = (0usize, true);
    let (mut weights, mut ema_weighted) = (0u128, 0u128);
    // the widest confidence by cross-multiplication, one division at the end
    let mut widest: Option<(u64, u64)> = None;
    for (i, s) in sources.iter().enumerate().take(report.count.min(MAX_SOURCES)) {
        if report.dropped[i].is_some() || s.price.is_zero() {
            continue;
        }
        emas[n] = s.ema.0;
        n += 1;
        all_ema &= !s.ema.is_zero();
        weights += s.weight as u128;
        ema_weighted = ema_weighted.saturating_add((s.ema.0 as u128).saturating_mul(s.weight as u128));
        let wider = match widest {
            None => true,
            Some((c, p)) => crate::wide::mul_64_64(s.conf.0, p) > crate::wide::mul_64_64(c, s.price.0),
        };
        if wider {
            widest = Some((s.conf.0, s.price.0));
        }
    }
    let widest = widest.map(|(c, p)| (Price(c), Price(p))).unwrap_or((Price(0), Price(0)));
    let ema = match method {
        _ if n == 0 || !all_ema => 0,
        IndexMethod::Median => {
            emas[..n].sort_unstable();
            median_sorted(&emas[..n])
        }
        IndexMethod::VolumeWeighted if weights == 0 => 0,
        IndexMethod::VolumeWeighted => (ema_weighted / weights) as u64,
    };
    Ok(GuardStats { ema: (ema > 0).then_some(Price(ema)), widest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn src(p: u64, conf: u64, t: i64, w: u64) -> SourceReading {
        SourceReading {
            price: Price(p * 1_000_000),
            conf: Price(conf * 1_000_000),
            publish_time: t,
            weight: w,
            ema: Price(0),
        }
    }

    fn cfg(method: IndexMethod) -> IndexConfig {
        IndexConfig {
            max_age: 60,
            max_conf: Rate(10_000_000),      // 1%
            max_deviation: Rate(30_000_000), // 3%
            min_sources: 3,
            method,
        }
    }

    #[test]
    fn seed_document_vwap_example() {
        // Coinbase 60,100 x 20,000; Binance 60,150 x 30,000; Kraken 60,050 x 15,000 -> 60,111.538461
        let s = [src(60_100, 1, 100, 20_000), src(60_150, 1, 100, 30_000), src(60_050, 1, 100, 15_000)];
        let r = compute_index(&s, 100, &cfg(IndexMethod::VolumeWeighted)).unwrap();
        assert_eq!(r.price().unwrap(), Price(60_111_538_461));
        let r = compute_index(&s, 100, &cfg(IndexMethod::Median)).unwrap();
        assert_eq!(r.price().unwrap(), Price(60_100_000_000));
    }

    #[test]
    fn each_filter_names_its_reason() {
        let s = [
            src(20_000, 1, 1000, 1),
            src(20_010, 1, 1000, 1),
            src(20_020, 1, 1000, 1),
            src(20_005, 1, 900, 1),    // stale: age 100 > 60
            src(20_000, 500, 1000, 1), // conf 2.5% > 1%
            src(26_127, 1, 1000, 1),   // 30% off the median
            SourceReading::default(),  // no price
        ];
        let r = compute_index(&s, 1000, &cfg(IndexMethod::Median)).unwrap();
        assert_eq!(r.dropped[3], Some(DropReason::Stale { age: 100, max_age: 60 }));
        assert_eq!(r.dropped[4], Some(DropReason::LowConfidence { conf_ratio: 25_000_000, max_conf: 10_000_000 }));
        assert!(matches!(r.dropped[5], Some(DropReason::Outlier { .. })));
        assert_eq!(r.dropped[6], Some(DropReason::Invalid));
        assert_eq!(r.valid, 3);
        assert_eq!(r.anchor_median, Some(Price(20_015_000_000)));
        assert_eq!(r.price().unwrap(), Price(20_010_000_000));
    }

    #[test]
    fn future_readings_and_the_oldest_used() {
        // 5 s ahead is clock skew (age 0); an hour ahead is dropped
        let s = [src(20_000, 1, 1005, 1), src(20_010, 1, 990, 1), src(20_020, 1, 1000, 1), src(25_000, 1, 4600, 1)];
        let r = compute_index(&s, 1000, &cfg(IndexMethod::Median)).unwrap();
        assert_eq!(r.dropped[0], None);
        assert_eq!(r.dropped[3], Some(DropReason::Stale { age: -3600, max_age: 60 }));
        assert_eq!(r.price().unwrap(), Price(20_010_000_000));
        // the index is as old as its oldest reading (a future one counts as now)
        assert_eq!(r.oldest_used, Some(990));
        assert!(format!("{}", r.dropped[3].unwrap()).contains("future"));
    }

    #[test]
    fn too_few_sources_counts_reasons() {
        let s = [src(20_000, 1, 1000, 1), src(20_010, 1, 800, 1), src(20_020, 900, 1000, 1)];
        let r = compute_index(&s, 1000, &cfg(IndexMethod::Median)).unwrap();
        assert_eq!(
            r.price(),
            Err(CoreError::TooFewSources {
                valid: 1,
                required: 3,
                stale: 1,
                low_confidence: 1,
                outliers: 0,
                invalid: 0
            })
        );
    }

    #[test]
    fn deviation_boundary_is_inclusive() {
        // exactly 3% above a median of 100 is kept, one tick more is dropped
        let mut c = cfg(IndexMethod::Median);
        c.min_sources = 1;
        let s = [src(100, 0, 0, 1), src(100, 0, 0, 1), src(103, 0, 0, 1)];
        let r = compute_index(&s, 0, &c).unwrap();
        assert_eq!(r.valid, 3);
        let mut s2 = s;
        s2[2].price = Price(103_000_001);
        assert_eq!(compute_index(&s2, 0, &c).unwrap().valid, 2);
    }

    #[test]
    fn even_count_median_and_zero_weights() {
        let mut c = cfg(IndexMethod::Median);
        c.min_sources = 2;
        let s = [src(100, 0, 0, 0), src(101, 0, 0, 0)];
        assert_eq!(compute_index(&s, 0, &c).unwrap().price().unwrap(), Price(100_500_000));
        c.method = IndexMethod::VolumeWeighted;
        // no index, but a report (so a market falls back instead of failing hard)
        let r = compute_index(&s, 0, &c).unwrap();
        assert!(r.zero_weight && r.price.is_none());
        assert_eq!(r.price(), Err(CoreError::ZeroTotalWeight));
    }

    #[test]
    fn ema_and_confidence_of_the_used_sources() {
        let mut c = cfg(IndexMethod::Median);
        c.min_sources = 1;
        let mut s = [src(100, 1, 0, 1), src(102, 0, 0, 1), src(130, 0, 0, 1)];
        s[0].ema = Price(99_000_000);
        s[1].ema = Price(101_000_000);
        s[2].ema = Price(200_000_000); // an outlier's average is not used
        let r = compute_index(&s, 0, &c).unwrap();
        assert_eq!(r.price, Some(Price(101_000_000)));
        let g = guard_stats(&s, &r, c.method).unwrap();
        assert_eq!(g.ema, Some(Price(100_000_000)));
        // 1 / 100 = 1%, the widest of the used sources
        assert_eq!(g.max_conf_ratio(), Rate(10_000_000));
        assert!(g.conf_exceeds(Rate(9_999_999)) && !g.conf_exceeds(Rate(10_000_000)));
        // a used source without an average: no EMA for the index
        s[1].ema = Price(0);
        assert_eq!(guard_stats(&s, &compute_index(&s, 0, &c).unwrap(), c.method).unwrap().ema, None);
        // weighted: the averages are weighted like the prices
        c.method = IndexMethod::VolumeWeighted;
        s[1].ema = Price(101_000_000);
        s[0].weight = 3;
        let r = compute_index(&s, 0, &c).unwrap();
        assert_eq!(guard_stats(&s, &r, c.method).unwrap().ema, Some(Price((99_000_000 * 3 + 101_000_000) / 4)));
    }

    /// `IndexReport::price` sliced `dropped[..count]`; `count` is a public field.
    #[test]
    fn regression_report_price_with_count_beyond_sources() {
        let mut r = compute_index(&[], 0, &cfg(IndexMethod::Median)).unwrap();
        r.count = usize::MAX;
        assert!(matches!(r.price(), Err(CoreError::TooFewSources { valid: 0, .. })));
    }

    /// The Display of a `Stale` reason negated its age, which overflowed for i64::MIN.
    #[test]
    fn regression_stale_display_of_i64_min_age() {
        let s = format!("{}", DropReason::Stale { age: i64::MIN, max_age: 60 });
        assert!(s.contains("9223372036854775808 s in the future"), "{s}");
    }

    #[test]
    fn config_is_validated() {
        let mut c = cfg(IndexMethod::Median);
        c.max_deviation = Rate(2 * RATE_PRECISION);
        assert!(compute_index(&[], 0, &c).is_err());
        c = cfg(IndexMethod::Median);
        c.min_sources = 0;
        assert!(compute_index(&[], 0, &c).is_err());
        assert_eq!(
            compute_index(&[SourceReading::default(); 17], 0, &cfg(IndexMethod::Median)),
            Err(CoreError::TooManySources)
        );
    }

    proptest! {
        /// The index always lies within the range of the sources that were used.
        #[test]
        fn index_within_survivor_range(prices in proptest::collection::vec(1u64..1_000_000_000_000, 1..16),
                                       weights in proptest::collection::vec(0u64..1_000_000, 16),
                                       vw in any::<bool>()) {
            let s: std::vec::Vec<_> = prices.iter().zip(weights.iter()).map(|(p, w)| SourceReading { price: Price(*p), conf: Price(0), publish_time: 0, weight: *w + 1, ema: Price(0) }).collect();
            let c = IndexConfig { max_age: 10, max_conf: Rate(RATE_PRECISION), max_deviation: Rate(50_000_000), min_sources: 1,
                method: if vw { IndexMethod::VolumeWeighted } else { IndexMethod::Median } };
            let r = compute_index(&s, 0, &c).unwrap();
            let used: std::vec::Vec<u64> = s.iter().enumerate().filter(|(i, _)| r.dropped[*i].is_none()).map(|(_, x)| x.price.0).collect();
            prop_assert_eq!(used.len(), r.valid as usize);
            if used.is_empty() {
                // possible only with an even count whose two middle values are far apart
                prop_assert!(r.price().is_err());
                return Ok(());
            }
            let p = r.price().unwrap().0;
            prop_assert!(p >= *used.iter().min().unwrap() && p <= *used.iter().max().unwrap());
        }
    }
}
