//! Client SDK for the perp program: one way to derive addresses, build instructions, read
//! accounts and preview risk, shared by the keeper, the CLI, the simulator and the tests.

#[cfg(feature = "bank")]
pub mod bank;
pub mod chain;
pub mod collateral;
pub mod collateral_view;
pub mod data;
pub mod decode;
pub mod events;
pub mod ix;
pub mod oracle_data;
pub mod orders;
pub mod pda;
pub mod preview;
#[cfg(feature = "rpc")]
pub mod rpc;
#[cfg(feature = "ws")]
pub mod ws;

pub use anchor_lang::prelude::Pubkey;
pub use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
pub use chain::{Chain, ChainError, SendOptions};
pub use perp::state::{Exchange, MarginAccount, Market, MarketParams, OracleParams, TierParams};
pub use perp::ID as PROGRAM_ID;
