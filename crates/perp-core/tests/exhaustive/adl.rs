//! Auto-deleveraging: the plan closes exactly `min(size, available)` greedily in rank order and
//! never more than needed; `rank` is the (score descending, key ascending) order; the score and
//! the ADL price equal their formulas.

use crate::{ceil_div, floor_div, Counter};
use perp_core::adl::{adl_price, adl_score, plan, rank, ranks_before, AdlCandidate, AdlScore};
use perp_core::{Base, CoreError, Price, Quote, Rate};

const E9: i128 = 1_000_000_000;

fn candidate(key: u8, size: i64, score: i128) -> AdlCandidate {
    AdlCandidate { key: [key; 32], size: Base(size), score: AdlScore(score) }
}

#[test]
fn plan_closes_exactly_what_is_needed_in_order() {
    // 0-4 candidates with sizes in [-1, 3] (already ranked), size to absorb in [-1, 12]; `out` as
    // long as the candidates and one shorter
    let c =
        Counter::new("adl::plan: 0-4 candidates with sizes in [-1, 3], size in [-1, 12], out of full and short length");
    let mut count = 0u64;
    for n in 0u32..=4 {
        for code in 0..5i64.pow(n) {
            let sizes: Vec<i64> = (0..n).map(|i| code / 5i64.pow(i) % 5 - 1).collect();
            let cands: Vec<AdlCandidate> = sizes.iter().enumerate().map(|(i, &s)| candidate(i as u8, s, 0)).collect();
            let available: i64 = sizes.iter().map(|s| s.max(&0)).sum();
            for want in -1i64..=12 {
                for short_out in [false, true] {
                    c.tick();
                    count += 1;
                    let len = if short_out { cands.len().saturating_sub(1) } else { cands.len() };
                    let mut out = vec![Base(-99); len];
                    let got = plan(Base(want), &cands, &mut out);
                    if want < 0 {
                        assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                        continue;
                    }
                    let total = got.unwrap().0;
                    assert_eq!(total, want.min(available), "{sizes:?} want {want}");
                    // greedy: each candidate takes min(what is left, its size), in order
                    let mut left = want;
                    for (i, &s) in sizes.iter().enumerate() {
                        let take = left.min(s.max(0));
                        if i < out.len() {
                            assert_eq!(out[i], Base(take), "{sizes:?} want {want}");
                            // never more than the candidate holds, nor than is still needed
                            assert!(out[i].0 >= 0 && out[i].0 <= s.max(0));
                        }
                        left -= take;
                    }
                    if !short_out {
                        assert_eq!(out.iter().map(|b| b.0).sum::<i64>(), total);
                        // a candidate is touched only once every earlier one is emptied
                        for i in 1..out.len() {
                            if out[i].0 > 0 {
                                assert_eq!(out[i - 1].0, sizes[i - 1].max(0));
                            }
                        }
                    }
                }
            }
        }
    }
    let domain: i64 = (0..=4).map(|n| 5i64.pow(n)).sum::<i64>() * 14 * 2;
    assert_eq!(count, domain as u64);
    c.done(domain as u64);
}

#[test]
fn rank_is_score_then_key_order() {
    // 0-5 candidates, each with score in [0, 2] and key byte in [0, 2] (ties included)
    let c = Counter::new("adl::rank / ranks_before: 0-5 candidates, score in [0, 2], key in [0, 2]");
    for n in 0u32..=5 {
        for code in 0..9u32.pow(n) {
            c.tick();
            let cands: Vec<AdlCandidate> = (0..n)
                .map(|i| {
                    let v = code / 9u32.pow(i) % 9;
                    candidate((v % 3) as u8, i as i64 + 1, (v / 3) as i128)
                })
                .collect();
            let mut ranked = cands.clone();
            rank(&mut ranked);
            // a permutation of the input
            let mut a: Vec<_> = cands.iter().map(|c| (c.key, c.score, c.size)).collect();
            let mut b: Vec<_> = ranked.iter().map(|c| (c.key, c.score, c.size)).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b);
            for w in ranked.windows(2) {
                let (x, y) = (&w[0], &w[1]);
                assert!(x.score > y.score || (x.score == y.score && x.key <= y.key), "{ranked:?}");
                // ranks_before agrees (strictly, except between equal (score, key) pairs)
                assert_eq!(ranks_before(x, y), !(x.score == y.score && x.key == y.key));
                assert!(!ranks_before(y, x));
            }
        }
    }
    c.done((0..=5).map(|n| 9u64.pow(n)).sum());
}

#[test]
fn score_and_price_formulas() {
    let evs = [-1i64, 0, 1, 999_999, 1_000_000, 1_000_001, 3_000_000];
    let c =
        Counter::new("adl_score: upnl in [-2, 12], 7 entry values, maintenance in [-1, 8], position value in [-1, 12]");
    for upnl in -2i64..=12 {
        for ev in evs {
            for mm in -1i64..=8 {
                for pv in -1i64..=12 {
                    c.tick();
                    let got = adl_score(Quote(upnl), Quote(ev), Quote(mm), Quote(pv)).unwrap();
                    if upnl <= 0 || mm <= 0 || pv <= 0 {
                        assert_eq!(got, None);
                        continue;
                    }
                    let den = ev.max(1_000_000) as i128 * mm as i128;
                    let s = got.unwrap().0;
                    assert_eq!(s, floor_div(upnl as i128 * pv as i128 * E9, den));
                    // more profit never ranks lower; a larger requirement never ranks higher
                    let more = adl_score(Quote(upnl + 1), Quote(ev), Quote(mm), Quote(pv)).unwrap().unwrap().0;
                    let heavier = adl_score(Quote(upnl), Quote(ev), Quote(mm + 1), Quote(pv)).unwrap().unwrap().0;
                    assert!(more >= s && heavier <= s);
                }
            }
        }
    }
    c.done(15 * 7 * 10 * 14);

    let bands = [-1i64, 0, 1, 100_000_000, 333_333_333, 500_000_000, 999_999_999, 1_000_000_000];
    let c = Counter::new("adl_price: bankruptcy in [0, 60], mark in [0, 40], 8 bands");
    for bp in 0u64..=60 {
        for mark in 0u64..=40 {
            for band in bands {
                c.tick();
                let got = adl_price(Price(bp), Price(mark), Rate(band));
                if !(0..1_000_000_000).contains(&band) {
                    assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                    continue;
                }
                // within [ceil(mark (1 - band)), floor(mark (1 + band))], the bankruptcy price if inside
                let lo = ceil_div(mark as i128 * (E9 - band as i128), E9);
                let hi = floor_div(mark as i128 * (E9 + band as i128), E9);
                assert!(lo <= mark as i128 && mark as i128 <= hi);
                assert_eq!(got.unwrap().0 as i128, (bp as i128).clamp(lo, hi));
            }
        }
    }
    c.done(61 * 41 * 8);
}
