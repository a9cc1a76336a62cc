use crate::engine::token::user_transfer;
use crate::error::PerpError;
use crate::events::InsuranceDeposited;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

#[derive(Accounts)]
pub struct DepositInsurance<'info> {
    pub depositor: Signer<'info>,
    #[account(mut, seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, constraint = depositor_token.mint == exchange.load()?.collateral_mint @ PerpError::WrongTokenAccount,
              constraint = depositor_token.owner == depositor.key() @ PerpError::WrongTokenAccount)]
    pub depositor_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// Anyone may top up the insurance vault. Nothing but the liquidation path ever pays out of it.
pub fn handler(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let balance = {
        let mut ex = ctx.accounts.exchange.load_mut()?;
        ex.insurance_balance = ex.insurance_balance.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        ex.insurance_total_in = ex.insurance_total_in.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        ex.insurance_balance
    };
    user_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.depositor_token,
        &ctx.accounts.insurance_vault,
        ctx.accounts.depositor.to_account_info(),
        amount,
    )?;
    emit!(InsuranceDeposited { depositor: ctx.accounts.depositor.key(), amount, insurance_balance: balance });
    Ok(())
}
