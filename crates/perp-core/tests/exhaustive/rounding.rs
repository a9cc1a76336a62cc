//! The rounding helpers (`mul_div`, `div_round`, `mul_div_u128`), the 128-bit helpers they are
//! built on, and the unit conversions that wrap them: equal to the exact floor / ceiling, errors
//! (never panics) on a zero divisor or an overflow.

use crate::{brackets, rdiv, Counter, ROUNDS};
use perp_core::units::{div_round, mul_div, mul_div_u128};
use perp_core::wide::{checked_mul_u128, div_rem_u128, mul_64_64, mul_i64};
use perp_core::{Base, CoreError, FundingIndex, Price, Quote, Rate, Round};

fn round_of(up: u8) -> Round {
    if up == 1 {
        Round::Up
    } else {
        Round::Down
    }
}

#[test]
fn div_round_small() {
    // n, d in [-300, 300], both directions: 601 x 601 x 2
    let c = Counter::new("div_round: n, d in [-300, 300] x {Down, Up}");
    bolero::check!().with_generator((-300i16..=300, -300i16..=300, 0u8..=1)).exhaustive().cloned().for_each(
        |(n, d, up)| {
            c.tick();
            let (n, d, r) = (n as i128, d as i128, round_of(up));
            let got = div_round(n, d, r);
            if d == 0 {
                assert_eq!(got, Err(CoreError::DivisionByZero));
            } else {
                let q = got.unwrap();
                assert_eq!(q, rdiv(n, d, r), "{n} / {d} {r:?}");
                assert!(brackets(n, d, q, r), "{n} / {d} {r:?} = {q}");
            }
        },
    );
    c.done(601 * 601 * 2);
}

/// Values where 128-bit and 64-bit arithmetic has its corners.
fn edges_i128() -> Vec<i128> {
    let mut v = vec![
        i128::MIN,
        i128::MIN + 1,
        i128::MIN + 2,
        -(1i128 << 64) - 1,
        -(1i128 << 64),
        -(1i128 << 64) + 1,
        i64::MIN as i128 - 1,
        i64::MIN as i128,
        i64::MIN as i128 + 1,
        -1_000_000_000_000_000_000,
        -1_000_000_000,
        i128::MAX - 2,
        i128::MAX - 1,
        i128::MAX,
        1i128 << 64,
        (1i128 << 64) + 1,
        (1i128 << 64) - 1,
        i64::MAX as i128,
        i64::MAX as i128 + 1,
        u64::MAX as i128,
        1_000_000_000_000_000_000,
        1_000_000_000,
        1i128 << 126,
        -(1i128 << 126),
    ];
    v.extend(-3..=3);
    v
}

#[test]
fn div_round_edges() {
    let e = edges_i128();
    let c =
        Counter::new("div_round: n, d in 31 edge values (i128::MIN/MAX, 2^63, 2^64, 2^126 neighbours) x {Down, Up}");
    for &n in &e {
        for &d in &e {
            for r in ROUNDS {
                c.tick();
                let got = div_round(n, d, r);
                if d == 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                } else if n == i128::MIN && d == -1 {
                    assert_eq!(got, Err(CoreError::Overflow));
                } else {
                    assert_eq!(got, Ok(rdiv(n, d, r)), "{n} / {d} {r:?}");
                }
            }
        }
    }
    c.done((e.len() * e.len() * 2) as u64);
}

#[test]
fn mul_div_small() {
    // a, b, d in [-20, 20], both directions: 41^3 x 2
    let c = Counter::new("mul_div: a, b, d in [-20, 20] x {Down, Up}");
    bolero::check!().with_generator((-20i8..=20, -20i8..=20, -20i8..=20, 0u8..=1)).exhaustive().cloned().for_each(
        |(a, b, d, up)| {
            c.tick();
            let (a, b, d, r) = (a as i128, b as i128, d as i128, round_of(up));
            let got = mul_div(a, b, d, r);
            if d == 0 {
                assert_eq!(got, Err(CoreError::DivisionByZero));
            } else {
                let q = got.unwrap();
                assert_eq!(q, rdiv(a * b, d, r), "{a} x {b} / {d} {r:?}");
                assert!(brackets(a * b, d, q, r));
            }
        },
    );
    c.done(41 * 41 * 41 * 2);
}

#[test]
fn mul_div_edges() {
    let e = edges_i128();
    let ds: Vec<i128> = vec![
        i128::MIN,
        -(1i128 << 64),
        -1_000_000_000,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        1_000_000_000,
        u64::MAX as i128,
        1i128 << 64,
        i128::MAX,
    ];
    let c = Counter::new("mul_div: a, b in 31 edge values, d in 14 edge values, x {Down, Up}");
    for &a in &e {
        for &b in &e {
            for &d in &ds {
                for r in ROUNDS {
                    c.tick();
                    let got = mul_div(a, b, d, r);
                    let want = match a.checked_mul(b) {
                        None => Err(CoreError::Overflow),
                        Some(_) if d == 0 => Err(CoreError::DivisionByZero),
                        Some(p) if p == i128::MIN && d == -1 => Err(CoreError::Overflow),
                        Some(p) => Ok(rdiv(p, d, r)),
                    };
                    assert_eq!(got, want, "{a} x {b} / {d} {r:?}");
                }
            }
        }
    }
    c.done((e.len() * e.len() * ds.len() * 2) as u64);
}

#[test]
fn mul_div_u128_small_and_edges() {
    let c = Counter::new("mul_div_u128: a, b, d in [0, 40] plus a, b, d in 12 edge values, x {Down, Up}");
    let mut vals: Vec<u128> = (0..=40).collect();
    let edges: Vec<u128> = vec![
        0,
        1,
        2,
        3,
        u64::MAX as u128 - 1,
        u64::MAX as u128,
        1 << 64,
        (1 << 64) + 1,
        1 << 127,
        u128::MAX - 1,
        u128::MAX,
        1_000_000_000,
    ];
    let mut n = 0u64;
    for pass in 0..2 {
        if pass == 1 {
            vals = edges.clone();
        }
        for &a in &vals {
            for &b in &vals {
                for &d in &vals {
                    for r in ROUNDS {
                        c.tick();
                        n += 1;
                        let got = mul_div_u128(a, b, d, r);
                        let want = match (d, a.checked_mul(b)) {
                            (0, _) => Err(CoreError::DivisionByZero),
                            (_, None) => Err(CoreError::Overflow),
                            (d, Some(p)) => Ok(if r == Round::Up { p.div_ceil(d) } else { p / d }),
                        };
                        assert_eq!(got, want, "{a} x {b} / {d} {r:?}");
                    }
                }
            }
        }
    }
    assert_eq!(n, 41 * 41 * 41 * 2 + 12 * 12 * 12 * 2);
    c.done(41 * 41 * 41 * 2 + 12 * 12 * 12 * 2);
}

/// 64-bit words at the corners of the 32-bit-digit long division (normalisation shifts, the
/// `q >= 2^32` and `rhat >= 2^32` correction steps).
const WORDS: [u64; 20] = [
    0,
    1,
    2,
    3,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0x8000_0000_0000_0001,
    0x8000_0000_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_fffe_ffff_ffff,
    0xffff_ffff_ffff_fffe,
    0xffff_ffff_ffff_ffff,
    1_000_000_000,
    1_000_000_000_000_000_000,
    0x0000_0001_ffff_fffe,
];

#[test]
fn wide_division_and_products() {
    // n = hi:lo for hi, lo in WORDS; d in WORDS \ {0} and in 5 divisors wider than 64 bits
    let wide_ds: [u128; 5] = [1 << 64, (1 << 64) + 1, u128::MAX, 1 << 127, (u64::MAX as u128) << 32];
    let c = Counter::new(
        "div_rem_u128 (hi:lo in 20 x 20 words, d in 19 + 5) and mul_64_64 / mul_i64 / checked_mul_u128 (20 x 20)",
    );
    for &hi in &WORDS {
        for &lo in &WORDS {
            let n = ((hi as u128) << 64) | lo as u128;
            for d in WORDS.iter().filter(|d| **d != 0).map(|d| *d as u128).chain(wide_ds) {
                c.tick();
                assert_eq!(div_rem_u128(n, d), (n / d, n % d), "{n} / {d}");
            }
            c.tick();
            assert_eq!(mul_64_64(hi, lo), hi as u128 * lo as u128);
            assert_eq!(mul_i64(hi as i64, lo as i64), hi as i64 as i128 * lo as i64 as i128);
            assert_eq!(checked_mul_u128(n, lo as u128), n.checked_mul(lo as u128));
        }
    }
    c.done(20 * 20 * (19 + 5 + 1));
}

#[test]
fn unit_conversions() {
    // Base::value_at / notional_at: b in [-300, 300], price = j x 10^7 for j in [0, 300] (b x p / 10^9
    // = b j / 100 hits every remainder), both directions
    let c = Counter::new("Base::value_at / notional_at: b in [-300, 300], p = j x 10^7, j in [0, 300], x {Down, Up}");
    for b in -300i64..=300 {
        for j in 0u64..=300 {
            let p = j * 10_000_000;
            for r in ROUNDS {
                c.tick();
                let exact = b as i128 * p as i128;
                let v = Base(b).value_at(Price(p), r).unwrap();
                assert_eq!(v.0 as i128, rdiv(exact, 1_000_000_000, r));
                let n = Base(b).notional_at(Price(p), r).unwrap();
                assert_eq!(n.0 as i128, rdiv(exact.abs(), 1_000_000_000, r));
            }
        }
    }
    c.done(601 * 301 * 2);

    // Quote::per_base: q in [-300, 300] x 10^5, b in [-30, 30]; Quote::mul_rate / ratio; Rate::scale
    let c = Counter::new("Quote::per_base, mul_rate, ratio, Price::mul_rate_raw, relative_diff, Rate::scale: q in [-300, 300], x in [-30, 30], x {Down, Up}");
    for q in -300i64..=300 {
        for x in -30i64..=30 {
            for r in ROUNDS {
                c.tick();
                let qq = q * 100_000;
                let got = Quote(qq).per_base(Base(x), r);
                if x == 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                } else {
                    assert_eq!(got.unwrap().0 as i128, rdiv(qq.abs() as i128 * 1_000_000_000, x.abs() as i128, r));
                }
                // a rate of x / 30
                let rate = Rate(x * 33_333_333);
                assert_eq!(
                    Quote(q).mul_rate(rate, r).unwrap().0 as i128,
                    rdiv(q as i128 * rate.0 as i128, 1_000_000_000, r)
                );
                let ratio = Quote(q).ratio(Quote(x), r);
                if x == 0 {
                    assert_eq!(ratio, Err(CoreError::DivisionByZero));
                } else {
                    assert_eq!(ratio.unwrap().0 as i128, rdiv(q as i128 * 1_000_000_000, x as i128, r));
                }
                let p = Price(q.unsigned_abs());
                assert_eq!(p.mul_rate_raw(rate, r).unwrap(), rdiv(p.0 as i128 * rate.0 as i128, 1_000_000_000, r));
                let rd = p.relative_diff(Price(x.unsigned_abs()), r);
                if x == 0 {
                    assert_eq!(rd, Err(CoreError::DivisionByZero));
                } else {
                    let diff = p.0 as i128 - x.unsigned_abs() as i128;
                    assert_eq!(rd.unwrap().0 as i128, rdiv(diff * 1_000_000_000, x.abs() as i128, r));
                }
                let s = Rate(q).scale(x, 7, r).unwrap();
                assert_eq!(s.0 as i128, rdiv(q as i128 * x as i128, 7, r));
            }
        }
    }
    c.done(601 * 61 * 2);

    // Base::portion: never more than asked (toward zero); Price::scale_by_one_plus
    let c = Counter::new("Base::portion (s, num, den in [-20, 20]) and Price::scale_by_one_plus (p in [0, 20] x 10^8, rate in {-21..20} x 5 x 10^7)");
    for s in -20i64..=20 {
        for num in -20i64..=20 {
            for den in -20i64..=20 {
                c.tick();
                let got = Base(s).portion(Base(num), Base(den));
                if den == 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                    continue;
                }
                let mag = (s.abs() * num.abs()) / den.abs();
                assert_eq!(got.unwrap(), Base(mag * s.signum()));
                if num.abs() <= den.abs() {
                    assert!(got.unwrap().0.abs() <= s.abs());
                }
            }
        }
    }
    for p in 0u64..=20 {
        for k in -21i64..=20 {
            for r in ROUNDS {
                c.tick();
                let (p, rate) = (p * 100_000_000, Rate(k * 50_000_000));
                let got = Price(p).scale_by_one_plus(rate, r);
                let factor = 1_000_000_000 + rate.0 as i128;
                if factor < 0 {
                    assert_eq!(got, Err(CoreError::NegativePrice));
                } else {
                    assert_eq!(got.unwrap().0 as i128, rdiv(p as i128 * factor, 1_000_000_000, r));
                }
            }
        }
    }
    c.done(41 * 41 * 41 + 21 * 42 * 2);

    // FundingIndex::increment: exact price x rate
    let c = Counter::new("FundingIndex::increment: price in [0, 200], rate in [-200, 200]");
    for p in 0u64..=200 {
        for k in -200i64..=200 {
            c.tick();
            assert_eq!(FundingIndex::increment(Price(p), Rate(k)).unwrap(), FundingIndex(p as i128 * k as i128));
        }
    }
    c.done(201 * 401);
}
