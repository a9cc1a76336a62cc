use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::{cancel_reason, OrderCancelled};
use crate::state::*;
use anchor_lang::prelude::*;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrdersToCancel {
    /// The order with this id.
    ById(u64),
    /// The open order with this client order id.
    ByClientId(u64),
    /// Every open order, or only those of one market.
    All { market_index: Option<u16> },
}

/// Cancelling writes only the margin account.
#[derive(Accounts)]
pub struct CancelOrdersAccounts<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// The owner cancels orders; their reserved rewards return to cross collateral. Cancelling by id
/// or client id an order that is not open fails (`OrderNotFound`); cancelling all of none
/// succeeds.
pub fn handler(ctx: Context<CancelOrdersAccounts>, which: OrdersToCancel) -> Result<()> {
    let key = ctx.accounts.margin_account.key();
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_owner(&ctx.accounts.owner.key())?;
    let mut found = false;
    for slot in 0..MAX_ORDERS {
        let o = a.orders[slot];
        let hit = o.in_use()
            && match which {
                OrdersToCancel::ById(id) => o.order_id == id,
                OrdersToCancel::ByClientId(id) => id != 0 && o.client_order_id == id,
                OrdersToCancel::All { market_index } => market_index.is_none_or(|m| m == o.market_index),
            };
        if !hit {
            continue;
        }
        found = true;
        let reward = a.take_order(slot)?;
        a.credit_cross(reward)?;
        emit!(OrderCancelled {
            seq: a.next_seq()?,
            margin_account: key,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            market_index: o.market_index,
            reason: cancel_reason::OWNER,
            size: o.size,
            reward,
            reward_to: key,
        });
    }
    if !found && !matches!(which, OrdersToCancel::All { .. }) {
        return err!(PerpError::OrderNotFound);
    }
    Ok(())
}
