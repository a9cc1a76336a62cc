//! H-1, H-2, H-3, M-9, L-2: value moved through the vAMM within one transaction.

use super::*;
use perp::error::PerpError;
use perp_core::funding::{funding_rate, premium_sample};
use perp_core::liquidation::liquidation_price;

/// Alice long 5 BTC on 10,000, the index (and the vAMM, by arbitrage) at her liquidation price.
async fn alice_at_liquidation(w: &mut World) -> (User, Price) {
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let m = w.env.market(0).await;
    let lp = liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m)).unwrap().unwrap();
    w.move_price(lp.price).await;
    (alice, lp.price)
}

/// H-1: Mallory dumps 18 BTC into the vAMM, liquidates Alice from her second account and buys
/// the 18 BTC back, all in one transaction. The takeover happens at the mark (from the oracle):
/// Alice and the insurance fund end exactly where an honest liquidation leaves them, and the
/// round trip costs Mallory two taker fees.
#[tokio::test(flavor = "current_thread")]
async fn attack_liquidation_sandwich() {
    let mut w = world(1_000_000 * USDC).await;
    let (alice, mark) = alice_at_liquidation(&mut w).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let second = w.env.second_account(&mallory, 1, 1_000_000 * USDC).await;

    // the honest outcome, by perp-core
    let a0 = w.env.margin(&alice.account).await;
    let m0 = w.env.market(0).await;
    let (c_after, pen) = honest_takeover(
        a0.positions[0].state(),
        Quote(a0.cross_collateral),
        5 * BTC,
        mark,
        &m0.liquidation_fees(),
        &tiers(&m0),
    );
    let mal0 = w.env.margin(&mallory.account).await;

    let dump = w.env.order_ix(&mallory, 0, order(OrderSide::Short, 18 * BTC)).await;
    let liq = w.liquidate_ix(&mallory, second, &alice, 0, 0).await;
    // after the dump Mallory holds a short; the buy-back closes it
    let back = ix::place_market_order(
        mallory.key(),
        mallory.account,
        0,
        &ix::market_oracles(&m0),
        &[],
        order(OrderSide::Long, 18 * BTC),
    );
    w.env.send(&[dump, liq, back], &[&mallory.kp]).await.unwrap();

    let a1 = w.env.margin(&alice.account).await;
    assert!(a1.find(0).is_none(), "Alice's position was taken over");
    assert_eq!(a1.cross_collateral, c_after.0, "Alice keeps exactly what an honest liquidation leaves");
    assert!(c_after.0 > 0, "and that is her margin left above the penalty");
    let m1 = w.env.market(0).await;
    assert_eq!(m1.insurance_total_out, m0.insurance_total_out, "the insurance fund paid nothing");
    // it received the penalty's share (and its share of Mallory's two taker fees)
    assert_eq!(m1.insurance_fund - m0.insurance_fund, (m1.insurance_total_in - m0.insurance_total_in) as i64);
    assert!(m1.insurance_fund - m0.insurance_fund > pen.insurance_fee.0);
    assert_eq!(m1.base_reserve.get(), m0.base_reserve.get(), "the vAMM is back where it was");
    let taken = w.env.margin(&second).await;
    assert_eq!(taken.positions[0].base, 5 * BTC);
    assert_eq!(
        taken.positions[0].quote_entry,
        -takeover_quote(Base(5 * BTC), mark).unwrap().0,
        "taken over at the mark"
    );
    // the sandwich itself lost Mallory two taker fees (and the curve's rounding)
    let mal1 = w.env.margin(&mallory.account).await;
    assert!(mal1.find(0).is_none());
    let lost = mal0.cross_collateral - mal1.cross_collateral;
    assert!(lost >= mal1.fees_paid - mal0.fees_paid, "Mallory gained {} from the round trip", -lost);
    w.env.assert_conservation().await;
}

/// H-1, forced bankruptcy: with an empty insurance fund, a sandwich cannot turn a position that
/// is solvent at the mark into a bankruptcy.
#[tokio::test(flavor = "current_thread")]
async fn attack_sandwich_cannot_force_a_bankruptcy() {
    let mut w = world(0).await;
    let (alice, _) = alice_at_liquidation(&mut w).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let second = w.env.second_account(&mallory, 1, 1_000_000 * USDC).await;
    let m0 = w.env.market(0).await;
    let dump = w.env.order_ix(&mallory, 0, order(OrderSide::Short, 60 * BTC)).await;
    let liq = w.liquidate_ix(&mallory, second, &alice, 0, 0).await;
    let back = ix::place_market_order(
        mallory.key(),
        mallory.account,
        0,
        &ix::market_oracles(&m0),
        &[],
        order(OrderSide::Long, 60 * BTC),
    );
    w.env.send(&[dump, liq, back], &[&mallory.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.is_bankrupt() && a.find(0).is_none());
    assert!(a.cross_collateral >= 0);
    assert_eq!(w.env.market(0).await.bankrupt_accounts, 0);
    w.env.assert_conservation().await;
}

/// H-2: a bankrupt long with no counterparty left. Mallory, long 50 BTC from before, sells it,
/// calls `resolve_bankruptcy` and buys back in one transaction. The resolution happens off the
/// curve at the mark: the loss socialized is exactly the honest one and the vAMM ends where it was,
/// so Mallory's round trip only costs her fees.
#[tokio::test(flavor = "current_thread")]
async fn attack_resolve_bankruptcy_sandwich() {
    let mut w = world(10 * USDC).await;
    let mallory = w.env.user(10_000_000 * USDC, 3_000_000 * USDC).await;
    w.env.trade(&mallory, 0, order(OrderSide::Long, 50 * BTC)).await.unwrap();
    w.move_price(usd(20_000)).await;
    let carol = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(18_000)).await;
    w.liquidate(&carol, 0).await.unwrap();
    let pb = Price(w.env.margin(&carol.account).await.positions[0].bankruptcy_price);
    // no short is left: the arbitrageur buys back its short
    let arb = clone_user(&w.arb);
    w.env.close(&arb, 0).await.unwrap();
    let m = w.env.market(0).await;
    w.env.send(&[ix::begin_adl_round(0, &ix::market_oracles(&m), carol.account)], &[]).await.unwrap();

    let m0 = w.env.market(0).await;
    let mal0 = w.env.margin(&mallory.account).await;
    let honest = Base(5 * BTC).value_at(pb, Round::Down).unwrap().0
        - Base(5 * BTC).value_at(usd(18_000), Round::Down).unwrap().0;
    let sell = ix::close_position(mallory.key(), mallory.account, 0, &ix::market_oracles(&m0), &[], 0);
    let resolve = ix::resolve_bankruptcy(0, &ix::market_oracles(&m0), carol.account);
    let buy = ix::place_market_order(
        mallory.key(),
        mallory.account,
        0,
        &ix::market_oracles(&m0),
        &[],
        order(OrderSide::Long, 50 * BTC),
    );
    w.env.send(&[sell, resolve, buy], &[&mallory.kp]).await.unwrap();

    let m1 = w.env.market(0).await;
    assert_eq!(m1.socialized_loss - m0.socialized_loss, honest, "exactly the loss at the mark");
    assert_eq!(m1.base_reserve.get(), m0.base_reserve.get(), "the resolution did not touch the vAMM");
    let mal1 = w.env.margin(&mallory.account).await;
    assert_eq!(mal1.positions[0].base, 50 * BTC);
    let gained = (mal1.cross_collateral as i128 + mal1.positions[0].quote_entry as i128)
        - (mal0.cross_collateral as i128 + mal0.positions[0].quote_entry as i128);
    assert!(gained < 0, "Mallory's round trip cost her {}", -gained);
    assert!(!w.env.margin(&carol.account).await.is_bankrupt());
    w.env.assert_conservation().await;
}

/// H-3: at a funding boundary, after no sample for an hour, Mallory buys 25 BTC, cranks funding
/// and sells the 25 BTC in one transaction. The sample reads the time-weighted impact prices,
/// which this second's trades have not moved: the premium is the untouched vAMM's, the sample
/// weighs one sample period, and the rate stays within the cap.
#[tokio::test(flavor = "current_thread")]
async fn attack_funding_snapshot_in_one_transaction() {
    let mut w = world(0).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let m0 = w.env.market(0).await;
    w.env.advance(3_600).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), t);
    let (bid, ask) = (
        m0.vamm().impact_bid(Quote(m0.impact_notional)).unwrap(),
        m0.vamm().impact_ask(Quote(m0.impact_notional)).unwrap(),
    );
    let untouched = premium_sample(usd(20_000), bid, ask).unwrap();
    let buy = w.env.order_ix(&mallory, 0, order(OrderSide::Long, 25 * BTC)).await;
    let crank = ix::update_funding(0, &ix::market_oracles(&m0));
    let sell = ix::place_market_order(
        mallory.key(),
        mallory.account,
        0,
        &ix::market_oracles(&m0),
        &[],
        order(OrderSide::Short, 25 * BTC),
    );
    w.env.send(&[buy, crank, sell], &[&mallory.kp]).await.unwrap();
    let m1 = w.env.market(0).await;
    // the interval closed with one sample of the untouched vAMM, weighted 60 s of 3,600
    let expect = funding_rate(perp_core::Rate(untouched.0 * 60 / 3_600), &m1.funding_params()).unwrap();
    assert_eq!(m1.last_funding_rate, expect.0);
    assert!(m1.last_funding_rate.abs() <= m1.funding_cap);
    assert_eq!(m1.last_funding_time, t);
    w.env.assert_conservation().await;
}

/// H-3, same slot: a trade and the crank in the same second. The trade's price has no weight in
/// the sample; the sample is what it would be without the trade.
#[tokio::test(flavor = "current_thread")]
async fn attack_trade_and_sample_in_the_same_slot() {
    let mut w = world(0).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    w.env.advance(60).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), t);
    let m0 = w.env.market(0).await;
    let buy = w.env.order_ix(&mallory, 0, order(OrderSide::Long, 40 * BTC)).await;
    let crank = ix::update_funding(0, &ix::market_oracles(&m0));
    w.env.send(&[buy, crank], &[&mallory.kp]).await.unwrap();
    let m1 = w.env.market(0).await;
    let (bid, ask) = (
        m0.vamm().impact_bid(Quote(m0.impact_notional)).unwrap(),
        m0.vamm().impact_ask(Quote(m0.impact_notional)).unwrap(),
    );
    let p = premium_sample(usd(20_000), bid, ask).unwrap();
    assert_eq!(m1.premium_seconds, 60);
    assert_eq!(m1.premium_sum.get(), p.0 as i128 * 60, "the sample is the pre-trade vAMM's");
    // held for 30 s, the move starts to count: half a window
    w.env.advance(30).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), t);
    let m2 = w.env.market(0).await;
    let tw = perp::engine::prices::impact_twap(&m2, t).unwrap();
    let b2 = m2.vamm().impact_bid(Quote(m2.impact_notional)).unwrap();
    assert!(tw.bid > bid && tw.bid < b2, "30 s of 60 moves the average part of the way");
    w.env.assert_conservation().await;
}

/// M-9: with the impact-median mark, Mallory pushes the vAMM 3% below the index and liquidates a
/// long that is healthy at the index, in one transaction. The mark uses time-weighted impact
/// prices that her trade has not moved: not liquidatable.
#[tokio::test(flavor = "current_thread")]
async fn attack_impact_median_mark_manipulation() {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.mark_method = 1;
    p.sample_period = 300;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    env.advance(60).await;
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), env.now);
    env.crank_funding(0).await.unwrap();
    // 5 BTC (100k notional): initial margin 3,000, maintenance 1,500; the fill costs ~500 of
    // slippage and 50 of fee, leaving ~3,450 of equity
    let alice = env.user(100_000 * USDC, 4_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let mallory = env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let second = env.second_account(&mallory, 1, 1_000_000 * USDC).await;
    env.advance(60).await;
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), env.now);
    let m = env.market(0).await;
    let d = m.vamm().size_to_price(usd(19_400)).unwrap();
    let dump = env.order_ix(&mallory, 0, order(OrderSide::Short, -d.0)).await;
    let a = env.margin(&alice.account).await;
    let liq = ix::liquidate(
        mallory.key(),
        second,
        alice.account,
        0,
        &ix::market_oracles(&m),
        &ix::position_markets(&a, Some(0)),
        0,
    );
    assert_error(env.send(&[dump, liq], &[&mallory.kp]).await, PerpError::NotLiquidatable);
    assert_eq!(env.margin(&alice.account).await.positions[0].base, 5 * BTC);
    env.assert_conservation().await;
}

/// L-2: liquidating an under-water account from a second wallet earns nothing from the insurance
/// fund: the reward comes only out of the account's own equity.
#[tokio::test(flavor = "current_thread")]
async fn attack_self_liquidation_for_an_insurance_paid_reward() {
    let mut w = world(100_000 * USDC).await;
    let bob = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&bob, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(17_500)).await;
    let wallet2 = w.env.user(1_000_000 * USDC, 500_000 * USDC).await;
    let m0 = w.env.market(0).await;
    let i = w.liquidate_ix(&wallet2, wallet2.account, &bob, 0, 0).await;
    w.env.send(&[i], &[&wallet2.kp]).await.unwrap();
    let l = w.env.margin(&wallet2.account).await;
    assert_eq!(l.cross_collateral, 500_000 * USDC as i64, "no reward for an under-water takeover");
    let m1 = w.env.market(0).await;
    let b = w.env.margin(&bob.account).await;
    assert_eq!(b.cross_collateral, 0);
    assert_eq!(
        m1.insurance_total_out - m0.insurance_total_out,
        (m0.insurance_fund - m1.insurance_fund) as u64,
        "the fund paid only the deficit"
    );
    w.env.assert_conservation().await;
}
