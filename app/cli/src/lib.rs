//! The `perp` command's library: the risk calculator, the keeper, the trader CLI and the replay
//! simulator. `main.rs` only parses arguments and dispatches.

pub mod admin;
pub mod charts;
pub mod collateral;
pub mod hints;
pub mod history;
pub mod keeper;
pub mod localnet;
pub mod math;
pub mod orders;
pub mod output;
pub mod sim;
pub mod trader;
pub mod web;
