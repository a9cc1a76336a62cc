//! Fixed-point quantities with their units.
//!
//! Every amount the protocol handles is an integer in a named precision:
//!
//! | type           | meaning                                   | precision (raw units per 1 natural unit) |
//! |----------------|-------------------------------------------|------------------------------------------|
//! | [`Base`]       | position size in the base asset, signed   | [`BASE_PRECISION`]  = 10^9               |
//! | [`Quote`]      | amount of collateral (USDC), signed       | [`QUOTE_PRECISION`] = 10^6 (token units) |
//! | [`Price`]      | quote per one whole base unit             | [`PRICE_PRECISION`] = 10^6               |
//! | [`Rate`]       | dimensionless fraction (funding, margin)  | [`RATE_PRECISION`]  = 10^9               |
//! | [`FundingIndex`] | cumulative funding, quote per base unit | [`FUNDING_INDEX_PRECISION`] = 10^15 (= price x rate) |
//!
//! Arithmetic between them is only offered where it has a meaning (a size times a price is a quote
//! amount; a price plus a size does not compile). Every operation that loses precision takes a
//! [`Round`] so the caller states which way the remainder goes; the protocol rule is that amounts a
//! user must pay or hold (requirements, fees, debits) round [`Round::Up`] and amounts credited to a
//! user round [`Round::Down`]. All arithmetic is checked: overflow is an error, never a wrap.

use crate::error::{CoreError, CoreResult};
use core::fmt;

/// Raw base units per one whole base asset unit (1 BTC = 10^9).
pub const BASE_PRECISION: i64 = 1_000_000_000;
/// Raw quote units per one quote unit; equal to the collateral mint's 6 decimals (1 USDC = 10^6).
pub const QUOTE_PRECISION: i64 = 1_000_000;
/// Raw price units per one quote unit per base unit.
pub const PRICE_PRECISION: u64 = 1_000_000;
/// Raw rate units per 1.0 (so 0.01% = 100_000).
pub const RATE_PRECISION: i64 = 1_000_000_000;
/// Funding index raw units: quote per whole base unit, at price x rate precision.
pub const FUNDING_INDEX_PRECISION: i128 = PRICE_PRECISION as i128 * RATE_PRECISION as i128;

/// Decimal places of each precision (for parsing and printing).
pub const BASE_DECIMALS: u32 = 9;
pub const QUOTE_DECIMALS: u32 = 6;
pub const PRICE_DECIMALS: u32 = 6;
pub const RATE_DECIMALS: u32 = 9;

/// Direction of rounding for an inexact division: `Down` is toward negative infinity
/// (floor), `Up` toward positive infinity (ceiling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    Down,
    Up,
}

/// `a * b / d` in i128 with explicit rounding; errors on overflow or a zero divisor. Computed on
/// magnitudes with 64-bit operations where they fit ([`crate::wide`]): the result is the same.
pub fn mul_div(a: i128, b: i128, d: i128, round: Round) -> CoreResult<i128> {
    let negative = (a < 0) != (b < 0);
    let p = crate::wide::checked_mul_u128(a.unsigned_abs(), b.unsigned_abs()).ok_or(CoreError::Overflow)?;
    if p > i128::MAX as u128 + negative as u128 {
        return Err(CoreError::Overflow);
    }
    // p fits in i128 (i128::MIN when negative and p = 2^127)
    let n = if negative { (p as i128).wrapping_neg() } else { p as i128 };
    div_round(n, d, round)
}

/// `n / d` with explicit rounding (floor or ceiling, for any signs), from one division.
pub fn div_round(n: i128, d: i128, round: Round) -> CoreResult<i128> {
    if d == 0 {
        return Err(CoreError::DivisionByZero);
    }
    if n == i128::MIN && d == -1 {
        return Err(CoreError::Overflow);
    }
    let (qm, rm) = crate::wide::div_rem_u128(n.unsigned_abs(), d.unsigned_abs());
    // the exact quotient is negative when the signs differ; truncation went toward zero
    let negative = (n < 0) != (d < 0) && n != 0;
    let q = if negative { (qm as i128).wrapping_neg() } else { qm as i128 };
    if rm == 0 {
        return Ok(q);
    }
    Ok(match (round, negative) {
        (Round::Down, true) => q - 1,
        (Round::Up, false) => q + 1,
        _ => q,
    })
}

/// Unsigned `a * b / d` with rounding, for reserve arithmetic.
pub fn mul_div_u128(a: u128, b: u128, d: u128, round: Round) -> CoreResult<u128> {
    if d == 0 {
        return Err(CoreError::DivisionByZero);
    }
    let p = crate::wide::checked_mul_u128(a, b).ok_or(CoreError::Overflow)?;
    let (q, r) = crate::wide::div_rem_u128(p, d);
    Ok(if round == Round::Up && r != 0 { q + 1 } else { q })
}

fn to_i64(v: i128) -> CoreResult<i64> {
    i64::try_from(v).map_err(|_| CoreError::Overflow)
}

fn to_u64(v: i128) -> CoreResult<u64> {
    u64::try_from(v).map_err(|_| CoreError::Overflow)
}

macro_rules! signed_quantity {
    ($name:ident, $inner:ty) => {
        impl $name {
            pub const ZERO: Self = Self(0);
            pub fn checked_add(self, o: Self) -> CoreResult<Self> {
                self.0.checked_add(o.0).map(Self).ok_or(CoreError::Overflow)
            }
            pub fn checked_sub(self, o: Self) -> CoreResult<Self> {
                self.0.checked_sub(o.0).map(Self).ok_or(CoreError::Overflow)
            }
            pub fn checked_neg(self) -> CoreResult<Self> {
                self.0.checked_neg().map(Self).ok_or(CoreError::Overflow)
            }
            pub fn abs(self) -> CoreResult<Self> {
                self.0.checked_abs().map(Self).ok_or(CoreError::Overflow)
            }
            pub fn is_zero(self) -> bool {
                self.0 == 0
            }
            pub fn is_positive(self) -> bool {
                self.0 > 0
            }
            pub fn is_negative(self) -> bool {
                self.0 < 0
            }
            pub fn signum(self) -> i64 {
                self.0.signum() as i64
            }
            pub fn raw(self) -> $inner {
                self.0
            }
        }
    };
}

/// A size in the base asset; positive is long, negative is short. Raw unit 10^-9.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Base(pub i64);
signed_quantity!(Base, i64);

/// An amount of quote currency (the collateral), signed. Raw unit 10^-6 (one token unit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Quote(pub i64);
signed_quantity!(Quote, i64);

/// A dimensionless fraction, signed. Raw unit 10^-9.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Rate(pub i64);
signed_quantity!(Rate, i64);

/// Cumulative funding per whole base unit, in quote at 10^-15 (price x rate precision).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FundingIndex(pub i128);
signed_quantity!(FundingIndex, i128);

/// Quote per one whole base unit; never negative. Raw unit 10^-6.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Price(pub u64);

impl Price {
    pub const ZERO: Self = Self(0);
    pub fn raw(self) -> u64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `price * (1 + rate)`, rounded as asked; errors if the result would be negative.
    pub fn scale_by_one_plus(self, rate: Rate, round: Round) -> CoreResult<Price> {
        let factor = (RATE_PRECISION as i128).checked_add(rate.0 as i128).ok_or(CoreError::Overflow)?;
        if factor < 0 {
            return Err(CoreError::NegativePrice);
        }
        Ok(Price(to_u64(mul_div(self.0 as i128, factor, RATE_PRECISION as i128, round)?)?))
    }
    /// `price * rate` as a price-precision value (may be negative, so returned as i128 raw).
    pub fn mul_rate_raw(self, rate: Rate, round: Round) -> CoreResult<i128> {
        mul_div(self.0 as i128, rate.0 as i128, RATE_PRECISION as i128, round)
    }
    /// `(self - other) / other` as a rate.
    pub fn relative_diff(self, other: Price, round: Round) -> CoreResult<Rate> {
        if other.0 == 0 {
            return Err(CoreError::DivisionByZero);
        }
        let diff = self.0 as i128 - other.0 as i128;
        Ok(Rate(to_i64(mul_div(diff, RATE_PRECISION as i128, other.0 as i128, round)?)?))
    }
    pub fn checked_add_raw(self, delta: i128) -> CoreResult<Price> {
        let v = (self.0 as i128).checked_add(delta).ok_or(CoreError::Overflow)?;
        if v < 0 {
            return Err(CoreError::NegativePrice);
        }
        Ok(Price(to_u64(v)?))
    }
}

impl Base {
    /// Signed value of this size at `price`: `base * price`, rounded as asked.
    pub fn value_at(self, price: Price, round: Round) -> CoreResult<Quote> {
        Ok(Quote(to_i64(mul_div(self.0 as i128, price.0 as i128, BASE_PRECISION as i128, round)?)?))
    }
    /// Unsigned notional `|base| * price`, rounded as asked.
    pub fn notional_at(self, price: Price, round: Round) -> CoreResult<Quote> {
        self.abs()?.value_at(price, round)
    }
    /// A fraction `num/den` of this size, rounded toward zero (never more than asked).
    pub fn portion(self, num: Base, den: Base) -> CoreResult<Base> {
        let v = mul_div((self.0 as i128).abs(), (num.0 as i128).abs(), (den.0 as i128).abs(), Round::Down)?;
        Ok(Base(to_i64(v)? * self.signum()))
    }
    /// `base * funding index delta`, in quote, rounded as asked.
    pub fn funding_payment(self, delta: FundingIndex, round: Round) -> CoreResult<Quote> {
        let den = BASE_PRECISION as i128 * FUNDING_INDEX_PRECISION / QUOTE_PRECISION as i128;
        Ok(Quote(to_i64(mul_div(self.0 as i128, delta.0, den, round)?)?))
    }
}

impl Quote {
    /// `quote * rate`, rounded as asked.
    pub fn mul_rate(self, rate: Rate, round: Round) -> CoreResult<Quote> {
        Ok(Quote(to_i64(mul_div(self.0 as i128, rate.0 as i128, RATE_PRECISION as i128, round)?)?))
    }
    /// `self / other` as a rate.
    pub fn ratio(self, other: Quote, round: Round) -> CoreResult<Rate> {
        Ok(Rate(to_i64(mul_div(self.0 as i128, RATE_PRECISION as i128, other.0 as i128, round)?)?))
    }
    /// The price at which `base` units are worth this quote amount: `|quote| / |base|`.
    pub fn per_base(self, base: Base, round: Round) -> CoreResult<Price> {
        if base.0 == 0 {
            return Err(CoreError::DivisionByZero);
        }
        let v = mul_div((self.0 as i128).abs(), BASE_PRECISION as i128, (base.0 as i128).abs(), round)?;
        Ok(Price(to_u64(v)?))
    }
    pub fn max(self, o: Quote) -> Quote {
        if self.0 >= o.0 {
            self
        } else {
            o
        }
    }
    pub fn min(self, o: Quote) -> Quote {
        if self.0 <= o.0 {
            self
        } else {
            o
        }
    }
}

impl Rate {
    pub const ONE: Rate = Rate(RATE_PRECISION);
    pub fn clamp(self, lo: Rate, hi: Rate) -> Rate {
        if self.0 < lo.0 {
            lo
        } else if self.0 > hi.0 {
            hi
        } else {
            self
        }
    }
    /// `self * num / den` for scaling a rate by a time fraction.
    pub fn scale(self, num: i64, den: i64, round: Round) -> CoreResult<Rate> {
        Ok(Rate(to_i64(mul_div(self.0 as i128, num as i128, den as i128, round)?)?))
    }
}

impl FundingIndex {
    /// The index increment for one funding event: `price * rate` (exact, no rounding).
    pub fn increment(price: Price, rate: Rate) -> CoreResult<FundingIndex> {
        let p = crate::wide::mul_64_64(price.0, rate.0.unsigned_abs()) as i128;
        Ok(FundingIndex(if rate.0 < 0 { -p } else { p }))
    }
}

/// A fixed-point number for display: `value / 10^decimals`, printed exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub value: i128,
    pub decimals: u32,
}

impl Decimal {
    pub fn new(value: i128, decimals: u32) -> Self {
        Self { value, decimals }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.value < 0;
        let mag = self.value.unsigned_abs();
        // beyond 38 decimals 10^decimals exceeds u128, and every i128 is a pure fraction
        let (int, mut frac) = match 10u128.checked_pow(self.decimals) {
            Some(scale) => (mag / scale, mag % scale),
            None => (0, mag),
        };
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{}", int)?;
        if frac != 0 {
            // trim trailing zeros
            let mut digits = self.decimals;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            write!(f, ".{:0width$}", frac, width = digits as usize)?;
        }
        Ok(())
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Decimal::new(self.0 as i128, BASE_DECIMALS).fmt(f)
    }
}
impl fmt::Display for Quote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Decimal::new(self.0 as i128, QUOTE_DECIMALS).fmt(f)
    }
}
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Decimal::new(self.0 as i128, PRICE_DECIMALS).fmt(f)
    }
}
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Decimal::new(self.0 as i128, RATE_DECIMALS).fmt(f)
    }
}

/// Parses a decimal string (`-12.345`) into raw units at `decimals` places. Digits beyond the
/// precision must be zeros (an input is never silently rounded).
pub fn parse_decimal(s: &str, decimals: u32) -> CoreResult<i128> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return Err(CoreError::Parse);
    }
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(CoreError::Parse);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CoreError::Parse);
    }
    let scale = 10i128.checked_pow(decimals).ok_or(CoreError::Overflow)?;
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        value = value.checked_mul(10).and_then(|v| v.checked_add((b - b'0') as i128)).ok_or(CoreError::Overflow)?;
    }
    value = value.checked_mul(scale).ok_or(CoreError::Overflow)?;
    let mut place = scale;
    for b in frac_part.bytes() {
        place /= 10;
        let d = (b - b'0') as i128;
        if place == 0 {
            if d != 0 {
                return Err(CoreError::TooPrecise { decimals });
            }
            continue;
        }
        value = value.checked_add(d * place).ok_or(CoreError::Overflow)?;
    }
    Ok(if neg { -value } else { value })
}

impl Base {
    pub fn parse(s: &str) -> CoreResult<Base> {
        Ok(Base(to_i64(parse_decimal(s, BASE_DECIMALS)?)?))
    }
}
impl Quote {
    pub fn parse(s: &str) -> CoreResult<Quote> {
        Ok(Quote(to_i64(parse_decimal(s, QUOTE_DECIMALS)?)?))
    }
}
impl Rate {
    pub fn parse(s: &str) -> CoreResult<Rate> {
        Ok(Rate(to_i64(parse_decimal(s, RATE_DECIMALS)?)?))
    }
}
impl Price {
    pub fn parse(s: &str) -> CoreResult<Price> {
        let v = parse_decimal(s, PRICE_DECIMALS)?;
        if v < 0 {
            return Err(CoreError::NegativePrice);
        }
        Ok(Price(to_u64(v)?))
    }
}

/// Converts a Pyth-style `(mantissa, exponent)` into our price precision, rounding as asked.
/// Negative or zero mantissas are rejected: a price feed below zero is not a price.
pub fn price_from_mantissa(mantissa: i64, expo: i32, round: Round) -> CoreResult<Price> {
    if mantissa <= 0 {
        return Err(CoreError::NegativePrice);
    }
    Ok(Price(scale_mantissa(mantissa as u64, expo, round)?))
}

/// Converts an unsigned `(mantissa, exponent)` (e.g. a Pyth confidence) into price precision.
pub fn scale_mantissa(mantissa: u64, expo: i32, round: Round) -> CoreResult<u64> {
    let shift = expo.checked_add(PRICE_DECIMALS as i32).ok_or(CoreError::Overflow)?;
    let m = mantissa as u128;
    let v = if shift >= 0 {
        let f = 10u128.checked_pow(shift as u32).ok_or(CoreError::Overflow)?;
        m.checked_mul(f).ok_or(CoreError::Overflow)?
    } else {
        let f = 10u128.checked_pow(shift.unsigned_abs()).ok_or(CoreError::Overflow)?;
        let q = m / f;
        if round == Round::Up && !m.is_multiple_of(f) {
            q + 1
        } else {
            q
        }
    };
    u64::try_from(v).map_err(|_| CoreError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain i128 definitions the fast versions must equal.
    fn naive_div_round(n: i128, d: i128, round: Round) -> CoreResult<i128> {
        if d == 0 {
            return Err(CoreError::DivisionByZero);
        }
        let q = n.checked_div(d).ok_or(CoreError::Overflow)?;
        let r = n.checked_rem(d).ok_or(CoreError::Overflow)?;
        if r == 0 {
            return Ok(q);
        }
        let negative = (r < 0) != (d < 0);
        Ok(match (round, negative) {
            (Round::Down, true) => q - 1,
            (Round::Up, false) => q + 1,
            _ => q,
        })
    }

    proptest! {
        #[test]
        fn fast_division_equals_i128(n in any::<i128>(), d in any::<i128>(), up in any::<bool>()) {
            let r = if up { Round::Up } else { Round::Down };
            prop_assert_eq!(div_round(n, d, r), naive_div_round(n, d, r));
        }

        #[test]
        fn fast_division_small_divisors(n in any::<i128>(), d in -1_000_000_000_000_000_000i128..1_000_000_000_000_000_000, up in any::<bool>()) {
            let r = if up { Round::Up } else { Round::Down };
            prop_assert_eq!(div_round(n, d, r), naive_div_round(n, d, r));
        }

        #[test]
        fn fast_mul_div_equals_i128(a in any::<i64>(), b in any::<i64>(), d in any::<i64>(), up in any::<bool>()) {
            let r = if up { Round::Up } else { Round::Down };
            let naive = (a as i128).checked_mul(b as i128).ok_or(CoreError::Overflow).and_then(|p| naive_div_round(p, d as i128, r));
            prop_assert_eq!(mul_div(a as i128, b as i128, d as i128, r), naive);
        }

        #[test]
        fn fast_mul_div_wide(a in any::<i128>(), b in -4i128..4, d in any::<i128>(), up in any::<bool>()) {
            let r = if up { Round::Up } else { Round::Down };
            let naive = a.checked_mul(b).ok_or(CoreError::Overflow).and_then(|p| naive_div_round(p, d, r));
            prop_assert_eq!(mul_div(a, b, d, r), naive);
        }
    }

    #[test]
    fn division_edges() {
        for (n, d) in [
            (i128::MIN, 1),
            (i128::MIN, -1),
            (i128::MIN, 3),
            (i128::MAX, -1),
            (-7, 2),
            (7, -2),
            (0, -5),
            (-1, i128::MIN),
        ] {
            for r in [Round::Up, Round::Down] {
                assert_eq!(div_round(n, d, r), naive_div_round(n, d, r), "{n} / {d} {r:?}");
            }
        }
        assert_eq!(mul_div(i128::MIN, 1, 1, Round::Down), Ok(i128::MIN));
        assert_eq!(mul_div(i128::MIN, -1, 1, Round::Down), Err(CoreError::Overflow));
        assert_eq!(mul_div(-(1i128 << 126), 2, 1, Round::Down), Ok(i128::MIN));
    }

    #[test]
    fn div_round_floor_and_ceil_for_all_signs() {
        assert_eq!(div_round(7, 2, Round::Down).unwrap(), 3);
        assert_eq!(div_round(7, 2, Round::Up).unwrap(), 4);
        assert_eq!(div_round(-7, 2, Round::Down).unwrap(), -4);
        assert_eq!(div_round(-7, 2, Round::Up).unwrap(), -3);
        assert_eq!(div_round(7, -2, Round::Down).unwrap(), -4);
        assert_eq!(div_round(-7, -2, Round::Up).unwrap(), 4);
        assert_eq!(div_round(6, 3, Round::Up).unwrap(), 2);
        assert_eq!(div_round(1, 0, Round::Up), Err(CoreError::DivisionByZero));
        assert_eq!(div_round(i128::MIN, -1, Round::Up), Err(CoreError::Overflow));
    }

    #[test]
    fn value_and_notional() {
        // 1.5 BTC at 20,000.5 USD = 30,000.75 USD
        let b = Base(1_500_000_000);
        let p = Price(20_000_500_000);
        assert_eq!(b.value_at(p, Round::Down).unwrap(), Quote(30_000_750_000));
        assert_eq!(Base(-1_500_000_000).value_at(p, Round::Down).unwrap(), Quote(-30_000_750_000));
        // 1 raw base unit at 1.5 USD is 1.5e-9 USD: floor 0, ceil 1 raw quote
        assert_eq!(Base(1).value_at(Price(1_500_000), Round::Down).unwrap(), Quote(0));
        assert_eq!(Base(1).value_at(Price(1_500_000), Round::Up).unwrap(), Quote(1));
        assert_eq!(Base(-1).value_at(Price(1_500_000), Round::Down).unwrap(), Quote(-1));
    }

    #[test]
    fn funding_payment_units() {
        // 2 BTC, index moved by 20,000 USD x 0.0001 = 2 USD per BTC -> 4 USD
        let delta = FundingIndex::increment(Price(20_000_000_000), Rate(100_000)).unwrap();
        assert_eq!(delta.0, 20_000_000_000i128 * 100_000);
        assert_eq!(Base(2_000_000_000).funding_payment(delta, Round::Up).unwrap(), Quote(4_000_000));
        assert_eq!(Base(-2_000_000_000).funding_payment(delta, Round::Down).unwrap(), Quote(-4_000_000));
    }

    /// `Decimal` printed with more than 38 decimals computed 10^decimals in u128 and overflowed.
    #[test]
    fn regression_decimal_display_beyond_38_decimals() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Decimal::new(-15, 40).to_string(), "-0.0000000000000000000000000000000000000015");
        assert_eq!(Decimal::new(0, 39).to_string(), "0");
        assert_eq!(Decimal::new(i128::MIN, 39).to_string(), "-0.170141183460469231731687303715884105728");
        assert_eq!(Decimal::new(i128::MAX, 38).to_string(), "1.70141183460469231731687303715884105727");
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(parse_decimal("12.5", 6).unwrap(), 12_500_000);
        assert_eq!(parse_decimal("-0.000001", 6).unwrap(), -1);
        assert_eq!(parse_decimal(".5", 6).unwrap(), 500_000);
        assert_eq!(parse_decimal("1.0000000", 6).unwrap(), 1_000_000);
        assert_eq!(parse_decimal("1.0000001", 6), Err(CoreError::TooPrecise { decimals: 6 }));
        assert_eq!(parse_decimal("abc", 6), Err(CoreError::Parse));
        assert_eq!(parse_decimal("", 6), Err(CoreError::Parse));
        assert_eq!(parse_decimal("-", 6), Err(CoreError::Parse));
        assert_eq!(parse_decimal("1e5", 6), Err(CoreError::Parse));
        assert!(Price::parse("-1").is_err());
        extern crate std;
        use std::string::ToString;
        assert_eq!(Price(20_000_500_000).to_string(), "20000.5");
        assert_eq!(Quote(-1).to_string(), "-0.000001");
        assert_eq!(Rate(100_000).to_string(), "0.0001");
        assert_eq!(Base(0).to_string(), "0");
    }

    #[test]
    fn pyth_mantissa_scaling() {
        // 148.56315152 at expo -8 -> 148.563151 (floor) / 148.563152 (ceil)
        assert_eq!(price_from_mantissa(14856315152, -8, Round::Down).unwrap(), Price(148_563_151));
        assert_eq!(price_from_mantissa(14856315152, -8, Round::Up).unwrap(), Price(148_563_152));
        // expo -5 -> multiply by 10
        assert_eq!(price_from_mantissa(23623373, -5, Round::Down).unwrap(), Price(236_233_730));
        assert!(price_from_mantissa(-5, -8, Round::Down).is_err());
        assert!(price_from_mantissa(0, -8, Round::Down).is_err());
    }

    proptest! {
        #[test]
        fn div_round_brackets_exact_quotient(n in any::<i64>(), d in any::<i64>().prop_filter("nz", |d| *d != 0)) {
            let lo = div_round(n as i128, d as i128, Round::Down).unwrap();
            let hi = div_round(n as i128, d as i128, Round::Up).unwrap();
            prop_assert!(hi - lo <= 1);
            // lo <= n/d <= hi, checked by multiplication without division
            let (n, d) = (n as i128, d as i128);
            if d > 0 { prop_assert!(lo * d <= n && n <= hi * d); } else { prop_assert!(lo * d >= n && n >= hi * d); }
        }

        #[test]
        fn parse_print_round_trip(v in any::<i64>()) {
            extern crate std;
            use std::string::ToString;
            let s = Quote(v).to_string();
            prop_assert_eq!(Quote::parse(&s).unwrap(), Quote(v));
        }

        #[test]
        fn value_never_silently_overflows(b in any::<i64>(), p in any::<u64>()) {
            // either a correct result or an explicit error, never a wrapped number
            match Base(b).value_at(Price(p), Round::Down) {
                Ok(q) => prop_assert_eq!(q.0 as i128, div_round(b as i128 * p as i128, BASE_PRECISION as i128, Round::Down).unwrap()),
                Err(e) => prop_assert_eq!(e, CoreError::Overflow),
            }
        }

        #[test]
        fn rounding_direction_brackets_value(b in -1_000_000_000_000i64..1_000_000_000_000, p in 1u64..100_000_000_000) {
            let lo = Base(b).value_at(Price(p), Round::Down).unwrap();
            let hi = Base(b).value_at(Price(p), Round::Up).unwrap();
            prop_assert!(hi.0 - lo.0 <= 1 && hi.0 >= lo.0);
        }
    }
}
