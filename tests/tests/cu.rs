//! Compute units of every instruction on the SBF build, in representative and worst cases: 1, 4
//! and 8 oracles; 1 and 8 positions in cross margin; a liquidation with 7 other markets; an ADL
//! step; a funding interval boundary. Prints a table (min / median / max per case), compares it
//! with the committed baseline `tests/cu-baseline.json`, states the cost of each extra oracle and
//! each extra position, and fails (`cu_ceilings`) when an instruction is above its ceiling.
//!
//! ```sh
//! scripts/build-sbf && PERP_SBF=1 cargo test -p perp-tests --test cu -- --ignored --nocapture
//! PERP_CU_WRITE_BASELINE=1 ...   # rewrite the baseline after a deliberate change
//! ```
//! Natively there are no compute units to measure, so the test is ignored unless asked for.

use anchor_lang::prelude::Pubkey;
use perp::instructions::{OrderParams, OrderSide, OrderType, OrdersToCancel};
use perp_client::ix;
use perp_core::Price;
use perp_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::BTreeMap;

/// `(instruction, representative cases (label contains), median ceiling, worst-case ceiling)`:
/// the median is taken over the representative cases, the worst case over every case.
const CEILINGS: &[(&str, &str, u64, u64)] = &[
    ("place_market_order", "1 oracle, 1 position", 25_000, 40_000),
    ("close_position", "1 oracle, 1 position", 25_000, 40_000),
    // worst case: 8 positions in 7 other markets; the oracle guard rails (2026-12) cost ~1.7k
    ("liquidate", "", 30_000, 35_000),
    ("update_funding", "1 oracle", 10_000, 25_000),
    ("deposit", "", 10_000, 10_000),
    ("withdraw", "0 positions", 10_000, 35_000),
    ("repeg", "1 oracle", 15_000, 15_000),
    // the issue's goal: fill_order median <= 20,000 with one oracle; worst: 8 positions
    ("fill_order", "1 oracle, 1 position", 20_000, 40_000),
    ("place_order", "1 position", 10_000, 30_000),
    ("cancel_orders", "", 6_000, 10_000),
    ("deposit_collateral", "", 12_000, 12_000),
    ("withdraw_collateral", "1 mint", 20_000, 40_000),
    ("refresh_collateral", "1 oracle", 10_000, 10_000),
    ("liquidate_collateral", "", 40_000, 60_000),
];

/// The issue's goal: a trade of an account holding 4 collateral mints, median.
const TRADE_4_MINTS_CEILING: u64 = 30_000;

#[derive(Default)]
struct Cu(BTreeMap<String, Vec<u64>>);

impl Cu {
    async fn run(&mut self, env: &mut Env, case: &str, ixs: &[Instruction], signers: &[&Keypair]) {
        let cu = send_cu(env, ixs, signers).await.unwrap_or_else(|e| panic!("{case}: {e}"));
        self.0.entry(case.to_string()).or_default().push(cu);
    }
    fn stats(&self) -> BTreeMap<String, (u64, u64, u64, usize)> {
        self.0
            .iter()
            .map(|(k, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (k.clone(), (v[0], v[v.len() / 2], v[v.len() - 1], v.len()))
            })
            .collect()
    }
}

/// Sends one transaction and returns the compute units it consumed (the perp instruction and its
/// CPIs; one perp instruction per measured transaction).
async fn send_cu(env: &mut Env, ixs: &[Instruction], signers: &[&Keypair]) -> Result<u64, String> {
    let r = env.send_with_metadata(ixs, signers).await.map_err(|e| e.to_string())?;
    r.result.map_err(|e| format!("{e:?}: {:?}", r.metadata.as_ref().map(|m| &m.log_messages)))?;
    Ok(r.metadata.map(|m| m.compute_units_consumed).unwrap_or(0))
}

fn order(side: OrderSide, size: i64) -> OrderParams {
    perp_tests::order(side, size)
}

/// Market `i` with `n` oracles (legacy and pull alternating) at `price`.
async fn market(env: &mut Env, i: u16, n: usize, price: u64) -> Vec<Pubkey> {
    let keys: Vec<Pubkey> = (0..n).map(|_| Keypair::new().pubkey()).collect();
    for (j, k) in keys.iter().enumerate() {
        if j % 2 == 0 {
            env.set_legacy_oracle(*k, usd(price), usd(1), env.now);
        } else {
            env.set_pull_oracle(*k, [j as u8 + 1; 32], usd(price), usd(1), env.now, true);
        }
    }
    let oracles = keys
        .iter()
        .enumerate()
        .map(|(j, k)| if j % 2 == 0 { legacy_oracle(*k) } else { pull_oracle(*k, [j as u8 + 1; 32]) })
        .collect();
    let mut p = default_market_params(oracles);
    p.min_sources = n.div_ceil(2) as u8;
    env.create_market(i, p, 1_000, usd(price)).await;
    keys
}

/// Re-publishes every oracle at the current time (and `price` for market 0's).
fn refresh(env: &mut Env, oracles: &BTreeMap<u16, Vec<Pubkey>>, btc: u64) {
    for (m, keys) in oracles {
        let price = if *m == 0 { btc } else { 20_000 };
        for (j, k) in keys.iter().enumerate() {
            if j % 2 == 0 {
                env.set_legacy_oracle(*k, usd(price), usd(1), env.now);
            } else {
                env.set_pull_oracle(*k, [j as u8 + 1; 32], usd(price), usd(1), env.now, true);
            }
        }
    }
}

async fn crank_all(env: &mut Env, oracles: &BTreeMap<u16, Vec<Pubkey>>) {
    for (m, keys) in oracles {
        env.send(&[ix::update_funding(*m, keys)], &[]).await.unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the SBF build: scripts/build-sbf && PERP_SBF=1 cargo test -p perp-tests --test cu -- --ignored"]
async fn cu_ceilings() {
    assert!(
        perp_client::bank::sbf_dir().is_some(),
        "set PERP_SBF=1 (and run scripts/build-sbf): natively nothing is metered"
    );
    let mut env = Env::new().await;
    let mut cu = Cu::default();
    // markets: 0 (1 oracle), 1 (4 oracles), 2 (8 oracles), 3..=9 (1 oracle each)
    let mut oracles = BTreeMap::new();
    oracles.insert(0u16, market(&mut env, 0, 1, 20_000).await);
    oracles.insert(1, market(&mut env, 1, 4, 20_000).await);
    oracles.insert(2, market(&mut env, 2, 8, 20_000).await);
    for i in 3..=9u16 {
        oracles.insert(i, market(&mut env, i, 1, 20_000).await);
    }
    let funder = env.user(100_000_000 * USDC, 0).await;
    env.send(&[ix::deposit_insurance(funder.key(), funder.token, 0, 1_000_000 * USDC)], &[&funder.kp]).await.unwrap();

    // deposits and withdrawals with no position
    let alice = env.user(10_000_000 * USDC, 0).await;
    for _ in 0..5 {
        cu.run(
            &mut env,
            "deposit",
            &[ix::deposit(alice.key(), alice.account, alice.token, 100_000 * USDC)],
            &[&alice.kp],
        )
        .await;
        cu.run(
            &mut env,
            "withdraw / 0 positions",
            &[ix::withdraw(alice.key(), alice.account, alice.token, USDC, &[])],
            &[&alice.kp],
        )
        .await;
    }

    // orders: 1, 4, 8 oracles with one position; then 8 positions in cross
    for (m, label) in [(0u16, "1 oracle"), (1, "4 oracles"), (2, "8 oracles")] {
        let keys = oracles[&m].clone();
        let u = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
        for side in [OrderSide::Long, OrderSide::Long, OrderSide::Short, OrderSide::Long, OrderSide::Short] {
            let i = ix::place_market_order(u.key(), u.account, m, &keys, &[], order(side, BTC / 2));
            cu.run(&mut env, &format!("place_market_order / {label}, 1 position"), &[i], &[&u.kp]).await;
        }
        env.trade(&alice, m, order(OrderSide::Long, BTC / 10)).await.unwrap();
    }
    // resting orders on market 0 (1 oracle): placed with one cross position, filled by a keeper
    // (limits on alternating sides keep the curve where it is; stops fire at once), cancelled
    let olive = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    let kate = env.user(1_000 * USDC, 100 * USDC).await;
    env.trade(&olive, 0, order(OrderSide::Long, BTC)).await.unwrap();
    for n in 0..6 {
        let (side, limit) = if n % 2 == 0 { (OrderSide::Long, 20_150) } else { (OrderSide::Short, 19_850) };
        let p = resting(OrderType::Limit, side, BTC / 2, usd(limit), Price(0));
        let i = perp_client::orders::place_order(olive.key(), olive.account, 0, &[0], p);
        cu.run(&mut env, "place_order / 1 position", &[i], &[&olive.kp]).await;
        let id = env.margin(&olive.account).await.next_order_id - 1;
        let i = perp_client::orders::fill_order(kate.key(), kate.account, olive.account, 0, &oracles[&0], &[], id);
        cu.run(&mut env, "fill_order / 1 oracle, 1 position, limit", &[i], &[&kate.kp]).await;
    }
    for _ in 0..3 {
        let p = resting(OrderType::StopMarket, OrderSide::Short, BTC / 4, Price(0), usd(20_100));
        env.place(&olive, 0, p).await.unwrap();
        let id = env.margin(&olive.account).await.next_order_id - 1;
        let i = perp_client::orders::fill_order(kate.key(), kate.account, olive.account, 0, &oracles[&0], &[], id);
        cu.run(&mut env, "fill_order / 1 oracle, 1 position, stop triggered", &[i], &[&kate.kp]).await;
        env.trade(&olive, 0, order(OrderSide::Long, BTC / 4)).await.unwrap();
        let p = resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0));
        env.place(&olive, 0, p).await.unwrap();
        let id = env.margin(&olive.account).await.next_order_id - 1;
        let i = perp_client::orders::cancel_orders(olive.key(), olive.account, OrdersToCancel::ById(id));
        cu.run(&mut env, "cancel_orders / by id", &[i], &[&olive.kp]).await;
    }
    for m in 3..=7u16 {
        env.trade(&alice, m, order(OrderSide::Long, BTC / 10)).await.unwrap();
    }
    // alice's 8 positions: an order on market 0 values the other 7 from their caches
    for n in 0..3 {
        let (side, limit) = if n % 2 == 0 { (OrderSide::Long, 20_150) } else { (OrderSide::Short, 19_850) };
        let p = resting(OrderType::Limit, side, BTC / 10, usd(limit), Price(0));
        let a = env.margin(&alice.account).await;
        let i = perp_client::orders::place_order(alice.key(), alice.account, 0, &ix::cross_markets(&a, None), p);
        cu.run(&mut env, "place_order / 8 positions", &[i], &[&alice.kp]).await;
        let id = env.margin(&alice.account).await.next_order_id - 1;
        let others = ix::position_markets(&a, Some(0));
        let i = perp_client::orders::fill_order(kate.key(), kate.account, alice.account, 0, &oracles[&0], &others, id);
        cu.run(&mut env, "fill_order / 1 oracle, 8 positions", &[i], &[&kate.kp]).await;
    }
    // alice now holds 8 positions (0..=7)
    for m in [0u16, 2] {
        let keys = oracles[&m].clone();
        for side in [OrderSide::Long, OrderSide::Short, OrderSide::Long] {
            let a = env.margin(&alice.account).await;
            let others = ix::cross_markets(&a, Some(m));
            let i = ix::place_market_order(alice.key(), alice.account, m, &keys, &others, order(side, BTC / 10));
            let label = if m == 0 { "1 oracle" } else { "8 oracles" };
            cu.run(&mut env, &format!("place_market_order / {label}, 8 positions"), &[i], &[&alice.kp]).await;
        }
    }
    let a = env.margin(&alice.account).await;
    let all = ix::cross_markets(&a, None);
    // withdrawals need each position market refreshed within 4 slots: three refresh transactions
    // (their oracles do not fit in one), then the withdrawal on its own
    let crank = |ms: &[u16]| -> Vec<Instruction> { ms.iter().map(|m| ix::update_funding(*m, &oracles[m])).collect() };
    let batches = [crank(&[0, 1]), crank(&[2]), crank(&[3, 4, 5, 6, 7])];
    for _ in 0..3 {
        for b in &batches {
            env.send(b, &[]).await.unwrap();
        }
        cu.run(
            &mut env,
            "withdraw / 8 positions",
            &[ix::withdraw(alice.key(), alice.account, alice.token, USDC, &all)],
            &[&alice.kp],
        )
        .await;
        cu.run(&mut env, "settle_funding / 8 positions", &[ix::settle_funding(alice.account, &all)], &[]).await;
    }
    let bob = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    env.trade(&bob, 0, order(OrderSide::Long, BTC)).await.unwrap();
    for _ in 0..3 {
        env.send(&crank(&[0]), &[]).await.unwrap();
        cu.run(
            &mut env,
            "withdraw / 1 position",
            &[ix::withdraw(bob.key(), bob.account, bob.token, USDC, &[0])],
            &[&bob.kp],
        )
        .await;
    }
    for _ in 0..3 {
        let i = ix::close_position(bob.key(), bob.account, 0, &oracles[&0], &[], 0);
        cu.run(&mut env, "close_position / 1 oracle, 1 position", &[i], &[&bob.kp]).await;
        env.trade(&bob, 0, order(OrderSide::Long, BTC)).await.unwrap();
    }
    let a = env.margin(&alice.account).await;
    let i = ix::close_position(alice.key(), alice.account, 2, &oracles[&2], &ix::cross_markets(&a, Some(2)), 0);
    cu.run(&mut env, "close_position / 8 oracles, 8 positions", &[i], &[&alice.kp]).await;

    // funding: samples every minute, an interval boundary
    for minute in 1..=61 {
        env.advance(60).await;
        refresh(&mut env, &oracles, 20_000);
        for (m, label) in [(0u16, "1 oracle"), (2, "8 oracles")] {
            let boundary = env.now >= env.market(m).await.next_funding_time;
            let case = if boundary {
                format!("update_funding / {label}, interval boundary")
            } else {
                format!("update_funding / {label}, sample")
            };
            let i = ix::update_funding(m, &oracles[&m]);
            if minute % 10 == 0 || boundary {
                cu.run(&mut env, &case, &[i], &[]).await;
            } else {
                env.send(&[i], &[]).await.unwrap();
            }
        }
        for m in 1..=9u16 {
            if m != 2 {
                env.send(&[ix::update_funding(m, &oracles[&m])], &[]).await.unwrap();
            }
        }
    }
    cu.run(&mut env, "sweep_insurance", &[ix::sweep_insurance(0)], &[]).await;

    // liquidations: a lone position (partial, then full); a cross group of 8 positions
    let liq = env.user(100_000_000 * USDC, 10_000_000 * USDC).await;
    let vic = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    env.trade(&vic, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let gus = env.user(1_000_000 * USDC, 16_000 * USDC).await;
    env.trade(&gus, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    for m in 3..=9u16 {
        env.trade(&gus, m, order(OrderSide::Long, BTC / 10)).await.unwrap();
    }
    env.advance(1).await;
    refresh(&mut env, &oracles, 18_300);
    crank_all(&mut env, &oracles).await;
    let a = env.margin(&vic.account).await;
    let l = env.margin(&liq.account).await;
    let i = ix::liquidate(
        liq.key(),
        liq.account,
        vic.account,
        0,
        &oracles[&0],
        &ix::liquidation_markets(&a, &l, 0),
        3 * BTC as u64,
    );
    cu.run(&mut env, "liquidate / 1 position, partial", &[i], &[&liq.kp]).await;
    let a = env.margin(&vic.account).await;
    let l = env.margin(&liq.account).await;
    let i = ix::liquidate(liq.key(), liq.account, vic.account, 0, &oracles[&0], &ix::liquidation_markets(&a, &l, 0), 0);
    env.advance(1).await;
    refresh(&mut env, &oracles, 17_000);
    crank_all(&mut env, &oracles).await;
    cu.run(&mut env, "liquidate / 1 position, full", &[i], &[&liq.kp]).await;
    let a = env.margin(&gus.account).await;
    let l = env.margin(&liq.account).await;
    let i = ix::liquidate(liq.key(), liq.account, gus.account, 0, &oracles[&0], &ix::liquidation_markets(&a, &l, 0), 0);
    // a liquidation needs the group's other markets refreshed within 4 slots (one transaction
    // before it here; the keeper puts them in the same one when they fit)
    env.send(&crank(&[3, 4, 5, 6, 7, 8, 9]), &[]).await.unwrap();
    cu.run(&mut env, "liquidate / 8 positions (7 other markets)", &[i], &[&liq.kp]).await;

    // ADL: a bankrupt long, two profitable shorts, a full step, then the last resort
    let carol = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let dan = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let erin = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let fay = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    refresh(&mut env, &oracles, 17_000);
    env.trade(&carol, 9, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    env.trade(&fay, 9, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    env.trade(&dan, 9, order(OrderSide::Short, BTC)).await.unwrap();
    env.trade(&erin, 9, order(OrderSide::Short, BTC)).await.unwrap();
    let m9 = oracles[&9].clone();
    env.advance(1).await;
    for k in &m9 {
        env.set_legacy_oracle(*k, usd(14_000), usd(1), env.now);
    }
    for who in [&carol, &fay] {
        let a = env.margin(&who.account).await;
        let l = env.margin(&liq.account).await;
        let i = ix::liquidate(liq.key(), liq.account, who.account, 9, &m9, &ix::liquidation_markets(&a, &l, 9), 0);
        env.send(&[i], &[&liq.kp]).await.unwrap();
    }
    assert!(env.margin(&carol.account).await.is_bankrupt(), "the market's insurance fund is empty: ADL");
    cu.run(&mut env, "begin_adl_round", &[ix::begin_adl_round(9, &m9, carol.account)], &[]).await;
    cu.run(&mut env, "adl_scan / 2 accounts", &[ix::adl_scan(9, &[dan.account, erin.account])], &[]).await;
    cu.run(
        &mut env,
        "auto_deleverage / 2 candidates",
        &[ix::auto_deleverage(9, &m9, carol.account, &[dan.account, erin.account])],
        &[],
    )
    .await;
    // Fay: no profitable counterparty is left
    env.advance(601).await;
    for k in &m9 {
        env.set_legacy_oracle(*k, usd(14_000), usd(1), env.now);
    }
    env.send(&[ix::begin_adl_round(9, &m9, fay.account)], &[]).await.unwrap();
    cu.run(&mut env, "resolve_bankruptcy", &[ix::resolve_bankruptcy(9, &m9, fay.account)], &[]).await;
    // pro rata: a market of its own (index 10, no other positions), a bankrupt long, two profitable
    // shorts
    let o10 = solana_keypair::Keypair::new().pubkey();
    env.set_legacy_oracle(o10, usd(20_000), usd(1), env.now);
    let mut p = default_market_params(vec![legacy_oracle(o10)]);
    p.adl_policy = 1;
    env.create_market(10, p, 1_000, usd(20_000)).await;
    let m10 = vec![o10];
    let gina = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let hal = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let ian = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    env.trade(&gina, 10, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    env.trade(&hal, 10, order(OrderSide::Short, BTC)).await.unwrap();
    env.trade(&ian, 10, order(OrderSide::Short, BTC)).await.unwrap();
    env.advance(1).await;
    env.set_legacy_oracle(o10, usd(14_000), usd(1), env.now);
    // a liquidator with no other market to refresh
    let lena = env.user(1_000_000 * USDC, 500_000 * USDC).await;
    let a = env.margin(&gina.account).await;
    let l = env.margin(&lena.account).await;
    let i = ix::liquidate(lena.key(), lena.account, gina.account, 10, &m10, &ix::liquidation_markets(&a, &l, 10), 0);
    env.send(&[i], &[&lena.kp]).await.unwrap();
    assert!(env.margin(&gina.account).await.is_bankrupt());
    env.send(&[ix::begin_adl_round(10, &m10, gina.account)], &[]).await.unwrap();
    env.send(&[ix::adl_scan(10, &[hal.account, ian.account])], &[]).await.unwrap();
    cu.run(&mut env, "auto_deleverage / pro rata", &[ix::auto_deleverage(10, &m10, gina.account, &[])], &[]).await;
    assert!(env.market(10).await.haircut_absorbed > 0);
    cu.run(&mut env, "settle_funding / 1 position paying a haircut", &[ix::settle_funding(hal.account, &[10])], &[])
        .await;
    assert!(env.margin(&hal.account).await.positions[0].haircut_paid > 0);
    // repeg: market 0 with repegs on and the index 2% above its vAMM, paid by its fee pool
    let mut p = perp::state::MarketParams::from_market(&env.market(0).await);
    p.repeg_budget = 500_000_000;
    p.repeg_threshold = 2_000_000;
    env.update_market(0, p).await.unwrap();
    // one repeg per funding interval: each spends up to half of what the fee pool then holds
    let interval = env.market(0).await.funding_interval;
    for _ in 0..3 {
        env.advance(interval).await;
        let mid = env.market(0).await.vamm().price().unwrap().0;
        refresh(&mut env, &oracles, mid * 102 / 100 / 1_000_000);
        cu.run(&mut env, "repeg / 1 oracle", &[ix::repeg(0, &oracles[&0])], &[]).await;
    }
    env.assert_conservation().await;
    collateral_cases(&mut env, &mut cu, &oracles).await;
    env.assert_conservation().await;

    report_and_check(&cu);
}

/// Listed collateral: 4 mints (6, 8, 9 and 9 decimals, one oracle each); deposits, trades of an
/// account holding 1 and 4 of them, withdrawals, refreshes and a collateral sale.
async fn collateral_cases(env: &mut Env, cu: &mut Cu, oracles: &BTreeMap<u16, Vec<Pubkey>>) {
    use perp_client::collateral as cix;
    env.advance(1).await;
    refresh(env, oracles, 20_000);
    crank_all(env, oracles).await;
    let mut mints = Vec::new();
    for (n, d) in [6u8, 8, 9, 9].into_iter().enumerate() {
        let o = Keypair::new().pubkey();
        env.set_legacy_oracle(o, usd(100), Price(10_000), env.now);
        let mint = env.create_mint_with(d, None).await;
        let ci = env.list_collateral(mint, collateral_params(o, u64::MAX / 2)).await.unwrap();
        assert_eq!(ci as usize, n + 1);
        cu.run(env, "refresh_collateral / 1 oracle", &[cix::refresh_collateral(ci, &[o])], &[]).await;
        mints.push((ci, mint, o, d));
    }
    let refresh_all = |env: &mut Env, mints: &[(u16, Pubkey, Pubkey, u8)]| {
        for (_, _, o, _) in mints {
            env.set_legacy_oracle(*o, usd(100), Price(10_000), env.now);
        }
    };
    // cora holds all four (1,000 of value each), cole one
    let cora = env.user(0, 0).await;
    let cole = env.user(0, 0).await;
    for (who, n) in [(&cora, 4usize), (&cole, 1)] {
        for (ci, mint, _, d) in &mints[..n] {
            let amount = 10 * 10u64.pow(*d as u32);
            let tok = env.token_account_of(mint, &who.key(), 2 * amount).await;
            let i = cix::deposit_collateral(who.key(), who.account, *ci, mint, tok, amount);
            cu.run(env, "deposit_collateral", &[i], &[&who.kp]).await;
        }
    }
    let (_, mint0, _, _) = mints[0];
    let dest = [env.token_account_of(&mint0, &cole.key(), 0).await, env.token_account_of(&mint0, &cora.key(), 0).await];
    for (n, (who, label)) in [(&cole, "1 mint"), (&cora, "4 mints")].into_iter().enumerate() {
        let held: Vec<u16> = cix::held(&env.margin(&who.account).await);
        for side in [OrderSide::Long, OrderSide::Short, OrderSide::Long, OrderSide::Short, OrderSide::Long] {
            let mut i = ix::place_market_order(who.key(), who.account, 0, &oracles[&0], &[], order(side, BTC / 20));
            i.accounts.extend(cix::collateral_metas(&held));
            cu.run(env, &format!("place_market_order / collateral {label}, 1 oracle, 1 position"), &[i], &[&who.kp])
                .await;
        }
        // withdrawals: BTC's index and every collateral refreshed just before
        for _ in 0..3 {
            env.advance(1).await;
            refresh(env, oracles, 20_000);
            refresh_all(env, &mints);
            let mut pre = vec![ix::update_funding(0, &oracles[&0])];
            for (ci, _, o, _) in mints.iter().filter(|m| held.contains(&m.0)) {
                pre.push(cix::refresh_collateral(*ci, &[*o]));
            }
            env.send(&pre, &[]).await.unwrap();
            let (ci, mint, _, _) = mints[0];
            let others: Vec<u16> = held.iter().copied().filter(|i| *i != ci).collect();
            let i = cix::withdraw_collateral(who.key(), who.account, ci, &mint, dest[n], 1, &[0], &others);
            cu.run(env, &format!("withdraw_collateral / {label}, 1 position"), &[i], &[&who.kp]).await;
        }
    }
    // a collateral sale: cole's only mint falls to 0.5 and holds there for a window
    env.advance(1).await;
    let (ci, _, o, _) = mints[0];
    env.set_legacy_oracle(o, Price(500_000), Price(100), env.now);
    env.send(&[cix::refresh_collateral(ci, &[o])], &[]).await.unwrap();
    env.advance(601).await;
    refresh(env, oracles, 20_000);
    env.set_legacy_oracle(o, Price(500_000), Price(100), env.now);
    crank_all(env, oracles).await;
    let larry = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    env.send(&[ix::update_funding(0, &oracles[&0]), cix::refresh_collateral(ci, &[o])], &[]).await.unwrap();
    let (_, mint, _, _) = mints[0];
    let dest = env.token_account_of(&mint, &larry.key(), 0).await;
    env.send(&[ix::update_funding(0, &oracles[&0]), cix::refresh_collateral(ci, &[o])], &[]).await.unwrap();
    let i =
        cix::liquidate_collateral(larry.key(), cole.account, larry.account, ci, &mint, dest, 0, u64::MAX, &[0], &[]);
    cu.run(env, "liquidate_collateral / 1 mint, 1 position", &[i], &[&larry.kp]).await;
}

fn report_and_check(cu: &Cu) {
    let stats = cu.stats();
    let path = perp_client::data::repo_root().join("tests/cu-baseline.json");
    let baseline: BTreeMap<String, u64> =
        std::fs::read_to_string(&path).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    println!("compute units on the SBF build ({})", perp_client::bank::sbf_dir().unwrap().join("perp.so").display());
    println!("{:58} {:>3} {:>7} {:>7} {:>7} {:>9}", "instruction / case", "n", "min", "median", "max", "baseline");
    for (k, (lo, med, hi, n)) in &stats {
        let base = baseline.get(k).map(|b| format!("{:+}", *med as i64 - *b as i64)).unwrap_or_else(|| "new".into());
        println!("{k:58} {n:>3} {lo:>7} {med:>7} {hi:>7} {base:>9}");
    }
    let med = |k: &str| stats.get(k).map(|s| s.1 as i64).unwrap_or(0);
    let per_oracle =
        (med("place_market_order / 8 oracles, 1 position") - med("place_market_order / 1 oracle, 1 position")) / 7;
    let per_position =
        (med("place_market_order / 1 oracle, 8 positions") - med("place_market_order / 1 oracle, 1 position")) / 7;
    println!("each extra oracle: ~{per_oracle} CU; each extra cross position: ~{per_position} CU (place_market_order medians)");
    let one = med("place_market_order / collateral 1 mint, 1 oracle, 1 position");
    let four = med("place_market_order / collateral 4 mints, 1 oracle, 1 position");
    println!(
        "a trade holding 1 collateral mint: {one} CU, 4 mints: {four} CU (goal <= {TRADE_4_MINTS_CEILING}); each extra mint ~{} CU",
        (four - one) / 3
    );
    assert!(four as u64 <= TRADE_4_MINTS_CEILING, "a trade with 4 collateral mints: {four} CU");
    if std::env::var("PERP_CU_WRITE_BASELINE").is_ok() {
        let b: BTreeMap<&String, u64> = stats.iter().map(|(k, s)| (k, s.1)).collect();
        std::fs::write(&path, serde_json::to_string_pretty(&b).unwrap() + "\n").unwrap();
        println!("baseline written to {}", path.display());
    }
    let mut over = Vec::new();
    for (name, representative, med_ceiling, max_ceiling) in CEILINGS {
        let of = |rep: bool| -> Vec<u64> {
            let mut v: Vec<u64> =
                cu.0.iter()
                    .filter(|(k, _)| k.split(" / ").next() == Some(*name) && (!rep || k.contains(representative)))
                    .flat_map(|(_, v)| v.clone())
                    .collect();
            v.sort_unstable();
            v
        };
        let (rep, all) = (of(true), of(false));
        assert!(!rep.is_empty(), "no representative case measured for {name}");
        let (m, w) = (rep[rep.len() / 2], all[all.len() - 1]);
        println!("{name:20} median {m:>6} (ceiling {med_ceiling}), worst {w:>6} (ceiling {max_ceiling})");
        if m > *med_ceiling || w > *max_ceiling {
            over.push(format!("{name}: median {m} / worst {w} over {med_ceiling} / {max_ceiling}"));
        }
    }
    assert!(over.is_empty(), "compute-unit ceilings exceeded: {over:?}");
}
