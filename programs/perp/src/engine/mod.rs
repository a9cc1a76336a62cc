//! What handlers share: price views, funding settlement, health, fills and vault transfers.
//! Every number comes from perp-core; this layer only moves it between accounts.

pub mod adl;
pub mod collateral;
pub mod fill;
pub mod funding;
pub mod haircut;
pub mod health;
pub mod markets;
pub mod orders;
pub mod prices;
pub mod token;
pub mod trade;

pub fn now() -> anchor_lang::Result<i64> {
    use anchor_lang::prelude::*;
    Ok(Clock::get()?.unix_timestamp)
}
