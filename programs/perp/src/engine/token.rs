//! Token movements of the vaults, signed by the exchange PDA.

use crate::state::EXCHANGE_SEED;
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

/// Transfers `amount` out of a vault owned by the exchange PDA.
pub fn vault_transfer<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    to: AccountInfo<'info>,
    exchange: AccountInfo<'info>,
    exchange_bump: u8,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let seeds: &[&[u8]] = &[EXCHANGE_SEED, &[exchange_bump]];
    token::transfer(
        CpiContext::new_with_signer(
            token_program.key(),
            Transfer { from: from.to_account_info(), to, authority: exchange },
            &[seeds],
        ),
        amount,
    )
}

/// Transfers `amount` from a user's token account (signed by `authority`) into a vault.
pub fn user_transfer<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token::transfer(
        CpiContext::new(
            token_program.key(),
            Transfer { from: from.to_account_info(), to: to.to_account_info(), authority },
        ),
        amount,
    )
}
