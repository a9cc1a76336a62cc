//! Invariants checked after every step of every sequence (numbered as in docs/invariants.md).

use crate::model::MARKETS;
use crate::world::Fz;

impl Fz {
    /// Runs every state invariant; panics (failing the sequence) with the invariant's name.
    pub async fn check_all(&mut self) {
        // 1. conservation: collateral vault = accounts + pools, insurance vault = ledgers
        self.env.assert_conservation().await;
        // 14. order reserves and ids
        self.check_orders().await;
        let accounts = self.accounts().await;
        for m in 0..MARKETS as u16 {
            let mk = self.env.market(m).await;
            // 3. open interest and position counts are the sums over positions
            let (mut long, mut short, mut nl, mut ns, mut bankrupt) = (0i64, 0i64, 0u32, 0u32, 0u32);
            let (mut bl, mut bs) = (0u16, 0u16);
            for (_, a) in &accounts {
                if let Some(s) = a.find(m) {
                    let p = a.positions[s];
                    if p.base > 0 {
                        long += p.base;
                        nl += 1;
                    } else if p.base < 0 {
                        short -= p.base;
                        ns += 1;
                    }
                    if p.is_bankrupt() {
                        bankrupt += 1;
                        if p.base > 0 {
                            bl += 1;
                        } else {
                            bs += 1;
                        }
                    }
                }
            }
            assert_eq!((mk.oi_long, mk.oi_short), (long, short), "invariant_open_interest: market {m}");
            assert_eq!(
                (mk.open_positions_long, mk.open_positions_short),
                (nl, ns),
                "invariant_position_counts: market {m}"
            );
            assert_eq!(mk.bankrupt_accounts, bankrupt, "invariant_bankrupt_count: market {m}");
            assert_eq!(
                (mk.bankrupt_long, mk.bankrupt_short),
                (bl, bs),
                "invariant_bankrupt_count: sides in market {m}"
            );
            // 10. pools and ledgers never below zero
            assert!(mk.fee_pool >= 0, "invariant_pools_non_negative: fee pool {} in market {m}", mk.fee_pool);
            assert!(
                mk.insurance_fund >= 0,
                "invariant_pools_non_negative: insurance ledger {} in market {m}",
                mk.insurance_fund
            );
            assert!(mk.socialized_loss >= 0 && mk.unbacked_loss >= 0, "invariant_pools_non_negative: loss counters");
            // 13. an outstanding unbacked loss is part of the lifetime one and is repaid, never grown
            // otherwise; a bankruptcy episode's socialization lasts only while a bankruptcy is open
            assert!(
                (0..=mk.unbacked_loss).contains(&mk.unbacked_outstanding),
                "invariant_unbacked_outstanding: {} outside [0, {}] in market {m}",
                mk.unbacked_outstanding,
                mk.unbacked_loss
            );
            if mk.bankrupt_accounts == 0 {
                assert_eq!(
                    (mk.episode_social_long.get(), mk.episode_social_short.get()),
                    (0, 0),
                    "invariant_episode_closed: market {m}"
                );
            }
            let cap = perp_core::funding::socialize_cap_per_unit(
                perp_core::Price(mk.last_index.saturating_mul(2)),
                mk.first_mmr(),
            );
            assert!(
                mk.episode_social_long.get() <= cap.0 && mk.episode_social_short.get() <= cap.0,
                "invariant_episode_cap: market {m} charged {} / {} per unit, over the cap at twice the index",
                mk.episode_social_long.get(),
                mk.episode_social_short.get()
            );
            // 16. pro-rata ADL: a position never pays more than the profit stamped on it; the
            // current pool's profit is what its positions hold stamped (while its round is open:
            // a later ranked round may restamp a pool's positions once it takes no more deficit)
            for pool in 0..2usize {
                let mut held = 0i64;
                for (k, a) in &accounts {
                    if let Some(s) = a.find(m) {
                        let p = a.positions[s];
                        assert!(
                            (0..=p.haircut_profit.max(0)).contains(&p.haircut_paid),
                            "invariant_haircut_within_profit: {k} paid {} of {} in market {m}",
                            p.haircut_paid,
                            p.haircut_profit
                        );
                        if p.haircut_profit > 0
                            && p.adl_round == mk.haircut_round[pool]
                            && usize::from(p.base < 0) == pool
                        {
                            held += p.haircut_profit;
                        }
                    }
                }
                let open = mk.adl_round != 0 && mk.adl_round as u32 == mk.haircut_round[pool];
                assert!(
                    if open { held == mk.haircut_profit[pool] } else { held <= mk.haircut_profit[pool] },
                    "invariant_haircut_pool: market {m} pool {pool} holds {} stamped, {} recorded",
                    held,
                    mk.haircut_profit[pool]
                );
                assert!(
                    (0..=perp_core::haircut::HAIRCUT_PRECISION).contains(&mk.haircut_index[pool].get()),
                    "invariant_haircut_pool: index outside [0, 1] in market {m}"
                );
            }
            // 3. an ADL round's count never exceeds the side's open positions
            if mk.adl_round != 0 {
                assert!(
                    mk.adl_scanned <= mk.open_positions(mk.adl_side),
                    "invariant_adl_count: scanned {} > open {} in market {m}",
                    mk.adl_scanned,
                    mk.open_positions(mk.adl_side)
                );
            }
        }
        // 4. no account with nothing open and no listed collateral owes settlement (a debt left
        // after its last collateral is sold goes to the insurance market, never stays)
        for (k, a) in &accounts {
            if !a.has_positions() && !a.has_collateral() {
                assert!(
                    a.cross_collateral >= 0,
                    "invariant_no_negative_idle_collateral: {k} holds {}",
                    a.cross_collateral
                );
            }
            for p in a.positions.iter().filter(|p| p.in_use()) {
                assert!(
                    p.base != 0 || p.isolated_collateral == 0,
                    "invariant_no_empty_slot: {k} keeps a slot with no position in market {}",
                    p.market_index
                );
            }
        }
        self.check_liquidation_prices(&accounts).await;
    }

    /// Invariant 7: the liquidation price the SDK shows agrees with the program's liquidation check at the
    /// current mark: a group is liquidatable only on the liquidation side of the shown price, and
    /// healthy beyond it (within twice the documented rounding window of ticks: the search's first
    /// flip lies within one window of the exact boundary, the shown edge within one more).
    async fn check_liquidation_prices(
        &mut self,
        accounts: &[(anchor_lang::prelude::Pubkey, perp::state::MarginAccount)],
    ) {
        for m in 0..MARKETS as u16 {
            let (states, live) = self.market_states(m).await;
            if !live {
                continue;
            }
            let Some(ms) = states.get(&m) else { continue };
            let tiers = ms.view.tiers().to_vec();
            let collaterals: perp_client::collateral_view::Collaterals =
                [(crate::world::SOL_INDEX, self.env.collateral(crate::world::SOL_INDEX).await)].into_iter().collect();
            let now = self.env.now;
            for (k, a) in accounts {
                let h = perp_client::preview::account_health_with(a, &states, &collaterals, now);
                for pv in h.positions.iter().filter(|p| p.market_index == m && p.base.0 != 0 && !p.bankrupt) {
                    let group_size = if pv.isolated {
                        1
                    } else {
                        a.positions.iter().filter(|p| p.in_use() && !p.is_isolated() && p.base != 0).count()
                    };
                    if group_size != 1 {
                        continue;
                    }
                    let liq = h.liquidatable_positions().iter().any(|p| p.slot == pv.slot);
                    let long = pv.base.0 > 0;
                    let mark = pv.mark.0 as i128;
                    match pv.liquidation_price {
                        None => assert!(!liq, "invariant_liquidation_price: {k} liquidatable but no price shown"),
                        Some(lp) => {
                            let lp = lp.0 as i128;
                            let w = crate::exec::window(a, pv.slot, &tiers);
                            if liq {
                                assert!(
                                    if long { mark <= lp } else { mark >= lp },
                                    "invariant_liquidation_price: {k} liquidatable at mark {mark}, shown price {lp}"
                                );
                            } else {
                                assert!(
                                    if long { mark >= lp - 2 * w } else { mark <= lp + 2 * w },
                                    "invariant_liquidation_price: {k} healthy at mark {mark} beyond shown price {lp}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
