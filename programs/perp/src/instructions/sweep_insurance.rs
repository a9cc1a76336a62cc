use crate::engine::token::vault_transfer;
use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::{InsuranceSwept, UnbackedLossRepaid};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;

#[derive(Accounts)]
pub struct SweepInsurance<'info> {
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: the vault itself, by address (the token program checks the rest)
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: UncheckedAccount<'info>,
    /// CHECK: the vault itself, by address (the token program checks the rest)
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless: moves one market's pending insurance amount between the vaults (fees booked to
/// its insurance fund into the insurance vault, draws already credited to accounts out of it) and
/// zeroes it. Trades and liquidations only book these amounts, so they never write-lock a vault.
/// The fund first repays the market's outstanding unbacked loss, if any.
pub fn handler(ctx: Context<SweepInsurance>) -> Result<()> {
    let (amount, bump, market_index, fund) = {
        let ex = ctx.accounts.exchange.load()?;
        let mut m = ctx.accounts.market.load_mut()?;
        // the fund (grown by fees since) repays an outstanding unbacked loss first
        let repaid = m.repay_unbacked_from_insurance()?;
        if repaid.0 > 0 {
            emit!(UnbackedLossRepaid {
                seq: m.next_seq()?,
                market_index: m.market_index,
                margin_account: Pubkey::default(),
                amount: repaid.0,
                outstanding: m.unbacked_outstanding
            });
        }
        let p = m.insurance_pending;
        m.insurance_pending = 0;
        (p, ex.bump, m.market_index, m.insurance_fund)
    };
    if amount > 0 {
        vault_transfer(
            &ctx.accounts.token_program,
            &ctx.accounts.collateral_vault.to_account_info(),
            ctx.accounts.insurance_vault.to_account_info(),
            ctx.accounts.exchange.to_account_info(),
            bump,
            amount as u64,
        )?;
    } else if amount < 0 {
        vault_transfer(
            &ctx.accounts.token_program,
            &ctx.accounts.insurance_vault.to_account_info(),
            ctx.accounts.collateral_vault.to_account_info(),
            ctx.accounts.exchange.to_account_info(),
            bump,
            amount.unsigned_abs(),
        )?;
    }
    emit!(InsuranceSwept {
        seq: ctx.accounts.market.load_mut()?.next_seq()?,
        market_index,
        amount,
        insurance_fund: fund
    });
    Ok(())
}
