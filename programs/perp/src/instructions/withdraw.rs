use crate::engine::health::{group_health, Group};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::engine::token::vault_transfer;
use crate::error::{CoreResultExt, PerpError};
use crate::events::CollateralWithdrawn;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use perp_core::Quote;

#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [EXCHANGE_SEED], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, margin_account.load()?.owner.as_ref(), &margin_account.load()?.account_id.to_le_bytes()],
              bump = margin_account.load()?.bump)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = user_token.mint == exchange.load()?.collateral_mint @ PerpError::WrongTokenAccount,
              constraint = user_token.key() != exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount,
              constraint = user_token.key() != exchange.load()?.insurance_vault @ PerpError::WrongTokenAccount)]
    pub user_token: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// Withdraws up to the withdrawable amount of cross collateral: equity counting only unrealized
/// losses, minus the initial requirement of cross positions, at most the collateral itself.
/// Remaining accounts (read-only): the market of every open cross position, whose cached index
/// must be within its `withdraw_max_age` (prepend `update_funding` for each). Isolated positions
/// are their own groups and need nothing.
pub fn handler<'info>(ctx: Context<'info, Withdraw<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let now = crate::engine::now()?;
    let (bump, paused) = {
        let ex = ctx.accounts.exchange.load()?;
        (ex.bump, ex.is_paused(pause::WITHDRAW, now))
    };
    require!(!paused, PerpError::OperationPaused);
    let key = ctx.accounts.margin_account.key();
    let cross = {
        let mut a = ctx.accounts.margin_account.load_mut()?;
        a.authorize_owner(&ctx.accounts.owner.key())?;
        require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
        let parts = {
            let mut holders = [Holder::new(&a, Some((Group::Cross, PriceNeed::Withdraw)))];
            load_other_markets(ctx.remaining_accounts, None, &mut holders, now)?;
            holders[0].parts
        };
        let h = group_health(&a, Group::Cross, &parts)?;
        let free = h.withdrawable(Quote(a.cross_collateral)).or_core()?;
        let amt = i64::try_from(amount).map_err(|_| PerpError::MathOverflow)?;
        if amt > free.0 {
            msg!("withdraw {} > withdrawable {}", Quote(amt), free);
            return err!(PerpError::WithdrawExceedsFree);
        }
        a.cross_collateral -= amt;
        a.total_withdrawals = a.total_withdrawals.checked_add(amount).ok_or(PerpError::MathOverflow)?;
        a.cross_collateral
    };
    vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.collateral_vault,
        ctx.accounts.user_token.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        bump,
        amount,
    )?;
    emit!(CollateralWithdrawn { margin_account: key, amount, cross_collateral: cross });
    Ok(())
}
