//! Funding: payments round up (a payer pays at least, a receiver gets at most the exact amount),
//! so longs pay at least what shorts receive; a funding event never lets the fee pool pay more
//! than it has and caps the receivers as little as possible; socialized losses charge at least
//! the loss; the rate, premium, interest and proration formulas equal their exact definitions.

use crate::{ceil_div, floor_div, Counter};
use perp_core::funding::{
    funding_event, funding_rate, interest_per_interval, position_payment, premium_sample, prorate,
    socialize_loss_delta, FundingIndices, FundingParams, PremiumAccumulator, SECONDS_PER_YEAR,
};
use perp_core::{Base, CoreError, FundingIndex, Price, Quote, Rate, Round};

/// Base raw x funding-index raw per quote raw.
const SCALE: i128 = 1_000_000_000_000_000_000;

fn toward_zero(n: i128, d: i128) -> i128 {
    n / d
}

#[test]
fn position_payments_round_for_the_protocol() {
    // base in [-200, 200], index values k x 7 x 10^14 for k in [-30, 30] (now and then): the
    // payment base x delta / 10^18 = 7 base dk / 10^4 hits every rounding case
    let c = Counter::new("position_payment: base in [-200, 200], index now/then = k x 7e14, k in [-30, 30]");
    bolero::check!().with_generator((-200i16..=200, -30i8..=30, -30i8..=30)).exhaustive().cloned().for_each(
        |(b, now, then)| {
            c.tick();
            let (b, now, then) = (b as i64, now as i128 * 700_000_000_000_000, then as i128 * 700_000_000_000_000);
            let exact = b as i128 * (now - then);
            let got = position_payment(Base(b), FundingIndex(now), FundingIndex(then)).unwrap().0 as i128;
            assert_eq!(got, ceil_div(exact, SCALE), "base {b} delta {}", now - then);
            // a payer (got > 0) pays at least the exact amount; a receiver (got < 0) gets at most it
            assert!(got * SCALE >= exact);
            // the opposite position with the same index move: what one side pays covers what the
            // other receives, by less than one raw unit
            let other = position_payment(Base(-b), FundingIndex(now), FundingIndex(then)).unwrap().0 as i128;
            assert!(got + other >= 0 && got + other <= 1, "{got} + {other}");
            // Base::funding_payment brackets the exact value
            let down = Base(b).funding_payment(FundingIndex(now - then), Round::Down).unwrap().0 as i128;
            assert_eq!(down, floor_div(exact, SCALE));
        },
    );
    c.done(401 * 61 * 61);
}

const MARKS: [u64; 6] = [1, 999_999_999, 1_000_000_000, 20_000_000_007, 33_333_333_333, 1_000_000_000_000];
const OIS: [i64; 10] =
    [-1, 0, 1, 3_000_001, 10_000_000, 333_333_333, 1_000_000_007, 3_000_000_000, 10_000_000_000, 25_000_000_001];

#[test]
fn funding_events_conserve_and_cap_minimally() {
    let c =
        Counter::new("funding_event: rate in [-3, 3], 6 marks, oi_long/oi_short in 10 values, fee pool in [-2, 25]");
    for rate in -3i64..=3 {
        for mark in MARKS {
            for l in OIS {
                for s in OIS {
                    for pool in -2i64..=25 {
                        c.tick();
                        let got = funding_event(Rate(rate), Price(mark), Base(l), Base(s), Quote(pool));
                        if l < 0 || s < 0 {
                            assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                            continue;
                        }
                        let e = got.unwrap();
                        check_event(rate, mark, l, s, pool, &e);
                    }
                }
            }
        }
    }
    c.done(7 * 6 * 10 * 10 * 28);
}

fn check_event(rate: i64, mark: u64, l: i64, s: i64, pool: i64, e: &perp_core::funding::FundingEvent) {
    let inc = mark as i128 * rate as i128;
    let (dl, ds) = (e.delta_long.0, e.delta_short.0);
    let avail = pool.max(0) as i128 * SCALE;
    let (l128, s128) = (l as i128, s as i128);
    let net = l128 * dl - s128 * ds;
    let ctx = format!("rate {rate} mark {mark} l {l} s {s} pool {pool}: {e:?}");
    if !e.receiver_capped {
        assert_eq!((dl, ds), (inc, inc), "{ctx}");
        assert!(net >= -avail, "{ctx}");
    } else if inc > 0 {
        // longs pay in full; shorts receive as much as the longs and the pool cover, and one unit
        // of index more would overdraw the pool
        assert_eq!(dl, inc, "{ctx}");
        assert!(ds >= 0 && ds < inc, "{ctx}");
        assert!(l128 * dl + avail - s128 * ds >= 0, "{ctx}");
        assert!(l128 * dl + avail - s128 * (ds + 1) < 0, "{ctx}");
    } else {
        assert!(inc < 0, "{ctx}");
        assert_eq!(ds, inc, "{ctx}");
        assert!(dl <= 0 && dl > inc, "{ctx}");
        assert!(s128 * -ds + avail - l128 * -dl >= 0, "{ctx}");
        assert!(s128 * -ds + avail - l128 * (-dl + 1) < 0, "{ctx}");
    }
    // the pool's share: floor of what it receives, ceiling of what it pays, never beyond the pool
    assert_eq!(e.amm_share.0 as i128, floor_div(net, SCALE), "{ctx}");
    assert!(e.amm_share.0 >= -pool.max(0), "{ctx}");
    // positions (each side split in two) pay at least the pool's share, with under 5 units of dust
    let mut idx = FundingIndices::default();
    idx.apply(e).unwrap();
    let mut paid: i128 = 0;
    for b in [l / 3, l - l / 3, -(s / 2), -(s - s / 2)] {
        let p = position_payment(Base(b), idx.for_base(Base(b)), FundingIndex(0)).unwrap().0 as i128;
        let delta = if b >= 0 { dl } else { ds };
        assert!(p * SCALE >= b as i128 * delta, "{ctx}");
        paid += p;
    }
    assert!(paid >= e.amm_share.0 as i128 && paid - (e.amm_share.0 as i128) <= 4, "{ctx}: paid {paid}");
}

#[test]
fn socialized_loss_charges_at_least_the_loss() {
    let c = Counter::new("socialize_loss_delta: loss in [-3, 300], oi in [-2, 300], long and short");
    for loss in -3i64..=300 {
        for oi in -2i64..=300 {
            for long in [true, false] {
                c.tick();
                let got = socialize_loss_delta(Quote(loss), Base(oi), long);
                if oi <= 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                    continue;
                }
                let d = got.unwrap();
                let want = loss.max(0);
                let sign: i64 = if long { 1 } else { -1 };
                assert_eq!(d.0.signum() * sign as i128, want.signum() as i128);
                // the side as one position pays the loss plus less than one raw unit
                let one = position_payment(Base(oi * sign), d, FundingIndex(0)).unwrap().0;
                assert!(one >= want && one <= want + 1, "loss {loss} oi {oi}: {one}");
                // split in two positions it still pays at least the loss
                let a = oi / 3;
                let two = position_payment(Base(a * sign), d, FundingIndex(0)).unwrap().0
                    + position_payment(Base((oi - a) * sign), d, FundingIndex(0)).unwrap().0;
                assert!(two >= want && two <= want + 2);
            }
        }
    }
    c.done(304 * 303 * 2);
}

#[test]
fn prorate_is_the_floor_and_bounded() {
    let c = Counter::new("prorate: rate in [-100, 100], seconds in [-3, 15], interval in [-2, 12]");
    for rate in -100i64..=100 {
        for s in -3i64..=15 {
            for i in -2i64..=12 {
                c.tick();
                let got = prorate(Rate(rate), s, i);
                if i == 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                    continue;
                }
                let v = got.unwrap().0;
                assert_eq!(v as i128, floor_div(rate as i128 * s as i128, i as i128));
                if i > 0 && (0..=i).contains(&s) {
                    // a fraction of the interval: between 0 and the rate
                    assert!(v.abs() <= rate.abs() && (v == 0 || v.signum() == rate.signum()));
                }
            }
        }
    }
    c.done(201 * 19 * 15);
}

#[test]
fn rate_premium_interest_and_twap_formulas() {
    const E9: i64 = 1_000_000_000;
    let c = Counter::new("funding_rate: premium in [-20, 20], interest in [-8, 8] + {+-(1e9 + 1)}, clamp in [-1, 8] + {1e9 + 1}, cap in None + [-1, 8] + {1e9 + 1}");
    let interests: Vec<i64> = (-8..=8).chain([-E9 - 1, E9 + 1]).collect();
    let clamps: Vec<i64> = (-1..=8).chain([E9 + 1]).collect();
    let caps: Vec<Option<i64>> = std::iter::once(None).chain((-1..=8).chain([E9 + 1]).map(Some)).collect();
    for p in -20i64..=20 {
        for &i in &interests {
            for &cl in &clamps {
                for &cap in &caps {
                    c.tick();
                    let params = FundingParams { interest: Rate(i), clamp: Rate(cl), cap: cap.map(Rate) };
                    let got = funding_rate(Rate(p), &params);
                    let invalid = !(0..=E9).contains(&cl) || cap.is_some_and(|c| c <= 0 || c > E9) || i.abs() > E9;
                    if invalid {
                        assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                        continue;
                    }
                    let f = p + (i - p).clamp(-cl, cl);
                    // before the cap the rate lies between the premium and the interest
                    assert!(f >= p.min(i) && f <= p.max(i));
                    let f = cap.map_or(f, |c| f.clamp(-c, c));
                    assert_eq!(got.unwrap(), Rate(f), "P {p} I {i} clamp {cl} cap {cap:?}");
                }
            }
        }
    }
    c.done(41 * 19 * 11 * 12);

    let c = Counter::new("premium_sample: index, impact bid, impact ask in [0, 40]");
    for index in 0u64..=40 {
        for bid in 0u64..=40 {
            for ask in 0u64..=40 {
                c.tick();
                let got = premium_sample(Price(index), Price(bid), Price(ask));
                if index == 0 {
                    assert_eq!(got, Err(CoreError::DivisionByZero));
                    continue;
                }
                let (i, b, a) = (index as i128, bid as i128, ask as i128);
                let num = ((b - i).max(0) - (i - a).max(0)) * E9 as i128;
                assert_eq!(got.unwrap().0 as i128, toward_zero(num, i));
            }
        }
    }
    c.done(41 * 41 * 41);

    let c = Counter::new(
        "interest_per_interval: annual rates k x 1,000,003 for k in [-20, 20], interval h x 3600 s for h in [-1, 40]",
    );
    for q in -20i64..=20 {
        for b in -20i64..=20 {
            for h in -1i64..=40 {
                c.tick();
                let (qa, ba, secs) = (q * 1_000_003, b * 1_000_003, h * 3600);
                let got = interest_per_interval(Rate(qa), Rate(ba), secs);
                if secs <= 0 {
                    assert!(matches!(got, Err(CoreError::InvalidParameter(_))));
                    continue;
                }
                let want = toward_zero((qa - ba) as i128 * secs as i128, SECONDS_PER_YEAR as i128);
                assert_eq!(got.unwrap().0 as i128, want);
            }
        }
    }
    c.done(41 * 41 * 42);

    let c = Counter::new(
        "PremiumAccumulator add/twap_over: two samples (premium in [-3, 3], seconds in [-1, 3]), over in [-1, 8]",
    );
    for p1 in -3i64..=3 {
        for s1 in -1i64..=3 {
            for p2 in -3i64..=3 {
                for s2 in -1i64..=3 {
                    for over in -1i64..=8 {
                        c.tick();
                        let mut acc = PremiumAccumulator::default();
                        let (mut sum, mut secs) = (0i128, 0i64);
                        for (p, s) in [(p1, s1), (p2, s2)] {
                            let before = acc;
                            let r = acc.add(Rate(p), s);
                            if s < 0 {
                                assert!(matches!(r, Err(CoreError::InvalidParameter(_))));
                                assert_eq!(acc, before);
                            } else {
                                r.unwrap();
                                sum += p as i128 * s as i128;
                                secs += s;
                            }
                        }
                        assert_eq!((acc.weighted_sum, acc.seconds), (sum, secs));
                        let den = secs.max(over);
                        let want = if den <= 0 { 0 } else { toward_zero(sum, den as i128) };
                        let got = acc.twap_over(over).unwrap().0;
                        assert_eq!(got as i128, want);
                        assert!(got.abs() <= 3);
                        assert_eq!(
                            acc.twap().unwrap().0 as i128,
                            if secs == 0 { 0 } else { toward_zero(sum, secs as i128) }
                        );
                    }
                }
            }
        }
    }
    c.done(7 * 5 * 7 * 5 * 10);
}
