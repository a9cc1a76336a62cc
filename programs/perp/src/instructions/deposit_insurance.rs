use crate::engine::token::{token_account_owner, user_transfer};
use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::{InsuranceDeposited, UnbackedLossRepaid};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;

#[derive(Accounts)]
pub struct DepositInsurance<'info> {
    pub depositor: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: an SPL token account of the collateral mint owned by the signer (checked in the
    /// handler, in place)
    #[account(mut)]
    pub depositor_token: UncheckedAccount<'info>,
    /// CHECK: the vault itself, by address (the token program checks the rest)
    #[account(mut, address = exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub insurance_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Anyone may top up a market's share of the insurance fund. Nothing but that market's
/// liquidations, bankruptcies and unbacked loss ever draws on it, and no admin path moves it. An
/// outstanding unbacked loss is repaid from the fund first.
pub fn handler(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    {
        let ex = ctx.accounts.exchange.load()?;
        let owner = token_account_owner(&ctx.accounts.depositor_token, &ex.collateral_mint)?;
        require_keys_eq!(owner, ctx.accounts.depositor.key(), PerpError::WrongTokenAccount);
    }
    let (market_index, fund) = {
        let mut m = ctx.accounts.market.load_mut()?;
        let amt = i64::try_from(amount).map_err(|_| PerpError::MathOverflow)?;
        m.insurance_fund = m.insurance_fund.checked_add(amt).ok_or(PerpError::MathOverflow)?;
        m.insurance_total_in = m.insurance_total_in.saturating_add(amount);
        // an unbacked loss left in this market is repaid first (N-4)
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
        (m.market_index, m.insurance_fund)
    };
    user_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.depositor_token,
        &ctx.accounts.insurance_vault.to_account_info(),
        ctx.accounts.depositor.to_account_info(),
        amount,
    )?;
    emit!(InsuranceDeposited {
        seq: ctx.accounts.market.load_mut()?.next_seq()?,
        depositor: ctx.accounts.depositor.key(),
        market_index,
        amount,
        insurance_fund: fund
    });
    Ok(())
}
