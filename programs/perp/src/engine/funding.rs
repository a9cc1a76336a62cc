//! Lazy funding settlement of one position against its market's cumulative index.

use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::FundingSettled;
use crate::state::{MarginAccount, Market, Position};
use anchor_lang::prelude::*;
use perp_core::funding::position_payment;
use perp_core::{Base, Quote};

/// What the position owes its market's funding index since its last settlement (positive =
/// owes), rounded up: the same amount `settle_position` would move.
pub fn funding_owed(market: &Market, pos: &Position) -> Result<Quote> {
    if pos.base == 0 {
        return Ok(Quote::ZERO);
    }
    let idx = market.funding_indices().for_base(Base(pos.base));
    position_payment(Base(pos.base), idx, pos.snapshot()).or_core()
}

/// What the position owes its market since it was last settled: funding and any pro-rata ADL
/// haircut (positive = owes), each rounded up. Valuations of a position not settled use it.
pub fn position_owed(market: &Market, pos: &Position) -> Result<Quote> {
    funding_owed(market, pos)?.checked_add(super::haircut::haircut_owed(market, pos)?).or_core()
}

/// Settles the position in `slot`: its collateral (isolated or cross) pays the amount owed since
/// the last snapshot into the market's PnL pool (or receives it), then its pro-rata ADL haircut.
/// Returns the funding payment.
pub fn settle_position(acct: &mut MarginAccount, key: &Pubkey, slot: usize, market: &mut Market) -> Result<Quote> {
    let pos = acct.positions[slot];
    require!(pos.in_use() && pos.market_index == market.market_index, PerpError::NoPosition);
    super::haircut::settle_haircut(acct, key, slot, market)?;
    let payment = funding_owed(market, &pos)?;
    let idx = market.funding_indices().for_base(Base(pos.base));
    acct.positions[slot].funding_snapshot.set(idx.0);
    if payment.is_zero() {
        return Ok(payment);
    }
    acct.add_collateral(Some(slot), Quote(-payment.0))?;
    market.pnl_pool_add(payment)?;
    acct.funding_paid = acct.funding_paid.checked_add(payment.0).ok_or(PerpError::MathOverflow)?;
    emit!(FundingSettled {
        seq: acct.next_seq()?,
        margin_account: *key,
        market_index: market.market_index,
        payment: payment.0
    });
    Ok(payment)
}

/// The snapshot a new position starts from.
pub fn start_snapshot(acct: &mut MarginAccount, slot: usize, market: &Market, base: perp_core::Base) {
    let idx = market.funding_indices().for_base(base);
    acct.positions[slot].funding_snapshot.set(idx.0);
}
