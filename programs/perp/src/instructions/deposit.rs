use crate::engine::token::user_transfer;
use crate::error::PerpError;
use crate::events::CollateralDeposited;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub authority: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = user_token.mint == exchange.load()?.collateral_mint @ PerpError::WrongTokenAccount,
              constraint = user_token.owner == authority.key() @ PerpError::WrongTokenAccount)]
    pub user_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// Moves `amount` collateral tokens from the signer's token account into the account's cross
/// collateral. Deposits only add collateral, so no price or settlement is needed.
pub fn handler(ctx: Context<Deposit>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    require!(
        !ctx.accounts.exchange.load()?.is_paused(pause::DEPOSIT, crate::engine::now()?),
        PerpError::OperationPaused
    );
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
        &ctx.accounts.collateral_vault,
        ctx.accounts.authority.to_account_info(),
        amount,
    )?;
    emit!(CollateralDeposited { margin_account: ctx.accounts.margin_account.key(), amount, cross_collateral: cross });
    Ok(())
}
