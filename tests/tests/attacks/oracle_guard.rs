//! The 2026-12 review's oracle findings: N-3 (takeovers at a wick, a liquidator's chosen update),
//! the withdrawal inside the price-age window, and the leftovers M-3 (a dead feed), M-5 (a
//! liquidation on an old cache of another market) and M-9 (the impact-median mark).

use super::*;
use perp::error::PerpError;

/// Alice long 4 BTC at 20,000 with 3,000: healthy at 20,000 (equity ~2,950 against a maintenance
/// of ~1,100), liquidatable at 19,500 (~960 against ~1,060).
async fn alice_long(w: &mut World) -> User {
    let alice = w.env.user(100_000 * USDC, 3_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 4 * BTC)).await.unwrap();
    // the arbitrageur brings the vAMM back to the index; the index is cached a minute long
    w.move_price(usd(20_000)).await;
    w.env.advance(60).await;
    w.move_price(usd(20_000)).await;
    w.env.crank_funding(0).await.unwrap();
    alice
}

fn equity_at(a: &perp::state::MarginAccount, m: &perp::state::Market, p: Price) -> Health {
    let mut h = Health::new(Quote(a.cross_collateral));
    h.add_position(&a.positions[0].state(), p, Quote(0), &tiers(m)).unwrap();
    h
}

/// N-3: one oracle update prints 2.5% below its moving average and the market; a liquidator
/// bundles it with `liquidate`. The print is 2.5% from Pyth's EMA (beyond the 1% the market
/// allows), so the takeover values Alice at the index's time-weighted value, in which a print of
/// this second has no weight: she is not liquidatable, and nothing moves. A wide print (1%
/// confidence, within the index's 2% but over the 0.5% liquidations allow) is treated the same.
/// A real move is followed: held for one sample period, the time-weighted index reaches it and
/// the takeover happens at it.
#[tokio::test(flavor = "current_thread")]
async fn attack_takeover_at_an_oracle_wick() {
    let mut w = world(100_000 * USDC).await;
    let alice = alice_long(&mut w).await;
    let a0 = w.env.margin(&alice.account).await;
    let m0 = w.env.market(0).await;
    assert!(equity_at(&a0, &m0, usd(19_500)).is_liquidatable(), "liquidatable at the wick");
    assert!(!equity_at(&a0, &m0, usd(20_000)).is_liquidatable(), "healthy at the market");
    let t = w.env.now;
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(2), t, usd(20_000));
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
    // a wide print (1% confidence, beyond the 0.5% liquidations accept): the time-weighted index
    // decides, even with the moving average agreeing
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(195), t, usd(19_500));
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
    let (a1, m1) = (w.env.margin(&alice.account).await, w.env.market(0).await);
    assert_eq!((a1.cross_collateral, a1.positions[0].base), (a0.cross_collateral, a0.positions[0].base));
    assert_eq!((m1.insurance_fund, m1.insurance_pending), (m0.insurance_fund, m0.insurance_pending));

    // the price really moves and stays: a sample period later the takeover goes through, at the
    // time-weighted index (19,500 by then)
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(2), t, usd(20_000));
    w.env.crank_funding(0).await.unwrap();
    w.env.advance(60).await;
    let t = w.env.now;
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(2), t, usd(19_900));
    w.env.crank_funding(0).await.unwrap();
    assert_eq!(w.env.market(0).await.index_twap, usd(19_500).0);
    let (c_after, _) = honest_takeover(
        a0.positions[0].state(),
        Quote(a0.cross_collateral),
        4 * BTC,
        usd(19_500),
        &m0.liquidation_fees(),
        &tiers(&m0),
    );
    w.liquidate(&alice, 0).await.unwrap();
    let a2 = w.env.margin(&alice.account).await;
    assert!(a2.find(0).is_none());
    assert_eq!(a2.cross_collateral, c_after.0, "taken over at 19,500, as an honest liquidation");
    w.env.assert_conservation().await;
}

/// N-3: the liquidator picks the most extreme recent update, posts it (a funding crank caches it)
/// and liquidates ten seconds later, before anyone posts a newer one. The print counts only for
/// the ten seconds it stood: Alice is valued at the time-weighted index (about 19,917), not at
/// the print, and is not liquidatable.
#[tokio::test(flavor = "current_thread")]
async fn attack_liquidator_selects_a_push_update() {
    let mut w = world(100_000 * USDC).await;
    let alice = alice_long(&mut w).await;
    let a0 = w.env.margin(&alice.account).await;
    let t = w.env.now;
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(2), t, usd(20_000));
    w.env.crank_funding(0).await.unwrap();
    w.env.advance(10).await;
    let t = w.env.now;
    // the same update, still the newest on chain
    w.env.set_legacy_oracle_ema(w.oracle, usd(19_500), usd(2), t - 10, usd(20_000));
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
    let m = w.env.market(0).await;
    let twap = m.index_twap_now(t).unwrap();
    assert_eq!(twap, perp_core::twap::twap_update(usd(20_000), usd(19_500), 10, 60).unwrap(), "ten seconds of sixty");
    assert_eq!(twap, Price(19_916_666_666));
    assert!(!equity_at(&a0, &m, twap).is_liquidatable());
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!((a1.cross_collateral, a1.positions[0].base), (a0.cross_collateral, a0.positions[0].base));
    w.env.assert_conservation().await;
}

/// A second market, ETH at 1,500, with its own legacy oracle (returned).
async fn eth(w: &mut World) -> Pubkey {
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(1_500), usd(1), w.env.now);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_500)).await;
    oracle
}

/// Alice cross long 4 BTC and 20 ETH on 4,000 (the other-market liquidation scenarios).
async fn alice_cross(w: &mut World) -> User {
    let alice = w.env.user(100_000 * USDC, 4_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 4 * BTC)).await.unwrap();
    w.env.trade(&alice, 1, order(OrderSide::Long, 20 * BTC)).await.unwrap();
    alice
}

/// The cross group's health of `a` with each market's position valued at the price given.
fn cross_health(a: &perp::state::MarginAccount, at: &[(&perp::state::Market, Price)]) -> Health {
    let mut h = Health::new(Quote(a.cross_collateral));
    for (m, p) in at {
        let s = a.find(m.market_index).unwrap();
        h.add_position(&a.positions[s].state(), *p, Quote(0), &tiers(m)).unwrap();
    }
    h
}

/// The withdrawal inside the price-age window: ETH falls 10% eight seconds after its index was
/// cached (within the 15 s a withdrawal accepts). Without a refresh the old code let Alice
/// withdraw as if ETH were still at 1,500, leaving her account below its initial margin at the
/// real price. Withdrawals now need every position market refreshed within the last 4 slots;
/// refreshed,
/// she gets exactly what the real price allows.
#[tokio::test(flavor = "current_thread")]
async fn attack_withdraw_inside_the_price_age_window() {
    let mut w = world(0).await;
    let eth_oracle = eth(&mut w).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 1, order(OrderSide::Long, 40 * BTC)).await.unwrap();
    w.env.advance(8).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_350), usd(1), t);
    let a0 = w.env.margin(&alice.account).await;
    let m = w.env.market(1).await;
    // what the stale cache would allow, and what the real price allows
    let at = |p: Price| {
        let mut h = Health::new(Quote(a0.cross_collateral));
        h.add_position(&a0.positions[0].state(), p, Quote(0), &tiers(&m)).unwrap();
        h.withdrawable(Quote(a0.cross_collateral)).unwrap().0.max(0) as u64
    };
    let (stale_free, real_free) = (at(usd(1_500)), at(usd(1_350)));
    assert!(stale_free > real_free + 2_000 * USDC, "{stale_free} vs {real_free}");
    let i = ix::withdraw(alice.key(), alice.account, alice.token, stale_free, &[1]);
    assert_error(w.env.send(std::slice::from_ref(&i), &[&alice.kp]).await, PerpError::IndexNotRefreshed);
    let refresh = ix::update_funding(1, &ix::market_oracles(&m));
    assert_error(w.env.send(&[refresh.clone(), i], &[&alice.kp]).await, PerpError::WithdrawExceedsFree);
    let ok = ix::withdraw(alice.key(), alice.account, alice.token, real_free, &[1]);
    w.env.send(&[refresh, ok], &[&alice.kp]).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.cross_collateral, a0.cross_collateral - real_free as i64);
    let mut h = Health::new(Quote(a1.cross_collateral));
    h.add_position(&a1.positions[0].state(), usd(1_350), Quote(0), &tiers(&m)).unwrap();
    assert!(h.equity_without_profit >= h.initial, "at the real price the account still meets its initial margin");
    w.env.assert_conservation().await;
}

/// M-3: ETH's only feed dies for longer than the market's fallback limit (600 s). Closing the ETH
/// position in full needs no ETH price (nothing of it is left to value), so it goes through on
/// the last index; before, it failed with IndexFallbackTooOld until a 24 h timelocked oracle
/// change, and every withdrawal of the account with it. A partial reduce still needs a price.
#[tokio::test(flavor = "current_thread")]
async fn attack_dead_feed_traps_positions_past_fallback() {
    let mut w = world(0).await;
    let eth_oracle = eth(&mut w).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 1, order(OrderSide::Long, 10 * BTC)).await.unwrap();
    w.env.advance(700).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t - 700);
    let mut half = order(OrderSide::Short, 5 * BTC);
    half.reduce_only = true;
    assert_error(w.env.trade(&alice, 1, half).await, PerpError::IndexFallbackTooOld);
    let a0 = w.env.margin(&alice.account).await;
    let v = w.env.market(1).await.vamm();
    let fill = v.quote_trade(perp_core::vamm::Side::Short, Base(10 * BTC)).unwrap();
    w.env.close(&alice, 1).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert!(a1.find(1).is_none(), "closed");
    let realized = apply_fill(a0.positions[0].state(), fill.base, fill.quote).unwrap().realized;
    let fee = fill.quote.abs().unwrap().mul_rate(perp_core::Rate(500_000), Round::Up).unwrap();
    assert_eq!(a1.cross_collateral, a0.cross_collateral + realized.0 - fee.0);
    // and everything can be withdrawn (no position market left to price)
    let all = a1.cross_collateral as u64;
    w.env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, all, &[])], &[&alice.kp]).await.unwrap();
    assert_eq!(w.env.margin(&alice.account).await.cross_collateral, 0);
    w.env.assert_conservation().await;
}

/// M-5: Alice is cross long BTC and long ETH. ETH's index was cached at a wick (1,400) and nobody
/// cranked it since, while ETH went back to 1,500; five minutes later BTC dips. On the old cache
/// she is liquidatable; at the real ETH price she is not. A liquidation needs every other market
/// of the group refreshed within a few slots (`IndexNotRefreshed`): the liquidator cannot choose
/// the old cache (nor hide a loss in one). Refreshed, she is healthy.
#[tokio::test(flavor = "current_thread")]
async fn attack_liquidate_a_cross_account_on_a_ten_minute_old_cache() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let alice = alice_cross(&mut w).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_400), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    w.env.advance(300).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t);
    w.move_price(usd(19_700)).await;
    let a0 = w.env.margin(&alice.account).await;
    let (m0, m1) = (w.env.market(0).await, w.env.market(1).await);
    let health = |eth: Price| cross_health(&a0, &[(&m0, usd(19_700)), (&m1, eth)]);
    let (stale, real) = (health(usd(1_400)), health(usd(1_500)));
    assert!(stale.is_liquidatable() && !stale.is_bankrupt() && !real.is_liquidatable(), "{stale:?} {real:?}");
    assert_error(w.liquidate(&alice, 0).await, PerpError::IndexNotRefreshed);
    w.env.crank_funding(1).await.unwrap();
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.cross_collateral, a0.cross_collateral);
    w.env.assert_conservation().await;
}

/// M-9: with the impact-median mark, Mallory pushes the vAMM 3% down and holds it for a whole
/// sample period (300 s, the shortest the method allows now). The time-weighted impact prices
/// follow all the way, but the mark stays within half the first tier's maintenance rate of the
/// index (0.5%): Alice, healthy at the index and at -0.5%, is not liquidatable.
#[tokio::test(flavor = "current_thread")]
async fn attack_impact_median_mark_held_for_one_sample_period() {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.mark_method = 1;
    p.sample_period = 300;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    let larry = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    let alice = env.user(100_000 * USDC, 3_000 * USDC).await;
    let mallory = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, 4 * BTC)).await.unwrap();
    env.trade(&mallory, 0, order(OrderSide::Short, 4 * BTC)).await.unwrap();
    // Mallory pushes the vAMM about 3% below the index and holds it for the sample period
    env.trade(&mallory, 0, order(OrderSide::Short, 15 * BTC)).await.unwrap();
    env.advance(300).await;
    let t = env.now;
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), t);
    env.crank_funding(0).await.unwrap();
    let m = env.market(0).await;
    let now = env.now;
    let t = perp::engine::prices::impact_twap(&m, now).unwrap();
    assert!(t.ask.0 < usd(19_500).0, "the time-weighted ask followed the push: {}", t.ask);
    let mark = perp::engine::prices::mark_price(&m, usd(20_000), now).unwrap();
    assert_eq!(mark, usd(19_900), "clamped at the index less half of 1%");
    let a = env.margin(&alice.account).await;
    assert!(equity_at(&a, &m, t.ask).is_liquidatable(), "liquidatable at the pushed mark");
    let i = ix::liquidate(larry.key(), larry.account, alice.account, 0, &[oracle], &[], 0);
    assert_error(env.send(&[i], &[&larry.kp]).await, PerpError::NotLiquidatable);
    assert_eq!(env.margin(&alice.account).await.cross_collateral, a.cross_collateral);
    env.assert_conservation().await;
}

/// The guard rails for the other markets of a cross group (review of round two, F-1): the
/// liquidator posts a one-update wick in ETH (1,400, its moving average at 1,500), caches it with
/// ETH's funding crank and liquidates Alice's BTC in the same transaction. ETH is valued for the
/// liquidation at the account-favourable of its cache and its time-weighted value, in which the
/// wick has no weight yet: Alice is not liquidatable.
#[tokio::test(flavor = "current_thread")]
async fn attack_wick_cached_in_another_market_liquidates_a_cross_account() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let alice = alice_cross(&mut w).await;
    for _ in 0..2 {
        w.env.advance(60).await;
        let t = w.env.now;
        w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t);
        w.env.crank_funding(1).await.unwrap();
    }
    w.move_price(usd(19_700)).await;
    let a0 = w.env.margin(&alice.account).await;
    let t = w.env.now;
    w.env.set_legacy_oracle_ema(eth_oracle, usd(1_400), usd(1), t, usd(1_500));
    let m1 = w.env.market(1).await;
    let crank = ix::update_funding(1, &ix::market_oracles(&m1));
    let larry = clone_user(&w.larry);
    let liq = w.liquidate_ix(&larry, larry.account, &alice, 0, 0).await;
    assert_error(w.env.send(&[crank, liq], &[&larry.kp]).await, PerpError::NotLiquidatable);
    assert_eq!(w.env.margin(&alice.account).await.cross_collateral, a0.cross_collateral);
    w.env.assert_conservation().await;
}

/// F-8 (review of round two): the feed stops at 20,000 while the market runs on. The program's
/// index is then the fallback (the last valid one, up to `fallback_max_age` old), on which reducing
/// is still allowed. A keeper unwinding its 5 BTC long with `max_index_deviation` 1% trusts the
/// bound to mean "within 1% of the live price"; against a fallback it passed at ~19,950 whatever
/// the market had become. An order that asks for the bound on a fallback index is refused
/// (`TooFewSources`) and nothing moves; without the bound the reduce still goes through (a dead
/// feed never traps a position).
#[tokio::test(flavor = "current_thread")]
async fn attack_unwind_bound_checked_against_a_fallback_index() {
    let mut w = world(100_000 * USDC).await;
    let keeper = w.env.user(1_000_000 * USDC, 100_000 * USDC).await;
    w.env.trade(&keeper, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.move_price(usd(20_000)).await;
    // the feed stops: two minutes without an update (max_age 60 s, fallback limit 600 s)
    w.env.advance(120).await;
    let before = w.env.margin(&keeper.account).await;
    let m0 = w.env.market(0).await;
    let mut p = order(OrderSide::Short, 5 * BTC);
    p.reduce_only = true;
    p.max_index_deviation = 10_000_000; // 1%
    assert_error(w.env.trade(&keeper, 0, p).await, PerpError::TooFewSources);
    let after = w.env.margin(&keeper.account).await;
    assert_eq!(after.positions[after.find(0).unwrap()].base, 5 * BTC, "the long is still held");
    assert_eq!(after.cross_collateral, before.cross_collateral, "and nothing was paid");
    assert_eq!(w.env.market(0).await.vamm().price().unwrap(), m0.vamm().price().unwrap(), "nor the vAMM moved");
    // the owner's plain reduce on the fallback index still works
    p.max_index_deviation = 0;
    w.env.trade(&keeper, 0, p).await.unwrap();
    assert!(w.env.margin(&keeper.account).await.find(0).is_none(), "closed");
    w.env.assert_conservation().await;
}

/// Review of round two (F-1, held): the liquidator caches a one-update ETH wick (1,400) with
/// ETH's funding crank, then waits a whole sample period without anyone cranking ETH, so the
/// time-weighted index has followed the cache to the wick while ETH is back at 1,500. The old
/// rules valued ETH at the wick (cache and time-weighted value agreeing, the cache within
/// `max_age`) and took Alice over. A liquidation now needs ETH refreshed within a few slots, and
/// a refresh reads the real 1,500: she is not liquidatable, and keeps her money.
#[tokio::test(flavor = "current_thread")]
async fn attack_wick_cached_and_held_for_a_sample_period() {
    let mut w = world(100_000 * USDC).await;
    let eth_oracle = eth(&mut w).await;
    let alice = alice_cross(&mut w).await;
    w.move_price(usd(19_700)).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_400), usd(1), t);
    w.env.crank_funding(1).await.unwrap();
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t);
    // a sample period later (within ETH's max_age), nobody having cranked ETH since
    w.env.advance(59).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_500), usd(1), t);
    w.move_price(usd(19_700)).await;
    let a0 = w.env.margin(&alice.account).await;
    let m1 = w.env.market(1).await;
    assert_eq!(m1.last_index, usd(1_400).0, "the wick is ETH's cache");
    // what the old rules valued ETH at (the account-favourable of cache and time-weighted value)
    // makes her liquidatable; the real price does not
    let m0 = w.env.market(0).await;
    let health = |eth: Price| cross_health(&a0, &[(&m0, usd(19_700)), (&m1, eth)]);
    let old = Price(m1.last_index).max(m1.index_twap_now(w.env.now).unwrap());
    assert!(old.0 < usd(1_410).0, "the time-weighted value followed the wick: {old}");
    assert!(health(old).is_liquidatable() && !health(usd(1_500)).is_liquidatable());
    assert_error(w.liquidate(&alice, 0).await, PerpError::IndexNotRefreshed);
    let crank = ix::update_funding(1, &ix::market_oracles(&m1));
    let larry = clone_user(&w.larry);
    let liq = w.liquidate_ix(&larry, larry.account, &alice, 0, 0).await;
    assert_error(w.env.send(&[crank, liq], &[&larry.kp]).await, PerpError::NotLiquidatable);
    assert_eq!(w.env.margin(&alice.account).await.cross_collateral, a0.cross_collateral);
    w.env.assert_conservation().await;
}
