// Every module exports a `handler`; they are always called by full path.
#![allow(ambiguous_glob_reexports)]

pub mod deposit;
pub mod initialize_vault;
pub mod open_depositor;
pub mod trade;
pub mod withdraw;

pub use deposit::*;
pub use initialize_vault::*;
pub use open_depositor::*;
pub use trade::*;
