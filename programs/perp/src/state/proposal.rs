//! Timelocked admin actions: the admin proposes, anyone executes once the exchange's timelock
//! has passed, and the admin may cancel before that. A stolen admin key therefore cannot list a
//! fake oracle, loosen a market's risk, create a market or hand itself the exchange without the
//! change sitting in public, on chain, for the whole delay first.

use super::{CollateralParams, MarketParams};
use anchor_lang::prelude::*;

pub const PROPOSAL_SEED: &[u8] = b"proposal";
/// A matured proposal must run within this many seconds (7 days), or only cancelling remains.
pub const PROPOSAL_GRACE: i64 = 7 * 86_400;

/// What a proposal does when executed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub enum AdminAction {
    /// Replace a market's parameters (oracle set, filters, funding, tiers, fees, ...), made
    /// against the market's `params_version` `version` (any change in between voids it).
    UpdateMarket { market_index: u16, params: MarketParams, version: u32 },
    /// Create market `market_index` (the next index) with a vAMM of `base_reserve` at `peg`.
    CreateMarket { market_index: u16, params: MarketParams, base_reserve: u128, peg: u64 },
    /// Hand the admin powers to another key.
    SetAdmin { new_admin: Pubkey },
    /// The exchange's fee share to insurance and the Pyth owner programs of the two oracle kinds.
    SetExchangeConfig { fee_insurance_share: i64, pyth_legacy_program: Pubkey, pyth_receiver_program: Pubkey },
    /// List `mint` as collateral `collateral_index` (the next index: the exchange's count + 1).
    ListCollateral { collateral_index: u16, mint: Pubkey, params: CollateralParams },
    /// Replace a listed collateral's parameters, made against its `params_version` `version`.
    UpdateCollateral { collateral_index: u16, params: CollateralParams, version: u32 },
}

impl AdminAction {
    pub fn kind(&self) -> u8 {
        match self {
            AdminAction::UpdateMarket { .. } => 0,
            AdminAction::CreateMarket { .. } => 1,
            AdminAction::SetAdmin { .. } => 2,
            AdminAction::SetExchangeConfig { .. } => 3,
            AdminAction::ListCollateral { .. } => 4,
            AdminAction::UpdateCollateral { .. } => 5,
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
    /// Account size (with discriminator) of every proposal: the largest action (a market with 8
    /// oracles and 12 tiers) fits. One size for all, because Anchor reads a freshly created
    /// account's zeroed bytes as the first action variant before the handler writes it.
    pub const SPACE: usize = 8 + 8 + 8 + 8 + 32 + 1 + MAX_ACTION_LEN;

    /// Serialized length of `action`.
    pub fn action_len(action: &AdminAction) -> usize {
        let mut v = Vec::new();
        // serializing into a Vec cannot fail
        let _ = action.serialize(&mut v);
        v.len()
    }
}

/// Borsh length of the largest `AdminAction`: `CreateMarket` with 8 oracles and 12 tiers.
pub const MAX_ACTION_LEN: usize = 1 + 2 + MAX_MARKET_PARAMS_LEN + 16 + 8;
/// Borsh length of `MarketParams` with 8 oracles and 12 tiers.
pub const MAX_MARKET_PARAMS_LEN: usize = 16 + (4 + 8 * 73) + 3 * 8 + 4 + 6 * 8 + 1 + (4 + 12 * 24) + 8 + 2 + 15 * 8 + 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{OracleParams, TierParams};

    #[test]
    fn the_largest_action_fits() {
        let params = MarketParams {
            name: [1; 16],
            oracles: vec![OracleParams { kind: 1, key: Pubkey::default(), feed_id: [0; 32], weight: 1 }; 8],
            max_age: 1,
            max_conf: 1,
            max_deviation: 1,
            min_sources: 1,
            index_method: 0,
            allow_partial_verification: false,
            min_signatures: 13,
            fallback_max_age: 1,
            funding_interval: 1,
            sample_period: 1,
            interest: 1,
            funding_clamp: 1,
            funding_cap: 1,
            mark_method: 0,
            tiers: vec![TierParams { cap: 1, imr: 1, mmr: 1 }; 12],
            impact_notional: 1,
            max_leverage: 1,
            taker_fee: 1,
            liquidation_fee: 1,
            liquidator_share: 1,
            liquidation_buffer: 1,
            min_position: 1,
            delegate_band: 1,
            withdraw_max_age: 1,
            repeg_budget: 1,
            repeg_threshold: 1,
            liquidation_max_conf: 1,
            max_ema_divergence: 1,
            max_oi_per_insurance: 1,
            filler_reward: 1,
            order_band: 1,
            trigger_max_divergence: 1,
            adl_policy: 1,
        };
        let a = AdminAction::CreateMarket { market_index: 1, params, base_reserve: 1, peg: 1 };
        assert_eq!(Proposal::action_len(&a), MAX_ACTION_LEN);
    }
}
