//! Events for every state change a keeper, indexer or auditor cares about.
//! Amounts are raw integers in the units of `perp_core::units` (quote 10^-6, base 10^-9,
//! price 10^-6, rate 10^-9).

use anchor_lang::prelude::*;

#[event]
pub struct ExchangeInitialized {
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
}

#[event]
pub struct MarketCreated {
    pub market_index: u16,
    pub name: [u8; 16],
    pub peg: u64,
    pub base_reserve: u128,
}

#[event]
pub struct MarketUpdated {
    pub market_index: u16,
}

#[event]
pub struct PauseChanged {
    pub pause_flags: u16,
}

#[event]
pub struct MarketStatusChanged {
    pub market_index: u16,
    pub status: u8,
}

#[event]
pub struct MarginAccountCreated {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub account_id: u16,
}

#[event]
pub struct MarginAccountClosed {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
}

#[event]
pub struct DelegateSet {
    pub margin_account: Pubkey,
    pub delegate: Pubkey,
}

#[event]
pub struct CollateralDeposited {
    pub margin_account: Pubkey,
    pub amount: u64,
    pub cross_collateral: i64,
}

#[event]
pub struct CollateralWithdrawn {
    pub margin_account: Pubkey,
    pub amount: u64,
    pub cross_collateral: i64,
}

#[event]
pub struct IsolatedCollateralMoved {
    pub margin_account: Pubkey,
    pub market_index: u16,
    /// Positive: cross -> isolated; negative: isolated -> cross.
    pub amount: i64,
    pub isolated_collateral: i64,
}

#[event]
pub struct TradeExecuted {
    pub margin_account: Pubkey,
    pub market_index: u16,
    /// Signed base received by the trader.
    pub base: i64,
    /// Signed quote received by the trader (negative = paid).
    pub quote: i64,
    pub avg_price: u64,
    pub fee: i64,
    pub insurance_fee: i64,
    pub realized_pnl: i64,
    pub new_base: i64,
    pub new_quote_entry: i64,
    pub index_price: u64,
    pub mark_price: u64,
    pub vamm_price: u64,
    pub isolated: bool,
    pub index_was_fallback: bool,
}

#[event]
pub struct FundingSampled {
    pub market_index: u16,
    pub index_price: u64,
    pub impact_bid: u64,
    pub impact_ask: u64,
    pub premium: i64,
    pub seconds: i64,
}

#[event]
pub struct FundingUpdated {
    pub market_index: u16,
    pub time: i64,
    pub premium_index: i64,
    pub rate: i64,
    pub mark_price: u64,
    pub delta_long: i128,
    pub delta_short: i128,
    pub amm_share: i64,
    pub receiver_capped: bool,
    pub oi_long: i64,
    pub oi_short: i64,
    pub next_funding_time: i64,
}

#[event]
pub struct FundingSettled {
    pub margin_account: Pubkey,
    pub market_index: u16,
    /// Positive: the position paid; negative: it received.
    pub payment: i64,
}

#[event]
pub struct IndexFallbackUsed {
    pub market_index: u16,
    pub last_index: u64,
    pub age: i64,
}

#[event]
pub struct InsuranceDeposited {
    pub depositor: Pubkey,
    pub amount: u64,
    pub insurance_balance: u64,
}

#[event]
pub struct LiquidationExecuted {
    pub margin_account: Pubkey,
    pub liquidator: Pubkey,
    pub market_index: u16,
    /// Signed base closed (the position's direction).
    pub closed_base: i64,
    pub fill_price: u64,
    pub mark_price: u64,
    pub bankruptcy_price: u64,
    pub realized_pnl: i64,
    pub liquidator_reward: i64,
    pub insurance_fee: i64,
    pub insurance_draw: i64,
    pub remaining_base: i64,
    pub isolated: bool,
}

#[event]
pub struct InsuranceChanged {
    /// Positive: into the insurance vault; negative: paid out.
    pub amount: i64,
    pub insurance_balance: u64,
    pub market_index: u16,
    pub reason: u8,
}

#[event]
pub struct AccountBankrupt {
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub base: i64,
    pub bankruptcy_price: u64,
    /// What the vAMM close would have lost beyond margin and insurance.
    pub deficit_estimate: i64,
}

#[event]
pub struct AdlRoundStarted {
    pub market_index: u16,
    pub round: u64,
    pub mark_price: u64,
    pub expected_positions: u32,
}

#[event]
pub struct AdlStep {
    pub market_index: u16,
    pub bankrupt_account: Pubkey,
    pub counterparty: Pubkey,
    pub base_closed: i64,
    pub price: u64,
    pub counterparty_realized: i64,
    pub score: i128,
}

#[event]
pub struct LossSocialized {
    pub market_index: u16,
    pub margin_account: Pubkey,
    pub loss: i64,
    pub side_charged_long: bool,
    pub delta: i128,
}

#[event]
pub struct BankruptcyResolved {
    pub margin_account: Pubkey,
    pub market_index: u16,
}
