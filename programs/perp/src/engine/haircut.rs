//! Pro-rata auto-deleveraging on-chain: each side's haircut pool on the market, the stamp on each
//! position, and their lazy settlement (the math is `perp_core::haircut`).

use crate::error::{CoreResultExt, PerpError};
use crate::events::{EventStream, HaircutSettled};
use crate::state::{MarginAccount, Market, Position};
use anchor_lang::prelude::*;
use perp_core::haircut::{haircut_due, haircut_step, shrink, AdlPolicy, HaircutStep};
use perp_core::{Base, Quote};

/// The pool of a position's side (0 = longs, 1 = shorts).
pub fn pool_of(base: i64) -> usize {
    usize::from(base < 0)
}

/// The pool of an ADL round's counterparty side (`AdlRound::side`: 1 = longs, 2 = shorts).
pub fn pool_of_round_side(side: u8) -> usize {
    usize::from(side == 2)
}

pub fn policy(m: &Market) -> AdlPolicy {
    AdlPolicy::from_u8(m.adl_policy).unwrap_or(AdlPolicy::Ranked)
}

/// The index a position stamped in `round` settles against: its side's pool, or the one before.
fn stamped_index(m: &Market, pool: usize, round: u32) -> Option<i128> {
    if round == 0 {
        None
    } else if m.haircut_round[pool] == round {
        Some(m.haircut_index[pool].get())
    } else if m.haircut_prev_round[pool] == round {
        Some(m.haircut_prev_index[pool].get())
    } else {
        None
    }
}

/// What the position owes its pool now (rounded up), the amount `settle_haircut` would take.
pub fn haircut_owed(m: &Market, p: &Position) -> Result<Quote> {
    if p.haircut_profit <= 0 || p.base == 0 {
        return Ok(Quote::ZERO);
    }
    match stamped_index(m, pool_of(p.base), p.adl_round) {
        Some(i) => haircut_due(Quote(p.haircut_profit), i, Quote(p.haircut_paid)).or_core(),
        None => Ok(Quote::ZERO),
    }
}

/// Settles the position's haircut: what it owes comes off its **PnL**, never its collateral: the
/// entry quote flow moves against it by the amount (a long's cost up, a short's proceeds down), so
/// its unrealized PnL falls by exactly that, it realizes that much less when it closes, and the next
/// round stamps what is left of its profit. The PnL pool paid the bankrupt account when the deficit
/// was spread; this is the pool's future payout shrinking by as much, so no ledger moves here.
/// Returns the amount.
pub fn settle_haircut(acct: &mut MarginAccount, key: &Pubkey, slot: usize, m: &mut Market) -> Result<Quote> {
    let p = acct.positions[slot];
    let due = haircut_owed(m, &p)?;
    if due.0 <= 0 {
        return Ok(Quote::ZERO);
    }
    let ovf = || error!(PerpError::MathOverflow);
    acct.positions[slot].quote_entry = p.quote_entry.checked_sub(due.0).ok_or_else(ovf)?;
    m.haircut_collected = m.haircut_collected.checked_add(due.0).ok_or_else(ovf)?;
    let paid = p.haircut_paid.checked_add(due.0).ok_or_else(ovf)?;
    acct.positions[slot].haircut_paid = paid;
    emit!(HaircutSettled {
        seq: acct.next_seq()?,
        margin_account: *key,
        market_index: m.market_index,
        round: p.adl_round,
        amount: due.0,
        profit: p.haircut_profit,
        paid,
    });
    Ok(due)
}

/// A settled position changes size from `old` to `new`: it keeps the stamped profit of what it
/// still holds (`perp_core::haircut::shrink`) and the current pool no longer spreads later
/// deficits over what left (a position that closes or flips leaves the pool).
pub fn on_resize(acct: &mut MarginAccount, slot: usize, m: &mut Market, old: Base, new: Base) -> Result<()> {
    let p = acct.positions[slot];
    if p.haircut_profit <= 0 || old.0 == 0 {
        return Ok(());
    }
    let pool = pool_of(old.0);
    let (kept, paid) = match stamped_index(m, pool, p.adl_round) {
        Some(i) => shrink(Quote(p.haircut_profit), Quote(p.haircut_paid), i, old, new).or_core()?,
        None => (Quote::ZERO, Quote::ZERO),
    };
    if m.haircut_round[pool] == p.adl_round {
        m.haircut_profit[pool] = m.haircut_profit[pool].saturating_sub(p.haircut_profit - kept.0).max(0);
    }
    acct.positions[slot].haircut_profit = kept.0;
    acct.positions[slot].haircut_paid = if kept.0 == 0 { 0 } else { paid.0 };
    Ok(())
}

/// A stamped position flagged bankrupt (settled first) leaves its pool: later deficits are spread
/// over the others, never over a position that cannot pay.
pub fn leave_pool(acct: &mut MarginAccount, slot: usize, m: &mut Market) {
    let p = acct.positions[slot];
    if p.haircut_profit <= 0 || p.base == 0 {
        return;
    }
    let pool = pool_of(p.base);
    if m.haircut_round[pool] == p.adl_round {
        m.haircut_profit[pool] = m.haircut_profit[pool].saturating_sub(p.haircut_profit).max(0);
    }
    acct.positions[slot].haircut_profit = 0;
    acct.positions[slot].haircut_paid = 0;
}

/// A new round on a side with the pro-rata policy opens that side's pool: the current one (if any
/// deficit was spread over it) becomes the previous one, so positions stamped in it still settle
/// until the round's scan restamps them.
pub fn open_pool(m: &mut Market, side: u8, round: u64) -> Result<()> {
    let pool = pool_of_round_side(side);
    if m.haircut_index[pool].get() > 0 {
        m.haircut_prev_round[pool] = m.haircut_round[pool];
        m.haircut_prev_index[pool] = m.haircut_index[pool];
    }
    m.haircut_round[pool] = u32::try_from(round).map_err(|_| error!(PerpError::MathOverflow))?;
    m.haircut_index[pool].set(0);
    m.haircut_profit[pool] = 0;
    Ok(())
}

/// Stamps a scanned position into the round (`profit` at the round's mark, 0 when it has none):
/// the pool spreads later deficits over it when the market's policy is pro rata. The position's
/// earlier stamp must have been settled.
pub fn stamp(acct: &mut MarginAccount, slot: usize, m: &mut Market, round: u32, profit: Quote) -> Result<()> {
    let pool = pool_of(acct.positions[slot].base);
    let pro_rata = policy(m) == AdlPolicy::ProRata && m.haircut_round[pool] == round;
    let u = if pro_rata { profit.0.max(0) } else { 0 };
    acct.positions[slot].adl_round = round;
    acct.positions[slot].haircut_profit = u;
    acct.positions[slot].haircut_paid = 0;
    if u > 0 {
        m.haircut_profit[pool] = m.haircut_profit[pool].checked_add(u).ok_or(PerpError::MathOverflow)?;
    }
    Ok(())
}

/// Spreads `deficit` over the pool of round side `side`: raises its index and books what it took
/// as receivable in the PnL pool. Returns the step (the rest of the deficit is the caller's).
pub fn spread(m: &mut Market, side: u8, deficit: Quote) -> Result<HaircutStep> {
    let pool = pool_of_round_side(side);
    let idx = m.haircut_index[pool].get();
    let s = haircut_step(deficit, Quote(m.haircut_profit[pool]), idx).or_core()?;
    if s.step > 0 {
        m.haircut_index[pool].set(idx + s.step);
    }
    if s.absorbed.0 > 0 {
        m.pnl_pool_add(Quote(-s.absorbed.0))?;
        m.haircut_absorbed = m.haircut_absorbed.checked_add(s.absorbed.0).ok_or(PerpError::MathOverflow)?;
    }
    Ok(s)
}
