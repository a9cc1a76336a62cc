//! Token movements of the vaults, signed by the exchange PDA.

use crate::state::EXCHANGE_SEED;
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, Transfer};

/// The mint and owner of an SPL token account, read in place (the token program validates the
/// rest when it moves the tokens): it must be owned by the token program, be an initialized
/// account (165 bytes, state byte 1), and hold the collateral mint.
pub fn token_account_owner(info: &AccountInfo, mint: &Pubkey) -> Result<Pubkey> {
    require_keys_eq!(*info.owner, anchor_spl::token::ID, crate::error::PerpError::WrongTokenAccount);
    let d = info.try_borrow_data()?;
    require!(d.len() == 165 && d[108] == 1, crate::error::PerpError::WrongTokenAccount);
    require!(d[..32] == mint.to_bytes(), crate::error::PerpError::WrongTokenAccount);
    Ok(Pubkey::new_from_array(d[32..64].try_into().map_err(|_| crate::error::PerpError::WrongTokenAccount)?))
}

/// Transfers `amount` out of a vault owned by the exchange PDA.
pub fn vault_transfer<'info>(
    token_program: &Program<'info, Token>,
    from: &AccountInfo<'info>,
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
    from: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token::transfer(
        CpiContext::new(token_program.key(), Transfer { from: from.clone(), to: to.clone(), authority }),
        amount,
    )
}
