//! What the replay measures beyond counts: how far the vAMM strays from the index, and how ADL
//! rounds spread their closes compared with a pro-rata rule.

use perp::state::MarginAccount;
use perp_client::Pubkey;
use perp_core::Price;
use std::collections::BTreeMap;

/// Distribution of the vAMM mid's distance from the index, basis points, one sample per minute
/// with a live index.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GapStats {
    pub minutes: usize,
    /// Share of those minutes within 50 bps (0..1).
    pub within_50bps: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn gap_stats(gaps_bps: &[f64]) -> GapStats {
    let mut v: Vec<f64> = gaps_bps.iter().copied().filter(|g| g.is_finite()).collect();
    if v.is_empty() {
        return GapStats::default();
    }
    v.sort_by(f64::total_cmp);
    // nearest-rank percentile
    let pct = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    GapStats {
        minutes: v.len(),
        within_50bps: v.iter().filter(|g| **g <= 50.0).count() as f64 / v.len() as f64,
        p50: pct(0.50),
        p90: pct(0.90),
        p95: pct(0.95),
        p99: pct(0.99),
        max: v[v.len() - 1],
    }
}

/// One keeper pass that deleveraged one side of the market (an ADL "pass" below), compared with
/// pro rata.
///
/// The counterparties are the positions on the other side when the ADL executor started that
/// were profitable at the mark or that the queue closed, ranked by unrealized profit at the mark
/// (the "winners"). The queue's closes are what
/// the program did (each counterparty's position before minus after); the pro-rata allocation
/// closes the same total in proportion to position size. Closes are compared in base: each
/// counterparty's cost (giving up the mark for the bankruptcy price) is proportional to it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdlRoundStats {
    pub t: i64,
    /// The side of the bankrupt positions (true: longs were bankrupt).
    pub bankrupt_long: bool,
    /// The bankrupt positions' size on that side (base): the minimum that must be closed.
    pub needed: i64,
    /// Closed against counterparties by the queue (base).
    pub closed: i64,
    /// What the last resort closed without a counterparty (base).
    pub socialized: i64,
    pub counterparties: usize,
    /// Counterparties the queue touched; pro rata touches all of them.
    pub touched: usize,
    /// Share of `closed` borne by the top winner / the top 10% (at least one), queue and pro rata.
    pub queue_top1: f64,
    pub queue_top10: f64,
    pub prorata_top1: f64,
    pub prorata_top10: f64,
}

impl AdlRoundStats {
    /// Closed beyond what was needed (base). The program closes the last candidate only in part,
    /// so this is 0 unless that changes; it is measured, not assumed.
    pub fn overshoot(&self) -> i64 {
        (self.closed + self.socialized - self.needed).max(0)
    }
}

/// The ADL rounds of one keeper pass: `before` is the executor's snapshot, `after` the accounts
/// once it finished, `mark` the market's mark at the pass.
pub fn adl_rounds(
    t: i64,
    market: u16,
    before: &[(Pubkey, MarginAccount)],
    after: &BTreeMap<Pubkey, MarginAccount>,
    mark: Price,
) -> Vec<AdlRoundStats> {
    let base_of = |a: &MarginAccount| a.find(market).map(|s| a.positions[s].base).unwrap_or(0);
    let mut out = Vec::new();
    for bankrupt_long in [true, false] {
        let sign = if bankrupt_long { 1 } else { -1 };
        let mut needed = 0i64;
        let mut bankrupt_closed = 0i64;
        // (upnl, size, closed by the queue)
        let mut cps: Vec<(i64, i64, i64)> = Vec::new();
        for (k, a) in before {
            let Some(s) = a.find(market) else { continue };
            let p = a.positions[s];
            let now = after.get(k).map(base_of).unwrap_or(0);
            if p.base.signum() == sign && p.is_bankrupt() {
                needed += p.base.abs();
                bankrupt_closed += (p.base - now).abs();
            } else if p.base.signum() == -sign && !p.is_bankrupt() {
                // a counterparty: profitable at the mark now, or closed by the queue (which ranked
                // at its round's mark, possibly an earlier one)
                let upnl = p.state().upnl(mark).map(|u| u.0).unwrap_or(0);
                let closed = (p.base - now).abs().min(p.base.abs());
                if upnl > 0 || closed > 0 {
                    cps.push((upnl, p.base.abs(), closed));
                }
            }
        }
        let closed: i64 = cps.iter().map(|c| c.2).sum();
        if needed == 0 || (closed == 0 && bankrupt_closed == 0) {
            continue;
        }
        cps.sort_by_key(|c| std::cmp::Reverse(c.0));
        let n = cps.len();
        let top10 = n.div_ceil(10).max(1);
        let share = |xs: &[(i64, i64, i64)], f: fn(&(i64, i64, i64)) -> i64, total: i64| -> f64 {
            if total <= 0 {
                0.0
            } else {
                xs.iter().map(f).sum::<i64>() as f64 / total as f64
            }
        };
        let size_total: i64 = cps.iter().map(|c| c.1).sum();
        out.push(AdlRoundStats {
            t,
            bankrupt_long,
            needed,
            closed,
            socialized: (bankrupt_closed - closed).max(0),
            counterparties: n,
            touched: cps.iter().filter(|c| c.2 > 0).count(),
            queue_top1: share(&cps[..n.min(1)], |c| c.2, closed),
            queue_top10: share(&cps[..top10.min(n)], |c| c.2, closed),
            prorata_top1: share(&cps[..n.min(1)], |c| c.1, size_total),
            prorata_top10: share(&cps[..top10.min(n)], |c| c.1, size_total),
        });
    }
    out
}

/// One line over all passes: totals, and mean shares over the passes that closed against
/// counterparties (a pass settled only at the last resort has no shares to compare).
pub fn adl_fairness_line(rounds: &[AdlRoundStats]) -> String {
    if rounds.is_empty() {
        return "no ADL pass".into();
    }
    let with: Vec<&AdlRoundStats> = rounds.iter().filter(|r| r.closed > 0).collect();
    let n = with.len().max(1) as f64;
    let mean = |f: fn(&AdlRoundStats) -> f64| with.iter().map(|r| f(r)).sum::<f64>() / n * 100.0;
    let sum = |f: fn(&AdlRoundStats) -> i64| rounds.iter().map(f).sum::<i64>() as f64 / 1e9;
    format!(
        "{} ADL passes ({} with closes against counterparties): needed {:.3} BTC, queue closed {:.3} against counterparties + {:.3} socialized (overshoot {:.3}); \
         share borne by the top winner: queue {:.1}% vs pro rata {:.1}%; by the top 10%: queue {:.1}% vs pro rata {:.1}%; \
         counterparties touched: queue {} of {}",
        rounds.len(),
        with.len(),
        sum(|r| r.needed),
        sum(|r| r.closed),
        sum(|r| r.socialized),
        sum(|r| r.overshoot()),
        mean(|r| r.queue_top1),
        mean(|r| r.prorata_top1),
        mean(|r| r.queue_top10),
        mean(|r| r.prorata_top10),
        rounds.iter().map(|r| r.touched).sum::<usize>(),
        rounds.iter().map(|r| r.counterparties).sum::<usize>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_percentiles_by_nearest_rank() {
        let g: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        let s = gap_stats(&g);
        assert_eq!((s.minutes, s.p50, s.p95, s.max), (100, 50.0, 95.0, 100.0));
        assert!((s.within_50bps - 0.5).abs() < 1e-12);
        assert_eq!(gap_stats(&[]), GapStats::default());
    }
}

#[cfg(test)]
mod adl_tests {
    use super::*;
    use bytemuck::Zeroable;
    use perp::state::Position;

    const BTC: i64 = 1_000_000_000;

    fn account(base: i64, entry_price: i64, bankrupt: bool) -> MarginAccount {
        let mut a = MarginAccount::zeroed();
        let mut p = Position::zeroed();
        p.market_index = 0;
        p.base = base;
        p.quote_entry = -base / BTC * entry_price * 1_000_000;
        if bankrupt {
            p.flags |= perp::state::position_flags::BANKRUPT;
        }
        p.flags |= perp::state::position_flags::IN_USE;
        a.positions[0] = p;
        a
    }

    #[test]
    fn queue_against_pro_rata_by_hand() {
        // a bankrupt 10 BTC long at 20,000 with the mark at 19,000; three profitable shorts
        // (entry 21,000, 20,500, 20,000: profits 2,000/BTC, 1,500/BTC, 1,000/BTC) of 2, 10, 8 BTC;
        // the queue closed 2 BTC of the first and 8 of the second
        let k: Vec<Pubkey> = (1..=4u8).map(|i| Pubkey::new_from_array([i; 32])).collect();
        let before = vec![
            (k[0], account(10 * BTC, 20_000, true)),
            (k[1], account(-2 * BTC, 21_000, false)),
            (k[2], account(-10 * BTC, 20_500, false)),
            (k[3], account(-8 * BTC, 20_000, false)),
        ];
        let mut after: BTreeMap<Pubkey, MarginAccount> = BTreeMap::new();
        after.insert(k[0], MarginAccount::zeroed());
        after.insert(k[1], MarginAccount::zeroed());
        after.insert(k[2], account(-2 * BTC, 20_500, false));
        after.insert(k[3], account(-8 * BTC, 20_000, false));
        let r = adl_rounds(60, 0, &before, &after, Price(19_000_000_000));
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert!(r.bankrupt_long);
        assert_eq!((r.needed, r.closed, r.socialized, r.overshoot()), (10 * BTC, 10 * BTC, 0, 0));
        assert_eq!((r.counterparties, r.touched), (3, 2));
        // the top winner by profit (10 BTC from 20,500: 15,000 USDC) bore 8 of the 10 closed in
        // the queue; pro rata by size it bears 10 of 20; the top 10% of 3 is that one account
        assert!((r.queue_top1 - 0.8).abs() < 1e-12 && (r.prorata_top1 - 0.5).abs() < 1e-12);
        assert!((r.queue_top10 - 0.8).abs() < 1e-12 && (r.prorata_top10 - 0.5).abs() < 1e-12);
    }
}
