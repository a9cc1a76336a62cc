//! The replay loop: one step per minute of data.

use super::adl_policy::policy_passes;
use super::config::SimConfig;
use super::report::{EventKind, Sample, SimEvent, SimResult};
use super::stats::{adl_rounds, gap_stats};
use super::traders::f;
use super::world::Sim;
use crate::keeper::TickReport;
use perp::state::MarginAccount;
use perp_client::chain::{fetch_all_margin_accounts, fetch_exchange, fetch_market};
use perp_client::preview::{index_view, market_state};
use perp_client::Pubkey;
use perp_core::Quote;
use std::collections::BTreeMap;
use std::time::Instant;

fn within(windows: &[(i64, i64)], minute: i64) -> bool {
    windows.iter().any(|(a, b)| (*a..*b).contains(&minute))
}

/// Runs the replay. `progress` is called with (minutes done, minutes total).
pub async fn simulate(cfg: &SimConfig, mut progress: impl FnMut(i64, i64)) -> Result<SimResult, String> {
    cfg.check()?;
    let wall = Instant::now();
    let mut index = match &cfg.db {
        Some(url) => Some(super::index::SimIndex::open(url).await?),
        None => None,
    };
    let (mut sim, start, end) = Sim::new(cfg).await?;
    if index.is_some() {
        // this replay's bank keeps its logs from its first transaction; later banks need not
        perp_client::bank::record_logs_of_new_banks(false);
    }
    let mut t = start + 60;
    let mut last = end;
    if let Some(d) = cfg.days {
        last = last.min(start + d * 86_400);
    }
    if let Some(n) = cfg.minutes {
        last = last.min(start + 60 * n);
    }
    let total = (last - start) / 60;
    let mut samples = Vec::with_capacity(total as usize + 1);
    let mut events: Vec<SimEvent> = Vec::new();
    let mut gaps = Vec::with_capacity(total as usize + 1);
    let mut last_funding_time = 0i64;
    let m0 = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
    let insurance_in0 = m0.insurance_total_in;
    let mut insurance_out = m0.insurance_total_out;
    let mut socialized = m0.socialized_loss;
    let mut repeg_cost = m0.total_repeg_cost;
    let ex = fetch_exchange(&sim.boot.chain).await.map_err(|e| e.to_string())?;
    sim.summary.adl_policy = cfg.adl_policy;
    // the market before the keeper's pass (after the last minute's traders)
    let mut m_prev = m0;
    while t <= last {
        let minute = (t - start) / 60;
        // a new slot (and blockhash) every hour of data; within it the bank keeps one version
        // of each account (see BankChain::set_slot_per_send)
        if minute % 60 == 1 {
            sim.boot.chain.next_slot().await;
            if let Some(ix) = index.as_mut() {
                ix.flush(&sim.boot.chain).await?;
            }
        }
        sim.boot.chain.set_time(t).await;
        let dark = within(&cfg.feed_outages, minute);
        sim.summary.feed_dark_minutes += dark as u64;
        let feeds = sim.feed(t, !dark);
        if let Some(c) = sim.collateral.as_mut() {
            if let Some(p) = c.usdc.publish(&sim.boot, if dark { 0 } else { t }) {
                c.usdc_path.push((t, p));
            }
        }
        let keeper_up = !within(&cfg.keeper_outages, minute) && minute % cfg.keeper_every == 0;
        let before = match (&sim.collateral, keeper_up) {
            (Some(c), true) => c.snapshot(&sim.boot).await,
            _ => Vec::new(),
        };
        let report = if keeper_up {
            sim.summary.keeper_passes += 1;
            match sim.keeper.tick().await {
                Ok(r) => r,
                Err(e) => return Err(format!("keeper at {t}: {e}")),
            }
        } else {
            TickReport::default()
        };
        // market state after the crank
        let m = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
        let oracles = perp_client::chain::fetch_oracles(&sim.boot.chain, &m).await.map_err(|e| e.to_string())?;
        let iv = index_view(&m, &ex, &oracles, t);
        let state = market_state(&m, &iv, t);
        if let Some(st) = &state {
            sim.history.push(f(st.index));
        }
        let px = state.as_ref().map(|s| f(s.view.mark)).unwrap_or(f64::NAN);
        if let (Some(c), Some(st)) = (sim.collateral.as_mut(), &state) {
            let states = BTreeMap::from([(0u16, st.clone())]);
            c.after_keeper(&sim.boot, &report, &before, &states, t, px, &mut events).await;
        }
        let mut mark_event = |kind, label: String| events.push(SimEvent { t, price: px, kind, label });
        for (k, _, base, partial) in &report.liquidated {
            let what = if *partial { " (partial)" } else { "" };
            mark_event(EventKind::Liquidation, format!("liquidation: {} {} BTC{what}", k, *base as f64 / 1e9));
        }
        if m.insurance_total_out > insurance_out {
            sim.summary.insurance_draws += 1;
            let paid = Quote((m.insurance_total_out - insurance_out) as i64);
            mark_event(EventKind::InsuranceDraw, format!("insurance draw: {paid} USDC"));
            insurance_out = m.insurance_total_out;
        }
        for (k, id, base, kind) in &report.orders_filled {
            let stop = matches!(*kind, 2 | 4);
            sim.summary.stop_fills += stop as u64;
            let (ek, what) = if stop { (EventKind::StopFill, "stop") } else { (EventKind::OrderFill, "order") };
            mark_event(ek, format!("{what} fill: {k} #{id} {} BTC", *base as f64 / 1e9));
        }
        for (k, _) in &report.bankrupt_marked {
            mark_event(EventKind::Bankruptcy, format!("bankruptcy: {k}"));
        }
        for (k, _) in &report.resolved {
            if !report.socialized.contains(&(*k, 0)) {
                mark_event(EventKind::AdlComplete, format!("ADL round complete: {k}"));
            }
        }
        // in an ADL step (the bankrupt's collateral short of the band-limited price) or at the
        // last resort (no counterparty left)
        if m.socialized_loss > socialized {
            sim.summary.losses_socialized += 1;
            let lost = Quote(m.socialized_loss - socialized);
            mark_event(EventKind::LossSocialized, format!("socialized loss: {lost} USDC"));
            socialized = m.socialized_loss;
        }
        // repegs run at most once per sample period (a minute): each minute's change is one repeg
        let d = m.total_repeg_cost - repeg_cost;
        if d > 0 {
            sim.summary.repeg_paid_gross.0 += d;
        } else {
            sim.summary.repeg_earned.0 -= d;
        }
        repeg_cost = m.total_repeg_cost;
        if m.last_funding_time != last_funding_time && m.last_funding_time >= start + 60 {
            last_funding_time = m.last_funding_time;
            sim.summary.funding_events += 1;
        }
        let live = state.as_ref().is_some_and(|s| s.live);
        let need_accounts = live || report.adl_snapshot.is_some();
        let accounts: BTreeMap<Pubkey, MarginAccount> = if need_accounts {
            fetch_all_margin_accounts(&sim.boot.chain).await.map_err(|e| e.to_string())?.into_iter().collect()
        } else {
            BTreeMap::new()
        };
        if let (Some(before), Some(st)) = (&report.adl_snapshot, &state) {
            sim.summary.adl_fairness.extend(adl_rounds(t, 0, before, &accounts, st.view.mark));
            sim.summary.adl_passes.extend(policy_passes(t, 0, before, &accounts, st.view.mark, &m_prev, &m));
        }
        if let Some(st) = state.as_ref().filter(|s| s.live) {
            sim.traders_act(st, &accounts).await;
            if let Some(c) = sim.collateral.as_mut() {
                c.act(&sim.boot, st, minute).await;
            }
        }
        let m2 = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
        m_prev = m2;
        let vamm = m2.vamm().price().map(f).unwrap_or(f64::NAN);
        let index = state.as_ref().filter(|s| s.live).map(|s| f(s.index));
        let gap_bps = index.map(|i| (vamm - i).abs() / i * 10_000.0).unwrap_or(f64::NAN);
        if index.is_some() {
            gaps.push(gap_bps);
        }
        samples.push(Sample {
            t,
            index,
            feeds,
            mark: px,
            vamm,
            funding_rate: m2.last_funding_rate as f64 / 1e9 * 100.0,
            oi_long: m2.oi_long as f64 / 1e9,
            oi_short: m2.oi_short as f64 / 1e9,
            insurance: m2.insurance_fund as f64 / 1e6,
            gap_bps,
        });
        progress((t - start) / 60, total);
        t += 60;
    }
    // totals
    let m = fetch_market(&sim.boot.chain, 0).await.map_err(|e| e.to_string())?;
    let accounts = fetch_all_margin_accounts(&sim.boot.chain).await.map_err(|e| e.to_string())?;
    let funding_paid: i64 = accounts.iter().map(|(_, a)| a.funding_paid.max(0)).sum();
    let k = &sim.keeper.counters;
    let s = &mut sim.summary;
    s.minutes = total;
    s.volume = Quote(i64::try_from(m.total_volume.get()).unwrap_or(i64::MAX));
    s.fees = Quote(m.total_fees);
    s.funding_paid = Quote(funding_paid);
    s.liquidations = k.liquidations;
    s.partial_liquidations = k.partial_liquidations;
    s.insurance_in = Quote((m.insurance_total_in - insurance_in0) as i64);
    s.insurance_out = Quote(m.insurance_total_out as i64);
    s.insurance_end = Quote(m.insurance_fund);
    s.bankruptcies = k.bankruptcies_marked;
    s.adl_rounds = k.adl_rounds;
    s.adl_events = k.adl_steps;
    s.adl_complete = k.adl_complete;
    s.last_resort = k.losses_socialized;
    s.bad_debt = Quote(m.socialized_loss);
    s.unbacked = Quote(m.unbacked_loss);
    s.repegs = k.repegs;
    s.repeg_paid = Quote(m.total_repeg_cost);
    s.fee_pool_end = Quote(m.fee_pool);
    s.gap = gap_stats(&gaps);
    s.keeper_failures = k.tx_failures;
    s.orders_filled = k.orders_filled;
    s.orders_triggered = k.orders_triggered;
    s.orders_cancelled = k.orders_cancelled;
    s.orders_expired = k.orders_expired;
    s.keeper_failures_by_error = k.failures_by_error.clone();
    s.conservation = Some(sim.boot.conservation().await.map_err(|e| e.to_string())?);
    if let (Some(c), Some(cons)) = (sim.collateral.as_mut(), s.conservation.as_ref()) {
        let entry = sim.history.first().copied().unwrap_or(f64::NAN);
        c.finish(cons, entry);
        s.collateral = Some(c.summary.clone());
    }
    let usdc_path = sim.collateral.as_ref().map(|c| c.usdc_path.clone()).unwrap_or_default();
    s.wall_seconds = wall.elapsed().as_secs_f64();
    let feed_names = sim.series.iter().map(|x| x.name.split("_20").next().unwrap_or(&x.name).to_string()).collect();
    let indexed = match index.as_mut() {
        Some(ix) => {
            ix.flush(&sim.boot.chain).await?;
            Some(ix.summary().await)
        }
        None => None,
    };
    Ok(SimResult { summary: sim.summary, samples, events, feed_names, usdc_path, indexed })
}
