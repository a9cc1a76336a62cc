//! Repeg: moving the vAMM's peg toward the index, paid for exactly by the market's fee pool.
//!
//! The curve holds `B` base and `Q(B) = ceil(k / B)` virtual quote; its mid price is `Q x peg / B`.
//! Traders' net position is `N = oi_long - oi_short` (base). However they close it, on the curve
//! it moves `B` to `B + N` and realizes the virtual quote `Q(B) - Q(B + N)` times the peg (the
//! reserves are a function of `B` alone, so the order of the closes does not matter). Nothing else
//! about the curve depends on the peg, so changing the peg from `p0` to `p1` changes what traders
//! can take out of the curve by exactly
//!
//! ```text
//! cost = ceil((p1 - p0) x (Q(B) - Q(B + N)) / 10^9)      (quote raw units, signed)
//! ```
//!
//! Positive: the traders' side gains and the protocol pays (fee pool -> PnL pool); negative: the
//! protocol gains (PnL pool -> fee pool). Rounding up means the protocol pays the ceiling and
//! receives the floor. The cost is taken from the traders' actual net position, not from the
//! curve's own inventory: positions closed off the curve (a resolved bankruptcy) leave inventory on
//! the curve that nobody holds, and a repeg neither pays nor charges for it. Positions, collateral
//! and the index-based mark do not change. This is Drift's formulaic repeg, derived for our
//! curve; `k` is left unchanged.

use crate::error::{CoreError, CoreResult};
use crate::units::{mul_div, mul_div_u128, Base, Price, Quote, Rate, Round, BASE_PRECISION, RATE_PRECISION};
use crate::vamm::Vamm;

/// `Q(B) - Q(B + net)`: the virtual quote traders' net position `net` (base, long > 0) realizes
/// per unit of peg when it closes on the curve (positive when traders are net long).
pub fn open_quote(v: &Vamm, net: Base) -> CoreResult<i128> {
    let b = v.base_reserve;
    let after = if net.0 >= 0 { b.checked_add(net.0 as u128) } else { b.checked_sub(net.0.unsigned_abs() as u128) }
        .filter(|x| *x > 0)
        .ok_or(CoreError::InsufficientLiquidity)?;
    let q = v.quote_reserve()?;
    let q_after = v.k.div_ceil(after);
    let (q, q_after) = (
        i128::try_from(q).map_err(|_| CoreError::Overflow)?,
        i128::try_from(q_after).map_err(|_| CoreError::Overflow)?,
    );
    Ok(q - q_after)
}

/// What the protocol pays (positive) or receives (negative) when the peg becomes `new_peg` while
/// traders hold the net position `net`.
pub fn repeg_cost(v: &Vamm, net: Base, new_peg: Price) -> CoreResult<Quote> {
    if new_peg.is_zero() || v.peg.is_zero() {
        return Err(CoreError::InvalidParameter("vAMM peg must be > 0"));
    }
    let dp = new_peg.0 as i128 - v.peg.0 as i128;
    let c = mul_div(dp, open_quote(v, net)?, BASE_PRECISION as i128, Round::Up)?;
    Ok(Quote(i64::try_from(c).map_err(|_| CoreError::Overflow)?))
}

/// The peg at which the curve's mid price is `target` (rounded down; at least 1).
pub fn peg_for_price(v: &Vamm, target: Price) -> CoreResult<Price> {
    if target.is_zero() {
        return Err(CoreError::NegativePrice);
    }
    let q = v.quote_reserve()?;
    if q == 0 {
        return Err(CoreError::InsufficientLiquidity);
    }
    let p = mul_div_u128(target.0 as u128, v.base_reserve, q, Round::Down)?;
    Ok(Price(u64::try_from(p).map_err(|_| CoreError::Overflow)?.max(1)))
}

/// The most one repeg may move the peg (fraction of it) on a market whose taker fee is `fee`:
/// `floor(2 x fee / (1 + fee))`. A trader who opens, sees a repeg of `d` and closes in one slot
/// gains `d` of the notional and pays `fee` on the opening leg and `fee x (1 - d)` on the
/// closing one (after an adverse-to-the-curve move the closing notional is smaller), so the
/// round trip gains nothing while `d <= fee x (2 - d)`, i.e. `d <= 2 fee / (1 + fee)`.
pub fn max_step(fee: Rate) -> Rate {
    if fee.0 <= 0 {
        return Rate(0);
    }
    let f = fee.0 as i128;
    let one = RATE_PRECISION as i128;
    Rate(((2 * f * one) / (one + f)) as i64)
}

/// A planned peg change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeg {
    pub peg: Price,
    /// [`repeg_cost`] of the change (positive = paid by the fee pool).
    pub cost: Quote,
    /// True when the peg reaches the target; false when the budget stopped it short.
    pub full: bool,
}

/// The peg change moving the curve's mid toward `target`:
/// - `net`: traders' net position (`oi_long - oi_short`);
/// - at most `max_step` of the current peg per update (the program uses [`max_step`] of the taker fee, so a
///   trade, a repeg and the closing trade in one slot pay more in fees than the repeg moves);
/// - all the way when the move costs at most `budget` (>= 0, what the fee pool may pay for this
///   update) or earns the protocol money;
/// - otherwise the largest step toward the target whose cost fits the budget.
pub fn plan_repeg(v: &Vamm, net: Base, target: Price, budget: Quote, max_step: Rate) -> CoreResult<Repeg> {
    if budget.is_negative() || max_step.is_negative() {
        return Err(CoreError::InvalidParameter("repeg budget and step must be >= 0"));
    }
    if v.peg.is_zero() {
        return Err(CoreError::InvalidParameter("vAMM peg must be > 0"));
    }
    let target_peg = peg_for_price(v, target)?;
    let step = mul_div(v.peg.0 as i128, max_step.0 as i128, RATE_PRECISION as i128, Round::Down)?;
    let (lo, hi) = ((v.peg.0 as i128 - step).max(1), v.peg.0 as i128 + step);
    let goal = Price(u64::try_from((target_peg.0 as i128).clamp(lo, hi)).map_err(|_| CoreError::Overflow)?);
    let cost = repeg_cost(v, net, goal)?;
    if cost.0 <= budget.0 {
        return Ok(Repeg { peg: goal, cost, full: goal == target_peg });
    }
    // cost > budget >= 0: the move and the open quote have the same sign; |dp| x |D| <= budget x 1e9
    let d = open_quote(v, net)?.unsigned_abs();
    let max_dp = mul_div_u128(budget.0 as u128, BASE_PRECISION as u128, d, Round::Down)?;
    let dp = i128::try_from(max_dp).map_err(|_| CoreError::Overflow)?;
    let dp = if goal.0 > v.peg.0 { dp } else { -dp };
    let peg = Price(u64::try_from((v.peg.0 as i128 + dp).max(1)).map_err(|_| CoreError::Overflow)?);
    let cost = repeg_cost(v, net, peg)?;
    Ok(Repeg { peg, cost, full: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vamm::Side;
    use proptest::prelude::*;

    const BTC: i64 = 1_000_000_000;
    const ONE: Rate = Rate(1_000_000_000);

    fn curve(depth_btc: u128, peg: u64) -> Vamm {
        Vamm::new(depth_btc * BTC as u128, Price(peg * 1_000_000)).unwrap()
    }

    /// Traders trade `sizes` (long > 0) on `v`; returns their net position.
    fn trade(v: &mut Vamm, sizes: &[i64]) -> Base {
        let mut net = 0;
        for &b in sizes {
            let side = if b > 0 { Side::Long } else { Side::Short };
            let f = v.quote_trade(side, Base(b.abs())).unwrap();
            v.apply(&f);
            net += f.base.0;
        }
        Base(net)
    }

    #[test]
    fn max_step_is_just_under_twice_the_fee() {
        // 0.05% taker fee: floor(2 x 0.0005 / 1.0005) = 0.09995%
        assert_eq!(max_step(Rate(500_000)), Rate(999_500));
        assert_eq!(max_step(Rate(0)), Rate(0));
        assert_eq!(max_step(Rate(-1)), Rate(0));
        assert_eq!(max_step(ONE), ONE); // 2 x 1 / 2
    }

    #[test]
    fn balanced_curve_repegs_for_free() {
        let v = curve(1_000, 20_000);
        assert_eq!(open_quote(&v, Base(0)).unwrap(), 0);
        let r = plan_repeg(&v, Base(0), Price(21_000_000_000), Quote(0), ONE).unwrap();
        assert_eq!((r.peg, r.cost, r.full), (Price(21_000_000_000), Quote(0), true));
        // a step cap of 0.05% stops it at 20,010
        let r = plan_repeg(&v, Base(0), Price(21_000_000_000), Quote(0), Rate(500_000)).unwrap();
        assert_eq!((r.peg, r.cost, r.full), (Price(20_010_000_000), Quote(0), false));
    }

    #[test]
    fn cost_of_a_long_skewed_curve_by_hand() {
        // traders bought 10 BTC of a 1,000 BTC curve at 20,000: Q(B) - Q(B + N) = 10 BTC x 1000/990
        let mut v = curve(1_000, 20_000);
        let net = trade(&mut v, &[10 * BTC]);
        assert_eq!(open_quote(&v, net).unwrap(), 10_101_010_102); // ceil(10^24 / 990e9) - 10^12
                                                                  // peg +100: the traders' longs gain 100 x 10.101... = 1,010.10 USDC, rounded up
        assert_eq!(repeg_cost(&v, net, Price(20_100_000_000)).unwrap(), Quote(1_010_101_011));
        // peg -100: the protocol gains the floor
        assert_eq!(repeg_cost(&v, net, Price(19_900_000_000)).unwrap(), Quote(-1_010_101_010));
    }

    /// Inventory nobody holds (a long closed off the curve by a resolved bankruptcy) is neither paid
    /// for nor charged: with no trader position left, a repeg costs nothing whichever way.
    #[test]
    fn inventory_closed_off_the_curve_is_not_paid_for() {
        let mut v = curve(1_000, 20_000);
        trade(&mut v, &[5 * BTC]);
        // the long is closed off-curve: traders' net is 0 though the curve still shows 5 BTC sold
        assert_eq!(repeg_cost(&v, Base(0), Price(18_000_000_000)).unwrap(), Quote(0));
        assert_eq!(repeg_cost(&v, Base(0), Price(22_000_000_000)).unwrap(), Quote(0));
        // a short of 5 opened afterwards (curve back at balance): only it is paid for
        let net = trade(&mut v, &[-5 * BTC]);
        let c = repeg_cost(&v, Base(net.0), Price(20_100_000_000)).unwrap();
        assert!(c.0 < 0, "a short loses when the peg rises: the protocol gains {c:?}");
    }

    #[test]
    fn budget_stops_the_move_short() {
        let mut v = curve(1_000, 20_000);
        let net = trade(&mut v, &[10 * BTC]);
        let r = plan_repeg(&v, net, Price(21_000_000_000), Quote(500_000_000), ONE).unwrap();
        assert!(!r.full && r.cost.0 <= 500_000_000 && r.cost.0 > 499_000_000, "{r:?}");
        assert!(r.peg > v.peg);
        // toward a lower price the long-skewed curve earns: no budget needed
        let r = plan_repeg(&v, net, Price(19_000_000_000), Quote(0), ONE).unwrap();
        assert!(r.full && r.cost.0 < 0);
    }

    /// Quote each trader receives closing its position (positive = receives).
    fn close_all(v: &mut Vamm, positions: &[i64]) -> i128 {
        let mut total = 0i128;
        for &b in positions {
            if b == 0 {
                continue;
            }
            let side = if b > 0 { Side::Short } else { Side::Long };
            let f = v.quote_trade(side, Base(b.abs())).unwrap();
            v.apply(&f);
            total += f.quote.0 as i128;
        }
        total
    }

    proptest! {
        /// Traders trade (some positions then leave off the curve), the peg moves, the remaining
        /// traders close in any order: what they take out is at most the exact value of their
        /// position at the old peg plus the cost the fee pool paid in, and at least the exact value
        /// at the new peg less one raw unit per close.
        #[test]
        fn repeg_cost_is_what_traders_can_take_out(
            trades in prop::collection::vec((any::<bool>(), 1i64..50 * BTC), 1..6),
            off_curve in prop::collection::vec(any::<bool>(), 6),
            new_peg in 10_000_000_000u64..40_000_000_000,
            reverse in any::<bool>(),
        ) {
            let mut v = curve(1_000, 20_000);
            let mut positions = vec![];
            for (i, (long, size)) in trades.into_iter().enumerate() {
                let side = if long { Side::Long } else { Side::Short };
                if let Ok(f) = v.quote_trade(side, Base(size)) {
                    v.apply(&f);
                    // a position closed off the curve is gone; the curve keeps its inventory
                    if !off_curve[i] {
                        positions.push(f.base.0);
                    }
                }
            }
            if reverse {
                positions.reverse();
            }
            let net = Base(positions.iter().sum());
            let d = open_quote(&v, net).unwrap();
            let cost = repeg_cost(&v, net, Price(new_peg)).unwrap();
            let mut with = v;
            with.peg = Price(new_peg);
            let taken = close_all(&mut with, &positions) * BASE_PRECISION as i128;
            let booked = d * v.peg.0 as i128 + cost.0 as i128 * BASE_PRECISION as i128;
            prop_assert!(taken <= booked, "traders take {} > booked {} (x1e-9)", taken, booked);
            let n = positions.len() as i128;
            prop_assert!(taken >= d * new_peg as i128 - n * BASE_PRECISION as i128, "taken {} far below the new value", taken);
        }

        /// A planned repeg never costs more than the budget, never steps more than the cap, always
        /// moves toward the target and never past it.
        #[test]
        fn repeg_toward_respects_the_budget(
            long in any::<bool>(),
            size in 0i64..200 * BTC,
            target in 10_000_000_000u64..40_000_000_000,
            budget in 0i64..100_000_000_000,
            max_step in 0i64..1_000_000_000,
        ) {
            let mut v = curve(1_000, 20_000);
            let net = if size > 0 { trade(&mut v, &[if long { size } else { -size }]) } else { Base(0) };
            let goal = peg_for_price(&v, Price(target)).unwrap();
            let r = plan_repeg(&v, net, Price(target), Quote(budget), Rate(max_step)).unwrap();
            prop_assert!(r.cost.0 <= budget);
            let step = (v.peg.0 as i128 * max_step as i128 / 1_000_000_000) as u64;
            prop_assert!(r.peg.0.abs_diff(v.peg.0) <= step, "step {} > cap {}", r.peg.0.abs_diff(v.peg.0), step);
            prop_assert_eq!(r.cost, repeg_cost(&v, net, r.peg).unwrap());
            let (lo, hi) = (v.peg.0.min(goal.0), v.peg.0.max(goal.0));
            prop_assert!(r.peg.0 >= lo && r.peg.0 <= hi, "peg {} outside [{}, {}]", r.peg.0, lo, hi);
            if r.full {
                prop_assert_eq!(r.peg, goal);
            }
        }

        /// Any fields at full width: an error, never a panic.
        #[test]
        fn repeg_functions_never_panic(
            b in any::<u128>(), k in any::<u128>(), peg in any::<u64>(), net in any::<i64>(),
            target in any::<u64>(), budget in any::<i64>(), step in any::<i64>(), new_peg in any::<u64>(),
        ) {
            let v = Vamm { base_reserve: b, k, peg: Price(peg) };
            let _ = open_quote(&v, Base(net));
            let _ = repeg_cost(&v, Base(net), Price(new_peg));
            let _ = peg_for_price(&v, Price(target));
            let _ = plan_repeg(&v, Base(net), Price(target), Quote(budget), Rate(step));
        }
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::vamm::Side;
    use proptest::prelude::*;

    proptest! {
        /// A trade, a repeg capped at [`max_step`] of the taker fee (the program's cap) and the
        /// closing trade (one slot) never gain the trader money after the two taker fees,
        /// whatever the other traders' positions.
        #[test]
        fn round_trip_through_a_repeg_gains_nothing(
            others in -300i64..300,
            long in any::<bool>(),
            size in 1_000_000i64..100_000_000_000,
            target in 10_000_000_000u64..40_000_000_000,
            fee in 100_000i64..5_000_000,
        ) {
            let mut v = Vamm::new(1_000_000_000_000, Price(20_000_000_000)).unwrap();
            if others != 0 {
                let f = v.quote_trade(if others > 0 { Side::Long } else { Side::Short }, Base(others.abs() * 1_000_000_000)).unwrap();
                v.apply(&f);
            }
            let side = if long { Side::Long } else { Side::Short };
            let Ok(open) = v.quote_trade(side, Base(size)) else { return Ok(()) };
            v.apply(&open);
            let net = Base(others * 1_000_000_000 + open.base.0);
            let r = plan_repeg(&v, net, Price(target), Quote(i64::MAX / 4), max_step(Rate(fee))).unwrap();
            v.peg = r.peg;
            let close = v.quote_trade(side.opposite(), Base(size)).unwrap();
            // as the program charges it: notional x fee, rounded up
            let fee_of = |q: Quote| Quote(q.0.abs()).mul_rate(Rate(fee), Round::Up).unwrap().0 as i128;
            let net = open.quote.0 as i128 + close.quote.0 as i128 - fee_of(open.quote) - fee_of(close.quote);
            prop_assert!(net <= 0, "round trip nets {} (open {}, close {}, peg {} -> {})", net, open.quote.0, close.quote.0, 20_000_000_000u64, r.peg.0);
        }
    }
}
