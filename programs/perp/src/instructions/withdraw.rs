use crate::engine::health::{group_health, require_initial_known, Group};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::engine::token::{token_account_owner, vault_transfer};
use crate::error::{CoreResultExt, PerpError};
use crate::events::CollateralWithdrawn;
use crate::events::EventStream;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;
use perp_core::Quote;

#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub owner: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// CHECK: an SPL token account of the collateral mint, neither vault (checked in the handler)
    #[account(mut)]
    pub user_token: UncheckedAccount<'info>,
    /// CHECK: the vault itself, by address (the token program checks the rest)
    #[account(mut, address = exchange.load()?.collateral_vault @ PerpError::WrongTokenAccount)]
    pub collateral_vault: UncheckedAccount<'info>,
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
        let to = ctx.accounts.user_token.key();
        require!(to != ex.collateral_vault && to != ex.insurance_vault, PerpError::WrongTokenAccount);
        token_account_owner(&ctx.accounts.user_token, &ex.collateral_mint)?;
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
        require_initial_known(&h)?;
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
        &ctx.accounts.collateral_vault.to_account_info(),
        ctx.accounts.user_token.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        bump,
        amount,
    )?;
    emit!(CollateralWithdrawn {
        seq: ctx.accounts.margin_account.load_mut()?.next_seq()?,
        margin_account: key,
        amount,
        cross_collateral: cross
    });
    Ok(())
}
