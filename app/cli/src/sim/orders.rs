//! The replay's resting orders: a third of the traders protect every position they open with a
//! stop-loss and a take-profit (reduce-only, on the oracle index), and some noise traders keep a
//! resting limit order near the price that expires if nothing fills it. The keeper's own pass
//! fills, triggers and cancels them, as `perp keeper` does on a cluster.

use super::world::Sim;
use perp::instructions::{OrderSide, OrderType, OrdersToCancel, PlaceOrderParams};
use perp::state::MarginAccount;
use perp_client::chain::{Chain, SendOptions};
use perp_client::orders::{bracket, cancel_orders, place_order};
use perp_core::Price;

/// How a trader uses resting orders.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct OrderHabits {
    /// Stop-loss and take-profit distances from the entry (basis points), placed with each open.
    pub protect: Option<(i64, i64)>,
    /// Keeps a resting limit order this many basis points from the index (noise traders).
    pub quote_bp: Option<i64>,
}

impl Sim {
    async fn send_order_ixs(&mut self, who: usize, ixs: Vec<perp_client::Instruction>) -> bool {
        let kp = &self.traders[who].user.kp;
        match self.boot.chain.send(&ixs, &[kp], &SendOptions::default()).await {
            Ok(_) => true,
            Err(e) => {
                let name = e.program_error_name().unwrap_or("other").to_string();
                *self.summary.rejections.entry(name).or_default() += 1;
                self.summary.rejected_orders += 1;
                false
            }
        }
    }

    /// The trader's own cancel of all its orders (before it closes or flips by hand).
    pub(super) async fn cancel_all_orders(&mut self, who: usize, acct: &MarginAccount) {
        let n = acct.orders.iter().filter(|o| o.in_use()).count() as u64;
        if n == 0 {
            return;
        }
        let u = &self.traders[who].user;
        let i = cancel_orders(u.key(), u.account, OrdersToCancel::All { market_index: None });
        if self.send_order_ixs(who, vec![i]).await {
            self.summary.orders_cancelled_by_owner += n;
        }
    }

    /// After an open: a stop-loss and a take-profit on the whole position.
    pub(super) async fn protect(&mut self, who: usize, acct: &MarginAccount, index: Price) {
        let Some((stop_bp, tp_bp)) = self.traders[who].orders.protect else { return };
        let Some(slot) = acct.find(0) else { return };
        let base = acct.positions[slot].base;
        if base == 0 {
            return;
        }
        let at = |bp: i64| Price((index.0 as i128 * (10_000 + bp) as i128 / 10_000) as u64);
        let (side, sl, tp) = if base > 0 {
            (OrderSide::Long, at(-stop_bp), at(tp_bp))
        } else {
            (OrderSide::Short, at(stop_bp), at(-tp_bp))
        };
        self.cancel_all_orders(who, acct).await;
        let u = &self.traders[who].user;
        let ixs: Vec<_> = bracket(side, base.unsigned_abs(), Some(sl.0), Some(tp.0))
            .into_iter()
            .map(|p| place_order(u.key(), u.account, 0, &[0], p))
            .collect();
        if self.send_order_ixs(who, ixs).await {
            self.summary.orders_placed += 2;
        }
    }

    /// A noise trader with no order resting places a limit `quote_bp` from the index on a random
    /// side, for 30 to 120 minutes.
    pub(super) async fn quote(&mut self, who: usize, acct: &MarginAccount, index: Price, size: i64) {
        use rand::Rng;
        let Some(bp) = self.traders[who].orders.quote_bp else { return };
        if acct.has_orders() || size < 1_000_000 || self.rng.gen::<f64>() > 0.05 {
            return;
        }
        let Ok(now) = self.boot.chain.unix_time().await else { return };
        let long = self.rng.gen_bool(0.5);
        let off = if long { -bp } else { bp };
        let limit = Price((index.0 as i128 * (10_000 + off) as i128 / 10_000) as u64);
        let p = PlaceOrderParams {
            order_type: OrderType::Limit,
            side: if long { OrderSide::Long } else { OrderSide::Short },
            size: size as u64,
            limit_price: limit.0,
            trigger_price: 0,
            max_slippage: 0,
            reduce_only: false,
            expiry: now + 60 * self.rng.gen_range(30..=120),
            client_order_id: 0,
        };
        let cross: Vec<u16> = if acct.find(0).is_some() { vec![0] } else { vec![] };
        let u = &self.traders[who].user;
        let i = place_order(u.key(), u.account, 0, &cross, p);
        if self.send_order_ixs(who, vec![i]).await {
            self.summary.orders_placed += 1;
        }
    }
}
