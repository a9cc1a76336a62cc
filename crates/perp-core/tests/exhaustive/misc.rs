//! Fills applied to positions, TWAPs, mark prices and the index, against their definitions.

use crate::{floor_div, Counter};
use perp_core::index::{compute_index, IndexConfig, IndexMethod, SourceReading, MAX_FUTURE_SKEW};
use perp_core::margin::PositionState;
use perp_core::mark::{mark_funding_basis, mark_impact_median};
use perp_core::position::apply_fill;
use perp_core::twap::{twap_update, ImpactTwap};
use perp_core::{Base, CoreError, DropReason, Price, Quote, Rate};

const E9: i128 = 1_000_000_000;

#[test]
fn apply_fill_conserves_quote_and_rounds_for_the_protocol() {
    let c = Counter::new(
        "apply_fill: position base in [-6, 6], entry in [-8, 8], fill base in [-7, 7], fill quote in [-9, 9]",
    );
    for pb in -6i64..=6 {
        for pe in -8i64..=8 {
            for b in -7i64..=7 {
                for q in -9i64..=9 {
                    c.tick();
                    let pos = PositionState { base: Base(pb), quote_entry: Quote(pe) };
                    let got = apply_fill(pos, Base(b), Quote(q));
                    if b == 0 {
                        assert_eq!(got, Err(CoreError::ZeroSize));
                        continue;
                    }
                    let o = got.unwrap();
                    let ctx = format!("{pos:?} fill {b} {q}: {o:?}");
                    assert_eq!(o.position.base, Base(pb + b), "{ctx}");
                    // no quote is lost or made: realized + remaining entry = old entry + fill quote
                    assert_eq!(o.realized.0 + o.position.quote_entry.0, pe + q, "{ctx}");
                    assert_eq!(o.closed.0 + o.opened.0, b.abs(), "{ctx}");
                    assert!(o.closed.0 >= 0 && o.opened.0 >= 0 && o.closed.0 <= pb.abs());
                    if pb == 0 || pb.signum() == b.signum() {
                        assert_eq!((o.realized, o.closed), (Quote(0), Base(0)), "{ctx}");
                    } else if b.abs() <= pb.abs() {
                        // the released entry is the fraction of the entry, rounded down
                        let released = o.realized.0 - q;
                        assert_eq!(
                            released as i128,
                            floor_div(pe as i128 * b.abs() as i128, pb.abs() as i128),
                            "{ctx}"
                        );
                        if b.abs() == pb.abs() {
                            assert_eq!(o.position.quote_entry, Quote(0));
                        }
                    } else {
                        // a flip realizes the closing share of the fill quote (rounded down) against the whole entry
                        let closing = floor_div(q as i128 * pb.abs() as i128, b.abs() as i128) as i64;
                        assert_eq!(o.realized.0, closing + pe, "{ctx}");
                        assert_eq!(o.position.quote_entry.0, q - closing, "{ctx}");
                        assert_eq!(o.opened.0, b.abs() - pb.abs());
                    }
                }
            }
        }
    }
    c.done(13 * 17 * 15 * 19);
}

fn twap_ref(old: u64, cur: u64, elapsed: i64, window: i64) -> Result<u64, ()> {
    if window <= 0 {
        return Err(());
    }
    if old == 0 {
        return Ok(cur);
    }
    let d = elapsed.clamp(0, window) as u128;
    let w = window as u128;
    Ok(((old as u128 * (w - d) + cur as u128 * d) / w) as u64)
}

#[test]
fn twaps_move_only_with_time() {
    let c = Counter::new("twap_update: old, current in [0, 30], elapsed in [-2, 12], window in [-1, 10]");
    for old in 0u64..=30 {
        for cur in 0u64..=30 {
            for el in -2i64..=12 {
                for w in -1i64..=10 {
                    c.tick();
                    let got = twap_update(Price(old), Price(cur), el, w);
                    match twap_ref(old, cur, el, w) {
                        Err(()) => assert!(matches!(got, Err(CoreError::InvalidParameter(_)))),
                        Ok(v) => {
                            assert_eq!(got, Ok(Price(v)), "old {old} cur {cur} el {el} w {w}");
                            if old != 0 {
                                assert!(v >= old.min(cur) && v <= old.max(cur));
                                if el <= 0 {
                                    assert_eq!(v, old);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    c.done(31 * 31 * 15 * 12);

    let c = Counter::new("ImpactTwap::at: last time in {0, 5}, now in [0, 12], window in [1, 6], old bid/ask in {0, 3}, new bid/ask in [0, 4]");
    for time in [0i64, 5] {
        for now in 0i64..=12 {
            for w in 1i64..=6 {
                for ob in [0u64, 3] {
                    for oa in [0u64, 3] {
                        for nb in 0u64..=4 {
                            for na in 0u64..=4 {
                                c.tick();
                                let t = ImpactTwap { bid: Price(ob), ask: Price(oa), time };
                                let u = t.at(Price(nb), Price(na), now, w).unwrap();
                                let el = if time == 0 { w } else { now - time };
                                assert_eq!(u.bid.0, twap_ref(ob, nb, el, w).unwrap());
                                assert_eq!(u.ask.0, twap_ref(oa, na, el, w).unwrap());
                                assert_eq!(u.time, now.max(time));
                            }
                        }
                    }
                }
            }
        }
    }
    c.done(2 * 13 * 6 * 2 * 2 * 5 * 5);
}

#[test]
fn mark_prices() {
    let c = Counter::new(
        "mark_funding_basis: 4 indices, rate in [-12, 12] x 10^8, time to funding in [-1, 9], interval in [-1, 8]",
    );
    for index in [0u64, 1, 999_999, 60_000_000_000] {
        for r in -12i64..=12 {
            for ttf in -1i64..=9 {
                for interval in -1i64..=8 {
                    c.tick();
                    let rate = r * 100_000_000;
                    let got = mark_funding_basis(Price(index), Rate(rate), ttf, interval);
                    if interval <= 0 {
                        assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                        continue;
                    }
                    let t = ttf.clamp(0, interval) as i128;
                    let den = E9 * interval as i128;
                    let num = den + rate as i128 * t;
                    if num <= 0 {
                        assert_eq!(got, Err(CoreError::NegativePrice));
                        continue;
                    }
                    assert_eq!(got.unwrap().0 as i128, floor_div(index as i128 * num, den));
                }
            }
        }
    }
    c.done(4 * 25 * 11 * 10);

    let c = Counter::new("mark_impact_median: index, bid, ask in [0, 6]");
    for i in 0u64..=6 {
        for b in 0u64..=6 {
            for a in 0u64..=6 {
                c.tick();
                let m = mark_impact_median(Price(i), Price(b), Price(a)).0;
                let below = [i, b, a].iter().filter(|&&x| x <= m).count();
                let above = [i, b, a].iter().filter(|&&x| x >= m).count();
                assert!(below >= 2 && above >= 2 && [i, b, a].contains(&m));
            }
        }
    }
    c.done(7 * 7 * 7);
}

const NOW: i64 = 1_000;

/// (drop reasons, anchor median, valid count, index or error, oldest reading used)
type IndexRef = (Vec<Option<DropReason>>, Option<u64>, u8, Result<Option<u64>, CoreError>, Option<i64>);

/// The index by its documented steps, written independently.
fn index_ref(s: &[SourceReading], cfg: &IndexConfig) -> IndexRef {
    let mut dropped = vec![None; s.len()];
    for (i, r) in s.iter().enumerate() {
        let ahead = r.publish_time - NOW;
        let age = (NOW - r.publish_time).max(0);
        dropped[i] = if r.price.0 == 0 {
            Some(DropReason::Invalid)
        } else if ahead > MAX_FUTURE_SKEW {
            Some(DropReason::Stale { age: -ahead, max_age: cfg.max_age })
        } else if age > cfg.max_age {
            Some(DropReason::Stale { age, max_age: cfg.max_age })
        } else if r.conf.0 as i128 * E9 > cfg.max_conf.0 as i128 * r.price.0 as i128 {
            let ratio = crate::ceil_div(r.conf.0 as i128 * E9, r.price.0 as i128);
            Some(DropReason::LowConfidence { conf_ratio: ratio as i64, max_conf: cfg.max_conf.0 })
        } else {
            None
        };
    }
    let median = |mut v: Vec<u64>| -> u64 {
        v.sort();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            ((v[n / 2 - 1] as u128 + v[n / 2] as u128) / 2) as u64
        }
    };
    let first: Vec<u64> = s.iter().zip(&dropped).filter(|(_, d)| d.is_none()).map(|(r, _)| r.price.0).collect();
    if first.is_empty() {
        return (dropped, None, 0, Ok(None), None);
    }
    let m = median(first);
    let mut used = Vec::new();
    for (i, r) in s.iter().enumerate() {
        if dropped[i].is_some() {
            continue;
        }
        let diff = (r.price.0 as i128 - m as i128).abs();
        if diff * E9 > cfg.max_deviation.0 as i128 * m as i128 {
            let dev = crate::ceil_div(diff * E9, m as i128);
            dropped[i] = Some(DropReason::Outlier { deviation: dev as i64, max_deviation: cfg.max_deviation.0 });
        } else {
            used.push(*r);
        }
    }
    let valid = used.len() as u8;
    let oldest = used.iter().map(|r| r.publish_time.min(NOW)).min();
    if (valid as usize) < cfg.min_sources as usize {
        return (dropped, Some(m), valid, Ok(None), oldest);
    }
    let price = match cfg.method {
        IndexMethod::Median => Ok(Some(median(used.iter().map(|r| r.price.0).collect()))),
        IndexMethod::VolumeWeighted => {
            let w: u128 = used.iter().map(|r| r.weight as u128).sum();
            let pw: u128 = used.iter().map(|r| r.price.0 as u128 * r.weight as u128).sum();
            pw.checked_div(w).map(|v| Some(v as u64)).ok_or(CoreError::ZeroTotalWeight)
        }
    };
    (dropped, Some(m), valid, price, oldest)
}

#[test]
fn index_follows_its_filters() {
    // sources: price in {0, 97, 100, 103, 104} (x 10^6), conf in {0, 1% of 100 + 1 raw, 1% of 100},
    // publish time in {stale, now, 10 s ahead, 11 s ahead}, weight in {0, 2}: 120 readings;
    // 0, 1 or 2 sources of those, 3 sources of 20 (conf 0, time now or stale); 6 configurations
    let prices = [0u64, 97_000_000, 100_000_000, 103_000_000, 104_000_000];
    let mut full = Vec::new();
    for p in prices {
        for conf in [0u64, 1_000_001, 1_000_000] {
            for t in [NOW - 61, NOW, NOW + 10, NOW + 11] {
                for w in [0u64, 2] {
                    full.push(SourceReading {
                        price: Price(p),
                        conf: Price(conf),
                        publish_time: t,
                        weight: w,
                        ema: Price(0),
                    });
                }
            }
        }
    }
    let mut small = Vec::new();
    for p in prices {
        for t in [NOW - 61, NOW] {
            for w in [0u64, 2] {
                small.push(SourceReading {
                    price: Price(p),
                    conf: Price(0),
                    publish_time: t,
                    weight: w,
                    ema: Price(0),
                });
            }
        }
    }
    let mut sets: Vec<Vec<SourceReading>> = vec![vec![]];
    sets.extend(full.iter().map(|a| vec![*a]));
    for a in &full {
        sets.extend(full.iter().map(|b| vec![*a, *b]));
    }
    for a in &small {
        for b in &small {
            sets.extend(small.iter().map(|d| vec![*a, *b, *d]));
        }
    }
    let c = Counter::new("compute_index: 0-2 sources of 120 readings and 3 sources of 20, min_sources in [1, 3], median and volume-weighted");
    for s in &sets {
        for min_sources in 1u8..=3 {
            for method in [IndexMethod::Median, IndexMethod::VolumeWeighted] {
                c.tick();
                let cfg = IndexConfig {
                    max_age: 60,
                    max_conf: Rate(10_000_000),
                    max_deviation: Rate(30_000_000),
                    min_sources,
                    method,
                };
                let got = compute_index(s, NOW, &cfg);
                let (dropped, anchor, valid, price, oldest) = index_ref(s, &cfg);
                let r = match (got, price) {
                    (Err(e), Err(w)) => {
                        assert_eq!(e, w);
                        continue;
                    }
                    // zero total weight: a report without a price, whose price() says why
                    (Ok(r), Err(w)) if r.zero_weight => {
                        assert_eq!(r.price(), Err(w));
                        r
                    }
                    (Ok(r), Ok(p)) => {
                        assert_eq!(r.price.map(|p| p.0), p, "{s:?} {cfg:?}");
                        r
                    }
                    (g, w) => panic!("{s:?} {cfg:?}: got {g:?}, want {w:?}"),
                };
                assert_eq!(&r.dropped[..s.len()], &dropped[..], "{s:?}");
                assert_eq!(r.anchor_median.map(|p| p.0), anchor);
                assert_eq!((r.valid, r.oldest_used, r.count), (valid, oldest, s.len()));
                match r.price() {
                    Ok(p) => assert_eq!(Some(p), r.price),
                    Err(CoreError::TooFewSources { valid: v, required, stale, low_confidence, outliers, invalid }) => {
                        assert!(r.price.is_none());
                        assert_eq!((v, required), (valid, min_sources));
                        let count =
                            |f: fn(&DropReason) -> bool| dropped.iter().flatten().filter(|d| f(d)).count() as u8;
                        assert_eq!(stale, count(|d| matches!(d, DropReason::Stale { .. })));
                        assert_eq!(low_confidence, count(|d| matches!(d, DropReason::LowConfidence { .. })));
                        assert_eq!(outliers, count(|d| matches!(d, DropReason::Outlier { .. })));
                        assert_eq!(invalid, count(|d| matches!(d, DropReason::Invalid)));
                        assert_eq!(stale + low_confidence + outliers + invalid + v, s.len() as u8);
                    }
                    Err(CoreError::ZeroTotalWeight) => assert!(r.zero_weight && r.price.is_none()),
                    Err(e) => panic!("{e:?}"),
                }
                if let Some(p) = r.price {
                    let used: Vec<u64> =
                        s.iter().enumerate().filter(|(i, _)| r.dropped[*i].is_none()).map(|(_, x)| x.price.0).collect();
                    assert!(used.iter().all(|&u| u > 0));
                    assert!(p.0 >= *used.iter().min().unwrap() && p.0 <= *used.iter().max().unwrap());
                }
            }
        }
    }
    c.done((1 + 120 + 120 * 120 + 20 * 20 * 20) * 6);
}
