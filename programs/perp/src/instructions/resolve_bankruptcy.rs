use crate::engine::adl::{close_bankrupt, finish_bankruptcy, socialize};
use crate::engine::funding::settle_position;
use crate::engine::prices::{guarded_index, mark_price};
use crate::error::PerpError;
use crate::oracle::{read_index_guarded, resolve_index};
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    #[account(constraint = adl_round.load()?.market_index == market.load()?.market_index @ PerpError::AdlRoundMismatch)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    #[account(mut)]
    pub bankrupt_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless last resort, once a complete round holding every profitable counterparty has
/// no entry left with size: the market's book takes the rest of the bankrupt position off the
/// curve (the vAMM is not touched, so nothing done to the vAMM in the same transaction changes the
/// outcome) at its bankruptcy price or the *live mark*, whichever is worse for the bankrupt
/// account (long: the lower): the book never pays more than the market, and a bankrupt position
/// gains nothing from a recovery after it was flagged. What closing at the mark leaves beyond the
/// bankruptcy price is socialized in this market: over the opposite side's open interest, at most
/// the first tier's maintenance rate per position, then the fee pool, then recorded as unbacked.
/// Remaining accounts: the market's oracles (a live index is required).
pub fn handler<'info>(ctx: Context<'info, ResolveBankruptcy<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let key = ctx.accounts.bankrupt_account.key();
    let mut m = ctx.accounts.market.load_mut()?;
    require!(!m.is_paused(now), PerpError::MarketPaused);
    let r = ctx.accounts.adl_round.load()?;
    let mut b = ctx.accounts.bankrupt_account.load_mut()?;
    require!(m.adl_round != 0 && m.adl_round == r.round, PerpError::AdlRoundMismatch);
    require!(m.adl_scanned == m.open_positions(r.side), PerpError::AdlRankingIncomplete);
    // under pro rata, auto_deleverage runs the whole waterfall itself
    require!(crate::engine::haircut::policy(&m) == perp_core::haircut::AdlPolicy::Ranked, PerpError::AdlPolicyMismatch);
    if !r.holds_all_profitable() || r.cursor() < r.entry_count() {
        return err!(PerpError::AdlCandidatesRemain);
    }
    let slot = b.find(m.market_index).ok_or(PerpError::NotBankrupt)?;
    require!(b.positions[slot].is_bankrupt(), PerpError::NotBankrupt);
    let base = b.positions[slot].base;
    require!((base > 0 && r.side == 2) || (base < 0 && r.side == 1), PerpError::AdlRoundMismatch);
    let (report, guard) = read_index_guarded(&m, &ex, ctx.remaining_accounts, now)?;
    let (index, _) = resolve_index(&mut m, &report, now, false)?;
    let index = guarded_index(&m, &guard, index, base > 0, now)?;
    let mark = mark_price(&m, index, now)?;
    settle_position(&mut b, &key, slot, &mut m)?;
    let charge_longs = r.side == 1;
    // the book takes it at the worse of mark and bankruptcy price; no counterparty pays a surplus
    let bc = close_bankrupt(&mut b, &key, slot, &mut m, base.abs(), mark)?;
    socialize(&mut b, &key, slot, &mut m, bc.shortfall, charge_longs, mark)?;
    finish_bankruptcy(&mut b, &key, slot, &mut m, charge_longs, mark)
}
