//! Shared pieces of auto-deleveraging and bankruptcy resolution.

use super::fill::set_position;
use crate::error::{CoreResultExt, PerpError};
use crate::events::{BankruptcyResolved, LossSocialized};
use crate::state::{position_flags, MarginAccount, Market};
use anchor_lang::prelude::*;
use perp_core::funding::socialize_loss_delta;
use perp_core::position::{apply_fill, FillOutcome};
use perp_core::{Base, Quote};

/// Collateral below zero that is only rounding (bankruptcy price and per-step value rounding):
/// taken from the PnL pool. Anything larger is a real loss and is socialized.
pub const DUST: i64 = 100;

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

/// Socializes `loss` over one side's open interest through that side's cumulative funding index
/// (each position pays its share on its next settlement); with no open interest on that side the
/// fee pool absorbs what it can. The loss is credited to the account's group collateral now and
/// taken from the PnL pool (which the charged side refills), so the ledgers stay balanced.
pub fn socialize(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    loss: Quote,
    charge_longs: bool,
) -> Result<()> {
    if loss.0 <= 0 {
        return Ok(());
    }
    let oi = if charge_longs { market.oi_long } else { market.oi_short };
    let mut delta = 0i128;
    if oi > 0 {
        let d = socialize_loss_delta(loss, Base(oi), charge_longs).or_core()?;
        let mut idx = market.funding_indices();
        if charge_longs {
            idx.long = idx.long.checked_add(d).or_core()?;
        } else {
            idx.short = idx.short.checked_add(d).or_core()?;
        }
        market.set_funding_indices(&idx);
        market.pnl_pool_add(Quote(-loss.0))?;
        delta = d.0;
    } else {
        let from_fees = loss.0.min(market.fee_pool.max(0));
        market.fee_pool -= from_fees;
        market.pnl_pool_add(Quote(-(loss.0 - from_fees)))?;
    }
    acct.add_collateral(Some(slot), loss)?;
    market.socialized_loss = market.socialized_loss.checked_add(loss.0).ok_or(PerpError::MathOverflow)?;
    emit!(LossSocialized {
        market_index: market.market_index,
        margin_account: *key,
        loss: loss.0,
        side_charged_long: charge_longs,
        delta
    });
    Ok(())
}

/// Ends a bankruptcy whose position is fully closed. A negative group balance within [`DUST`] is
/// taken from the PnL pool; a larger one (the ADL price was bounded near the mark) is socialized
/// over `charge_longs`' side. Then the flag clears, isolated collateral returns to cross, and the
/// round closes when no bankrupt account is left.
pub fn finish_bankruptcy(
    acct: &mut MarginAccount,
    key: &Pubkey,
    slot: usize,
    market: &mut Market,
    charge_longs: bool,
) -> Result<()> {
    let c = group_collateral(acct, slot);
    if c.is_negative() {
        if -c.0 <= DUST {
            acct.add_collateral(Some(slot), Quote(-c.0))?;
            market.pnl_pool_add(c)?;
        } else {
            socialize(acct, key, slot, market, Quote(-c.0), charge_longs)?;
        }
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
