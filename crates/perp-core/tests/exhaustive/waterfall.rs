//! The takeover waterfall: penalties only out of equity, deficit attribution summing to the
//! deficit in every liquidation order, deficit prices, socialization splits, stale valuations,
//! takeover quotes and open gains.

use crate::{ceil_div, floor_div, Counter};
use perp_core::liquidation::LiquidationFees;
use perp_core::margin::PositionState;
use perp_core::takeover::{
    attribute_deficit, deficit_price, open_gain, socialize_split, stale_valuation_price, takeover_penalty,
    takeover_quote,
};
use perp_core::{Base, CoreError, Price, Quote, Rate};

const E9: i128 = 1_000_000_000;

#[test]
fn takeover_penalty_only_from_equity() {
    let fee_rates = [-1i64, 0, 1, 10_000_000, 333_333_333, 500_000_000, 500_000_001];
    let shares = [-1i64, 0, 1, 500_000_000, 999_999_999, 1_000_000_000, 1_000_000_001];
    let c = Counter::new(
        "takeover_penalty: equity after in [-5, 30], closed notional in [-1, 40] x 37, 7 fee rates, 7 shares",
    );
    for eq in -5i64..=30 {
        for n in -1i64..=40 {
            for f in fee_rates {
                for s in shares {
                    c.tick();
                    let n = n * 37;
                    let fees = LiquidationFees { fee_rate: Rate(f), liquidator_share: Rate(s) };
                    let got = takeover_penalty(Quote(eq), Quote(n), &fees);
                    if !(0..=500_000_000).contains(&f) || !(0..=1_000_000_000).contains(&s) || n < 0 {
                        assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                        continue;
                    }
                    let p = got.unwrap();
                    let fee = ceil_div(n as i128 * f as i128, E9) as i64;
                    let reward = floor_div(fee as i128 * s as i128, E9) as i64;
                    let room = eq.max(0);
                    assert_eq!(p.reward.0, reward.min(room));
                    assert_eq!(p.insurance_fee.0, (fee - reward).min(room - p.reward.0));
                    assert!(p.reward.0 >= 0 && p.insurance_fee.0 >= 0);
                    assert!(p.reward.0 + p.insurance_fee.0 <= fee.min(room));
                }
            }
        }
    }
    c.done(36 * 42 * 7 * 7);
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn deficit_attribution_sums_to_the_deficit_in_every_order() {
    // groups of 1-3 positions with losses in [0, 5] (0: flat or in profit), deficit in [-1, 20],
    // every liquidation order: each step carries attribute_deficit(remaining deficit, its loss,
    // remaining losses, last)
    let c = Counter::new("attribute_deficit: 1-3 positions, losses in [0, 5], deficit in [-1, 20], every order");
    let mut worst_spread: Vec<i64> = Vec::new();
    for n in 1usize..=3 {
        let mut worst = 0i64;
        let perms = permutations(n);
        for code in 0..6usize.pow(n as u32) {
            let losses: Vec<i64> = (0..n).map(|i| (code / 6usize.pow(i as u32) % 6) as i64).collect();
            let total: i64 = losses.iter().sum();
            for d in -1i64..=20 {
                let mut parts_by_order: Vec<Vec<i64>> = Vec::new();
                for order in &perms {
                    c.tick();
                    let mut parts = vec![0i64; n];
                    let (mut left, mut losses_left) = (d, total);
                    for (step, &i) in order.iter().enumerate() {
                        let last = step + 1 == n;
                        let part =
                            attribute_deficit(Quote(left), Quote(losses[i]), Quote(losses_left), last).unwrap().0;
                        assert!(part >= 0 && part <= left.max(0), "{losses:?} d {d} {order:?}");
                        if last {
                            assert_eq!(part, left.max(0));
                        }
                        if losses[i] == 0 && total > 0 {
                            assert_eq!(part, 0, "a position in profit carried deficit: {losses:?} d {d} {order:?}");
                        }
                        parts[i] = part;
                        left -= part;
                        losses_left -= losses[i];
                    }
                    assert_eq!(parts.iter().sum::<i64>(), d.max(0), "{losses:?} d {d} {order:?}");
                    parts_by_order.push(parts);
                }
                // (with no losing position the last one in each order carries it all, as documented)
                for i in (0..n).filter(|_| total > 0) {
                    let (lo, hi) =
                        parts_by_order.iter().fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p[i]), b.max(p[i])));
                    worst = worst.max(hi - lo);
                    // the order changes a position's part by at most n - 1 raw units
                    assert!(hi - lo < n as i64, "{losses:?} d {d}: position {i} spread {lo}..{hi}");
                }
            }
        }
        worst_spread.push(worst);
    }
    eprintln!(
        "attribute_deficit: largest change of one position's part across orders, by group size: {:?}",
        worst_spread
    );
    assert_eq!(
        attribute_deficit(Quote(5), Quote(6), Quote(5), false),
        Err(CoreError::InvalidParameter("a position's loss exceeds the group's total loss"))
    );
    c.done((6 + 36 * 2 + 216 * 6) * 22);
}

#[test]
fn deficit_price_realizes_at_least_the_deficit() {
    let marks = [0u64, 1, 2, 50, 99, 100, 1_000, 12_345];
    let c = Counter::new("deficit_price: size +-j x 10^7 (j in [1, 30]), 8 marks, deficit in [-1, 30]");
    for j in 1i64..=30 {
        for long in [true, false] {
            let b = if long { j * 10_000_000 } else { -j * 10_000_000 };
            let pos = PositionState { base: Base(b), quote_entry: Quote(0) };
            for mark in marks {
                for d in -1i64..=30 {
                    c.tick();
                    let p = deficit_price(&pos, Price(mark), Quote(d)).unwrap().0;
                    let dd = d.max(0) as i128;
                    let step = ceil_div(dd * E9, b.abs() as i128);
                    if step > mark as i128 {
                        // capped at the mark: 2 x mark for a long, 0 for a short
                        assert_eq!(p, if long { 2 * mark } else { 0 });
                        continue;
                    }
                    assert_eq!(p as i128, mark as i128 + if long { step } else { -step });
                    // closing at p instead of the mark is better by at least the deficit ...
                    let gain = pos.upnl(Price(p)).unwrap().0 - pos.upnl(Price(mark)).unwrap().0;
                    assert!(gain as i128 >= dd, "b {b} mark {mark} d {d}: p {p} gain {gain}");
                    // ... and the step is the smallest that does so exactly
                    if step > 0 {
                        assert!((step - 1) * (b.abs() as i128) < dd * E9);
                    }
                }
            }
        }
    }
    assert_eq!(deficit_price(&PositionState::default(), Price(1), Quote(1)), Err(CoreError::ZeroSize));
    c.done(30 * 2 * 8 * 32);
}

#[test]
fn socialization_split_and_valuations() {
    let ois = [-1i64, 0, 1, 100_000_000, 300_000_001, 1_000_000_000, 7_000_000_000];
    let marks = [0u64, 1, 1_000_000, 7_000_003, 20_000_000_000];
    let caps = [-1i64, 0, 1, 10_000_000, 500_000_000, 1_000_000_000];
    let c = Counter::new("socialize_split: loss in [-2, 40], 7 open interests, 5 marks, 6 cap rates");
    for loss in -2i64..=40 {
        for oi in ois {
            for mark in marks {
                for cap in caps {
                    c.tick();
                    let (charged, rest) = socialize_split(Quote(loss), Base(oi), Price(mark), Rate(cap)).unwrap();
                    if loss <= 0 {
                        assert_eq!((charged, rest), (Quote(0), Quote(0)));
                        continue;
                    }
                    assert_eq!(charged.0 + rest.0, loss);
                    let room = if oi <= 0 || cap <= 0 {
                        0
                    } else {
                        floor_div(floor_div(oi as i128 * mark as i128, E9) * cap as i128, E9) as i64
                    };
                    assert_eq!(charged.0, loss.min(room));
                    assert!(charged.0 >= 0 && rest.0 >= 0);
                }
            }
        }
    }
    c.done(43 * 7 * 5 * 6);

    let haircuts = [-1i64, 0, 1, 100_000_000, 333_333_333, 999_999_999, 1_000_000_000];
    let c = Counter::new("stale_valuation_price: cached in [0, 60] x 10^6 + 7, long/short, 7 haircuts");
    for cached in 0u64..=60 {
        for long in [true, false] {
            for h in haircuts {
                c.tick();
                let cp = cached * 1_000_000 + 7;
                let got = stale_valuation_price(Price(cp), long, Rate(h));
                if !(0..1_000_000_000).contains(&h) {
                    assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                    continue;
                }
                let p = got.unwrap().0;
                if long {
                    assert_eq!(p as i128, floor_div(cp as i128 * (E9 - h as i128), E9));
                    assert!(p <= cp);
                } else {
                    assert_eq!(p as i128, ceil_div(cp as i128 * (E9 + h as i128), E9));
                    assert!(p >= cp);
                }
            }
        }
    }
    c.done(61 * 2 * 7);

    let c = Counter::new("takeover_quote (closed in [-300, 300], mark j x 10^7, j in [0, 300]) and open_gain (base in [-20, 20] x 10^8, quote in [-30, 30] x 10^5, 5 marks)");
    for closed in -300i64..=300 {
        for j in 0u64..=300 {
            c.tick();
            let mark = j * 10_000_000;
            let x = takeover_quote(Base(closed), Price(mark)).unwrap().0 as i128;
            let exact = closed as i128 * mark as i128;
            // a long being taken over receives at most, a short pays at least, the exact amount
            assert_eq!(x, floor_div(exact, E9));
            assert!(x * E9 <= exact);
        }
    }
    for b in -20i64..=20 {
        for q in -30i64..=30 {
            for mark in [0u64, 1, 999_999, 1_000_000, 3_000_007] {
                c.tick();
                let (b, q) = (b * 100_000_000, q * 100_000);
                let g = open_gain(Base(b), Quote(q), Price(mark)).unwrap().0 as i128;
                assert_eq!(g, (floor_div(b as i128 * mark as i128, E9) + q as i128).max(0));
            }
        }
    }
    c.done(601 * 301 + 41 * 61 * 5);
}
