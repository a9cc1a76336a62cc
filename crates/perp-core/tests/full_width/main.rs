//! Full-width random inputs for every public function of perp-core: integers drawn from the whole
//! range of their type, mixed with the pathological values (MIN, MAX, 0, +-1, powers of two, the
//! precisions). Every call must return (`Ok` or an `Err`), never panic: overflow checks are on in
//! test builds, so a wrapped intermediate is a panic too. Where a result has a cheap exact
//! definition, the `Ok` value is checked against it as well.
//!
//! Not called with out-of-contract inputs: `wide::div_rem_u128` with a zero divisor (documented
//! precondition "nonzero divisor", the function returns no `Result`), and `Decimal` printing with
//! more than 120 decimals (correct, but the text is as long as the decimals count).

mod market;
mod risk;
mod units;

use perp_core::liquidation::LiquidationFees;
use perp_core::margin::{PositionState, Tier, MAX_TIERS};
use perp_core::vamm::Side;
use perp_core::{Base, FundingIndex, Price, Quote, Rate, Round};
use proptest::prelude::*;
use proptest::sample::select;

/// `cases` per test in CI; `PERP_FULL_WIDTH_SCALE=N` multiplies them for long runs.
pub fn config(cases: u32) -> ProptestConfig {
    let scale: u32 = std::env::var("PERP_FULL_WIDTH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    ProptestConfig { cases: cases.saturating_mul(scale.max(1)), failure_persistence: None, ..ProptestConfig::default() }
}

pub fn i64s() -> BoxedStrategy<i64> {
    prop_oneof![
        4 => any::<i64>(),
        3 => select(vec![
            i64::MIN,
            i64::MIN + 1,
            -(1i64 << 62),
            -1_000_000_000_000_000_000,
            -1_000_000_000,
            -1_000_000,
            -2,
            -1,
            0,
            1,
            2,
            1_000_000,
            1_000_000_000,
            1_000_000_000_000_000_000,
            1i64 << 62,
            i64::MAX - 1,
            i64::MAX,
        ]),
        1 => -1_000_000i64..1_000_000,
    ]
    .boxed()
}

pub fn u64s() -> BoxedStrategy<u64> {
    prop_oneof![
        4 => any::<u64>(),
        3 => select(vec![
            0,
            1,
            2,
            1_000_000,
            1_000_000_000,
            u32::MAX as u64,
            1u64 << 32,
            i64::MAX as u64,
            1u64 << 63,
            1_000_000_000_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ]),
        1 => 0u64..1_000_000,
    ]
    .boxed()
}

pub fn i128s() -> BoxedStrategy<i128> {
    prop_oneof![
        3 => any::<i128>(),
        2 => any::<i64>().prop_map(|v| v as i128),
        3 => select(vec![
            i128::MIN,
            i128::MIN + 1,
            -(1i128 << 126),
            -(1i128 << 64),
            i64::MIN as i128,
            -1_000_000_000_000_000_000,
            -1,
            0,
            1,
            1_000_000_000_000_000_000,
            i64::MAX as i128,
            u64::MAX as i128,
            1i128 << 64,
            1i128 << 126,
            i128::MAX - 1,
            i128::MAX,
        ]),
    ]
    .boxed()
}

pub fn u128s() -> BoxedStrategy<u128> {
    prop_oneof![
        3 => any::<u128>(),
        2 => any::<u64>().prop_map(|v| v as u128),
        3 => select(vec![
            0,
            1,
            2,
            1_000,
            1_000_000_000,
            u64::MAX as u128,
            1u128 << 64,
            1_000_000_000_000_000_000,
            1u128 << 127,
            u128::MAX - 1,
            u128::MAX,
        ]),
    ]
    .boxed()
}

pub fn i32s() -> BoxedStrategy<i32> {
    prop_oneof![2 => any::<i32>(), 2 => select(vec![i32::MIN, -40, -12, -8, -6, -1, 0, 1, 6, 30, 40, i32::MAX]), 1 => -45i32..45].boxed()
}

pub fn bases() -> BoxedStrategy<Base> {
    i64s().prop_map(Base).boxed()
}
pub fn quotes() -> BoxedStrategy<Quote> {
    i64s().prop_map(Quote).boxed()
}
pub fn rates() -> BoxedStrategy<Rate> {
    prop_oneof![3 => i64s(), 1 => -2_000_000_000i64..2_000_000_000].prop_map(Rate).boxed()
}
pub fn prices() -> BoxedStrategy<Price> {
    u64s().prop_map(Price).boxed()
}
pub fn indices() -> BoxedStrategy<FundingIndex> {
    i128s().prop_map(FundingIndex).boxed()
}
pub fn rounds() -> BoxedStrategy<Round> {
    any::<bool>().prop_map(|up| if up { Round::Up } else { Round::Down }).boxed()
}
pub fn sides() -> BoxedStrategy<Side> {
    any::<bool>().prop_map(|l| if l { Side::Long } else { Side::Short }).boxed()
}
pub fn positions() -> BoxedStrategy<PositionState> {
    (bases(), quotes()).prop_map(|(base, quote_entry)| PositionState { base, quote_entry }).boxed()
}
pub fn fees() -> BoxedStrategy<LiquidationFees> {
    prop_oneof![
        (rates(), rates()).prop_map(|(f, s)| LiquidationFees { fee_rate: f, liquidator_share: s }),
        (0i64..=500_000_000, 0i64..=1_000_000_000)
            .prop_map(|(f, s)| LiquidationFees { fee_rate: Rate(f), liquidator_share: Rate(s) }),
    ]
    .boxed()
}

/// Any tiers at all (mostly invalid), 0 to MAX_TIERS + 2 of them.
pub fn any_tiers() -> BoxedStrategy<Vec<Tier>> {
    proptest::collection::vec(
        (quotes(), rates(), rates()).prop_map(|(cap, imr, mmr)| Tier { cap, imr, mmr }),
        0..=MAX_TIERS + 2,
    )
    .boxed()
}

/// Valid tiers with full-width caps and rates anywhere in (0, 1].
pub fn valid_tiers() -> BoxedStrategy<Vec<Tier>> {
    let cap = prop_oneof![3 => 1i64..=i64::MAX, 1 => select(vec![1i64, 2, 1_000_000, i64::MAX - 1, i64::MAX])];
    (
        proptest::collection::btree_set(cap, 1..=MAX_TIERS),
        proptest::collection::vec((1i64..1_000_000_000, 1i64..=1_000_000_000), MAX_TIERS),
        any::<bool>(),
    )
        .prop_map(|(caps, rates, unbounded)| {
            let mut mmrs: Vec<i64> = rates.iter().take(caps.len()).map(|r| r.0).collect();
            mmrs.sort_unstable();
            let mut imr = 0i64;
            let n = caps.len();
            caps.iter()
                .zip(mmrs.iter().zip(&rates))
                .enumerate()
                .map(|(i, (&cap, (&mmr, &(_, gap))))| {
                    imr = imr.max((mmr + gap).min(1_000_000_000));
                    let cap = if unbounded && i + 1 == n { i64::MAX } else { cap };
                    Tier { cap: Quote(cap), imr: Rate(imr), mmr: Rate(mmr) }
                })
                .collect()
        })
        .boxed()
}

/// Exact `n / d` rounded as asked (`d != 0`, not `MIN / -1`).
pub fn rdiv(n: i128, d: i128, r: Round) -> i128 {
    let (q, rem) = (n / d, n % d);
    match r {
        Round::Down if rem != 0 && ((rem < 0) != (d < 0)) => q - 1,
        Round::Up if rem != 0 && ((rem < 0) == (d < 0)) => q + 1,
        _ => q,
    }
}
