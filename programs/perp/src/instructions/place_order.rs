use crate::engine::health::{group_health, require_initial_known, Group, Parts};
use crate::engine::markets::{load_other_markets, Holder, PriceNeed};
use crate::error::PerpError;
use crate::events::EventStream;
use crate::events::OrderPlaced;
use crate::state::*;
use anchor_lang::prelude::*;
use perp_core::orders::{OrderKind, MAX_ORDER_BAND};
use perp_core::Quote;

use super::place_market_order::OrderSide;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// Fills when the vAMM can fill at an average at or better than `limit_price`.
    Limit,
    /// When the index crosses `trigger_price` against the position, fills within `max_slippage`
    /// of the index.
    StopMarket,
    /// When the index crosses `trigger_price` in the position's favour, fills within
    /// `max_slippage` of the index.
    TakeProfitMarket,
    /// A stop that rests as a limit order at `limit_price` once triggered.
    StopLimit,
    /// A take-profit that rests as a limit order at `limit_price` once triggered.
    TakeProfitLimit,
}

impl OrderType {
    pub fn kind(self) -> OrderKind {
        match self {
            OrderType::Limit => OrderKind::Limit,
            OrderType::StopMarket => OrderKind::StopMarket,
            OrderType::TakeProfitMarket => OrderKind::TakeProfitMarket,
            OrderType::StopLimit => OrderKind::StopLimit,
            OrderType::TakeProfitLimit => OrderKind::TakeProfitLimit,
        }
    }
}

/// A resting order trades the market's position in that position's mode (cross or isolated);
/// with no position it opens a cross one.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceOrderParams {
    pub order_type: OrderType,
    pub side: OrderSide,
    /// Base size, raw (10^-9), at least the market's minimum position.
    pub size: u64,
    /// Limit kinds: worst average fill price, raw (10^-6); must be 0 for the market kinds.
    pub limit_price: u64,
    /// Trigger kinds: the index price that fires the order; must be 0 for `Limit`.
    pub trigger_price: u64,
    /// Market kinds: largest distance of the average fill from the index (rate, 10^9 = 100%; 0 =
    /// the market's band, never more than the band); must be 0 for the limit kinds.
    pub max_slippage: u64,
    /// Only ever shrinks the position that exists when it fills (clients default it on for stops
    /// and take-profits).
    pub reduce_only: bool,
    /// Unix time from which the order can no longer fill (0 = good until cancelled).
    pub expiry: i64,
    /// The trader's own id (0 = none; otherwise unique among the account's open orders).
    pub client_order_id: u64,
}

/// Placing an order writes only the margin account; the market is read for its parameters.
#[derive(Accounts)]
pub struct PlaceOrder<'info> {
    pub owner: Signer<'info>,
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

fn bad(what: &str) -> Error {
    msg!("invalid order: {}", what);
    error!(PerpError::InvalidOrder)
}

/// Checks the order's fields against its kind and the market.
fn validate(p: &PlaceOrderParams, m: &Market, now: i64) -> Result<()> {
    let kind = p.order_type.kind();
    if p.size == 0 || p.size > i64::MAX as u64 {
        return Err(bad("size must be positive"));
    }
    if (p.size as i64) < m.min_position.max(1) {
        msg!("order size {} below the market's minimum {}", p.size, m.min_position);
        return err!(PerpError::PositionTooSmall);
    }
    if kind.has_limit() != (p.limit_price > 0) {
        return Err(bad("limit_price is required for limit kinds and must be 0 for market kinds"));
    }
    if kind.has_trigger() != (p.trigger_price > 0) {
        return Err(bad("trigger_price is required for stop and take-profit kinds and must be 0 for a limit"));
    }
    if kind.has_limit() && p.max_slippage != 0 {
        return Err(bad("max_slippage applies to the market kinds only"));
    }
    if p.max_slippage > MAX_ORDER_BAND as u64 {
        return Err(bad("max_slippage must be at most 0.5"));
    }
    if p.expiry != 0 && p.expiry <= now {
        return Err(bad("expiry must be 0 or in the future"));
    }
    Ok(())
}

/// Places a resting order. The market's filler reward is reserved from cross collateral, which
/// must keep the cross group's initial margin, or for a reduce-only order its maintenance margin
/// (remaining accounts, read-only: the market of every cross position, this order's market
/// included, each cached within its `max_age`; a reduce-only order takes older caches as a close
/// does).
pub fn handler<'info>(ctx: Context<'info, PlaceOrder<'info>>, params: PlaceOrderParams) -> Result<()> {
    let now = crate::engine::now()?;
    let key = ctx.accounts.margin_account.key();
    let m = ctx.accounts.market.load()?;
    let mut a = ctx.accounts.margin_account.load_mut()?;
    a.authorize_owner(&ctx.accounts.owner.key())?;
    require!(m.order_band > 0, PerpError::OrdersDisabled);
    validate(&params, &m, now)?;
    // a bankrupt account awaits auto-deleveraging: nothing may be reserved out of it
    require!(!a.is_bankrupt(), PerpError::AccountBankrupt);
    if !params.reduce_only {
        require!(!m.is_reduce_only(), PerpError::MarketReduceOnly);
    }
    if params.client_order_id != 0 && a.orders.iter().any(|o| o.in_use() && o.client_order_id == params.client_order_id)
    {
        return err!(PerpError::DuplicateClientOrderId);
    }
    let slot = a.orders.iter().position(|o| !o.in_use()).ok_or(PerpError::TooManyOrders)?;

    // the reward leaves margin now, so a fill can always pay it
    let reward = u64::try_from(m.filler_reward.max(0)).map_err(|_| PerpError::MathOverflow)?;
    let mut below_initial = false;
    if reward > 0 {
        a.cross_collateral = a.cross_collateral.checked_sub(reward as i64).ok_or(PerpError::MathOverflow)?;
        a.order_reserve = a.order_reserve.checked_add(reward).ok_or(PerpError::MathOverflow)?;
        // the reward must leave initial margin intact, as a withdrawal of it would; an order that
        // can only reduce (a stop-loss) may be placed on maintenance margin alone (and on caches
        // only a close would accept), its reward then paying a filler only for a fill
        let cross_parts = |need| -> Result<Parts> {
            let mut holders = [Holder::new(&a, Some((Group::Cross, need)))];
            load_other_markets(ctx.remaining_accounts, None, &mut holders, now)?;
            Ok(holders[0].parts)
        };
        let (h, initial_known) = match cross_parts(PriceNeed::Adding) {
            Ok(parts) => (group_health(&a, Group::Cross, &parts)?, true),
            Err(e)
                if params.reduce_only
                    && (e == error!(PerpError::StaleCachedIndex) || e == error!(PerpError::StaleCollateralPrice)) =>
            {
                (group_health(&a, Group::Cross, &cross_parts(PriceNeed::Tolerant)?)?, false)
            }
            Err(e) => return Err(e),
        };
        let meets_initial = initial_known && h.initial < perp_core::margin::NOT_COMPUTED && h.equity >= h.initial;
        let required = if params.reduce_only {
            below_initial = !meets_initial;
            h.maintenance
        } else {
            require_initial_known(&h)?;
            h.initial
        };
        if (a.cross_collateral < 0 && !a.has_collateral()) || h.equity < required {
            msg!(
                "reserving the filler reward {} leaves cross equity {} below {} (collateral {})",
                Quote(reward as i64),
                h.equity,
                required,
                Quote(a.cross_collateral)
            );
            return err!(PerpError::InsufficientMargin);
        }
    }
    let order_id = a.next_order_id.max(1);
    a.next_order_id = order_id.checked_add(1).ok_or(PerpError::MathOverflow)?;
    let mut flags = order_flags::IN_USE;
    if params.reduce_only {
        flags |= order_flags::REDUCE_ONLY;
    }
    if below_initial {
        flags |= order_flags::BELOW_INITIAL;
    }
    a.orders[slot] = Order {
        order_id,
        client_order_id: params.client_order_id,
        size: params.size,
        filled: 0,
        limit_price: params.limit_price,
        trigger_price: params.trigger_price,
        max_slippage: params.max_slippage,
        reward,
        expiry: params.expiry,
        placed_time: now,
        market_index: m.market_index,
        kind: params.order_type.kind() as u8,
        side: if params.side == OrderSide::Long { 1 } else { 2 },
        flags,
        _pad: [0; 3],
    };
    emit!(OrderPlaced {
        seq: a.next_seq()?,
        margin_account: key,
        order_id,
        client_order_id: params.client_order_id,
        market_index: m.market_index,
        kind: params.order_type.kind() as u8,
        side: a.orders[slot].side,
        size: params.size,
        limit_price: params.limit_price,
        trigger_price: params.trigger_price,
        max_slippage: params.max_slippage,
        reduce_only: params.reduce_only,
        expiry: params.expiry,
        reward,
    });
    Ok(())
}
