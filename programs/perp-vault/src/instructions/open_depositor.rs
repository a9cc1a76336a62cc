use crate::state::*;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct OpenDepositor<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub vault: AccountLoader<'info, Vault>,
    #[account(init, payer = owner, space = 8 + DEPOSITOR_SIZE,
              seeds = [DEPOSITOR_SEED, vault.key().as_ref(), owner.key().as_ref()], bump)]
    pub depositor: AccountLoader<'info, Depositor>,
    pub system_program: Program<'info, System>,
}

/// Opens the signer's share record in a vault (once, before the first deposit).
pub fn handler(ctx: Context<OpenDepositor>) -> Result<()> {
    let mut d = ctx.accounts.depositor.load_init()?;
    d.vault = ctx.accounts.vault.key();
    d.owner = ctx.accounts.owner.key();
    d.bump = ctx.bumps.depositor;
    Ok(())
}
