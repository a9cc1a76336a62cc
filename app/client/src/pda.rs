//! Program-derived addresses.

use anchor_lang::prelude::Pubkey;
use perp::state::{
    ADL_ROUND_SEED, COLLATERAL_VAULT_SEED, EXCHANGE_SEED, INSURANCE_VAULT_SEED, MARGIN_ACCOUNT_SEED, MARKET_SEED,
    PROPOSAL_SEED,
};

pub fn exchange() -> Pubkey {
    Pubkey::find_program_address(&[EXCHANGE_SEED], &perp::ID).0
}

pub fn collateral_vault() -> Pubkey {
    Pubkey::find_program_address(&[COLLATERAL_VAULT_SEED], &perp::ID).0
}

pub fn insurance_vault() -> Pubkey {
    Pubkey::find_program_address(&[INSURANCE_VAULT_SEED], &perp::ID).0
}

pub fn market(market_index: u16) -> Pubkey {
    Pubkey::find_program_address(&[MARKET_SEED, &market_index.to_le_bytes()], &perp::ID).0
}

pub fn margin_account(owner: &Pubkey, account_id: u16) -> Pubkey {
    Pubkey::find_program_address(&[MARGIN_ACCOUNT_SEED, owner.as_ref(), &account_id.to_le_bytes()], &perp::ID).0
}

pub fn adl_round(market_index: u16) -> Pubkey {
    Pubkey::find_program_address(&[ADL_ROUND_SEED, &market_index.to_le_bytes()], &perp::ID).0
}

pub fn proposal(id: u64) -> Pubkey {
    Pubkey::find_program_address(&[PROPOSAL_SEED, &id.to_le_bytes()], &perp::ID).0
}

/// The program's data account under the upgradeable loader (holds its upgrade authority).
pub fn program_data() -> Pubkey {
    Pubkey::find_program_address(&[perp::ID.as_ref()], &anchor_lang::solana_program::bpf_loader_upgradeable::ID).0
}

/// Listed collateral `collateral_index` (1, 2, ...).
pub fn collateral(collateral_index: u16) -> Pubkey {
    Pubkey::find_program_address(&[perp::state::COLLATERAL_SEED, &collateral_index.to_le_bytes()], &perp::ID).0
}

/// The vault of a listed collateral mint (keyed by the mint).
pub fn mint_vault(mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[perp::state::MINT_VAULT_SEED, mint.as_ref()], &perp::ID).0
}
