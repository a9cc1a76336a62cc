//! The collateral registry's admin paths: listing and updating (timelocked proposals, executed
//! by anyone), instant tightening (the admin alone, only toward safety).

use super::propose::require_matured;
use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::{CollateralListed, CollateralUpdated, ProposalExecuted};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

#[derive(Accounts)]
#[instruction(collateral_index: u16)]
pub struct ExecuteListCollateral<'info> {
    /// Pays the rent of the collateral account and its vault.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = proposer, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: receives the proposal's rent; must be its proposer.
    #[account(mut, address = proposal.proposer @ PerpError::ProposalMismatch)]
    pub proposer: UncheckedAccount<'info>,
    /// A classic SPL token mint (a Token-2022 mint, which may carry a transfer fee or hook, fails
    /// the owner check).
    pub mint: Account<'info, Mint>,
    #[account(init, payer = payer, space = 8 + COLLATERAL_SIZE,
              seeds = [COLLATERAL_SEED, &collateral_index.to_le_bytes()], bump)]
    pub collateral: AccountLoader<'info, Collateral>,
    /// Keyed by the mint: a mint listed once cannot be listed again under another index.
    #[account(init, payer = payer, seeds = [MINT_VAULT_SEED, mint.key().as_ref()], bump,
              token::mint = mint, token::authority = exchange)]
    pub vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Anyone, once the timelock has passed: lists the proposed mint as collateral `collateral_index`
/// (1, 2, ... in listing order, at most [`MAX_COLLATERALS`]). Refuses the settlement mint, a mint
/// with a freeze authority (its owner could freeze the vault) and more than 12 decimals.
pub fn list(ctx: Context<ExecuteListCollateral>, collateral_index: u16) -> Result<()> {
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    require_matured(&ctx.accounts.proposal, &ex, now)?;
    let AdminAction::ListCollateral { collateral_index: idx, mint, params } = &ctx.accounts.proposal.action else {
        return err!(PerpError::ProposalMismatch);
    };
    require!(*idx == collateral_index && *mint == ctx.accounts.mint.key(), PerpError::ProposalMismatch);
    if collateral_index != ex.collateral_count + 1 || collateral_index > MAX_COLLATERALS {
        msg!("next collateral index is {} (at most {})", ex.collateral_count + 1, MAX_COLLATERALS);
        return err!(PerpError::InvalidCollateralParams);
    }
    let m = &ctx.accounts.mint;
    if *mint == ex.collateral_mint || m.freeze_authority.is_some() || m.decimals > perp_core::collateral::MAX_DECIMALS {
        msg!("mint {}: settlement mint, freeze authority {:?} or {} decimals", mint, m.freeze_authority, m.decimals);
        return err!(PerpError::CollateralMintRejected);
    }
    params.validate()?;
    params.validate_with(&ex)?;
    let mut c = ctx.accounts.collateral.load_init()?;
    params.apply(&mut c);
    c.mint = *mint;
    c.vault = ctx.accounts.vault.key();
    c.decimals = m.decimals;
    c.collateral_index = collateral_index;
    c.bump = ctx.bumps.collateral;
    c.vault_bump = ctx.bumps.vault;
    ex.collateral_count += 1;
    emit!(CollateralListed {
        seq: ex.next_seq()?,
        collateral_index,
        mint: *mint,
        decimals: m.decimals,
        initial_weight: c.initial_weight,
        maintenance_weight: c.maintenance_weight,
        deposit_cap: c.deposit_cap,
    });
    emit!(ProposalExecuted {
        seq: ex.next_seq()?,
        id: ctx.accounts.proposal.id,
        kind: 4,
        executor: ctx.accounts.payer.key()
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ExecuteUpdateCollateral<'info> {
    pub executor: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, close = proposer, seeds = [PROPOSAL_SEED, &proposal.id.to_le_bytes()], bump = proposal.bump)]
    pub proposal: Account<'info, Proposal>,
    /// CHECK: receives the proposal's rent; must be its proposer.
    #[account(mut, address = proposal.proposer @ PerpError::ProposalMismatch)]
    pub proposer: UncheckedAccount<'info>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
}

/// Anyone, once the timelock has passed: replaces a listed collateral's parameters (oracles,
/// weights, size discount, liquidation terms, cap, status). Balances, vault and price stay.
pub fn update(ctx: Context<ExecuteUpdateCollateral>) -> Result<()> {
    let now = crate::engine::now()?;
    let mut ex = ctx.accounts.exchange.load_mut()?;
    require_matured(&ctx.accounts.proposal, &ex, now)?;
    let AdminAction::UpdateCollateral { collateral_index, params, version } = &ctx.accounts.proposal.action else {
        return err!(PerpError::ProposalMismatch);
    };
    let mut c = ctx.accounts.collateral.load_mut()?;
    require!(*collateral_index == c.collateral_index, PerpError::ProposalMismatch);
    if *version != c.params_version {
        msg!("proposal made against parameters version {}, the collateral is at {}", version, c.params_version);
        return err!(PerpError::ProposalMismatch);
    }
    params.validate()?;
    params.validate_with(&ex)?;
    params.apply(&mut c);
    c.params_version = c.params_version.wrapping_add(1);
    emit!(CollateralUpdated {
        seq: ex.next_seq()?,
        collateral_index: c.collateral_index,
        initial_weight: c.initial_weight,
        maintenance_weight: c.maintenance_weight,
        imf: c.imf,
        deposit_cap: c.deposit_cap,
        status: c.status,
        instant: false,
    });
    emit!(ProposalExecuted {
        seq: ex.next_seq()?,
        id: ctx.accounts.proposal.id,
        kind: 5,
        executor: ctx.accounts.executor.key()
    });
    Ok(())
}

#[derive(Accounts)]
pub struct TightenCollateral<'info> {
    pub admin: Signer<'info>,
    #[account(mut, address = EXCHANGE_ADDRESS, has_one = admin @ PerpError::AdminOnly)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub collateral: AccountLoader<'info, Collateral>,
}

/// Admin, at once: lowers the initial weight or the deposit cap, raises the size discount, or
/// makes the status stricter. Anything else goes through a proposal.
pub fn tighten(ctx: Context<TightenCollateral>, t: CollateralTightening) -> Result<()> {
    let mut c = ctx.accounts.collateral.load_mut()?;
    c.tighten(&t)?;
    emit!(CollateralUpdated {
        seq: ctx.accounts.exchange.load_mut()?.next_seq()?,
        collateral_index: c.collateral_index,
        initial_weight: c.initial_weight,
        maintenance_weight: c.maintenance_weight,
        imf: c.imf,
        deposit_cap: c.deposit_cap,
        status: c.status,
        instant: true,
    });
    Ok(())
}
