//! The singleton exchange: admin, collateral mint, vaults, timelock, pause switches.
//!
//! Hot paths (orders, closes, liquidations, ADL, funding) only read it; the admin's paths and
//! `initialize_exchange` write it.

use anchor_lang::prelude::*;
use core::mem::size_of;

pub const EXCHANGE_SEED: &[u8] = b"exchange";
pub const COLLATERAL_VAULT_SEED: &[u8] = b"collateral_vault";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance_vault";

/// The exchange's address, derived at compile time: instructions check it by comparison (a PDA
/// derivation on chain costs ~1,500 compute units).
pub const EXCHANGE_ADDRESS: Pubkey =
    Pubkey::new_from_array(anchor_lang::derive_program_address(&[EXCHANGE_SEED], &crate::ID.to_bytes()).0);

/// Longest time (seconds) a pause that can keep users from their money or from adding margin
/// (deposits, withdrawals, funding, a market's PAUSED status, which stops its liquidations) stays
/// in force: 24 h.
pub const MAX_PAUSE: i64 = 86_400;
/// After such a pause lapses, another cannot begin for this long (seconds): 24 h.
pub const PAUSE_COOLDOWN: i64 = 86_400;
/// Longest timelock the admin may set (30 days).
pub const MAX_TIMELOCK: i64 = 30 * 86_400;

/// Pause switches, one bit per operation. Liquidations are paused per market (its PAUSED status,
/// which also stops new risk there), never exchange-wide, so one bounded mechanism governs them.
pub mod pause {
    /// New risk (orders that open or grow a position, collateral into isolated positions).
    /// Closing and reducing are never paused. Stays until lifted (it only tightens).
    pub const TRADE: u16 = 1 << 0;
    /// Deposits: lapses after [`super::MAX_PAUSE`] (users must be able to add margin).
    pub const DEPOSIT: u16 = 1 << 1;
    /// Withdrawals: lapses after [`super::MAX_PAUSE`].
    pub const WITHDRAW: u16 = 1 << 2;
    /// The funding crank: lapses after [`super::MAX_PAUSE`].
    pub const FUNDING: u16 = 1 << 4;
    pub const ALL: u16 = TRADE | DEPOSIT | WITHDRAW | FUNDING;
    /// The switches that lapse (bounded in time, with a cooldown between two pauses).
    pub const BOUNDED: u16 = DEPOSIT | WITHDRAW | FUNDING;
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct Exchange {
    pub admin: Pubkey,
    /// The collateral mint (a 6-decimal USDC-like SPL token).
    pub collateral_mint: Pubkey,
    /// PDA token account holding all collateral, PnL pools and fee pools.
    pub collateral_vault: Pubkey,
    /// PDA token account holding the insurance fund (each market's share is in its own ledger).
    pub insurance_vault: Pubkey,
    /// Owner program of legacy Pyth push price accounts (mainnet: FsJ3A3u2...).
    pub pyth_legacy_program: Pubkey,
    /// Owner program of Pyth pull `PriceUpdateV2` accounts (mainnet: rec5EKMG...).
    pub pyth_receiver_program: Pubkey,
    /// Share of taker fees that goes to the market's insurance fund (rate, 10^-9).
    pub fee_insurance_share: i64,
    /// Seconds between proposing a timelocked admin action and executing it; can only grow.
    pub timelock_delay: i64,
    /// Proposals made so far (the next proposal's id).
    pub proposal_count: u64,
    /// When the bounded pause switches stop applying.
    pub pause_until: i64,
    /// No bounded pause may begin before this time.
    pub pause_cooldown_until: i64,
    pub market_count: u16,
    pub pause_flags: u16,
    pub bump: u8,
    pub collateral_vault_bump: u8,
    pub insurance_vault_bump: u8,
    pub _pad0: [u8; 1],
    /// Collateral mints listed so far besides the settlement mint (the next one's index is this + 1).
    pub collateral_count: u16,
    pub _pad1: [u8; 6],
    /// Sequence number of the last event of the exchange's stream (`events::Stream::Exchange`).
    pub event_seq: u64,
    pub _reserved: [u8; 112],
}

pub const EXCHANGE_SIZE: usize = 368;
const _: () = assert!(size_of::<Exchange>() == EXCHANGE_SIZE);

impl Exchange {
    /// Is operation `op` paused at `now`? Bounded switches lapse at `pause_until`.
    pub fn is_paused(&self, op: u16, now: i64) -> bool {
        if self.pause_flags & op == 0 {
            return false;
        }
        op & pause::BOUNDED == 0 || now < self.pause_until
    }
}
