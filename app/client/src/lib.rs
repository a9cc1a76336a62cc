//! Client SDK for the perp program: one way to derive addresses, build instructions and read
//! accounts, shared by the keeper, the CLI, the simulator and the tests.

pub mod data;
pub mod decode;
pub mod ix;
pub mod oracle_data;
pub mod pda;

pub use anchor_lang::prelude::Pubkey;
pub use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
pub use perp::state::{Exchange, MarginAccount, Market, MarketParams, OracleParams, TierParams};
pub use perp::ID as PROGRAM_ID;
