//! The market's ADL policy measured on a replay: for every keeper pass that resolved a bankruptcy,
//! what it cost the opposite side's winners, by what the program did (ranked: the closes; pro
//! rata: the haircut each account owes from its stamp and the pool's index).
//!
//! Per pass and side:
//! - **deficit**: what the bankrupt positions closed in the pass leave beyond their bankruptcy
//!   price at the pass's mark, `sum(|closed| x (bankruptcy price - mark))` for longs (the reverse for
//!   shorts), none where the mark recovered past it;
//! - **taken**: what the winners gave up for it. Ranked: each closed winner's profit at the mark on
//!   the part closed, less what it realized (it closed at the bankruptcy price instead). Pro
//!   rata: the haircut each account owes for the pass (`perp_core::haircut::haircut_total` of its
//!   stamp at the pool's index after the pass, less at the index before);
//! - **overshoot**: ranked, taken + socialized - deficit (what the winners gave beyond the deficit
//!   at the replay's mark); pro rata, taken - absorbed, against the program's own deficit (the
//!   replay values at its unguarded mark, the program at the guarded live mark);
//! - **value closed**: the winners' position value closed at the mark (ranked only);
//! - shares of `taken` borne by the top winner and the top 10 % (at least one: `ceil(n / 10)`
//!   winners ranked by profit at the mark), winners charged or closed, and the profit left to the
//!   side (its positive PnL at the mark less `taken`, before any socialized charge, which falls on
//!   every position of the side by size);
//! - the bankrupt size left to the market's book (taken off the curve with no counterparty).

use perp::state::{MarginAccount, Market};
use perp_client::Pubkey;
use perp_core::haircut::{haircut_total, AdlPolicy};
use perp_core::{Base, Price, Quote, Round};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One pass, one side.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyPass {
    pub t: i64,
    pub deficit: i64,
    pub taken: i64,
    pub socialized: i64,
    /// What the program's pro-rata pools took in the pass (`Market::haircut_absorbed`).
    pub absorbed: i64,
    /// Bankrupt size the market's book took off the curve (no counterparty closed against it).
    pub book_base: i64,
    pub value_closed: i64,
    pub top1: i64,
    pub top10: i64,
    pub touched: usize,
    pub winners: usize,
    pub profit: i64,
    /// The largest share of its own profit any winner gave (<= 1: never more than its profit).
    pub max_share_of_profit: f64,
}

/// The passes' cost to the winners, by what the program did between `before` (the accounts when
/// the keeper's ADL began), `after`, with the market `m0` before the pass and `m1` after it.
pub fn policy_passes(
    t: i64,
    market: u16,
    before: &[(Pubkey, MarginAccount)],
    after: &BTreeMap<Pubkey, MarginAccount>,
    mark: Price,
    m0: &Market,
    m1: &Market,
) -> Vec<PolicyPass> {
    let pos = |a: &MarginAccount| a.find(market).map(|s| a.positions[s]);
    let mut out = Vec::new();
    let socialized = m1.socialized_loss - m0.socialized_loss;
    for bankrupt_long in [true, false] {
        let sign = if bankrupt_long { 1 } else { -1 };
        let pool = usize::from(bankrupt_long); // the counterparties: shorts (pool 1) for longs
        let mut deficit = 0i64;
        let mut book = 0i64;
        let mut closed_base: Vec<i64> = Vec::new();
        // (profit at the mark, taken, closed value)
        let mut w: Vec<(i64, i64, i64)> = Vec::new();
        for (k, a) in before {
            let Some(p) = pos(a) else { continue };
            let now = after.get(k).and_then(pos).filter(|q| q.base.signum() == p.base.signum());
            let now_base = now.map(|q| q.base).unwrap_or(0);
            let closed = (p.base - now_base).abs().min(p.base.abs());
            if p.base.signum() == sign && p.is_bankrupt() {
                let pb = Price(p.bankruptcy_price);
                let v = |px: Price| Base(closed).value_at(px, Round::Down).map(|q| q.0).unwrap_or(0);
                // a long's bankruptcy price above the mark (a short's below) leaves a deficit; a
                // recovery past it leaves none (the program books that surplus to insurance)
                deficit += (sign * (v(pb) - v(mark))).max(0);
                book += closed;
            } else if p.base.signum() == -sign && !p.is_bankrupt() {
                let upnl = p.state().upnl(mark).map(|u| u.0).unwrap_or(0);
                let taken = match (AdlPolicy::from_u8(m1.adl_policy), now) {
                    (Ok(AdlPolicy::ProRata), Some(q))
                        if q.adl_round == m1.haircut_round[pool] && q.haircut_profit > 0 =>
                    {
                        let i1 = m1.haircut_index[pool].get();
                        let i0 = if m0.haircut_round[pool] == q.adl_round { m0.haircut_index[pool].get() } else { 0 };
                        let u = Quote(q.haircut_profit);
                        haircut_total(u, i1).map(|x| x.0).unwrap_or(0) - haircut_total(u, i0).map(|x| x.0).unwrap_or(0)
                    }
                    _ if closed > 0 => {
                        let realized = after.get(k).map(|x| x.realized_pnl).unwrap_or(a.realized_pnl) - a.realized_pnl;
                        let at_mark = (upnl as i128 * closed as i128 / p.base.abs() as i128) as i64;
                        (at_mark - realized).max(0)
                    }
                    _ => 0,
                };
                let value = Base(closed).value_at(mark, Round::Down).map(|q| q.0).unwrap_or(0);
                closed_base.push(closed);
                if upnl > 0 || taken > 0 || closed > 0 {
                    w.push((upnl.max(0), taken, value));
                }
            }
        }
        let taken: i64 = w.iter().map(|x| x.1).sum();
        let closed_by_winners: i64 = closed_base.iter().sum();
        if deficit == 0 && taken == 0 {
            continue;
        }
        w.sort_by_key(|x| std::cmp::Reverse(x.0));
        let n = w.len();
        let top10 = n.div_ceil(10).max(1).min(n);
        out.push(PolicyPass {
            t,
            deficit,
            taken,
            socialized: if out.is_empty() { socialized } else { 0 },
            absorbed: if out.is_empty() { m1.haircut_absorbed - m0.haircut_absorbed } else { 0 },
            book_base: (book - closed_by_winners).max(0),
            value_closed: w.iter().map(|x| x.2).sum(),
            top1: w.iter().take(1).map(|x| x.1).sum(),
            top10: w[..top10].iter().map(|x| x.1).sum(),
            touched: w.iter().filter(|x| x.1 > 0 || x.2 > 0).count(),
            winners: w.iter().filter(|x| x.0 > 0).count(),
            profit: w.iter().map(|x| x.0).sum(),
            max_share_of_profit: w.iter().filter(|x| x.0 > 0).map(|x| x.1 as f64 / x.0 as f64).fold(0.0, f64::max),
        });
    }
    out
}

/// A replay's passes under one policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySummary {
    pub policy: AdlPolicy,
    pub passes: usize,
    pub deficit: i64,
    pub taken: i64,
    pub socialized: i64,
    pub absorbed: i64,
    pub book_base: i64,
    pub overshoot: i64,
    pub value_closed: i64,
    pub top1_share: f64,
    pub top10_share: f64,
    pub touched: usize,
    pub winners: usize,
    pub profit_left: i64,
    pub max_share_of_profit: f64,
}

pub fn summarize(policy: AdlPolicy, passes: &[PolicyPass]) -> PolicySummary {
    let sum = |f: fn(&PolicyPass) -> i64| passes.iter().map(f).sum::<i64>();
    let taken = sum(|p| p.taken);
    let share = |x: i64| if taken > 0 { x as f64 / taken as f64 } else { 0.0 };
    PolicySummary {
        policy,
        passes: passes.len(),
        deficit: sum(|p| p.deficit),
        taken,
        socialized: sum(|p| p.socialized),
        absorbed: sum(|p| p.absorbed),
        book_base: sum(|p| p.book_base),
        // against the program's own deficit where it records it (the pools' absorbed amount): the
        // replay's deficit is valued at its unguarded mark, the program's at the guarded live mark
        overshoot: if policy == AdlPolicy::ProRata {
            taken - sum(|p| p.absorbed)
        } else {
            taken + sum(|p| p.socialized) - sum(|p| p.deficit)
        },
        value_closed: sum(|p| p.value_closed),
        top1_share: share(sum(|p| p.top1)),
        top10_share: share(sum(|p| p.top10)),
        touched: passes.iter().map(|p| p.touched).sum(),
        winners: passes.iter().map(|p| p.winners).sum(),
        profit_left: sum(|p| p.profit) - taken,
        max_share_of_profit: passes.iter().map(|p| p.max_share_of_profit).fold(0.0, f64::max),
    }
}

impl PolicySummary {
    pub fn json(&self) -> Value {
        json!({
            "policy": self.policy.name(),
            "passes": self.passes,
            "deficit": Quote(self.deficit).to_string(),
            "taken_from_winners": Quote(self.taken).to_string(),
            "socialized": Quote(self.socialized).to_string(),
            "overshoot": Quote(self.overshoot).to_string(),
            "position_value_closed": Quote(self.value_closed).to_string(),
            "bankrupt_size_left_to_the_book": perp_core::Base(self.book_base).to_string(),
            "top_winner_share": format!("{:.1}%", self.top1_share * 100.0),
            "top_10pct_share": format!("{:.1}%", self.top10_share * 100.0),
            "winners_charged_or_closed": format!("{} of {}", self.touched, self.winners),
            "profit_left_to_winners_before_socialization": Quote(self.profit_left).to_string(),
            "largest_share_of_a_winners_profit": format!("{:.2}%", self.max_share_of_profit * 100.0),
        })
    }

    /// One line for the text summary.
    pub fn line(&self) -> String {
        format!(
            "{}: deficit {} USDC, taken {} (+{} socialized, overshoot {}), position value closed {}, top winner {:.1}%, top 10% {:.1}%, touched {} of {}, profit left {}",
            self.policy.name(),
            Quote(self.deficit),
            Quote(self.taken),
            Quote(self.socialized),
            Quote(self.overshoot),
            Quote(self.value_closed),
            self.top1_share * 100.0,
            self.top10_share * 100.0,
            self.touched,
            self.winners,
            Quote(self.profit_left),
        )
    }
}

/// The policies side by side: one group of bars per measure, one bar per policy: the deficit, what
/// was taken from the winners, socialized beyond, the winners' position value closed (/10), in
/// USDC; the shares of what was taken borne by the top winner and the top 10 %, the largest share
/// of one winner's profit taken, and the winners touched, in %.
pub fn policies_chart(s: &[PolicySummary]) -> String {
    const COLORS: [&str; 3] = ["#d62728", "#1f77b4", "#2ca02c"];
    let usd = |q: i64| q as f64 / 1e6;
    let groups: Vec<(&str, Vec<f64>, &str)> = vec![
        ("deficit", s.iter().map(|p| usd(p.deficit)).collect(), "USDC"),
        ("taken", s.iter().map(|p| usd(p.taken)).collect(), "USDC"),
        ("socialized", s.iter().map(|p| usd(p.socialized)).collect(), "USDC"),
        ("closed / 10", s.iter().map(|p| usd(p.value_closed) / 10.0).collect(), "USDC"),
        ("top winner", s.iter().map(|p| p.top1_share * 100.0).collect(), "%"),
        ("top 10%", s.iter().map(|p| p.top10_share * 100.0).collect(), "%"),
        ("max of a profit", s.iter().map(|p| p.max_share_of_profit * 100.0).collect(), "%"),
        (
            "touched",
            s.iter().map(|p| if p.winners > 0 { p.touched as f64 / p.winners as f64 * 100.0 } else { 0.0 }).collect(),
            "%",
        ),
    ];
    let (w, h, top, bottom, left) = (1200.0, 480.0, 50.0, 90.0, 40.0);
    let ph = h - top - bottom;
    let gw = (w - 2.0 * left) / groups.len() as f64;
    let bw = (gw - 30.0) / s.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"24\" font-size=\"15\">ADL policies on the same replay: what the winners paid and who paid it (USDC left, % right)</text>"
    );
    for (g, (name, vals, unit)) in groups.iter().enumerate() {
        let max = groups.iter().filter(|x| x.2 == *unit).flat_map(|x| x.1.iter().copied()).fold(1e-9, f64::max);
        let x0 = left + g as f64 * gw + 15.0;
        for (i, v) in vals.iter().enumerate() {
            let bh = (v / max).clamp(0.0, 1.0) * ph;
            let x = x0 + i as f64 * bw;
            let y = top + ph - bh;
            svg += &format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{}: {v:.2} {unit}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{v:.1}</text>",
                bw - 4.0,
                COLORS[i % COLORS.len()],
                s[i].policy.name(),
                x + (bw - 4.0) / 2.0,
                y - 4.0
            );
        }
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{name} ({unit})</text>",
            x0 + (gw - 30.0) / 2.0,
            top + ph + 20.0
        );
    }
    for (i, p) in s.iter().enumerate() {
        let x = left + i as f64 * 160.0;
        svg += &format!(
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            h - 40.0,
            COLORS[i % COLORS.len()],
            x + 20.0,
            h - 28.0,
            p.policy.name()
        );
    }
    svg + "</svg>"
}
