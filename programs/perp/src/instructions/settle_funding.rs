use crate::engine::markets::settle_all_markets;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SettleFunding<'info> {
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Permissionless: settles every position of one account against its market's cumulative
/// funding index. Remaining accounts: the market of every open position (writable).
pub fn handler<'info>(ctx: Context<'info, SettleFunding<'info>>) -> Result<()> {
    let key = ctx.accounts.margin_account.key();
    let mut a = ctx.accounts.margin_account.load_mut()?;
    settle_all_markets(&mut a, &key, ctx.remaining_accounts)
}
