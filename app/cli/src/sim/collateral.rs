//! `perp simulate --scenario collateral`: the contagion of 2023-03-10..13 replayed on the bundled
//! data. The market settles in a USD mint and its index reads the USD-quoted series only; USDC
//! is listed as collateral priced by two derived oracles (BTCUSD / BTCUSDC on Binance.US and on
//! Kraken: the de-peg to about 0.87 on 2023-03-11 is in the data), and wBTC by the market's own
//! oracles (it moves with BTC). Traders post one or the other and no USD at all:
//! - USDC-backed traders hold a BTC position of either side;
//! - wBTC-backed traders hold longs (wrong-way: position and collateral fall together) or shorts
//!   (hedged).
//!
//! The keeper (the same code as `perp keeper`) refreshes the collateral prices, sells collateral
//! of accounts below maintenance that lack USD, and takes positions over. The summary counts, per
//! collateral, the accounts liquidated (sold or taken over) and of those how many would not have
//! been liquidatable with their collateral at its price when they opened (liquidated because
//! their collateral fell, not their market), the liquidation prices shown at entry with and
//! without the collateral moving with BTC, the insurance fund's use, and conservation per mint.

use super::config::BTC;
use super::report::{EventKind, SimEvent};
use super::traders::f;
use crate::keeper::TickReport;
use perp::engine::health::{collateral_part, group_health, Group};
use perp::state::{CollateralParams, MarginAccount, OracleParams};
use perp_client::bank::{BankUser, Bootstrap};
use perp_client::chain::{fetch_collaterals, fetch_margin, Chain, SendOptions};
use perp_client::collateral as cix;
use perp_client::collateral_view::{cross_liquidation_price, Collaterals};
use perp_client::data::Series;
use perp_client::preview::{parts_for, settled, MarketState};
use perp_client::{ix, oracle_data, Pubkey};
use perp_core::collateral::collateral_value;
use perp_core::Price;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::BTreeMap;

pub const USDC_INDEX: u16 = 1;
pub const WBTC_INDEX: u16 = 2;

/// One collateral-backed trader.
pub(super) struct CollTrader {
    pub user: BankUser,
    pub collateral: u16,
    pub long: bool,
    /// Share of its initial margin the position uses (0.3-0.95).
    pub usage: f64,
    /// The collateral's price when it opened (for the counterfactual).
    pub entry_collateral_price: Option<Price>,
    pub opened: bool,
    pub liquidated: bool,
    /// The liquidation price shown at entry, with the collateral as it is and as if it did not
    /// move with BTC.
    pub liq_shown: Option<(Option<Price>, Option<Price>)>,
}

#[derive(Clone, Debug, Default)]
pub struct CollateralSummary {
    pub traders: BTreeMap<&'static str, u64>,
    pub sales: BTreeMap<&'static str, u64>,
    pub tokens_sold: BTreeMap<&'static str, f64>,
    /// Accounts liquidated (a sale or a takeover), per collateral and side.
    pub liquidated: BTreeMap<String, u64>,
    /// Of those, liquidatable only because the collateral fell: healthy with the collateral at
    /// its price at entry.
    pub by_collateral_fall: BTreeMap<&'static str, u64>,
    /// wBTC-backed longs: mean distance (%) below the entry of the liquidation price shown at
    /// entry, with wBTC moving with BTC and as if it did not.
    pub wbtc_long_liq_distance: (f64, f64),
    pub usdc_low: f64,
    pub conservation_per_mint: Vec<String>,
}

impl CollateralSummary {
    pub fn json(&self) -> Value {
        json!({
            "traders": self.traders,
            "collateral_sales": self.sales,
            "tokens_sold": self.tokens_sold.iter().map(|(k, v)| (k.to_string(), format!("{v:.4}"))).collect::<BTreeMap<_, _>>(),
            "accounts_liquidated": self.liquidated,
            "liquidated_because_the_collateral_fell": self.by_collateral_fall,
            "wbtc_backed_long_liquidation_distance": format!(
                "{:.1}% below entry with wBTC moving with BTC, {:.1}% if it did not (wrong-way risk)",
                self.wbtc_long_liq_distance.0, self.wbtc_long_liq_distance.1
            ),
            "usdc_usd_low": format!("{:.4}", self.usdc_low),
            "conservation_per_mint": self.conservation_per_mint.join("; "),
        })
    }
}

/// The derived USDC/USD oracles: each from a (USD-quoted, USDC-quoted) pair of one venue.
pub(super) struct UsdcFeed {
    pub pairs: Vec<(Series, Series)>,
    pub oracles: Vec<Pubkey>,
    pub last: Vec<i64>,
}

impl UsdcFeed {
    /// USDC/USD of pair `i` at `t`: BTC in USD over BTC in USDC, from the latest bars of both.
    pub fn price(&self, i: usize, t: i64) -> Option<(Price, i64)> {
        let (usd, usdc) = &self.pairs[i];
        let (a, b) = (usd.latest(t)?, usdc.latest(t)?);
        let p = (a.close.0 as u128 * 1_000_000 / b.close.0.max(1) as u128) as u64;
        Some((Price(p), a.publish_time().min(b.publish_time())))
    }

    /// Writes every pair's latest price; returns the median of those known.
    pub fn publish(&mut self, boot: &Bootstrap, t: i64) -> Option<f64> {
        let mut seen = Vec::new();
        for i in 0..self.pairs.len() {
            if let Some((p, at)) = self.price(i, t) {
                if at != self.last[i] {
                    self.last[i] = at;
                    let conf = Price(p.0 / 5_000);
                    boot.chain.set_account(
                        self.oracles[i],
                        oracle_data::PYTH_LEGACY_PROGRAM,
                        oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, p, conf, at),
                    );
                }
                seen.push(f(p));
            }
        }
        seen.sort_by(f64::total_cmp);
        (!seen.is_empty()).then(|| seen[seen.len() / 2])
    }
}

fn params(name: &[u8], oracles: Vec<OracleParams>, weights: (i64, i64, i64), cap: u64) -> CollateralParams {
    let mut n = [0u8; 16];
    n[..name.len()].copy_from_slice(name);
    CollateralParams {
        name: n,
        min_sources: 1,
        oracles,
        max_age: 600,
        max_conf: 20_000_000,
        max_deviation: 30_000_000,
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 13,
        sample_period: 60,
        initial_weight: weights.0,
        maintenance_weight: weights.1,
        imf: 0,
        liquidation_discount: weights.2,
        liquidator_share: 500_000_000,
        deposit_cap: cap,
        status: 0,
        insurance_market: 0,
    }
}

/// Lists USDC (6 decimals; 0.95 / 0.97, 2% discount) and wBTC (8 decimals; 0.8 / 0.9, 5%) and
/// creates the collateral traders: `n` of each, deterministic from `rng`.
pub(super) async fn setup(
    boot: &Bootstrap,
    market_oracles: &[OracleParams],
    usdc: &mut UsdcFeed,
    start: i64,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<CollTrader>, String> {
    let err = |e: perp_client::ChainError| e.to_string();
    let opts = SendOptions::default();
    let a = boot.admin.pubkey();
    let usdc_mint = boot.chain.create_mint(&a, 6).await.map_err(err)?;
    let wbtc_mint = boot.chain.create_mint(&a, 8).await.map_err(err)?;
    usdc.publish(boot, start);
    let usdc_oracles: Vec<OracleParams> =
        usdc.oracles.iter().map(|k| OracleParams { kind: 1, key: *k, feed_id: [0; 32], weight: 1 }).collect();
    for (ci, mint, p) in [
        (USDC_INDEX, usdc_mint, params(b"USDC", usdc_oracles, (950_000_000, 970_000_000, 20_000_000), u64::MAX / 4)),
        (
            WBTC_INDEX,
            wbtc_mint,
            params(b"wBTC", market_oracles.to_vec(), (800_000_000, 900_000_000, 50_000_000), u64::MAX / 4),
        ),
    ] {
        let id = perp_client::chain::fetch_exchange(&boot.chain).await.map_err(err)?.proposal_count;
        let action = perp::state::AdminAction::ListCollateral { collateral_index: ci, mint, params: p };
        boot.chain.send(&[ix::propose(a, id, action)], &[&boot.admin], &opts).await.map_err(err)?;
        boot.chain
            .send(&[cix::execute_list_collateral(a, id, a, mint, ci)], &[&boot.admin], &opts)
            .await
            .map_err(err)?;
    }
    let mut out = Vec::new();
    for i in 0..2 * n {
        let (ci, mint, decimals) = if i % 2 == 0 { (USDC_INDEX, usdc_mint, 6u32) } else { (WBTC_INDEX, wbtc_mint, 8) };
        let kp = Keypair::new_from_array(rng.gen());
        let user = boot.user_with(kp, 0, 0).await.map_err(err)?;
        // 5,000-50,000 USD worth: USDC at 1, wBTC at the first BTC price (about 20,000)
        let usd = rng.gen_range(5_000..=50_000) as u64;
        let amount = if ci == USDC_INDEX { usd * 10u64.pow(decimals) } else { usd * 10u64.pow(decimals) / 20_000 };
        let tok = boot.chain.token_account(&mint, &user.key(), amount, &boot.admin).await.map_err(err)?;
        let dep = cix::deposit_collateral(user.key(), user.account, ci, &mint, tok, amount);
        boot.chain.send(&[dep], &[&user.kp], &opts).await.map_err(err)?;
        out.push(CollTrader {
            user,
            collateral: ci,
            long: ci == USDC_INDEX && rng.gen_bool(0.5) || ci == WBTC_INDEX && (i / 2) % 2 == 0,
            usage: rng.gen_range(0.3..0.95),
            entry_collateral_price: None,
            opened: false,
            liquidated: false,
            liq_shown: None,
        });
    }
    Ok(out)
}

fn name(ci: u16) -> &'static str {
    if ci == USDC_INDEX {
        "USDC"
    } else {
        "wBTC"
    }
}

/// Is the account liquidatable with its collateral valued at `price` (maintenance), the rest as
/// the program values it for a liquidation decision (the same health functions)?
fn liquidatable_at(
    a: &MarginAccount,
    states: &BTreeMap<u16, MarketState>,
    c: &perp::state::Collateral,
    price: Price,
) -> bool {
    let s = settled(a, states);
    let mut parts = parts_for(&s, states);
    let v =
        collateral_value(s.collateral_balance(c.collateral_index), &c.risk(), price, price, true).unwrap_or_default();
    parts.collateral = collateral_part(&v).ok();
    group_health(&s, Group::Cross, &parts).map(|h| h.is_liquidatable()).unwrap_or(false)
}

pub(super) struct CollateralRun {
    pub traders: Vec<CollTrader>,
    pub usdc: UsdcFeed,
    pub summary: CollateralSummary,
    /// `(t, USDC/USD)` per minute.
    pub usdc_path: Vec<(i64, f64)>,
}

impl CollateralRun {
    /// Before the keeper's pass: the accounts as they are (for the counterfactual of a sale or a
    /// takeover the pass makes).
    pub async fn snapshot(&self, boot: &Bootstrap) -> Vec<Option<MarginAccount>> {
        let mut v = Vec::with_capacity(self.traders.len());
        for t in &self.traders {
            v.push(fetch_margin(&boot.chain, &t.user.account).await.ok());
        }
        v
    }

    /// After the keeper's pass: classifies what it did to the collateral traders.
    #[allow(clippy::too_many_arguments)]
    pub async fn after_keeper(
        &mut self,
        boot: &Bootstrap,
        report: &TickReport,
        before: &[Option<MarginAccount>],
        states: &BTreeMap<u16, MarketState>,
        t: i64,
        price: f64,
        events: &mut Vec<SimEvent>,
    ) {
        let collaterals = fetch_collaterals(&boot.chain).await.unwrap_or_default();
        for (i, tr) in self.traders.iter_mut().enumerate() {
            let k = tr.user.account;
            let sold: u64 = report.collateral_liquidated.iter().filter(|(a, _, _)| *a == k).map(|(_, _, n)| *n).sum();
            let taken = report.liquidated.iter().any(|(a, ..)| *a == k);
            if sold == 0 && !taken {
                continue;
            }
            let c = name(tr.collateral);
            if sold > 0 {
                *self.summary.sales.entry(c).or_default() += 1;
                let d = if tr.collateral == USDC_INDEX { 1e6 } else { 1e8 };
                *self.summary.tokens_sold.entry(c).or_default() += sold as f64 / d;
                events.push(SimEvent { t, price, kind: EventKind::Liquidation, label: format!("{c} sold: {k}") });
            }
            if tr.liquidated {
                continue;
            }
            tr.liquidated = true;
            let side = if tr.long { "long" } else { "short" };
            *self.summary.liquidated.entry(format!("{c}-backed {side}")).or_default() += 1;
            if let (Some(Some(a)), Some(col), Some(p0)) =
                (before.get(i), collaterals.get(&tr.collateral), tr.entry_collateral_price)
            {
                if !liquidatable_at(a, states, col, p0) {
                    *self.summary.by_collateral_fall.entry(c).or_default() += 1;
                }
            }
        }
    }

    /// Traders open their positions in their first live minutes (one a minute, in order) and
    /// hold them.
    pub async fn act(&mut self, boot: &Bootstrap, state: &MarketState, minute: i64) {
        let Some(i) = self.traders.iter().position(|t| !t.opened) else { return };
        if minute < 5 {
            return;
        }
        let collaterals: Collaterals = fetch_collaterals(&boot.chain).await.unwrap_or_default();
        let tr = &mut self.traders[i];
        tr.opened = true;
        let Ok(a) = fetch_margin(&boot.chain, &tr.user.account).await else { return };
        let Some(col) = collaterals.get(&tr.collateral) else { return };
        let v = perp_client::collateral_view::holding_counts(
            col,
            a.collateral_balance(tr.collateral),
            perp::engine::markets::PriceNeed::Adding,
            boot.chain.now(),
        )
        .unwrap_or_default();
        // the notional whose initial margin is `usage` of what the collateral counts for
        let budget = perp_core::Quote((v.initial.0 as f64 * tr.usage) as i64);
        let notional = super::traders::max_notional(state.view.tiers(), budget);
        let size = (notional.0 as i128 * BTC as i128 / state.index.0.max(1) as i128) as u64;
        if size < 1_000_000 {
            return;
        }
        let side = if tr.long { perp::instructions::OrderSide::Long } else { perp::instructions::OrderSide::Short };
        let p = perp::instructions::OrderParams {
            side,
            size,
            limit_price: 0,
            reduce_only: false,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 0,
        };
        let mut order =
            ix::place_market_order(tr.user.key(), tr.user.account, 0, &ix::market_oracles(&state.market), &[], p);
        order.accounts.extend(cix::collateral_metas(&[tr.collateral]));
        let txs = [cix::refresh(col), order];
        if boot.chain.send(&txs, &[&tr.user.kp], &SendOptions::default()).await.is_err() {
            return;
        }
        tr.entry_collateral_price = Some(Price(col.last_price));
        // the liquidation price shown now, and as if the collateral did not move with BTC
        if let Ok(a) = fetch_margin(&boot.chain, &tr.user.account).await {
            let states = BTreeMap::from([(0u16, state.clone())]);
            let now = boot.chain.now();
            let with = cross_liquidation_price(&a, 0, &states, &collaterals, now);
            let mut apart = collaterals.clone();
            if let Some(c) = apart.get_mut(&tr.collateral) {
                c.oracles = Default::default();
                c.num_oracles = 0;
            }
            let without = cross_liquidation_price(&a, 0, &states, &apart, now);
            tr.liq_shown = Some((with, without));
        }
    }

    /// Totals at the end.
    pub fn finish(&mut self, conservation: &perp_client::chain::Conservation, entry_index: f64) {
        for t in &self.traders {
            *self.summary.traders.entry(name(t.collateral)).or_default() += 1;
        }
        let mut d = (0.0, 0.0, 0usize);
        for t in self.traders.iter().filter(|t| t.collateral == WBTC_INDEX && t.long) {
            if let Some((Some(w), Some(o))) = t.liq_shown {
                d.0 += (1.0 - f(w) / entry_index) * 100.0;
                d.1 += (1.0 - f(o) / entry_index) * 100.0;
                d.2 += 1;
            }
        }
        if d.2 > 0 {
            self.summary.wbtc_long_liq_distance = (d.0 / d.2 as f64, d.1 / d.2 as f64);
        }
        self.summary.usdc_low = self.usdc_path.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
        self.summary.conservation_per_mint = conservation
            .mints
            .iter()
            .map(|m| {
                let ok = m.vault == m.registry && m.registry == m.balances;
                format!(
                    "{} vault {} = balances {} ({})",
                    name(m.collateral_index),
                    m.vault,
                    m.balances,
                    if ok { "ok" } else { "FAILED" }
                )
            })
            .collect();
    }
}

/// A deterministic RNG for the scenario's own draws (separate from the population's).
pub(super) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ 0xC0_11A7)
}
