//! perp-core: every piece of money math of the perpetual-swaps protocol.
//!
//! Pure Rust, integer fixed-point only, no Solana dependencies and `no_std`, so the same code runs
//! in the on-chain program, the keeper, the CLI and the simulator. See [`units`] for precisions and
//! rounding rules.
#![cfg_attr(not(test), no_std)]

pub mod adl;
pub mod collateral;
pub mod error;
pub mod funding;
pub mod haircut;
pub mod index;
pub mod liquidation;
pub mod margin;
pub mod mark;
pub mod orders;
pub mod position;
pub mod repeg;
pub mod takeover;
pub mod twap;
pub mod units;
pub mod vamm;
pub mod wide;

pub use error::{CoreError, CoreResult, DropReason};
pub use units::{Base, FundingIndex, Price, Quote, Rate, Round};
