//! The fuzzer's resting-order actions: placing every kind (triggers and limits around the true
//! price, reduce-only or not, expiring or not), the owner's cancels, and a keeper pass that tries
//! to fill every open order of a market. The invariants they must keep are checked after every
//! step with the others (`check_orders`, docs/invariants.md 14).

use crate::exec::{outcome, Outcome};
use crate::model::*;
use crate::world::{Fz, SIZE_STEP};
use perp::instructions::{OrderSide, OrderType, OrdersToCancel, PlaceOrderParams};
use perp_client::ix;
use perp_client::orders::{cancel_orders, fill_order, place_order};

impl Fz {
    /// Places an order of `kind` (0..5) around the true price: the trigger `trigger_bps` away, the
    /// limit `limit_bps` away (both signed), expiring in `expiry` seconds (0 = never).
    #[allow(clippy::too_many_arguments)]
    pub async fn place(
        &mut self,
        u: u8,
        m: u16,
        kind: u8,
        long: bool,
        milli: u16,
        bps: (i16, i16),
        reduce: bool,
        expiry: u16,
    ) -> Outcome {
        let us = self.user(u);
        let mi = m as usize;
        let px = self.price[mi].0 as i128;
        let at = |b: i16| (px * (10_000 + b as i128) / 10_000).max(1) as u64;
        let order_type = [
            OrderType::Limit,
            OrderType::StopMarket,
            OrderType::TakeProfitMarket,
            OrderType::StopLimit,
            OrderType::TakeProfitLimit,
        ][(kind % 5) as usize];
        let k = order_type.kind();
        let p = PlaceOrderParams {
            order_type,
            side: if long { OrderSide::Long } else { OrderSide::Short },
            size: milli as u64 * SIZE_STEP[mi] as u64,
            limit_price: if k.has_limit() { at(bps.1) } else { 0 },
            trigger_price: if k.has_trigger() { at(bps.0) } else { 0 },
            max_slippage: 0,
            reduce_only: reduce,
            expiry: if expiry == 0 { 0 } else { self.env.now + expiry as i64 },
            client_order_id: 0,
        };
        let acct = self.env.margin(&us.account).await;
        let i = place_order(us.key(), us.account, m, &ix::cross_markets(&acct, None), p);
        outcome(self.tx(&[i], &[&us.kp]).await)
    }

    /// The owner cancels its first open order by id (`all`: every order).
    pub async fn cancel(&mut self, u: u8, all: bool) -> Outcome {
        let us = self.user(u);
        let acct = self.env.margin(&us.account).await;
        let which = match acct.orders.iter().find(|o| o.in_use()) {
            Some(o) if !all => OrdersToCancel::ById(o.order_id),
            _ => OrdersToCancel::All { market_index: None },
        };
        outcome(self.env.send(&[cancel_orders(us.key(), us.account, which)], &[&us.kp]).await)
    }

    /// A keeper pass (the liquidator's account) over every open order of market `m`: each fill is
    /// its own transaction; the outcome is the last one's (a failed one is checked to change
    /// nothing here, as `run` does for single transactions).
    pub async fn fill_pass(&mut self, m: u16) -> Outcome {
        let k = self.user(LIQUIDATOR as u8);
        let mk = self.env.market(m).await;
        let mut out = Outcome::Env;
        for u in 0..USERS {
            let us = self.user(u);
            let acct = self.env.margin(&us.account).await;
            for o in acct.orders.iter().filter(|o| o.in_use() && o.market_index == m) {
                let before = self.snapshot().await;
                let i = fill_order(
                    k.key(),
                    k.account,
                    us.account,
                    m,
                    &ix::market_oracles(&mk),
                    &ix::position_markets(&acct, Some(m)),
                    o.order_id,
                );
                out = outcome(self.tx(&[i], &[&k.kp]).await);
                match out {
                    Outcome::Ok => self.stats.order_fills += 1,
                    Outcome::Err(c) => {
                        let after = self.snapshot().await;
                        assert!(
                            before == after,
                            "invariant_failed_changes_nothing: a refused fill_order ({c:?}) changed state"
                        );
                        self.stats.unchanged_checks += 1;
                    }
                    Outcome::Env => {}
                }
            }
        }
        out
    }

    /// Rule 14: every account's reserve is exactly the rewards of its open orders; ids are
    /// unique and below the next id; every open order is on an existing market with a size.
    pub async fn check_orders(&mut self) {
        for (k, a) in self.accounts().await {
            let open: Vec<_> = a.orders.iter().filter(|o| o.in_use()).collect();
            let sum: u64 = open.iter().map(|o| o.reward).sum();
            assert_eq!(a.order_reserve, sum, "invariant_order_reserve: account {k}");
            for (i, o) in open.iter().enumerate() {
                assert!(o.order_id >= 1 && o.order_id < a.next_order_id.max(1), "invariant_order_ids: {k}");
                assert!(open[..i].iter().all(|p| p.order_id != o.order_id), "invariant_order_ids: {k} repeats");
                assert!(o.size > 0 && (o.market_index as u8) < MARKETS, "invariant_order_shape: {k} {o:?}");
            }
            for o in a.orders.iter().filter(|o| !o.in_use()) {
                assert_eq!(*o, perp::state::Order::default(), "invariant_order_shape: a free slot is zeroed ({k})");
            }
        }
    }
}
