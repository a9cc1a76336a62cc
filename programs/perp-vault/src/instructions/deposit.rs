use crate::equity::{read_margin, vault_health, Freshness};
use crate::error::VaultError;
use crate::events::VaultDeposited;
use crate::shares::shares_for_deposit;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount};
use perp::program::Perp;
use perp_core::margin::Health;

/// The accounts deposit and withdraw share: the depositor, the vault and the perp side.
#[derive(Accounts)]
pub struct VaultFlow<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = margin_account, has_one = token_account)]
    pub vault: AccountLoader<'info, Vault>,
    #[account(mut, has_one = owner, has_one = vault)]
    pub depositor: AccountLoader<'info, Depositor>,
    /// CHECK: the owner's USDC account (deposit: the source, the owner signs the transfer;
    /// withdraw: the destination, perp checks its mint)
    #[account(mut)]
    pub owner_token: UncheckedAccount<'info>,
    #[account(mut)]
    pub token_account: Account<'info, TokenAccount>,
    /// CHECK: the vault's authority PDA (seeds checked)
    #[account(seeds = [AUTHORITY_SEED, vault.key().as_ref()], bump = vault.load()?.authority_bump)]
    pub authority: UncheckedAccount<'info>,
    /// CHECK: perp checks it
    pub exchange: UncheckedAccount<'info>,
    /// CHECK: the vault's own (has_one); perp checks the rest
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: perp checks it
    #[account(mut)]
    pub collateral_vault: UncheckedAccount<'info>,
    pub perp_program: Program<'info, Perp>,
    pub token_program: Program<'info, Token>,
}

impl<'info> VaultFlow<'info> {
    /// The vault's health now (and whether its account is bankrupt); remaining accounts: the
    /// perp market of every open position, each refreshed within `SHARE_PRICE_MAX_AGE`.
    pub fn health(&self, markets: &[AccountInfo<'info>], now: i64) -> Result<(Health, bool)> {
        let acct = read_margin(&self.margin_account)?;
        let refs: Vec<&AccountInfo> = markets.iter().collect();
        Ok((vault_health(&acct, &refs, now, Freshness::SharePrice)?, acct.is_bankrupt()))
    }
}

/// Deposits `amount` USDC into the vault's perp account for shares priced at the vault's equity
/// (unrealized profit included, rounded down). Refused while the vault's account is below
/// maintenance or bankrupt (perp would freeze the deposit). Starts the depositor's lockup.
/// Remaining accounts: the perp market of every open vault position (read-only), each refreshed
/// by perp `update_funding` earlier in the same transaction.
pub fn handler<'info>(ctx: Context<'info, VaultFlow<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, VaultError::ZeroAmount);
    let a = &ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    let (h, bankrupt) = a.health(ctx.remaining_accounts, now)?;
    require!(!bankrupt && h.equity >= h.maintenance, VaultError::VaultLiquidatable);
    let equity = h.equity.0;
    let total = a.vault.load()?.total_shares;
    let shares = shares_for_deposit(amount, equity, total).map_err(VaultError::from)?;
    require!(shares > 0, VaultError::NoShares);

    token::transfer(
        CpiContext::new(
            token::ID,
            token::Transfer {
                from: a.owner_token.to_account_info(),
                to: a.token_account.to_account_info(),
                authority: a.owner.to_account_info(),
            },
        ),
        amount,
    )?;
    let vault_key = a.vault.key();
    let bump = a.vault.load()?.authority_bump;
    let seeds: &[&[u8]] = &[AUTHORITY_SEED, vault_key.as_ref(), &[bump]];
    perp::cpi::deposit(
        CpiContext::new_with_signer(
            perp::ID,
            perp::cpi::accounts::Deposit {
                authority: a.authority.to_account_info(),
                exchange: a.exchange.to_account_info(),
                margin_account: a.margin_account.to_account_info(),
                user_token: a.token_account.to_account_info(),
                collateral_vault: a.collateral_vault.to_account_info(),
                token_program: a.token_program.to_account_info(),
            },
            &[seeds],
        ),
        amount,
    )?;

    let mut v = a.vault.load_mut()?;
    v.total_shares = v.total_shares.checked_add(shares).ok_or(VaultError::Overflow)?;
    let mut d = a.depositor.load_mut()?;
    d.shares = d.shares.checked_add(shares).ok_or(VaultError::Overflow)?;
    d.deposited = d.deposited.saturating_add(amount);
    d.last_deposit = now;
    emit!(VaultDeposited { vault: vault_key, owner: d.owner, amount, shares, equity, total_shares: v.total_shares });
    Ok(())
}
