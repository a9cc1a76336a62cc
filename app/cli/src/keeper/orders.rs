//! The keeper's order filler: every open order that `fill_order` would fill (or cancel for the
//! reward: expired, unfillable, nothing to reduce) by the program's own rules
//! (`perp_client::orders::order_status`), after liquidations in the same pass, so an account
//! below maintenance is liquidated before its orders are touched.

use super::{Keeper, TickReport};
use perp::state::MarginAccount;
use perp_client::chain::{fetch_margin, fetch_market, Chain, ChainResult};
use perp_client::orders::{fill_order, order_status, OrderStatus};
use perp_client::preview::MarketState;
use perp_client::{ix, Pubkey};
use solana_signer::Signer;
use std::collections::BTreeMap;

impl<C: Chain> Keeper<C> {
    /// Fills, and cancels for the reward, every order that can be now. An order whose fills keep
    /// failing is skipped like an account (`max_failures`, then `skip_seconds`).
    pub async fn fill_orders(
        &mut self,
        now: i64,
        states: &BTreeMap<u16, MarketState>,
        accounts: &[(Pubkey, MarginAccount)],
        collaterals: &perp_client::collateral_view::Collaterals,
        report: &mut TickReport,
    ) -> ChainResult<()> {
        let me = self.keypair.pubkey();
        let Ok(mine) = fetch_margin(&self.chain, &self.account).await else {
            return Ok(());
        };
        // fills change the curve: later orders of the pass are judged on the market as it is then
        let mut states = states.clone();
        for (k, a0) in accounts {
            // an account the keeper controls pays it nothing (the program returns the rewards to
            // it): anyone could otherwise make the keeper work for free by naming it delegate
            if !a0.has_orders() || a0.shares_control_with(&mine) {
                continue;
            }
            // the account as this pass left it: a fill or cancel of one order changes the next's
            let mut a = *a0;
            for o in a0.orders.iter().filter(|o| o.in_use()) {
                if a.find_order(o.order_id).is_none() {
                    continue;
                }
                let Some(ms) = states.get(&o.market_index) else {
                    continue;
                };
                if !self.wanted(&ms.market) {
                    continue;
                }
                let status = order_status(&a, o, &states, collaterals, now);
                // a fill, a paid cancel, or marking a stop-limit triggered (a quarter of its reward)
                if !status.pays(o) {
                    continue;
                }
                let key = (*k, o.order_id);
                if self.order_skipping(key, now) {
                    continue;
                }
                let mut i = fill_order(
                    me,
                    self.account,
                    *k,
                    o.market_index,
                    &ix::market_oracles(&ms.market),
                    &ix::position_markets(&a, Some(o.market_index)),
                    o.order_id,
                );
                i.accounts.extend(super::collateral::held_metas(&[&a]));
                tracing::info!(target: "keeper", account = %k, order = o.order_id, market = o.market_index, status = ?status, "filling order");
                match self.send(&[i], "fill_order", None, now).await {
                    Ok(()) => {
                        self.order_failing.remove(&key);
                        let Ok(after) = fetch_margin(&self.chain, k).await else {
                            continue;
                        };
                        let base = |x: &MarginAccount| x.find(o.market_index).map(|s| x.positions[s].base).unwrap_or(0);
                        let traded = base(&a) != base(&after);
                        let still = after.find_order(o.order_id).map(|s| after.orders[s]);
                        // what the program did, read from the account: a fill (the position moved),
                        // a mark (the order is still there, now triggered), or a cancel (gone)
                        let status = match (traded, still) {
                            (true, _) => status,
                            (false, Some(x)) if x.triggered() && !o.triggered() => OrderStatus::Trigger,
                            (false, Some(_)) => status,
                            (false, None) if matches!(status, OrderStatus::Fillable { .. } | OrderStatus::Trigger) => {
                                OrderStatus::NothingToReduce
                            }
                            (false, None) => status,
                        };
                        match status {
                            OrderStatus::Fillable { .. } if traded => {
                                let filled = (base(&a) - base(&after)).unsigned_abs();
                                if o.trigger_price > 0 && !o.triggered() {
                                    self.counters.orders_triggered += 1;
                                }
                                self.counters.orders_filled += 1;
                                report.orders_filled.push((*k, o.order_id, filled, o.kind));
                            }
                            OrderStatus::Trigger => {
                                self.counters.orders_triggered += 1;
                            }
                            OrderStatus::Expired => {
                                self.counters.orders_expired += 1;
                                report.orders_cancelled.push((*k, o.order_id));
                            }
                            _ => {
                                self.counters.orders_cancelled += 1;
                                report.orders_cancelled.push((*k, o.order_id));
                            }
                        }
                        a = after;
                        if traded {
                            if let (Ok(m), Some(st)) =
                                (fetch_market(&self.chain, o.market_index).await, states.get_mut(&o.market_index))
                            {
                                st.market = m;
                            }
                        }
                    }
                    Err(e) => {
                        if e.is_payer_or_node() {
                            return Ok(());
                        }
                        // the price moved or the index is settling between the read and the fill:
                        // not the order's fault, but a view that keeps disagreeing with the
                        // program's is retried only every 30 s
                        let not_yet = matches!(
                            e.program_error_name(),
                            Some(
                                "OrderPriceNotReached"
                                    | "OrderNotTriggered"
                                    | "IndexDivergesFromTwap"
                                    | "TooFewSources"
                                    | "StaleCachedIndex"
                                    | "AccountLiquidatable"
                                    | "VammDisplaced"
                                    | "MarketPaused"
                            )
                        );
                        let skip = if not_yet { self.cfg.skip_seconds.min(30) } else { self.cfg.skip_seconds };
                        let entry = self.order_failing.entry(key).or_insert((0, 0));
                        entry.0 += 1;
                        if entry.0 >= self.cfg.max_failures {
                            entry.1 = now + skip;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn order_skipping(&mut self, key: (Pubkey, u64), now: i64) -> bool {
        match self.order_failing.get(&key) {
            Some((n, until)) if *n >= self.cfg.max_failures && now < *until => {
                self.counters.skipped += 1;
                true
            }
            Some((n, _)) if *n >= self.cfg.max_failures => {
                self.order_failing.remove(&key);
                false
            }
            _ => false,
        }
    }
}
