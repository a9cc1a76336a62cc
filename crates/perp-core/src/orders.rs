//! Resting orders: when a trigger fires, what price bound a fill must keep, and how much of an
//! order one fill may take. The program's `fill_order`, the keeper's choice of what to fill, the
//! CLI and the TypeScript client all decide with these functions.
//!
//! - **Kinds.** `Limit` fills when the vAMM can fill it at an average at or better than its
//!   limit. `StopMarket` / `TakeProfitMarket` wait for their trigger, then fill within a slippage
//!   bound of the index; `StopLimit` / `TakeProfitLimit` wait for their trigger, then rest as a
//!   limit order.
//! - **Triggers** compare the market's oracle index (never the vAMM, which one transaction can
//!   push). A stop fires when the price moves against the order's position: a sell stop (closing a
//!   long) when `index <= trigger`, a buy stop when `index >= trigger`. A take-profit fires the
//!   other way: a sell take-profit when `index >= trigger`, a buy one when `index <= trigger`.
//! - **Bound.** A fill's average price is bounded by the order's own bound (its limit, or for the
//!   market kinds `index x (1 -/+ slippage)`) and by the market's band around the index
//!   (`index x (1 -/+ band)`), whichever is stricter, rounded against the order (a buy's bound
//!   down, a sell's up): a keeper that pushes the vAMM before a fill and back after gains at most
//!   the band.
//! - **Size.** A fill takes the largest size whose average keeps the bound, at most what is left of
//!   the order (and, reduce-only, of the position). A partial fill must be at least the market's
//!   minimum size and leave at least that much (or nothing) of the order.

use crate::error::{CoreError, CoreResult};
use crate::units::{Base, Price, Rate, Round, RATE_PRECISION};
use crate::vamm::{Side, Vamm};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OrderKind {
    Limit = 1,
    StopMarket = 2,
    TakeProfitMarket = 3,
    StopLimit = 4,
    TakeProfitLimit = 5,
}

impl OrderKind {
    pub fn from_u8(v: u8) -> CoreResult<OrderKind> {
        Ok(match v {
            1 => OrderKind::Limit,
            2 => OrderKind::StopMarket,
            3 => OrderKind::TakeProfitMarket,
            4 => OrderKind::StopLimit,
            5 => OrderKind::TakeProfitLimit,
            _ => return Err(CoreError::InvalidParameter("order kind must be 1..=5")),
        })
    }
    /// The order waits for a trigger price.
    pub fn has_trigger(self) -> bool {
        self != OrderKind::Limit
    }
    /// The order carries a limit price (otherwise it fills within a slippage bound of the index).
    pub fn has_limit(self) -> bool {
        matches!(self, OrderKind::Limit | OrderKind::StopLimit | OrderKind::TakeProfitLimit)
    }
    fn is_stop(self) -> bool {
        matches!(self, OrderKind::StopMarket | OrderKind::StopLimit)
    }
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Limit => "limit",
            OrderKind::StopMarket => "stop-market",
            OrderKind::TakeProfitMarket => "take-profit-market",
            OrderKind::StopLimit => "stop-limit",
            OrderKind::TakeProfitLimit => "take-profit-limit",
        }
    }
}

/// The order as the rules below need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSpec {
    pub kind: OrderKind,
    pub side: Side,
    /// Limit price (limit kinds), else 0.
    pub limit: Price,
    /// Trigger price (trigger kinds), else 0.
    pub trigger: Price,
    /// Market kinds: the largest distance of the average fill from the index (rate; 0 = the band).
    pub slippage: Rate,
}

/// True when the trigger condition holds at `index` (always true for a limit order).
pub fn trigger_met(o: &OrderSpec, index: Price) -> bool {
    if !o.kind.has_trigger() {
        return true;
    }
    // a sell stop fires on a fall, a buy stop on a rise; take-profits the other way
    let on_fall = o.kind.is_stop() == (o.side == Side::Short);
    if on_fall {
        index <= o.trigger
    } else {
        index >= o.trigger
    }
}

/// Largest accepted slippage or band: 50%.
pub const MAX_ORDER_BAND: i64 = RATE_PRECISION / 2;

/// The worst average price a fill of `o` may get: the stricter of the order's own bound and the
/// market's `band` around `index`, rounded against the order.
pub fn fill_bound(o: &OrderSpec, index: Price, band: Rate) -> CoreResult<Price> {
    if band.0 <= 0 || band.0 > MAX_ORDER_BAND || o.slippage.0 < 0 || o.slippage.0 > MAX_ORDER_BAND {
        return Err(CoreError::InvalidParameter("band and slippage must be in (0, 0.5]"));
    }
    let around = |r: Rate| match o.side {
        Side::Long => index.scale_by_one_plus(r, Round::Down),
        Side::Short => index.scale_by_one_plus(Rate(-r.0), Round::Up),
    };
    let banded = around(band)?;
    let own = if o.kind.has_limit() {
        if o.limit.is_zero() {
            return Err(CoreError::InvalidParameter("a limit order needs a limit price"));
        }
        o.limit
    } else if o.slippage.0 > 0 {
        around(o.slippage)?
    } else {
        banded
    };
    Ok(match o.side {
        Side::Long => own.min(banded),
        Side::Short => own.max(banded),
    })
}

/// True when `avg` keeps `bound` for an order on `side`.
pub fn within_bound(side: Side, avg: Price, bound: Price) -> bool {
    match side {
        Side::Long => avg <= bound,
        Side::Short => avg >= bound,
    }
}

/// The largest size `d` (raw base) the curve fills on `side` with an average price within
/// `bound`: `avg(d) = k x peg / (B x (B -/+ d))`, so a buy keeps `d <= B - k x peg / (B x bound)`
/// and a sell `d <= k x peg / (B x bound) - B`. `cap` itself is tried first (an order the curve
/// fills whole costs one quote); otherwise the closed form is checked against
/// [`Vamm::average_price`] (`quote_trade`'s rounding, against the trader) and stepped down until
/// it holds.
/// 0 when no size fits (the curve is beyond the bound), at most `cap`.
pub fn max_size_within(v: &Vamm, side: Side, bound: Price, cap: Base) -> CoreResult<Base> {
    if bound.is_zero() || cap.0 <= 0 {
        return Ok(Base(0));
    }
    // the common case first: all of `cap` fits
    match v.average_price(side, cap) {
        Ok(avg) if within_bound(side, avg, bound) => return Ok(cap),
        Ok(_) | Err(CoreError::InsufficientLiquidity) | Err(CoreError::Overflow) => {}
        Err(e) => return Err(e),
    }
    let b = v.base_reserve;
    // k x peg / (B x bound) = Q x peg / bound, with Q = k / B the quote reserve
    let q = v.quote_reserve()?;
    let mut d: u128 = match side {
        Side::Long => {
            let x = crate::units::mul_div_u128(q, v.peg.0 as u128, bound.0 as u128, Round::Up)?;
            b.saturating_sub(x).min(b.saturating_sub(crate::vamm::MIN_RESERVE))
        }
        Side::Short => {
            let x = crate::units::mul_div_u128(q, v.peg.0 as u128, bound.0 as u128, Round::Down)?;
            x.saturating_sub(b).min(crate::vamm::MAX_RESERVE.saturating_sub(b))
        }
    };
    d = d.min(cap.0 as u128);
    let mut step: u128 = 1;
    while d > 0 {
        let size = Base(i64::try_from(d).map_err(|_| CoreError::Overflow)?);
        match v.average_price(side, size) {
            Ok(avg) if within_bound(side, avg, bound) => return Ok(size),
            Ok(_) | Err(CoreError::InsufficientLiquidity) => {}
            // a size whose cost does not fit the quote type: halve it
            Err(CoreError::Overflow) => {
                d /= 2;
                continue;
            }
            Err(e) => return Err(e),
        }
        // rounding moved the average past the bound by a unit: step down, faster each time
        d = d.saturating_sub(step.max(d / 1_000_000));
        step = step.saturating_mul(2);
    }
    Ok(Base(0))
}

/// How much one fill takes: the curve's `available` size within the bound, at most `remaining`
/// (what is left of the order, already capped by the position for reduce-only orders). A partial
/// fill takes at least `min_size` and leaves at least `min_size` of the order; `None` when the
/// curve cannot fill that much yet.
pub fn fill_size(remaining: Base, available: Base, min_size: Base) -> Option<Base> {
    if remaining.0 <= 0 || available.0 <= 0 {
        return None;
    }
    if available.0 >= remaining.0 {
        return Some(remaining);
    }
    let take = available.0.min(remaining.0 - min_size.0.max(0));
    (take > 0 && take >= min_size.0).then_some(Base(take))
}

/// True when `index` is more than `max` (rate) away from its time-weighted value `twap`: orders
/// then neither trigger nor fill (an outlier print has no weight in its own second). Exact:
/// `|index - twap| x 10^9 > max x twap`.
pub fn index_diverges(index: Price, twap: Price, max: Rate) -> bool {
    let diff = (index.0 as i128 - twap.0 as i128).unsigned_abs();
    diff * RATE_PRECISION as u128 > max.0.max(0) as u128 * twap.0 as u128
}

/// The sandwich guard: true when the vAMM's `mid` sits more than half of `band` beyond `index`
/// against an order on `side` (above it for a purchase, below it for a sale), the bound rounded
/// in the order's favour (a purchase's up, a sale's down), so a mid exactly on it passes.
pub fn vamm_displaced(side: Side, mid: Price, index: Price, band: Rate) -> CoreResult<bool> {
    let half = Rate(band.0 / 2);
    Ok(match side {
        Side::Long => mid > index.scale_by_one_plus(half, Round::Up)?,
        Side::Short => mid < index.scale_by_one_plus(Rate(-half.0), Round::Down)?,
    })
}

/// One fill of an order with `left` to fill, when the curve fills `available` within the bound,
/// for an account whose position the order's side would reduce by up to `against` (its size; 0
/// when the order adds to it or there is none), without leaving dust (a position or a flip below
/// `min_size`, which the program refuses):
/// - the size is [`fill_size`] of what is left (reduce-only: at most `against`);
/// - a reduce that would leave less than `min_size` of a position of at least `min_size` closes it
///   in full when the order is reduce-only and the curve can (a stop-loss sized to a position that
///   was since partly closed or added to still protects all of it), and otherwise leaves exactly
///   `min_size`;
/// - a flip that would open less than `min_size` on the other side stops at the close.
///
/// `None` when nothing can be filled now.
pub fn order_fill_size(left: Base, available: Base, min_size: Base, against: Base, reduce_only: bool) -> Option<Base> {
    let cap = if reduce_only && against.0 > 0 { Base(left.0.min(against.0)) } else { left };
    let mut size = fill_size(cap, available, min_size)?.0;
    let (p, min) = (against.0, min_size.0.max(0));
    if p > 0 && size < p && p >= min {
        let rem = p - size;
        if rem < min {
            if reduce_only && available.0 >= p {
                size = p;
            } else {
                size -= min - rem;
            }
        }
    } else if p > 0 && size > p && size - p < min {
        size = p;
    }
    (size > 0).then_some(Base(size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::BASE_PRECISION;
    use proptest::prelude::*;

    const ONE: i64 = BASE_PRECISION;

    fn spec(kind: OrderKind, side: Side, limit: u64, trigger: u64) -> OrderSpec {
        OrderSpec { kind, side, limit: Price(limit), trigger: Price(trigger), slippage: Rate(0) }
    }

    #[test]
    fn triggers_by_hand() {
        use OrderKind::*;
        // a long's stop-loss sells when the index falls to 95; its take-profit when it rises to 110
        let sl = spec(StopMarket, Side::Short, 0, 95_000_000);
        assert!(!trigger_met(&sl, Price(95_000_001)));
        assert!(trigger_met(&sl, Price(95_000_000)));
        let tp = spec(TakeProfitMarket, Side::Short, 0, 110_000_000);
        assert!(!trigger_met(&tp, Price(109_999_999)));
        assert!(trigger_met(&tp, Price(110_000_000)));
        // a short's stop buys on a rise, its take-profit on a fall
        let sl = spec(StopLimit, Side::Long, 106_000_000, 105_000_000);
        assert!(!trigger_met(&sl, Price(104_999_999)));
        assert!(trigger_met(&sl, Price(105_000_000)));
        let tp = spec(TakeProfitLimit, Side::Long, 90_000_000, 90_000_000);
        assert!(trigger_met(&tp, Price(89_000_000)));
        assert!(!trigger_met(&tp, Price(90_000_001)));
        assert!(trigger_met(&spec(Limit, Side::Long, 1, 0), Price(1)));
    }

    #[test]
    fn bound_is_the_stricter_of_order_and_band() {
        use OrderKind::*;
        let band = Rate(10_000_000); // 1%
        let index = Price(100_000_000);
        // a buy limit above the band is cut to index x 1.01
        assert_eq!(fill_bound(&spec(Limit, Side::Long, 105_000_000, 0), index, band).unwrap(), Price(101_000_000));
        // under it, the limit decides
        assert_eq!(fill_bound(&spec(Limit, Side::Long, 99_000_000, 0), index, band).unwrap(), Price(99_000_000));
        // a sell: the higher of limit and index x 0.99
        assert_eq!(fill_bound(&spec(Limit, Side::Short, 90_000_000, 0), index, band).unwrap(), Price(99_000_000));
        // market kinds: the slippage when tighter, else the band
        let mut o = spec(StopMarket, Side::Short, 0, 95_000_000);
        assert_eq!(fill_bound(&o, index, band).unwrap(), Price(99_000_000));
        o.slippage = Rate(5_000_000);
        assert_eq!(fill_bound(&o, index, band).unwrap(), Price(99_500_000));
        o.slippage = Rate(50_000_000);
        assert_eq!(fill_bound(&o, index, band).unwrap(), Price(99_000_000));
        // rounding against the order: 3 x 1.01 = 3.03 -> buys round down, sells up
        assert_eq!(fill_bound(&spec(StopMarket, Side::Long, 0, 1), Price(3), band).unwrap(), Price(3));
        assert_eq!(fill_bound(&spec(StopMarket, Side::Short, 0, 1), Price(3), band).unwrap(), Price(3));
        assert!(fill_bound(&spec(Limit, Side::Long, 0, 0), index, band).is_err());
        assert!(fill_bound(&o, index, Rate(0)).is_err());
    }

    #[test]
    fn sizes_by_hand() {
        // fills all that is left when the curve can
        assert_eq!(fill_size(Base(5 * ONE), Base(9 * ONE), Base(ONE)), Some(Base(5 * ONE)));
        // a partial fill leaves at least the minimum
        assert_eq!(fill_size(Base(5 * ONE), Base(9 * ONE / 2), Base(ONE)), Some(Base(4 * ONE)));
        assert_eq!(fill_size(Base(5 * ONE), Base(2 * ONE), Base(ONE)), Some(Base(2 * ONE)));
        // and is at least the minimum
        assert_eq!(fill_size(Base(5 * ONE), Base(ONE / 2), Base(ONE)), None);
        assert_eq!(fill_size(Base(3 * ONE / 2), Base(ONE), Base(ONE)), None);
        assert_eq!(fill_size(Base(5 * ONE), Base(0), Base(ONE)), None);
    }

    #[test]
    fn divergence_and_displacement_by_hand() {
        // 2% of 20,000 is 400: 20,400 is on the bound, 20,400.000001 beyond it
        let (twap, max) = (Price(20_000_000_000), Rate(20_000_000));
        assert!(!index_diverges(Price(20_400_000_000), twap, max));
        assert!(index_diverges(Price(20_400_000_001), twap, max));
        assert!(!index_diverges(Price(19_600_000_000), twap, max));
        assert!(index_diverges(Price(19_599_999_999), twap, max));
        // band 1%: half is 0.5% of 19,400 = 97 -> a buy is displaced above 19,497, a sale below 19,303
        let (index, band) = (Price(19_400_000_000), Rate(10_000_000));
        assert!(!vamm_displaced(Side::Long, Price(19_497_000_000), index, band).unwrap());
        assert!(vamm_displaced(Side::Long, Price(19_497_000_001), index, band).unwrap());
        assert!(!vamm_displaced(Side::Short, Price(19_303_000_000), index, band).unwrap());
        assert!(vamm_displaced(Side::Short, Price(19_302_999_999), index, band).unwrap());
        // displacement the other way (in the order's favour) never counts
        assert!(!vamm_displaced(Side::Long, Price(1), index, band).unwrap());
        assert!(!vamm_displaced(Side::Short, Price(u64::MAX), index, band).unwrap());
    }

    #[test]
    fn fills_leave_no_dust_by_hand() {
        let m = Base(ONE);
        // long 1.5, reduce-only stop of 1 (min 1): 0.5 would be left, so it closes all 1.5
        assert_eq!(order_fill_size(Base(ONE), Base(2 * ONE), m, Base(3 * ONE / 2), true), Some(Base(3 * ONE / 2)));
        // the curve cannot take all 1.5: it leaves exactly the minimum
        assert_eq!(order_fill_size(Base(ONE), Base(ONE), m, Base(3 * ONE / 2), true), Some(Base(ONE / 2)));
        assert_eq!(order_fill_size(Base(ONE), Base(ONE), m, Base(5 * ONE / 2), true), Some(Base(ONE)));
        assert_eq!(order_fill_size(Base(ONE), Base(ONE), m, Base(9 * ONE / 5), true), Some(Base(4 * ONE / 5)));
        // not reduce-only: never more than the order, keep the minimum
        assert_eq!(order_fill_size(Base(ONE), Base(2 * ONE), m, Base(3 * ONE / 2), false), Some(Base(ONE / 2)));
        // long 4.5, sell 6 with 5.3 available: 5 would flip into 0.5, so it stops at the close
        assert_eq!(
            order_fill_size(Base(6 * ONE), Base(53 * ONE / 10), m, Base(9 * ONE / 2), false),
            Some(Base(9 * ONE / 2))
        );
        // a flip of at least the minimum is fine
        assert_eq!(order_fill_size(Base(6 * ONE), Base(6 * ONE), m, Base(9 * ONE / 2), false), Some(Base(6 * ONE)));
        // adding to a position, or none: plain fill_size
        assert_eq!(order_fill_size(Base(5 * ONE), Base(2 * ONE), m, Base(0), false), Some(Base(2 * ONE)));
        // reduce-only with nothing to reduce: what the curve takes (the program then cancels it)
        assert_eq!(order_fill_size(Base(ONE), Base(2 * ONE), m, Base(0), true), Some(Base(ONE)));
    }

    proptest! {
        #[test]
        fn order_fills_never_leave_dust(
            left in 1i64..10_000, available in 0i64..10_000, min in 0i64..500, against in 0i64..10_000, ro: bool,
        ) {
            if let Some(s) = order_fill_size(Base(left), Base(available), Base(min), Base(against), ro) {
                prop_assert!(s.0 > 0 && s.0 <= available);
                prop_assert!(s.0 <= left || (ro && s.0 == against));
                if against >= min && against > 0 {
                    let after = against - s.0; // signed: negative = flipped
                    prop_assert!(after == 0 || after.abs() >= min, "{s:?} leaves {after}");
                }
            }
        }
    }

    fn curve() -> Vamm {
        Vamm::new(1_000 * BASE_PRECISION as u128, Price(20_000_000_000)).unwrap()
    }

    #[test]
    fn max_size_by_hand() {
        let v = curve();
        // buy up to an average of 20,020.02004: one base unit exactly (vamm::tests)
        let d = max_size_within(&v, Side::Long, Price(20_020_020_040), Base(10 * ONE)).unwrap();
        assert!((ONE - 1_000..=ONE).contains(&d.0), "{d:?}");
        assert!(v.quote_trade(Side::Long, d).unwrap().avg_price <= Price(20_020_020_040));
        // a bound the curve is already beyond: nothing
        assert_eq!(max_size_within(&v, Side::Long, Price(19_999_000_000), Base(ONE)).unwrap(), Base(0));
        assert_eq!(max_size_within(&v, Side::Short, Price(20_001_000_000), Base(ONE)).unwrap(), Base(0));
        // capped
        assert_eq!(max_size_within(&v, Side::Short, Price(10_000_000_000), Base(ONE)).unwrap(), Base(ONE));
    }

    proptest! {
        #[test]
        fn max_size_keeps_the_bound_and_is_nearly_largest(
            reserve in 10u64..1_000_000, peg in 1_000_000u64..100_000_000_000, away in 1i64..200_000_000, long: bool,
        ) {
            let v = Vamm::new(reserve as u128 * BASE_PRECISION as u128, Price(peg)).unwrap();
            let side = if long { Side::Long } else { Side::Short };
            let mid = v.price().unwrap();
            let bound = mid.scale_by_one_plus(Rate(away * side.sign()), Round::Down).unwrap();
            let cap = Base(i64::MAX / 4);
            let d = max_size_within(&v, side, bound, cap).unwrap();
            if d.0 > 0 {
                let f = v.quote_trade(side, d).unwrap();
                prop_assert!(within_bound(side, f.avg_price, bound));
            }
            // one part in ten thousand more (and at least 2 units) breaks the bound or the curve
            let more = Base(d.0 + d.0 / 10_000 + 2);
            if let Ok(f) = v.quote_trade(side, more) {
                prop_assert!(!within_bound(side, f.avg_price, bound), "{:?} {:?} {:?}", d, more, f);
            }
        }
    }
}
