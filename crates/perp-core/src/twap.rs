//! Time-weighted prices that no single transaction can move.
//!
//! A market keeps a time-weighted average of a price (its vAMM's impact bid and ask) together with
//! the time it was last brought up to date. Every instruction that changes the vAMM first brings the
//! average up to date with the price that held *before* its change, so the price a trade sets only
//! starts to count from the next second on:
//!
//! `new = (old x (W - d) + current x d) / W`, with `d = min(now - last, W)` seconds, `W` the window,
//! rounded down (a reference price, like the index). The first value (`old = 0`) is `current`.
//!
//! Properties (tested below): with `d = 0` the average does not move at all, whatever `current` is,
//! so a trade, a funding sample and a reverse trade in the same transaction (or the same second)
//! leave the average where it was; holding the price at `x` for `t` seconds moves the average at most
//! `t / W` of the way to `x`; the average always lies between `old` and `current`.

use crate::error::{CoreError, CoreResult};
use crate::units::Price;

/// The average after `elapsed` seconds at `current`, starting from `old`, over a window of
/// `window` seconds (`window > 0`; a negative `elapsed`, a clock going backwards, counts as 0).
pub fn twap_update(old: Price, current: Price, elapsed: i64, window: i64) -> CoreResult<Price> {
    if window <= 0 {
        return Err(CoreError::InvalidParameter("TWAP window must be > 0 seconds"));
    }
    if old.is_zero() {
        return Ok(current);
    }
    let d = elapsed.clamp(0, window) as u64;
    let w = window as u64;
    use crate::wide::{div_rem_u128, mul_64_64};
    let sum = mul_64_64(old.0, w - d).checked_add(mul_64_64(current.0, d)).ok_or(CoreError::Overflow)?;
    let (v, _) = div_rem_u128(sum, w as u128);
    Ok(Price(u64::try_from(v).map_err(|_| CoreError::Overflow)?))
}

/// A bid/ask pair kept time-weighted, with the time of its last update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpactTwap {
    pub bid: Price,
    pub ask: Price,
    /// Unix seconds of the last update (0 = never).
    pub time: i64,
}

impl ImpactTwap {
    /// The pair as of `now`, given the bid and ask that have held since `self.time`.
    pub fn at(&self, bid_now: Price, ask_now: Price, now: i64, window: i64) -> CoreResult<ImpactTwap> {
        let elapsed = if self.time == 0 { window } else { now.saturating_sub(self.time) };
        Ok(ImpactTwap {
            bid: twap_update(self.bid, bid_now, elapsed, window)?,
            ask: twap_update(self.ask, ask_now, elapsed, window)?,
            time: now.max(self.time),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn by_hand() {
        // 60 s window: 15 s at 104 moves 100 a quarter of the way
        assert_eq!(twap_update(Price(100_000_000), Price(104_000_000), 15, 60).unwrap(), Price(101_000_000));
        // a full window (or more) replaces it
        assert_eq!(twap_update(Price(100), Price(200), 60, 60).unwrap(), Price(200));
        assert_eq!(twap_update(Price(100), Price(200), 6000, 60).unwrap(), Price(200));
        // no time: unchanged, whatever the current price
        assert_eq!(twap_update(Price(100), Price(1_000_000), 0, 60).unwrap(), Price(100));
        assert_eq!(twap_update(Price(100), Price(1_000_000), -5, 60).unwrap(), Price(100));
        // first value
        assert_eq!(twap_update(Price(0), Price(123), 0, 60).unwrap(), Price(123));
        assert!(twap_update(Price(1), Price(1), 1, 0).is_err());
    }

    #[test]
    fn a_pair_is_only_moved_by_time() {
        let t = ImpactTwap { bid: Price(99), ask: Price(101), time: 1_000 };
        // the same second: a manipulated vAMM has no weight
        assert_eq!(t.at(Price(1), Price(1_000_000), 1_000, 60).unwrap(), t);
        let u = t.at(Price(93), Price(95), 1_030, 60).unwrap();
        assert_eq!((u.bid, u.ask, u.time), (Price(96), Price(98), 1_030));
        // never updated: takes the current pair
        let z = ImpactTwap::default().at(Price(5), Price(6), 7, 60).unwrap();
        assert_eq!((z.bid, z.ask, z.time), (Price(5), Price(6), 7));
    }

    proptest! {
        #[test]
        fn bounded_between_old_and_current(old in 1u64..u64::MAX / 2, cur in 0u64..u64::MAX / 2, dt in -10i64..10_000, w in 1i64..10_000) {
            let v = twap_update(Price(old), Price(cur), dt, w).unwrap().0;
            prop_assert!(v >= old.min(cur) && v <= old.max(cur));
            // the move is at most dt / W of the distance (rounded down toward the lower end)
            let d = dt.clamp(0, w) as u128;
            let dist = (old as i128 - cur as i128).unsigned_abs();
            let moved = (v as i128 - old as i128).unsigned_abs();
            prop_assert!(moved <= dist * d / w as u128 + 1);
        }
    }
}
