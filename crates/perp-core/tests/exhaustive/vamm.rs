//! The vAMM on small reserves (1,000 to a few thousand raw base units; `MIN_RESERVE` is 1,000):
//! fills equal the documented formulas, round trips and split trades never gain the trader
//! anything, the curve returns to where it was, prices move monotonically with size, impact
//! prices are exactly the average prices of the trades they describe, and `size_to_price` brackets
//! the target within one base unit.

use crate::Counter;
use perp_core::vamm::{Side, Vamm, MIN_RESERVE};
use perp_core::{Base, CoreError, Price, Quote};

/// Pegs (price precision): 1 raw unit, just below 1 quote, 1 quote, 20,000 quote, an odd large one.
const PEGS: [u64; 5] = [1, 999_999_937, 1_000_000_000, 20_000_000_000, 123_456_789_011];
const E9: u128 = 1_000_000_000;

fn cdiv(n: u128, d: u128) -> u128 {
    n / d + !n.is_multiple_of(d) as u128
}

/// Cost of buying `d` on a curve `(k, b)`: `ceil((ceil(k / (b - d)) - ceil(k / b)) x peg / 10^9)`.
fn ref_cost(k: u128, b: u128, peg: u64, d: u128) -> u128 {
    cdiv((cdiv(k, b - d) - cdiv(k, b)) * peg as u128, E9)
}

/// Proceeds of selling `d`: `floor((ceil(k / b) - ceil(k / (b + d))) x peg / 10^9)`.
fn ref_proceeds(k: u128, b: u128, peg: u64, d: u128) -> u128 {
    (cdiv(k, b) - cdiv(k, b + d)) * peg as u128 / E9
}

fn side_name(s: Side) -> &'static str {
    if s == Side::Long {
        "buy"
    } else {
        "sell"
    }
}

#[test]
fn trades_round_trips_and_monotonicity() {
    // B in [1000, 1240], 5 pegs, sizes d in [1, 120], both sides
    let c = Counter::new("vAMM quote_trade/apply: B in [1000, 1240], 5 pegs, d in [1, 120], buy and sell (fill formula, k, round trip, monotone)");
    for b in 1_000u128..=1_240 {
        for peg in PEGS {
            let v = Vamm::new(b, Price(peg)).unwrap();
            let k = b * b;
            assert_eq!(v.price().unwrap(), Price(peg));
            for side in [Side::Long, Side::Short] {
                let mut prev: Option<(i64, Price)> = None;
                for d in 1u128..=120 {
                    c.tick();
                    let got = v.quote_trade(side, Base(d as i64));
                    if side == Side::Long && b - d < MIN_RESERVE {
                        assert_eq!(got, Err(CoreError::InsufficientLiquidity), "B {b} buy {d}");
                        continue;
                    }
                    let f = got.unwrap();
                    let (nb, paid) = match side {
                        Side::Long => (b - d, -(ref_cost(k, b, peg, d) as i64)),
                        Side::Short => (b + d, ref_proceeds(k, b, peg, d) as i64),
                    };
                    assert_eq!(f.base, Base(d as i64 * side.sign()));
                    assert_eq!(f.quote, Quote(paid), "B {b} peg {peg} {} {d}", side_name(side));
                    assert_eq!(f.new_base_reserve, nb);
                    // average price rounded against the trader; mid is the peg on a balanced curve
                    let avg = match side {
                        Side::Long => cdiv((-paid) as u128 * E9, d),
                        Side::Short => paid as u128 * E9 / d,
                    };
                    assert_eq!(f.avg_price.0 as u128, avg);
                    match side {
                        Side::Long => assert!(f.avg_price.0 >= peg),
                        Side::Short => assert!(f.avg_price.0 <= peg),
                    }
                    assert_eq!(f.final_price.0 as u128, cdiv(k, nb) * peg as u128 / nb);
                    // the curve after the fill: B' x Q' >= k, Q' the least such
                    let mut v2 = v;
                    v2.apply(&f);
                    assert_eq!(v2.base_reserve, nb);
                    let q2 = v2.quote_reserve().unwrap();
                    assert!(q2 * nb >= k && (q2 - 1) * nb < k);
                    // round trip: never gains, returns the curve
                    let back = v2.quote_trade(side.opposite(), Base(d as i64)).unwrap();
                    assert!(f.quote.0 + back.quote.0 <= 0, "B {b} peg {peg} {} {d}: gained", side_name(side));
                    v2.apply(&back);
                    assert_eq!(v2, v);
                    // monotone in size: the amount paid / received and the marginal price
                    if let Some((pq, pp)) = prev {
                        assert!(f.quote.0.abs() >= pq.abs());
                        match side {
                            Side::Long => assert!(f.final_price >= pp),
                            Side::Short => assert!(f.final_price <= pp),
                        }
                    }
                    prev = Some((f.quote.0, f.final_price));
                    // spread: buying d costs at least what selling d brings
                    if side == Side::Long {
                        let s = v.quote_trade(Side::Short, Base(d as i64)).unwrap();
                        assert!(-f.quote.0 >= s.quote.0);
                    }
                }
            }
        }
    }
    c.done(241 * 5 * 2 * 120);
}

#[test]
fn splits_and_sequences_never_gain() {
    // two trades (each side, sizes 1..=30) then closing the net: never a gain, the curve returns;
    // two trades in the same direction cost at least (bring at most) the one combined trade
    const BS: [u128; 8] = [1_000, 1_001, 1_003, 1_010, 1_037, 1_100, 1_500, 4_096];
    let c = Counter::new("vAMM sequences: B in 8 values, 5 pegs, (side1, d1, side2, d2) in {buy, sell}^2 x [1, 30]^2");
    for b in BS {
        for peg in PEGS {
            let v = Vamm::new(b, Price(peg)).unwrap();
            for s1 in [Side::Long, Side::Short] {
                for d1 in 1i64..=30 {
                    for s2 in [Side::Long, Side::Short] {
                        for d2 in 1i64..=30 {
                            c.tick();
                            let mut w = v;
                            let mut paid = 0i64;
                            let Ok(f1) = w.quote_trade(s1, Base(d1)) else {
                                assert!(s1 == Side::Long && b - (d1 as u128) < MIN_RESERVE);
                                continue;
                            };
                            w.apply(&f1);
                            paid += f1.quote.0;
                            let Ok(f2) = w.quote_trade(s2, Base(d2)) else {
                                assert!(s2 == Side::Long);
                                continue;
                            };
                            w.apply(&f2);
                            paid += f2.quote.0;
                            let net = d1 * s1.sign() + d2 * s2.sign();
                            if s1 == s2 {
                                let one = v.quote_trade(s1, Base(d1 + d2)).unwrap();
                                assert!(f1.quote.0 + f2.quote.0 <= one.quote.0, "splitting gained");
                                assert_eq!(one.new_base_reserve, w.base_reserve);
                            }
                            if net != 0 {
                                let side = if net > 0 { Side::Short } else { Side::Long };
                                let f3 = w.quote_trade(side, Base(net.abs())).unwrap();
                                w.apply(&f3);
                                paid += f3.quote.0;
                            }
                            assert_eq!(w, v);
                            assert!(paid <= 0, "B {b} peg {peg}: sequence gained {paid}");
                        }
                    }
                }
            }
        }
    }
    c.done(8 * 5 * 2 * 30 * 2 * 30);
}

/// Largest `d` in `[0, hi]` with `ok(d)`, for `ok` true at 0 and monotone decreasing.
fn last_true(hi: u128, ok: impl Fn(u128) -> bool) -> u128 {
    let (mut lo, mut hi) = (0u128, hi);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

#[test]
fn impact_prices_are_the_fills_they_describe() {
    // impact ask = notional / (largest size whose buy costs <= notional), rounded up; impact bid =
    // notional / (smallest size whose sale brings >= notional), rounded down; errors exactly when
    // no such size exists within the reserve limits
    let c = Counter::new("vAMM impact_ask/impact_bid: B in [1000, 1120], 5 pegs, notional in [-1, 600], ask and bid");
    for b in 1_000u128..=1_120 {
        for peg in PEGS {
            let v = Vamm::new(b, Price(peg)).unwrap();
            let k = b * b;
            let mid = v.price().unwrap();
            for n in -1i64..=600 {
                c.tick();
                c.tick();
                let (ask, bid) = (v.impact_ask(Quote(n)), v.impact_bid(Quote(n)));
                if n <= 0 {
                    assert!(matches!(ask, Err(CoreError::InvalidParameter(_))));
                    assert!(matches!(bid, Err(CoreError::InvalidParameter(_))));
                    continue;
                }
                let n128 = n as u128;
                // ask: the curve can be bought down to B - d >= 1; the vAMM refuses below MIN_RESERVE
                let db = last_true(b - 1, |d| d == 0 || ref_cost(k, b, peg, d) <= n128);
                if db == 0 || b - db < MIN_RESERVE {
                    assert_eq!(ask, Err(CoreError::InsufficientLiquidity), "B {b} peg {peg} n {n}: db {db}");
                } else {
                    let a = ask.unwrap();
                    assert_eq!(a.0 as u128, cdiv(n128 * E9, db), "B {b} peg {peg} n {n}");
                    assert!(a >= mid);
                    // and the vAMM agrees that the buy costs at most the notional
                    assert!(-v.quote_trade(Side::Long, Base(db as i64)).unwrap().quote.0 <= n);
                }
                // bid: the best any sale can bring is (Q - 1) reserve units
                let max_sale = (cdiv(k, b) - 1) * peg as u128 / E9;
                if max_sale < n128 {
                    assert_eq!(bid, Err(CoreError::InsufficientLiquidity), "B {b} peg {peg} n {n}");
                } else {
                    // smallest d with proceeds(d) >= n: one past the last d with proceeds < n
                    let d = last_true(k, |d| d == 0 || ref_proceeds(k, b, peg, d) < n128) + 1;
                    let got = bid.unwrap();
                    assert_eq!(got.0 as u128, n128 * E9 / d, "B {b} peg {peg} n {n}");
                    assert!(got <= mid);
                }
            }
        }
    }
    c.done(121 * 5 * 602 * 2);
}

#[test]
fn size_to_price_brackets_the_target() {
    // the returned size moves the base reserve to nb with target x nb^2 <= k x peg < target x (nb + 1)^2
    // (the exact marginal price k x peg / B^2 at nb is >= target, at nb + 1 below), clamped to the
    // reserve limits; non-decreasing in the target
    let c = Counter::new("vAMM size_to_price: B in [1000, 1120], 5 pegs, target = peg x j / 100, j in [0, 400]");
    for b in 1_000u128..=1_120 {
        for peg in PEGS {
            let v = Vamm::new(b, Price(peg)).unwrap();
            let k = b * b;
            let mut prev = i64::MIN;
            for j in 0u64..=400 {
                c.tick();
                let target = (peg as u128 * j as u128 / 100) as u64;
                let got = v.size_to_price(Price(target));
                if target == 0 {
                    assert_eq!(got, Err(CoreError::NegativePrice));
                    continue;
                }
                let d = got.unwrap().0;
                let nb = (b as i128 - d as i128) as u128;
                let (t, kp) = (target as u128, k * peg as u128);
                if nb == MIN_RESERVE {
                    // clamped at the reserve floor: the exact solution is at or below it
                    assert!(kp < t * (nb + 1) * (nb + 1));
                } else {
                    assert!(
                        t * nb * nb <= kp && kp < t * (nb + 1) * (nb + 1),
                        "B {b} peg {peg} target {target}: nb {nb}"
                    );
                }
                assert!(d >= prev, "not monotone in the target");
                prev = d;
            }
        }
    }
    c.done(121 * 5 * 401);
}
