use crate::error::PerpError;
use crate::events::MarketUpdated;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
}

/// Replaces the market's parameters (oracle set, index filters, funding, tiers, fees). The vAMM,
/// funding indices, open interest and pools are untouched.
pub fn handler(ctx: Context<UpdateMarket>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let mut m = ctx.accounts.market.load_mut()?;
    params.apply(&mut m);
    emit!(MarketUpdated { market_index: m.market_index });
    Ok(())
}
