use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::MarginAccountClosed;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct CloseMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, close = owner,
              seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Closes an empty account (no positions, no open orders, no collateral) and returns its rent to the owner.
pub fn handler(ctx: Context<CloseMarginAccount>) -> Result<()> {
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_owner(&ctx.accounts.owner.key())?;
    require!(!a.has_orders() && a.order_reserve == 0, PerpError::OrdersOpen);
    require!(!a.has_collateral(), PerpError::CollateralHeld);
    require!(!a.has_positions() && a.cross_collateral == 0 && !a.is_bankrupt(), PerpError::AccountNotEmpty);
    emit!(MarginAccountClosed {
        seq: a.next_seq()?,
        owner: a.owner,
        margin_account: ctx.accounts.margin_account.key()
    });
    Ok(())
}
