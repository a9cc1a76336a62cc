//! Shared pieces of auto-deleveraging and bankruptcy resolution.

use super::fill::set_position;
use crate::error::{CoreResultExt, PerpError};
use crate::events::BankruptcyResolved;
use crate::state::{position_flags, MarginAccount, Market};
use anchor_lang::prelude::*;
use perp_core::position::{apply_fill, FillOutcome};
use perp_core::{Base, Quote};

/// Closes `base` (signed: what the position receives) of the position in `slot` at a quote flow
/// of `quote` without touching the vAMM, realizing PnL against the market's PnL pool.
pub fn close_off_curve(
    acct: &mut MarginAccount,
    slot: usize,
    market: &mut Market,
    base: Base,
    quote: Quote,
) -> Result<FillOutcome> {
    let old = acct.positions[slot].state();
    let out = apply_fill(old, base, quote).or_core()?;
    set_position(acct, slot, market, old.base, &out.position)?;
    acct.add_collateral(Some(slot), out.realized)?;
    market.pnl_pool_add(out.realized.checked_neg().or_core()?)?;
    acct.realized_pnl = acct.realized_pnl.checked_add(out.realized.0).ok_or(PerpError::MathOverflow)?;
    Ok(out)
}

/// The group collateral of the position in `slot`.
pub fn group_collateral(acct: &MarginAccount, slot: usize) -> Quote {
    let p = &acct.positions[slot];
    Quote(if p.is_isolated() { p.isolated_collateral } else { acct.cross_collateral })
}

/// Ends a bankruptcy whose position is fully closed: rounding dust below zero is taken from the
/// PnL pool, the flag clears, isolated collateral returns to cross, and the round closes when no
/// bankrupt account is left.
pub fn finish_bankruptcy(acct: &mut MarginAccount, key: &Pubkey, slot: usize, market: &mut Market) -> Result<()> {
    let c = group_collateral(acct, slot);
    if c.is_negative() {
        acct.add_collateral(Some(slot), Quote(-c.0))?;
        market.pnl_pool_add(c)?;
    }
    acct.positions[slot].flags &= !position_flags::BANKRUPT;
    acct.release_if_empty(slot)?;
    market.bankrupt_accounts = market.bankrupt_accounts.saturating_sub(1);
    if market.bankrupt_accounts == 0 {
        market.adl_round = 0;
        market.adl_side = 0;
        market.adl_scanned = 0;
    }
    emit!(BankruptcyResolved { margin_account: *key, market_index: market.market_index });
    Ok(())
}
