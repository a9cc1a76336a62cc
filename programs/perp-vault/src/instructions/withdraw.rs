use super::deposit::VaultFlow;
use crate::error::VaultError;
use crate::events::VaultWithdrawn;
use crate::shares::assets_for_shares;
use crate::state::*;
use anchor_lang::prelude::*;

/// Redeems `shares` for their part of the vault's equity counting unrealized losses but not
/// unrealized profit (as perp counts what an account may withdraw; the profit stays with the
/// holders until the manager realizes it), rounded down, paid by perp straight into
/// `owner_token`. Refused during the depositor's lockup and when the vault's leverage after the
/// payment would exceed its maximum. Remaining accounts as for deposit (perp's own withdrawal
/// check uses them too). Perp pays only what the account can withdraw: the margin of open
/// positions stays until the manager closes them (`WithdrawExceedsFree` from perp until then).
pub fn handler<'info>(ctx: Context<'info, VaultFlow<'info>>, shares: u64) -> Result<()> {
    require!(shares > 0, VaultError::ZeroAmount);
    let a = &ctx.accounts;
    require_keys_neq!(a.owner_token.key(), a.token_account.key(), VaultError::WrongTokenAccount);
    let now = Clock::get()?.unix_timestamp;
    let (total, lockup, max_leverage) = {
        let v = a.vault.load()?;
        (v.total_shares, v.lockup, v.max_leverage)
    };
    {
        let d = a.depositor.load()?;
        require!(d.shares >= shares, VaultError::InsufficientShares);
        require!(now >= d.last_deposit.saturating_add(lockup), VaultError::LockedUp);
    }
    let (h, _) = a.health(ctx.remaining_accounts, now)?;
    let equity = h.equity_without_profit.min(h.equity).0;
    let amount = assets_for_shares(shares, equity, total).map_err(VaultError::from)?;
    require!(amount > 0, VaultError::ZeroAmount);
    // the holders who stay keep the vault's leverage limit
    let left = h.equity.0 as i128 - amount as i128;
    if h.notional.0 > 0 && (left <= 0 || h.notional.0 as i128 * 1_000_000_000 > max_leverage as i128 * left) {
        msg!("after paying {} the vault's notional {} would exceed its leverage on {}", amount, h.notional.0, left);
        return err!(VaultError::LeverageLimit);
    }

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
