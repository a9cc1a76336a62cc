use super::deposit::VaultFlow;
use crate::error::VaultError;
use crate::events::VaultWithdrawn;
use crate::shares::assets_for_shares;
use crate::state::*;
use anchor_lang::prelude::*;

/// Redeems `shares` for their part of the vault's equity (rounded down), paid by perp straight
/// into `owner_token`. Remaining accounts as for deposit (perp's own withdrawal check uses them
/// too). Perp pays only what the account can withdraw: unrealized profit and the margin of open
/// positions stay until the manager closes them (`WithdrawExceedsFree` from perp until then).
pub fn handler<'info>(ctx: Context<'info, VaultFlow<'info>>, shares: u64) -> Result<()> {
    require!(shares > 0, VaultError::ZeroAmount);
    let a = &ctx.accounts;
    require!(a.depositor.load()?.shares >= shares, VaultError::InsufficientShares);
    let equity = a.equity(ctx.remaining_accounts)?;
    let total = a.vault.load()?.total_shares;
    let amount = assets_for_shares(shares, equity, total).map_err(VaultError::from)?;
    require!(amount > 0, VaultError::ZeroAmount);

    let vault_key = a.vault.key();
    let bump = a.vault.load()?.authority_bump;
    let seeds: &[&[u8]] = &[AUTHORITY_SEED, vault_key.as_ref(), &[bump]];
    perp::cpi::withdraw(
        CpiContext::new_with_signer(
            perp::ID,
            perp::cpi::accounts::Withdraw {
                owner: a.authority.to_account_info(),
                exchange: a.exchange.to_account_info(),
                margin_account: a.margin_account.to_account_info(),
                user_token: a.owner_token.to_account_info(),
                collateral_vault: a.collateral_vault.to_account_info(),
                token_program: a.token_program.to_account_info(),
            },
            &[seeds],
        )
        .with_remaining_accounts(ctx.remaining_accounts.to_vec()),
        amount,
    )?;

    let mut v = a.vault.load_mut()?;
    v.total_shares -= shares;
    let mut d = a.depositor.load_mut()?;
    d.shares -= shares;
    d.withdrawn = d.withdrawn.saturating_add(amount);
    emit!(VaultWithdrawn { vault: vault_key, owner: d.owner, shares, amount, equity, total_shares: v.total_shares });
    Ok(())
}
