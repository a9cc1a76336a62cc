use crate::events::EventStream;
use crate::events::MarginAccountCreated;
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
#[instruction(account_id: u16)]
pub struct CreateMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(init, payer = owner, space = 8 + MARGIN_ACCOUNT_SIZE,
              seeds = [MARGIN_ACCOUNT_SEED, owner.key().as_ref(), &account_id.to_le_bytes()], bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    pub system_program: Program<'info, System>,
}

/// Creates the owner's margin account number `account_id` (an owner may have several).
pub fn handler(ctx: Context<CreateMarginAccount>, account_id: u16) -> Result<()> {
    let mut a = ctx.accounts.margin_account.load_init()?;
    a.owner = ctx.accounts.owner.key();
    a.account_id = account_id;
    a.bump = ctx.bumps.margin_account;
    emit!(MarginAccountCreated {
        seq: a.next_seq()?,
        owner: a.owner,
        margin_account: ctx.accounts.margin_account.key(),
        account_id
    });
    Ok(())
}
