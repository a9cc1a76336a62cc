//! units, wide, the display and parse functions, and the error messages.

use crate::*;
use perp_core::adl::AdlScore;
use perp_core::error::TierProblem;
use perp_core::units::{div_round, mul_div, mul_div_u128, parse_decimal, price_from_mantissa, scale_mantissa, Decimal};
use perp_core::wide::{checked_mul_u128, div_rem_u128, mul_64_64, mul_i64};
use perp_core::{CoreError, DropReason};

proptest! {
    #![proptest_config(config(30_000))]

    #[test]
    fn rounding_helpers(a in i128s(), b in i128s(), d in i128s(), r in rounds()) {
        let got = mul_div(a, b, d, r);
        match a.checked_mul(b) {
            None => prop_assert_eq!(got, Err(CoreError::Overflow)),
            Some(_) if d == 0 => prop_assert_eq!(got, Err(CoreError::DivisionByZero)),
            Some(p) if p == i128::MIN && d == -1 => prop_assert_eq!(got, Err(CoreError::Overflow)),
            Some(p) => prop_assert_eq!(got, Ok(rdiv(p, d, r))),
        }
        let got = div_round(a, d, r);
        if d == 0 {
            prop_assert_eq!(got, Err(CoreError::DivisionByZero));
        } else if a == i128::MIN && d == -1 {
            prop_assert_eq!(got, Err(CoreError::Overflow));
        } else {
            prop_assert_eq!(got, Ok(rdiv(a, d, r)));
        }
    }

    #[test]
    fn unsigned_helpers(a in u128s(), b in u128s(), d in u128s(), r in rounds(), x in u64s(), y in u64s()) {
        let got = mul_div_u128(a, b, d, r);
        match (d, a.checked_mul(b)) {
            (0, _) => prop_assert_eq!(got, Err(CoreError::DivisionByZero)),
            (_, None) => prop_assert_eq!(got, Err(CoreError::Overflow)),
            (d, Some(p)) => prop_assert_eq!(got, Ok(p / d + (r == Round::Up && p % d != 0) as u128)),
        }
        prop_assert_eq!(checked_mul_u128(a, b), a.checked_mul(b));
        if d != 0 {
            prop_assert_eq!(div_rem_u128(a, d), (a / d, a % d));
        }
        prop_assert_eq!(mul_64_64(x, y), x as u128 * y as u128);
        prop_assert_eq!(mul_i64(x as i64, y as i64), x as i64 as i128 * y as i64 as i128);
    }

    #[test]
    fn quantities(b in bases(), q in quotes(), o in quotes(), rate in rates(), lo in rates(), p in prices(), p2 in prices(),
                  f in indices(), g in indices(), r in rounds()) {
        let _ = (b.checked_add(Base(q.0)), b.checked_sub(Base(o.0)), b.checked_neg(), b.abs());
        let _ = (b.is_zero(), b.is_positive(), b.is_negative(), b.signum(), b.raw());
        let _ = (q.checked_add(o), q.checked_sub(o), q.checked_neg(), q.abs(), q.max(o), q.min(o));
        let _ = (rate.checked_add(lo), rate.checked_sub(lo), rate.checked_neg(), rate.abs(), rate.clamp(lo, rate), rate.clamp(rate, lo));
        let _ = (f.checked_add(g), f.checked_sub(g), f.checked_neg(), f.abs(), f.signum(), f.raw(), p.raw(), p.is_zero());
        if let Ok(v) = b.value_at(p, r) {
            prop_assert_eq!(v.0 as i128, rdiv(b.0 as i128 * p.0 as i128, 1_000_000_000, r));
        }
        let _ = b.notional_at(p, r);
        if let Ok(v) = b.portion(Base(q.0), Base(o.0)) {
            // never more than asked when the fraction is at most one
            if q.0.unsigned_abs() <= o.0.unsigned_abs() {
                prop_assert!(v.0.unsigned_abs() <= b.0.unsigned_abs());
            }
        }
        let _ = b.funding_payment(f, r);
        let _ = (q.mul_rate(rate, r), q.ratio(o, r), q.per_base(b, r));
        let _ = (rate.scale(q.0, o.0, r), rate.scale(q.0, 0, r));
        let _ = (p.scale_by_one_plus(rate, r), p.mul_rate_raw(rate, r), p.relative_diff(p2, r), p.checked_add_raw(f.0));
        if let Ok(i) = FundingIndex::increment(p, rate) {
            prop_assert_eq!(i.0, p.0 as i128 * rate.0 as i128);
        }
    }

    #[test]
    fn display_and_parse(v in i128s(), decimals in prop_oneof![0u32..=40, 0u32..=120], b in bases(), q in quotes(), rate in rates(), p in prices(),
                         s in "[+-]?[0-9]{0,45}(\\.[0-9]{0,45})?", junk in any::<String>()) {
        let text = Decimal::new(v, decimals).to_string();
        // (i128::MIN alone does not parse back: its magnitude is accumulated as a positive i128)
        if decimals <= 38 && v != i128::MIN {
            prop_assert_eq!(parse_decimal(&text, decimals), Ok(v));
        }
        prop_assert_eq!(Base::parse(&b.to_string()), Ok(b));
        prop_assert_eq!(Quote::parse(&q.to_string()), Ok(q));
        prop_assert_eq!(Rate::parse(&rate.to_string()), Ok(rate));
        prop_assert_eq!(Price::parse(&p.to_string()), Ok(p));
        for t in [s.as_str(), junk.as_str()] {
            let _ = (parse_decimal(t, decimals), parse_decimal(t, u32::MAX));
            let _ = (Base::parse(t), Quote::parse(t), Rate::parse(t), Price::parse(t));
        }
        let _ = AdlScore(v).to_string();
    }

    #[test]
    fn mantissas(m in i64s(), u in u64s(), expo in i32s(), r in rounds()) {
        let _ = price_from_mantissa(m, expo, r);
        let _ = scale_mantissa(u, expo, r);
    }

    #[test]
    fn error_messages(a in i64s(), b in i64s(), n in any::<u8>(), k in any::<u32>()) {
        let tp = [
            TierProblem::Empty,
            TierProblem::TooMany,
            TierProblem::CapsNotIncreasing { tier: n },
            TierProblem::MaintenanceNotBelowInitial { tier: n },
            TierProblem::RateOutOfRange { tier: n },
            TierProblem::RatesDecreasing { tier: n },
            TierProblem::LastCapNotUnbounded,
        ];
        for t in tp {
            let _ = (t.to_string(), CoreError::InvalidTiers(t).to_string());
        }
        let errors = [
            CoreError::Overflow,
            CoreError::DivisionByZero,
            CoreError::NegativePrice,
            CoreError::Parse,
            CoreError::TooPrecise { decimals: k },
            CoreError::TooFewSources { valid: n, required: n, stale: n, low_confidence: n, outliers: n, invalid: n },
            CoreError::TooManySources,
            CoreError::ZeroTotalWeight,
            CoreError::InvalidParameter("x"),
            CoreError::ZeroSize,
            CoreError::InsufficientLiquidity,
            CoreError::NoLiquidationPrice,
        ];
        for e in errors {
            let _ = e.to_string();
        }
        for d in [
            DropReason::Stale { age: a, max_age: b },
            DropReason::LowConfidence { conf_ratio: a, max_conf: b },
            DropReason::Outlier { deviation: a, max_deviation: b },
            DropReason::Invalid,
        ] {
            let _ = d.to_string();
        }
    }
}
