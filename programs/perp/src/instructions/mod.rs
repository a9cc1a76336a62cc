//! One file per instruction: its accounts struct and its handler.
// Every module exports a `handler`; they are always called by full path.
#![allow(ambiguous_glob_reexports)]

pub mod adl_scan;
pub mod auto_deleverage;
pub mod begin_adl_round;
pub mod cancel_orders;
pub mod close_margin_account;
pub mod close_position;
pub mod create_margin_account;
pub mod deposit;
pub mod deposit_insurance;
pub mod execute;
pub mod fill_order;
pub mod initialize_exchange;
pub mod liquidate;
pub mod move_isolated_collateral;
pub mod place_market_order;
pub mod place_order;
pub mod propose;
pub mod repeg;
pub mod resolve_bankruptcy;
pub mod set_delegate;
pub mod set_market_status;
pub mod set_pause;
pub mod settle_funding;
pub mod sweep_insurance;
pub mod update_funding;
pub mod update_market;
pub mod withdraw;

pub use adl_scan::*;
pub use auto_deleverage::*;
pub use begin_adl_round::*;
pub use cancel_orders::*;
pub use close_margin_account::*;
pub use create_margin_account::*;
pub use deposit::*;
pub use deposit_insurance::*;
pub use execute::*;
pub use fill_order::*;
pub use initialize_exchange::*;
pub use liquidate::*;
pub use move_isolated_collateral::*;
pub use place_market_order::*;
pub use place_order::*;
pub use propose::*;
pub use repeg::*;
pub use resolve_bankruptcy::*;
pub use set_delegate::*;
pub use set_market_status::*;
pub use set_pause::*;
pub use settle_funding::*;
pub use sweep_insurance::*;
pub use update_funding::*;
pub use update_market::*;
pub use withdraw::*;
