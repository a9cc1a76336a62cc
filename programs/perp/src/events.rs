//! Events for every state change a keeper, indexer or auditor cares about.
//! Amounts are raw integers in the units of `perp_core::units` (quote 10^-6, base 10^-9,
//! price 10^-6, rate 10^-9).
//!
//! Every event carries `seq`, its number in one of three streams, so a consumer detects a gap
//! (a lost transaction, a truncated log) instead of trusting that it saw everything:
//! - the exchange's stream (`Exchange::event_seq`): initialisation, pauses, proposals, the admin,
//!   the collateral registry;
//! - a market's stream (`Market::event_seq`, keyed by the event's `market_index`): everything
//!   an instruction that writes the market emits: trades, fills and triggers, funding samples
//!   and updates, liquidations, bankruptcies, ADL, socialized and unbacked losses, insurance,
//!   repegs, the market's creation and parameter changes;
//! - a margin account's stream (`MarginAccount::event_seq`, keyed by `margin_account`, counted
//!   modulo 2^32): what changes only the account: creation and closing, delegate, deposits and
//!   withdrawals of any mint, isolated moves, funding settled, orders placed and cancelled.
//!
//! Within a stream the numbers run 1, 2, 3, ... with no gap (a failed transaction changes
//! nothing, its events included); a margin account closed and created again starts at 1. Which
//! stream an event belongs to is fixed by its type ([`stream_of`]).
use anchor_lang::prelude::*;

use crate::error::PerpError;
use crate::state::{Exchange, MarginAccount, Market};

/// The three kinds of event streams (module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Exchange,
    Market,
    Account,
}

/// The stream of the event named `name` (its Rust type name), `None` for an unknown name.
pub fn stream_of(name: &str) -> Option<Stream> {
    const EXCHANGE: &[&str] = &[
        "ExchangeInitialized",
        "PauseChanged",
        "ProposalCreated",
        "ProposalExecuted",
        "ProposalCancelled",
        "TimelockChanged",
        "AdminChanged",
        "CollateralListed",
        "CollateralUpdated",
    ];
    const ACCOUNT: &[&str] = &[
        "MarginAccountCreated",
        "MarginAccountClosed",
        "DelegateSet",
        "CollateralDeposited",
        "CollateralWithdrawn",
        "IsolatedCollateralMoved",
        "FundingSettled",
        "OrderPlaced",
        "OrderCancelled",
        "CollateralTokenDeposited",
        "CollateralTokenWithdrawn",
        "HaircutSettled",
    ];
    const MARKET: &[&str] = &[
        "MarketCreated",
        "MarketUpdated",
        "MarketStatusChanged",
        "TradeExecuted",
        "FundingSampled",
        "InsuranceSwept",
        "FundingUpdated",
        "IndexFallbackUsed",
        "InsuranceDeposited",
        "LiquidationExecuted",
        "AccountBankrupt",
        "AdlRoundStarted",
        "AdlStep",
        "AdlHaircut",
        "LossSocialized",
        "UnbackedLossRepaid",
        "BankruptcyResolved",
        "Repegged",
        "OrderTriggered",
        "OrderFilled",
        "CollateralLiquidated",
        "CollateralDebtResolved",
    ];
    if EXCHANGE.contains(&name) {
        Some(Stream::Exchange)
    } else if ACCOUNT.contains(&name) {
        Some(Stream::Account)
    } else if MARKET.contains(&name) {
        Some(Stream::Market)
    } else {
        None
    }
}

/// State that numbers the events of its stream.
pub trait EventStream {
    /// Advances the stream and returns the new event's number (the first event is 1).
    fn next_seq(&mut self) -> Result<u64>;
}

impl EventStream for Exchange {
    fn next_seq(&mut self) -> Result<u64> {
        self.event_seq = self.event_seq.checked_add(1).ok_or(PerpError::MathOverflow)?;
        Ok(self.event_seq)
    }
}

impl EventStream for Market {
    fn next_seq(&mut self) -> Result<u64> {
        self.event_seq = self.event_seq.checked_add(1).ok_or(PerpError::MathOverflow)?;
        Ok(self.event_seq)
    }
}

impl EventStream for MarginAccount {
    /// Modulo 2^32: 4 billion events of one account cost more in fees than any account holds;
    /// wrapping keeps the account usable where an overflow error would freeze it.
    fn next_seq(&mut self) -> Result<u64> {
        self.event_seq = self.event_seq.wrapping_add(1);
        Ok(self.event_seq as u64)
    }
}

#[event]
pub struct ExchangeInitialized {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub admin: Pubkey,
    pub collateral_mint: Pubkey,
}

#[event]
pub struct MarketCreated {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub name: [u8; 16],
    pub peg: u64,
    pub base_reserve: u128,
}

#[event]
pub struct MarketUpdated {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
}

#[event]
pub struct PauseChanged {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub pause_flags: u16,
    /// When the bounded switches (withdraw, liquidate, funding) stop applying.
    pub pause_until: i64,
}

#[event]
pub struct ProposalCreated {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub id: u64,
    /// 0 update market, 1 create market, 2 set admin, 3 exchange config.
    pub kind: u8,
    pub eta: i64,
    pub proposal: Pubkey,
}

#[event]
pub struct ProposalExecuted {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub id: u64,
    pub kind: u8,
    pub executor: Pubkey,
}

#[event]
pub struct ProposalCancelled {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub id: u64,
}

#[event]
pub struct TimelockChanged {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub timelock_delay: i64,
}

#[event]
pub struct AdminChanged {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub old_admin: Pubkey,
    pub new_admin: Pubkey,
}

#[event]
pub struct MarketStatusChanged {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub status: u8,
    pub paused_until: i64,
}

#[event]
pub struct MarginAccountCreated {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub account_id: u16,
}

#[event]
pub struct MarginAccountClosed {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub owner: Pubkey,
    pub margin_account: Pubkey,
}

#[event]
pub struct DelegateSet {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub delegate: Pubkey,
}

#[event]
pub struct CollateralDeposited {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub amount: u64,
    pub cross_collateral: i64,
}

#[event]
pub struct CollateralWithdrawn {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub amount: u64,
    pub cross_collateral: i64,
}

#[event]
pub struct IsolatedCollateralMoved {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    /// Positive: cross -> isolated; negative: isolated -> cross.
    pub amount: i64,
    pub isolated_collateral: i64,
}

#[event]
pub struct TradeExecuted {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
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
    /// Signed by the account's delegate (not its owner).
    pub by_delegate: bool,
}

#[event]
pub struct FundingSampled {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub index_price: u64,
    pub impact_bid: u64,
    pub impact_ask: u64,
    pub premium: i64,
    pub seconds: i64,
}

#[event]
pub struct InsuranceSwept {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    /// Positive: collateral vault -> insurance vault; negative: the other way.
    pub amount: i64,
    pub insurance_fund: i64,
}

#[event]
pub struct FundingUpdated {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
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
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    /// Positive: the position paid; negative: it received.
    pub payment: i64,
}

#[event]
pub struct IndexFallbackUsed {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub last_index: u64,
    pub age: i64,
}

#[event]
pub struct InsuranceDeposited {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub depositor: Pubkey,
    pub market_index: u16,
    pub amount: u64,
    /// The market's insurance ledger after the deposit.
    pub insurance_fund: i64,
}

#[event]
pub struct LiquidationExecuted {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub liquidator: Pubkey,
    pub market_index: u16,
    /// Signed base taken over by the liquidator (the position's direction).
    pub closed_base: i64,
    /// The takeover price: the mark.
    pub mark_price: u64,
    pub index_price: u64,
    pub realized_pnl: i64,
    pub liquidator_reward: i64,
    pub insurance_fee: i64,
    /// Paid by the market's insurance fund: the group's deficit attributed to this market.
    pub insurance_draw: i64,
    pub remaining_base: i64,
    pub isolated: bool,
    /// The market's insurance ledger after the step.
    pub insurance_fund: i64,
}

#[event]
pub struct AccountBankrupt {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub base: i64,
    /// Where auto-deleveraging closes it (within the maintenance band of the live mark).
    pub bankruptcy_price: u64,
    /// What is left of the group's deficit attributed to this market after its insurance fund
    /// paid what it held: auto-deleveraging's to absorb.
    pub deficit: i64,
    pub insurance_fund: i64,
    /// Paid by the insurance fund before the flag (all it held).
    pub insurance_draw: i64,
}

#[event]
pub struct AdlRoundStarted {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub round: u64,
    pub mark_price: u64,
    pub expected_positions: u32,
}

#[event]
pub struct AdlStep {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub bankrupt_account: Pubkey,
    pub counterparty: Pubkey,
    pub base_closed: i64,
    pub price: u64,
    pub counterparty_realized: i64,
    pub score: i128,
}

/// Pro-rata ADL: a bankrupt position was taken off the curve at the worse of its bankruptcy price
/// and the live mark, and the deficit beyond its bankruptcy price was spread over the opposite
/// side's pool (`absorbed`; the rest, if the pool could not carry it, continues as
/// `LossSocialized`). Each account's part follows as `HaircutSettled` when it is next touched.
#[event]
pub struct AdlHaircut {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub round: u64,
    /// `perp_core::haircut::AdlPolicy` (1 = pro rata).
    pub policy: u8,
    pub bankrupt_account: Pubkey,
    pub base_closed: i64,
    pub price: u64,
    pub deficit: i64,
    pub absorbed: i64,
    /// Profit the pool spreads it over, and its index afterwards (10^18 = all of it).
    pub pool_profit: i64,
    pub index: i128,
}

/// An account paid its share of a pro-rata ADL deficit (charged to its collateral, never more
/// than the profit stamped on its position at the round's mark).
#[event]
pub struct HaircutSettled {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub round: u32,
    pub amount: i64,
    /// The stamped profit and what has been paid of it now.
    pub profit: i64,
    pub paid: i64,
}

#[event]
pub struct LossSocialized {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub margin_account: Pubkey,
    pub loss: i64,
    pub side_charged_long: bool,
    /// Charged to that side's open interest (at most the first tier's MMR of each position).
    pub charged_to_side: i64,
    pub from_fee_pool: i64,
    /// Left in the PnL pool (no one left to charge).
    pub unbacked: i64,
    pub delta: i128,
}

/// A market's outstanding unbacked loss repaid: by its insurance fund (`margin_account` is the
/// default key) or by a profit realized in the market (the account whose profit was held back).
#[event]
pub struct UnbackedLossRepaid {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub margin_account: Pubkey,
    pub amount: i64,
    /// What is still outstanding after this repayment.
    pub outstanding: i64,
}

#[event]
pub struct BankruptcyResolved {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
}

#[event]
pub struct Repegged {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub market_index: u16,
    pub old_peg: u64,
    pub new_peg: u64,
    /// Paid by the fee pool into the PnL pool (negative: the other way).
    pub cost: i64,
    pub fee_pool: i64,
    /// What this funding interval's repeg budget has left.
    pub budget_left: i64,
    /// Traders' net position the cost was computed from (`oi_long - oi_short`).
    pub net_position: i64,
    pub index_price: u64,
    pub vamm_price_before: u64,
    pub vamm_price_after: u64,
    /// False when the step cap or the budget stopped the peg short of the index.
    pub full: bool,
}

#[event]
pub struct OrderPlaced {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub order_id: u64,
    pub client_order_id: u64,
    pub market_index: u16,
    /// `perp_core::orders::OrderKind` as u8 (1 limit, 2 stop-market, 3 take-profit-market,
    /// 4 stop-limit, 5 take-profit-limit).
    pub kind: u8,
    /// 1 = buy, 2 = sell.
    pub side: u8,
    pub size: u64,
    pub limit_price: u64,
    pub trigger_price: u64,
    pub max_slippage: u64,
    pub reduce_only: bool,
    pub expiry: i64,
    /// Reserved from cross collateral for the filler.
    pub reward: u64,
}

/// Why an order left the book without filling in full.
pub mod cancel_reason {
    /// Cancelled by its owner (the reward returns to the owner).
    pub const OWNER: u8 = 0;
    /// Expired, cancelled by a filler for the reward.
    pub const EXPIRED: u8 = 1;
    /// Its fill would break the owner's initial margin (or a position limit): cancelled by a
    /// filler for the reward.
    pub const UNFILLABLE: u8 = 2;
    /// A reduce-only order with no position left to reduce: cancelled by a filler for the reward.
    pub const NOTHING_TO_REDUCE: u8 = 3;
    /// The account was liquidated: the liquidated group's orders that could add risk (and, when
    /// the group is under water, its stops too) are cancelled first, the rewards back to the
    /// account's cross collateral.
    pub const LIQUIDATION: u8 = 4;
    /// Its position was closed (by hand, by another order's fill or by a takeover): a reduce-only
    /// order left with nothing to protect, cancelled, its reward back to the account.
    pub const POSITION_CLOSED: u8 = 5;
}

#[event]
pub struct OrderCancelled {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub order_id: u64,
    pub client_order_id: u64,
    pub market_index: u16,
    /// `cancel_reason`.
    pub reason: u8,
    /// Unfilled size removed, raw base.
    pub size: u64,
    /// The reserved reward and who received it (the owner's margin account on an owner cancel).
    pub reward: u64,
    pub reward_to: Pubkey,
}

#[event]
pub struct OrderTriggered {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub order_id: u64,
    pub market_index: u16,
    pub trigger_price: u64,
    /// The index that fired it.
    pub index_price: u64,
}

/// A fill of a resting order (the trade itself is also in `TradeExecuted`).
#[event]
pub struct OrderFilled {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub order_id: u64,
    pub client_order_id: u64,
    pub market_index: u16,
    pub kind: u8,
    /// Signed base filled.
    pub base: i64,
    pub avg_price: u64,
    /// The worst average the fill was allowed (order bound and band, stricter of the two).
    pub bound_price: u64,
    pub index_price: u64,
    /// Left to fill (0 = the order is done and gone).
    pub remaining: u64,
    pub filler: Pubkey,
    /// Paid to the filler's margin account when the order is done (0 on a partial fill).
    pub reward: u64,
}

#[event]
pub struct CollateralListed {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub collateral_index: u16,
    pub mint: Pubkey,
    pub decimals: u8,
    pub initial_weight: i64,
    pub maintenance_weight: i64,
    pub deposit_cap: u64,
}

#[event]
pub struct CollateralUpdated {
    /// Sequence number in the exchange's stream (see the module documentation).
    pub seq: u64,
    pub collateral_index: u16,
    pub initial_weight: i64,
    pub maintenance_weight: i64,
    pub imf: i64,
    pub deposit_cap: u64,
    pub status: u8,
    /// True for the admin's instant tightening, false for an executed proposal.
    pub instant: bool,
}

#[event]
pub struct CollateralTokenDeposited {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub collateral_index: u16,
    pub amount: u64,
    /// The account's balance of this mint after the deposit (raw tokens).
    pub balance: u64,
}

#[event]
pub struct CollateralTokenWithdrawn {
    /// Sequence number in `margin_account`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub collateral_index: u16,
    pub amount: u64,
    pub balance: u64,
}

#[event]
pub struct CollateralLiquidated {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub liquidator: Pubkey,
    pub collateral_index: u16,
    /// Raw tokens moved from the account to the liquidator.
    pub tokens: u64,
    /// The collateral's index price it was sold at (before the discount).
    pub price: u64,
    /// Settlement credited to the account.
    pub to_account: i64,
    /// Settlement the liquidator paid.
    pub from_liquidator: i64,
    /// Settlement to the insurance fund of `market_index`.
    pub to_insurance: i64,
    pub market_index: u16,
}

/// A collateral sale left an account with no collateral, no position and a negative settlement
/// balance: the insurance market's fund paid `from_insurance`, the rest is recorded as that
/// market's unbacked loss.
#[event]
pub struct CollateralDebtResolved {
    /// Sequence number in market `market_index`'s stream (see the module documentation).
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub debt: i64,
    pub from_insurance: i64,
    pub unbacked: i64,
}
