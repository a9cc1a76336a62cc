use crate::engine::health::{group_health, require_initial_known, Group};
use crate::engine::markets::{load_other_markets_with, Holder, PriceNeed};
use crate::engine::token::{token_account_owner, vault_transfer};
use crate::error::PerpError;
use crate::events::CollateralTokenWithdrawn;
use crate::events::EventStream;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::Token;

#[derive(Accounts)]
pub struct WithdrawCollateral<'info> {
    pub owner: Signer<'info>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
    /// CHECK: an SPL token account of the collateral's mint, not its vault (checked in the handler)
    #[account(mut)]
    pub user_token: UncheckedAccount<'info>,
    /// CHECK: the collateral's vault itself, by address (the token program checks the rest)
    #[account(mut, address = collateral.load()?.vault @ PerpError::CollateralNotListed)]
    pub vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Owner only: withdraws `amount` raw tokens of a listed collateral, keeping the cross group at
/// its initial margin afterwards (equity counting only unrealized losses, collateral at its
/// initial value: the lower of the index and its time-weighted value, so a price spike cannot be
/// withdrawn against). Remaining accounts (read-only): the market of every cross position and
/// every other collateral the account holds, each refreshed within a few slots.
pub fn handler<'info>(ctx: Context<'info, WithdrawCollateral<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, PerpError::ZeroAmount);
    let now = crate::engine::now()?;
    let bump = {
        let ex = ctx.accounts.exchange.load()?;
        require!(!ex.is_paused(pause::WITHDRAW, now), PerpError::OperationPaused);
        ex.bump
    };
    let key = ctx.accounts.margin_account.key();
    let (index, balance) = {
        let mut c = ctx.accounts.collateral.load_mut()?;
        require!(ctx.accounts.user_token.key() != c.vault, PerpError::WrongTokenAccount);
        token_account_owner(&ctx.accounts.user_token, &c.mint)?;
        let mut a = ctx.accounts.margin_account.load_mut()?;
        a.authorize_owner(&ctx.accounts.owner.key())?;
        require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
        a.debit_collateral(c.collateral_index, amount)?;
        c.total_deposits = c.total_deposits.checked_sub(amount).ok_or(PerpError::MathOverflow)?;
        let parts = {
            let mut holders = [Holder::new(&a, Some((Group::Cross, PriceNeed::Withdraw)))];
            load_other_markets_with(ctx.remaining_accounts, None, Some(&c), &mut holders, now)?;
            holders[0].parts
        };
        let h = group_health(&a, Group::Cross, &parts)?;
        require_initial_known(&h)?;
        if h.equity_without_profit < h.initial {
            msg!(
                "after the withdrawal: equity without profit {} < initial margin {} (collateral at its initial value)",
                h.equity_without_profit,
                h.initial
            );
            return err!(PerpError::WithdrawExceedsFree);
        }
        (c.collateral_index, a.collateral_balance(c.collateral_index))
    };
    vault_transfer(
        &ctx.accounts.token_program,
        &ctx.accounts.vault.to_account_info(),
        ctx.accounts.user_token.to_account_info(),
        ctx.accounts.exchange.to_account_info(),
        bump,
        amount,
    )?;
    emit!(CollateralTokenWithdrawn {
        seq: ctx.accounts.margin_account.load_mut()?.next_seq()?,
        margin_account: key,
        collateral_index: index,
        amount,
        balance
    });
    Ok(())
}
