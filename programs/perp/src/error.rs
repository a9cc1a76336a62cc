//! The program's one error enum. Every variant's message says what to do about it; where a
//! number matters (ages, amounts), the instruction also logs it with `msg!` before failing.

use anchor_lang::prelude::*;
use perp_core::CoreError;

#[error_code]
pub enum PerpError {
    #[msg("arithmetic overflow: an amount is out of the supported range")]
    MathOverflow,
    #[msg("signer is not the margin account's owner or delegate")]
    Unauthorized,
    #[msg("only the margin account's owner may do this (a delegate may trade but never withdraw)")]
    OwnerOnly,
    #[msg("only the exchange admin may do this")]
    AdminOnly,
    #[msg("this operation is paused by the exchange admin")]
    OperationPaused,
    #[msg("market is paused: no trading until the admin reactivates it")]
    MarketPaused,
    #[msg("market is reduce-only: only orders that shrink a position are accepted")]
    MarketReduceOnly,
    #[msg("new risk is paused on this market until its bankrupt accounts are auto-deleveraged")]
    MarketHasBankruptcy,
    #[msg("oracle accounts missing: pass the market's oracle accounts, in its configured order, first in remaining accounts")]
    OracleAccountsMissing,
    #[msg("oracle account key does not match the market's configured oracle at this position")]
    OracleKeyMismatch,
    #[msg("too few valid index sources; the log names each dropped source and why (stale, low confidence, outlier, invalid)")]
    TooFewSources,
    #[msg("index unavailable and the last valid index is older than the market's fallback limit")]
    IndexFallbackTooOld,
    #[msg("a market's cached index is too old; run update_funding on that market first")]
    StaleCachedIndex,
    #[msg("fill price is worse than the order's limit price (slippage bound)")]
    SlippageExceeded,
    #[msg("insufficient margin: equity after the trade would be below the initial margin requirement")]
    InsufficientMargin,
    #[msg("position notional would exceed the market's largest tier cap")]
    MaxPositionExceeded,
    #[msg("withdrawal exceeds free collateral (equity without unrealized profit, minus initial margin)")]
    WithdrawExceedsFree,
    #[msg("the account already has the maximum of 8 positions")]
    TooManyPositions,
    #[msg("position margin mode differs: close the position before switching between cross and isolated")]
    PositionModeMismatch,
    #[msg("reduce-only order would increase or flip the position")]
    ReduceOnlyViolation,
    #[msg("no open position in this market")]
    NoPosition,
    #[msg("account still has positions or collateral: close positions and withdraw first")]
    AccountNotEmpty,
    #[msg("the account is underwater (equity below zero): it can only be liquidated")]
    AccountUnderwater,
    #[msg("the account is bankrupt and awaits auto-deleveraging")]
    AccountBankrupt,
    #[msg("a market account for one of the margin account's positions is missing from remaining accounts")]
    MissingMarketAccount,
    #[msg("a market account in remaining accounts is not one the margin account has a position in, or is repeated")]
    UnexpectedMarketAccount,
    #[msg("invalid market parameters; the log says which")]
    InvalidMarketParams,
    #[msg("token account has the wrong mint or owner")]
    WrongTokenAccount,
    #[msg("amount must be greater than zero")]
    ZeroAmount,
    #[msg("order size must be positive and no larger than the vAMM can fill")]
    InvalidOrderSize,
    #[msg("the vAMM cannot fill this size")]
    InsufficientLiquidity,
    #[msg("isolated collateral cannot be moved: the position would fall below its initial margin")]
    IsolatedMarginTooLow,
    #[msg("account is not liquidatable: equity is at or above maintenance margin")]
    NotLiquidatable,
    #[msg("a liquidator cannot liquidate an account that shares an owner or delegate key with its own")]
    SelfLiquidation,
    #[msg("partial liquidation leaves the remainder below maintenance plus the buffer: liquidate more")]
    PartialLiquidationTooSmall,
    #[msg("the account is not bankrupt in this market")]
    NotBankrupt,
    #[msg("ADL candidates are not in descending score order, or a higher-ranked candidate keeps size")]
    AdlOrderViolation,
    #[msg("ADL candidate is not eligible: it must be a profitable position on the opposite side")]
    AdlCandidateIneligible,
    #[msg("the ADL ranking is incomplete: scan every opposite-side position of the market first")]
    AdlRankingIncomplete,
    #[msg("a candidate ranked above the ones given was left out of this ADL step")]
    AdlCandidateSkipped,
    #[msg("the ADL round account does not match this market's open round")]
    AdlRoundMismatch,
    #[msg("ADL candidates remain in the ranking (or the ranking does not hold every profitable position): run auto_deleverage or a new round")]
    AdlCandidatesRemain,
    #[msg("an ADL round is already open on this market and is neither finished nor expired")]
    AdlRoundOpen,
    #[msg("an ADL round is too old to deleverage: begin a new round (ranked at a fresh mark)")]
    AdlRoundExpired,
    #[msg("a delegate's order must carry a limit price within the market's delegate band of the index")]
    DelegateLimitRequired,
    #[msg("this change is not a pure tightening: propose it and execute it after the exchange's timelock")]
    TimelockRequired,
    #[msg("the proposal's timelock has not passed yet")]
    TimelockNotElapsed,
    #[msg("the timelock can only be raised (at most 30 days)")]
    TimelockDecrease,
    #[msg("the proposal does not match this instruction or its accounts")]
    ProposalMismatch,
    #[msg("a pause that keeps users from their money cannot begin again until its cooldown ends")]
    PauseCooldown,
    #[msg("only the program's upgrade authority may initialize the exchange (pass the program data account)")]
    NotUpgradeAuthority,
    #[msg("the proposal was not executed within its grace period after the timelock: cancel it and propose again")]
    ProposalExpired,
    #[msg("repegs are off for this market, or it or the funding crank is paused")]
    RepegNotAllowed,
    #[msg("the last repeg was less than a sample period ago")]
    RepegTooSoon,
    #[msg("no repeg needed or affordable: the vAMM is within the threshold of the index, or this interval's repeg budget cannot move the peg")]
    RepegNotNeeded,
    #[msg("an oracle source's confidence interval is too wide (reserved: since 2026-12 a wide print makes the time-weighted index decide instead)")]
    OracleTooUncertain,
    #[msg("the market's open interest is at its cap for the size of its insurance fund: top up the fund (deposit_insurance) or reduce")]
    OpenInterestCap,
    #[msg("the market has an unbacked loss outstanding: no new risk until it is repaid (deposit_insurance)")]
    UnbackedLossOutstanding,
    #[msg("a bankruptcy is open on this market: a profitable counterparty position is held for auto-deleveraging until it ends")]
    ProfitHeldForAdl,
    #[msg("a delegate's order may move the vAMM at most a quarter of the delegate band: trade a smaller size")]
    DelegateImpactTooLarge,
    #[msg("a delegate's order against the direction of its previous one must wait one sample period")]
    DelegateCooldown,
    #[msg("a position opened or increased must be at least the market's minimum size")]
    PositionTooSmall,
    #[msg(
        "withdrawals and liquidations need each other market's index refreshed within the last 4 slots: prepend update_funding for each"
    )]
    IndexNotRefreshed,
    #[msg("no open order with this id (or client order id) on the account")]
    OrderNotFound,
    #[msg("the account already has the maximum of 8 open orders: cancel one first")]
    TooManyOrders,
    #[msg("invalid order; the log says which field")]
    InvalidOrder,
    #[msg("the order's trigger has not fired: the index has not crossed its trigger price")]
    OrderNotTriggered,
    #[msg(
        "the vAMM cannot fill the order within its bound (limit, slippage and the market's band around the index) yet"
    )]
    OrderPriceNotReached,
    #[msg("the index diverges from its time-weighted value beyond the market's trigger bound: orders wait for it to settle")]
    IndexDivergesFromTwap,
    #[msg("the account is below maintenance margin: liquidation goes first, its orders wait")]
    AccountLiquidatable,
    #[msg("an open order of this account already has this client order id")]
    DuplicateClientOrderId,
    #[msg("the account has open orders: cancel them first")]
    OrdersOpen,
    #[msg("resting orders are not enabled on this market (order_band is 0): propose the order parameters")]
    OrdersDisabled,
    #[msg("the vAMM sits more than half the market's order band beyond the index against the order: fills wait for it to come back")]
    VammDisplaced,
    #[msg("invalid collateral parameters; the log says which")]
    InvalidCollateralParams,
    #[msg("the account already holds the maximum of 4 collateral mints: withdraw one first")]
    TooManyCollaterals,
    #[msg("the account does not hold that much of this collateral")]
    InsufficientCollateralBalance,
    #[msg("this is not the listed collateral's account, mint or vault")]
    CollateralNotListed,
    #[msg("the collateral is reduce-only or withdraw-only: no new deposits")]
    CollateralDepositsClosed,
    #[msg("the deposit would take the collateral's total above its deposit cap")]
    DepositCapExceeded,
    #[msg("a collateral account the account holds is missing from the remaining accounts")]
    MissingCollateralAccount,
    #[msg("the collateral's cached price is too old: prepend refresh_collateral")]
    StaleCollateralPrice,
    #[msg("the mint cannot be collateral: it must be a classic SPL token mint with no freeze authority and at most 12 decimals")]
    CollateralMintRejected,
    #[msg("the cross group is under water while the account holds collateral: liquidate_collateral first")]
    LiquidateCollateralFirst,
    #[msg("the account still holds collateral: withdraw it first")]
    CollateralHeld,
    #[msg("the market's ADL policy cannot change while a bankruptcy or an ADL round is open")]
    AdlPolicyLocked,
    #[msg(
        "the instruction does not apply under the market's ADL policy (pro rata: auto_deleverage with no candidates)"
    )]
    AdlPolicyMismatch,
    #[msg("the position owes a pro-rata ADL haircut that was not settled before it changed size")]
    HaircutUnsettled,
}

/// Every error, in code order (code = 6000 + index): lets clients turn a code into a name.
pub const ALL_ERRORS: [PerpError; 88] = [
    PerpError::MathOverflow,
    PerpError::Unauthorized,
    PerpError::OwnerOnly,
    PerpError::AdminOnly,
    PerpError::OperationPaused,
    PerpError::MarketPaused,
    PerpError::MarketReduceOnly,
    PerpError::MarketHasBankruptcy,
    PerpError::OracleAccountsMissing,
    PerpError::OracleKeyMismatch,
    PerpError::TooFewSources,
    PerpError::IndexFallbackTooOld,
    PerpError::StaleCachedIndex,
    PerpError::SlippageExceeded,
    PerpError::InsufficientMargin,
    PerpError::MaxPositionExceeded,
    PerpError::WithdrawExceedsFree,
    PerpError::TooManyPositions,
    PerpError::PositionModeMismatch,
    PerpError::ReduceOnlyViolation,
    PerpError::NoPosition,
    PerpError::AccountNotEmpty,
    PerpError::AccountUnderwater,
    PerpError::AccountBankrupt,
    PerpError::MissingMarketAccount,
    PerpError::UnexpectedMarketAccount,
    PerpError::InvalidMarketParams,
    PerpError::WrongTokenAccount,
    PerpError::ZeroAmount,
    PerpError::InvalidOrderSize,
    PerpError::InsufficientLiquidity,
    PerpError::IsolatedMarginTooLow,
    PerpError::NotLiquidatable,
    PerpError::SelfLiquidation,
    PerpError::PartialLiquidationTooSmall,
    PerpError::NotBankrupt,
    PerpError::AdlOrderViolation,
    PerpError::AdlCandidateIneligible,
    PerpError::AdlRankingIncomplete,
    PerpError::AdlCandidateSkipped,
    PerpError::AdlRoundMismatch,
    PerpError::AdlCandidatesRemain,
    PerpError::AdlRoundOpen,
    PerpError::AdlRoundExpired,
    PerpError::DelegateLimitRequired,
    PerpError::TimelockRequired,
    PerpError::TimelockNotElapsed,
    PerpError::TimelockDecrease,
    PerpError::ProposalMismatch,
    PerpError::PauseCooldown,
    PerpError::NotUpgradeAuthority,
    PerpError::ProposalExpired,
    PerpError::RepegNotAllowed,
    PerpError::RepegTooSoon,
    PerpError::RepegNotNeeded,
    PerpError::OracleTooUncertain,
    PerpError::OpenInterestCap,
    PerpError::UnbackedLossOutstanding,
    PerpError::ProfitHeldForAdl,
    PerpError::DelegateImpactTooLarge,
    PerpError::DelegateCooldown,
    PerpError::PositionTooSmall,
    PerpError::IndexNotRefreshed,
    PerpError::OrderNotFound,
    PerpError::TooManyOrders,
    PerpError::InvalidOrder,
    PerpError::OrderNotTriggered,
    PerpError::OrderPriceNotReached,
    PerpError::IndexDivergesFromTwap,
    PerpError::AccountLiquidatable,
    PerpError::DuplicateClientOrderId,
    PerpError::OrdersOpen,
    PerpError::OrdersDisabled,
    PerpError::VammDisplaced,
    PerpError::InvalidCollateralParams,
    PerpError::TooManyCollaterals,
    PerpError::InsufficientCollateralBalance,
    PerpError::CollateralNotListed,
    PerpError::CollateralDepositsClosed,
    PerpError::DepositCapExceeded,
    PerpError::MissingCollateralAccount,
    PerpError::StaleCollateralPrice,
    PerpError::CollateralMintRejected,
    PerpError::LiquidateCollateralFirst,
    PerpError::CollateralHeld,
    PerpError::AdlPolicyLocked,
    PerpError::AdlPolicyMismatch,
    PerpError::HaircutUnsettled,
];

/// The error with this custom program error code, if it is one of ours.
pub fn from_code(code: u32) -> Option<PerpError> {
    code.checked_sub(6000).and_then(|i| ALL_ERRORS.get(i as usize).copied())
}

/// Maps a risk-engine error to the program's error, logging its full text first.
pub fn core_error(e: CoreError) -> Error {
    msg!("risk engine: {}", e);
    match e {
        CoreError::TooFewSources { .. } | CoreError::ZeroTotalWeight => error!(PerpError::TooFewSources),
        CoreError::InsufficientLiquidity => error!(PerpError::InsufficientLiquidity),
        CoreError::ZeroSize => error!(PerpError::InvalidOrderSize),
        CoreError::InvalidTiers(_) | CoreError::InvalidParameter(_) | CoreError::TooManySources => {
            error!(PerpError::InvalidMarketParams)
        }
        _ => error!(PerpError::MathOverflow),
    }
}

/// `?`-friendly conversion for perp-core results.
pub trait CoreResultExt<T> {
    fn or_core(self) -> Result<T>;
}

impl<T> CoreResultExt<T> for core::result::Result<T, CoreError> {
    fn or_core(self) -> Result<T> {
        self.map_err(core_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_table_is_in_code_order() {
        for (i, e) in ALL_ERRORS.iter().enumerate() {
            assert_eq!(*e as u32, i as u32, "{}", e.name());
            assert_eq!(from_code(6000 + i as u32).map(|x| x as u32), Some(i as u32));
        }
        assert!(from_code(6000 + ALL_ERRORS.len() as u32).is_none());
        assert!(from_code(3007).is_none());
    }
}
