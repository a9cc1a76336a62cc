//! Shared by the CLI's integration tests.
#![allow(dead_code)]

use perp::state::{MarketParams, OracleParams, TierParams};
use perp_client::Pubkey;

pub const T0: i64 = 1_678_406_400;
pub const USDC: u64 = 1_000_000;
pub const BTC: i64 = 1_000_000_000;

/// A BTC market on legacy oracles: 1-hour funding, three tiers (50k 2%/1%, 250k 4%/2%, 10M 10%/5%).
pub fn btc_params(oracles: &[Pubkey]) -> MarketParams {
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"BTC-PERP");
    MarketParams {
        name,
        oracles: oracles.iter().map(|k| OracleParams { kind: 1, key: *k, feed_id: [0; 32], weight: 1 }).collect(),
        max_age: 60,
        max_conf: 20_000_000,
        max_deviation: 50_000_000,
        min_sources: 1,
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 13,
        fallback_max_age: 600,
        funding_interval: 3600,
        sample_period: 60,
        interest: 12_500,
        funding_clamp: 500_000,
        funding_cap: 7_500_000,
        mark_method: 0,
        tiers: vec![
            TierParams { cap: 50_000 * USDC as i64, imr: 20_000_000, mmr: 10_000_000 },
            TierParams { cap: 250_000 * USDC as i64, imr: 40_000_000, mmr: 20_000_000 },
            TierParams { cap: 10_000_000 * USDC as i64, imr: 100_000_000, mmr: 50_000_000 },
        ],
        impact_notional: 10_000 * USDC as i64,
        max_leverage: 50,
        taker_fee: 500_000,
        liquidation_fee: 5_000_000,
        liquidator_share: 500_000_000,
        liquidation_buffer: 100_000_000,
        min_position: 1_000_000,
        delegate_band: 10_000_000,
        withdraw_max_age: 15,
        repeg_budget: 0,
        repeg_threshold: 0,
        liquidation_max_conf: 5_000_000, // 0.5%
        max_ema_divergence: 10_000_000,  // 1%
        max_oi_per_insurance: 0,
        filler_reward: 20_000,              // 0.02 USDC
        order_band: 10_000_000,             // 1%
        trigger_max_divergence: 20_000_000, // 2%
        adl_policy: 0,
    }
}
