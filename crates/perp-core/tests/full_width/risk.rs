//! margin, liquidation, takeover, adl, position.

use crate::*;
use perp_core::adl::{adl_price, adl_score, plan, rank, ranks_before, AdlCandidate, AdlScore};
use perp_core::liquidation::{
    bankruptcy_price, liquidatable_at, liquidation_outcome, liquidation_price, margin_excess_at, min_close_size,
    rounding_window,
};
use perp_core::margin::{
    requirement, requirement_incremental, requirements, tier_amount, tier_index, validate_tiers, Health, MarginKind,
};
use perp_core::position::apply_fill;
use perp_core::takeover::{
    attribute_deficit, deficit_price, open_gain, socialize_split, stale_valuation_price, takeover_penalty,
    takeover_quote,
};

fn health_parts() -> BoxedStrategy<Health> {
    (quotes(), quotes(), quotes(), quotes(), quotes())
        .prop_map(|(equity, equity_without_profit, initial, maintenance, notional)| Health {
            equity,
            equity_without_profit,
            initial,
            maintenance,
            notional,
        })
        .boxed()
}

fn exercise_health(h: &Health, collateral: Quote) {
    let _ = (h.is_liquidatable(), h.is_bankrupt(), h.free_collateral(), h.withdrawable(collateral), h.margin_ratio());
}

proptest! {
    #![proptest_config(config(25_000))]

    #[test]
    fn tiers_any(tiers in any_tiers(), n in quotes(), k in prop_oneof![0usize..=MAX_TIERS + 2, any::<usize>()]) {
        let _ = validate_tiers(&tiers);
        let _ = tier_index(&tiers, n);
        for kind in [MarginKind::Initial, MarginKind::Maintenance] {
            let _ = (tier_amount(&tiers, k, kind), requirement(&tiers, n, kind), requirement_incremental(&tiers, n, kind));
        }
        let _ = requirements(&tiers, n);
    }

    #[test]
    fn tiers_valid(tiers in valid_tiers(), n in quotes()) {
        prop_assert_eq!(validate_tiers(&tiers), Ok(()));
        let k = tier_index(&tiers, n);
        prop_assert!(k < tiers.len());
        let mut pair = [Quote::ZERO; 2];
        for (j, kind) in [MarginKind::Initial, MarginKind::Maintenance].into_iter().enumerate() {
            prop_assert!(tier_amount(&tiers, k, kind).is_ok());
            let r = requirement(&tiers, n, kind);
            prop_assert_eq!(r, requirement_incremental(&tiers, n, kind));
            if let Ok(r) = r {
                pair[j] = r;
            }
        }
        if let Ok(both) = requirements(&tiers, n) {
            prop_assert_eq!(both, (pair[0], pair[1]));
        }
    }

    #[test]
    fn positions_and_health(pos in positions(), mark in prices(), owed in quotes(), coll in quotes(), tiers in prop_oneof![any_tiers(), valid_tiers()],
                            other in health_parts()) {
        let _ = (pos.upnl(mark), pos.notional(mark), pos.entry_value(), pos.entry_price());
        let _ = (pos.requirement(&tiers, mark, MarginKind::Initial), pos.requirement(&tiers, mark, MarginKind::Maintenance));
        let mut h = Health::new(coll);
        if h.add_position(&pos, mark, owed, &tiers).is_ok() {
            exercise_health(&h, coll);
            let _ = h.merge(&other);
        }
        if let Ok(part) = Health::of_position_maintenance(&pos, mark, owed, &tiers) {
            exercise_health(&part, coll);
        }
        if let Ok(part) = Health::of_position(&pos, mark, owed, &tiers) {
            exercise_health(&part, coll);
        }
        exercise_health(&other, coll);
        if let Ok(w) = other.withdrawable(coll) {
            prop_assert!(w.0 >= 0 && (coll.0 < 0 || w <= coll));
        }
    }

    #[test]
    fn liquidation_checks(pos in positions(), coll in quotes(), p in prices(), tiers in prop_oneof![any_tiers(), valid_tiers()]) {
        let _ = (liquidatable_at(&pos, coll, &tiers, p), margin_excess_at(&pos, coll, &tiers, p));
        let w = rounding_window(&pos, &tiers);
        prop_assert!((1..=perp_core::liquidation::ROUNDING_WINDOW_CAP).contains(&w));
        if let Ok(bp) = bankruptcy_price(&pos, coll) {
            // equity at the bankruptcy price is >= 0 (except a short that is below zero at any price)
            if let Ok(u) = pos.upnl(bp) {
                let cq = coll.0 as i128 + pos.quote_entry.0 as i128;
                if pos.base.is_positive() || cq >= 0 {
                    prop_assert!(coll.0 as i128 + u.0 as i128 >= 0);
                }
            }
        }
    }
}

proptest! {
    // each call bisects over [1, 10^18] and scans a rounding window: fewer cases
    #![proptest_config(config(5_000))]

    #[test]
    fn liquidation_price_full_width(b in bases().prop_filter("sizes below 10^6 raw scan up to 10^6 ticks: see below", |b| b.0.unsigned_abs() >= 1_000_000),
                                    q in quotes(), coll in quotes(), tiers in valid_tiers()) {
        let pos = PositionState { base: b, quote_entry: q };
        if let Ok(Some(lp)) = liquidation_price(&pos, coll, &tiers) {
            prop_assert!(lp.price.0 >= 1 && lp.tier < tiers.len());
            prop_assert_eq!(liquidatable_at(&pos, coll, &tiers, lp.price), Ok(true));
        }
    }
}

#[test]
fn liquidation_price_tiny_and_extreme_sizes() {
    // the slowest inputs (a 10^6-tick rounding window each), so a fixed handful
    let tiers = [Tier { cap: Quote(i64::MAX), imr: Rate(1_000_000_000), mmr: Rate(999_999_999) }];
    for b in [1i64, -1, i64::MIN, i64::MAX] {
        for (q, coll) in [(0i64, 0i64), (i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (-1, 1)] {
            let pos = PositionState { base: Base(b), quote_entry: Quote(q) };
            let _ = liquidation_price(&pos, Quote(coll), &tiers);
        }
    }
    assert_eq!(liquidation_price(&PositionState::default(), Quote(1), &tiers), Err(perp_core::CoreError::ZeroSize));
}

proptest! {
    #![proptest_config(config(25_000))]

    #[test]
    fn liquidation_money(coll in quotes(), realized in quotes(), n in quotes(), f in fees(), ins in quotes(),
                         size in bases(), min in bases(), t in i64s()) {
        let _ = f.validate();
        if let Ok(o) = liquidation_outcome(coll, realized, n, &f, ins) {
            // conservation (in i128, the terms are i64)
            let lhs = coll.0 as i128 + realized.0 as i128 + o.insurance_draw.0 as i128;
            let rhs = o.liquidator_reward.0 as i128 + o.insurance_fee.0 as i128 + o.collateral_after.0 as i128;
            prop_assert_eq!(lhs, rhs);
        }
        let healthy = |x: Base| -> perp_core::CoreResult<bool> { Ok(x.0 >= t) };
        if let Ok(s) = min_close_size(size, min, &healthy) {
            prop_assert!(s.0 >= 1 && s.0 <= size.0.unsigned_abs() as i64);
        }
    }

    #[test]
    fn takeover_functions(eq in quotes(), n in quotes(), f in fees(), d in quotes(), loss in quotes(), total in quotes(), last in any::<bool>(),
                          pos in positions(), mark in prices(), oi in bases(), cap in rates(), long in any::<bool>()) {
        if let Ok(p) = takeover_penalty(eq, n, &f) {
            prop_assert!(p.reward.0 >= 0 && p.insurance_fee.0 >= 0 && p.reward.0 as i128 + p.insurance_fee.0 as i128 <= eq.0.max(0) as i128);
        }
        let _ = takeover_quote(oi, mark);
        if let Ok(part) = attribute_deficit(d, loss, total, last) {
            prop_assert!(part.0 >= 0 && part.0 <= d.0.max(0));
        }
        let _ = deficit_price(&pos, mark, d);
        if let Ok((charged, rest)) = socialize_split(loss, oi, mark, cap) {
            prop_assert_eq!(charged.0 as i128 + rest.0 as i128, loss.0.max(0) as i128);
        }
        let _ = (stale_valuation_price(mark, long, cap), open_gain(oi, eq, mark));
    }

    #[test]
    fn adl_functions(upnl in quotes(), ev in quotes(), mm in quotes(), pv in quotes(), bp in prices(), mark in prices(), band in rates(),
                     cands in proptest::collection::vec((any::<u8>(), bases(), i128s()), 0..8), size in bases(), out_len in 0usize..10) {
        let _ = adl_score(upnl, ev, mm, pv);
        let _ = adl_price(bp, mark, band);
        let mut c: Vec<AdlCandidate> = cands.iter().map(|&(k, s, sc)| AdlCandidate { key: [k; 32], size: s, score: AdlScore(sc) }).collect();
        rank(&mut c);
        for w in c.windows(2) {
            prop_assert!(!ranks_before(&w[1], &w[0]));
        }
        let mut out = vec![Base(0); out_len];
        if let Ok(total) = plan(size, &c, &mut out) {
            prop_assert!(total.0 >= 0 && total.0 <= size.0);
        }
    }

    #[test]
    fn fills(pos in positions(), b in bases(), q in quotes()) {
        if let Ok(o) = apply_fill(pos, b, q) {
            prop_assert_eq!(o.realized.0 as i128 + o.position.quote_entry.0 as i128, pos.quote_entry.0 as i128 + q.0 as i128);
            prop_assert_eq!(o.position.base.0 as i128, pos.base.0 as i128 + b.0 as i128);
        }
    }
}
