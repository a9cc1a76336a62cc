//! Liquidation by takeover, and where a margin group's bad debt goes.
//!
//! **Takeover.** A liquidator takes over (part of) a liquidatable position at the *mark price*: the
//! liquidated account realizes exactly its unrealized PnL at the mark, the liquidator's account
//! receives the position at the mark, and the vAMM is not touched, so nothing anyone does to the
//! vAMM changes what the liquidated user pays. Both sides use one quote amount `x = |q| x mark`
//! (rounded against the liquidated account), so the transfer is zero-sum.
//!
//! **Penalty.** `fee = liquidation_fee x closed notional` (rounded up); the liquidator's share
//! (rounded down) is its reward, the rest goes to the market's insurance fund. The penalty comes
//! only out of the group's equity at the mark *after* the close (reward first), never below zero:
//! a liquidation never turns a solvent group (equity >= 0 at the mark) into a deficit, and nobody,
//! the insurance fund included, pays a liquidator for liquidating an account under water.
//!
//! **Bad debt.** When the group's equity at the mark is negative, its deficit `D = -equity` is
//! attributed to the markets whose positions lost it, pro rata to each position's loss at the
//! mark: the step that takes over position `i` carries `D x L_i / sum(L)` (rounded up, at most
//! `D`), and the group's last position carries whatever is left. The attribution does not depend
//! on the order in which a liquidator picks the positions (tested below), and a market whose
//! position is in profit carries none of it. The market's own insurance fund pays its part; what it
//! cannot pay is left to auto-deleveraging in that market at the position's *deficit price*: the
//! price at which closing the position realizes its loss at the mark less the uncovered part.

use crate::error::{CoreError, CoreResult};
use crate::liquidation::LiquidationFees;
use crate::margin::PositionState;
use crate::units::{div_round, mul_div, Base, Price, Quote, Rate, Round, BASE_PRECISION};

/// What a takeover step costs the liquidated group, out of its equity after the close.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakeoverPenalty {
    /// Paid to the liquidator's account.
    pub reward: Quote,
    /// Paid to the market's insurance fund.
    pub insurance_fee: Quote,
}

/// The penalty on `closed_notional` (at the mark) when the group is left with `equity_after`
/// (at the mark, after the close).
pub fn takeover_penalty(
    equity_after: Quote,
    closed_notional: Quote,
    fees: &LiquidationFees,
) -> CoreResult<TakeoverPenalty> {
    fees.validate()?;
    if closed_notional.is_negative() {
        return Err(CoreError::InvalidParameter("closed notional must be >= 0"));
    }
    let fee = closed_notional.mul_rate(fees.fee_rate, Round::Up)?;
    let reward_nominal = fee.mul_rate(fees.liquidator_share, Round::Down)?;
    let insurance_nominal = fee.checked_sub(reward_nominal)?;
    let room = equity_after.max(Quote::ZERO);
    let reward = reward_nominal.min(room);
    let insurance_fee = insurance_nominal.min(room.checked_sub(reward)?);
    Ok(TakeoverPenalty { reward, insurance_fee })
}

/// The quote amount of a takeover of `closed` (signed: what the liquidated position gives up,
/// long > 0) at `mark`: the liquidated side receives `+x` when it sells (a long), pays `x` when it
/// buys back (a short). Rounded against the liquidated account. Returns the liquidated position's
/// signed quote flow.
pub fn takeover_quote(closed: Base, mark: Price) -> CoreResult<Quote> {
    // a long receives floor(q x mark); for a short (closed < 0) floor of a negative value is the
    // larger payment
    closed.value_at(mark, Round::Down)
}

/// The part of a group deficit carried by the position whose loss at the mark is `loss_here`,
/// out of the group's losing positions' total `losses_total` (both >= 0). The group's last
/// position carries all of it.
pub fn attribute_deficit(deficit: Quote, loss_here: Quote, losses_total: Quote, last: bool) -> CoreResult<Quote> {
    if deficit.0 <= 0 {
        return Ok(Quote::ZERO);
    }
    if last {
        return Ok(deficit);
    }
    if loss_here.0 <= 0 || losses_total.0 <= 0 {
        return Ok(Quote::ZERO);
    }
    if loss_here > losses_total {
        return Err(CoreError::InvalidParameter("a position's loss exceeds the group's total loss"));
    }
    let v = mul_div(deficit.0 as i128, loss_here.0 as i128, losses_total.0 as i128, Round::Up)?;
    Ok(Quote(i64::try_from(v).map_err(|_| CoreError::Overflow)?).min(deficit))
}

/// The price at which closing `pos` realizes its PnL at `mark` plus `deficit` (>= 0), i.e. the
/// price that leaves `deficit` of its loss to the counterparties: long `mark + deficit / size`
/// (rounded up, at most `2 x mark`), short `mark - deficit / |size|` (rounded down, at least 0).
/// With the group's whole deficit and no other position this is the bankruptcy price.
pub fn deficit_price(pos: &PositionState, mark: Price, deficit: Quote) -> CoreResult<Price> {
    if pos.base.is_zero() {
        return Err(CoreError::ZeroSize);
    }
    let d = crate::wide::mul_i64(deficit.0.max(0), BASE_PRECISION);
    let b = pos.base.0 as i128;
    // the step is rounded up either way: the position is better off by at least the deficit;
    // it is capped at the mark itself (a long at most 2x the mark), so a dust position carrying a
    // large deficit still gets a price every later step can value, and what the cap leaves is
    // socialized when the bankruptcy ends
    let step = div_round(d, b.abs(), Round::Up)?.min(mark.0 as i128);
    let p = if b > 0 { mark.0 as i128 + step } else { mark.0 as i128 - step };
    Ok(Price(u64::try_from(p).map_err(|_| CoreError::Overflow)?))
}

/// Splits a market's loss to socialize over one side's open interest `oi` at `mark`: each unit
/// of base is charged at most `cap_rate x mark`, so no position pays more than about its notional
/// times `cap_rate`. Returns `(charged to the side, rest)`; `charged + rest = loss`.
pub fn socialize_split(loss: Quote, oi: Base, mark: Price, cap_rate: Rate) -> CoreResult<(Quote, Quote)> {
    if loss.0 <= 0 {
        return Ok((Quote::ZERO, Quote::ZERO));
    }
    if oi.0 <= 0 || cap_rate.0 <= 0 {
        return Ok((Quote::ZERO, loss));
    }
    let room = oi.value_at(mark, Round::Down)?.mul_rate(cap_rate, Round::Down)?;
    let charged = loss.min(room);
    Ok((charged, loss.checked_sub(charged)?))
}

/// The price at which another market's position is valued when its cached index is too old to
/// trust, for instructions that must not be blocked by it (reducing risk, liquidation): the
/// cached index moved against the position by `haircut` (long: down, rounded down; short: up,
/// rounded up). Callers also drop that position's unrealized profit.
pub fn stale_valuation_price(cached: Price, long: bool, haircut: Rate) -> CoreResult<Price> {
    if haircut.0 < 0 || haircut.0 >= crate::units::RATE_PRECISION {
        return Err(CoreError::InvalidParameter("haircut must be in [0, 1)"));
    }
    if long {
        cached.scale_by_one_plus(Rate(-haircut.0), Round::Down)
    } else {
        cached.scale_by_one_plus(haircut, Round::Up)
    }
}

/// The favourable gap between an opening fill and the mark: what the fill is worth at the mark
/// beyond what it cost (buy: `size x mark - cost`; sell: `proceeds - size x mark`), or zero. New
/// risk is checked with this taken out of equity, so a fill better than the mark never pays for
/// its own margin.
pub fn open_gain(base: Base, quote: Quote, mark: Price) -> CoreResult<Quote> {
    // value at the mark of what was received, plus the quote flow
    let v = base.value_at(mark, Round::Down)?.checked_add(quote)?;
    Ok(v.max(Quote::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::RATE_PRECISION;
    use proptest::prelude::*;

    const USD: i64 = 1_000_000;
    const BTC: i64 = 1_000_000_000;
    fn fees() -> LiquidationFees {
        LiquidationFees { fee_rate: Rate(5_000_000), liquidator_share: Rate(500_000_000) }
    }

    #[test]
    fn penalty_only_from_equity() {
        // 100,000 closed: fee 500, reward 250, insurance 250
        let p = takeover_penalty(Quote(1_000 * USD), Quote(100_000 * USD), &fees()).unwrap();
        assert_eq!(p, TakeoverPenalty { reward: Quote(250 * USD), insurance_fee: Quote(250 * USD) });
        // 300 of equity: reward in full, 50 to insurance
        let p = takeover_penalty(Quote(300 * USD), Quote(100_000 * USD), &fees()).unwrap();
        assert_eq!(p, TakeoverPenalty { reward: Quote(250 * USD), insurance_fee: Quote(50 * USD) });
        // under water: nobody is paid
        let p = takeover_penalty(Quote(-5 * USD), Quote(100_000 * USD), &fees()).unwrap();
        assert_eq!(p, TakeoverPenalty::default());
    }

    #[test]
    fn deficit_attribution_by_hand() {
        // losses 2,000 (BTC) and 10,000 (ETH), deficit 4,000
        let d = Quote(4_000 * USD);
        let btc = attribute_deficit(d, Quote(2_000 * USD), Quote(12_000 * USD), false).unwrap();
        assert_eq!(btc, Quote(666_666_667)); // 4,000 x 2/12, rounded up
        assert_eq!(attribute_deficit(d, Quote(10_000 * USD), Quote(12_000 * USD), true).unwrap(), d);
        // a profitable position carries none
        assert_eq!(attribute_deficit(d, Quote::ZERO, Quote(12_000 * USD), false).unwrap(), Quote::ZERO);
        assert!(attribute_deficit(d, Quote(13_000 * USD), Quote(12_000 * USD), false).is_err());
    }

    #[test]
    fn deficit_price_is_the_bankruptcy_price_for_a_lone_position() {
        // long 5 BTC from 20,100 with 10,000 of margin, mark 18,000: equity -500
        let pos = PositionState { base: Base(5 * BTC), quote_entry: Quote(-100_500 * USD) };
        let mark = Price(18_000 * USD as u64);
        let equity = Quote(10_000 * USD).checked_add(pos.upnl(mark).unwrap()).unwrap();
        assert_eq!(equity, Quote(-500 * USD));
        let p = deficit_price(&pos, mark, Quote(500 * USD)).unwrap();
        assert_eq!(p, Price(18_100 * USD as u64));
        assert_eq!(p, crate::liquidation::bankruptcy_price(&pos, Quote(10_000 * USD)).unwrap());
        // short: below the mark
        let s = PositionState { base: Base(-2 * BTC), quote_entry: Quote(40_000 * USD) };
        assert_eq!(
            deficit_price(&s, Price(21_000 * USD as u64), Quote(300 * USD)).unwrap(),
            Price(20_850 * USD as u64)
        );
        assert_eq!(deficit_price(&s, Price(100), Quote(300 * USD)).unwrap(), Price(0));
        // a dust long carrying a huge deficit: capped at twice the mark, no overflow
        let dust = PositionState { base: Base(1), quote_entry: Quote(-1) };
        assert_eq!(
            deficit_price(&dust, Price(18_000 * USD as u64), Quote(i64::MAX)).unwrap(),
            Price(36_000 * USD as u64)
        );
    }

    #[test]
    fn socialization_is_capped_per_unit() {
        // 0.001 BTC of opposite interest at 20,000, cap 1%: at most 0.2 USDC charged
        let (c, r) =
            socialize_split(Quote(30_000 * USD), Base(BTC / 1000), Price(20_000 * USD as u64), Rate(10_000_000))
                .unwrap();
        assert_eq!((c, r), (Quote(200_000), Quote(30_000 * USD - 200_000)));
        // enough interest: all of it
        let (c, r) =
            socialize_split(Quote(750 * USD), Base(100 * BTC), Price(20_000 * USD as u64), Rate(10_000_000)).unwrap();
        assert_eq!((c, r), (Quote(750 * USD), Quote::ZERO));
        let (c, r) = socialize_split(Quote(750 * USD), Base(0), Price(20_000 * USD as u64), Rate(10_000_000)).unwrap();
        assert_eq!((c, r), (Quote::ZERO, Quote(750 * USD)));
    }

    #[test]
    fn stale_prices_go_against_the_position() {
        let c = Price(1_000 * USD as u64);
        assert_eq!(stale_valuation_price(c, true, Rate(100_000_000)).unwrap(), Price(900 * USD as u64));
        assert_eq!(stale_valuation_price(c, false, Rate(100_000_000)).unwrap(), Price(1_100 * USD as u64));
        assert!(stale_valuation_price(c, false, Rate(RATE_PRECISION)).is_err());
    }

    #[test]
    fn open_gain_by_hand() {
        // buy 1 BTC for 19,400 with the mark at 20,000: 600 of gap not counted
        let g = open_gain(Base(BTC), Quote(-19_400 * USD), Price(20_000 * USD as u64)).unwrap();
        assert_eq!(g, Quote(600 * USD));
        // a buy above the mark has no gain
        assert_eq!(open_gain(Base(BTC), Quote(-20_100 * USD), Price(20_000 * USD as u64)).unwrap(), Quote::ZERO);
        // sell 1 for 20,300 with the mark at 20,000
        assert_eq!(open_gain(Base(-BTC), Quote(20_300 * USD), Price(20_000 * USD as u64)).unwrap(), Quote(300 * USD));
    }

    proptest! {
        /// Order does not matter: two losing positions liquidated in either order carry the same
        /// parts of the deficit (within rounding), and together exactly the deficit.
        #[test]
        fn attribution_is_order_independent(l1 in 1i64..1_000_000_000_000, l2 in 1i64..1_000_000_000_000, frac in 1i64..1000) {
            let total = l1 + l2;
            let d = Quote((total as i128 * frac as i128 / 1000).max(1) as i64);
            // first 1 then 2 (last)
            let a1 = attribute_deficit(d, Quote(l1), Quote(total), false).unwrap();
            let a2 = attribute_deficit(Quote(d.0 - a1.0), Quote(l2), Quote(l2), true).unwrap();
            // first 2 then 1 (last)
            let b2 = attribute_deficit(d, Quote(l2), Quote(total), false).unwrap();
            let b1 = attribute_deficit(Quote(d.0 - b2.0), Quote(l1), Quote(l1), true).unwrap();
            prop_assert_eq!(a1.0 + a2.0, d.0);
            prop_assert_eq!(b1.0 + b2.0, d.0);
            prop_assert!((a1.0 - b1.0).abs() <= 1 && (a2.0 - b2.0).abs() <= 1);
        }

        /// The penalty never takes equity below zero and never exceeds the nominal fee.
        #[test]
        fn penalty_bounded(eq in -1_000_000_000_000i64..1_000_000_000_000, n in 0i64..1_000_000_000_000) {
            let p = takeover_penalty(Quote(eq), Quote(n), &fees()).unwrap();
            let fee = Quote(n).mul_rate(fees().fee_rate, Round::Up).unwrap();
            prop_assert!(p.reward.0 >= 0 && p.insurance_fee.0 >= 0);
            prop_assert!(p.reward.0 + p.insurance_fee.0 <= fee.0);
            prop_assert!(p.reward.0 + p.insurance_fee.0 <= eq.max(0));
        }

        /// Closing at the deficit price realizes the loss at the mark less the deficit, to within
        /// one raw unit per unit of base rounding.
        #[test]
        fn deficit_price_realizes_the_deficit(size in 1i64..1_000 * BTC, long in any::<bool>(),
                                              entry in 1_000u64..100_000, mark in 1_000u64..100_000, d in 0i64..1_000_000) {
            let b = if long { size } else { -size };
            let pos = PositionState { base: Base(b), quote_entry: Base(b).value_at(Price(entry * USD as u64), Round::Down).unwrap().checked_neg().unwrap() };
            let m = Price(mark * USD as u64);
            let p = deficit_price(&pos, m, Quote(d * USD)).unwrap();
            if p.0 > 0 && p.0 < 2 * m.0 {
                let at_mark = pos.upnl(m).unwrap();
                let at_p = pos.upnl(p).unwrap();
                // at p the position is better off than at the mark by at least the deficit
                prop_assert!(at_p.0 - at_mark.0 >= d * USD - 1, "{} {} {}", at_p, at_mark, d);
            }
        }
    }
}
