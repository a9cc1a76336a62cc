//! Orders when something else happens to the account.

use super::health::{group_of_market, Group};
use crate::events::EventStream;
use crate::events::{cancel_reason, OrderCancelled};
use crate::state::{MarginAccount, MAX_ORDERS};
use anchor_lang::prelude::*;

/// A liquidation cancels the open orders of the liquidated margin group (an isolated position's
/// market, or every market not held isolated), their reserved rewards back into cross
/// collateral: orders that could add risk always (`all: false`), and the reduce-only ones too
/// when the group is under water (`all: true`: the rewards count toward the deficit, and nothing
/// is left reserved in a bankrupt account to recover later). Orders of other groups stay, and so
/// do the group's stops while a partial liquidation leaves it something to protect. Returns the
/// rewards released.
#[inline(never)]
pub fn cancel_for_liquidation(a: &mut MarginAccount, key: &Pubkey, group: Group, all: bool) -> Result<u64> {
    let mut released = 0u64;
    for slot in 0..MAX_ORDERS {
        let o = a.orders[slot];
        if !o.in_use() || (o.reduce_only() && !all) {
            continue;
        }
        if group_of_market(a, o.market_index) != group {
            continue;
        }
        let reward = a.take_order(slot)?;
        a.credit_cross(reward)?;
        released = released.saturating_add(reward);
        emit!(OrderCancelled {
            seq: a.next_seq()?,
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
    Ok(released)
}

/// When a position is closed (by hand, by a fill or by a takeover), the reduce-only orders left on
/// its market have nothing to protect: they are cancelled, their rewards back to the account (a
/// bracket's take-profit goes when its stop fills, and no old stop waits to fire on a later
/// position). `except` is an order the caller settles itself (the one being filled).
#[inline(never)]
pub fn cancel_reduce_only_of_closed(a: &mut MarginAccount, key: &Pubkey, market_index: u16, except: u64) -> Result<()> {
    if a.find(market_index).is_some() {
        return Ok(());
    }
    for slot in 0..MAX_ORDERS {
        let o = a.orders[slot];
        if !o.in_use() || !o.reduce_only() || o.market_index != market_index || o.order_id == except {
            continue;
        }
        let reward = a.take_order(slot)?;
        a.credit_cross(reward)?;
        emit!(OrderCancelled {
            seq: a.next_seq()?,
            margin_account: *key,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            market_index: o.market_index,
            reason: cancel_reason::POSITION_CLOSED,
            size: o.size,
            reward,
            reward_to: *key,
        });
    }
    Ok(())
}

/// The rewards of the group's reduce-only orders (those a liquidation keeps unless the group is
/// under water): counted toward the group's equity when deciding whether it is liquidatable, so
/// the decision does not depend on whether they are cancelled.
pub fn reduce_only_rewards(a: &MarginAccount, group: Group) -> u64 {
    let mut sum = 0u64;
    for o in a.orders.iter().filter(|o| o.in_use() && o.reduce_only()) {
        if group_of_market(a, o.market_index) == group {
            sum = sum.saturating_add(o.reward);
        }
    }
    sum
}
