//! Margin tiers on tables with tiny caps (raw quote units) and rates that make every division
//! round: validation equals its documented rules, the requirement equals the slice-by-slice sum,
//! is monotone and continuous (steps of 0 or 1 raw unit per raw unit of notional), `requirements`
//! equals the two single calls, tier amounts equal the published formula; and the health of a
//! position equals its definition.

use crate::{ceil_div, floor_div, Counter};
use perp_core::margin::{
    requirement, requirement_incremental, requirements, tier_amount, tier_index, validate_tiers, Health, MarginKind,
    PositionState, Tier, MAX_TIERS, NOT_COMPUTED, UNBOUNDED,
};
use perp_core::{Base, CoreError, Price, Quote, Rate};

const E9: i128 = 1_000_000_000;
const RATES: [i64; 6] = [1, 250_000_001, 333_333_333, 500_000_000, 999_999_999, 1_000_000_000];
const CAPS: [i64; 5] = [1, 2, 4, 7, 11];

/// Every valid table of 1 to 3 tiers over [`RATES`] and [`CAPS`] (last cap from CAPS or unbounded).
fn valid_tables() -> Vec<Vec<Tier>> {
    let pairs: Vec<(i64, i64)> =
        RATES.iter().flat_map(|&i| RATES.iter().filter(move |&&m| m < i).map(move |&m| (i, m))).collect();
    let mut out = Vec::new();
    let mut rates: Vec<Vec<(i64, i64)>> = pairs.iter().map(|p| vec![*p]).collect();
    for t in 1..=3usize {
        if t > 1 {
            rates = rates
                .iter()
                .flat_map(|r| {
                    let last = *r.last().unwrap();
                    pairs.iter().filter(move |p| p.0 >= last.0 && p.1 >= last.1).map(move |p| {
                        let mut v = r.clone();
                        v.push(*p);
                        v
                    })
                })
                .collect();
        }
        // strictly increasing caps: t - 1 inner caps from CAPS, then a last cap above them
        let mut cap_lists: Vec<Vec<i64>> = vec![vec![]];
        for _ in 0..t - 1 {
            cap_lists = cap_lists
                .iter()
                .flat_map(|c| {
                    let lo = c.last().copied().unwrap_or(0);
                    CAPS.iter().filter(move |&&x| x > lo).map(move |&x| {
                        let mut v = c.clone();
                        v.push(x);
                        v
                    })
                })
                .collect();
        }
        for caps in &cap_lists {
            let lo = caps.last().copied().unwrap_or(0);
            for last in CAPS.iter().copied().filter(|&x| x > lo).chain([UNBOUNDED.0]) {
                for r in &rates {
                    let tiers: Vec<Tier> = caps
                        .iter()
                        .chain([&last])
                        .zip(r)
                        .map(|(&cap, &(i, m))| Tier { cap: Quote(cap), imr: Rate(i), mmr: Rate(m) })
                        .collect();
                    out.push(tiers);
                }
            }
        }
    }
    out
}

fn rate(t: &Tier, kind: MarginKind) -> i128 {
    match kind {
        MarginKind::Initial => t.imr.0 as i128,
        MarginKind::Maintenance => t.mmr.0 as i128,
    }
}

/// The requirement as the plain sum of slices, each at its tier's rate, rounded up at the end.
fn slices(tiers: &[Tier], n: i64, kind: MarginKind) -> i128 {
    let mut sum = 0i128;
    let mut floor = 0i128;
    for (i, t) in tiers.iter().enumerate() {
        let top = if i + 1 == tiers.len() { n as i128 } else { (n as i128).min(t.cap.0 as i128) };
        if top > floor {
            sum += (top - floor) * rate(t, kind);
        }
        floor = t.cap.0 as i128;
    }
    ceil_div(sum, E9)
}

#[test]
fn requirement_equals_slices_monotone_continuous() {
    let tables = valid_tables();
    assert_eq!(tables.len(), 11_465);
    let c = Counter::new("requirement/requirements/requirement_incremental/tier_amount/tier_index: 11,465 valid tables of 1-3 tiers, notional in [-1, 16]");
    for tiers in &tables {
        validate_tiers(tiers).unwrap();
        for n in -1i64..=16 {
            c.tick();
            let k = tier_index(tiers, Quote(n));
            let want_k = tiers.iter().position(|t| n <= t.cap.0).unwrap_or(tiers.len() - 1);
            assert_eq!(k, want_k);
            let mut both = [Quote::ZERO; 2];
            for (j, kind) in [MarginKind::Initial, MarginKind::Maintenance].into_iter().enumerate() {
                let r = requirement(tiers, Quote(n), kind).unwrap();
                let want = if n <= 0 { 0 } else { slices(tiers, n, kind) };
                assert_eq!(r.0 as i128, want, "{tiers:?} n {n} {kind:?}");
                assert_eq!(requirement_incremental(tiers, Quote(n), kind).unwrap(), r);
                // the published form: notional x rate_k - amount_k, amount_k = sum cap_(i-1) x (r_i - r_(i-1))
                let amount: i128 = (1..=k)
                    .map(|i| tiers[i - 1].cap.0 as i128 * (rate(&tiers[i], kind) - rate(&tiers[i - 1], kind)))
                    .sum();
                assert_eq!(tier_amount(tiers, k, kind).unwrap().0 as i128, floor_div(amount, E9));
                if n > 0 {
                    assert_eq!(r.0 as i128, ceil_div(n as i128 * rate(&tiers[k], kind) - amount, E9));
                }
                // monotone and continuous: one more raw unit of notional adds 0 or 1 raw unit
                let next = requirement(tiers, Quote(n + 1), kind).unwrap();
                assert!(next.0 - r.0 == 0 || next.0 - r.0 == 1, "{tiers:?} jump at {n} {kind:?}");
                both[j] = r;
            }
            assert_eq!(requirements(tiers, Quote(n)).unwrap(), (both[0], both[1]));
            assert!(both[1] <= both[0]);
        }
    }
    c.done(11_465 * 18);
}

/// The first tier breaking a documented rule (None: valid), for 1..=MAX_TIERS tiers.
fn first_bad_tier(tiers: &[Tier]) -> Option<usize> {
    let in_range = |r: Rate| r.0 > 0 && r.0 <= E9 as i64;
    tiers.iter().enumerate().position(|(i, t)| {
        let own = in_range(t.imr) && in_range(t.mmr) && t.mmr < t.imr && t.cap.0 > 0;
        let chain = i == 0 || {
            let p = &tiers[i - 1];
            t.cap > p.cap && t.imr >= p.imr && t.mmr >= p.mmr
        };
        !(own && chain)
    })
}

/// Every tier `(cap, imr, mmr)` over the given values.
fn tiers_of(caps: &[i64], rates: &[i64]) -> Vec<Tier> {
    let mut v = Vec::new();
    for &c in caps {
        for &i in rates {
            for &m in rates {
                v.push(Tier { cap: Quote(c), imr: Rate(i), mmr: Rate(m) });
            }
        }
    }
    v
}

#[test]
fn validate_tiers_follows_its_rules() {
    use perp_core::error::TierProblem;
    let caps5 = [-1i64, 0, 1, 2, UNBOUNDED.0];
    let rates6 = [-1i64, 0, 1, 500_000_000, 1_000_000_000, 1_000_000_001];
    let per5x6x6 = tiers_of(&caps5, &rates6);
    let caps3 = [1i64, 2, UNBOUNDED.0];
    let rates3 = [0i64, 1, 1_000_000_000];
    let per3x3x3 = tiers_of(&caps3, &rates3);
    let c = Counter::new("validate_tiers: 0, 1, 2 tiers of (cap in 5, imr in 6, mmr in 6 values), 3 tiers of (3 x 3 x 3), 12 and 13 valid tiers");
    let check = |tiers: &[Tier]| {
        c.tick();
        let got = validate_tiers(tiers);
        if tiers.is_empty() {
            assert_eq!(got, Err(CoreError::InvalidTiers(TierProblem::Empty)));
            return;
        }
        if tiers.len() > MAX_TIERS {
            assert_eq!(got, Err(CoreError::InvalidTiers(TierProblem::TooMany)));
            return;
        }
        match first_bad_tier(tiers) {
            None => assert_eq!(got, Ok(()), "{tiers:?}"),
            Some(i) => {
                let t = &tiers[i];
                let p = if i > 0 { Some(&tiers[i - 1]) } else { None };
                let applies = match got {
                    Err(CoreError::InvalidTiers(TierProblem::RateOutOfRange { tier })) => {
                        tier as usize == i
                            && !(t.imr.0 > 0 && t.imr.0 <= 1_000_000_000 && t.mmr.0 > 0 && t.mmr.0 <= 1_000_000_000)
                    }
                    Err(CoreError::InvalidTiers(TierProblem::MaintenanceNotBelowInitial { tier })) => {
                        tier as usize == i && t.mmr >= t.imr
                    }
                    Err(CoreError::InvalidTiers(TierProblem::CapsNotIncreasing { tier })) => {
                        tier as usize == i && (t.cap.0 <= 0 || p.is_some_and(|p| t.cap <= p.cap))
                    }
                    Err(CoreError::InvalidTiers(TierProblem::RatesDecreasing { tier })) => {
                        tier as usize == i && p.is_some_and(|p| t.imr < p.imr || t.mmr < p.mmr)
                    }
                    _ => false,
                };
                assert!(applies, "{tiers:?}: first bad tier {i}, got {got:?}");
            }
        }
    };
    check(&[]);
    for a in &per5x6x6 {
        check(&[*a]);
        for b in &per5x6x6 {
            check(&[*a, *b]);
        }
    }
    for a in &per3x3x3 {
        for b in &per3x3x3 {
            for d in &per3x3x3 {
                check(&[*a, *b, *d]);
            }
        }
    }
    let many: Vec<Tier> = (1..=13).map(|i| Tier { cap: Quote(i), imr: Rate(2 * i + 1), mmr: Rate(2 * i) }).collect();
    check(&many[..12]);
    check(&many);
    c.done(1 + 180 + 180 * 180 + 27 * 27 * 27 + 2);
}

#[test]
fn health_of_one_position() {
    let tiers = [
        Tier { cap: Quote(1_000_000), imr: Rate(100_000_000), mmr: Rate(50_000_000) },
        Tier { cap: Quote(3_000_000), imr: Rate(200_000_000), mmr: Rate(100_000_000) },
        Tier { cap: UNBOUNDED, imr: Rate(500_000_000), mmr: Rate(250_000_001) },
    ];
    let marks = [0u64, 1, 999_999, 1_000_000, 7_777_777];
    let c = Counter::new("PositionState/Health: base in [-6, 6] x 10^8, entry in [-8, 8] x 10^5 + 3, 5 marks, funding owed in [-2, 2], 4 collaterals");
    for b in -6i64..=6 {
        for q in -8i64..=8 {
            for mark in marks {
                for owed in -2i64..=2 {
                    for coll in [-5i64, 0, 7, 1_000_000] {
                        c.tick();
                        let (b, q) = (b * 100_000_000, q * 100_000 + 3);
                        let pos = PositionState { base: Base(b), quote_entry: Quote(q) };
                        let m = Price(mark);
                        let upnl = floor_div(b as i128 * mark as i128, E9) + q as i128;
                        assert_eq!(pos.upnl(m).unwrap().0 as i128, upnl);
                        let notional = ceil_div(b.abs() as i128 * mark as i128, E9);
                        assert_eq!(pos.notional(m).unwrap().0 as i128, notional);
                        assert_eq!(pos.entry_value().unwrap(), Quote(q.abs()));
                        match pos.entry_price() {
                            Err(e) => assert!(b == 0 && e == CoreError::DivisionByZero),
                            Ok(p) => assert_eq!(p.0 as i128, q.abs() as i128 * E9 / b.abs() as i128),
                        }
                        let n = Quote(notional as i64);
                        let (im, mm) = requirements(&tiers, n).unwrap();
                        assert_eq!(pos.requirement(&tiers, m, MarginKind::Maintenance).unwrap(), mm);

                        let mut h = Health::new(Quote(coll));
                        h.add_position(&pos, m, Quote(owed), &tiers).unwrap();
                        let pnl = upnl as i64 - owed;
                        assert_eq!(h.equity, Quote(coll + pnl));
                        assert_eq!(h.equity_without_profit, Quote(coll + pnl.min(0)));
                        assert_eq!((h.initial, h.maintenance, h.notional), (im, mm, n));
                        // the same part computed alone and merged
                        let mut g = Health::new(Quote(coll));
                        g.merge(&Health::of_position(&pos, m, Quote(owed), &tiers).unwrap()).unwrap();
                        assert_eq!(g, h);
                        let part = Health::of_position_maintenance(&pos, m, Quote(owed), &tiers).unwrap();
                        assert_eq!(
                            (part.equity, part.maintenance, part.notional, part.initial),
                            (Quote(pnl), mm, n, NOT_COMPUTED)
                        );
                        assert_eq!(h.is_liquidatable(), h.equity < h.maintenance);
                        assert_eq!(h.is_bankrupt(), h.equity.0 < 0);
                        assert_eq!(h.free_collateral().unwrap(), Quote(h.equity.0 - im.0));
                        let w = h.withdrawable(Quote(coll)).unwrap();
                        assert_eq!(w.0, (h.equity_without_profit.0 - im.0).min(coll).max(0));
                        match h.margin_ratio().unwrap() {
                            None => assert!(h.equity.0 <= 0),
                            Some(r) => assert_eq!(r.0 as i128, ceil_div(mm.0 as i128 * E9, h.equity.0 as i128)),
                        }
                    }
                }
            }
        }
    }
    c.done(13 * 17 * 5 * 5 * 4);
}
