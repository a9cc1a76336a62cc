use crate::engine::health::Views;
use crate::engine::markets::{settle_other_markets, PriceNeed};
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SettleFunding<'info> {
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless: settles every position of one account against its market's cumulative
/// funding index. Remaining accounts: the market of every open position.
pub fn handler<'info>(ctx: Context<'info, SettleFunding<'info>>) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let mut a = ctx.accounts.margin_account.load_mut()?;
    let mut views: Views = Default::default();
    settle_other_markets(&mut a, &key, None, ctx.remaining_accounts, now, PriceNeed::None, &mut views)
}
