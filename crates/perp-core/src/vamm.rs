//! Virtual AMM: a constant-product curve `base_reserve * quote_reserve = k` with a peg multiplier.
//!
//! Reserves are virtual amounts at base precision (10^-9). One unit of quote reserve is worth
//! `peg` quote, so the marginal price is `quote_reserve * peg / base_reserve` (price precision).
//! The quote reserve is a function of the base reserve, `Q(B) = ceil(k / B)`, so the curve has no
//! hidden state and a sequence of trades that returns `B` to where it was returns `Q` too.
//!
//! Rounding (always against the trader):
//! - buying `d` base: `Q' = ceil(k / (B - d))`, cost = `ceil((Q' - Q) * peg / 10^9)`;
//! - selling `d` base: `Q' = ceil(k / (B + d))`, proceeds = `floor((Q - Q') * peg / 10^9)`.
//!
//! A buy followed by a sell of the same size therefore never gains the trader money.

use crate::error::{CoreError, CoreResult};
use crate::units::{mul_div_u128, Base, Price, Quote, Round, BASE_PRECISION};

/// Largest base reserve accepted (keeps `k` within u128 with room for products).
pub const MAX_RESERVE: u128 = 1_000_000_000_000_000_000; // 10^18 raw = 10^9 base units
/// The curve never trades below this many raw base units of reserve.
pub const MIN_RESERVE: u128 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Buy base (go long / reduce a short).
    Long,
    /// Sell base (go short / reduce a long).
    Short,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Long => Side::Short,
            Side::Short => Side::Long,
        }
    }
    /// +1 for long, -1 for short.
    pub fn sign(self) -> i64 {
        match self {
            Side::Long => 1,
            Side::Short => -1,
        }
    }
    /// The side that a signed size is on (`None` for zero).
    pub fn of(base: Base) -> Option<Side> {
        match base.0 {
            0 => None,
            b if b > 0 => Some(Side::Long),
            _ => Some(Side::Short),
        }
    }
}

/// `ceil(n / d)` (`d > 0`), with the 64-bit fast path of [`crate::wide`].
fn ceil_div(n: u128, d: u128) -> u128 {
    let (q, r) = crate::wide::div_rem_u128(n, d);
    q + (r != 0) as u128
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vamm {
    pub base_reserve: u128,
    pub k: u128,
    /// Quote per virtual quote unit, price precision.
    pub peg: Price,
}

/// The result of a trade against the curve, from the trader's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Signed base received (+ for a buy).
    pub base: Base,
    /// Signed quote received (negative: the trader pays).
    pub quote: Quote,
    /// Average fill price `|quote| / |base|`, rounded against the trader.
    pub avg_price: Price,
    /// Marginal price after the trade.
    pub final_price: Price,
    /// Base reserve after the trade.
    pub new_base_reserve: u128,
}

fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    // Newton iterations from a power-of-two upper bound (integer only, SBF-friendly).
    let mut r: u128 = 1u128 << ((128 - n.leading_zeros()).div_ceil(2));
    loop {
        let next = (r + n / r) / 2;
        if next >= r {
            break;
        }
        r = next;
    }
    while r.checked_mul(r).is_none_or(|sq| sq > n) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= n) {
        r += 1;
    }
    r
}

impl Vamm {
    /// A curve balanced at `peg`: `B = Q = base_reserve`, so the price starts at the peg.
    pub fn new(base_reserve: u128, peg: Price) -> CoreResult<Vamm> {
        if !(MIN_RESERVE..=MAX_RESERVE).contains(&base_reserve) {
            return Err(CoreError::InvalidParameter("vAMM base reserve out of range"));
        }
        if peg.is_zero() {
            return Err(CoreError::InvalidParameter("vAMM peg must be > 0"));
        }
        Ok(Vamm { base_reserve, k: base_reserve.checked_mul(base_reserve).ok_or(CoreError::Overflow)?, peg })
    }

    pub fn quote_reserve(&self) -> CoreResult<u128> {
        Self::quote_for(self.k, self.base_reserve)
    }

    fn quote_for(k: u128, b: u128) -> CoreResult<u128> {
        if b == 0 {
            return Err(CoreError::DivisionByZero);
        }
        Ok(ceil_div(k, b))
    }

    fn price_at(&self, b: u128) -> CoreResult<Price> {
        let q = Self::quote_for(self.k, b)?;
        let p = mul_div_u128(q, self.peg.0 as u128, b, Round::Down)?;
        Ok(Price(u64::try_from(p).map_err(|_| CoreError::Overflow)?))
    }

    /// Marginal (mid) price.
    pub fn price(&self) -> CoreResult<Price> {
        self.price_at(self.base_reserve)
    }

    /// Quote value of `dq` virtual quote units.
    fn quote_value(&self, dq: u128, round: Round) -> CoreResult<i64> {
        let v = mul_div_u128(dq, self.peg.0 as u128, BASE_PRECISION as u128, round)?;
        i64::try_from(v).map_err(|_| CoreError::Overflow)
    }

    /// Fill for trading `size` (> 0) base in direction `side`. Does not change the curve.
    pub fn quote_trade(&self, side: Side, size: Base) -> CoreResult<Fill> {
        let (new_b, quote, avg_price) = self.quote_core(side, size)?;
        Ok(Fill {
            base: Base(size.0 * side.sign()),
            quote: Quote(quote),
            avg_price,
            final_price: self.price_at(new_b)?,
            new_base_reserve: new_b,
        })
    }

    /// The average price of trading `size` on `side`, as [`Vamm::quote_trade`] rounds it, without
    /// the price after the trade (what a search over sizes needs, at one division less).
    pub fn average_price(&self, side: Side, size: Base) -> CoreResult<Price> {
        Ok(self.quote_core(side, size)?.2)
    }

    /// `(base reserve after, signed quote, average price)` of a trade.
    fn quote_core(&self, side: Side, size: Base) -> CoreResult<(u128, i64, Price)> {
        if size.0 <= 0 {
            return Err(CoreError::ZeroSize);
        }
        let d = size.0 as u128;
        let b = self.base_reserve;
        let q = self.quote_reserve()?;
        let (new_b, quote) = match side {
            Side::Long => {
                if d >= b || b - d < MIN_RESERVE {
                    return Err(CoreError::InsufficientLiquidity);
                }
                let nb = b - d;
                let nq = Self::quote_for(self.k, nb)?;
                (nb, -self.quote_value(nq - q, Round::Up)?)
            }
            Side::Short => {
                let nb = b.checked_add(d).ok_or(CoreError::Overflow)?;
                if nb > MAX_RESERVE {
                    return Err(CoreError::InsufficientLiquidity);
                }
                let nq = Self::quote_for(self.k, nb)?;
                (nb, self.quote_value(q - nq, Round::Down)?)
            }
        };
        let avg_round = if side == Side::Long { Round::Up } else { Round::Down };
        Ok((new_b, quote, Quote(quote).per_base(size, avg_round)?))
    }

    /// Applies a fill previously quoted on this curve.
    pub fn apply(&mut self, fill: &Fill) {
        self.base_reserve = fill.new_base_reserve;
    }

    /// Average price to buy `notional` quote worth (impact ask), rounded up.
    pub fn impact_ask(&self, notional: Quote) -> CoreResult<Price> {
        if notional.0 <= 0 {
            return Err(CoreError::InvalidParameter("impact notional must be > 0"));
        }
        let dq = mul_div_u128(notional.0 as u128, BASE_PRECISION as u128, self.peg.0 as u128, Round::Down)?;
        let nq = self.quote_reserve()?.checked_add(dq).ok_or(CoreError::Overflow)?;
        if nq == 0 {
            // only on a curve with k = 0 (never from `Vamm::new`): nothing can be bought
            return Err(CoreError::InsufficientLiquidity);
        }
        let nb = ceil_div(self.k, nq);
        let db = self.base_reserve.saturating_sub(nb);
        if db == 0 || nb < MIN_RESERVE {
            return Err(CoreError::InsufficientLiquidity);
        }
        notional.per_base(Base(i64::try_from(db).map_err(|_| CoreError::Overflow)?), Round::Up)
    }

    /// Average price to sell for `notional` quote (impact bid), rounded down.
    pub fn impact_bid(&self, notional: Quote) -> CoreResult<Price> {
        if notional.0 <= 0 {
            return Err(CoreError::InvalidParameter("impact notional must be > 0"));
        }
        let dq = mul_div_u128(notional.0 as u128, BASE_PRECISION as u128, self.peg.0 as u128, Round::Up)?;
        let q = self.quote_reserve()?;
        if dq >= q {
            return Err(CoreError::InsufficientLiquidity);
        }
        let nq = q - dq;
        let nb = ceil_div(self.k, nq);
        if nb > MAX_RESERVE {
            return Err(CoreError::InsufficientLiquidity);
        }
        let db = nb - self.base_reserve;
        if db == 0 {
            return Err(CoreError::InsufficientLiquidity);
        }
        notional.per_base(Base(i64::try_from(db).map_err(|_| CoreError::Overflow)?), Round::Down)
    }

    /// The signed base size a trader must trade to move the marginal price to about `target`
    /// (positive = buy). Used by arbitrage bots and the simulator, not by the program's checks.
    pub fn size_to_price(&self, target: Price) -> CoreResult<Base> {
        if target.is_zero() {
            return Err(CoreError::NegativePrice);
        }
        // price = k * peg / B^2  =>  B = sqrt(k * peg / price)
        let b2 = mul_div_u128(self.k, self.peg.0 as u128, target.0 as u128, Round::Down)?;
        let nb = isqrt(b2).clamp(MIN_RESERVE, MAX_RESERVE);
        let d = i128::try_from(self.base_reserve).map_err(|_| CoreError::Overflow)? - nb as i128;
        Ok(Base(i64::try_from(d).map_err(|_| CoreError::Overflow)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn curve() -> Vamm {
        // 1,000 BTC of depth pegged at 20,000 USD
        Vamm::new(1_000 * BASE_PRECISION as u128, Price(20_000_000_000)).unwrap()
    }

    #[test]
    fn buy_one_of_a_thousand() {
        // B: 1000 -> 999, Q: 1000 -> 1000000/999 = 1001.001001001.. ; cost = 1.001001002 * 20,000
        let v = curve();
        assert_eq!(v.price().unwrap(), Price(20_000_000_000));
        let f = v.quote_trade(Side::Long, Base(BASE_PRECISION)).unwrap();
        assert_eq!(f.base, Base(BASE_PRECISION));
        // Q' = ceil(10^24 / 999e9) = 1001001001002 raw; dQ = 1001001002 raw -> *20000e6/1e9 = 20020.02004 USD
        assert_eq!(f.quote, Quote(-20_020_020_040));
        assert_eq!(f.avg_price, Price(20_020_020_040));
        assert!(f.final_price > f.avg_price);
        let s = v.quote_trade(Side::Short, Base(BASE_PRECISION)).unwrap();
        // Q' = ceil(10^24 / 1001e9) = 999000999001 -> dQ = 999000999 -> 19980.01998 USD
        assert_eq!(s.quote, Quote(19_980_019_980));
    }

    #[test]
    fn impact_prices_bracket_mid() {
        let v = curve();
        let n = Quote(100_000 * 1_000_000); // 100k USD
        let ask = v.impact_ask(n).unwrap();
        let bid = v.impact_bid(n).unwrap();
        let mid = v.price().unwrap();
        assert!(bid < mid && mid < ask, "{bid:?} {mid:?} {ask:?}");
        // spending 100k USD = 5 quote-reserve units of 1000: avg = peg x (Q + 5) / Q = 20,100;
        // receiving 100k: avg = peg x (Q - 5) / Q = 19,900 (up to rounding against the trader)
        assert!(ask.0 >= 20_100_000_000 && ask.0 - 20_100_000_000 <= 10, "{ask:?}");
        assert!(bid.0 <= 19_900_000_000 && 19_900_000_000 - bid.0 <= 10, "{bid:?}");
    }

    #[test]
    fn liquidity_limits() {
        let v = curve();
        assert_eq!(v.quote_trade(Side::Long, Base(1_000 * BASE_PRECISION)), Err(CoreError::InsufficientLiquidity));
        assert_eq!(v.quote_trade(Side::Long, Base(0)), Err(CoreError::ZeroSize));
        assert!(Vamm::new(10, Price(1)).is_err());
    }

    /// A curve with `k = 0` (fields are public; `Vamm::new` never builds one) divided by a zero
    /// quote reserve in `impact_ask`; a base reserve above i128::MAX wrapped to a negative number
    /// and overflowed the subtraction in `size_to_price`.
    #[test]
    fn regression_hand_built_curves_do_not_panic() {
        let v = Vamm { base_reserve: 1_000, k: 0, peg: Price(u64::MAX) };
        assert_eq!(v.impact_ask(Quote(1)), Err(CoreError::InsufficientLiquidity));
        let v = Vamm { base_reserve: 1 << 127, k: 0, peg: Price(1) };
        assert_eq!(v.size_to_price(Price(1)), Err(CoreError::Overflow));
    }

    #[test]
    fn size_to_price_reaches_target() {
        let v = curve();
        let target = Price(21_000_000_000);
        let d = v.size_to_price(target).unwrap();
        assert!(d.0 > 0);
        let f = v.quote_trade(Side::Long, d).unwrap();
        assert!((f.final_price.0 as i64 - target.0 as i64).abs() < 1_000, "{:?}", f.final_price);
        assert_eq!(isqrt(99), 9);
        assert_eq!(isqrt(100), 10);
        assert_eq!(isqrt(u128::MAX), 18446744073709551615);
    }

    proptest! {
        /// A round trip (any size, either direction first) never gains the trader money.
        #[test]
        fn round_trip_never_gains(reserve in 1_000_000_000u128..1_000_000_000_000_000,
                                  peg in 1_000u64..100_000_000_000,
                                  frac in 1u64..1000, long_first in any::<bool>()) {
            let v = Vamm::new(reserve, Price(peg)).unwrap();
            let size = Base(((reserve / 2000) * frac as u128).max(1) as i64);
            let first = if long_first { Side::Long } else { Side::Short };
            let Ok(a) = v.quote_trade(first, size) else { return Ok(()); };
            let mut v2 = v;
            v2.apply(&a);
            let b = v2.quote_trade(first.opposite(), size).unwrap();
            prop_assert!(a.quote.0 + b.quote.0 <= 0, "gained {}", a.quote.0 + b.quote.0);
            v2.apply(&b);
            prop_assert_eq!(v2.base_reserve, v.base_reserve);
        }

        /// Path independence: the reserves after a sequence of trades depend only on net size.
        #[test]
        fn sequence_returns_to_start(sizes in proptest::collection::vec(-50_000_000_000i64..50_000_000_000, 1..12)) {
            let mut v = curve();
            let start = v;
            let mut paid = 0i64;
            for s in &sizes {
                if *s == 0 { continue; }
                let side = if *s > 0 { Side::Long } else { Side::Short };
                let f = v.quote_trade(side, Base(s.abs())).unwrap();
                v.apply(&f);
                paid += f.quote.0;
            }
            let net: i64 = sizes.iter().sum();
            if net != 0 {
                let side = if net > 0 { Side::Short } else { Side::Long };
                let f = v.quote_trade(side, Base(net.abs())).unwrap();
                v.apply(&f);
                paid += f.quote.0;
            }
            prop_assert_eq!(v.base_reserve, start.base_reserve);
            prop_assert!(paid <= 0);
        }
    }
}
