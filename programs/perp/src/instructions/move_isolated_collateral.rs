use crate::engine::health::{group_health, require_initial, require_initial_known, Group};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::error::{CoreResultExt, PerpError};
use crate::events::EventStream;
use crate::events::IsolatedCollateralMoved;
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::Quote;

#[derive(Accounts)]
pub struct MoveIsolatedCollateral<'info> {
    pub authority: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Moves collateral between cross and the isolated position in `market_index`: positive
/// `amount` adds to the position (cross must stay at or above its initial margin), negative takes
/// it back to cross, at most what the isolated position could withdraw: its equity counting only
/// unrealized losses, minus its initial margin (unrealized profit never leaves an isolated
/// position before it is realized). Remaining accounts (read-only): for a move into the position,
/// the market of every cross position (cached index within `max_age`); for a move out, the
/// position's own market (within `withdraw_max_age`, as for a withdrawal).
pub fn handler<'info>(
    ctx: Context<'info, MoveIsolatedCollateral<'info>>,
    market_index: u16,
    amount: i64,
) -> Result<()> {
    require!(amount != 0, PerpError::ZeroAmount);
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_trader(&ctx.accounts.authority.key())?;
    require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
    let slot = a.find(market_index).ok_or(PerpError::NoPosition)?;
    require!(a.positions[slot].is_isolated(), PerpError::PositionModeMismatch);
    // a top-up (amount > 0) is never paused (I-3): it adds no position, and the cross group must
    // still meet its initial margin after it
    let group = if amount > 0 { Group::Cross } else { Group::Isolated(slot) };
    // collateral leaving an isolated position is as good as withdrawn: the same fresh price
    let need = if amount > 0 { PriceNeed::Adding } else { PriceNeed::Withdraw };
    let parts = {
        let mut holders = [Holder::new(&a, Some((group, need)))];
        load_other_markets(ctx.remaining_accounts, None, &mut holders, now)?;
        holders[0].parts
    };
    let ovf = || error!(PerpError::MathOverflow);
    if amount < 0 {
        let h = group_health(&a, group, &parts)?;
        require_initial_known(&h)?;
        let free = h.withdrawable(Quote(a.positions[slot].isolated_collateral)).or_core()?;
        let out = amount.checked_neg().ok_or(PerpError::MathOverflow)?;
        if out > free.0 {
            msg!("move {} > what the isolated position can release {}", Quote(out), free);
            return err!(PerpError::IsolatedMarginTooLow);
        }
    }
    a.cross_collateral = a.cross_collateral.checked_sub(amount).ok_or_else(ovf)?;
    a.positions[slot].isolated_collateral =
        a.positions[slot].isolated_collateral.checked_add(amount).ok_or_else(ovf)?;
    if amount > 0 {
        require!(a.cross_collateral >= 0, PerpError::InsufficientMargin);
        require_initial(&a, Group::Cross, &parts, Quote::ZERO)?;
    }
    emit!(IsolatedCollateralMoved {
        seq: a.next_seq()?,
        margin_account: key,
        market_index,
        amount,
        isolated_collateral: a.positions[slot].isolated_collateral,
    });
    Ok(())
}
