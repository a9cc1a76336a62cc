//! Funding over several intervals with clock warps, checked against perp-core and by hand.

use perp::instructions::OrderSide;
use perp_client::ix;
use perp_core::funding::{funding_event, funding_rate, position_payment, premium_sample};
use perp_core::{Base, FundingIndex, Price, Quote};
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Cranks once a minute from the last sample to `until`, keeping the oracle fresh.
async fn crank_until(env: &mut Env, oracle: anchor_lang::prelude::Pubkey, index: Price, market: u16, until: i64) {
    while env.now + 60 <= until {
        env.advance(60).await;
        env.set_legacy_oracle(oracle, index, Price(index.0 / 10_000), env.now);
        env.crank_funding(market).await.unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn three_intervals_of_funding() {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    let index = usd(20_000);
    env.set_legacy_oracle(oracle, index, usd(2), T0);
    let params = default_market_params(vec![legacy_oracle(oracle)]);
    env.create_market(0, params.clone(), 1_000, index).await;
    let alice = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let bob = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    env.trade(&bob, 0, order(OrderSide::Short, BTC)).await.unwrap();
    let m = env.market(0).await;
    assert_eq!(m.next_funding_time, T0 + 3600);

    // the premium is constant while the curve and index do not move
    let v = m.vamm();
    let n = Quote(m.impact_notional);
    let p = premium_sample(index, v.impact_bid(n).unwrap(), v.impact_ask(n).unwrap()).unwrap();
    assert!(p.0 > 0, "net long traders push the vAMM above the index");
    let f = funding_rate(p, &m.funding_params()).unwrap();
    // F = P + clamp(I - P, -0.05%, 0.05%); P is above I + 0.05%, so F = P - 0.05%
    assert_eq!(f.0, p.0 - 500_000);

    let a0 = env.margin(&alice.account).await.cross_collateral;
    let b0 = env.margin(&bob.account).await.cross_collateral;
    let mut fee_pool = m.fee_pool;
    let mut pnl_pool = m.pnl_pool;

    for interval in 1..=2 {
        crank_until(&mut env, oracle, index, 0, T0 + 3600 * interval).await;
        let m = env.market(0).await;
        assert_eq!(m.last_funding_rate, f.0, "interval {interval}");
        assert_eq!(m.next_funding_time, T0 + 3600 * (interval + 1));
        let e = funding_event(f, index, Base(2 * BTC), Base(BTC), Quote(fee_pool)).unwrap();
        assert!(!e.receiver_capped);
        assert_eq!(m.cum_funding_long.get(), e.delta_long.0 * interval as i128);
        assert_eq!(m.cum_funding_short.get(), e.delta_short.0 * interval as i128);
        // by hand: the vAMM holds the net 1 BTC short and receives 1 x 20,000 x F
        assert_eq!(e.amm_share.0, 20 * f.0);
        assert_eq!(m.fee_pool, fee_pool + e.amm_share.0);
        assert_eq!(m.pnl_pool, pnl_pool - e.amm_share.0);
        fee_pool = m.fee_pool;
        pnl_pool = m.pnl_pool;
        env.assert_conservation().await;
    }

    // idempotent within a sample period: a second crank at the same time changes nothing
    let before = env.market(0).await;
    env.crank_funding(0).await.unwrap();
    let after = env.market(0).await;
    assert_eq!(before.premium_seconds, after.premium_seconds);
    assert_eq!(before.premium_sum.get(), after.premium_sum.get());
    assert_eq!(before.cum_funding_long.get(), after.cum_funding_long.get());

    // settle: Alice (2 long) pays 2 x 20,000 x F per interval, Bob (1 short) receives 1 x 20,000 x F
    env.send(&[ix::settle_funding(alice.account, &[0]), ix::settle_funding(bob.account, &[0])], &[]).await.unwrap();
    let m = env.market(0).await;
    let paid_a = position_payment(Base(2 * BTC), FundingIndex(m.cum_funding_long.get()), FundingIndex(0)).unwrap();
    let paid_b = position_payment(Base(-BTC), FundingIndex(m.cum_funding_short.get()), FundingIndex(0)).unwrap();
    assert_eq!(paid_a.0, 2 * 40 * f.0);
    assert_eq!(paid_b.0, -2 * 20 * f.0);
    assert_eq!(env.margin(&alice.account).await.cross_collateral, a0 - paid_a.0);
    assert_eq!(env.margin(&bob.account).await.cross_collateral, b0 - paid_b.0);
    assert_eq!(env.margin(&alice.account).await.funding_paid, paid_a.0);
    let m2 = env.market(0).await;
    assert_eq!(m2.pnl_pool, pnl_pool + paid_a.0 + paid_b.0);
    env.assert_conservation().await;
    // settling again pays nothing more
    env.send(&[ix::settle_funding(alice.account, &[0])], &[]).await.unwrap();
    assert_eq!(env.margin(&alice.account).await.cross_collateral, a0 - paid_a.0);

    // a late crank: 2.5 hours pass, one crank applies one interval and realigns the schedule. Its
    // single sample weighs one sample period (60 s); the unsampled rest of the interval counts as
    // zero premium, so one sample cannot set the whole interval's rate
    env.advance(9_000).await;
    env.set_legacy_oracle(oracle, index, usd(2), env.now);
    env.crank_funding(0).await.unwrap();
    let m = env.market(0).await;
    assert_eq!(m.last_funding_time, env.now);
    assert_eq!(m.next_funding_time, T0 + 3600 * 5);
    assert_eq!(m.premium_seconds, 0);
    let f3 = funding_rate(perp_core::Rate(p.0 * 60 / 3600), &m.funding_params()).unwrap();
    assert_eq!(m.last_funding_rate, f3.0);
    let inc = |r| FundingIndex::increment(index, r).unwrap().0;
    assert_eq!(m.cum_funding_long.get(), 2 * inc(f) + inc(f3));
    // trading settles first: Alice's next trade pays the third interval
    let a_before = env.margin(&alice.account).await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC / 100)).await.unwrap();
    let a_after = env.margin(&alice.account).await;
    assert_eq!(a_after.funding_paid - a_before.funding_paid, 40 * f3.0);
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn receivers_are_capped_when_the_fee_pool_cannot_pay() {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    let mut params = default_market_params(vec![legacy_oracle(oracle)]);
    params.taker_fee = 0; // the fee pool stays empty
    params.interest = 100_000; // I = 0.01% per interval
    env.create_market(0, params, 1_000, usd(20_000)).await;
    let carol = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let dave = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    env.trade(&carol, 0, order(OrderSide::Long, BTC)).await.unwrap();
    env.trade(&dave, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    // put the index at the vAMM's mid: the premium is zero and F = I = +0.01% (longs pay), while
    // the vAMM holds the net 1 BTC long and would owe the shorts its share
    let mid = env.market(0).await.vamm().price().unwrap();
    crank_until(&mut env, oracle, mid, 0, T0 + 3600).await;
    let m = env.market(0).await;
    assert_eq!(m.last_funding_rate, 100_000);
    assert_eq!(m.fee_pool, 0, "the fee pool never goes negative");
    let delta = FundingIndex::increment(mid, perp_core::Rate(100_000)).unwrap();
    assert_eq!(m.cum_funding_long.get(), delta.0);
    // shorts receive only what longs pay: half the step per unit (2 shorts vs 1 long)
    assert_eq!(m.cum_funding_short.get(), delta.0 / 2);
    env.send(&[ix::settle_funding(carol.account, &[0]), ix::settle_funding(dave.account, &[0])], &[]).await.unwrap();
    let c = env.margin(&carol.account).await.funding_paid;
    let d = env.margin(&dave.account).await.funding_paid;
    assert!(c > 0 && d < 0);
    assert!(c + d >= 0 && c + d <= 1, "receivers got what payers paid, up to rounding: {c} {d}");
    env.assert_conservation().await;
}
