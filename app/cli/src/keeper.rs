//! The keeper: funding crank on schedule, insurance sweeps, liquidation scanner (takeovers into
//! its own margin account, which needs collateral), unwinding what it took over, ADL executor,
//! bankruptcy resolution, and the resting-order filler (`keeper/orders.rs`: fills, triggers and
//! cancels orders for the reward, after liquidations). Generic over the chain, so the same code runs against a cluster
//! (`perp keeper`) and against the in-process bank (tests, `perp simulate`).
//!
//! Robustness: every failed transaction is logged with the program error's name; an account that
//! keeps failing is skipped for a while; transport errors are retried by the chain backend;
//! compute-unit limit and priority fee are settable; counters are kept and logged.

mod collateral;
mod orders;

use anchor_lang::prelude::Pubkey;
use perp::instructions::{OrderParams, OrderSide};
use perp::state::{AdlRound, MarginAccount, Market};
use perp_client::chain::{
    fetch_all_margin_accounts, fetch_collaterals, fetch_exchange, fetch_markets, fetch_oracles, Chain, ChainError,
    ChainResult, SendOptions,
};
use perp_client::preview::{
    account_health_with, index_view, market_state, preview_takeover, scan_accounts, MarketState,
};
use perp_client::{decode::decode, ix, pda};
use perp_core::liquidation::min_close_size;
use perp_core::{Base, Quote, Rate, Round};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug)]
pub struct KeeperConfig {
    /// Markets to keep (None = all).
    pub markets: Option<Vec<u16>>,
    pub send: SendOptions,
    /// Consecutive failures after which an account is skipped.
    pub max_failures: u32,
    /// How long a failing account is skipped (seconds of chain time).
    pub skip_seconds: i64,
    /// Margin accounts per `adl_scan` transaction.
    pub scan_batch: usize,
    /// Candidates per `auto_deleverage` transaction.
    pub adl_batch: usize,
    /// Close positions taken over in liquidations against the vAMM, with a limit this far from
    /// the index (rate, 10^-9); `None` keeps them.
    pub unwind_band: Option<Rate>,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        KeeperConfig {
            markets: None,
            send: SendOptions::default(),
            max_failures: 3,
            skip_seconds: 300,
            scan_batch: 20,
            adl_batch: 8,
            unwind_band: Some(Rate(5_000_000)),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub funding_cranks: u64,
    pub liquidations: u64,
    pub partial_liquidations: u64,
    pub bankruptcies_marked: u64,
    pub adl_rounds: u64,
    pub adl_scans: u64,
    pub adl_steps: u64,
    pub bankruptcies_resolved: u64,
    /// Bankruptcies closed by ADL alone (a complete round).
    pub adl_complete: u64,
    /// Bankruptcies that reached the last resort (`resolve_bankruptcy`: the loss socialized).
    pub losses_socialized: u64,
    pub unwinds: u64,
    /// Resting orders filled (in full or in part), triggered, cancelled for the reward (unfillable,
    /// nothing to reduce) and expired (also cancelled for the reward).
    pub orders_filled: u64,
    pub orders_triggered: u64,
    pub orders_cancelled: u64,
    pub orders_expired: u64,
    pub sweeps: u64,
    pub repegs: u64,
    /// Listed collateral prices refreshed, and collateral sales of accounts below maintenance.
    pub collateral_refreshes: u64,
    pub collateral_liquidations: u64,
    pub tx_failures: u64,
    /// Times the compute-unit limit was raised after a transaction ran out of it.
    pub cu_limit_raised: u64,
    /// Passes that failed (node unreachable, fee payer without funds, ...), each followed by a back-off.
    pub failed_passes: u64,
    pub skipped: u64,
    pub failures_by_error: BTreeMap<String, u64>,
}

/// What one pass did.
#[derive(Clone, Debug, Default)]
pub struct TickReport {
    pub funding_cranked: Vec<u16>,
    /// `(account, market, closed base (signed), was it partial)`.
    pub liquidated: Vec<(Pubkey, u16, i64, bool)>,
    pub bankrupt_marked: Vec<(Pubkey, u16)>,
    pub adl_steps: u64,
    pub resolved: Vec<(Pubkey, u16)>,
    /// Of `resolved`, those whose loss was socialized at the end of the waterfall.
    pub socialized: Vec<(Pubkey, u16)>,
    /// The margin accounts as the ADL executor saw them before it ran (when it ran).
    pub adl_snapshot: Option<Vec<(Pubkey, MarginAccount)>>,
    /// `(market, base closed)` of the keeper's own positions unwound.
    pub unwound: Vec<(u16, i64)>,
    /// `(account, order id, base filled, order kind)` of orders filled.
    pub orders_filled: Vec<(Pubkey, u64, u64, u8)>,
    /// `(account, order id)` of orders cancelled for the reward.
    pub orders_cancelled: Vec<(Pubkey, u64)>,
    /// `(account, collateral index, raw tokens bought)` of collateral sales.
    pub collateral_liquidated: Vec<(Pubkey, u16, u64)>,
}

pub struct Keeper<C: Chain> {
    pub chain: C,
    pub keypair: Keypair,
    /// The keeper's own margin account: takes over liquidated positions (it needs collateral,
    /// deposited by the operator) and receives the rewards.
    pub account: Pubkey,
    pub cfg: KeeperConfig,
    pub counters: Counters,
    failing: HashMap<Pubkey, (u32, i64)>,
    /// Orders whose fills keep failing, by (account, order id), as `failing`.
    order_failing: HashMap<(Pubkey, u64), (u32, i64)>,
    /// Compute-unit limits raised, by kind of transaction (`what`): a raise for one kind does not
    /// make every other transaction request (and, with a priority fee, pay for) more units.
    cu_raised: HashMap<String, u32>,
    /// A failure of the fee payer or the node met during this pass: the rest of the pass is
    /// skipped and `tick` returns it, so the run loop backs off.
    abort: Option<ChainError>,
}

/// Solana's per-transaction compute-unit maximum.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

fn short_name(e: &ChainError) -> String {
    e.reason().to_string()
}

/// Sends; when the transaction runs out of compute units, raises the limit in `send` (doubling,
/// from at least 200,000 up to [`MAX_COMPUTE_UNITS`]) and sends again once. Returns whether it
/// raised the limit.
pub async fn send_raising_cu<C: Chain>(
    chain: &C,
    ixs: &[perp_client::Instruction],
    signer: &Keypair,
    send: &mut SendOptions,
    what: &str,
) -> (ChainResult<String>, bool) {
    let first = chain.send(ixs, &[signer], send).await;
    match &first {
        Err(e) if e.reason() == "ComputationalBudgetExceeded" => {
            // without a limit set, the runtime's default is 200,000 per instruction
            let default = (200_000u32).saturating_mul(ixs.len().max(1) as u32).min(MAX_COMPUTE_UNITS);
            let old = send.compute_unit_limit.unwrap_or(default);
            let raised = old.saturating_mul(2).clamp(200_000, MAX_COMPUTE_UNITS);
            if raised <= old {
                return (first, false);
            }
            send.compute_unit_limit = Some(raised);
            tracing::warn!(target: "keeper", what, error = "ComputationalBudgetExceeded", from = old, to = raised, "raised the compute-unit limit; sending again");
            (chain.send(ixs, &[signer], send).await, true)
        }
        _ => (first, false),
    }
}

/// The keeper's margin account (id 0), created if missing.
pub async fn ensure_keeper_account<C: Chain>(
    chain: &C,
    keypair: &Keypair,
    send: &mut SendOptions,
) -> ChainResult<Pubkey> {
    let account = pda::margin_account(&keypair.pubkey(), 0);
    if chain.account(&account).await?.is_none() {
        send_raising_cu(
            chain,
            &[ix::create_margin_account(keypair.pubkey(), 0)],
            keypair,
            send,
            "create_margin_account",
        )
        .await
        .0?;
        tracing::info!(target: "keeper", account = %account, "created the keeper's margin account");
    }
    Ok(account)
}

impl<C: Chain> Keeper<C> {
    /// A keeper signing with `keypair`; creates its margin account (id 0) if missing.
    pub async fn new(chain: C, keypair: Keypair, cfg: KeeperConfig) -> ChainResult<Keeper<C>> {
        let mut once = cfg.send;
        let account = ensure_keeper_account(&chain, &keypair, &mut once).await?;
        Ok(Keeper::with_account(chain, keypair, account, cfg))
    }

    /// A keeper whose margin account `account` (id 0) already exists.
    pub fn with_account(chain: C, keypair: Keypair, account: Pubkey, cfg: KeeperConfig) -> Keeper<C> {
        Keeper {
            chain,
            keypair,
            account,
            cfg,
            counters: Counters::default(),
            failing: HashMap::new(),
            order_failing: HashMap::new(),
            cu_raised: HashMap::new(),
            abort: None,
        }
    }

    /// Compute-unit limits raised so far, by kind of transaction.
    pub fn cu_limits(&self) -> &HashMap<String, u32> {
        &self.cu_raised
    }

    async fn send(
        &mut self,
        ixs: &[perp_client::Instruction],
        what: &str,
        key: Option<Pubkey>,
        now: i64,
    ) -> Result<(), ChainError> {
        if let Some(e) = &self.abort {
            return Err(e.clone());
        }
        // this kind's raised limit, if it was ever raised; the operator's settings otherwise
        let mut opts = self.cfg.send;
        if let Some(l) = self.cu_raised.get(what) {
            opts.compute_unit_limit = Some(*l);
        }
        let (result, raised) = send_raising_cu(&self.chain, ixs, &self.keypair, &mut opts, what).await;
        if raised {
            self.counters.cu_limit_raised += 1;
            self.cu_raised.insert(what.to_string(), opts.compute_unit_limit.unwrap_or(MAX_COMPUTE_UNITS));
        }
        match result {
            Ok(sig) => {
                if let Some(k) = key {
                    self.failing.remove(&k);
                }
                tracing::debug!(target: "keeper", what, sig, "sent");
                Ok(())
            }
            Err(e) => {
                let name = short_name(&e);
                self.counters.tx_failures += 1;
                *self.counters.failures_by_error.entry(name.clone()).or_default() += 1;
                if e.is_payer_or_node() {
                    // not the account's fault: end the pass, the run loop backs off and tries again
                    tracing::warn!(target: "keeper", what, error = %name, detail = %e, "transaction failed; ending the pass");
                    self.abort = Some(e.clone());
                    return Err(e);
                }
                // refreshes that missed their slots or a late feed do not count toward skipping the
                // account; a takeover the program refused on its guarded prices (the keeper previews
                // at the live ones) is retried after a minute at most, as the time-weighted prices follow
                let not_yet =
                    matches!(e.program_error_name(), Some("IndexNotRefreshed" | "StaleCachedIndex" | "TooFewSources"));
                let skip = match e.program_error_name() {
                    Some("NotLiquidatable") => self.cfg.skip_seconds.min(60),
                    _ => self.cfg.skip_seconds,
                };
                if let (Some(k), false) = (key, not_yet) {
                    let entry = self.failing.entry(k).or_insert((0, 0));
                    entry.0 += 1;
                    if entry.0 >= self.cfg.max_failures {
                        entry.1 = now + skip;
                    }
                }
                tracing::warn!(target: "keeper", what, error = %name, detail = %e, account = ?key, "transaction failed");
                Err(e)
            }
        }
    }

    fn skipping(&mut self, k: &Pubkey, now: i64) -> bool {
        match self.failing.get(k) {
            Some((n, until)) if *n >= self.cfg.max_failures && now < *until => {
                self.counters.skipped += 1;
                true
            }
            Some((n, until)) if *n >= self.cfg.max_failures && now >= *until => {
                self.failing.remove(k);
                false
            }
            _ => false,
        }
    }

    fn wanted(&self, m: &Market) -> bool {
        self.cfg.markets.as_ref().is_none_or(|v| v.contains(&m.market_index))
    }

    /// Markets with their prices as the program would see them now.
    pub async fn market_states(&self, now: i64) -> ChainResult<BTreeMap<u16, MarketState>> {
        let ex = fetch_exchange(&self.chain).await?;
        let mut out = BTreeMap::new();
        for m in fetch_markets(&self.chain).await? {
            let oracles = fetch_oracles(&self.chain, &m).await?;
            let iv = index_view(&m, &ex, &oracles, now);
            if let Some(s) = market_state(&m, &iv, now) {
                out.insert(m.market_index, s);
            }
        }
        Ok(out)
    }

    /// One pass of every job.
    pub async fn tick(&mut self) -> ChainResult<TickReport> {
        self.abort = None;
        let r = self.tick_inner().await;
        match self.abort.take() {
            Some(e) => Err(e),
            None => r,
        }
    }

    async fn tick_inner(&mut self) -> ChainResult<TickReport> {
        let mut report = TickReport::default();
        let now = self.chain.unix_time().await?;
        self.crank_funding(now, &mut report).await?;
        self.check_abort()?;
        let collaterals = fetch_collaterals(&self.chain).await?;
        self.refresh_collaterals(now, &collaterals).await;
        self.check_abort()?;
        let collaterals = fetch_collaterals(&self.chain).await?;
        let states = self.market_states(now).await?;
        let accounts = fetch_all_margin_accounts(&self.chain).await?;
        // collateral first: the program passes no deficit on while an account holds any
        self.liquidate_collateral_all(now, &states, &accounts, &collaterals, &mut report).await?;
        self.check_abort()?;
        let accounts = fetch_all_margin_accounts(&self.chain).await?;
        self.liquidate_all(now, &states, &accounts, &collaterals, &mut report).await?;
        self.check_abort()?;
        self.unwind(now, &states, &mut report).await?;
        self.check_abort()?;
        // orders after liquidations: a liquidatable account's orders wait (the program agrees)
        let accounts = fetch_all_margin_accounts(&self.chain).await?;
        self.fill_orders(now, &states, &accounts, &collaterals, &mut report).await?;
        self.check_abort()?;
        // bankruptcies may have just been marked by this pass
        if fetch_markets(&self.chain).await?.iter().any(|m| m.bankrupt_accounts > 0) {
            let accounts = fetch_all_margin_accounts(&self.chain).await?;
            self.deleverage_all(now, &accounts, &mut report).await?;
            report.adl_snapshot = Some(accounts);
        }
        Ok(report)
    }

    fn check_abort(&self) -> ChainResult<()> {
        match &self.abort {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Funding crank: each market once per sample period, and at its funding time; and the
    /// insurance sweep of every market with a pending amount.
    pub async fn crank_funding(&mut self, now: i64, report: &mut TickReport) -> ChainResult<()> {
        let funding_paused = fetch_exchange(&self.chain).await?.is_paused(perp::state::pause::FUNDING, now);
        for m in fetch_markets(&self.chain).await? {
            if !self.wanted(&m) {
                continue;
            }
            if m.insurance_pending != 0
                && self.send(&[ix::sweep_insurance(m.market_index)], "sweep_insurance", None, now).await.is_ok()
            {
                self.counters.sweeps += 1;
            }
            self.crank_repeg(&m, funding_paused, now).await;
            let due = now >= m.next_funding_time || now - m.last_sample_time >= m.sample_period;
            if !due {
                continue;
            }
            let i = ix::update_funding(m.market_index, &ix::market_oracles(&m));
            if self.send(&[i], "update_funding", None, now).await.is_ok() {
                self.counters.funding_cranks += 1;
                report.funding_cranked.push(m.market_index);
                if now >= m.next_funding_time {
                    tracing::info!(target: "keeper", market = m.market_index, "funding interval closed");
                }
            }
        }
        Ok(())
    }

    /// Repeg crank: when the market has repegs on, nothing is paused, no bankruptcy is open, the
    /// last repeg is a sample period old, the vAMM's mid is past the threshold from the cached index, and the program's
    /// own plan (this interval's budget, the step cap) would move the peg.
    async fn crank_repeg(&mut self, m: &Market, funding_paused: bool, now: i64) {
        if m.repeg_budget <= 0
            || m.is_paused(now)
            || funding_paused
            || m.bankrupt_accounts > 0
            || now - m.last_repeg_time < m.sample_period
            || m.last_index == 0
        {
            return;
        }
        let v = m.vamm();
        let Ok(mid) = v.price() else { return };
        let gap = (mid.0 as i128 - m.last_index as i128).unsigned_abs() * 1_000_000_000 / m.last_index as u128;
        if gap < m.repeg_threshold.unsigned_abs() as u128 {
            return;
        }
        let Ok((budget, ..)) = m.repeg_budget_now(now) else { return };
        let net = perp_core::Base(m.oi_long.saturating_sub(m.oi_short));
        let moves = perp_core::repeg::plan_repeg(&v, net, perp_core::Price(m.last_index), budget, m.repeg_max_step())
            .is_ok_and(|p| p.peg != v.peg);
        if !moves {
            return;
        }
        let i = ix::repeg(m.market_index, &ix::market_oracles(m));
        if self.send(&[i], "repeg", None, now).await.is_ok() {
            self.counters.repegs += 1;
        }
    }

    /// Liquidation scanner: every account below maintenance, most underwater first.
    pub async fn liquidate_all(
        &mut self,
        now: i64,
        states: &BTreeMap<u16, MarketState>,
        accounts: &[(Pubkey, MarginAccount)],
        collaterals: &perp_client::collateral_view::Collaterals,
        report: &mut TickReport,
    ) -> ChainResult<()> {
        // the cheap scan over every account (2 threads), then details for the few found
        let by_key: HashMap<Pubkey, MarginAccount> = accounts.iter().copied().collect();
        let mut targets: Vec<(Quote, Pubkey, MarginAccount)> = scan_accounts(accounts, states, collaterals, now, 2)
            .into_iter()
            .filter(|(k, _)| *k != self.account)
            .filter_map(|(k, short)| by_key.get(&k).map(|a| (short, k, *a)))
            .filter(|(_, _, a)| !account_health_with(a, states, collaterals, now).liquidatable_positions().is_empty())
            .collect();
        targets.sort_by_key(|t| std::cmp::Reverse(t.0));
        for (shortfall, k, a) in targets {
            if self.skipping(&k, now) {
                continue;
            }
            let h = account_health_with(&a, states, collaterals, now);
            // the position carrying the most maintenance in a liquidatable group
            let Some(p) = h.liquidatable_positions().into_iter().max_by_key(|p| p.maintenance).cloned() else {
                continue;
            };
            if !self.wanted(&states[&p.market_index].market) {
                continue;
            }
            let size = self.liquidation_size(&a, p.slot, states).unwrap_or(p.base.abs().unwrap_or(p.base));
            let partial = size.0 < p.base.0.abs();
            let mine = perp_client::chain::fetch_margin(&self.chain, &self.account).await?;
            let others = ix::liquidation_markets(&a, &mine, p.market_index);
            let ms = &states[&p.market_index];
            let (me, my_account, oracles) = (self.keypair.pubkey(), self.account, ix::market_oracles(&ms.market));
            // the program values the group's other markets only when refreshed within 4 slots, and
            // the keeper's own (new risk for it) within their max_age: refresh them all in the same
            // transaction, or, when that would be too big, in transactions of their own just before
            let mut fresh: Vec<u16> = if p.isolated { vec![] } else { ix::cross_markets(&a, Some(p.market_index)) };
            for i in ix::cross_markets(&mine, Some(p.market_index)) {
                if !fresh.contains(&i) {
                    fresh.push(i);
                }
            }
            let mut refresh: Vec<perp_client::Instruction> = fresh
                .iter()
                .filter_map(|i| states.get(i).map(|o| ix::update_funding(*i, &ix::market_oracles(&o.market))))
                .collect();
            // listed collateral the checks read (the victim's for a cross group only): refreshed,
            // and passed along
            let checked: Vec<&MarginAccount> = if p.isolated { vec![&mine] } else { vec![&a, &mine] };
            refresh.extend(collateral::collateral_refreshes(&checked, collaterals));
            // a takeover that grows the keeper's own position on an open ADL round's counterparty
            // side needs that position counted by the round first (a no-op otherwise)
            if ms.market.adl_round != 0 {
                refresh.push(ix::adl_scan(p.market_index, &[my_account]));
            }
            let metas = collateral::held_metas(&checked);
            let liq = |max: u64| {
                let mut i = ix::liquidate(me, my_account, k, p.market_index, &oracles, &others, max);
                i.accounts.extend(metas.clone());
                i
            };
            let mut inline = refresh.clone();
            inline.push(liq(0));
            let inline = ix::legacy_tx_size(&inline, &me) + ix::COMPUTE_BUDGET_BYTES <= ix::MAX_TX_BYTES;
            if !inline {
                for pack in ix::pack_transactions(&refresh, &me) {
                    let _ = self.send(&pack, "update_funding", None, now).await;
                }
                self.check_abort()?;
            }
            let mk = |max: u64| {
                let mut v = if inline { refresh.clone() } else { Vec::new() };
                v.push(liq(max));
                v
            };
            tracing::info!(target: "keeper", account = %k, market = p.market_index, shortfall = %shortfall, size = %size, "liquidating");
            let mut r = self.send(&mk(if partial { size.0 as u64 } else { 0 }), "liquidate", Some(k), now).await;
            if partial
                && matches!(r.as_ref().err().and_then(|e| e.program_error_name()), Some("PartialLiquidationTooSmall"))
            {
                r = self.send(&mk(0), "liquidate", Some(k), now).await;
            }
            if r.is_ok() {
                // the program either closed (part of) it or marked it bankrupt
                let after = perp_client::chain::fetch_margin(&self.chain, &k).await?;
                let slot = after.find(p.market_index);
                if slot.is_some_and(|s| after.positions[s].is_bankrupt()) {
                    self.counters.bankruptcies_marked += 1;
                    report.bankrupt_marked.push((k, p.market_index));
                    tracing::warn!(target: "keeper", account = %k, market = p.market_index, "bankrupt: the insurance vault cannot cover it");
                } else {
                    let left = slot.map(|s| after.positions[s].base).unwrap_or(0);
                    self.counters.liquidations += 1;
                    if left != 0 {
                        self.counters.partial_liquidations += 1;
                    }
                    report.liquidated.push((k, p.market_index, p.base.0 - left, left != 0));
                }
            }
        }
        Ok(())
    }

    /// The smallest takeover the program accepts as a partial liquidation (same predicate: the
    /// program's takeover and penalty on copies, then maintenance x (1 + buffer)).
    pub fn liquidation_size(
        &self,
        a: &MarginAccount,
        slot: usize,
        states: &BTreeMap<u16, MarketState>,
    ) -> Option<Base> {
        let p = a.positions[slot];
        let ms = states.get(&p.market_index)?;
        let buffer = Rate(perp_core::units::RATE_PRECISION + ms.market.liquidation_buffer);
        let healthy = |x: Base| -> perp_core::CoreResult<bool> {
            if x.0 >= p.base.abs() || p.base.abs() - x.0 < ms.market.min_position {
                return Ok(true);
            }
            let Some(h) = preview_takeover(a, slot, states, x) else {
                return Ok(false);
            };
            Ok(h.equity >= h.maintenance.mul_rate(buffer, Round::Up)?)
        };
        min_close_size(Base(p.base), Base(ms.market.min_position), &healthy).ok()
    }

    /// Closes the positions the keeper took over, against the vAMM, when the fill stays within
    /// `unwind_band` of the program's live index (the bound makes a sandwich of the unwind fail,
    /// not cost, whatever the keeper's node says the index is).
    pub async fn unwind(
        &mut self,
        now: i64,
        states: &BTreeMap<u16, MarketState>,
        report: &mut TickReport,
    ) -> ChainResult<()> {
        let Some(band) = self.cfg.unwind_band else {
            return Ok(());
        };
        let Some(mine) = self.chain.account(&self.account).await? else {
            return Ok(());
        };
        let mine: MarginAccount = decode(&mine.data).map_err(|e| ChainError::Account(e.to_string()))?;
        for p in mine.positions.iter().filter(|p| p.in_use() && p.base != 0) {
            let Some(ms) = states.get(&p.market_index) else {
                continue;
            };
            if !self.wanted(&ms.market) || !ms.live {
                continue;
            }
            // selling a long: no lower than index x (1 - band); buying back a short: no higher. The
            // bound is the order's `max_index_deviation`, checked by the program against its own
            // live index (N-5): a node that feeds the keeper a fake oracle account cannot widen it
            let others = ix::cross_markets(&mine, Some(p.market_index));
            let params = OrderParams {
                side: if p.base > 0 { OrderSide::Short } else { OrderSide::Long },
                size: p.base.unsigned_abs(),
                limit_price: 0,
                reduce_only: true,
                isolated: false,
                isolated_collateral: 0,
                max_index_deviation: band.0.max(0) as u64,
            };
            let mut i = ix::place_market_order(
                self.keypair.pubkey(),
                self.account,
                p.market_index,
                &ix::market_oracles(&ms.market),
                &others,
                params,
            );
            i.accounts.extend(collateral::held_metas(&[&mine]));
            if self.send(&[i], "unwind", None, now).await.is_ok() {
                self.counters.unwinds += 1;
                report.unwound.push((p.market_index, p.base));
            }
        }
        Ok(())
    }

    /// ADL executor: for every bankrupt position, open a round, count the counterparties, and
    /// deleverage them in the order the program verifies (ranked) or spread the deficit over the
    /// opposite side (pro rata); resolve when nobody is left.
    pub async fn deleverage_all(
        &mut self,
        now: i64,
        accounts: &[(Pubkey, MarginAccount)],
        report: &mut TickReport,
    ) -> ChainResult<()> {
        let bankrupt: Vec<(Pubkey, u16, i64)> = accounts
            .iter()
            .flat_map(|(k, a)| {
                a.positions.iter().filter(|p| p.in_use() && p.is_bankrupt()).map(move |p| (*k, p.market_index, p.base))
            })
            .collect();
        for (bk, idx, base) in bankrupt {
            let side = if base > 0 { 2u8 } else { 1u8 };
            let mut socialized = false;
            // bounded: each step either progresses or stops on an error
            for _ in 0..16 {
                let m = perp_client::chain::fetch_market(&self.chain, idx).await?;
                if !self.wanted(&m) {
                    break;
                }
                let still = perp_client::chain::fetch_margin(&self.chain, &bk).await?;
                let Some(bslot) = still.find(idx).filter(|s| still.positions[*s].is_bankrupt()) else {
                    break;
                };
                let round: AdlRound =
                    decode(&self.chain.account(&pda::adl_round(idx)).await?.map(|a| a.data).unwrap_or_default())
                        .map_err(|e| ChainError::Account(e.to_string()))?;
                let open = m.adl_round != 0 && m.adl_side == side && round.round == m.adl_round;
                let complete = open && m.adl_scanned == m.open_positions(side);
                let exhausted = round.cursor() >= round.entry_count();
                let replaceable = round.is_expired(now) || (!complete && round.is_stalled(now));
                // a pro-rata round keeps no ranking: complete, one step per bankrupt position
                let pro_rata = m.adl_policy == perp_core::haircut::AdlPolicy::ProRata as u8;
                let used_up = !pro_rata && complete && exhausted && !round.holds_all_profitable();
                if !open || used_up || replaceable {
                    let i = ix::begin_adl_round(idx, &ix::market_oracles(&m), bk);
                    if self.send(&[i], "begin_adl_round", None, now).await.is_err() {
                        break;
                    }
                    self.counters.adl_rounds += 1;
                    continue;
                }
                if !complete {
                    let all = fetch_all_margin_accounts(&self.chain).await?;
                    let stamp = m.adl_round as u32;
                    let todo: Vec<Pubkey> = all
                        .iter()
                        .filter(|(_, a)| {
                            a.find(idx).is_some_and(|s| {
                                let p = a.positions[s];
                                (if side == 1 { p.base > 0 } else { p.base < 0 }) && p.adl_round != stamp
                            })
                        })
                        .map(|(k, _)| *k)
                        .collect();
                    if todo.is_empty() {
                        break;
                    }
                    for chunk in todo.chunks(self.cfg.scan_batch.max(1)) {
                        if self.send(&[ix::adl_scan(idx, chunk)], "adl_scan", None, now).await.is_ok() {
                            self.counters.adl_scans += 1;
                        }
                    }
                    continue;
                }
                if pro_rata {
                    // the book takes the position; the deficit goes to the opposite side's pool
                    let i = ix::auto_deleverage(idx, &ix::market_oracles(&m), bk, &[]);
                    if self.send(&[i], "auto_deleverage", Some(bk), now).await.is_err() {
                        break;
                    }
                    let after = perp_client::chain::fetch_market(&self.chain, idx).await?;
                    socialized = after.socialized_loss > m.socialized_loss;
                    self.counters.adl_steps += 1;
                    report.adl_steps += 1;
                    tracing::info!(target: "keeper", account = %bk, market = idx, absorbed = after.haircut_absorbed - m.haircut_absorbed, "deficit spread pro rata");
                } else if !exhausted {
                    let need = still.positions[bslot].base.abs();
                    let mut take = Vec::new();
                    let mut sum = 0i64;
                    for e in &round.entries[round.cursor()..round.entry_count()] {
                        if sum >= need || take.len() >= self.cfg.adl_batch {
                            break;
                        }
                        take.push(e.key);
                        sum += e.size;
                    }
                    let oracles = ix::market_oracles(&m);
                    let i = ix::auto_deleverage(idx, &oracles, bk, &take);
                    match self.send(&[i], "auto_deleverage", Some(bk), now).await {
                        Ok(_) => {}
                        // a candidate that shrank since the scan can score above the next one:
                        // the pairwise order check then needs one candidate per transaction
                        Err(e) if e.program_error_name() == Some("AdlOrderViolation") && take.len() > 1 => {
                            take.truncate(1);
                            let one = ix::auto_deleverage(idx, &oracles, bk, &take);
                            if self.send(&[one], "auto_deleverage", Some(bk), now).await.is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                    self.counters.adl_steps += take.len() as u64;
                    report.adl_steps += take.len() as u64;
                    tracing::info!(target: "keeper", account = %bk, market = idx, candidates = take.len(), "auto-deleveraged");
                } else {
                    // every profitable counterparty was ranked and used: the last resort
                    let r = ix::resolve_bankruptcy(idx, &ix::market_oracles(&m), bk);
                    if self.send(&[r], "resolve_bankruptcy", Some(bk), now).await.is_err() {
                        break;
                    }
                    socialized = true;
                    tracing::warn!(target: "keeper", account = %bk, market = idx, "loss socialized over the opposite side");
                }
                let after = perp_client::chain::fetch_margin(&self.chain, &bk).await?;
                if !after.find(idx).is_some_and(|s| after.positions[s].is_bankrupt()) {
                    self.counters.bankruptcies_resolved += 1;
                    report.resolved.push((bk, idx));
                    if socialized {
                        self.counters.losses_socialized += 1;
                        report.socialized.push((bk, idx));
                    } else {
                        self.counters.adl_complete += 1;
                    }
                    break;
                }
            }
        }
        Ok(())
    }

    /// Runs forever (until Ctrl-C): one pass every `interval`, counters logged every 10 passes.
    /// Polls every `interval` until SIGINT or SIGTERM.
    pub async fn run(&mut self, interval: std::time::Duration) {
        self.run_until(interval, None, std::future::pending()).await
    }

    /// Runs passes every `interval`, and as soon as `wake` reports a market or oracle change (a
    /// websocket cache; at most one pass per 250 ms), until `stop` resolves, SIGINT or SIGTERM
    /// (listened to during a pass too). A failed pass backs off: 2x the interval, doubling up to
    /// 60 s, back to the interval after a pass that works.
    pub async fn run_until(
        &mut self,
        interval: std::time::Duration,
        wake: Option<perp_client::ws::Wake>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        use std::time::{Duration, Instant};
        use tokio::signal::unix::{signal, SignalKind};
        const MIN_GAP: Duration = Duration::from_millis(250);
        tokio::pin!(stop);
        let mut sigint = signal(SignalKind::interrupt()).ok();
        let mut sigterm = signal(SignalKind::terminate()).ok();
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let mut passes = 0u64;
        let mut backoff: Option<Duration> = None;
        let mut last_start = Instant::now() - MIN_GAP;
        loop {
            if let Some(rest) = MIN_GAP.checked_sub(last_start.elapsed()) {
                tokio::time::sleep(rest).await;
            }
            last_start = Instant::now();
            let result = tokio::select! {
                r = self.tick() => r,
                _ = &mut stop => break,
                _ = recv(&mut sigint) => break,
                _ = recv(&mut sigterm) => break,
            };
            match result {
                Ok(r) => {
                    if backoff.take().is_some() {
                        tracing::info!(target: "keeper", "recovered");
                    }
                    if !r.liquidated.is_empty()
                        || !r.bankrupt_marked.is_empty()
                        || r.adl_steps > 0
                        || !r.orders_filled.is_empty()
                        || !r.orders_cancelled.is_empty()
                    {
                        // with a websocket cache: from the latest market or oracle notification to these transactions landed
                        let since_update_ms =
                            wake.as_ref().and_then(|w| w.last_update()).map(|t| t.elapsed().as_millis() as u64);
                        tracing::info!(target: "keeper", liquidated = r.liquidated.len(), bankrupt = r.bankrupt_marked.len(), adl_steps = r.adl_steps, orders_filled = r.orders_filled.len(), orders_cancelled = r.orders_cancelled.len(), since_update_ms, "pass");
                    }
                }
                Err(e) => {
                    self.counters.failed_passes += 1;
                    let next = backoff.map(|b| (b * 2).min(Duration::from_secs(60))).unwrap_or(interval * 2);
                    backoff = Some(next);
                    tracing::warn!(target: "keeper", error = %short_name(&e), detail = %e, retry_in_ms = next.as_millis() as u64, "pass failed; backing off")
                }
            }
            passes += 1;
            if passes.is_multiple_of(10) {
                tracing::info!(target: "keeper", counters = ?self.counters, "counters");
            }
            let wait = backoff.unwrap_or(interval);
            let woken = async {
                match &wake {
                    Some(w) if backoff.is_none() => w.notified().await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = woken => {}
                _ = &mut stop => break,
                _ = recv(&mut sigint) => break,
                _ = recv(&mut sigterm) => break,
            }
        }
        tracing::info!(target: "keeper", counters = ?self.counters, "stopping");
    }
}
