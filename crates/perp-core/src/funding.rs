//! Funding: premium samples, the time-weighted premium, the rate, and cumulative indices.
//!
//! - Premium sample: `(max(0, impact_bid - index) - max(0, index - impact_ask)) / index`, rounded
//!   toward zero. (Impact bid = average price of selling the impact notional; impact ask = average
//!   price of buying it.)
//! - Premium index `P`: time-weighted mean of samples over the interval, `sum(p_i dt_i) / sum(dt_i)`,
//!   rounded toward zero.
//! - Rate per interval: `F = P + clamp(I - P, -clamp, +clamp)`, then optionally `clamp(F, -cap, +cap)`.
//! - Interest per interval from annual rates: `I = (quote_rate - base_rate) x interval / 365 days`.
//! - Each funding event adds `F x mark` (exact, quote per base at 10^-15) to the cumulative index of
//!   each side; a position pays `size x (index_now - index_at_last_settlement)`: longs pay when F > 0.
//!   Payments round up (toward +infinity), so a payer pays the larger and a receiver gets the smaller
//!   amount; the rounding dust stays with the protocol.
//! - Longs and shorts have separate indices. When open interest is unbalanced, the vAMM holds the
//!   difference and its share of funding goes to (or comes from) the market's fee pool. When the
//!   fee pool cannot pay its share, the receiving side's increment is reduced so the fee pool never
//!   goes negative.

use crate::error::{CoreError, CoreResult};
use crate::units::{
    div_round, mul_div, Base, FundingIndex, Price, Quote, Rate, Round, BASE_PRECISION, FUNDING_INDEX_PRECISION,
    QUOTE_PRECISION, RATE_PRECISION,
};

pub const SECONDS_PER_YEAR: i64 = 365 * 24 * 3600;

/// Quote raw units x this = base raw x funding-index raw.
const PAYMENT_SCALE: i128 = BASE_PRECISION as i128 * FUNDING_INDEX_PRECISION / QUOTE_PRECISION as i128;

fn toward_zero(n: i128, d: i128) -> CoreResult<i128> {
    // floor for a non-negative quotient, ceiling for a negative one
    let negative = (n < 0) != (d < 0);
    div_round(n, d, if negative { Round::Up } else { Round::Down })
}

fn rate_i64(v: i128) -> CoreResult<Rate> {
    Ok(Rate(i64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// One premium sample from the impact prices and the index.
pub fn premium_sample(index: Price, impact_bid: Price, impact_ask: Price) -> CoreResult<Rate> {
    if index.is_zero() {
        return Err(CoreError::DivisionByZero);
    }
    let i = index.0 as i128;
    let up = (impact_bid.0 as i128 - i).max(0);
    let down = (i - impact_ask.0 as i128).max(0);
    rate_i64(toward_zero((up - down) * RATE_PRECISION as i128, i)?)
}

/// One premium sample clamped to `[-cap, cap]` (the funding cap per interval). A vAMM pushed and
/// held for one sample period then moves the interval's premium by at most `cap x period /
/// interval`: only a premium held for the whole interval can take the rate to the cap (and on a
/// vAMM whoever holds the push holds the position that pays it).
pub fn capped_premium_sample(index: Price, impact_bid: Price, impact_ask: Price, cap: Rate) -> CoreResult<Rate> {
    let c = cap.0.checked_abs().ok_or(CoreError::Overflow)?;
    Ok(premium_sample(index, impact_bid, impact_ask)?.clamp(Rate(-c), Rate(c)))
}

/// The most one bankruptcy episode may charge one side per unit of base through socialization:
/// `cap_rate x mark`, in funding-index units (quote per base unit at 10^15; price raw x rate raw).
pub fn socialize_cap_per_unit(mark: Price, cap_rate: Rate) -> FundingIndex {
    FundingIndex((mark.0 as i128).saturating_mul(cap_rate.0.max(0) as i128))
}

/// Splits `loss` to socialize over one side's open interest `oi` when each unit of base may still
/// be charged `room` (funding-index units) in this episode: the side is charged at most
/// `floor(oi x room / scale)`, so the index step [`socialize_loss_delta`] takes for it (rounded
/// up) never exceeds `room`. Returns `(charged, rest)`, `charged + rest = loss`.
pub fn socialize_within(loss: Quote, oi: Base, room: FundingIndex) -> CoreResult<(Quote, Quote)> {
    if loss.0 <= 0 {
        return Ok((Quote::ZERO, Quote::ZERO));
    }
    if oi.0 <= 0 || room.0 <= 0 {
        return Ok((Quote::ZERO, loss));
    }
    let most = mul_div(oi.0 as i128, room.0, PAYMENT_SCALE, Round::Down)?;
    let charged = Quote(loss.0.min(i64::try_from(most).unwrap_or(i64::MAX)));
    Ok((charged, loss.checked_sub(charged)?))
}

/// Time-weighted premium accumulator for one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PremiumAccumulator {
    /// Sum of `premium x seconds` (rate raw x s).
    pub weighted_sum: i128,
    /// Sum of seconds.
    pub seconds: i64,
}

impl PremiumAccumulator {
    pub fn add(&mut self, premium: Rate, seconds: i64) -> CoreResult<()> {
        if seconds < 0 {
            return Err(CoreError::InvalidParameter("sample duration must be >= 0"));
        }
        let w = crate::wide::mul_i64(premium.0, seconds);
        self.weighted_sum = self.weighted_sum.checked_add(w).ok_or(CoreError::Overflow)?;
        self.seconds = self.seconds.checked_add(seconds).ok_or(CoreError::Overflow)?;
        Ok(())
    }
    /// The time-weighted premium (zero if no time was sampled).
    pub fn twap(&self) -> CoreResult<Rate> {
        self.twap_over(0)
    }
    /// The time-weighted premium over at least `seconds`: time no sample covered counts as a zero
    /// premium, so a few samples (a crank outage, one manipulated sample) cannot set the whole
    /// interval's rate.
    pub fn twap_over(&self, seconds: i64) -> CoreResult<Rate> {
        let den = self.seconds.max(seconds);
        if den <= 0 {
            return Ok(Rate::ZERO);
        }
        rate_i64(toward_zero(self.weighted_sum, den as i128)?)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingParams {
    /// Interest component per interval.
    pub interest: Rate,
    /// Symmetric clamp on `I - P`.
    pub clamp: Rate,
    /// Optional absolute cap on `|F|`.
    pub cap: Option<Rate>,
}

impl FundingParams {
    pub fn validate(&self) -> CoreResult<()> {
        if self.clamp.0 < 0 || self.clamp.0 > RATE_PRECISION {
            return Err(CoreError::InvalidParameter("funding clamp must be in [0, 1]"));
        }
        if let Some(c) = self.cap {
            if c.0 <= 0 || c.0 > RATE_PRECISION {
                return Err(CoreError::InvalidParameter("funding cap must be in (0, 1]"));
            }
        }
        if self.interest.0.unsigned_abs() > RATE_PRECISION as u64 {
            return Err(CoreError::InvalidParameter("interest must be in [-1, 1]"));
        }
        Ok(())
    }
}

/// `F = P + clamp(I - P, -clamp, clamp)`, then `clamp(F, -cap, cap)` if a cap is set.
pub fn funding_rate(premium: Rate, p: &FundingParams) -> CoreResult<Rate> {
    p.validate()?;
    let diff = p.interest.checked_sub(premium)?;
    let f = premium.checked_add(diff.clamp(Rate(-p.clamp.0), p.clamp))?;
    Ok(match p.cap {
        Some(c) => f.clamp(Rate(-c.0), c),
        None => f,
    })
}

/// Interest per funding interval from annual quote and base rates, rounded toward zero.
pub fn interest_per_interval(quote_annual: Rate, base_annual: Rate, interval_s: i64) -> CoreResult<Rate> {
    if interval_s <= 0 {
        return Err(CoreError::InvalidParameter("funding interval must be > 0"));
    }
    let d = quote_annual.0 as i128 - base_annual.0 as i128;
    rate_i64(toward_zero(d * interval_s as i128, SECONDS_PER_YEAR as i128)?)
}

/// What a position pays for funding between two index values (positive = pays, negative =
/// receives); rounded up, i.e. in the protocol's favour either way.
pub fn position_payment(base: Base, index_now: FundingIndex, index_then: FundingIndex) -> CoreResult<Quote> {
    base.funding_payment(index_now.checked_sub(index_then)?, Round::Up)
}

/// Cumulative funding indices of a market's two sides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundingIndices {
    pub long: FundingIndex,
    pub short: FundingIndex,
}

/// The outcome of one funding event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingEvent {
    pub delta_long: FundingIndex,
    pub delta_short: FundingIndex,
    /// The vAMM's share, signed: positive goes to the fee pool, negative is paid by it.
    pub amm_share: Quote,
    /// True when the receiving side's increment was reduced because the fee pool could not pay.
    pub receiver_capped: bool,
}

/// Computes one funding event at `rate` and `mark` with open interest `oi_long`, `oi_short`
/// (both >= 0) and `fee_pool` available to pay the vAMM's share.
pub fn funding_event(
    rate: Rate,
    mark: Price,
    oi_long: Base,
    oi_short: Base,
    fee_pool: Quote,
) -> CoreResult<FundingEvent> {
    if oi_long.0 < 0 || oi_short.0 < 0 {
        return Err(CoreError::InvalidParameter("open interest must be >= 0"));
    }
    let delta = FundingIndex::increment(mark, rate)?;
    let (l, s) = (oi_long.0 as i128, oi_short.0 as i128);
    let mut dl = delta.0;
    let mut ds = delta.0;
    // net flow into the protocol, in base raw x index raw: longs pay l*dl, shorts pay -s*ds
    let net = |dl: i128, ds: i128| -> CoreResult<i128> {
        l.checked_mul(dl).and_then(|a| s.checked_mul(ds).and_then(|b| a.checked_sub(b))).ok_or(CoreError::Overflow)
    };
    let mut n = net(dl, ds)?;
    let avail = (fee_pool.0.max(0) as i128).checked_mul(PAYMENT_SCALE).ok_or(CoreError::Overflow)?;
    let mut capped = false;
    // `n < -avail` is `n < 0 && -n > avail` without negating `n` (which may be i128::MIN)
    if n < -avail {
        capped = true;
        if delta.0 > 0 {
            // longs pay, shorts receive s*ds: limit to l*dl + avail
            let pay = l.checked_mul(dl).and_then(|x| x.checked_add(avail)).ok_or(CoreError::Overflow)?;
            ds = div_round(pay, s, Round::Down)?;
        } else {
            // shorts pay s*|d|, longs receive l*|dl|: limit to s*|d| + avail
            let pay = s.checked_mul(-ds).and_then(|x| x.checked_add(avail)).ok_or(CoreError::Overflow)?;
            dl = -div_round(pay, l, Round::Down)?;
        }
        n = net(dl, ds)?;
    }
    // the fee pool receives the floor of a positive share and pays the ceiling of a negative one
    let amm = div_round(n, PAYMENT_SCALE, Round::Down)?;
    Ok(FundingEvent {
        delta_long: FundingIndex(dl),
        delta_short: FundingIndex(ds),
        amm_share: Quote(i64::try_from(amm).map_err(|_| CoreError::Overflow)?),
        receiver_capped: capped,
    })
}

impl FundingIndices {
    pub fn apply(&mut self, e: &FundingEvent) -> CoreResult<()> {
        self.long = self.long.checked_add(e.delta_long)?;
        self.short = self.short.checked_add(e.delta_short)?;
        Ok(())
    }
    pub fn for_base(&self, base: Base) -> FundingIndex {
        if base.0 >= 0 {
            self.long
        } else {
            self.short
        }
    }
}

/// Index change that charges `loss` to a side with open interest `oi` (> 0), rounded so the
/// side pays at least `loss` in total. Longs are charged with a positive delta on the long index,
/// shorts with a negative delta on the short index (a short's payment is `size x delta`, size < 0).
pub fn socialize_loss_delta(loss: Quote, oi: Base, side_is_long: bool) -> CoreResult<FundingIndex> {
    if oi.0 <= 0 {
        return Err(CoreError::DivisionByZero);
    }
    let per = div_round(
        (loss.0.max(0) as i128).checked_mul(PAYMENT_SCALE).ok_or(CoreError::Overflow)?,
        oi.0 as i128,
        Round::Up,
    )?;
    Ok(FundingIndex(if side_is_long { per } else { -per }))
}

/// Scales a per-interval rate to a fraction of the interval (used for previews).
pub fn prorate(rate: Rate, seconds: i64, interval: i64) -> CoreResult<Rate> {
    let v = mul_div(rate.0 as i128, seconds as i128, interval as i128, Round::Down)?;
    rate_i64(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BP: i64 = 100_000; // one basis point in rate raw units

    #[test]
    fn premium_sample_cases() {
        let i = Price(20_000_000_000);
        // bid above index: premium = (20,020 - 20,000) / 20,000 = 0.1%
        assert_eq!(premium_sample(i, Price(20_020_000_000), Price(20_040_000_000)).unwrap(), Rate(10 * BP));
        // ask below index: discount
        assert_eq!(premium_sample(i, Price(19_960_000_000), Price(19_980_000_000)).unwrap(), Rate(-10 * BP));
        // index inside the spread: zero
        assert_eq!(premium_sample(i, Price(19_990_000_000), Price(20_010_000_000)).unwrap(), Rate(0));
    }

    #[test]
    fn a_sample_is_capped() {
        let i = Price(20_000_000_000);
        // a vAMM pushed 10% up: the sample counts as the cap (0.094%), not 10%
        let cap = Rate(940_000);
        assert_eq!(capped_premium_sample(i, Price(22_000_000_000), Price(22_010_000_000), cap).unwrap(), cap);
        assert_eq!(capped_premium_sample(i, Price(18_000_000_000), Price(18_010_000_000), cap).unwrap(), Rate(-cap.0));
        // within the cap: unchanged
        assert_eq!(capped_premium_sample(i, Price(20_010_000_000), Price(20_020_000_000), cap).unwrap(), Rate(5 * BP));
        // one capped sample of 60 s in an hour moves the premium index by cap / 60 at most
        let mut acc = PremiumAccumulator::default();
        acc.add(cap, 60).unwrap();
        assert_eq!(acc.twap_over(3_600).unwrap(), Rate(940_000 / 60));
    }

    #[test]
    fn socialization_room_by_hand() {
        // 1% of 48,000 per BTC: 480 USDC per BTC
        let room = socialize_cap_per_unit(Price(48_000_000_000), Rate(10_000_000));
        assert_eq!(room, FundingIndex(480 * 1_000_000_000_000_000));
        // 10 BTC of open interest can be charged 4,800 USDC in all
        let oi = Base(10_000_000_000);
        assert_eq!(
            socialize_within(Quote(10_000_000_000), oi, room).unwrap(),
            (Quote(4_800_000_000), Quote(5_200_000_000))
        );
        assert_eq!(socialize_within(Quote(1_000_000), oi, room).unwrap(), (Quote(1_000_000), Quote(0)));
        // no room left, or nobody to charge: all of it is the rest
        assert_eq!(socialize_within(Quote(5), oi, FundingIndex(0)).unwrap(), (Quote(0), Quote(5)));
        assert_eq!(socialize_within(Quote(5), Base(0), room).unwrap(), (Quote(0), Quote(5)));
        let d = socialize_loss_delta(Quote(4_800_000_000), oi, true).unwrap();
        assert_eq!(d, room);
    }

    proptest! {
        #[test]
        fn socialization_never_steps_beyond_its_room(loss in 1i64..1_000_000_000_000_000, oi in 1i64..1_000_000_000_000_000, room in 0i128..1_000_000_000_000_000_000_000) {
            let (charged, rest) = socialize_within(Quote(loss), Base(oi), FundingIndex(room)).unwrap();
            prop_assert_eq!(charged.0 + rest.0, loss);
            prop_assert!(charged.0 >= 0 && rest.0 >= 0);
            if charged.0 > 0 {
                let d = socialize_loss_delta(charged, Base(oi), true).unwrap();
                prop_assert!(d.0 <= room, "step {} > room {}", d.0, room);
                // and the side pays at least what was charged
                prop_assert!(position_payment(Base(oi), d, FundingIndex(0)).unwrap().0 >= charged.0);
            }
        }
    }

    #[test]
    fn funding_rate_clamp_and_cap() {
        // BitMEX-style: I = 0.01%, clamp 0.05%
        let p = FundingParams { interest: Rate(BP), clamp: Rate(5 * BP), cap: None };
        // P within I +/- clamp -> F = I
        assert_eq!(funding_rate(Rate(3 * BP), &p).unwrap(), Rate(BP));
        // P = 0.1% -> I - P = -0.09% clamped to -0.05% -> F = 0.05%
        assert_eq!(funding_rate(Rate(10 * BP), &p).unwrap(), Rate(5 * BP));
        // P = -0.2% -> I - P = 0.21% -> 0.05% -> F = -0.15%
        assert_eq!(funding_rate(Rate(-20 * BP), &p).unwrap(), Rate(-15 * BP));
        let capped = FundingParams { cap: Some(Rate(10 * BP)), ..p };
        assert_eq!(funding_rate(Rate(-20 * BP), &capped).unwrap(), Rate(-10 * BP));
    }

    #[test]
    fn interest_from_annual_rates() {
        // seed: (5% - 1%) / 3 per day ~ 0.0133% per 8 h
        let i = interest_per_interval(Rate(50_000_000), Rate(10_000_000), 8 * 3600).unwrap();
        assert_eq!(i, Rate(36_529)); // 0.04 x 28800 / 31536000 = 0.0000365296
    }

    #[test]
    fn twap_weights_by_time() {
        let mut a = PremiumAccumulator::default();
        a.add(Rate(10 * BP), 3600).unwrap();
        a.add(Rate(-2 * BP), 7200).unwrap();
        // (10 x 1 - 2 x 2) / 3 = 2 bp
        assert_eq!(a.twap().unwrap(), Rate(2 * BP));
        assert_eq!(PremiumAccumulator::default().twap().unwrap(), Rate(0));
        // over a 4-hour interval the unsampled hour counts as zero: 6 bp / 4 = 1.5 bp
        assert_eq!(a.twap_over(4 * 3600).unwrap(), Rate(15 * BP / 10));
        // a single 60 s sample of +5% in a 1-hour interval: 5% x 60 / 3600
        let mut one = PremiumAccumulator::default();
        one.add(Rate(500 * BP), 60).unwrap();
        assert_eq!(one.twap_over(3600).unwrap(), Rate(500 * BP / 60));
    }

    #[test]
    fn balanced_market_funding_is_conserved() {
        // 10 BTC long, 10 BTC short, F = 0.01%, mark 20,000: each side 20 USD
        let e = funding_event(Rate(BP), Price(20_000_000_000), Base(10_000_000_000), Base(10_000_000_000), Quote(0))
            .unwrap();
        assert_eq!(e.amm_share, Quote(0));
        let mut idx = FundingIndices::default();
        idx.apply(&e).unwrap();
        assert_eq!(position_payment(Base(10_000_000_000), idx.long, FundingIndex(0)).unwrap(), Quote(20_000_000));
        assert_eq!(position_payment(Base(-10_000_000_000), idx.short, FundingIndex(0)).unwrap(), Quote(-20_000_000));
    }

    #[test]
    fn fee_pool_pays_and_is_capped() {
        // 5 long, 10 short, F = +0.01% at 20,000: longs pay 10, shorts are owed 20, vAMM (net long 5) pays 10
        let e = funding_event(
            Rate(BP),
            Price(20_000_000_000),
            Base(5_000_000_000),
            Base(10_000_000_000),
            Quote(100_000_000),
        )
        .unwrap();
        assert_eq!(e.amm_share, Quote(-10_000_000));
        assert!(!e.receiver_capped);
        // fee pool only has 4: shorts receive 10 + 4 = 14 in total -> 1.4 per BTC
        let e =
            funding_event(Rate(BP), Price(20_000_000_000), Base(5_000_000_000), Base(10_000_000_000), Quote(4_000_000))
                .unwrap();
        assert!(e.receiver_capped);
        assert_eq!(e.amm_share, Quote(-4_000_000));
        assert_eq!(
            position_payment(Base(-10_000_000_000), e.delta_short, FundingIndex(0)).unwrap(),
            Quote(-14_000_000)
        );
        // negative rate, more longs than shorts, empty fee pool: longs receive only what shorts pay
        let e = funding_event(Rate(-BP), Price(20_000_000_000), Base(10_000_000_000), Base(5_000_000_000), Quote(0))
            .unwrap();
        assert_eq!(e.amm_share, Quote(0));
        assert_eq!(position_payment(Base(10_000_000_000), e.delta_long, FundingIndex(0)).unwrap(), Quote(-10_000_000));
        assert_eq!(position_payment(Base(-5_000_000_000), e.delta_short, FundingIndex(0)).unwrap(), Quote(10_000_000));
    }

    /// `FundingParams::validate` took `abs()` of the interest, which overflows for i64::MIN.
    #[test]
    fn regression_funding_params_interest_i64_min() {
        let p = FundingParams { interest: Rate(i64::MIN), clamp: Rate(0), cap: None };
        assert_eq!(p.validate(), Err(CoreError::InvalidParameter("interest must be in [-1, 1]")));
        assert_eq!(funding_rate(Rate(0), &p), Err(CoreError::InvalidParameter("interest must be in [-1, 1]")));
    }

    /// The net flow `l x dl - s x ds` can be exactly i128::MIN (mark 2^63, rate -4, 2^62 long,
    /// no short): the cap test negated it and overflowed.
    #[test]
    fn regression_funding_event_net_flow_i128_min() {
        let e = funding_event(Rate(-4), Price(1 << 63), Base(1 << 62), Base(0), Quote(0)).unwrap();
        // no short pays and the pool is empty: the longs receive nothing
        assert!(e.receiver_capped);
        assert_eq!((e.delta_long, e.delta_short, e.amm_share), (FundingIndex(0), FundingIndex(-(1 << 65)), Quote(0)));
    }

    #[test]
    fn socialized_loss_charges_at_least_the_loss() {
        let d = socialize_loss_delta(Quote(1_000_000), Base(3_000_000_000), false).unwrap();
        let paid = position_payment(Base(-3_000_000_000), d, FundingIndex(0)).unwrap();
        assert!(paid >= Quote(1_000_000) && paid <= Quote(1_000_001), "{paid:?}");
    }

    proptest! {
        /// What payers pay covers what receivers get plus the fee pool's share; the fee pool
        /// never pays more than it has.
        #[test]
        fn funding_conservation(rate in -10_000_000i64..10_000_000, mark in 1u64..1_000_000_000_000,
                                longs in proptest::collection::vec(0i64..100_000_000_000, 0..6),
                                shorts in proptest::collection::vec(0i64..100_000_000_000, 0..6),
                                pool in 0i64..1_000_000_000_000) {
            let l: i64 = longs.iter().sum();
            let s: i64 = shorts.iter().sum();
            prop_assume!(l > 0 || s > 0);
            let e = funding_event(Rate(rate), Price(mark), Base(l), Base(s), Quote(pool)).unwrap();
            prop_assert!(e.amm_share.0 >= -pool);
            let mut total: i128 = 0; // sum of payments by positions
            for b in &longs { total += position_payment(Base(*b), e.delta_long, FundingIndex(0)).unwrap().0 as i128; }
            for b in &shorts { total += position_payment(Base(-*b), e.delta_short, FundingIndex(0)).unwrap().0 as i128; }
            prop_assert!(total >= e.amm_share.0 as i128, "positions paid {} < amm share {}", total, e.amm_share.0);
        }
    }
}
