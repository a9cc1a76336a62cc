//! Liquidation and bankruptcy prices against the program's integer predicate and an exact rational
//! model, the liquidation money waterfall, and the close-size search.
//!
//! Liquidation price (doc): long: the highest price at which the group is liquidatable; short: the
//! lowest. Checked: liquidatable at the returned price, and not liquidatable at any price beyond
//! it. "Any price" is made finite with the exact margin excess `X(p)` (no rounding): the integer
//! check can only hold where `X(p) < 3` raw quote units (PnL floors by < 1, the notional ceiling
//! adds < 1 x MMR, the requirement ceiling < 1), and `X` is monotone in `p`, so the scan beyond
//! the returned price stops where `X(p) >= 3`.

use crate::{ceil_div, floor_div, Counter};
use perp_core::liquidation::{
    bankruptcy_price, liquidatable_at, liquidation_outcome, liquidation_price, margin_excess_at, min_close_size,
    LiquidationFees, MAX_PRICE,
};
use perp_core::margin::{tier_index, PositionState, Tier, UNBOUNDED};
use perp_core::{Base, CoreError, Price, Quote, Rate};
use std::cell::Cell;

const E9: i128 = 1_000_000_000;
const E18: i128 = E9 * E9;
const USD: i64 = 1_000_000;

fn tables() -> Vec<Vec<Tier>> {
    let t = |cap: i64, imr: i64, mmr: i64| Tier { cap: Quote(cap), imr: Rate(imr), mmr: Rate(mmr) };
    vec![
        vec![t(UNBOUNDED.0, 10_000_000, 5_000_000)],
        vec![t(UNBOUNDED.0, 1_000_000_000, 500_000_000)],
        vec![
            t(50_000 * USD, 10_000_000, 5_000_000),
            t(250_000 * USD, 20_000_000, 10_000_000),
            t(1_000_000 * USD, 50_000_000, 25_000_000),
            t(UNBOUNDED.0, 100_000_000, 50_000_000),
        ],
        vec![
            t(1_000 * USD, 20_000_000, 10_000_000),
            t(3_000 * USD, 100_000_000, 50_000_000),
            t(UNBOUNDED.0, 400_000_000, 200_000_000),
        ],
    ]
}

/// Exact `equity - maintenance` at `p`, times 10^18 (quote raw x 10^18).
fn exact_excess(pos: &PositionState, coll: Quote, tiers: &[Tier], p: i128) -> i128 {
    let b = pos.base.0 as i128;
    let ab = b.abs();
    let equity = (coll.0 as i128 + pos.quote_entry.0 as i128) * E18 + b * p * E9;
    // tier of the exact notional |b| p / 10^9
    let k = tiers.iter().position(|t| ab * p <= t.cap.0 as i128 * E9).unwrap_or(tiers.len() - 1);
    let m = |i: usize| tiers[i].mmr.0 as i128;
    let amount: i128 = (1..=k).map(|i| tiers[i - 1].cap.0 as i128 * (m(i) - m(i - 1))).sum();
    equity - (ab * p * m(k) - amount * E9)
}

/// The search's upper end: the highest price at which the size's value fits comfortably in i64.
fn search_max(b: i64) -> i128 {
    (MAX_PRICE.0 as i128).min(i64::MAX as i128 * E9 / (b as i128).abs() / 2)
}

/// Checks `liquidation_price` for every table, side, size, entry price, entry offset and
/// collateral (13 fixed collaterals relative to the entry value, plus the three that put a long's
/// bankruptcy price at 0, 1 and 5 raw price units); returns (with a price, without, ticks scanned).
fn check_liquidation_prices(c: &Counter, tables: &[Vec<Tier>], sizes: &[i64], entries: &[u64]) -> (u64, u64, u64) {
    let (mut some, mut none, mut scanned) = (0u64, 0u64, 0u64);
    for tiers in tables {
        for long in [true, false] {
            for &size in sizes {
                let b = if long { size } else { -size };
                for &e in entries {
                    let value = size as i128 * e as i128 / E9;
                    for off in [0i64, 1, -7] {
                        let q = if long { -(value as i64) + off } else { value as i64 + off };
                        let pos = PositionState { base: Base(b), quote_entry: Quote(q) };
                        let v = value as i64;
                        let mut colls = vec![
                            -v / 10,
                            -1,
                            0,
                            1,
                            v,
                            v / 2,
                            v / 3,
                            v / 5,
                            v / 10,
                            v / 20,
                            v / 50,
                            v / 100,
                            i64::MAX / 4,
                        ];
                        for t in [0i128, 1, 5] {
                            colls.push((-(q as i128) - (b as i128 * t) / E9) as i64);
                        }
                        assert_eq!(colls.len(), 16);
                        for coll in colls {
                            c.tick();
                            let coll = Quote(coll);
                            let got = liquidation_price(&pos, coll, tiers).unwrap();
                            let liq = |p: i128| liquidatable_at(&pos, coll, tiers, Price(p as u64)).unwrap();
                            let x = |p: i128| exact_excess(&pos, coll, tiers, p);
                            let max = search_max(b);
                            let ctx = format!("{pos:?} coll {coll:?} tiers {tiers:?}: {got:?}");
                            // the first price beyond which nothing can be liquidatable, scanning outward
                            let (start, step) = match (got, long) {
                                (Some(lp), true) => (lp.price.0 as i128 + 1, 1),
                                (Some(lp), false) => (lp.price.0 as i128 - 1, -1),
                                (None, true) => (1, 1),
                                (None, false) => (max, -1),
                            };
                            if let Some(lp) = got {
                                some += 1;
                                let p = lp.price.0 as i128;
                                assert!(p >= 1 && p <= max, "{ctx}");
                                assert!(liq(p), "{ctx}: not liquidatable at the returned price");
                                assert!(margin_excess_at(&pos, coll, tiers, lp.price).unwrap().0 < 0);
                                assert!(x(p) < 3 * E18, "{ctx}: rounding bound");
                                assert_eq!(lp.tier, tier_index(tiers, pos.notional(lp.price).unwrap()));
                                // the liquidation price comes before the bankruptcy price (the
                                // equity at the bankruptcy price is >= 0 and may equal a zero
                                // requirement, hence the one tick)
                                let bp = bankruptcy_price(&pos, coll).unwrap().0 as i128;
                                if long {
                                    assert!(p >= bp - 1, "{ctx}: bankruptcy {bp}");
                                } else if coll.0 as i128 + q as i128 >= 0 {
                                    assert!(p <= bp + 1, "{ctx}: bankruptcy {bp}");
                                }
                            } else {
                                none += 1;
                            }
                            let mut p = start;
                            while (1..=max).contains(&p) && x(p) < 3 * E18 {
                                scanned += 1;
                                assert!(!liq(p), "{ctx}: liquidatable at {p}, beyond the returned price");
                                p += step;
                            }
                        }
                    }
                }
            }
        }
    }
    (some, none, scanned)
}

#[test]
fn liquidation_price_is_the_outermost_liquidatable_tick() {
    let sizes: Vec<i64> = (1..=40).map(|j| j * 25_000_000).collect();
    let entries = [1_000_000u64, 20_000_000_000, 60_000_123_457, 999_999_999_999];
    let c = Counter::new("liquidation_price: 4 tier tables, long/short, size j x 2.5 x 10^7 (j in [1, 40]), 4 entry prices x 3 entry offsets, 16 collaterals");
    let (some, none, scanned) = check_liquidation_prices(&c, &tables(), &sizes, &entries);
    eprintln!("liquidation_price: {some} with a price, {none} without, {scanned} ticks scanned past them");
    assert!(some > 0 && none > 0);
    c.done(4 * 2 * 40 * 4 * 3 * 16);
}

#[test]
fn liquidation_price_small_sizes() {
    // sizes of 3 x 10^-4 to 10^-2 base units: rounding windows of hundreds to ~20,000 ticks
    let sizes = [333_333i64, 1_000_003, 10_000_000];
    let entries = [20_000_000_000u64, 60_000_123_457];
    let c = Counter::new("liquidation_price (small sizes): 4 tier tables, long/short, 3 sizes in [3.3 x 10^5, 10^7], 2 entry prices x 3 entry offsets, 16 collaterals");
    let (some, none, scanned) = check_liquidation_prices(&c, &tables(), &sizes, &entries);
    eprintln!(
        "liquidation_price (small sizes): {some} with a price, {none} without, {scanned} ticks scanned past them"
    );
    c.done(4 * 2 * 3 * 2 * 3 * 16);
}

#[test]
fn bankruptcy_price_is_the_zero_equity_tick() {
    // doc: equity at the returned price >= 0 (long rounds up, short down); Price(0) for a long that
    // cannot go bankrupt. One tick worse the equity is negative. (A short whose collateral plus
    // entry is already negative has no such price: 0 is returned and the equity there is < 0.)
    let c =
        Counter::new("bankruptcy_price: base in [-300, 300] \\ {0}, collateral + entry in [-300, 300] (entry = half)");
    for b in -300i64..=300 {
        for cq in -300i64..=300 {
            if b == 0 {
                continue;
            }
            c.tick();
            let q = cq / 2;
            let coll = Quote(cq - q);
            let pos = PositionState { base: Base(b), quote_entry: Quote(q) };
            let p = bankruptcy_price(&pos, coll).unwrap().0;
            let equity = |p: u64| coll.0 + pos.upnl(Price(p)).unwrap().0;
            if b < 0 && cq < 0 {
                assert_eq!(p, 0);
                assert!(equity(0) < 0);
                continue;
            }
            assert!(equity(p) >= 0, "b {b} cq {cq}: p {p}");
            if b > 0 && p >= 1 {
                assert!(equity(p - 1) < 0, "b {b} cq {cq}: p {p}");
            }
            if b > 0 && p == 0 {
                assert!(cq >= 0);
            }
            if b < 0 {
                assert!(equity(p + 1) < 0, "b {b} cq {cq}: p {p}");
            }
        }
    }
    assert_eq!(bankruptcy_price(&PositionState::default(), Quote(1)), Err(CoreError::ZeroSize));
    c.done(600 * 601);
}

#[test]
fn liquidation_waterfall() {
    let fee_rates = [-1i64, 0, 1, 10_000_000, 333_333_333, 500_000_000, 500_000_001];
    let shares = [-1i64, 0, 1, 500_000_000, 999_999_999, 1_000_000_000, 1_000_000_001];
    let notionals = [-100i64, 0, 1, 7, 100, 1_000, 12_345];
    let c = Counter::new("liquidation_outcome: collateral in [-4, 12], realized in [-16, 6], 7 closed notionals, 7 fee rates, 7 liquidator shares, insurance in [-1, 8]");
    for coll in -4i64..=12 {
        for realized in -16i64..=6 {
            for n in notionals {
                for f in fee_rates {
                    for s in shares {
                        for ins in -1i64..=8 {
                            c.tick();
                            let fees = LiquidationFees { fee_rate: Rate(f), liquidator_share: Rate(s) };
                            let got = liquidation_outcome(Quote(coll), Quote(realized), Quote(n), &fees, Quote(ins));
                            if !(0..=500_000_000).contains(&f) || !(0..=1_000_000_000).contains(&s) || n < 0 {
                                assert!(matches!(got, Err(CoreError::InvalidParameter(_))), "{got:?}");
                                continue;
                            }
                            let o = got.unwrap();
                            let fee = ceil_div(n as i128 * f as i128, E9) as i64;
                            let reward = floor_div(fee as i128 * s as i128, E9) as i64;
                            assert_eq!(o.realized, Quote(realized));
                            assert_eq!(o.liquidator_reward, Quote(reward));
                            // conservation: what the margin and the vault put in is what goes out
                            assert_eq!(
                                coll + realized + o.insurance_draw.0,
                                reward + o.insurance_fee.0 + o.collateral_after.0
                            );
                            assert!(o.insurance_fee.0 >= 0 && o.insurance_fee.0 <= fee - reward);
                            assert!(o.insurance_draw.0 >= 0 && o.insurance_draw.0 <= ins.max(0));
                            assert!(o.deficit.0 >= 0);
                            let left = coll + realized - reward;
                            if left < 0 {
                                // the vault covers what the margin cannot, as far as it can
                                assert_eq!(o.insurance_fee, Quote(0));
                                assert_eq!(o.insurance_draw.0 + o.deficit.0, -left);
                                assert_eq!(o.insurance_draw.0, (-left).min(ins.max(0)));
                                assert_eq!(o.collateral_after, Quote(-o.deficit.0));
                            } else {
                                assert_eq!((o.insurance_draw, o.deficit), (Quote(0), Quote(0)));
                                assert_eq!(o.insurance_fee.0, (fee - reward).min(left));
                                assert!(o.collateral_after.0 >= 0);
                            }
                        }
                    }
                }
            }
        }
    }
    c.done(17 * 23 * 7 * 7 * 7 * 10);
}

#[test]
fn min_close_size_finds_the_smallest_healthy_size() {
    let c = Counter::new("min_close_size: size in [-12, 12], min_size in [-3, 14], healthy iff closed >= t for t in [0, 14] (+ an erroring predicate)");
    for size in -12i64..=12 {
        for min in -3i64..=14 {
            for t in 0i64..=15 {
                c.tick();
                let calls = Cell::new(0u32);
                let failing = t == 15;
                let healthy = |x: Base| {
                    calls.set(calls.get() + 1);
                    assert!(x.0 >= 1 && x.0 <= size.abs(), "asked about {x:?}");
                    if failing {
                        Err(CoreError::Overflow)
                    } else {
                        Ok(x.0 >= t)
                    }
                };
                let got = min_close_size(Base(size), Base(min), &healthy);
                let full = size.abs();
                if full == 0 {
                    assert_eq!(got, Err(CoreError::ZeroSize));
                    continue;
                }
                if failing {
                    assert_eq!(got, Err(CoreError::Overflow));
                    continue;
                }
                let lo0 = min.clamp(1, full);
                let want = if lo0 >= t { lo0 } else { t.min(full) };
                assert_eq!(got, Ok(Base(want)), "size {size} min {min} t {t}");
                assert!(calls.get() <= 2 + 64 - (full as u64).leading_zeros());
            }
        }
    }
    c.done(25 * 18 * 16);
}
