//! Runs one action against the program and checks the invariants that need the state around
//! that action (funding zero-sum, liquidation shown = enforced, round trip, ADL order).

use crate::model::*;
use crate::world::{Fz, SIZE_STEP, SOL, SOL_INDEX};
use perp::instructions::{OrderParams, OrderSide};
use perp::state::{market_status, MarginAccount};
use perp_client::preview::{account_health, index_view, market_state, MarketState};
use perp_client::{chain::AccountData, ix};
use perp_core::liquidation::rounding_window;
use perp_core::Price;
use perp_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use std::collections::BTreeMap;

/// What an action did: changed only the environment (prices, feeds, clock), or sent a
/// transaction that succeeded or failed (with the program error code, if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Env,
    Ok,
    Err(Option<u32>),
}

const PAYMENT_SCALE: i128 = 1_000_000_000_000_000_000;

fn code(e: perp::error::PerpError) -> Option<u32> {
    Some(6000 + e as u32)
}

/// Instructions whose margin checks read the other markets and the listed collateral of the
/// accounts they check from the remaining accounts.
fn checks_margin(i: &Instruction) -> bool {
    use anchor_lang::Discriminator;
    use perp::instruction as pi;
    let d = &i.data[..8.min(i.data.len())];
    i.program_id == perp::ID
        && [
            pi::PlaceMarketOrder::DISCRIMINATOR,
            pi::ClosePosition::DISCRIMINATOR,
            pi::Withdraw::DISCRIMINATOR,
            pi::MoveIsolatedCollateral::DISCRIMINATOR,
            pi::Liquidate::DISCRIMINATOR,
            pi::FillOrder::DISCRIMINATOR,
            pi::PlaceOrder::DISCRIMINATOR,
        ]
        .contains(&d)
}

impl Fz {
    /// Sends `ixs`, as a client would: every margin-checking instruction of an account that holds
    /// SOL gets the SOL account among its remaining accounts, with SOL's price refreshed first in
    /// the same transaction.
    pub async fn tx(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        let mut out = Vec::with_capacity(ixs.len() + 1);
        let mut refreshed = false;
        for i in ixs {
            let mut i = i.clone();
            if checks_margin(&i) {
                let mut holds = false;
                for k in self.users.iter().map(|u| u.account).collect::<Vec<_>>() {
                    if i.accounts.iter().any(|m| m.pubkey == k) && self.env.margin(&k).await.has_collateral() {
                        holds = true;
                    }
                }
                if holds {
                    i.accounts.extend(perp_client::collateral::collateral_metas(&[SOL_INDEX]));
                    if !refreshed {
                        out.insert(0, perp_client::collateral::refresh_collateral(SOL_INDEX, &[self.sol_oracle]));
                        refreshed = true;
                    }
                }
            }
            out.push(i);
        }
        self.env.send(&out, signers).await
    }

    /// The market states the program's own functions value positions with: the live index of
    /// `primary` (None when too few sources survive) and every market's cached index otherwise.
    pub async fn market_states(&mut self, primary: u16) -> (BTreeMap<u16, MarketState>, bool) {
        let ex = self.env.exchange().await;
        let now = self.env.now;
        let mut out = BTreeMap::new();
        let mut live = false;
        for i in 0..MARKETS as u16 {
            let m = self.env.market(i).await;
            if i == primary {
                let mut datas = vec![];
                for k in ix::market_oracles(&m) {
                    let a = self.env.ctx.banks_client.get_account(k).await.unwrap();
                    datas.push(a.map(|a| AccountData { owner: a.owner, lamports: a.lamports, data: a.data }));
                }
                let iv = index_view(&m, &ex, &datas, now);
                if let Some(s) = market_state(&m, &iv, now) {
                    live = s.live;
                    out.insert(i, s);
                }
            } else if m.last_index > 0 {
                let v = perp::engine::prices::view(&m, Price(m.last_index), now).unwrap();
                out.insert(i, MarketState { market: m, index: Price(m.last_index), live: false, view: v });
            }
        }
        (out, live)
    }

    fn order_params(&self, m: usize, long: bool, milli: u16) -> OrderParams {
        order(if long { OrderSide::Long } else { OrderSide::Short }, milli as i64 * SIZE_STEP[m])
    }

    pub async fn apply(&mut self, a: &Action) -> Outcome {
        let r = match *a {
            Action::Price { m, bps } => {
                let m = (m % MARKETS) as usize;
                let p = self.price[m].0 as i128 * (10_000 + bps as i128) / 10_000;
                let lo = [usd(500).0, usd(25).0][m] as i128;
                self.price[m] = Price(p.clamp(lo, lo * 400) as u64);
                self.publish_all();
                return Outcome::Env;
            }
            Action::Feed { m, src, feed } => {
                let m = (m % MARKETS) as usize;
                let s = src as usize % self.oracles[m].len();
                self.feeds[m][s] = feed;
                self.publish(m, s);
                return Outcome::Env;
            }
            Action::Warp { secs } => {
                self.env.advance(secs as i64).await;
                self.publish_all();
                return Outcome::Env;
            }
            Action::Deposit { u, usdc } => {
                let us = self.user(u);
                self.tx(&[ix::deposit(us.key(), us.account, us.token, usdc as u64 * USDC)], &[&us.kp]).await
            }
            Action::Withdraw { u, usdc } => {
                let us = self.user(u);
                let acct = self.env.margin(&us.account).await;
                let i = ix::withdraw(
                    us.key(),
                    us.account,
                    us.token,
                    usdc as u64 * USDC,
                    &ix::position_markets(&acct, None),
                );
                self.tx(&[i], &[&us.kp]).await
            }
            Action::Order { u, m, long, milli, iso, iso_usdc, reduce, limit, delegate } => {
                let mi = (m % MARKETS) as usize;
                let mut p = self.order_params(mi, long, milli);
                p.isolated = iso;
                p.isolated_collateral = if iso { iso_usdc as u64 * USDC } else { 0 };
                p.reduce_only = reduce;
                let px = self.price[mi].0 as i128;
                let sign = if long { 1 } else { -1 };
                p.limit_price = match limit {
                    Limit::None => 0,
                    Limit::Through(bps) => (px * (10_000 + sign * bps as i128) / 10_000).max(1) as u64,
                    Limit::Better(bps) => (px * (10_000 - sign * bps as i128) / 10_000).max(1) as u64,
                };
                self.order(u, mi as u16, p, delegate).await
            }
            Action::Close { u, m, delegate } => {
                let m = (m % MARKETS) as u16;
                let us = self.holder(u, m, |_| true).await;
                let signer = self.signer(&us, delegate).await;
                let mk = self.env.market(m).await;
                let acct = self.env.margin(&us.account).await;
                let i = ix::close_position(
                    signer.pubkey(),
                    us.account,
                    m,
                    &ix::market_oracles(&mk),
                    &ix::position_markets(&acct, Some(m)),
                    0,
                );
                self.tx(&[i], &[&signer]).await
            }
            Action::MoveIsolated { u, m, usdc } => {
                let m = (m % MARKETS) as u16;
                let us = self.holder(u, m, |p| p.is_isolated()).await;
                let acct = self.env.margin(&us.account).await;
                let i = ix::move_isolated_collateral(
                    us.key(),
                    us.account,
                    m,
                    usdc as i64 * USDC as i64,
                    &ix::position_markets(&acct, Some(m)),
                );
                self.tx(&[i], &[&us.kp]).await
            }
            Action::SetDelegate { u, to } => {
                let us = self.user(u);
                let d = to.map(|t| self.user(t).key()).unwrap_or_default();
                self.tx(&[ix::set_delegate(us.key(), us.account, d)], &[&us.kp]).await
            }
            Action::Funding { m } => return self.funding((m % MARKETS) as u16).await,
            Action::Settle { u } => {
                let us = self.user(u);
                let acct = self.env.margin(&us.account).await;
                self.tx(&[ix::settle_funding(us.account, &ix::position_markets(&acct, None))], &[]).await
            }
            Action::Liquidate { v, m, milli } => return self.liquidate(v, (m % MARKETS) as u16, milli).await,
            Action::AdlBegin { m, v } => {
                let m = (m % MARKETS) as u16;
                let vict = self.bankrupt_in(m).await.unwrap_or(self.user(v).account);
                let mk = self.env.market(m).await;
                self.tx(&[ix::begin_adl_round(m, &ix::market_oracles(&mk), vict)], &[]).await
            }
            Action::AdlScan { m } => self.adl_scan((m % MARKETS) as u16).await,
            Action::AdlStep { m, honest, n } => return self.adl_step((m % MARKETS) as u16, honest, n).await,
            Action::AdlPass { m, honest, n } => return self.adl_pass((m % MARKETS) as u16, honest, n).await,
            Action::Resolve { m, v } => {
                let m = (m % MARKETS) as u16;
                let vict = self.bankrupt_in(m).await.unwrap_or(self.user(v).account);
                let mk = self.env.market(m).await;
                self.tx(&[ix::resolve_bankruptcy(m, &ix::market_oracles(&mk), vict)], &[]).await
            }
            Action::Admin { m, admin } => return self.admin((m % MARKETS) as u16, admin).await,
            Action::Sweep { m } => self.env.sweep((m % MARKETS) as u16).await,
            Action::Repeg { m } => return self.repeg((m % MARKETS) as u16).await,
            Action::Insurance { m, usdc } => {
                let l = self.user(LIQUIDATOR as u8);
                let i = ix::deposit_insurance(l.key(), l.token, (m % MARKETS) as u16, usdc as u64 * USDC);
                self.tx(&[i], &[&l.kp]).await
            }
            Action::RoundTrip { u, m, long, milli } => {
                return self.round_trip(u, (m % MARKETS) as u16, long, milli).await
            }
            Action::PlaceOrder { u, m, kind, long, milli, bps, reduce, expiry } => {
                return self.place(u, (m % MARKETS) as u16, kind, long, milli, bps, reduce, expiry).await
            }
            Action::CancelOrders { u, all } => return self.cancel(u, all).await,
            Action::FillOrders { m } => return self.fill_pass((m % MARKETS) as u16).await,
            Action::SolPrice { bps } => {
                let p = self.sol_price.0 as i128 * (10_000 + bps as i128) / 10_000;
                self.sol_price = Price(p.clamp(usd(1).0 as i128, usd(10_000).0 as i128) as u64);
                self.publish_all();
                return Outcome::Env;
            }
            Action::SolDeposit { u, centi } => {
                let us = self.user(u);
                let tok = self.sol_tokens[u as usize % self.sol_tokens.len()];
                let i = perp_client::collateral::deposit_collateral(
                    us.key(),
                    us.account,
                    SOL_INDEX,
                    &self.sol_mint,
                    tok,
                    centi as u64 * SOL / 100,
                );
                self.tx(&[i], &[&us.kp]).await
            }
            Action::SolWithdraw { u, centi } => {
                let us = self.user(u);
                let tok = self.sol_tokens[u as usize % self.sol_tokens.len()];
                let acct = self.env.margin(&us.account).await;
                let cross = ix::cross_markets(&acct, None);
                let mut ixs: Vec<Instruction> = Vec::new();
                for m in &cross {
                    let mk = self.env.market(*m).await;
                    ixs.push(ix::update_funding(*m, &ix::market_oracles(&mk)));
                }
                ixs.push(perp_client::collateral::refresh_collateral(SOL_INDEX, &[self.sol_oracle]));
                ixs.push(perp_client::collateral::withdraw_collateral(
                    us.key(),
                    us.account,
                    SOL_INDEX,
                    &self.sol_mint,
                    tok,
                    centi as u64 * SOL / 100,
                    &cross,
                    &[],
                ));
                self.tx(&ixs, &[&us.kp]).await
            }
            Action::SolLiquidate { v } => return self.sol_liquidate(v).await,
            Action::SolRefresh => {
                let i = perp_client::collateral::refresh_collateral(SOL_INDEX, &[self.sol_oracle]);
                self.tx(&[i], &[]).await
            }
        };
        outcome(r)
    }

    /// The liquidator buys SOL from the `v`-th SOL holder (other than itself), markets and SOL
    /// refreshed in the same transaction; a sale moves exactly the amounts perp-core computes.
    async fn sol_liquidate(&mut self, v: u8) -> Outcome {
        let l = self.user(LIQUIDATOR as u8);
        let accts = self.accounts().await;
        let holders: Vec<usize> =
            (0..accts.len()).filter(|&i| i != LIQUIDATOR && accts[i].1.collateral_balance(SOL_INDEX) > 0).collect();
        let vict = match holders.is_empty() {
            true => self.user(v),
            false => self.user(holders[v as usize % holders.len()] as u8),
        };
        let a = self.env.margin(&vict.account).await;
        let la = self.env.margin(&l.account).await;
        let markets = perp_client::collateral::sale_markets(&a, &la);
        let mut ixs = Vec::new();
        for m in &markets {
            let mk = self.env.market(*m).await;
            ixs.push(ix::update_funding(*m, &ix::market_oracles(&mk)));
        }
        ixs.push(perp_client::collateral::refresh_collateral(SOL_INDEX, &[self.sol_oracle]));
        let dest = self.sol_tokens[LIQUIDATOR];
        ixs.push(perp_client::collateral::liquidate_collateral(
            l.key(),
            vict.account,
            l.account,
            SOL_INDEX,
            &self.sol_mint,
            dest,
            0,
            u64::MAX,
            &markets,
            &[],
        ));
        let before = (a.collateral_balance(SOL_INDEX), a.cross_collateral, la.cross_collateral);
        let ins = self.env.market(0).await.insurance_fund;
        let out = outcome(self.env.send(&ixs, &[&l.kp]).await);
        if out == Outcome::Ok {
            self.stats.collateral_sales += 1;
            let after = self.env.margin(&vict.account).await;
            let lafter = self.env.margin(&l.account).await;
            let sold = before.0 - after.collateral_balance(SOL_INDEX);
            let c = self.env.collateral(SOL_INDEX).await;
            let sale =
                perp_core::collateral::sale_of(sold, &c.sale_terms(Price(c.last_price), Price(c.last_price))).unwrap();
            // the liquidator paid the sale's price and the insurance fund got its share; the
            // account got its credit, less a debt it could not pay that the fund took over
            assert_eq!(
                before.2 - lafter.cross_collateral,
                sale.from_liquidator.0,
                "invariant_collateral_sale: liquidator"
            );
            let debt_paid = after.cross_collateral - before.1 - sale.to_account.0;
            assert!(debt_paid >= 0, "invariant_collateral_sale: account credited {} less than the sale", debt_paid);
            let ins_after = self.env.market(0).await.insurance_fund;
            assert!(
                ins_after - ins <= sale.to_insurance.0 && ins_after - ins >= sale.to_insurance.0 - debt_paid,
                "invariant_collateral_sale: insurance moved {} for a share of {} and a debt of {}",
                ins_after - ins,
                sale.to_insurance.0,
                debt_paid
            );
        }
        out
    }

    /// The owner, or (when `delegate`) the account's delegate if one is set (else the owner).
    async fn signer(&mut self, us: &User, delegate: bool) -> Keypair {
        if delegate {
            let d = self.env.margin(&us.account).await.delegate;
            if let Some(du) = self.users.iter().find(|x| x.key() == d) {
                return du.kp.insecure_clone();
            }
        }
        us.kp.insecure_clone()
    }

    async fn order(&mut self, u: u8, m: u16, p: OrderParams, delegate: bool) -> Result<(), BanksClientError> {
        let us = self.user(u);
        let signer = self.signer(&us, delegate).await;
        let mk = self.env.market(m).await;
        let acct = self.env.margin(&us.account).await;
        let i = ix::place_market_order(
            signer.pubkey(),
            us.account,
            m,
            &ix::market_oracles(&mk),
            &ix::position_markets(&acct, Some(m)),
            p,
        );
        self.tx(&[i], &[&signer]).await
    }

    /// The `v`-th user (cyclically) holding a position in `m` that passes `f`, else user `v`.
    async fn holder(&mut self, v: u8, m: u16, f: impl Fn(&perp::state::Position) -> bool) -> User {
        let accts = self.accounts().await;
        let with: Vec<usize> = (0..accts.len())
            .filter(|&i| {
                accts[i].1.find(m).is_some_and(|s| accts[i].1.positions[s].base != 0 && f(&accts[i].1.positions[s]))
            })
            .collect();
        if with.is_empty() {
            self.user(v)
        } else {
            self.user(with[v as usize % with.len()] as u8)
        }
    }

    /// The `v`-th (cyclically) holder of a position in `m` that the SDK shows liquidatable.
    async fn liquidatable_holder(&mut self, v: u8, m: u16) -> Option<User> {
        let (states, _) = self.market_states(m).await;
        let accts = self.accounts().await;
        let liq: Vec<usize> = (0..accts.len())
            .filter(|&i| {
                account_health(&accts[i].1, &states).liquidatable_positions().iter().any(|p| p.market_index == m)
            })
            .collect();
        (!liq.is_empty()).then(|| self.user(liq[(v / 2) as usize % liq.len()] as u8))
    }

    async fn bankrupt_in(&mut self, m: u16) -> Option<anchor_lang::prelude::Pubkey> {
        self.accounts()
            .await
            .into_iter()
            .find(|(_, a)| a.find(m).is_some_and(|s| a.positions[s].is_bankrupt()))
            .map(|(k, _)| k)
    }

    /// Invariant 5 (funding zero-sum): a funding event moves exactly the vAMM's share between the
    /// PnL pool and the fee pool, longs pay what shorts receive plus that share, and the share's
    /// rounding (less than one raw unit) stays with the protocol.
    async fn funding(&mut self, m: u16) -> Outcome {
        let before = self.env.market(m).await;
        let mk = before;
        let r = self.tx(&[ix::update_funding(m, &ix::market_oracles(&mk))], &[]).await;
        if r.is_ok() {
            let after = self.env.market(m).await;
            let dl = after.cum_funding_long.get() - before.cum_funding_long.get();
            let ds = after.cum_funding_short.get() - before.cum_funding_short.get();
            let amm = (after.fee_pool - before.fee_pool) as i128;
            assert_eq!(
                after.pnl_pool - before.pnl_pool,
                before.fee_pool - after.fee_pool,
                "invariant_funding_zero_sum: pools"
            );
            assert_eq!((after.oi_long, after.oi_short), (before.oi_long, before.oi_short));
            let net = after.oi_long as i128 * dl - after.oi_short as i128 * ds;
            let rest = net - amm * PAYMENT_SCALE;
            assert!(
                (0..PAYMENT_SCALE).contains(&rest),
                "invariant_funding_zero_sum: longs pay {} (x1e-18), shorts receive {}, vAMM share {} raw: remainder {}",
                after.oi_long as i128 * dl,
                after.oi_short as i128 * ds,
                amm,
                rest
            );
            assert!(after.fee_pool >= 0, "fee pool negative after funding");
            if dl != 0 || ds != 0 {
                self.stats.funding_events += 1;
            }
        }
        outcome(r)
    }

    /// Invariant 7 (the liquidation shown is the one enforced): the SDK's preview of the victim,
    /// built from the program's own functions on the same state, says liquidatable exactly when
    /// the program liquidates (checked when the victim trades only this market and its index is
    /// live, where both value the account identically).
    async fn liquidate(&mut self, v: u8, m: u16, milli: u16) -> Outcome {
        let l = self.user(LIQUIDATOR as u8);
        // even `v`: a keeper's choice (a liquidatable holder when there is one); odd: any holder
        let vict = match self.liquidatable_holder(v, m).await {
            Some(u) if v.is_multiple_of(2) => u,
            _ => self.holder(v / 2, m, |_| true).await,
        };
        let victim = self.env.margin(&vict.account).await;
        let (states, live) = self.market_states(m).await;
        let h = account_health(&victim, &states);
        let shown = h.liquidatable_positions().iter().any(|p| p.market_index == m);
        let single = victim.positions.iter().filter(|p| p.in_use()).all(|p| p.market_index == m);
        let mk = self.env.market(m).await;
        let comparable = live
            && single
            && !victim.has_collateral()
            && mk.status == market_status::ACTIVE
            && mk.bankrupt_accounts == 0
            && vict.account != l.account;
        let max = milli as u64 * SIZE_STEP[m as usize] as u64;
        let lacct = self.env.margin(&l.account).await;
        let others = ix::liquidation_markets(&victim, &lacct, m);
        let i = ix::liquidate(l.key(), l.account, vict.account, m, &ix::market_oracles(&mk), &others, max);
        let r = self.tx(&[i], &[&l.kp]).await;
        let out = outcome(r);
        if comparable {
            match out {
                Outcome::Ok => {
                    assert!(shown, "invariant_liquidation_shown_is_enforced: liquidated an account shown healthy")
                }
                Outcome::Err(c) if c == code(perp::error::PerpError::NotLiquidatable) => {
                    assert!(!shown, "invariant_liquidation_shown_is_enforced: refused an account shown liquidatable")
                }
                _ => {}
            }
        }
        if out == Outcome::Ok {
            self.stats.liquidations += 1;
            let after = self.env.margin(&vict.account).await;
            if after.find(m).is_some_and(|s| after.positions[s].is_bankrupt()) {
                self.stats.bankruptcies += 1;
            }
        }
        out
    }

    /// Invariant 12 (a repeg is paid exactly, within its bounds, and touches nobody): the fee pool
    /// pays perp-core's cost for the traders' net position into the PnL pool; the step is at most
    /// the taker fee of the peg, toward the index and never past it; the cost is within what the
    /// interval's budget had left; no margin account changes.
    async fn repeg(&mut self, m: u16) -> Outcome {
        let before = self.env.market(m).await;
        let accounts: Vec<_> =
            self.accounts().await.into_iter().map(|(_, a)| bytemuck::bytes_of(&a).to_vec()).collect();
        let now = self.env.now;
        let r = self.tx(&[ix::repeg(m, &ix::market_oracles(&before))], &[]).await;
        if r.is_ok() {
            let after = self.env.market(m).await;
            let net = perp_core::Base(before.oi_long - before.oi_short);
            let cost = perp_core::repeg::repeg_cost(&before.vamm(), net, Price(after.peg)).unwrap();
            assert_eq!(before.fee_pool - after.fee_pool, cost.0, "invariant_repeg_paid_exactly: fee pool");
            assert_eq!(after.pnl_pool - before.pnl_pool, cost.0, "invariant_repeg_paid_exactly: PnL pool");
            let (left, ..) = before.repeg_budget_now(now).unwrap();
            assert!(cost.0 <= left.0, "invariant_repeg_paid_exactly: cost {} over the budget left {}", cost.0, left.0);
            let step = after.peg.abs_diff(before.peg) as i128;
            assert!(
                step <= before.peg as i128 * before.repeg_max_step().0 as i128 / 1_000_000_000,
                "invariant_repeg_paid_exactly: step {step}"
            );
            let index = after.last_index as i128;
            let (mid0, mid1) = (before.vamm().price().unwrap().0 as i128, after.vamm().price().unwrap().0 as i128);
            assert!(
                (mid1 - mid0).signum() == (index - mid0).signum() && (mid1 - index).abs() <= (mid0 - index).abs(),
                "invariant_repeg_paid_exactly: mid {mid0} -> {mid1} not toward the index {index}"
            );
            let now_accounts: Vec<_> =
                self.accounts().await.into_iter().map(|(_, a)| bytemuck::bytes_of(&a).to_vec()).collect();
            assert!(accounts == now_accounts, "invariant_repeg_paid_exactly: a repeg changed a margin account");
            self.stats.repegs += 1;
        }
        outcome(r)
    }

    /// Invariant 8 (a vAMM round trip gains nothing): opening and closing the same size in one
    /// transaction never leaves the trader with more collateral.
    async fn round_trip(&mut self, u: u8, m: u16, long: bool, milli: u16) -> Outcome {
        let us = self.user(u);
        let acct = self.env.margin(&us.account).await;
        if acct.find(m).is_some() {
            return Outcome::Env;
        }
        let before = acct.total_collateral();
        let p = self.order_params(m as usize, long, milli);
        let mk = self.env.market(m).await;
        let others = ix::position_markets(&acct, Some(m));
        let oracles = ix::market_oracles(&mk);
        let open = ix::place_market_order(us.key(), us.account, m, &oracles, &others, p);
        let close = ix::close_position(us.key(), us.account, m, &oracles, &others, 0);
        let r = self.tx(&[open, close], &[&us.kp]).await;
        if r.is_ok() {
            let after = self.env.margin(&us.account).await.total_collateral();
            assert!(after <= before, "invariant_round_trip_gains_nothing: collateral {} -> {}", before, after);
            self.stats.round_trips += 1;
        }
        outcome(r)
    }

    /// Invariant 9 (the ADL order the program accepts is the score order): a step succeeds only
    /// with the round's next ranked entries, in order; the round's entries are sorted by score.
    async fn adl_step(&mut self, m: u16, honest: bool, n: u8) -> Outcome {
        let Some(bk) = self.bankrupt_in(m).await else {
            let mk = self.env.market(m).await;
            let us = self.users[0].account;
            let r = self.tx(&[ix::auto_deleverage(m, &ix::market_oracles(&mk), us, &[us])], &[]).await;
            assert!(r.is_err(), "auto_deleverage succeeded without a bankrupt account");
            return outcome(r);
        };
        let round = self.round(m).await;
        let entries: Vec<(anchor_lang::prelude::Pubkey, i64)> = round
            .as_ref()
            .map(|r| r.entries[r.cursor()..r.entry_count()].iter().map(|e| (e.key, e.size)).collect())
            .unwrap_or_default();
        if let Some(r) = &round {
            let all = &r.entries[..r.entry_count()];
            for w in all.windows(2) {
                let (a, b) = (w[0].candidate(), w[1].candidate());
                assert!(!perp_core::adl::ranks_before(&b, &a), "invariant_adl_score_order: round entries out of order");
            }
        }
        let mut take: Vec<_> = entries.iter().take(4).map(|e| e.0).collect();
        if !honest {
            if take.len() > 1 {
                let k = n as usize % take.len();
                take.rotate_left(k.max(1));
            } else {
                // a counterparty that is not the next ranked entry
                take = self
                    .users
                    .iter()
                    .map(|u| u.account)
                    .filter(|k| Some(k) != entries.first().map(|e| &e.0))
                    .take(1)
                    .collect();
            }
        }
        if take.is_empty() {
            take.push(self.users[(n as usize) % self.users.len()].account);
        }
        let mk = self.env.market(m).await;
        let r = self.tx(&[ix::auto_deleverage(m, &ix::market_oracles(&mk), bk, &take)], &[]).await;
        if r.is_ok() {
            let ranked: Vec<_> = entries.iter().map(|e| e.0).take(take.len()).collect();
            assert_eq!(
                take, ranked,
                "invariant_adl_score_order: the program accepted candidates out of the ranked order"
            );
            self.stats.adl_steps += 1;
        }
        outcome(r)
    }

    /// Counts every account with an unscanned position on the open round's side (or, with no
    /// round, an arbitrary account: refused).
    async fn adl_scan(&mut self, m: u16) -> Result<(), BanksClientError> {
        let mk = self.env.market(m).await;
        let side = mk.adl_side;
        let stamp = mk.adl_round as u32;
        let todo: Vec<_> = self
            .accounts()
            .await
            .into_iter()
            .filter(|(_, a)| {
                a.find(m).is_some_and(|s| {
                    let p = a.positions[s];
                    (if side == 1 { p.base > 0 } else { p.base < 0 }) && p.adl_round != stamp
                })
            })
            .map(|(k, _)| k)
            .collect();
        let todo = if todo.is_empty() { vec![self.users[0].account] } else { todo };
        self.tx(&[ix::adl_scan(m, &todo)], &[]).await
    }

    /// Up to eight keeper steps on the first bankrupt position in `m`; stops at the first
    /// refusal, which (like every failed transaction) must have changed nothing.
    async fn adl_pass(&mut self, m: u16, honest: bool, n: u8) -> Outcome {
        let mut last = Outcome::Env;
        for _ in 0..8 {
            let Some(bk) = self.bankrupt_in(m).await else { break };
            let mk = self.env.market(m).await;
            let now = self.env.now;
            let acct = self.env.margin(&bk).await;
            let side = if acct.positions[acct.find(m).unwrap()].base > 0 { 2u8 } else { 1u8 };
            let round = self.round(m).await;
            let open =
                round.as_ref().is_some_and(|r| mk.adl_round != 0 && mk.adl_side == side && r.round == mk.adl_round);
            let complete = open && mk.adl_scanned == mk.open_positions(side);
            let (exhausted, holds_all, replaceable) = round
                .as_ref()
                .map(|r| {
                    (
                        r.cursor() >= r.entry_count(),
                        r.holds_all_profitable(),
                        r.is_expired(now) || (!complete && r.is_stalled(now)),
                    )
                })
                .unwrap_or((true, true, false));
            let before = self.snapshot().await;
            // a pro-rata round keeps no ranking: complete, one step per bankrupt position
            let pro_rata = mk.adl_policy == 1;
            last = if !open || (!pro_rata && complete && exhausted && !holds_all) || replaceable {
                outcome(self.tx(&[ix::begin_adl_round(m, &ix::market_oracles(&mk), bk)], &[]).await)
            } else if !complete {
                outcome(self.adl_scan(m).await)
            } else if pro_rata {
                let r = self.tx(&[ix::auto_deleverage(m, &ix::market_oracles(&mk), bk, &[])], &[]).await;
                if r.is_ok() {
                    self.stats.adl_steps += 1;
                }
                outcome(r)
            } else if !exhausted {
                self.adl_step(m, honest, n).await
            } else {
                outcome(self.tx(&[ix::resolve_bankruptcy(m, &ix::market_oracles(&mk), bk)], &[]).await)
            };
            if std::env::var("PERP_FUZZ_VERBOSE").is_ok() {
                eprintln!("adl pass m{m}: open {open} complete {complete} exhausted {exhausted} -> {last:?}");
            }
            if let Outcome::Err(c) = last {
                let after = self.snapshot().await;
                assert!(
                    before == after,
                    "invariant_failed_changes_nothing: an ADL pass step failed with {c:?} and changed state"
                );
                break;
            }
        }
        if !matches!(last, Outcome::Err(_)) && self.bankrupt_in(m).await.is_none() && last == Outcome::Ok {
            self.stats.bankruptcies_resolved += 1;
        }
        last
    }

    async fn admin(&mut self, m: u16, a: Admin) -> Outcome {
        let admin = self.env.admin.insecure_clone();
        let r = match a {
            Admin::TightenImr => {
                let mut p = self.params[m as usize].clone();
                for t in p.tiers.iter_mut() {
                    t.imr = (t.imr + t.imr / 2).min(500_000_000);
                }
                let r = self.env.send(&[ix::update_market(admin.pubkey(), m, p.clone())], &[&admin]).await;
                if r.is_ok() {
                    self.params[m as usize] = p;
                }
                r
            }
            Admin::Restore => {
                let p = crate::world::market_params(m as usize, &self.oracles[m as usize]);
                let r = self.env.update_market(m, p.clone()).await;
                if r.is_ok() {
                    self.params[m as usize] = p;
                }
                r
            }
            Admin::FlipAdlPolicy => {
                // refused while a bankruptcy or round is open (the program test checks that
                // refusal; here its proposal would be a change, so the step is skipped)
                let mk = self.env.market(m).await;
                if mk.bankrupt_accounts != 0 || mk.adl_round != 0 {
                    return Outcome::Env;
                }
                let mut p = self.params[m as usize].clone();
                p.adl_policy = 1 - p.adl_policy.min(1);
                let r = self.env.update_market(m, p.clone()).await;
                if r.is_ok() {
                    self.params[m as usize] = p;
                }
                r
            }
            Admin::FundingParams => {
                let mut p = self.params[m as usize].clone();
                p.funding_cap = if p.funding_cap == 7_500_000 { 2_000_000 } else { 7_500_000 };
                p.funding_clamp = if p.funding_clamp == 500_000 { 1_000_000 } else { 500_000 };
                let r = self.env.update_market(m, p.clone()).await;
                if r.is_ok() {
                    self.params[m as usize] = p;
                }
                r
            }
            Admin::MarketStatus(s) => self.env.send(&[ix::set_market_status(admin.pubkey(), m, s)], &[&admin]).await,
            Admin::Pause(f) => {
                let flags = f & perp::state::pause::ALL;
                self.env.send(&[ix::set_pause(admin.pubkey(), flags)], &[&admin]).await
            }
        };
        outcome(r)
    }
}

pub fn outcome(r: Result<(), BanksClientError>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(e) => {
            let c = error_code(&e);
            if c.is_none() && std::env::var("PERP_FUZZ_VERBOSE").is_ok() {
                eprintln!("runtime error: {e:?}");
            }
            Outcome::Err(c)
        }
    }
}

/// The round's window in ticks around a shown liquidation price (used by the checks).
pub fn window(acct: &MarginAccount, slot: usize, tiers: &[perp_core::margin::Tier]) -> i128 {
    rounding_window(&acct.positions[slot].state(), tiers)
}
