//! The trader population: who trades what, sized by the same margin tiers the program enforces.

use super::config::{BTC, USDC};
use super::world::Sim;
use perp::instructions::{OrderParams, OrderSide};
use perp::state::MarginAccount;
use perp_client::bank::BankUser;
use perp_client::chain::{fetch_market, Chain, SendOptions};
use perp_client::preview::{account_health, MarketState};
use perp_client::{ix, Pubkey};
use perp_core::margin::{requirement, MarginKind, Tier};
use perp_core::{Price, Quote};
use rand::Rng;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub(super) enum Strategy {
    /// Long when the fast moving average is above the slow one, short below.
    Trend { fast: usize, slow: usize, leverage: i64 },
    /// Fades moves away from a moving average.
    MeanRevert { window: usize, threshold_bp: i64, leverage: i64 },
    /// Opens and closes small random positions.
    Noise { leverage: i64 },
    /// Takes a random side at the maximum leverage allowed and holds it (until liquidated or
    /// a take-profit of `take_profit_bp`).
    Degen { take_profit_bp: i64 },
    /// Trades the vAMM toward the index when they differ by more than 0.1%.
    Arb,
}

pub(super) struct Trader {
    pub user: BankUser,
    pub strategy: Strategy,
    pub orders: super::orders::OrderHabits,
}

pub(super) fn f(p: Price) -> f64 {
    p.0 as f64 / 1e6
}

fn ma(v: &[f64], n: usize) -> Option<f64> {
    (v.len() >= n && n > 0).then(|| v[v.len() - n..].iter().sum::<f64>() / n as f64)
}

/// Largest notional whose initial margin fits in `budget`.
pub(super) fn max_notional(tiers: &[Tier], budget: Quote) -> Quote {
    let (mut lo, mut hi) = (0i64, 100_000_000 * USDC);
    while hi - lo > USDC {
        let mid = lo + (hi - lo) / 2;
        if requirement(tiers, Quote(mid), MarginKind::Initial).map(|r| r <= budget).unwrap_or(false) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Quote(lo)
}

impl Sim {
    pub async fn order(
        &mut self,
        who: usize,
        side: OrderSide,
        size: i64,
        reduce_only: bool,
        m: &perp::state::Market,
        acct: &MarginAccount,
    ) -> bool {
        if size < 1_000_000 {
            return false;
        }
        let t = match (who, &self.arb) {
            (usize::MAX, Some(a)) => a,
            (usize::MAX, None) => return false,
            _ => &self.traders[who],
        };
        let p = OrderParams {
            side,
            size: size as u64,
            limit_price: 0,
            reduce_only,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 0,
        };
        let i = ix::place_market_order(
            t.user.key(),
            t.user.account,
            0,
            &ix::market_oracles(m),
            &ix::position_markets(acct, Some(0)),
            p,
        );
        match self.boot.chain.send(&[i], &[&t.user.kp], &SendOptions::default()).await {
            Ok(_) => {
                self.summary.trades += 1;
                true
            }
            Err(e) => {
                self.summary.rejected_orders += 1;
                let name = e.program_error_name().unwrap_or("other").to_string();
                *self.summary.rejections.entry(name).or_default() += 1;
                false
            }
        }
    }

    async fn after_open(&mut self, i: usize, index: Price) {
        if self.traders[i].orders.protect.is_none() {
            return;
        }
        if let Ok(a) = perp_client::chain::fetch_margin(&self.boot.chain, &self.traders[i].user.account).await {
            self.protect(i, &a, index).await;
        }
    }

    pub async fn traders_act(&mut self, state: &MarketState, accounts: &BTreeMap<Pubkey, MarginAccount>) {
        let m = state.market;
        let index = f(state.index);
        let tiers: Vec<Tier> = state.view.tiers().to_vec();
        let states = BTreeMap::from([(0u16, state.clone())]);
        // the arbitrageur keeps the vAMM near the index
        if let Some(acct) = self.arb.as_ref().and_then(|a| accounts.get(&a.user.account)) {
            let vp = m.vamm().price().map(f).unwrap_or(index);
            if (vp - index).abs() / index > 0.001 {
                if let Ok(d) = m.vamm().size_to_price(state.index) {
                    let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
                    let acct = *acct;
                    self.order(usize::MAX, side, d.0.abs(), false, &m, &acct).await;
                }
            }
        }
        let fresh = fetch_market(&self.boot.chain, 0).await.unwrap_or(m);
        for i in 0..self.traders.len() {
            let Some(acct) = accounts.get(&self.traders[i].user.account).copied() else {
                continue;
            };
            if acct.is_bankrupt() {
                continue;
            }
            let pos = acct.find(0).map(|s| acct.positions[s].base).unwrap_or(0);
            let h = account_health(&acct, &states);
            let equity = h.cross.equity;
            if equity.0 < 200 * USDC && pos == 0 {
                continue; // busted
            }
            let target_notional = |lev: i64| -> Quote {
                let want = Quote(equity.0.max(0).saturating_mul(lev));
                want.min(max_notional(&tiers, Quote(equity.0 * 9 / 10)))
            };
            // size for a notional: base = notional / price
            let base_for = |q: Quote| -> i64 { ((q.0 as i128 * BTC as i128) / state.index.0.max(1) as i128) as i64 };
            let target: Option<i64> = match self.traders[i].strategy.clone() {
                Strategy::Trend { fast, slow, leverage } => match (ma(&self.history, fast), ma(&self.history, slow)) {
                    (Some(a), Some(b)) => {
                        let dir = if a > b { 1 } else { -1 };
                        if pos.signum() == dir {
                            None
                        } else {
                            Some(dir * base_for(target_notional(leverage)))
                        }
                    }
                    _ => None,
                },
                Strategy::MeanRevert { window, threshold_bp, leverage } => ma(&self.history, window).and_then(|avg| {
                    let dev_bp = ((index - avg) / avg * 10_000.0) as i64;
                    if dev_bp > threshold_bp && pos >= 0 {
                        Some(-base_for(target_notional(leverage)))
                    } else if dev_bp < -threshold_bp && pos <= 0 {
                        Some(base_for(target_notional(leverage)))
                    } else if dev_bp.abs() < threshold_bp / 3 && pos != 0 {
                        Some(0)
                    } else {
                        None
                    }
                }),
                Strategy::Noise { leverage } => {
                    let r: f64 = self.rng.gen();
                    if r < 0.01 {
                        let dir = if self.rng.gen_bool(0.5) { 1 } else { -1 };
                        Some(dir * base_for(target_notional(leverage)) / 4)
                    } else if r < 0.02 && pos != 0 {
                        Some(0)
                    } else {
                        None
                    }
                }
                Strategy::Degen { take_profit_bp } => {
                    if pos == 0 {
                        (self.rng.gen::<f64>() < 0.02).then(|| {
                            let dir = if self.rng.gen_bool(0.5) { 1 } else { -1 };
                            dir * base_for(target_notional(50))
                        })
                    } else {
                        let p = acct.positions[acct.find(0).unwrap_or(0)].state();
                        let gain_bp = p
                            .upnl(state.view.mark)
                            .map(|u| u.0 as i128 * 10_000 / p.entry_value().map(|e| e.0.max(1)).unwrap_or(1) as i128)
                            .unwrap_or(0);
                        (gain_bp as i64 > take_profit_bp).then_some(0)
                    }
                }
                Strategy::Arb => None,
            };
            if matches!(self.traders[i].strategy, Strategy::Noise { .. }) {
                let size = base_for(target_notional(2)) / 4;
                self.quote(i, &acct, state.index, size).await;
            }
            let Some(target) = target else { continue };
            let delta = target - pos;
            if delta == 0 {
                continue;
            }
            // a close or a flip by hand takes the position's orders with it
            if pos != 0 && (target == 0 || target.signum() != pos.signum()) {
                self.cancel_all_orders(i, &acct).await;
            }
            let opens = target != 0 && (pos == 0 || target.signum() != pos.signum() || target.abs() > pos.abs());
            let side = if delta > 0 { OrderSide::Long } else { OrderSide::Short };
            // close first when flipping, so the reduce never needs margin
            if pos != 0 && target.signum() != pos.signum() {
                let close_side = if pos > 0 { OrderSide::Short } else { OrderSide::Long };
                if !self.order(i, close_side, pos.abs(), true, &fresh, &acct).await {
                    continue;
                }
                if target != 0 {
                    let a2 = perp_client::chain::fetch_margin(&self.boot.chain, &self.traders[i].user.account)
                        .await
                        .unwrap_or(acct);
                    if self.order(i, side, target.abs(), false, &fresh, &a2).await && opens {
                        self.after_open(i, state.index).await;
                    }
                }
            } else if self.order(i, side, delta.abs(), delta.signum() != target.signum(), &fresh, &acct).await && opens
            {
                self.after_open(i, state.index).await;
            }
        }
    }
}
