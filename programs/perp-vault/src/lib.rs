//! An example integrator of the perp program: a managed vault, composed through CPI.
//!
//! Depositors put USDC in and get shares; the vault's authority PDA owns one perp margin account;
//! the manager trades it through this program, which places the order in perp and then checks
//! the vault's limits (allowed markets, maximum position per market, maximum leverage, a limit
//! price near the index) on the state the order left; depositors redeem shares for their part of
//! the equity, PnL included. Nobody can move the vault's funds in perp directly: only this
//! program can sign for the authority, and it signs only deposits, share redemptions and
//! checked orders. A keeper liquidates the vault's account like any other.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod equity;
pub mod error;
pub mod events;
pub mod instructions;
pub mod shares;
pub mod state;

use instructions::*;
use state::VaultParams;

declare_id!("PerpVau1t1111111111111111111111111111111111");

#[program]
pub mod perp_vault {
    use super::*;

    pub fn initialize_vault(ctx: Context<InitializeVault>, vault_id: u16, params: VaultParams) -> Result<()> {
        instructions::initialize_vault::handler(ctx, vault_id, params)
    }

    pub fn open_depositor(ctx: Context<OpenDepositor>) -> Result<()> {
        instructions::open_depositor::handler(ctx)
    }

    pub fn deposit<'info>(ctx: Context<'info, VaultFlow<'info>>, amount: u64) -> Result<()> {
        instructions::deposit::handler(ctx, amount)
    }

    pub fn withdraw<'info>(ctx: Context<'info, VaultFlow<'info>>, shares: u64) -> Result<()> {
        instructions::withdraw::handler(ctx, shares)
    }

    pub fn trade<'info>(ctx: Context<'info, Trade<'info>>, params: TradeParams) -> Result<()> {
        instructions::trade::handler(ctx, params)
    }
}
