use crate::events::DelegateSet;
use crate::events::EventStream;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetDelegate<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Sets (or with the default key, clears) the delegate that may trade for the owner.
pub fn handler(ctx: Context<SetDelegate>, delegate: Pubkey) -> Result<()> {
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_owner(&ctx.accounts.owner.key())?;
    a.delegate = delegate;
    emit!(DelegateSet { seq: a.next_seq()?, margin_account: ctx.accounts.margin_account.key(), delegate });
    Ok(())
}
