//! A replay's results: the summary (counts, totals, distributions), the per-minute samples and
//! the events the charts mark, written as SVG charts, JSON, a text table and an HTML page.

use super::adl_policy::{summarize, PolicyPass};
use super::stats::{adl_fairness_line, AdlRoundStats, GapStats};
use crate::charts::{line_chart, Line, Marker};
use perp_client::bank::Conservation;
use perp_core::haircut::AdlPolicy;
use perp_core::Quote;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Counts and totals of a run.
#[derive(Clone, Debug, Default)]
pub struct SimSummary {
    pub minutes: i64,
    pub trades: u64,
    pub rejected_orders: u64,
    /// Why orders were rejected, by program error name.
    pub rejections: BTreeMap<String, u64>,
    pub volume: Quote,
    pub fees: Quote,
    pub funding_events: u64,
    pub funding_paid: Quote,
    pub liquidations: u64,
    pub partial_liquidations: u64,
    pub insurance_in: Quote,
    pub insurance_out: Quote,
    pub insurance_end: Quote,
    /// Keeper passes in which the insurance fund paid a deficit.
    pub insurance_draws: u64,
    pub bankruptcies: u64,
    pub adl_rounds: u64,
    pub adl_events: u64,
    /// Bankruptcies closed by ADL alone (complete rounds).
    pub adl_complete: u64,
    /// Keeper passes in which a loss was socialized (in an ADL step or at the last resort).
    pub losses_socialized: u64,
    /// Bankruptcies that reached the last resort (`resolve_bankruptcy`: no counterparty left).
    pub last_resort: u64,
    pub bad_debt: Quote,
    /// Of `bad_debt`, what no one was left to be charged (the PnL pool's unbacked loss).
    pub unbacked: Quote,
    pub repegs: u64,
    /// Net paid by the fee pool for repegs (negative: it earned).
    pub repeg_paid: Quote,
    /// Paid by the fee pool in the repegs that cost it, and earned in those that paid it.
    pub repeg_paid_gross: Quote,
    pub repeg_earned: Quote,
    pub fee_pool_end: Quote,
    /// The vAMM mid's distance from the index, per minute with a live index.
    pub gap: GapStats,
    pub adl_fairness: Vec<AdlRoundStats>,
    /// The market's ADL policy, and what each pass that resolved a bankruptcy cost the winners.
    pub adl_policy: AdlPolicy,
    pub adl_passes: Vec<PolicyPass>,
    pub keeper_passes: u64,
    /// Resting orders: placed by traders, filled (in full or in part) and triggered by the
    /// keeper, cancelled by the keeper for the reward (unfillable or nothing left to reduce),
    /// expired, and cancelled by their owners.
    pub orders_placed: u64,
    pub orders_filled: u64,
    pub orders_triggered: u64,
    pub orders_cancelled: u64,
    pub orders_expired: u64,
    pub orders_cancelled_by_owner: u64,
    /// Of the fills, those of stop orders (stop-market, stop-limit).
    pub stop_fills: u64,
    pub feed_dark_minutes: u64,
    pub keeper_failures: u64,
    pub keeper_failures_by_error: BTreeMap<String, u64>,
    pub wall_seconds: f64,
    pub conservation: Option<Conservation>,
    /// The collateral scenario's counts.
    pub collateral: Option<super::collateral::CollateralSummary>,
}

/// Per-minute record for the charts.
#[derive(Clone, Debug, Default)]
pub(super) struct Sample {
    pub t: i64,
    pub index: Option<f64>,
    pub feeds: Vec<Option<f64>>,
    pub mark: f64,
    pub vamm: f64,
    pub funding_rate: f64,
    pub oi_long: f64,
    pub oi_short: f64,
    pub insurance: f64,
    pub gap_bps: f64,
}

/// What the charts mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Liquidation,
    InsuranceDraw,
    Bankruptcy,
    AdlComplete,
    LossSocialized,
    StopFill,
    OrderFill,
}

impl EventKind {
    fn style(self) -> (&'static str, &'static str) {
        match self {
            EventKind::Liquidation => ("#d62728", "circle"),
            EventKind::InsuranceDraw => ("#ff7f0e", "circle"),
            EventKind::Bankruptcy => ("#6a0dad", "triangle"),
            EventKind::AdlComplete => ("#1f77b4", "triangle"),
            EventKind::LossSocialized => ("#000000", "triangle"),
            EventKind::StopFill => ("#e377c2", "circle"),
            EventKind::OrderFill => ("#2ca02c", "circle"),
        }
    }
}

/// A marked event: time, the mark then, what, and its label (`kind: details`).
#[derive(Clone, Debug)]
pub struct SimEvent {
    pub t: i64,
    pub price: f64,
    pub kind: EventKind,
    pub label: String,
}

pub struct SimResult {
    pub summary: SimSummary,
    pub(super) samples: Vec<Sample>,
    pub events: Vec<SimEvent>,
    pub(super) feed_names: Vec<String>,
    /// The collateral scenario's derived USDC/USD per minute.
    pub usdc_path: Vec<(i64, f64)>,
    /// `--db`: what was written into the indexer's database.
    pub indexed: Option<serde_json::Value>,
}

const COLORS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

impl SimResult {
    /// Unix time of the first replayed minute.
    pub fn start_time(&self) -> Option<i64> {
        self.samples.first().map(|s| s.t - 60)
    }

    pub fn summary_json(&self) -> Value {
        let s = &self.summary;
        let c = s.conservation.clone().unwrap_or(Conservation {
            collateral_vault: 0,
            ledgers: 0,
            insurance_vault: 0,
            insurance_ledger: 0,
            mints: vec![],
        });
        let mut v = json!({
            "conservation": if c.holds() { "ok" } else { "FAILED" },
            "minutes": s.minutes,
            "trades": s.trades,
            "rejected_orders": s.rejected_orders,
            "rejected_by_reason": s.rejections.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            "volume": s.volume.to_string(),
            "fees": s.fees.to_string(),
            "funding_events": s.funding_events,
            "funding_paid": s.funding_paid.to_string(),
            "liquidations": s.liquidations,
            "partial_liquidations": s.partial_liquidations,
            "insurance_in": s.insurance_in.to_string(),
            "insurance_out": s.insurance_out.to_string(),
            "insurance_end": s.insurance_end.to_string(),
            "insurance_draws": s.insurance_draws,
            "bankruptcies": s.bankruptcies,
            "adl_rounds": s.adl_rounds,
            "adl_events": s.adl_events,
            "adl_complete": s.adl_complete,
            "losses_socialized": s.losses_socialized,
            "last_resort_resolutions": s.last_resort,
            "bad_debt": s.bad_debt.to_string(),
            "unbacked_loss": s.unbacked.to_string(),
            "adl_queue_vs_prorata": adl_fairness_line(&s.adl_fairness),
            "adl_policy": s.adl_policy.name(),
            "adl_cost_to_winners": summarize(s.adl_policy, &s.adl_passes).line(),
            "repegs": s.repegs,
            "repeg_paid_by_fee_pool": format!(
                "{} net: paid {} in the repegs that cost, earned {} in those that paid",
                s.repeg_paid, s.repeg_paid_gross, s.repeg_earned
            ),
            "fee_pool_end": s.fee_pool_end.to_string(),
            "vamm_gap_bps": format!(
                "within 50 bps {:.1}% of {} minutes; p50 {:.1}, p90 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}",
                s.gap.within_50bps * 100.0, s.gap.minutes, s.gap.p50, s.gap.p90, s.gap.p95, s.gap.p99, s.gap.max
            ),
            "keeper_passes": s.keeper_passes,
            "orders": format!(
                "{} placed, {} filled ({} stops), {} triggered, {} expired, {} cancelled by the keeper (unfillable or nothing to reduce), {} by their owners",
                s.orders_placed, s.orders_filled, s.stop_fills, s.orders_triggered, s.orders_expired, s.orders_cancelled, s.orders_cancelled_by_owner
            ),
            "feed_dark_minutes": s.feed_dark_minutes,
            "keeper_failed_transactions": s.keeper_failures,
            "keeper_failed_by_reason": s.keeper_failures_by_error.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            "collateral_vault": Quote(c.collateral_vault as i64).to_string(),
            "ledgers": Quote(c.ledgers as i64).to_string(),
            "insurance_vault": Quote(c.insurance_vault as i64).to_string(),
            "insurance_ledger": Quote(c.insurance_ledger as i64).to_string(),
            "wall_seconds": format!("{:.1}", s.wall_seconds),
        });
        if let Some(col) = &s.collateral {
            v["collateral"] = col.json();
        }
        v
    }

    /// Writes the charts (SVG), the summary (JSON and text) and an HTML page showing them.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let pts =
            |g: &dyn Fn(&Sample) -> f64| -> Vec<(i64, f64)> { self.samples.iter().map(|s| (s.t, g(s))).collect() };
        let mut price_lines = Vec::new();
        for (i, name) in self.feed_names.iter().enumerate() {
            price_lines
                .push(Line::new(name, COLORS[i % COLORS.len()], pts(&|s| s.feeds[i].unwrap_or(f64::NAN))).thin());
        }
        price_lines.push(Line::new("index", "#000000", pts(&|s| s.index.unwrap_or(f64::NAN))));
        price_lines.push(Line::new("mark", "#d62728", pts(&|s| s.mark)));
        price_lines.push(Line::new("vAMM", "#7f7f7f", pts(&|s| s.vamm)).thin());
        let markers = |at: &dyn Fn(&SimEvent) -> f64| -> Vec<Marker> {
            self.events
                .iter()
                .map(|e| {
                    let (color, shape) = e.kind.style();
                    Marker { t: e.t, v: at(e), color, shape, label: e.label.clone() }
                })
                .collect()
        };
        let insurance_at = |e: &SimEvent| {
            let k = self.samples.partition_point(|s| s.t < e.t).min(self.samples.len().saturating_sub(1));
            self.samples.get(k).map(|s| s.insurance).unwrap_or(0.0)
        };
        let rounds: Vec<&AdlRoundStats> = self.summary.adl_fairness.iter().filter(|r| r.closed > 0).collect();
        let per_round = |f: fn(&AdlRoundStats) -> f64| -> Vec<(i64, f64)> {
            rounds.iter().enumerate().map(|(k, r)| (k as i64 + 1, f(r) * 100.0)).collect()
        };
        let fairness_lines = [
            Line::new("queue: top winner", "#d62728", per_round(|r| r.queue_top1)).steps(),
            Line::new("pro rata: top winner", "#1f77b4", per_round(|r| r.prorata_top1)).steps(),
            Line::new("queue: top 10%", "#ff7f0e", per_round(|r| r.queue_top10)).steps().thin(),
            Line::new("pro rata: top 10%", "#17becf", per_round(|r| r.prorata_top10)).steps().thin(),
        ];
        let fairness_points: Vec<Marker> = fairness_lines
            .iter()
            .flat_map(|l| {
                l.points.iter().map(|(k, v)| Marker {
                    t: *k,
                    v: *v,
                    color: l.color,
                    shape: "circle",
                    label: format!("{}: pass {k} {v:.1}%", l.name),
                })
            })
            .collect();
        let mut charts = vec![
            (
                "prices.svg",
                line_chart(
                    "BTC-PERP: index vs each feed vs mark vs vAMM (liquidations, insurance draws, bankruptcies, ADL, socialized losses, stop and limit fills)",
                    "USD",
                    &price_lines,
                    &markers(&|e| e.price),
                    false,
                ),
            ),
            (
                "funding.svg",
                line_chart(
                    "Funding rate per interval",
                    "% per interval",
                    &[Line::new("funding rate", "#1f77b4", pts(&|s| s.funding_rate)).steps()],
                    &[],
                    true,
                ),
            ),
            (
                "open_interest.svg",
                line_chart(
                    "Open interest",
                    "BTC",
                    &[
                        Line::new("long", "#2ca02c", pts(&|s| s.oi_long)),
                        Line::new("short", "#d62728", pts(&|s| s.oi_short)),
                    ],
                    &[],
                    false,
                ),
            ),
            (
                "insurance.svg",
                line_chart(
                    "Insurance fund (the market's ledger; liquidations, insurance draws, bankruptcies, ADL, socialized losses)",
                    "USDC",
                    &[Line::new("insurance fund", "#9467bd", pts(&|s| s.insurance))],
                    &markers(&insurance_at),
                    false,
                ),
            ),
            (
                "vamm_gap.svg",
                line_chart(
                    "vAMM mid vs index: |gap| per minute (50 bps line)",
                    "bps",
                    &[
                        Line::new("|vAMM - index|", "#7f7f7f", pts(&|s| s.gap_bps)).thin(),
                        Line::new("50 bps", "#d62728", pts(&|_| 50.0)).thin(),
                    ],
                    &[],
                    true,
                ),
            ),
            (
                "adl_fairness.svg",
                line_chart(
                    "ADL: share of each pass's closes borne by the top winners, queue vs pro rata (x: ADL pass)",
                    "% of closed",
                    &fairness_lines,
                    &fairness_points,
                    true,
                ),
            ),
        ];
        if !self.usdc_path.is_empty() {
            let usdc_at = |e: &SimEvent| {
                let k = self.usdc_path.partition_point(|x| x.0 < e.t).min(self.usdc_path.len() - 1);
                self.usdc_path[k].1
            };
            let sold: Vec<Marker> = self
                .events
                .iter()
                .filter(|e| e.label.contains(" sold: "))
                .map(|e| Marker { t: e.t, v: usdc_at(e), color: "#d62728", shape: "circle", label: e.label.clone() })
                .collect();
            charts.push((
                "collateral.svg",
                line_chart(
                    "USDC/USD derived from BTCUSD / BTCUSDC (median of two venues), with collateral sales",
                    "USD per USDC",
                    &[
                        Line::new("USDC/USD", "#1f77b4", self.usdc_path.clone()),
                        Line::new("peg", "#7f7f7f", self.usdc_path.iter().map(|x| (x.0, 1.0)).collect()).thin(),
                    ],
                    &sold,
                    false,
                ),
            ));
        }
        for (name, svg) in &charts {
            let p = dir.join(name);
            std::fs::write(&p, svg)?;
            written.push(p);
        }
        let summary = self.summary_json();
        let p = dir.join("summary.json");
        std::fs::write(&p, serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n")?;
        written.push(p);
        let table = summary_table(&summary);
        let p = dir.join("summary.txt");
        std::fs::write(&p, &table)?;
        written.push(p);
        let mut html = String::from("<!doctype html><meta charset=utf-8><title>perp simulate</title><body style=\"font-family:sans-serif\"><h1>perp simulate</h1><pre>");
        html.push_str(&table);
        html.push_str("</pre>");
        for (name, _) in &charts {
            html.push_str(&format!("<p><img src=\"{name}\" style=\"max-width:100%\"></p>"));
        }
        let p = dir.join("index.html");
        std::fs::write(&p, html)?;
        written.push(p);
        Ok(written)
    }
}

/// The summary as an aligned two-column table.
pub fn summary_table(v: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(m) = v {
        let w = m.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, val) in m {
            let s = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k:<w$}  {s}\n"));
        }
    }
    out
}
