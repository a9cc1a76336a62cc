//! The singleton exchange: admin, collateral mint, vaults, insurance ledger, pause switches.

use anchor_lang::prelude::*;
use core::mem::size_of;

pub const EXCHANGE_SEED: &[u8] = b"exchange";
pub const COLLATERAL_VAULT_SEED: &[u8] = b"collateral_vault";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance_vault";

/// Pause switches, one bit per operation.
pub mod pause {
    pub const TRADE: u16 = 1 << 0;
    pub const DEPOSIT: u16 = 1 << 1;
    pub const WITHDRAW: u16 = 1 << 2;
    pub const LIQUIDATE: u16 = 1 << 3;
    pub const FUNDING: u16 = 1 << 4;
    pub const ALL: u16 = TRADE | DEPOSIT | WITHDRAW | LIQUIDATE | FUNDING;
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct Exchange {
    pub admin: Pubkey,
    /// The collateral mint (a 6-decimal USDC-like SPL token).
    pub collateral_mint: Pubkey,
    /// PDA token account holding all collateral, PnL pools and fee pools.
    pub collateral_vault: Pubkey,
    /// PDA token account holding the insurance fund.
    pub insurance_vault: Pubkey,
    /// Owner program of legacy Pyth push price accounts (mainnet: FsJ3A3u2...).
    pub pyth_legacy_program: Pubkey,
    /// Owner program of Pyth pull `PriceUpdateV2` accounts (mainnet: rec5EKMG...).
    pub pyth_receiver_program: Pubkey,
    /// Insurance ledger: always equal to the insurance vault's token balance.
    pub insurance_balance: u64,
    pub insurance_total_in: u64,
    pub insurance_total_out: u64,
    /// Share of taker fees sent to the insurance vault (rate, 10^-9).
    pub fee_insurance_share: i64,
    /// Monotonic ADL round counter (shared by all markets).
    pub adl_round: u64,
    pub market_count: u16,
    pub pause_flags: u16,
    pub bump: u8,
    pub collateral_vault_bump: u8,
    pub insurance_vault_bump: u8,
    pub _pad0: [u8; 1],
    pub _reserved: [u8; 128],
}

pub const EXCHANGE_SIZE: usize = 368;
const _: () = assert!(size_of::<Exchange>() == EXCHANGE_SIZE);

impl Exchange {
    pub fn is_paused(&self, op: u16) -> bool {
        self.pause_flags & op != 0
    }
}
