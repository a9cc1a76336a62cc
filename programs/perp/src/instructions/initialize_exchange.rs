use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::ExchangeInitialized;
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token::{Mint, Token, TokenAccount};
use perp_core::units::RATE_PRECISION;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct ExchangeParams {
    /// Share of taker fees that goes to the insurance vault (rate, 10^-9).
    pub fee_insurance_share: i64,
    pub pyth_legacy_program: Pubkey,
    pub pyth_receiver_program: Pubkey,
    /// Seconds between proposing and executing a timelocked admin action (can only grow later).
    pub timelock_delay: i64,
}

#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = 8 + EXCHANGE_SIZE, seeds = [EXCHANGE_SEED], bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(constraint = collateral_mint.decimals == 6 @ PerpError::WrongTokenAccount)]
    pub collateral_mint: Account<'info, Mint>,
    #[account(init, payer = admin, seeds = [COLLATERAL_VAULT_SEED], bump,
              token::mint = collateral_mint, token::authority = exchange)]
    pub collateral_vault: Account<'info, TokenAccount>,
    #[account(init, payer = admin, seeds = [INSURANCE_VAULT_SEED], bump,
              token::mint = collateral_mint, token::authority = exchange)]
    pub insurance_vault: Account<'info, TokenAccount>,
    /// The program's data account (upgradeable loader): only its upgrade authority may create the
    /// exchange, so nobody can front-run the deployment and become admin.
    #[account(seeds = [crate::ID.as_ref()], bump, seeds::program = bpf_loader_upgradeable::ID,
              constraint = program_data.upgrade_authority_address == Some(admin.key()) @ PerpError::NotUpgradeAuthority)]
    pub program_data: Account<'info, ProgramData>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeExchange>, params: ExchangeParams) -> Result<()> {
    if params.fee_insurance_share < 0 || params.fee_insurance_share > RATE_PRECISION {
        msg!("fee_insurance_share must be in [0, 1]");
        return err!(PerpError::InvalidMarketParams);
    }
    require!(params.timelock_delay >= 0 && params.timelock_delay <= MAX_TIMELOCK, PerpError::TimelockDecrease);
    let mut ex = ctx.accounts.exchange.load_init()?;
    ex.admin = ctx.accounts.admin.key();
    ex.collateral_mint = ctx.accounts.collateral_mint.key();
    ex.collateral_vault = ctx.accounts.collateral_vault.key();
    ex.insurance_vault = ctx.accounts.insurance_vault.key();
    ex.pyth_legacy_program = params.pyth_legacy_program;
    ex.pyth_receiver_program = params.pyth_receiver_program;
    ex.fee_insurance_share = params.fee_insurance_share;
    ex.timelock_delay = params.timelock_delay;
    ex.bump = ctx.bumps.exchange;
    ex.collateral_vault_bump = ctx.bumps.collateral_vault;
    ex.insurance_vault_bump = ctx.bumps.insurance_vault;
    emit!(ExchangeInitialized { seq: ex.next_seq()?, admin: ex.admin, collateral_mint: ex.collateral_mint });
    Ok(())
}
