//! Pro-rata auto-deleveraging: a deficit charged to the opposite side's positive PnL in
//! proportion to it, through a per-side index settled lazily when an account is next touched.
//!
//! When an ADL round begins on a side, every position of that side is counted (scanned) and its
//! unrealized profit at the round's frozen mark, `u_i >= 0` (micro-USDC), is stamped on it; the
//! side's **pool** holds `U = sum(u_i)` and an index `I` (fraction of profit owed, at
//! [`HAIRCUT_PRECISION`]), starting at 0. Each deficit `D` the round assigns to the pool raises the
//! index by `step = ceil(D x S / U)` (S = 10^18), never past `S` (everyone's whole profit): a deficit
//! larger than the pool can carry is absorbed only up to `floor(U x room / S)` and the rest goes on
//! down the waterfall. An account owes in total `min(u_i, ceil(u_i x I / S))` and pays the
//! difference from what it has paid whenever it is touched.
//!
//! What this guarantees (tested below, exhaustively on small pools and by property on large ones):
//! - **never more than the profit**: an account pays at most `u_i` over the whole pool;
//! - **order independence**: what an account pays in total depends only on `u_i` and the final
//!   index, never on when or in which order accounts are touched (the totals telescope);
//! - **the deficit to the micro-USDC, rounded to the protocol**: once every account has settled,
//!   `sum(paid) >= sum(absorbed)`, and the excess is below one micro-USDC per account plus
//!   one per step (each account's share rounds up, each step's index rounds up).
//!
//! An account that leaves the pool early (its position shrinks or closes) settles at the index
//! then and keeps only the profit of what it still holds ([`scale_profit`]); the pool's `U` drops
//! by the difference, so later steps are spread over what remains and still add up.

use crate::error::{CoreError, CoreResult};
use crate::units::{mul_div, Base, Quote, Round};

/// Fixed-point precision of the haircut index: `S` = 10^18 is "all of the profit".
pub const HAIRCUT_PRECISION: i128 = 1_000_000_000_000_000_000;

/// How a market's auto-deleveraging spreads a deficit the insurance fund could not cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AdlPolicy {
    /// The ranked queue: profitable opposite positions, highest ADL score first, are closed
    /// against the bankrupt position at its bankruptcy price, the last one partially, so the
    /// closes add up to the bankrupt size exactly.
    #[default]
    Ranked = 0,
    /// The deficit is charged to the opposite side's positive PnL (at the round's mark) in
    /// proportion to it, through the side's haircut index; no position is closed.
    ProRata = 1,
}

impl AdlPolicy {
    pub fn from_u8(v: u8) -> CoreResult<Self> {
        match v {
            0 => Ok(AdlPolicy::Ranked),
            1 => Ok(AdlPolicy::ProRata),
            _ => Err(CoreError::InvalidParameter("adl_policy must be 0 (ranked) or 1 (pro rata)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AdlPolicy::Ranked => "ranked",
            AdlPolicy::ProRata => "pro-rata",
        }
    }
}

/// One deficit assigned to a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HaircutStep {
    /// What the index rises by.
    pub step: i128,
    /// The part of the deficit the pool takes (the rest goes on down the waterfall).
    pub absorbed: Quote,
}

/// The step that spreads `deficit` over a pool holding `pool_profit` of profit at index `index`.
pub fn haircut_step(deficit: Quote, pool_profit: Quote, index: i128) -> CoreResult<HaircutStep> {
    if !(0..=HAIRCUT_PRECISION).contains(&index) {
        return Err(CoreError::InvalidParameter("haircut index outside [0, 1]"));
    }
    let none = HaircutStep { step: 0, absorbed: Quote::ZERO };
    if deficit.0 <= 0 || pool_profit.0 <= 0 || index == HAIRCUT_PRECISION {
        return Ok(none);
    }
    let room = HAIRCUT_PRECISION - index;
    let want = mul_div(deficit.0 as i128, HAIRCUT_PRECISION, pool_profit.0 as i128, Round::Up)?;
    if want <= room {
        return Ok(HaircutStep { step: want, absorbed: deficit });
    }
    // the pool cannot carry all of it: everyone's whole remaining profit, rounded down
    let carry = mul_div(pool_profit.0 as i128, room, HAIRCUT_PRECISION, Round::Down)?;
    let absorbed = i64::try_from(carry).map_err(|_| CoreError::Overflow)?.min(deficit.0);
    Ok(HaircutStep { step: room, absorbed: Quote(absorbed) })
}

/// What an account with `profit` stamped owes in total at `index`: `min(profit, ceil(profit x
/// index / S))` (rounded up: the protocol's side).
pub fn haircut_total(profit: Quote, index: i128) -> CoreResult<Quote> {
    if profit.0 <= 0 || index <= 0 {
        return Ok(Quote::ZERO);
    }
    let t = mul_div(profit.0 as i128, index.min(HAIRCUT_PRECISION), HAIRCUT_PRECISION, Round::Up)?;
    Ok(Quote((t as i64).min(profit.0)))
}

/// What an account still owes: its total at `index` less what it has `paid` (never negative).
pub fn haircut_due(profit: Quote, index: i128, paid: Quote) -> CoreResult<Quote> {
    Ok(Quote(haircut_total(profit, index)?.0.saturating_sub(paid.0).max(0)))
}

/// The profit an account keeps stamped when its position goes from `old` to `new`: unchanged
/// when it grows or stays (growth made after the round's mark has no stamped profit), scaled by
/// `|new| / |old|` (rounded down) when it shrinks, 0 when it closes or flips.
pub fn scale_profit(profit: Quote, old: Base, new: Base) -> CoreResult<Quote> {
    if profit.0 <= 0 || old.0 == 0 || new.0 == 0 || old.0.signum() != new.0.signum() {
        return Ok(Quote::ZERO);
    }
    let (o, n) = (old.0.unsigned_abs() as i128, new.0.unsigned_abs() as i128);
    if n >= o {
        return Ok(profit);
    }
    Ok(Quote(mul_div(profit.0 as i128, n, o, Round::Down)? as i64))
}

/// A stamped position going from `old` to `new` after settling at `index` (so `paid` is its total
/// there): the profit it keeps ([`scale_profit`]) and what counts as paid for it. The part that left
/// takes its own total at `index` with it (never more than its profit), so what the account pays
/// over the whole pool stays within the profit first stamped, and the kept part owes at most one
/// micro-USDC it had not yet paid (its rounding up). Returns `(profit, paid)` to store.
pub fn shrink(profit: Quote, paid: Quote, index: i128, old: Base, new: Base) -> CoreResult<(Quote, Quote)> {
    let kept = scale_profit(profit, old, new)?;
    if kept == profit {
        return Ok((profit, paid));
    }
    let gone = haircut_total(Quote(profit.0 - kept.0), index)?;
    Ok((kept, Quote((paid.0 - gone.0).max(0))))
}

/// An account's expected share of a pro-rata deficit: `profit / pool_profit` at 10^9 (rounded
/// up), what a trader is shown next to the rank lights of a ranked market.
pub fn expected_share(profit: Quote, pool_profit: Quote) -> CoreResult<i64> {
    if profit.0 <= 0 || pool_profit.0 <= 0 {
        return Ok(0);
    }
    let s = mul_div(profit.0 as i128, crate::units::RATE_PRECISION as i128, pool_profit.0 as i128, Round::Up)?;
    Ok((s as i64).min(crate::units::RATE_PRECISION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const S: i128 = HAIRCUT_PRECISION;

    /// A pool run: `steps` deficits, then every account settles. Returns what each paid and what
    /// the pool absorbed.
    fn run(profits: &[i64], deficits: &[i64]) -> (Vec<i64>, i64) {
        let pool: i64 = profits.iter().sum();
        let mut index = 0i128;
        let mut absorbed = 0i64;
        for d in deficits {
            let s = haircut_step(Quote(*d), Quote(pool), index).unwrap();
            index += s.step;
            absorbed += s.absorbed.0;
        }
        (profits.iter().map(|u| haircut_total(Quote(*u), index).unwrap().0).collect(), absorbed)
    }

    #[test]
    fn by_hand() {
        // 1,000 of deficit over 3,000 + 1,000 of profit: a quarter each
        let (paid, absorbed) = run(&[3_000_000_000, 1_000_000_000], &[1_000_000_000]);
        assert_eq!(paid, [750_000_000, 250_000_000]);
        assert_eq!(absorbed, 1_000_000_000);
        // a deficit beyond the pool: everyone pays all of its profit, the rest goes on
        let (paid, absorbed) = run(&[3, 1], &[10]);
        assert_eq!(paid, [3, 1]);
        assert_eq!(absorbed, 4);
        // 1 micro over three equal accounts: each pays 1 (rounded up), 2 more than the deficit
        let (paid, absorbed) = run(&[5, 5, 5], &[1]);
        assert_eq!(paid, [1, 1, 1]);
        assert_eq!(absorbed, 1);
        assert!(haircut_step(Quote(1), Quote(1), S + 1).is_err());
        assert_eq!(AdlPolicy::from_u8(1).unwrap(), AdlPolicy::ProRata);
        assert!(AdlPolicy::from_u8(2).is_err());
    }

    #[test]
    fn scaling_and_share() {
        assert_eq!(scale_profit(Quote(1_000), Base(10), Base(4)).unwrap(), Quote(400));
        assert_eq!(scale_profit(Quote(1_000), Base(-10), Base(-3)).unwrap(), Quote(300));
        assert_eq!(scale_profit(Quote(1_000), Base(10), Base(12)).unwrap(), Quote(1_000));
        assert_eq!(scale_profit(Quote(1_000), Base(10), Base(-2)).unwrap(), Quote(0));
        assert_eq!(scale_profit(Quote(1_000), Base(10), Base(0)).unwrap(), Quote(0));
        assert_eq!(expected_share(Quote(1), Quote(3)).unwrap(), 333_333_334);
        assert_eq!(expected_share(Quote(0), Quote(3)).unwrap(), 0);
    }

    /// Every order of touching a small pool, with deficits arriving between the touches: each
    /// account pays the same total whatever the order, never more than its profit, and together
    /// they pay the absorbed deficit rounded up by less than one micro-USDC per account and step.
    #[test]
    fn every_touch_order_of_a_small_pool_pays_the_same() {
        let profits = [7_000_001i64, 3, 2_500_000, 999_999];
        let deficits = [1_234_567i64, 1, 3_000_000];
        let pool: i64 = profits.iter().sum();
        let (expect, absorbed) = run(&profits, &deficits);
        let mut orders = 0;
        // each permutation of the accounts, each touching after a chosen number of steps
        let mut perm = [0usize, 1, 2, 3];
        permute(&mut perm, 0, &mut |order| {
            for when in 0..(deficits.len() + 1).pow(4) as u32 {
                let mut paid = [0i64; 4];
                let mut index = 0i128;
                let touch_at: Vec<usize> = (0..4).map(|k| (when as usize / (deficits.len() + 1).pow(k)) % 4).collect();
                for (step, d) in deficits.iter().enumerate() {
                    for (k, a) in order.iter().enumerate() {
                        if touch_at[k] == step {
                            paid[*a] += haircut_due(Quote(profits[*a]), index, Quote(paid[*a])).unwrap().0;
                        }
                    }
                    index += haircut_step(Quote(*d), Quote(pool), index).unwrap().step;
                }
                for a in order {
                    paid[*a] += haircut_due(Quote(profits[*a]), index, Quote(paid[*a])).unwrap().0;
                }
                assert_eq!(paid.to_vec(), expect, "order {order:?}, touches {touch_at:?}");
                orders += 1;
            }
        });
        assert_eq!(orders, 24 * 256);
        let total: i64 = expect.iter().sum();
        assert!(total >= absorbed && total - absorbed < (profits.len() + deficits.len()) as i64);
        assert!(expect.iter().zip(&profits).all(|(p, u)| p <= u));
    }

    fn permute(v: &mut [usize; 4], k: usize, f: &mut impl FnMut(&[usize; 4])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }

    proptest! {
        /// Any pool and deficits: nobody pays more than its profit; the payments cover what the
        /// pool absorbed, within one micro-USDC per account and step; a deficit the pool can carry
        /// is absorbed in full.
        #[test]
        fn payments_cover_the_deficit_and_never_exceed_profit(
            profits in proptest::collection::vec(0i64..1_000_000_000_000_000, 1..40),
            deficits in proptest::collection::vec(0i64..2_000_000_000_000_000, 1..6),
        ) {
            let pool: i64 = profits.iter().sum();
            let (paid, absorbed) = run(&profits, &deficits);
            let total: i64 = paid.iter().sum();
            for (p, u) in paid.iter().zip(&profits) { prop_assert!(*p <= *u && *p >= 0); }
            prop_assert!(total >= absorbed);
            prop_assert!(total - absorbed < (profits.len() + deficits.len()) as i64);
            let want: i64 = deficits.iter().sum();
            if want <= pool && pool > 0 && deficits.len() == 1 {
                prop_assert_eq!(absorbed, want);
            }
            prop_assert!(absorbed <= want.min(pool));
        }

        /// An account that shrinks mid-pool (settling, then keeping the scaled profit) pays at most
        /// the profit first stamped, and the pool still collects what it absorbed afterwards.
        #[test]
        fn leaving_early_still_adds_up(
            profits in proptest::collection::vec(1i64..1_000_000_000_000, 2..12),
            first in 1i64..1_000_000_000_000, second in 1i64..2_000_000_000_000, keep in 0i64..=100,
        ) {
            let mut pool: i64 = profits.iter().sum();
            let mut u = profits.clone();
            let mut paid = std::vec![0i64; u.len()];
            let mut spent = std::vec![0i64; u.len()];
            let mut index = 0i128;
            let s1 = haircut_step(Quote(first), Quote(pool), index).unwrap();
            index += s1.step;
            // account 0 settles, then shrinks to keep% of its size
            let due = haircut_due(Quote(u[0]), index, Quote(paid[0])).unwrap().0;
            paid[0] += due;
            spent[0] += due;
            let (k, p) = shrink(Quote(u[0]), Quote(paid[0]), index, Base(100), Base(keep)).unwrap();
            pool -= u[0] - k.0;
            u[0] = k.0;
            paid[0] = p.0;
            let s2 = haircut_step(Quote(second), Quote(pool), index).unwrap();
            index += s2.step;
            for i in 0..u.len() {
                let due = haircut_due(Quote(u[i]), index, Quote(paid[i])).unwrap().0;
                paid[i] += due;
                spent[i] += due;
            }
            let total: i64 = spent.iter().sum();
            prop_assert!(total >= s1.absorbed.0 + s2.absorbed.0, "{} < {} + {}", total, s1.absorbed.0, s2.absorbed.0);
            for i in 0..u.len() { prop_assert!(spent[i] <= profits[i], "account {} paid {} > {}", i, spent[i], profits[i]); }
        }
    }
}
