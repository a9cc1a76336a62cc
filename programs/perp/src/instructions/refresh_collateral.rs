use crate::error::{CoreResultExt, PerpError};
use crate::oracle::read_set_index;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct RefreshCollateral<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
}

/// Anyone: reads the collateral's oracles (remaining accounts, in its configured order) by the
/// same median-index rules as a market's (staleness, future publish times, confidence, deviation,
/// quorum) and caches the index and its time-weighted value. Margin checks read the cache:
/// withdrawals and liquidations need it refreshed within a few slots, new risk within `max_age`.
/// Fails (and caches nothing) when the sources give no valid index.
pub fn handler(ctx: Context<RefreshCollateral>) -> Result<()> {
    let now = crate::engine::now()?;
    let ex = ctx.accounts.exchange.load()?;
    let mut c = ctx.accounts.collateral.load_mut()?;
    let report = read_set_index(&*c, &ex, ctx.remaining_accounts, now)?;
    let price = report.price().or_core()?;
    require!(!price.is_zero(), PerpError::StaleCollateralPrice);
    let slot = Clock::get()?.slot;
    c.cache_price(price, report.oldest_used.unwrap_or(now), now, slot)?;
    Ok(())
}
