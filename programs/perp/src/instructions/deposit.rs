use crate::engine::token::{token_account_owner, user_transfer};
use crate::error::PerpError;
use crate::events::CollateralDeposited;
use crate::events::EventStream;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub authority: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// CHECK: an SPL token account of the collateral mint owned by the signer (checked in the
    /// handler, in place)
    #[account(mut)]
    pub user_token: UncheckedAccount<'info>,
    /// CHECK: the vault itself, by address (the token program checks the rest)
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Moves `amount` collateral tokens from the signer's token account into the account's cross
/// collateral. Deposits only add collateral, so no price or settlement is needed.
pub fn handler(ctx: Context<Deposit>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    {
        let ex = ctx.accounts.exchange.load()?;
        require!(!ex.is_paused(pause::DEPOSIT, crate::engine::now()?), PerpError::OperationPaused);
        let owner = token_account_owner(&ctx.accounts.user_token, &ex.collateral_mint)?;
        require_keys_eq!(owner, ctx.accounts.authority.key(), PerpError::WrongTokenAccount);
    }
    let cross = {
        let mut a = ctx.accounts.margin_account.load_mut()?;
        a.authorize_trader(&ctx.accounts.authority.key())?;
        let amt = i64::try_from(amount).map_err(|_| PerpError::MathOverflow)?;
        a.cross_collateral = a.cross_collateral.checked_add(amt).ok_or(PerpError::MathOverflow)?;
        a.total_deposits = a.total_deposits.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        a.cross_collateral
    };
    user_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.user_token,
        &ctx.accounts.collateral_vault.to_account_info(),
        ctx.accounts.authority.to_account_info(),
        amount,
    )?;
    emit!(CollateralDeposited {
        seq: ctx.accounts.margin_account.load_mut()?.next_seq()?,
        margin_account: ctx.accounts.margin_account.key(),
        amount,
        cross_collateral: cross
    });
    Ok(())
}
