use crate::engine::health::{require_initial, Group, Views};
use crate::engine::markets::{settle_other_markets, PriceNeed};
use crate::error::PerpError;
use crate::events::IsolatedCollateralMoved;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct MoveIsolatedCollateral<'info> {
    pub authority: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Moves collateral between cross and the isolated position in `market_index`: positive
/// `amount` adds to the position, negative takes it back to cross. The side that gives up
/// collateral must stay at or above its initial margin. Remaining accounts: the market of every
/// open position.
pub fn handler<'info>(
    ctx: Context<'info, MoveIsolatedCollateral<'info>>,
    market_index: u16,
    amount: i64,
) -> Result<()> {
    require!(amount != 0, PerpError::ZeroAmount);
    require!(!ctx.accounts.exchange.load()?.is_paused(pause::TRADE), PerpError::OperationPaused);
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_trader(&ctx.accounts.authority.key())?;
    require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
    let slot = a.find(market_index).ok_or(PerpError::NoPosition)?;
    require!(a.positions[slot].is_isolated(), PerpError::PositionModeMismatch);
    let mut views: Views = Default::default();
    settle_other_markets(&mut a, &key, None, ctx.remaining_accounts, now, PriceNeed::Adding, &mut views)?;
    let ovf = || error!(PerpError::MathOverflow);
    a.cross_collateral = a.cross_collateral.checked_sub(amount).ok_or_else(ovf)?;
    a.positions[slot].isolated_collateral =
        a.positions[slot].isolated_collateral.checked_add(amount).ok_or_else(ovf)?;
    if amount > 0 {
        require!(a.cross_collateral >= 0, PerpError::InsufficientMargin);
        require_initial(&a, Group::Cross, &views)?;
    } else {
        require!(a.positions[slot].isolated_collateral >= 0, PerpError::IsolatedMarginTooLow);
        require_initial(&a, Group::Isolated(slot), &views).map_err(|_| error!(PerpError::IsolatedMarginTooLow))?;
    }
    emit!(IsolatedCollateralMoved {
        margin_account: key,
        market_index,
        amount,
        isolated_collateral: a.positions[slot].isolated_collateral,
    });
    Ok(())
}
