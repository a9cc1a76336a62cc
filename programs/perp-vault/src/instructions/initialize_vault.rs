use crate::error::VaultError;
use crate::events::VaultCreated;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::token::{Mint, Token, TokenAccount};
use perp::program::Perp;
use perp::state::{Exchange, EXCHANGE_ADDRESS, MARGIN_ACCOUNT_SEED, MARGIN_ACCOUNT_SIZE};

#[derive(Accounts)]
#[instruction(vault_id: u16)]
pub struct InitializeVault<'info> {
    #[account(mut)]
    pub manager: Signer<'info>,
    #[account(init, payer = manager, space = 8 + VAULT_SIZE,
              seeds = [VAULT_SEED, manager.key().as_ref(), &vault_id.to_le_bytes()], bump)]
    pub vault: AccountLoader<'info, Vault>,
    /// CHECK: system-owned PDA holding no data; signs for the vault in perp and the token program
    #[account(mut, seeds = [AUTHORITY_SEED, vault.key().as_ref()], bump)]
    pub authority: UncheckedAccount<'info>,
    #[account(init, payer = manager, seeds = [TOKEN_SEED, vault.key().as_ref()], bump,
              token::mint = collateral_mint, token::authority = authority)]
    pub token_account: Account<'info, TokenAccount>,
    #[account(address = exchange.load()?.collateral_mint)]
    pub collateral_mint: Account<'info, Mint>,
    #[account(address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    /// CHECK: created by perp (its seeds are checked there and here)
    #[account(mut, seeds = [MARGIN_ACCOUNT_SEED, authority.key().as_ref(), &VAULT_ACCOUNT_ID.to_le_bytes()],
              bump, seeds::program = perp::ID)]
    pub margin_account: UncheckedAccount<'info>,
    pub perp_program: Program<'info, Perp>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Creates vault `vault_id` of the signer (its manager) with its limits, its USDC staging account
/// and its perp margin account (the manager pays the rent of all three).
pub fn handler(ctx: Context<InitializeVault>, vault_id: u16, params: VaultParams) -> Result<()> {
    require!(params.validate(), VaultError::InvalidParams);
    let vault_key = ctx.accounts.vault.key();
    let authority_bump = ctx.bumps.authority;
    // the authority pays perp's rent for the margin account: fund it first
    let rent = Rent::get()?.minimum_balance(8 + MARGIN_ACCOUNT_SIZE);
    system_program::transfer(
        CpiContext::new(
            system_program::ID,
            system_program::Transfer {
                from: ctx.accounts.manager.to_account_info(),
                to: ctx.accounts.authority.to_account_info(),
            },
        ),
        rent,
    )?;
    let seeds: &[&[u8]] = &[AUTHORITY_SEED, vault_key.as_ref(), &[authority_bump]];
    perp::cpi::create_margin_account(
        CpiContext::new_with_signer(
            perp::ID,
            perp::cpi::accounts::CreateMarginAccount {
                owner: ctx.accounts.authority.to_account_info(),
                margin_account: ctx.accounts.margin_account.to_account_info(),
                system_program: ctx.accounts.system_program.to_account_info(),
            },
            &[seeds],
        ),
        VAULT_ACCOUNT_ID,
    )?;

    let mut v = ctx.accounts.vault.load_init()?;
    v.manager = ctx.accounts.manager.key();
    v.margin_account = ctx.accounts.margin_account.key();
    v.token_account = ctx.accounts.token_account.key();
    v.collateral_mint = ctx.accounts.collateral_mint.key();
    v.max_leverage = params.max_leverage;
    v.lockup = params.lockup;
    v.max_impact = params.max_impact;
    v.max_turnover = params.max_turnover;
    for (i, (m, p)) in params.markets.iter().zip(&params.max_position).enumerate() {
        v.markets[i] = *m;
        v.max_position[i] = *p;
    }
    v.market_count = params.markets.len() as u8;
    v.bump = ctx.bumps.vault;
    v.authority_bump = authority_bump;
    v.token_bump = ctx.bumps.token_account;
    v.vault_id = vault_id;
    emit!(VaultCreated { vault: vault_key, manager: v.manager, margin_account: v.margin_account });
    Ok(())
}
