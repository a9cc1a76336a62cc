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
    /// With each open, a stop-loss this share (percent) of the way from the price to the
    /// position's liquidation price, and a take-profit this multiple (percent) of that distance on
    /// the other side.
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

    /// After an open: a stop-loss and a take-profit on the whole position, placed as a trader
    /// would, between the price and the liquidation price (which perp-core computes as the
    /// program will enforce it).
    pub(super) async fn protect(&mut self, who: usize, acct: &MarginAccount, index: Price) {
        let Some((stop_pct, tp_pct)) = self.traders[who].orders.protect else { return };
        let Some(slot) = acct.find(0) else { return };
        let base = acct.positions[slot].base;
        if base == 0 || acct.positions[slot].is_isolated() {
            return;
        }
        let Ok(m) = perp_client::chain::fetch_market(&self.boot.chain, 0).await else { return };
        let tiers = &m.tiers()[..m.tier_count()];
        let lp = perp_core::liquidation::liquidation_price(
            &acct.positions[slot].state(),
            perp_core::Quote(acct.cross_collateral),
            tiers,
        );
        // the distance to liquidation, or 10% when there is none (a fully collateralized position)
        let dist = match lp {
            Ok(Some(l)) => (index.0 as i128 - l.price.0 as i128).abs(),
            _ => index.0 as i128 / 10,
        };
        let stop_d = dist * stop_pct as i128 / 100;
        let tp_d = stop_d * tp_pct as i128 / 100;
        let at = |d: i128| Price((index.0 as i128 + d).max(1) as u64);
        let (side, sl, tp) =
            if base > 0 { (OrderSide::Long, at(-stop_d), at(tp_d)) } else { (OrderSide::Short, at(stop_d), at(-tp_d)) };
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
