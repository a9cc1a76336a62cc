//! Resting orders under attack: stop-hunting through the vAMM, a keeper's sandwich around a fill,
//! triggers on a chosen or stale oracle print, a fill racing a liquidation, order spam, fills
//! worse than the limit, other people's cancels and a reward claimed twice.

use super::*;
use perp::error::PerpError;
use perp::instructions::{OrderType, OrdersToCancel};
use perp_client::orders::{cancel_orders, fill_order};

const REWARD: i64 = 20_000;

/// The index at `p` (vAMM arbitraged to it) and a sample period later, re-published.
async fn settle_at(w: &mut World, p: Price) {
    w.move_price(p).await;
    w.env.advance(61).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, p, usd(2), t);
}

/// Alice long `size` with a reduce-only stop-market sell at `trigger`.
async fn alice_with_stop(w: &mut World, size: i64, trigger: Price) -> User {
    let alice = w.env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, size)).await.unwrap();
    w.env.place(&alice, 0, resting(OrderType::StopMarket, OrderSide::Short, size, Price(0), trigger)).await.unwrap();
    alice
}

/// Stop-hunting: Mallory dumps 40 BTC into the vAMM (its price ~8% down), calls `fill_order` on
/// Alice's stop at 19,500 and buys back, in one transaction. The trigger reads the oracle index,
/// which did not move: nothing fires, Alice keeps her position, Mallory's round trip is refused
/// whole.
#[tokio::test(flavor = "current_thread")]
async fn attack_stop_hunt_by_pushing_the_vamm() {
    let mut w = world(0).await;
    let alice = alice_with_stop(&mut w, BTC, usd(19_500)).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    let a0 = w.env.margin(&alice.account).await;
    let dump = w.env.order_ix(&mallory, 0, order(OrderSide::Short, 40 * BTC)).await;
    let m = w.env.market(0).await;
    let hunt = fill_order(mallory.key(), mallory.account, alice.account, 0, &ix::market_oracles(&m), &[], 1);
    let back = ix::place_market_order(
        mallory.key(),
        mallory.account,
        0,
        &ix::market_oracles(&m),
        &[],
        order(OrderSide::Long, 40 * BTC),
    );
    let r = w.env.send(&[dump.clone(), hunt.clone(), back], &[&mallory.kp]).await;
    assert_error(r, PerpError::OrderNotTriggered);
    // even left on the curve, the push fires nothing
    w.env.send(&[dump], &[&mallory.kp]).await.unwrap();
    assert!(w.env.market(0).await.vamm().price().unwrap() < usd(18_600));
    assert_error(w.env.send(&[hunt], &[&mallory.kp]).await, PerpError::OrderNotTriggered);
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.positions, a0.positions, "Alice's position is untouched");
    assert_eq!(a1.cross_collateral, a0.cross_collateral);
    assert_eq!(a1.orders, a0.orders, "her stop still rests, untriggered");
    w.env.assert_conservation().await;
}

/// A keeper's sandwich: the index really fell to 19,400, so Alice's stop at 19,500 fires. The
/// keeper pushes the vAMM 5% below the index before filling (to buy her 2 BTC cheap and sell the
/// push back): refused, the 1% band around the index bounds her average. A fired stop is exempt
/// from the half-band displacement guard (a protective close must not stall in a crash), so a
/// push inside the band goes through, and her average is still within the band; a resting limit
/// or an order that adds risk does meet the guard (`attack_fill_worse_than_the_limit`).
#[tokio::test(flavor = "current_thread")]
async fn attack_keeper_sandwich_bounded_by_the_band() {
    let mut w = world(0).await;
    let alice = alice_with_stop(&mut w, 2 * BTC, usd(19_500)).await;
    let kate = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    settle_at(&mut w, usd(19_400)).await;
    let m = w.env.market(0).await;
    let push = w.env.order_ix(&kate, 0, order(OrderSide::Short, 25 * BTC)).await;
    let fill = fill_order(kate.key(), kate.account, alice.account, 0, &ix::market_oracles(&m), &[], 1);
    let r = w.env.send(&[push, fill.clone()], &[&kate.kp]).await;
    assert_error(r, PerpError::OrderPriceNotReached);

    // a push of 0.4% (inside the band): what the keeper can use on a fired stop
    let a0 = w.env.margin(&alice.account).await;
    let small = w.env.order_ix(&kate, 0, order(OrderSide::Short, 2 * BTC)).await;
    w.env.send(&[small, fill], &[&kate.kp]).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert!(a1.find(0).is_none(), "the stop closed her 2 BTC");
    let proceeds = a1.cross_collateral - a0.cross_collateral - a0.positions[0].quote_entry;
    // her average sale price: proceeds before the fee, per BTC (fee 0.05%, rounded up)
    let avg = Price(((proceeds as i128 * 10_000 / 9_995) / 2) as u64);
    let bound = usd(19_400).scale_by_one_plus(perp_core::Rate(-10_000_000), Round::Up).unwrap();
    assert!(avg >= Price(bound.0 - 2_000_000), "average {avg} within the band's bound {bound} (fee rounding aside)");
    w.env.assert_conservation().await;
}

/// A trigger on a chosen oracle print: Mallory posts (as anyone may, with Pyth pull updates) a
/// genuine-looking update 5% below the last index in the same second and fills Alice's stop on
/// it: the index diverges from its time-weighted value beyond the market's 2%, so orders wait.
/// A stale feed (older than `max_age`) triggers nothing either.
#[tokio::test(flavor = "current_thread")]
async fn attack_trigger_on_an_outlier_or_stale_oracle() {
    let mut w = world(0).await;
    let alice = alice_with_stop(&mut w, BTC, usd(19_500)).await;
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    w.env.advance(61).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(19_000), usd(2), t);
    let a0 = w.env.margin(&alice.account).await;
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::IndexDivergesFromTwap);
    // the same print two minutes old: stale, no index at all
    w.env.set_legacy_oracle(w.oracle, usd(19_000), usd(2), t);
    w.env.advance(120).await;
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::TooFewSources);
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.positions, a0.positions);
    assert_eq!(a1.orders, a0.orders);
    // a real move, held for a sample period, does fire it
    settle_at(&mut w, usd(19_400)).await;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    assert!(w.env.margin(&alice.account).await.find(0).is_none());
    w.env.assert_conservation().await;
}

/// A fill racing a liquidation: Alice (long 5 BTC on 10,000) sits below maintenance with a stop
/// that has fired. Her keeper's fill would close her at the curve, taking the loss past what the
/// liquidation's waterfall accounts for: it is refused and the liquidation goes first.
#[tokio::test(flavor = "current_thread")]
async fn attack_fill_racing_a_liquidation() {
    let mut w = world(1_000_000 * USDC).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    w.env
        .place(&alice, 0, resting(OrderType::StopMarket, OrderSide::Short, 5 * BTC, Price(0), usd(18_500)))
        .await
        .unwrap();
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    let a = w.env.margin(&alice.account).await;
    let m = w.env.market(0).await;
    let lp = perp_core::liquidation::liquidation_price(&a.positions[0].state(), Quote(a.cross_collateral), &tiers(&m))
        .unwrap()
        .unwrap();
    settle_at(&mut w, Price(lp.price.0 - 10_000_000)).await;
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::AccountLiquidatable);
    w.liquidate(&alice, 0).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none(), "liquidated");
    // the takeover closed her position, and with it her stop (its reward back to her): nothing
    // is left to fire on a later position, nothing for a keeper to collect
    assert!(!a.has_orders() && a.order_reserve == 0);
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::OrderNotFound);
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral, k0);
    w.env.assert_conservation().await;
}

/// Order spam: every order reserves the reward out of margin, has at least the minimum size and
/// takes one of 8 slots. With 0.1 USDC Mallory places 5, then is out of margin; with more, 8 and
/// no more. Her reserve is exactly the rewards of what rests; cancelling returns it all.
#[tokio::test(flavor = "current_thread")]
async fn attack_order_spam() {
    let mut w = world(0).await;
    let mallory = w.env.user(1_000 * USDC, 100_000).await; // 0.1 USDC
    let spam = |size| resting(OrderType::Limit, OrderSide::Long, size, usd(1), Price(0));
    assert_error(w.env.place(&mallory, 0, spam(1)).await, PerpError::PositionTooSmall);
    for _ in 0..5 {
        w.env.place(&mallory, 0, spam(BTC / 1_000)).await.unwrap();
    }
    assert_error(w.env.place(&mallory, 0, spam(BTC / 1_000)).await, PerpError::InsufficientMargin);
    let a = w.env.margin(&mallory.account).await;
    assert_eq!((a.cross_collateral, a.order_reserve), (0, 5 * REWARD as u64));
    w.env.send(&[ix::deposit(mallory.key(), mallory.account, mallory.token, 10 * USDC)], &[&mallory.kp]).await.unwrap();
    for _ in 0..3 {
        w.env.place(&mallory, 0, spam(BTC / 1_000)).await.unwrap();
    }
    assert_error(w.env.place(&mallory, 0, spam(BTC / 1_000)).await, PerpError::TooManyOrders);
    let a = w.env.margin(&mallory.account).await;
    assert_eq!(a.order_reserve, 8 * REWARD as u64);
    assert_eq!(a.cross_collateral, 10 * USDC as i64 - 3 * REWARD);
    w.env.assert_conservation().await;
    let all = cancel_orders(mallory.key(), mallory.account, OrdersToCancel::All { market_index: None });
    w.env.send(&[all], &[&mallory.kp]).await.unwrap();
    let a = w.env.margin(&mallory.account).await;
    assert_eq!((a.cross_collateral, a.order_reserve), (10 * USDC as i64 + 100_000, 0));
    w.env.assert_conservation().await;
}

/// Filling another user's order into a worse price than its limit: Alice bids 1 BTC at 19,800
/// with the index at 19,700; Mallory buys 10 BTC first (the vAMM ~2% up) and then fills her:
/// refused (the vAMM is displaced against the order), and a smaller push that passes the guard
/// cannot fill a limit the curve no longer reaches. Filled without the push, her average is
/// within her limit.
#[tokio::test(flavor = "current_thread")]
async fn attack_fill_worse_than_the_limit() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let mallory = w.env.user(10_000_000 * USDC, 2_000_000 * USDC).await;
    settle_at(&mut w, usd(19_700)).await;
    let limit = usd(19_800);
    w.env.place(&alice, 0, resting(OrderType::Limit, OrderSide::Long, BTC, limit, Price(0))).await.unwrap();
    let push = w.env.order_ix(&mallory, 0, order(OrderSide::Long, 10 * BTC)).await;
    let fill = w.env.fill_ix(&mallory, alice.account, 0, 1).await;
    assert_error(w.env.send(&[push, fill.clone()], &[&mallory.kp]).await, PerpError::VammDisplaced);
    // a push the displacement guard lets through (0.2%) still cannot fill her above her limit
    let small = w.env.order_ix(&mallory, 0, order(OrderSide::Long, BTC)).await;
    let tight = {
        let mut p = resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_701), Price(0));
        p.client_order_id = 9;
        p
    };
    w.env.place(&alice, 0, tight).await.unwrap();
    let fill2 = w.env.fill_ix(&mallory, alice.account, 0, 2).await;
    assert_error(w.env.send(&[small, fill2], &[&mallory.kp]).await, PerpError::OrderPriceNotReached);
    w.env.send(&[fill], &[&mallory.kp]).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    let p = a.positions[a.find(0).unwrap()];
    assert_eq!(p.base, BTC);
    assert!(Price((-p.quote_entry) as u64) <= limit, "average {} within the limit", -p.quote_entry);
    w.env.assert_conservation().await;
}

/// Someone else's orders: Mallory cannot cancel Alice's order, nor take its reward by naming
/// Alice's account (or anyone's but her own) as the filler's.
#[tokio::test(flavor = "current_thread")]
async fn attack_cancel_someone_elses_order() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let mallory = w.env.user(1_000 * USDC, 100 * USDC).await;
    let mut p = resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0));
    p.client_order_id = 7;
    p.expiry = w.env.now + 60;
    w.env.place(&alice, 0, p).await.unwrap();
    let a0 = w.env.margin(&alice.account).await;
    for which in [OrdersToCancel::ById(1), OrdersToCancel::ByClientId(7), OrdersToCancel::All { market_index: None }] {
        let c = cancel_orders(mallory.key(), alice.account, which);
        assert_error(w.env.send(&[c], &[&mallory.kp]).await, PerpError::Unauthorized);
    }
    w.env.advance(60).await;
    // expired: a filler may cancel it, but the reward goes only to the filler's own account
    let m = w.env.market(0).await;
    let steal = fill_order(mallory.key(), alice.account, alice.account, 0, &ix::market_oracles(&m), &[], 1);
    assert_error(w.env.send(&[steal], &[&mallory.kp]).await, PerpError::Unauthorized);
    let a1 = w.env.margin(&alice.account).await;
    assert_eq!(a1.orders, a0.orders);
    assert_eq!((a1.cross_collateral, a1.order_reserve), (a0.cross_collateral, a0.order_reserve));
    w.env.assert_conservation().await;
}

/// A reward claimed twice: two `fill_order`s of the same expired order in one transaction, or a
/// fill and then the owner's cancel: the second finds no order, so the reserve pays once.
#[tokio::test(flavor = "current_thread")]
async fn attack_reward_drained_twice() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    let mut p = resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0));
    p.expiry = w.env.now + 60;
    w.env.place(&alice, 0, p).await.unwrap();
    w.env.advance(60).await;
    let fill = w.env.fill_ix(&kate, alice.account, 0, 1).await;
    assert_error(w.env.send(&[fill.clone(), fill.clone()], &[&kate.kp]).await, PerpError::OrderNotFound);
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    w.env.send(std::slice::from_ref(&fill), &[&kate.kp]).await.unwrap();
    assert_error(w.env.send(&[fill], &[&kate.kp]).await, PerpError::OrderNotFound);
    let cancel = cancel_orders(alice.key(), alice.account, OrdersToCancel::ById(1));
    assert_error(w.env.send(&[cancel], &[&alice.kp]).await, PerpError::OrderNotFound);
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    let a = w.env.margin(&alice.account).await;
    assert_eq!((a.cross_collateral, a.order_reserve), (10_000 * USDC as i64 - REWARD, 0));
    w.env.assert_conservation().await;
}

/// A delegate harvesting the owner's rewards: Dave, Alice's delegate, lets her order expire (or
/// trades her position away so her stop has nothing to reduce) and cancels it from his own
/// account: the reward goes back to Alice, not to him.
#[tokio::test(flavor = "current_thread")]
async fn attack_delegate_harvests_order_rewards() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let dave = w.env.user(1_000 * USDC, 100 * USDC).await;
    w.env.send(&[ix::set_delegate(alice.key(), alice.account, dave.key())], &[&alice.kp]).await.unwrap();
    let mut p = resting(OrderType::Limit, OrderSide::Long, BTC, usd(19_000), Price(0));
    p.expiry = w.env.now + 60;
    w.env.place(&alice, 0, p).await.unwrap();
    w.env.advance(60).await;
    let (a0, d0) = (w.env.margin(&alice.account).await, w.env.margin(&dave.account).await);
    w.env.fill(&dave, alice.account, 0, 1).await.unwrap();
    let (a1, d1) = (w.env.margin(&alice.account).await, w.env.margin(&dave.account).await);
    assert!(!a1.has_orders());
    assert_eq!(a1.cross_collateral - a0.cross_collateral, REWARD, "the reward is back with Alice");
    assert_eq!(d1.cross_collateral, d0.cross_collateral, "her delegate earned nothing");
    w.env.assert_conservation().await;
}

/// A trigger while the admin has paused the market (its oracle may be why): refused; closing by
/// hand still works, and once the pause ends the stop fires.
#[tokio::test(flavor = "current_thread")]
async fn attack_trigger_during_market_pause() {
    let mut w = world(0).await;
    let alice = alice_with_stop(&mut w, BTC, usd(19_500)).await;
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    settle_at(&mut w, usd(19_400)).await;
    let admin = w.env.admin.insecure_clone();
    let pause = ix::set_market_status(admin.pubkey(), 0, perp::state::market_status::PAUSED);
    w.env.send(&[pause], &[&admin]).await.unwrap();
    let a0 = w.env.margin(&alice.account).await;
    assert_error(w.env.fill(&kate, alice.account, 0, 1).await, PerpError::MarketPaused);
    assert_eq!(w.env.margin(&alice.account).await.orders, a0.orders);
    let resume = ix::set_market_status(admin.pubkey(), 0, perp::state::market_status::ACTIVE);
    w.env.send(&[resume], &[&admin]).await.unwrap();
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(19_400), usd(2), t);
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    assert!(w.env.margin(&alice.account).await.find(0).is_none());
    w.env.assert_conservation().await;
}

/// A stop-loss sized to a position that has since grown by less than the minimum: closing only
/// the stop's size would leave dust the program refuses, so the stop would never fire. It closes
/// the whole position instead.
#[tokio::test(flavor = "current_thread")]
async fn attack_stop_loss_left_with_a_dust_remainder() {
    let mut w = world(0).await;
    let alice = alice_with_stop(&mut w, BTC, usd(19_500)).await;
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    // 1.0005 BTC now; the market's minimum is 0.001
    w.env.trade(&alice, 0, order(OrderSide::Long, BTC / 2_000)).await.unwrap();
    settle_at(&mut w, usd(19_400)).await;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(a.find(0).is_none() && !a.has_orders(), "the whole 1.0005 BTC closed");
    w.env.assert_conservation().await;
}

/// Reserve, expire, collect: an account short of initial margin may place a stop-loss (its
/// reward checked against maintenance only), but when such an order is cancelled rather than
/// filled (here: expired, cancelled by the owner's second account, not linked on paper) the
/// reward returns to the account, so orders cannot move money out past the withdrawal rules.
#[tokio::test(flavor = "current_thread")]
async fn attack_reserve_then_expire_to_a_second_account() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 1_000 * USDC).await;
    let sybil = w.env.user(1_000 * USDC, 100 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 2 * BTC)).await.unwrap();
    settle_at(&mut w, usd(19_850)).await;
    w.env.crank_funding(0).await.unwrap();
    let mut stop = resting(OrderType::StopMarket, OrderSide::Short, 2 * BTC, Price(0), usd(19_000));
    stop.expiry = w.env.now + 5;
    w.env.place(&alice, 0, stop).await.unwrap();
    let a0 = w.env.margin(&alice.account).await;
    assert!(a0.orders[0].flags & perp::state::order_flags::BELOW_INITIAL != 0);
    w.env.advance(5).await;
    let s0 = w.env.margin(&sybil.account).await.cross_collateral;
    w.env.fill(&sybil, alice.account, 0, 1).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert!(!a1.has_orders());
    assert_eq!(a1.cross_collateral - a0.cross_collateral, REWARD, "the reward came back to Alice");
    assert_eq!(w.env.margin(&sybil.account).await.cross_collateral, s0, "the second account got nothing");
    w.env.assert_conservation().await;
}

/// A remainder that could never fill: a sell of 0.001 (the minimum) against a long of 0.0015
/// fills 0.0005 (leaving the position at the minimum, not dust) and its 0.0005 rest, below the
/// minimum, is dropped with that fill: the order is done and the keeper paid, nothing stuck.
#[tokio::test(flavor = "current_thread")]
async fn attack_order_rest_below_the_minimum() {
    let mut w = world(0).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let kate = w.env.user(1_000 * USDC, 100 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 3 * BTC / 2_000)).await.unwrap();
    let sell = resting(OrderType::Limit, OrderSide::Short, BTC / 1_000, usd(19_900), Price(0));
    w.env.place(&alice, 0, sell).await.unwrap();
    let k0 = w.env.margin(&kate.account).await.cross_collateral;
    w.env.fill(&kate, alice.account, 0, 1).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert_eq!(a.positions[a.find(0).unwrap()].base, BTC / 1_000, "the position keeps the minimum");
    assert!(!a.has_orders(), "the dust rest is dropped");
    assert_eq!(w.env.margin(&kate.account).await.cross_collateral - k0, REWARD);
    w.env.assert_conservation().await;
}

/// A liquidation of an isolated position strips only that position's orders: Alice's cross
/// stop in another market stays; her isolated market's add-risk limit is cancelled (reward back).
#[tokio::test(flavor = "current_thread")]
async fn attack_isolated_liquidation_keeps_other_stops() {
    let mut w = world(1_000_000 * USDC).await;
    let eth = solana_keypair::Keypair::new();
    let eth_oracle = solana_signer::Signer::pubkey(&eth);
    let t = w.env.now;
    w.env.set_legacy_oracle(eth_oracle, usd(1_000), usd(1), t);
    let mut p = default_market_params(vec![legacy_oracle(eth_oracle)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    w.env.create_market(1, p, 10_000, usd(1_000)).await;
    let alice = w.env.user(100_000 * USDC, 20_000 * USDC).await;
    // cross: 10 ETH with a stop; isolated: 5 BTC on 10,000
    w.env.trade(&alice, 1, order(OrderSide::Long, 10 * BTC)).await.unwrap();
    w.env
        .place(&alice, 1, resting(OrderType::StopMarket, OrderSide::Short, 10 * BTC, Price(0), usd(900)))
        .await
        .unwrap();
    let mut iso = order(OrderSide::Long, 5 * BTC);
    iso.isolated = true;
    iso.isolated_collateral = 10_000 * USDC;
    w.env.trade(&alice, 0, iso).await.unwrap();
    w.env.place(&alice, 0, resting(OrderType::Limit, OrderSide::Long, BTC, usd(15_000), Price(0))).await.unwrap();
    let a0 = w.env.margin(&alice.account).await;
    assert_eq!(a0.order_reserve, 2 * REWARD as u64);
    // BTC falls 9%: the isolated position is liquidatable
    settle_at(&mut w, usd(18_200)).await;
    w.liquidate(&alice, 0).await.unwrap();
    let a1 = w.env.margin(&alice.account).await;
    assert!(a1.find_order(2).is_none(), "the isolated market's limit is gone");
    assert!(a1.find_order(1).is_some(), "the cross stop in ETH stays");
    assert_eq!(a1.order_reserve, REWARD as u64);
    w.env.assert_conservation().await;
}

/// An under-water account's reserve: a liquidation that finds the group under water cancels its
/// stops too, their rewards counting toward the deficit, so no reserve is left in a bankrupt
/// account for its owner to cancel back and withdraw once the bankruptcy is resolved.
#[tokio::test(flavor = "current_thread")]
async fn attack_bankrupt_account_recovers_order_reserve() {
    let mut w = world(1_000_000 * USDC).await;
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    for trigger in [17_000, 16_000] {
        let stop = resting(OrderType::StopMarket, OrderSide::Short, 5 * BTC, Price(0), usd(trigger));
        w.env.place(&alice, 0, stop).await.unwrap();
    }
    assert_eq!(w.env.margin(&alice.account).await.order_reserve, 2 * REWARD as u64);
    // 20,000 -> 17,800: her 10,000 is gone and more (under water)
    settle_at(&mut w, usd(17_800)).await;
    w.liquidate(&alice, 0).await.unwrap();
    let a = w.env.margin(&alice.account).await;
    assert!(!a.has_orders() && a.order_reserve == 0, "nothing reserved is left to recover");
    let cancel = cancel_orders(alice.key(), alice.account, OrdersToCancel::All { market_index: None });
    w.env.send(&[cancel], &[&alice.kp]).await.unwrap();
    assert_eq!(w.env.margin(&alice.account).await.cross_collateral, a.cross_collateral);
    w.env.assert_conservation().await;
}
