use crate::error::PerpError;
use crate::events::MarketStatusChanged;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetMarketStatus<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
}

/// Sets a market active, reduce-only or paused (`state::market_status`).
pub fn handler(ctx: Context<SetMarketStatus>, status: u8) -> Result<()> {
    require!(status <= market_status::PAUSED, PerpError::InvalidMarketParams);
    let mut m = ctx.accounts.market.load_mut()?;
    m.status = status;
    emit!(MarketStatusChanged { market_index: m.market_index, status });
    Ok(())
}
