use crate::engine::token::{token_account_owner, user_transfer};
use crate::error::PerpError;
use crate::events::CollateralTokenDeposited;
use crate::events::EventStream;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;

#[derive(Accounts)]
pub struct DepositCollateral<'info> {
    pub authority: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
    /// CHECK: an SPL token account of the collateral's mint owned by the signer (checked in the
    /// handler, in place)
    #[account(mut)]
    pub user_token: UncheckedAccount<'info>,
    /// CHECK: the collateral's vault itself, by address (the token program checks the rest)
    #[account(mut, address = collateral.load()?.vault @ PerpError::CollateralNotListed)]
    pub vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Moves `amount` raw tokens of a listed collateral from the signer's token account into the
/// account's balance of it (cross margin). Only while the collateral is active, within its
/// deposit cap, and not into a bankrupt account. No price is needed: a deposit only adds.
pub fn handler(ctx: Context<DepositCollateral>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    require!(
        !ctx.accounts.exchange.load()?.is_paused(pause::DEPOSIT, crate::engine::now()?),
        PerpError::OperationPaused
    );
    let (index, balance) = {
        let mut c = ctx.accounts.collateral.load_mut()?;
        require!(c.status == collateral_status::ACTIVE, PerpError::CollateralDepositsClosed);
        let owner = token_account_owner(&ctx.accounts.user_token, &c.mint)?;
        require_keys_eq!(owner, ctx.accounts.authority.key(), PerpError::WrongTokenAccount);
        let total = c.total_deposits.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        if total > c.deposit_cap {
            msg!("deposits would reach {} raw tokens, above the cap {}", total, c.deposit_cap);
            return err!(PerpError::DepositCapExceeded);
        }
        c.total_deposits = total;
        let mut a = ctx.accounts.margin_account.load_mut()?;
        a.authorize_trader(&ctx.accounts.authority.key())?;
        require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
        a.credit_collateral(c.collateral_index, amount)?;
        (c.collateral_index, a.collateral_balance(c.collateral_index))
    };
    user_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.user_token,
        &ctx.accounts.vault.to_account_info(),
        ctx.accounts.authority.to_account_info(),
        amount,
    )?;
    emit!(CollateralTokenDeposited {
        seq: ctx.accounts.margin_account.load_mut()?.next_seq()?,
        margin_account: ctx.accounts.margin_account.key(),
        collateral_index: index,
        amount,
        balance
    });
    Ok(())
}
