//! Resting orders from the client's side: instruction builders, and what `fill_order` would do
//! with an order now (the keeper fills what this says is fillable; the CLI shows it), computed
//! with the program's own rules (`perp_core::orders`, the market's cached-index arithmetic).

use crate::ix::{build, market_metas, oracle_metas};
use crate::pda;
use crate::preview::{account_health, MarketState};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perp::instructions::{OrderSide, OrderType, OrdersToCancel, PlaceOrderParams};
use perp::state::{MarginAccount, Market, Order};
use perp_core::orders::{
    fill_bound, index_diverges, max_size_within, order_fill_size, trigger_met, vamm_displaced, OrderKind,
};
use perp_core::{Base, Price, Quote, Rate};
use std::collections::BTreeMap;

/// `place_order`: `cross_markets` are the markets of every cross position of the account (this
/// order's market included when held), read to check the reserved reward against initial margin.
pub fn place_order(
    owner: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    cross_markets: &[u16],
    params: PlaceOrderParams,
) -> Instruction {
    build(
        perp::accounts::PlaceOrder { owner, market: pda::market(market_index), margin_account },
        perp::instruction::PlaceOrder { params },
        market_metas(cross_markets),
    )
}

pub fn cancel_orders(owner: Pubkey, margin_account: Pubkey, which: OrdersToCancel) -> Instruction {
    build(
        perp::accounts::CancelOrdersAccounts { owner, margin_account },
        perp::instruction::CancelOrders { which },
        vec![],
    )
}

/// `fill_order`: the market's oracles, then the markets of the order group's other positions.
#[allow(clippy::too_many_arguments)]
pub fn fill_order(
    filler: Pubkey,
    filler_account: Pubkey,
    margin_account: Pubkey,
    market_index: u16,
    oracles: &[Pubkey],
    other_markets: &[u16],
    order_id: u64,
) -> Instruction {
    let mut rem = oracle_metas(oracles);
    rem.extend(market_metas(other_markets));
    build(
        perp::accounts::FillOrder {
            filler,
            exchange: pda::exchange(),
            market: pda::market(market_index),
            margin_account,
            filler_account,
        },
        perp::instruction::FillOrder { order_id },
        rem,
    )
}

/// The stop-loss and take-profit orders that protect a position of `size` on `side` (the
/// position's side): reduce-only, market kinds within `max_slippage` of the index (0 = the
/// market's band). Sent after the opening market order in the same transaction, they attach to
/// the position it opened (`perp order place --stop-loss/--take-profit`).
pub fn bracket(side: OrderSide, size: u64, stop_loss: Option<u64>, take_profit: Option<u64>) -> Vec<PlaceOrderParams> {
    let close = if side == OrderSide::Long { OrderSide::Short } else { OrderSide::Long };
    let mk = |order_type, trigger_price| PlaceOrderParams {
        order_type,
        side: close,
        size,
        limit_price: 0,
        trigger_price,
        max_slippage: 0,
        reduce_only: true,
        expiry: 0,
        client_order_id: 0,
    };
    let mut v = Vec::new();
    if let Some(p) = stop_loss {
        v.push(mk(OrderType::StopMarket, p));
    }
    if let Some(p) = take_profit {
        v.push(mk(OrderType::TakeProfitMarket, p));
    }
    v
}

/// What `fill_order` would do with an order now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Fills `size` within `bound`.
    Fillable { size: Base, bound: Price },
    /// Cancelled for the reward: expired.
    Expired,
    /// Cancelled for the reward: a reduce-only order with nothing to reduce.
    NothingToReduce,
    /// Waiting: the trigger has not fired.
    NotTriggered,
    /// Waiting: the vAMM cannot fill within the bound.
    PriceNotReached { available: Base, bound: Price },
    /// Waiting: no live index, or it diverges from its time-weighted value.
    IndexUnusable(String),
    /// Waiting: the order's margin group is below maintenance (liquidation first).
    Liquidatable,
    /// Waiting: the market is paused by its admin.
    Paused,
    /// Waiting: the vAMM sits more than half the band beyond the index against the order.
    VammDisplaced,
    /// A stop-limit or take-profit-limit whose trigger fires now while its limit is out of reach:
    /// `fill_order` marks it triggered for a quarter of its reward (none when placed short of
    /// initial margin); it then rests as a limit order.
    Trigger,
}

impl OrderStatus {
    /// `fill_order` would do something with the order now.
    pub fn actionable(&self) -> bool {
        matches!(
            self,
            OrderStatus::Fillable { .. } | OrderStatus::Expired | OrderStatus::NothingToReduce | OrderStatus::Trigger
        )
    }

    /// A filler earns the reward by sending `fill_order` now: a fill, or a cancel of an order
    /// placed with initial margin (one placed short of it refunds its owner when cancelled).
    pub fn pays(&self, o: &Order) -> bool {
        match self {
            OrderStatus::Fillable { .. } => true,
            OrderStatus::Expired | OrderStatus::NothingToReduce | OrderStatus::Trigger => {
                o.flags & perp::state::order_flags::BELOW_INITIAL == 0
                    && (*self != OrderStatus::Trigger || o.reward >= 4)
            }
            _ => false,
        }
    }
}

pub fn kind_name(o: &Order) -> &'static str {
    OrderKind::from_u8(o.kind).map(|k| k.name()).unwrap_or("?")
}

/// The index `fill_order` would use and whether it may: live, and within the market's
/// `trigger_max_divergence` of its time-weighted value once cached.
pub fn order_index(ms: &MarketState, now: i64) -> Result<Price, String> {
    if !ms.live {
        return Err("no live index (too few fresh sources)".into());
    }
    let mut m: Market = ms.market;
    m.cache_index(ms.index, now, now, 0).map_err(|e| e.to_string())?;
    let twap = m.index_twap_now(now).map_err(|e| e.to_string())?;
    if index_diverges(ms.index, twap, Rate(m.trigger_max_divergence)) {
        return Err(format!(
            "index {} beyond {} of its time-weighted value {}",
            ms.index,
            Rate(m.trigger_max_divergence),
            twap
        ));
    }
    Ok(ms.index)
}

/// What `fill_order` would do with `o` (an open order of `acct`) given the markets' states now.
pub fn order_status(
    acct: &MarginAccount,
    o: &Order,
    markets: &BTreeMap<u16, MarketState>,
    collaterals: &crate::collateral_view::Collaterals,
    now: i64,
) -> OrderStatus {
    if o.expired(now) {
        return OrderStatus::Expired;
    }
    let Some(ms) = markets.get(&o.market_index) else {
        return OrderStatus::IndexUnusable("market not loaded".into());
    };
    let index = match order_index(ms, now) {
        Ok(p) => p,
        Err(e) => return OrderStatus::IndexUnusable(e),
    };
    let Ok(spec) = o.spec() else {
        return OrderStatus::IndexUnusable("unknown order kind".into());
    };
    if spec.kind.has_trigger() && !o.triggered() && !trigger_met(&spec, index) {
        return OrderStatus::NotTriggered;
    }
    let m = &ms.market;
    if m.is_paused(now) {
        return OrderStatus::Paused;
    }
    let slot = acct.find(o.market_index);
    let pos = slot.map(|i| acct.positions[i].base).unwrap_or(0);
    let side = spec.side;
    let reduces = pos != 0 && (pos > 0) != (side == perp_core::vamm::Side::Long);
    let left = Base(o.size as i64);
    let against = Base(if reduces { pos.abs() } else { 0 });
    if o.reduce_only() && !reduces {
        return OrderStatus::NothingToReduce;
    }
    let Ok(bound) = fill_bound(&spec, index, Rate(m.order_band)) else {
        return OrderStatus::IndexUnusable("orders disabled on this market".into());
    };
    let mid = m.vamm().price().unwrap_or(index);
    let displaced = vamm_displaced(side, mid, index, Rate(m.order_band)).unwrap_or(false);
    let latch = spec.kind.has_trigger() && !o.triggered() && spec.kind.has_limit();
    if displaced && !(o.reduce_only() && spec.kind.has_trigger()) {
        return if latch { OrderStatus::Trigger } else { OrderStatus::VammDisplaced };
    }
    let probe = if o.reduce_only() { Base(left.0.max(against.0)) } else { left };
    let available = max_size_within(&m.vamm(), side, bound, probe).unwrap_or(Base(0));
    let Some(size) = order_fill_size(left, available, Base(m.min_position), against, o.reduce_only()) else {
        return if latch { OrderStatus::Trigger } else { OrderStatus::PriceNotReached { available, bound } };
    };
    // the order's own margin group below maintenance: liquidation first (listed collateral valued
    // as the program's reducing-fill check values it)
    let h = account_health(acct, markets);
    let cross_collateral =
        crate::collateral_view::collateral_health(acct, collaterals, perp::engine::markets::PriceNeed::Lenient, now);
    let below = match slot {
        Some(i) if acct.positions[i].is_isolated() => h.isolated.iter().any(|(s, g)| *s == i && g.is_liquidatable()),
        // as the program: the orders' reserve counts (a liquidation releases it first)
        _ => {
            let mut c = h.cross;
            c.equity = Quote(c.equity.0.saturating_add(acct.order_reserve as i64));
            let _ = c.merge(&cross_collateral);
            c.is_liquidatable()
        }
    };
    if below {
        return OrderStatus::Liquidatable;
    }
    OrderStatus::Fillable { size, bound }
}
