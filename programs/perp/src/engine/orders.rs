//! Orders when something else happens to the account.

use crate::events::{cancel_reason, OrderCancelled};
use crate::state::{MarginAccount, MAX_ORDERS};
use anchor_lang::prelude::*;

/// A liquidation cancels every open order of the liquidated account first, its reserved rewards
/// back into cross collateral: they count toward the account's equity (and so toward any
/// deficit), and no order of an account being liquidated is left to fire afterwards.
#[inline(never)]
pub fn cancel_all_for_liquidation(a: &mut MarginAccount, key: &Pubkey) -> Result<()> {
    for slot in 0..MAX_ORDERS {
        let o = a.orders[slot];
        if !o.in_use() {
            continue;
        }
        let reward = a.take_order(slot)?;
        a.credit_cross(reward)?;
        emit!(OrderCancelled {
            margin_account: *key,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            market_index: o.market_index,
            reason: cancel_reason::LIQUIDATION,
            size: o.size,
            reward,
            reward_to: *key,
        });
    }
    Ok(())
}
