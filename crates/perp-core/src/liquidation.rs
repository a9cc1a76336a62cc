//! Liquidation price, bankruptcy price, and the money of a liquidation.
//!
//! A margin group (an isolated position, or the cross part of an account) is liquidatable at mark
//! price `p` when `equity(p) < maintenance(p)`. For one position of signed size `b` and entry flow
//! `q`, with every other term folded into an effective collateral `C` (collateral, minus funding
//! owed, plus the other positions' PnL, minus their maintenance requirement, all at their own
//! marks), the boundary solves `C + q + b p - |b| p m_k + A_k = 0` where `m_k`, `A_k` are the rate
//! and tier amount of the tier that `|b| p` falls in:
//!
//! `p = -(C + q + A_k) / (b - |b| m_k)`  (long: `b > 0`; short: `b < 0`).
//!
//! The tier is found by trying each in turn and keeping the one whose notional at its own
//! solution lies inside it, then the answer is snapped to the exact tick where the integer health
//! check the program runs flips, so the price shown is the price enforced:
//! - long: the highest price at which the group is liquidatable;
//! - short: the lowest price at which the group is liquidatable.
//!
//! Bankruptcy price: equity = 0, `p = -(C + q) / b`, rounded so that at that price the group's
//! equity is not negative (long: up, short: down).

use crate::error::{CoreError, CoreResult};
use crate::margin::{requirement, MarginKind, PositionState, Tier};
use crate::units::{div_round, Base, Price, Quote, Rate, Round, RATE_PRECISION};

/// Highest price the search considers (10^12 quote per base unit).
pub const MAX_PRICE: Price = Price(1_000_000_000_000_000_000);

/// The integer health predicate the program enforces: `C + upnl(p) < MM(p)`.
pub fn liquidatable_at(pos: &PositionState, collateral: Quote, tiers: &[Tier], p: Price) -> CoreResult<bool> {
    let equity = collateral.checked_add(pos.upnl(p)?)?;
    let mm = requirement(tiers, pos.notional(p)?, MarginKind::Maintenance)?;
    Ok(equity < mm)
}

/// Equity minus maintenance requirement at `p` (negative = liquidatable).
pub fn margin_excess_at(pos: &PositionState, collateral: Quote, tiers: &[Tier], p: Price) -> CoreResult<Quote> {
    let equity = collateral.checked_add(pos.upnl(p)?)?;
    let mm = requirement(tiers, pos.notional(p)?, MarginKind::Maintenance)?;
    equity.checked_sub(mm)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationPrice {
    pub price: Price,
    /// The tier (0-based) whose rate applies at the liquidation price.
    pub tier: usize,
}

/// Liquidation price of `pos` with effective collateral `collateral`. `Ok(None)` when no positive
/// price below [`MAX_PRICE`] makes it liquidatable (e.g. a fully collateralised long).
pub fn liquidation_price(
    pos: &PositionState,
    collateral: Quote,
    tiers: &[Tier],
) -> CoreResult<Option<LiquidationPrice>> {
    if pos.base.is_zero() {
        return Err(CoreError::ZeroSize);
    }
    crate::margin::validate_tiers(tiers)?;
    let long = pos.base.is_positive();
    let b = pos.base.0 as i128;
    let abs_b = b.abs();
    let cq = collateral.0 as i128 + pos.quote_entry.0 as i128;

    // analytic guess, tier by tier
    let mut guess: Option<(i128, usize)> = None;
    for (k, t) in tiers.iter().enumerate() {
        let amount_scaled = tier_amount_scaled(tiers, k)?;
        let den = b * RATE_PRECISION as i128 - abs_b * t.mmr.0 as i128;
        if den == 0 {
            continue;
        }
        let num = -(cq * RATE_PRECISION as i128 + amount_scaled) * crate::units::BASE_PRECISION as i128;
        let p = div_round(num, den, Round::Down)?;
        if p <= 0 {
            continue;
        }
        // the notional at p must lie in tier k
        let notional = abs_b * p / crate::units::BASE_PRECISION as i128;
        let lo = if k == 0 { 0 } else { tiers[k - 1].cap.0 as i128 };
        let hi = if k + 1 == tiers.len() { i128::MAX } else { t.cap.0 as i128 };
        if notional >= lo && notional <= hi {
            guess = Some((p, k));
            break;
        }
    }

    // the highest price at which this size's value still fits the quote type
    let max = (MAX_PRICE.0 as i128).min(i64::MAX as i128 * crate::units::BASE_PRECISION as i128 / abs_b / 2);
    let liq = |p: i128| -> CoreResult<bool> {
        let p = Price(u64::try_from(p.clamp(0, max)).unwrap_or(0));
        liquidatable_at(pos, collateral, tiers, p)
    };
    let start = guess.map(|g| g.0).unwrap_or(if long { 0 } else { max }).clamp(1, max);

    // snap to the boundary tick with a short walk, falling back to bisection
    let boundary = if long {
        // want max p with liq(p); liq is true below the boundary
        if !liq(1)? {
            return Ok(None);
        }
        find_boundary(start, 1, max, true, &liq)?
    } else {
        if !liq(max)? {
            return Ok(None);
        }
        find_boundary(start, 1, max, false, &liq)?
    };
    // The integer check is not strictly monotone tick by tick: PnL rounds down and requirements
    // round up, together at most 3 raw quote units from the exact (monotone) value. Past the
    // boundary, look for the outermost tick where the check still holds.
    let w = rounding_window(pos, tiers);
    let mut edge = boundary;
    for k in 1..=w {
        let p = if long { boundary + k } else { boundary - k };
        if p < 1 || p > max {
            break;
        }
        if liq(p)? {
            edge = p;
        }
    }
    let price = Price(edge as u64);
    let tier = crate::margin::tier_index(tiers, pos.notional(price)?);
    Ok(Some(LiquidationPrice { price, tier }))
}

/// Most ticks beyond the first flip where rounding can flip the check back: the exact margin
/// excess moves by at least `|b| (1 - max MMR)` (long) or `|b|` (short) per price tick, so after
/// `3 / slope` ticks it has moved past any rounding. Capped at [`ROUNDING_WINDOW_CAP`] ticks.
pub fn rounding_window(pos: &PositionState, tiers: &[Tier]) -> i128 {
    let b = (pos.base.0 as i128).abs().max(1);
    let m = if pos.base.is_positive() {
        let max_mmr = tiers.iter().map(|t| t.mmr.0 as i128).max().unwrap_or(0);
        (RATE_PRECISION as i128 - max_mmr).max(1)
    } else {
        RATE_PRECISION as i128
    };
    // slope in raw quote per tick = b * m / 1e18
    let w =
        div_round(3 * 1_000_000_000_000_000_000i128, b.saturating_mul(m), Round::Up).unwrap_or(ROUNDING_WINDOW_CAP) + 1;
    w.min(ROUNDING_WINDOW_CAP)
}

/// Largest window scanned past the boundary (sizes below ~10^-5 base units are not resolved
/// tick-exactly).
pub const ROUNDING_WINDOW_CAP: i128 = 1_000_000;

fn tier_amount_scaled(tiers: &[Tier], k: usize) -> CoreResult<i128> {
    let mut a: i128 = 0;
    for i in 1..=k {
        a += tiers[i - 1].cap.0 as i128 * (tiers[i].mmr.0 as i128 - tiers[i - 1].mmr.0 as i128);
    }
    Ok(a)
}

/// For a long (`below = true`): the largest p in [lo, hi] with pred(p) true, given pred(lo) true
/// and pred monotone decreasing. For a short: the smallest p with pred(p), pred(hi) true.
fn find_boundary(
    start: i128,
    lo: i128,
    hi: i128,
    below: bool,
    pred: &dyn Fn(i128) -> CoreResult<bool>,
) -> CoreResult<i128> {
    // walk a few ticks from the analytic guess
    let mut p = start;
    for _ in 0..8 {
        let here = pred(p)?;
        if below {
            if here && !pred(p + 1)? {
                return Ok(p);
            }
            p = if here { (p + 1).min(hi) } else { (p - 1).max(lo) };
        } else {
            if here && !pred(p - 1)? {
                return Ok(p);
            }
            p = if here { (p - 1).max(lo) } else { (p + 1).min(hi) };
        }
    }
    // bisection on [lo, hi]
    let (mut a, mut b) = (lo, hi);
    if below {
        // pred(a) true; find last true
        while a < b {
            let mid = a + (b - a + 1) / 2;
            if pred(mid)? {
                a = mid;
            } else {
                b = mid - 1;
            }
        }
        Ok(a)
    } else {
        // pred(b) true; find first true
        while a < b {
            let mid = a + (b - a) / 2;
            if pred(mid)? {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        Ok(b)
    }
}

/// Bankruptcy price: where equity reaches zero. Long rounds up, short rounds down, so the group's
/// equity at the returned price is >= 0. `Price(0)` for a long that cannot go bankrupt.
pub fn bankruptcy_price(pos: &PositionState, collateral: Quote) -> CoreResult<Price> {
    if pos.base.is_zero() {
        return Err(CoreError::ZeroSize);
    }
    let cq = collateral.0 as i128 + pos.quote_entry.0 as i128;
    let b = pos.base.0 as i128;
    let round = if b > 0 { Round::Up } else { Round::Down };
    let p = div_round(-cq * crate::units::BASE_PRECISION as i128, b, round)?;
    Ok(Price(u64::try_from(p.max(0)).map_err(|_| CoreError::Overflow)?))
}

/// Liquidation fee parameters (fractions of the closed notional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationFees {
    /// Total fee rate on the closed notional.
    pub fee_rate: Rate,
    /// Share of the fee paid to the liquidator (the rest to the insurance vault).
    pub liquidator_share: Rate,
}

impl LiquidationFees {
    pub fn validate(&self) -> CoreResult<()> {
        if self.fee_rate.0 < 0 || self.fee_rate.0 > RATE_PRECISION / 2 {
            return Err(CoreError::InvalidParameter("liquidation fee must be in [0, 0.5]"));
        }
        if self.liquidator_share.0 < 0 || self.liquidator_share.0 > RATE_PRECISION {
            return Err(CoreError::InvalidParameter("liquidator share must be in [0, 1]"));
        }
        Ok(())
    }
}

/// The money of one liquidation step, in the order it is paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiquidationOutcome {
    /// PnL realized by the closing fill (negative = loss).
    pub realized: Quote,
    /// Liquidator reward (paid by the user's margin first, by the insurance vault for the rest).
    pub liquidator_reward: Quote,
    /// Fee paid to the insurance vault out of the user's margin.
    pub insurance_fee: Quote,
    /// What the insurance vault pays (covers a loss beyond the margin, and the reward's shortfall).
    pub insurance_draw: Quote,
    /// Uncovered remainder (the insurance vault was too small): zero unless bankrupt.
    pub deficit: Quote,
    /// The group's collateral after the step (>= 0 when no deficit).
    pub collateral_after: Quote,
}

/// Splits a liquidation's money: `collateral` is the group's collateral before the fill (after
/// funding), `realized` the fill's PnL, `closed_notional` the closed size at the fill price.
/// Waterfall: the loss, then the liquidator reward, come out of the margin; the insurance vault
/// covers what the margin cannot (up to `insurance`); the insurance fee is taken only from margin
/// left after both. A negative `closed_notional` is an invalid parameter.
pub fn liquidation_outcome(
    collateral: Quote,
    realized: Quote,
    closed_notional: Quote,
    fees: &LiquidationFees,
    insurance: Quote,
) -> CoreResult<LiquidationOutcome> {
    fees.validate()?;
    if closed_notional.is_negative() {
        return Err(CoreError::InvalidParameter("closed notional must be >= 0"));
    }
    let fee = closed_notional.mul_rate(fees.fee_rate, Round::Up)?;
    let reward = fee.mul_rate(fees.liquidator_share, Round::Down)?;
    let insurance_fee_nominal = fee.checked_sub(reward)?;
    let after_pnl = collateral.checked_add(realized)?;
    let after_reward = after_pnl.checked_sub(reward)?;
    let mut out = LiquidationOutcome { realized, liquidator_reward: reward, ..Default::default() };
    if after_reward.is_negative() {
        let need = after_reward.checked_neg()?;
        let draw = need.min(insurance.max(Quote::ZERO));
        out.insurance_draw = draw;
        out.deficit = need.checked_sub(draw)?;
        out.collateral_after = Quote::ZERO.checked_sub(out.deficit)?;
        out.insurance_fee = Quote::ZERO;
    } else {
        out.insurance_fee = insurance_fee_nominal.min(after_reward);
        out.collateral_after = after_reward.checked_sub(out.insurance_fee)?;
    }
    Ok(out)
}

/// Smallest close size (in `[min_size, |size|]`) whose post-close state satisfies `healthy`,
/// assuming `healthy` is monotone in the closed size; `|size|` if no smaller size works.
/// Keepers use it with a predicate that quotes the vAMM and checks the buffer the program checks.
/// A zero `size` is [`CoreError::ZeroSize`].
pub fn min_close_size(size: Base, min_size: Base, healthy: &dyn Fn(Base) -> CoreResult<bool>) -> CoreResult<Base> {
    let full = size.abs()?;
    if full.is_zero() {
        return Err(CoreError::ZeroSize);
    }
    let lo0 = min_size.0.clamp(1, full.0);
    if healthy(Base(lo0))? {
        return Ok(Base(lo0));
    }
    let (mut lo, mut hi) = (lo0, full.0);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if healthy(Base(mid))? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Base(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::margin::{Tier, UNBOUNDED};
    use proptest::prelude::*;

    const BTC: i64 = 1_000_000_000;
    const USD: i64 = 1_000_000;

    fn flat(mmr: i64) -> [Tier; 1] {
        [Tier { cap: UNBOUNDED, imr: Rate(mmr * 2), mmr: Rate(mmr) }]
    }

    fn seed_tiers() -> [Tier; 4] {
        [
            Tier { cap: Quote(50_000 * USD), imr: Rate(10_000_000), mmr: Rate(5_000_000) },
            Tier { cap: Quote(250_000 * USD), imr: Rate(20_000_000), mmr: Rate(10_000_000) },
            Tier { cap: Quote(1_000_000 * USD), imr: Rate(50_000_000), mmr: Rate(25_000_000) },
            Tier { cap: UNBOUNDED, imr: Rate(100_000_000), mmr: Rate(50_000_000) },
        ]
    }

    #[test]
    fn seed_long_example_exact() {
        // 1 BTC long at 60,000 with 6,000 collateral, MMR 0.5%: p = 54,000 / 0.995 = 54,271.356783..
        let pos = PositionState { base: Base(BTC), quote_entry: Quote(-60_000 * USD) };
        let lp = liquidation_price(&pos, Quote(6_000 * USD), &flat(5_000_000)).unwrap().unwrap();
        assert_eq!(lp.price, Price(54_271_356_783));
        assert!(liquidatable_at(&pos, Quote(6_000 * USD), &flat(5_000_000), lp.price).unwrap());
        assert!(!liquidatable_at(&pos, Quote(6_000 * USD), &flat(5_000_000), Price(lp.price.0 + 1)).unwrap());
        assert_eq!(bankruptcy_price(&pos, Quote(6_000 * USD)).unwrap(), Price(54_000_000_000));
    }

    #[test]
    fn fractional_size_takes_the_outermost_liquidatable_tick() {
        // 0.5 BTC long, q = -29,999.999809, C = 3,000, MMR 0.5%: rounding makes the check flip
        // back two ticks above the first flip; the shown price is the outermost one
        let pos = PositionState { base: Base(BTC / 2), quote_entry: Quote(-29_999_999_809) };
        let t = flat(5_000_000);
        let lp = liquidation_price(&pos, Quote(3_000 * USD), &t).unwrap().unwrap();
        assert!(liquidatable_at(&pos, Quote(3_000 * USD), &t, lp.price).unwrap());
        for k in 1..=rounding_window(&pos, &t) as u64 {
            assert!(!liquidatable_at(&pos, Quote(3_000 * USD), &t, Price(lp.price.0 + k)).unwrap(), "+{k}");
        }
    }

    #[test]
    fn short_example_exact() {
        // 1 BTC short at 60,000 with 6,000: p = 66,000 / 1.005 = 65,671.641791..
        let pos = PositionState { base: Base(-BTC), quote_entry: Quote(60_000 * USD) };
        let lp = liquidation_price(&pos, Quote(6_000 * USD), &flat(5_000_000)).unwrap().unwrap();
        assert_eq!(lp.price, Price(65_671_641_792));
        assert_eq!(bankruptcy_price(&pos, Quote(6_000 * USD)).unwrap(), Price(66_000_000_000));
    }

    #[test]
    fn tier_crossing_is_recomputed() {
        // 10 BTC long at 30,000 (300k notional, tier 3 at entry) with 30,000 collateral.
        // At the liquidation price the notional (~27.4k x 10 = 274k) is still in tier 3 (250k-1M):
        // p = (300,000 - 30,000 - 4,000) / (10 x 0.975) = 27,282.05..
        let pos = PositionState { base: Base(10 * BTC), quote_entry: Quote(-300_000 * USD) };
        let lp = liquidation_price(&pos, Quote(30_000 * USD), &seed_tiers()).unwrap().unwrap();
        assert_eq!(lp.tier, 2);
        assert_eq!(lp.price, Price(27_282_051_282));
        // with 60,000 collateral the price falls to ~24.2k, notional 242k: tier 2 (50k-250k)
        // p = (300,000 - 60,000 - 250) / (10 x 0.99) = 24,217.17..
        let lp = liquidation_price(&pos, Quote(60_000 * USD), &seed_tiers()).unwrap().unwrap();
        assert_eq!(lp.tier, 1);
        assert_eq!(lp.price, Price(24_217_171_717));
    }

    #[test]
    fn fully_collateralised_long_has_none() {
        let pos = PositionState { base: Base(BTC), quote_entry: Quote(-60_000 * USD) };
        assert_eq!(liquidation_price(&pos, Quote(61_000 * USD), &flat(5_000_000)).unwrap(), None);
        assert_eq!(bankruptcy_price(&pos, Quote(61_000 * USD)).unwrap(), Price(0));
    }

    #[test]
    fn outcome_waterfall() {
        let fees = LiquidationFees { fee_rate: Rate(10_000_000), liquidator_share: Rate(500_000_000) };
        // closing 50,000 notional with 1,000 margin left after a -5,000 loss: fee 500 -> 250 / 250
        let o =
            liquidation_outcome(Quote(6_000 * USD), Quote(-5_000 * USD), Quote(50_000 * USD), &fees, Quote(0)).unwrap();
        assert_eq!(o.liquidator_reward, Quote(250 * USD));
        assert_eq!(o.insurance_fee, Quote(250 * USD));
        assert_eq!(o.collateral_after, Quote(500 * USD));
        assert_eq!(o.insurance_draw, Quote(0));
        // loss beyond margin: -6,100 on 6,000 -> reward 250 + 100 loss from insurance
        let o = liquidation_outcome(
            Quote(6_000 * USD),
            Quote(-6_100 * USD),
            Quote(50_000 * USD),
            &fees,
            Quote(1_000 * USD),
        )
        .unwrap();
        assert_eq!(o.insurance_draw, Quote(350 * USD));
        assert_eq!(o.insurance_fee, Quote(0));
        assert_eq!(o.collateral_after, Quote(0));
        assert_eq!(o.deficit, Quote(0));
        // insurance too small
        let o =
            liquidation_outcome(Quote(6_000 * USD), Quote(-6_100 * USD), Quote(50_000 * USD), &fees, Quote(200 * USD))
                .unwrap();
        assert_eq!(o.insurance_draw, Quote(200 * USD));
        assert_eq!(o.deficit, Quote(150 * USD));
    }

    #[test]
    fn min_close_size_bisects() {
        let s = min_close_size(Base(1_000), Base(10), &|x| Ok(x.0 >= 377)).unwrap();
        assert_eq!(s, Base(377));
        assert_eq!(min_close_size(Base(1_000), Base(10), &|_| Ok(true)).unwrap(), Base(10));
        assert_eq!(min_close_size(Base(1_000), Base(10), &|_| Ok(false)).unwrap(), Base(1_000));
    }

    /// `min_close_size` of a zero size clamped `min_size` into `[1, 0]`, which panics.
    #[test]
    fn regression_min_close_size_zero_size_is_an_error() {
        assert_eq!(min_close_size(Base(0), Base(10), &|_| Ok(true)), Err(CoreError::ZeroSize));
        assert_eq!(min_close_size(Base(0), Base(-5), &|_| Ok(false)), Err(CoreError::ZeroSize));
        assert_eq!(min_close_size(Base(-3), Base(10), &|_| Ok(true)).unwrap(), Base(3));
    }

    /// A negative closed notional gave a negative fee, so a negative liquidator reward and
    /// insurance fee (money flowing from the liquidator to the liquidated account).
    #[test]
    fn regression_liquidation_outcome_rejects_negative_notional() {
        let fees = LiquidationFees { fee_rate: Rate(10_000_000), liquidator_share: Rate(500_000_000) };
        assert_eq!(
            liquidation_outcome(Quote(6_000 * USD), Quote(0), Quote(-50_000 * USD), &fees, Quote(0)),
            Err(CoreError::InvalidParameter("closed notional must be >= 0"))
        );
        assert!(liquidation_outcome(Quote(6_000 * USD), Quote(0), Quote(0), &fees, Quote(0)).is_ok());
    }

    proptest! {
        /// The returned price is exactly where the program's integer check flips, and the
        /// analytic equation holds there within one tick of size.
        #[test]
        fn liquidation_price_is_the_boundary(size in prop_oneof![1_000_000i64..10_000_000, 1_000_000i64..1_000_000_000_000], entry in 1_000_000u64..100_000_000_000,
                                             lev in 2i64..100, long in any::<bool>(), tiered in any::<bool>()) {
            let b = if long { size } else { -size };
            let entry_q = Base(size).value_at(Price(entry), Round::Down).unwrap();
            prop_assume!(entry_q.0 > 0);
            let pos = PositionState { base: Base(b), quote_entry: if long { entry_q.checked_neg().unwrap() } else { entry_q } };
            let coll = Quote(entry_q.0 / lev);
            let tiers: std::vec::Vec<Tier> = if tiered { seed_tiers().to_vec() } else { flat(5_000_000).to_vec() };
            let Some(lp) = liquidation_price(&pos, coll, &tiers).unwrap() else {
                prop_assert!(long);
                return Ok(());
            };
            let p = lp.price;
            prop_assert!(liquidatable_at(&pos, coll, &tiers, p).unwrap());
            // nothing beyond the returned tick is liquidatable (within the rounding window, and
            // certainly after it, where the exact excess has moved past any rounding)
            let w = rounding_window(&pos, &tiers);
            for k in 1..=w.min(20_000) as u64 {
                let next = if long { Price(p.0 + k) } else { Price(p.0.saturating_sub(k)) };
                prop_assert!(!liquidatable_at(&pos, coll, &tiers, next).unwrap(), "liquidatable {} ticks past {:?}", k, p);
            }
            // equity - MM at p is within one tick's move of zero: one tick moves equity by the
            // size's value of one tick and MM by that times the MMR (<= 10% here), plus three
            // roundings (PnL floor, notional ceiling, requirement ceiling)
            let excess = margin_excess_at(&pos, coll, &tiers, p).unwrap();
            let one = Base(size).value_at(Price(1), Round::Up).unwrap().0;
            let tick_value = one + one / 10 + 3;
            prop_assert!(excess.0 < 0 && excess.0 >= -tick_value, "excess {} tick {}", excess.0, tick_value);
            prop_assert_eq!(lp.tier, crate::margin::tier_index(&tiers, pos.notional(p).unwrap()));
            // the liquidation price is reached before the bankruptcy price
            let bp = bankruptcy_price(&pos, coll).unwrap();
            if long { prop_assert!(p >= bp); } else { prop_assert!(p <= bp); }
        }
    }
}
