use crate::error::PerpError;
use crate::events::PauseChanged;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetPause<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
}

/// Sets the exchange-wide pause switches (bits of `state::pause`).
pub fn handler(ctx: Context<SetPause>, pause_flags: u16) -> Result<()> {
    require!(pause_flags & !pause::ALL == 0, PerpError::InvalidMarketParams);
    let mut ex = ctx.accounts.exchange.load_mut()?;
    ex.pause_flags = pause_flags;
    emit!(PauseChanged { pause_flags });
    Ok(())
}
