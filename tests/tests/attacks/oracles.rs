//! M-3, M-4, M-5, L-4: stale, dead and future oracles, and the cached index of other markets.

use super::*;
use perp::error::PerpError;

/// A second market, ETH at 1,500, with its own legacy oracle (returned).
async fn eth(w: &mut World) -> Pubkey {
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(1_500), usd(1), w.env.now);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
    oracle
}

/// M-3: Alice holds BTC and a dust ETH position; ETH's feed dies. Closing BTC, and liquidating
/// BTC, still work: the dead market is valued conservatively (no profit, a haircut against it),
/// never a reason to refuse.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_dead_unrelated_market_freezes_the_account() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    w.env.trade(&alice, 1, order(OrderSide::Long, BTC / 100)).await.unwrap();
    // ETH's only feed stops; 700 s later (past its fallback limit) BTC is still live
    w.env.advance(700).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t - 700);
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), t);
    // new risk needs every price: refused
    assert_error(w.env.trade(&alice, 0, order(OrderSide::Long, BTC)).await, PerpError::StaleCachedIndex);
    // reducing BTC works
    let mut half = order(OrderSide::Short, BTC);
    half.reduce_only = true;
    w.env.trade(&alice, 0, half).await.unwrap();
    // and a shield does not work: with a dust ETH position dead, BTC is still liquidated
    let bob = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.advance(1).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    w.env.trade(&bob, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env.trade(&bob, 1, order(OrderSide::Long, BTC / 100)).await.unwrap();
    w.env.advance(700).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t - 700);
    w.move_price(usd(18_250)).await;
    w.liquidate(&bob, 0).await.unwrap();
    let b = w.env.margin(&bob.account).await;
    assert!(b.find(0).is_none_or(|s| b.positions[s].base < 5 * BTC));
    w.env.assert_conservation().await;
}

/// M-4: one of three configured oracle accounts is closed and re-created under another owner.
/// It is dropped like a stale source: trading, closing and the funding crank go on on the other
/// two.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_reassigned_oracle_account_bricks_the_market() {
    let mut env = Env::new().await;
    let keys: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    for k in &keys {
        env.set_legacy_oracle(*k, usd(20_000), usd(2), T0);
    }
    let mut p = default_market_params(keys.iter().map(|k| legacy_oracle(*k)).collect());
    p.min_sources = 2;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC)).await.unwrap();
    env.set_raw_account(keys[1], vec![0; 16], solana_system_interface::program::ID);
    env.advance(60).await;
    env.set_legacy_oracle(keys[0], usd(20_000), usd(2), env.now);
    env.set_legacy_oracle(keys[2], usd(20_010), usd(2), env.now);
    env.crank_funding(0).await.unwrap();
    assert_eq!(env.market(0).await.last_index, usd(20_005).0, "the median of the two left");
    env.trade(&alice, 0, order(OrderSide::Long, BTC / 10)).await.unwrap();
    env.close(&alice, 0).await.unwrap();
    env.assert_conservation().await;
}

/// M-5: ETH's price drops 8% but nobody refreshes ETH's cached index. A withdrawal valued at the
/// old ETH price is refused: withdrawals need the cache refreshed in their own slot (from readings
/// younger than `withdraw_max_age`, 15 s here; the cache's age is that of its oldest reading,
/// never the time it was written).
#[tokio::test(flavor = "current_thread")]
async fn attack_withdraw_on_a_stale_cached_price() {
    let mut w = world(0).await;
    let eth_oracle = eth(&mut w).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 1, order(OrderSide::Long, 40 * BTC)).await.unwrap();
    w.env.advance(30).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_380), usd(1), t);
    let i = ix::withdraw(alice.key(), alice.account, alice.token, 1_000 * USDC, &[1]);
    assert_error(w.env.send(std::slice::from_ref(&i), &[&alice.kp]).await, PerpError::IndexNotRefreshed);
    // refreshed in the same transaction, the withdrawal is valued at the real price
    let m = w.env.market(1).await;
    let refresh = ix::update_funding(1, &ix::market_oracles(&m));
    let before = w.env.margin(&alice.account).await.cross_collateral;
    w.env.send(&[refresh.clone(), i], &[&alice.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert_eq!(a.cross_collateral, before - 1_000 * USDC as i64);
    let m = w.env.market(1).await;
    let mut h = Health::new(Quote(a.cross_collateral));
    h.add_position(&a.positions[0].state(), usd(1_380), Quote(0), &tiers(&m)).unwrap();
    assert!(h.equity_without_profit >= h.initial, "valued at the real price, never below initial margin");
    // the most it allows at the real price, and one unit more is refused
    let free = h.withdrawable(Quote(a.cross_collateral)).unwrap().0 as u64;
    let over = ix::withdraw(alice.key(), alice.account, alice.token, free + 1, &[1]);
    assert_error(w.env.send(&[refresh.clone(), over], &[&alice.kp]).await, PerpError::WithdrawExceedsFree);
    w.env.assert_conservation().await;

    // re-stamping: every source frozen at T, a crank at T + 59 s caches T, not T + 59
    let frozen = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_380), usd(1), frozen);
    w.env.advance(59).await;
    w.env.send(&[refresh], &[]).await.unwrap();
    assert_eq!(w.env.market(1).await.last_index_time, frozen);
}

/// L-4: a source publishing an hour in the future is dropped; the index stands on the others.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_reading_from_the_future() {
    let mut env = Env::new().await;
    let keys: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    env.set_legacy_oracle(keys[0], usd(20_000), usd(2), T0);
    env.set_legacy_oracle(keys[1], usd(20_020), usd(2), T0);
    env.set_legacy_oracle(keys[2], usd(20_500), usd(2), T0 + 3_600);
    let mut p = default_market_params(keys.iter().map(|k| legacy_oracle(*k)).collect());
    p.min_sources = 2;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    env.crank_funding(0).await.unwrap();
    let m = env.market(0).await;
    assert_eq!(m.last_index, usd(20_010).0, "the future reading is not in the median");
    assert_eq!(m.last_index_time, T0);
    env.assert_conservation().await;
}

/// A hedged account (BTC long, ETH short) is healthy; BTC falls 8% and so does ETH, but ETH's
/// cached index has not been refreshed. Seen through the stale ETH price the group is under water,
/// and the deficit would be paid by BTC's insurance fund (then withdrawn through the ETH profit).
/// A liquidation needs every other market of the group refreshed within a few slots: refused
/// until ETH is refreshed, and then the account is healthy.
#[tokio::test(flavor = "current_thread")]
async fn attack_a_stale_market_fakes_a_deficit() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let v = w.env.user(100_000 * USDC, 2_000 * USDC).await;
    w.env.trade(&v, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    w.env.trade(&v, 1, order(OrderSide::Short, 26 * BTC)).await.unwrap();
    w.env.advance(30).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_380), usd(1), t);
    w.move_price(usd(18_400)).await;
    let ins0 = w.env.insurance(0).await;
    assert_error(w.liquidate(&v, 0).await, PerpError::IndexNotRefreshed);
    assert_eq!(w.env.insurance(0).await, ins0);
    // refreshed, the hedge holds
    w.env.crank_funding(1).await.unwrap();
    assert_error(w.liquidate(&v, 0).await, PerpError::NotLiquidatable);
    assert_eq!(w.env.margin(&v.account).await.positions[0].base, 2 * BTC);
    w.env.assert_conservation().await;
}
