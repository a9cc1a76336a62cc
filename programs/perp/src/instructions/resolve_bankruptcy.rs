use crate::engine::adl::{finish_bankruptcy, group_collateral, socialize};
use crate::engine::fill::execute_fill;
use crate::engine::funding::settle_position;
use crate::error::PerpError;
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::vamm::Side;
use perp_core::{Base, Quote, Rate};

#[derive(Accounts)]
pub struct ResolveBankruptcy<'info> {
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
    #[account(seeds = [ADL_ROUND_SEED, &market.load()?.market_index.to_le_bytes()], bump = adl_round.load()?.bump)]
    pub adl_round: AccountLoader<'info, AdlRound>,
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, bankrupt_account.load()?.owner.as_ref(), &bankrupt_account.load()?.account_id.to_le_bytes()],
              bump = bankrupt_account.load()?.bump)]
    pub bankrupt_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless last resort, once a complete round holding every profitable counterparty has
/// no entry left with size: the rest of the bankrupt position is closed against the vAMM and the
/// loss beyond its margin is socialized over the opposite side's open interest through that side's
/// cumulative funding index (each position pays its share on its next settlement). With no
/// opposite open interest at all, the fee pool absorbs what it can.
pub fn handler<'info>(ctx: Context<'info, ResolveBankruptcy<'info>>) -> Result<()> {
    require!(!ctx.accounts.exchange.load()?.is_paused(pause::LIQUIDATE), PerpError::OperationPaused);
    let key = ctx.accounts.bankrupt_account.key();
    let mut m = ctx.accounts.market.load_mut()?;
    let r = ctx.accounts.adl_round.load()?;
    let mut b = ctx.accounts.bankrupt_account.load_mut()?;
    require!(m.adl_round != 0 && m.adl_round == r.round, PerpError::AdlRoundMismatch);
    require!(m.adl_scanned == m.open_positions(r.side), PerpError::AdlRankingIncomplete);
    if !r.holds_all_profitable() || r.cursor() < r.num_entries as usize {
        return err!(PerpError::AdlCandidatesRemain);
    }
    let slot = b.find(m.market_index).ok_or(PerpError::NotBankrupt)?;
    require!(b.positions[slot].is_bankrupt(), PerpError::NotBankrupt);
    let base = b.positions[slot].base;
    require!((base > 0 && r.side == 2) || (base < 0 && r.side == 1), PerpError::AdlRoundMismatch);
    settle_position(&mut b, &key, slot, &mut m)?;
    let side = if base > 0 { Side::Short } else { Side::Long };
    execute_fill(&mut b, slot, &mut m, side, Base(base.abs()), Rate::ZERO, Rate::ZERO)?;
    let c = group_collateral(&b, slot);
    if c.is_negative() {
        socialize(&mut b, &key, slot, &mut m, Quote(-c.0), r.side == 1)?;
    }
    finish_bankruptcy(&mut b, &key, slot, &mut m, r.side == 1)
}
