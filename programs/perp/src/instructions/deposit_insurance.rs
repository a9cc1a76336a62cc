use crate::engine::token::user_transfer;
use crate::error::PerpError;
use crate::events::InsuranceDeposited;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

#[derive(Accounts)]
pub struct DepositInsurance<'info> {
    pub depositor: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARKET_SEED, &market.load()?.market_index.to_le_bytes()], bump = market.load()?.bump)]
    pub market: AccountLoader<'info, Market>,
    #[account(mut, constraint = depositor_token.mint == exchange.load()?.collateral_mint @ PerpError::WrongTokenAccount,
              constraint = depositor_token.owner == depositor.key() @ PerpError::WrongTokenAccount)]
    pub depositor_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// Anyone may top up a market's share of the insurance fund. Nothing but that market's
/// liquidations and bankruptcies ever draws on it, and no admin path moves it.
pub fn handler(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let (market_index, fund) = {
        let mut m = ctx.accounts.market.load_mut()?;
        let amt = i64::try_from(amount).map_err(|_| PerpError::MathOverflow)?;
        m.insurance_fund = m.insurance_fund.checked_add(amt).ok_or(PerpError::MathOverflow)?;
        m.insurance_total_in = m.insurance_total_in.saturating_add(amount);
        (m.market_index, m.insurance_fund)
    };
    user_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.depositor_token,
        &ctx.accounts.insurance_vault,
        ctx.accounts.depositor.to_account_info(),
        amount,
    )?;
    emit!(InsuranceDeposited { depositor: ctx.accounts.depositor.key(), market_index, amount, insurance_fund: fund });
    Ok(())
}
