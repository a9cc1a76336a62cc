//! Timelocked admin actions: the admin proposes, anyone executes once the exchange's timelock
//! has passed, and the admin may cancel before that. A stolen admin key therefore cannot list a
//! fake oracle, loosen a market's risk, create a market or hand itself the exchange without the
//! change sitting in public, on chain, for the whole delay first.

use super::MarketParams;
use anchor_lang::prelude::*;

pub const PROPOSAL_SEED: &[u8] = b"proposal";

/// What a proposal does when executed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub enum AdminAction {
    /// Replace a market's parameters (oracle set, filters, funding, tiers, fees, ...).
    UpdateMarket { market_index: u16, params: MarketParams },
    /// Create market `market_index` (the next index) with a vAMM of `base_reserve` at `peg`.
    CreateMarket { market_index: u16, params: MarketParams, base_reserve: u128, peg: u64 },
    /// Hand the admin powers to another key.
    SetAdmin { new_admin: Pubkey },
    /// The exchange's fee share to insurance and the Pyth owner programs of the two oracle kinds.
    SetExchangeConfig { fee_insurance_share: i64, pyth_legacy_program: Pubkey, pyth_receiver_program: Pubkey },
}

impl AdminAction {
    pub fn kind(&self) -> u8 {
        match self {
            AdminAction::UpdateMarket { .. } => 0,
            AdminAction::CreateMarket { .. } => 1,
            AdminAction::SetAdmin { .. } => 2,
            AdminAction::SetExchangeConfig { .. } => 3,
        }
    }
}

#[account]
#[derive(Debug)]
pub struct Proposal {
    pub id: u64,
    pub proposed_at: i64,
    /// Earliest execution time.
    pub eta: i64,
    /// Receives the account's rent when the proposal is executed or cancelled.
    pub proposer: Pubkey,
    pub bump: u8,
    pub action: AdminAction,
}

impl Proposal {
    /// Account size (with discriminator) for a proposal carrying `action`.
    pub fn space(action: &AdminAction) -> usize {
        let mut v = Vec::new();
        // serializing into a Vec cannot fail
        let _ = action.serialize(&mut v);
        8 + 8 + 8 + 8 + 32 + 1 + v.len()
    }
}
