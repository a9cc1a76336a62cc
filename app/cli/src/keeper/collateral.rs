//! The keeper and listed collateral: it keeps every collateral's cached price fresh (margin
//! checks read the cache; withdrawals and liquidations need it refreshed within a few slots, new
//! risk and stop fills within its `max_age`), and sells the collateral of accounts that are below
//! maintenance and lack settlement (`liquidate_collateral`), before any position takeover of the
//! same pass: the program passes no deficit on while an account holds collateral.
//!
//! What it buys it holds, in its own margin account, where it counts as its collateral (at the
//! initial weight for its own new risk); the operator withdraws it (`perp withdraw --mint`) or
//! sells it elsewhere. Unwinding it on a DEX from the keeper is left out: the program has no
//! swap, and a swap route is the operator's choice.

use super::{Keeper, TickReport};
use perp::engine::health::{group_health, Group};
use perp::engine::markets::PriceNeed;
use perp::state::MarginAccount;
use perp_client::chain::{fetch_margin, Chain, ChainResult};
use perp_client::collateral::{collateral_metas, held, liquidate_collateral, refresh_collateral};
use perp_client::collateral_view::{collateral_health, Collaterals};
use perp_client::preview::{parts_for, settled, MarketState};
use perp_client::{ix, Instruction, Pubkey};
use perp_core::Quote;
use solana_signer::Signer;
use std::collections::BTreeMap;

/// The refresh of every listed collateral `accounts` hold (the program wants each refreshed within
/// a few slots of a liquidation or a withdrawal).
pub fn collateral_refreshes(accounts: &[&MarginAccount], collaterals: &Collaterals) -> Vec<Instruction> {
    let mut idx: Vec<u16> = accounts.iter().flat_map(|a| held(a)).collect();
    idx.sort_unstable();
    idx.dedup();
    idx.iter().filter_map(|i| collaterals.get(i).map(|c| refresh_collateral(*i, &oracle_keys(c)))).collect()
}

/// Every collateral `accounts` hold, each once: the metas a margin check of them needs.
pub fn held_metas(accounts: &[&MarginAccount]) -> Vec<perp_client::AccountMeta> {
    let mut idx: Vec<u16> = accounts.iter().flat_map(|a| held(a)).collect();
    idx.sort_unstable();
    idx.dedup();
    collateral_metas(&idx)
}

pub fn oracle_keys(c: &perp::state::Collateral) -> Vec<Pubkey> {
    c.oracles[..c.oracle_count()].iter().map(|o| o.key).collect()
}

/// Cross health with the collateral valued as `liquidate_collateral` values it, and what the
/// account lacks in settlement (its equity without the collateral, below zero).
pub fn sale_view(
    a: &MarginAccount,
    states: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> Option<(bool, Quote)> {
    let s = settled(a, states);
    let mut parts = parts_for(&s, states);
    let ch = collateral_health(&s, collaterals, PriceNeed::CollateralSale, now);
    parts.collateral = Some(ch);
    let h = group_health(&s, Group::Cross, &parts).ok()?;
    let owed = Quote((h.equity.0 - ch.equity.0).min(0).saturating_neg());
    Some((h.is_liquidatable(), owed))
}

impl<C: Chain> Keeper<C> {
    /// Refreshes every listed collateral whose cached price is older than half its `max_age`.
    pub async fn refresh_collaterals(&mut self, now: i64, collaterals: &Collaterals) {
        for (i, c) in collaterals {
            if now - c.last_price_time < (c.max_age / 2).max(1) {
                continue;
            }
            if self.send(&[refresh_collateral(*i, &oracle_keys(c))], "refresh_collateral", None, now).await.is_ok() {
                self.counters.collateral_refreshes += 1;
            }
        }
    }

    /// Sells the collateral of every account below maintenance that lacks settlement, the largest
    /// holding first (by maintenance value), one sale per account per pass.
    pub async fn liquidate_collateral_all(
        &mut self,
        now: i64,
        states: &BTreeMap<u16, MarketState>,
        accounts: &[(Pubkey, MarginAccount)],
        collaterals: &Collaterals,
        report: &mut TickReport,
    ) -> ChainResult<()> {
        let me = self.keypair.pubkey();
        let own = self.account;
        for (k, a) in accounts.iter().filter(|(k, a)| a.has_collateral() && *k != own) {
            let Some((true, owed)) = sale_view(a, states, collaterals, now) else {
                continue;
            };
            if owed.0 <= 0 || self.skipping(k, now) {
                continue;
            }
            let Ok(mine) = fetch_margin(&self.chain, &self.account).await else {
                return Ok(());
            };
            if mine.shares_control_with(a) {
                continue;
            }
            // the holding worth most for maintenance goes first
            let Some((ci, c)) =
                held(a).into_iter().filter_map(|i| collaterals.get(&i).map(|c| (i, c))).max_by_key(|(i, c)| {
                    perp_client::collateral_view::holding_counts(c, a.collateral_balance(*i), PriceNeed::Tolerant, now)
                        .map(|v| v.maintenance.0)
                        .unwrap_or(0)
                })
            else {
                continue;
            };
            let mut markets = ix::cross_markets(a, None);
            for m in ix::cross_markets(&mine, None) {
                if !markets.contains(&m) {
                    markets.push(m);
                }
            }
            let mut txs: Vec<Instruction> = markets
                .iter()
                .filter_map(|i| states.get(i).map(|s| ix::update_funding(*i, &ix::market_oracles(&s.market))))
                .collect();
            txs.extend(collateral_refreshes(&[a, &mine], collaterals));
            let mut others: Vec<u16> = held(a).into_iter().chain(held(&mine)).filter(|i| *i != ci).collect();
            others.sort_unstable();
            others.dedup();
            txs.push(liquidate_collateral(me, *k, self.account, ci, c.insurance_market, u64::MAX, &markets, &others));
            tracing::info!(target: "keeper", account = %k, collateral = ci, owed = %owed, "liquidating collateral");
            if self.send(&txs, "liquidate_collateral", Some(*k), now).await.is_ok() {
                self.counters.collateral_liquidations += 1;
                let after = fetch_margin(&self.chain, k).await?;
                report.collateral_liquidated.push((*k, ci, a.collateral_balance(ci) - after.collateral_balance(ci)));
            }
        }
        Ok(())
    }
}
