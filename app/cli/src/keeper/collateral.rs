//! The keeper and listed collateral: it keeps every collateral's cached price fresh (margin
//! checks read the cache; withdrawals and liquidations need it refreshed within a few slots, new
//! risk and stop fills within its `max_age`), and sells the collateral of accounts that are below
//! maintenance and lack settlement (`liquidate_collateral`), before any position takeover of the
//! same pass: the program passes no deficit on while an account holds collateral.
//!
//! What it buys arrives in a token account of its own for that mint (derived from its key with a
//! seed, created on first use), never in its margin account, so a late collateral feed never
//! holds the keeper's own margin checks; it pays from its settlement balance. Selling the tokens
//! is the operator's choice of route (the program has no swap).

use super::{Keeper, TickReport};
use perp::engine::health::{group_health, Group};
use perp::engine::markets::PriceNeed;
use perp::state::MarginAccount;
use perp_client::chain::{fetch_margin, Chain, ChainResult};
use perp_client::collateral::{
    collateral_metas, create_seeded_token_account, held, liquidate_collateral, refresh, sale_markets,
    seeded_token_account,
};

/// Rent of a 165-byte token account (the runtime's default rent).
const TOKEN_ACCOUNT_RENT: u64 = 2_039_280;
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
    idx.iter().filter_map(|i| collaterals.get(i).map(refresh)).collect()
}

/// Every collateral `accounts` hold, each once: the metas a margin check of them needs.
pub fn held_metas(accounts: &[&MarginAccount]) -> Vec<perp_client::AccountMeta> {
    let mut idx: Vec<u16> = accounts.iter().flat_map(|a| held(a)).collect();
    idx.sort_unstable();
    idx.dedup();
    collateral_metas(&idx)
}

/// Cross health as `liquidate_collateral` values it (every market at the account-favourable of its
/// refreshed index and its time-weighted value, the collateral likewise), and what the account
/// lacks in settlement (its equity without the collateral, below zero).
pub fn sale_view(
    a: &MarginAccount,
    states: &BTreeMap<u16, MarketState>,
    collaterals: &Collaterals,
    now: i64,
) -> Option<(bool, Quote)> {
    let s = settled(a, states);
    let mut parts = parts_for(&s, states);
    for (i, p) in s.positions.iter().enumerate() {
        if !p.in_use() || p.is_isolated() || p.base == 0 {
            continue;
        }
        let ms = states.get(&p.market_index)?;
        let twap = ms.market.index_twap_now(now).ok()?;
        let fav = if p.base > 0 { ms.index.max(twap) } else { ms.index.min(twap) };
        let mark = perp::engine::prices::mark_price(&ms.market, fav, now).ok()?;
        parts[i] = Some(perp::engine::health::position_part_at(p, mark, ms.view.tiers(), Quote::ZERO, false).ok()?);
    }
    let ch = collateral_health(&s, collaterals, PriceNeed::Liquidation, now);
    parts.collateral = Some(ch);
    let h = group_health(&s, Group::Cross, &parts).ok()?;
    let owed = Quote((h.equity.0 - ch.equity.0).min(0).saturating_neg());
    Some((h.is_liquidatable(), owed))
}

impl<C: Chain> Keeper<C> {
    /// Refreshes every listed collateral whose cached price is older than half its `max_age`.
    pub async fn refresh_collaterals(&mut self, now: i64, collaterals: &Collaterals) {
        for c in collaterals.values() {
            if now - c.last_price_time < (c.max_age / 2).max(1) {
                continue;
            }
            if self.send(&[refresh(c)], "refresh_collateral", None, now).await.is_ok() {
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
            let markets = sale_markets(a, &mine);
            let mut txs: Vec<Instruction> = markets
                .iter()
                .filter_map(|i| states.get(i).map(|s| ix::update_funding(*i, &ix::market_oracles(&s.market))))
                .collect();
            txs.extend(collateral_refreshes(&[a, &mine], collaterals));
            let mut others: Vec<u16> = held(a).into_iter().chain(held(&mine)).filter(|i| *i != ci).collect();
            others.sort_unstable();
            others.dedup();
            // the keeper's token account for this mint, created with the sale the first time
            let (dest, _) = seeded_token_account(&me, ci);
            if self.chain.account(&dest).await?.is_none() {
                txs.splice(0..0, create_seeded_token_account(&me, ci, &c.mint, TOKEN_ACCOUNT_RENT));
            }
            let sale = liquidate_collateral(
                me,
                *k,
                self.account,
                ci,
                &c.mint,
                dest,
                c.insurance_market,
                u64::MAX,
                &markets,
                &others,
            );
            // the refreshes go first, in their own transactions when all would not fit in one
            let mut all = txs.clone();
            all.push(sale.clone());
            if ix::legacy_tx_size(&all, &me) + ix::COMPUTE_BUDGET_BYTES > ix::MAX_TX_BYTES {
                for pack in ix::pack_transactions(&txs, &me) {
                    let _ = self.send(&pack, "refresh_collateral", None, now).await;
                }
                self.check_abort()?;
                all = vec![sale];
            }
            tracing::info!(target: "keeper", account = %k, collateral = ci, owed = %owed, "liquidating collateral");
            if self.send(&all, "liquidate_collateral", Some(*k), now).await.is_ok() {
                self.counters.collateral_liquidations += 1;
                let after = fetch_margin(&self.chain, k).await?;
                let sold = a.collateral_balance(ci).saturating_sub(after.collateral_balance(ci));
                report.collateral_liquidated.push((*k, ci, sold));
            }
        }
        Ok(())
    }
}
