//! vamm, funding, index, mark, twap.

use crate::*;
use perp_core::funding::{
    funding_event, funding_rate, interest_per_interval, position_payment, premium_sample, prorate,
    socialize_loss_delta, FundingIndices, FundingParams, PremiumAccumulator,
};
use perp_core::index::{compute_index, IndexConfig, IndexMethod, SourceReading};
use perp_core::mark::{mark_funding_basis, mark_impact_median};
use perp_core::twap::{twap_update, ImpactTwap};
use perp_core::vamm::{Vamm, MAX_RESERVE, MIN_RESERVE};

/// Every method of a curve, with the fills it quotes applied.
fn exercise(v: &Vamm, side: Side, size: Base, n: Quote, target: Price) {
    let _ = (v.quote_reserve(), v.price(), v.size_to_price(target));
    let _ = (v.impact_ask(n), v.impact_bid(n));
    for s in [side, side.opposite()] {
        if let Ok(f) = v.quote_trade(s, size) {
            let mut w = *v;
            w.apply(&f);
            let _ = (w.price(), w.quote_reserve());
            if let Ok(back) = w.quote_trade(s.opposite(), size) {
                let mut x = w;
                x.apply(&back);
            }
        }
    }
    let _ = (Side::of(size), side.sign(), side.opposite());
}

proptest! {
    #![proptest_config(config(25_000))]

    #[test]
    fn vamm_any_fields(b in u128s(), k in u128s(), peg in prices(), side in sides(), size in bases(), n in quotes(), target in prices()) {
        let _ = Vamm::new(b, peg);
        exercise(&Vamm { base_reserve: b, k, peg }, side, size, n, target);
    }

    #[test]
    fn vamm_valid_curves(b in prop_oneof![MIN_RESERVE..=MAX_RESERVE, select(vec![MIN_RESERVE, MIN_RESERVE + 1, MAX_RESERVE - 1, MAX_RESERVE])],
                         peg in prices(), side in sides(), size in bases(), n in quotes(), target in prices()) {
        let Ok(v) = Vamm::new(b, peg) else {
            prop_assert!(peg.is_zero());
            return Ok(());
        };
        exercise(&v, side, size, n, target);
        // a round trip never gains, whatever the size
        if let Ok(f) = v.quote_trade(side, size) {
            let mut w = v;
            w.apply(&f);
            if let Ok(back) = w.quote_trade(side.opposite(), size) {
                prop_assert!(f.quote.0 as i128 + back.quote.0 as i128 <= 0);
                w.apply(&back);
                prop_assert_eq!(w, v);
            }
        }
    }

    #[test]
    fn funding_functions(rate in rates(), interest in rates(), clamp in rates(), cap in proptest::option::of(rates()), mark in prices(),
                         bid in prices(), ask in prices(), l in bases(), s in bases(), pool in quotes()) {
        let _ = premium_sample(mark, bid, ask);
        let params = FundingParams { interest, clamp, cap };
        let _ = (params.validate(), funding_rate(rate, &params));
        let _ = (interest_per_interval(rate, interest, l.0), prorate(rate, l.0, s.0));
        let _ = (socialize_loss_delta(pool, l, true), socialize_loss_delta(pool, s, false));
        if let Ok(e) = funding_event(rate, mark, l, s, pool) {
            prop_assert!(e.amm_share.0 >= -pool.0.max(0));
            let mut idx = FundingIndices::default();
            if idx.apply(&e).is_ok() {
                let _ = (position_payment(l, idx.for_base(l), FundingIndex(0)), position_payment(Base(-s.0), idx.for_base(Base(-s.0)), FundingIndex(0)));
            }
        }
        // non-negative open interest, to reach the capping arithmetic more often
        let _ = funding_event(rate, mark, Base(l.0.unsigned_abs().min(i64::MAX as u64) as i64), Base(s.0.unsigned_abs().min(i64::MAX as u64) as i64), pool);
    }

    #[test]
    fn funding_state(ws in i128s(), secs in i64s(), p in rates(), dt in i64s(), over in i64s(), b in bases(), now in indices(), then in indices(),
                     il in indices(), is in indices()) {
        let mut acc = PremiumAccumulator { weighted_sum: ws, seconds: secs };
        let _ = (acc.twap(), acc.twap_over(over));
        let _ = acc.add(p, dt);
        let _ = (acc.twap(), acc.twap_over(over));
        let _ = position_payment(b, now, then);
        let mut idx = FundingIndices { long: il, short: is };
        let e = perp_core::funding::FundingEvent { delta_long: now, delta_short: then, amm_share: Quote(0), receiver_capped: false };
        let _ = idx.apply(&e);
        let _ = idx.for_base(b);
    }

    #[test]
    fn index_any(srcs in proptest::collection::vec((prices(), prices(), i64s(), u64s()), 0..=17), now in i64s(),
                 max_age in i64s(), max_conf in rates(), max_dev in rates(), min_sources in any::<u8>(), median in any::<bool>(), tamper in any::<usize>()) {
        let sources: Vec<SourceReading> =
            srcs.iter().map(|&(price, conf, publish_time, weight)| SourceReading { price, conf, publish_time, weight, ema: Price(0) }).collect();
        let method = if median { IndexMethod::Median } else { IndexMethod::VolumeWeighted };
        let any_cfg = IndexConfig { max_age, max_conf, max_deviation: max_dev, min_sources, method };
        // and a valid configuration, so that the filters run
        let valid = IndexConfig {
            max_age: max_age.checked_abs().unwrap_or(1).max(1),
            max_conf: Rate(max_conf.0.rem_euclid(1_000_000_000) + 1),
            max_deviation: Rate(max_dev.0.rem_euclid(1_000_000_000) + 1),
            min_sources: min_sources % 16 + 1,
            method,
        };
        for cfg in [any_cfg, valid] {
            let _ = cfg.validate();
            if let Ok(mut r) = compute_index(&sources, now, &cfg) {
                let _ = r.price();
                if let Some(p) = r.price {
                    let used = sources.iter().enumerate().filter(|(i, _)| r.dropped[*i].is_none()).map(|(_, s)| s.price);
                    let (lo, hi) = used.fold((u64::MAX, 0), |(a, b), p| (a.min(p.0), b.max(p.0)));
                    prop_assert!(p.0 >= lo && p.0 <= hi);
                }
                r.count = tamper;
                let _ = r.price();
                r.price = None;
                let _ = r.price();
            }
        }
    }

    #[test]
    fn mark_and_twap(index in prices(), bid in prices(), ask in prices(), rate in rates(), ttf in i64s(), interval in i64s(),
                     el in i64s(), w in i64s(), time in i64s(), now in i64s()) {
        let _ = mark_funding_basis(index, rate, ttf, interval);
        let m = mark_impact_median(index, bid, ask);
        prop_assert!([index, bid, ask].contains(&m));
        if let Ok(v) = twap_update(index, bid, el, w) {
            if !index.is_zero() {
                prop_assert!(v >= index.min(bid) && v <= index.max(bid));
            }
        }
        let t = ImpactTwap { bid, ask, time };
        let _ = t.at(index, ask, now, w);
        let _ = t.at(index, ask, now, w.checked_abs().unwrap_or(1).max(1));
    }
}
